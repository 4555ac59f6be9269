"""A pretrained model without its head: images -> one feature vector each (embeddings).

:func:`feature_extractor` builds the body of any ARCH ``%finetune`` takes (default: the packaged
offline EfficientNet-Lite0, whose body gives 1280 numbers per image) with its classifier replaced by
``nn.Identity``; :meth:`FeatureExtractor.embed` runs it over uint8 pixels in batches with the same
normalisation training uses. Nothing here is cached: the caller keeps the vectors (see
:mod:`jupyter_dl.data.embedding_cache`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

from ..checks import check_count
from ..data.transforms import BatchTransform
from .heads import remove_head
from .names import DEFAULT_ARCH, resolve_name
from .registry import create_model, module_variables, namespace_string


@dataclass
class FeatureExtractor:
    """A model's body in eval mode on ``device``, and what it needs to know to read images."""

    model: nn.Module
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    key: str | None   # names the weights (architecture and where they came from); None: not cacheable

    @torch.no_grad()
    def embed(self, pixels: torch.Tensor, *, bs: int = 64,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
        """uint8 N x 3 x S x S -> float32 N x D features, L2-normalised; ``progress(n)`` after each batch."""
        bs = check_count("bs", bs)
        transform = BatchTransform(self.device, self.mean, self.std, augment="none")
        out: list[np.ndarray] = []
        for start in range(0, len(pixels), bs):
            features = self.model(transform(pixels[start:start + bs]))
            features = features.flatten(1).float()
            out.append(torch.nn.functional.normalize(features, dim=1).cpu().numpy())
            if progress is not None:
                progress(min(start + bs, len(pixels)))
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


def feature_extractor(arch: str | nn.Module | None = None, *, device: str | torch.device = "cpu",
                      weights: str | Path | None = None, namespace: dict | None = None) -> FeatureExtractor:
    """The pretrained body of ``arch`` (None: the offline default efficientnet_lite0) on ``device``.

    Raises UserInputError (one sentence) for unknown names or weights that are not available, as
    ``%finetune`` does. ``key`` is None for the user's own nn.Module (nothing stable names its weights).
    """
    # Built with 1000 classes so the packaged ImageNet weights load with their own head; the head goes next.
    bundle = create_model(arch, 1000, weights=weights, namespace=namespace)
    model = remove_head(bundle.model, bundle.head_names).to(device).eval()
    key = extractor_key(arch, weights=weights, namespace=namespace)
    return FeatureExtractor(model, bundle.mean, bundle.std, torch.device(device), key)


def extractor_key(arch: str | nn.Module | None = None, *, weights: str | Path | None = None,
                  namespace: dict | None = None) -> str | None:
    """What names the features ``feature_extractor(arch, weights=...)`` gives, without building the model
    (so cached vectors are found without loading any weights); None for an nn.Module."""
    if isinstance(arch, str):
        module = namespace.get(arch.strip()) if namespace else None
        if isinstance(module, nn.Module):
            return None
        arch = namespace_string(arch, namespace)
    if arch is not None and not isinstance(arch, str):
        return None
    source, name = resolve_name(arch or DEFAULT_ARCH, module_variables(namespace))
    if weights is not None:
        try:
            stat = Path(weights).stat()
        except OSError:
            return None  # building the model says what is wrong with the file
        return f"{source}:{name}:file={Path(weights).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return f"{source}:{name}:pretrained"
