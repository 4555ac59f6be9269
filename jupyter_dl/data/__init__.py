"""The data layer: user data -> labelled items -> cached uint8 pixels -> device batches.

For training: :mod:`.sources` (what the user passed as DATA -> one of :mod:`.source_types`, from
:mod:`.files` or :mod:`.torch_dataset`), :mod:`.cache` (decode and resize once, kept on disk),
:mod:`.loaders` (device batches), :mod:`.transforms` (normalise and augment whole batches),
:mod:`.images` (one image -> pixels) and :mod:`.sample_data` (the embedded sample data set).
For browsing and cleaning: :mod:`.catalog`, :mod:`.thumbnails`, :mod:`.health` and :mod:`.cleaning`.
For labelling: :mod:`.label_pool` (the images to label and those labelled, from a folder, a CSV or a
DataFrame; :mod:`.cleaning` writes the labels) and :mod:`.embedding_cache` (feature vectors kept on
disk by file fingerprint).

Names are imported on first use (see :mod:`jupyter_dl._lazy`): browsing a data set (catalog,
thumbnails, health) must not pay for importing torch, which the loaders need.
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "build_image_cache": "cache", "fingerprint": "cache",
    "load_vectors": "embedding_cache", "save_vectors": "embedding_cache",
    "LabelPool": "label_pool", "PoolItem": "label_pool", "open_pool": "label_pool", "UNLABELLED_DIR": "files",
    "Catalog": "catalog", "CatalogItem": "catalog", "build_catalog": "catalog",
    "IMAGE_EXTENSIONS": "images", "UnreadableImageError": "images", "is_image_file": "images",
    "load_square": "images", "open_image": "images", "to_square_uint8": "images",
    "Loaders": "loaders", "make_loaders": "loaders",
    "DatasetSource": "source_types", "FastaiSource": "source_types", "ImageItems": "source_types",
    "resolve_data": "sources", "sample": "sample_data",
    "AUGMENTS": "transforms", "BatchTransform": "transforms",
})
