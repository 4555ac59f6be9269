"""The data layer: user data -> labelled items -> cached uint8 pixels -> device batches.

Public names are re-exported here; import torch-heavy pieces only when used.
"""
from .cache import build_image_cache
from .images import IMAGE_EXTENSIONS, UnreadableImageError, is_image_file, load_square, open_image, to_square_uint8
from .loaders import Loaders, make_loaders
from .sample import sample
from .source_types import DatasetSource, FastaiSource, ImageItems
from .sources import resolve_data
from .transforms import AUGMENTS, BatchTransform

__all__ = [
    "AUGMENTS", "BatchTransform", "DatasetSource", "FastaiSource", "IMAGE_EXTENSIONS", "ImageItems", "Loaders",
    "UnreadableImageError", "build_image_cache", "is_image_file", "load_square", "make_loaders", "open_image",
    "resolve_data", "sample", "to_square_uint8",
]
