"""The data layer: user data -> labelled items -> cached uint8 pixels -> device batches.

Public names are re-exported here, resolved on first use (PEP 562): browsing a data set
(catalog, thumbnails, health) must not pay for importing torch, which the loaders need.
"""
from __future__ import annotations

import importlib
from typing import Any

# Eager, and light: the function shares its name with its submodule, and importing the submodule
# later would otherwise leave the module, not the function, as ``jupyter_dl.data.sample``.
from .sample import sample as sample  # re-exported (the alias tells linters so)

_LAZY = {
    "build_image_cache": "cache",
    "Catalog": "catalog", "CatalogItem": "catalog", "build_catalog": "catalog",
    "IMAGE_EXTENSIONS": "images", "UnreadableImageError": "images", "is_image_file": "images",
    "load_square": "images", "open_image": "images", "to_square_uint8": "images",
    "Loaders": "loaders", "make_loaders": "loaders",
    "DatasetSource": "source_types", "FastaiSource": "source_types", "ImageItems": "source_types",
    "resolve_data": "sources",
    "AUGMENTS": "transforms", "BatchTransform": "transforms",
}

__all__ = sorted([*_LAZY, "sample"])


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'jupyter_dl.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
