"""Every image embedded once with a pretrained body: the vectors suggestions and label issues work on.

:func:`embed_files` takes image paths; :func:`embed` takes anything ``%finetune`` accepts as DATA (or
a learner: the data it was trained on), through the same catalog ``%browse`` uses. Files are decoded
with the decode-once cache (:mod:`jupyter_dl.data.cache`), run through the model's body
(:mod:`jupyter_dl.models.features`) in batches on the learner's device ("auto": CUDA, MPS, else CPU),
and the vectors are kept on disk by file fingerprint (:mod:`jupyter_dl.data.embedding_cache`): a
second call, or a call on a pool with a few new files, runs the model only on what it has not seen.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.cache import build_image_cache, fingerprint
from ..data.catalog import Catalog, CatalogItem, build_catalog
from ..data.embedding_cache import load_vectors, save_vectors
from ..errors import UserInputError
from ..models.features import extractor_key, feature_extractor
from ..train.device import resolve_device
from ..ui.decode_progress import DecodeProgress

Progress = Callable[[int, int], None]
MIN_SIZE, MAX_SIZE = 64, 224


@dataclass
class Embeddings:
    """One L2-normalised float32 vector per readable item (row i is ``items[i]``), and what was skipped."""

    vectors: np.ndarray                 # N x D float32, each row of length 1
    items: list[CatalogItem]            # the embedded items, in catalog order
    classes: list[str]
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it could not be read)
    catalog: Catalog | None = field(default=None, repr=False)

    def labels(self) -> np.ndarray:
        """Each item's class index (int64), in the order of ``classes``."""
        index = {name: i for i, name in enumerate(self.classes)}
        return np.array([index[item.label] for item in self.items], dtype=np.int64)


def auto_size(paths: Sequence[Path], sample: int = 16) -> int:
    """The input size for embedding: twice the images' median shorter side (read from the headers of up to
    ``sample`` files), a multiple of 32 between 64 and 224. Measured on the 32 px digits of the sample:
    suggestions were as good or better at 64 px than at 128 px, at 4x less compute; photos get 224."""
    from PIL import Image

    sides = []
    step = max(1, len(paths) // sample)
    for path in list(paths)[::step][:sample]:
        try:
            with Image.open(path) as img:
                sides.append(min(img.size))
        except Exception:  # noqa: BLE001 - an unreadable file is reported by the decoder, not here
            continue
    side = 2 * statistics.median(sides) if sides else MAX_SIZE
    return int(min(MAX_SIZE, max(MIN_SIZE, round(side / 32) * 32)))


def embed_files(paths: Sequence[str | Path], *, arch: Any = None, size: int | None = None, bs: int = 64,
                device: str = "auto", weights: str | Path | None = None, workers: int = 0,
                namespace: dict | None = None, progress: Progress | None = None
                ) -> tuple[np.ndarray, list[int], list[tuple[Path, str]]]:
    """``(vectors, kept, skipped)``: float32 rows for the readable ``paths`` (``kept`` are their positions in
    ``paths``), and (path, reason) for the others. Only files not in the embedding cache are decoded and
    run through the model; ``progress(done, total)`` counts images (cached ones are done at once)."""
    files = [Path(p) for p in paths]
    size = auto_size(files) if size is None else size
    fingerprints = [fingerprint(path) for path in files]
    model_key = extractor_key(arch, weights=weights, namespace=namespace)
    key = f"{model_key}|{size}px" if model_key is not None else None
    found, cached = load_vectors(key, fingerprints) if key is not None else (np.zeros(len(files), bool), None)
    skipped = [(path, "the file does not exist") for path, fp in zip(files, fingerprints) if fp is None]
    todo = [i for i, fp in enumerate(fingerprints) if fp is not None and not found[i]]
    rows: dict[int, np.ndarray] = dict(zip(np.flatnonzero(found).tolist(), cached if cached is not None else []))
    readable: list[int] = []
    if todo:
        if progress is not None:
            progress(len(rows), len(files))
        pixels, _, unreadable = build_image_cache([(files[i], 0) for i in todo], size, workers)
        bad = {Path(p) for p, _ in unreadable}
        skipped += unreadable
        readable = [i for i in todo if files[i] not in bad]
    if readable:
        extractor = feature_extractor(arch, device=resolve_device(device), weights=weights, namespace=namespace)
        done = len(rows)
        report = None if progress is None else (lambda n: progress(done + n, len(files)))
        vectors = extractor.embed(pixels, bs=bs, progress=report)
        rows.update(zip(readable, vectors))
        if key is not None:
            save_vectors(key, [fingerprints[i] for i in readable], vectors)
    kept = sorted(rows)
    if not kept:
        return np.zeros((0, 0), dtype=np.float32), [], skipped
    return np.stack([rows[i] for i in kept]).astype(np.float32, copy=False), kept, skipped


def embed(data: Any, *, arch: Any = None, size: int | None = None, bs: int = 64, device: str = "auto",
          weights: str | Path | None = None, workers: int = 0, namespace: dict | None = None,
          label_col: str = "label", path_col: str = "path", label_re: str | None = None, quiet: bool = False,
          progress: Progress | None = None) -> Embeddings:
    """Embed every image of DATA (anything ``%finetune`` accepts, or a learner: its data) with the pretrained
    body of ``arch`` (default: the offline efficientnet_lite0).

    In a notebook a line counts the images while they are embedded ("Embedding 312/1797 images"), unless
    ``quiet`` or a ``progress(done, total)`` hook is given. Raises UserInputError (one sentence) for bad
    input; unreadable files are left out and listed in ``Embeddings.skipped``.
    """
    catalog = catalog_of(data, namespace=namespace, label_col=label_col, path_col=path_col, label_re=label_re)
    paths = [item.path for item in file_items(catalog, "embeddings are cached by file") if item.path is not None]
    options: dict[str, Any] = dict(arch=arch, size=size, bs=bs, device=device, weights=weights, workers=workers,
                                   namespace=namespace)
    if progress is not None:
        vectors, kept, skipped = embed_files(paths, progress=progress, **options)
    else:
        with DecodeProgress(quiet=quiet, verb="Embedding", past="Embedded") as line:
            vectors, kept, skipped = embed_files(paths, progress=line, **options)
    return Embeddings(vectors, [catalog.items[i] for i in kept], list(catalog.classes), skipped, catalog)


def file_items(catalog: Catalog, why: str) -> list[CatalogItem]:
    """The catalog's items, all of them files; else one sentence (``why`` says what needs files)."""
    no_file = [item for item in catalog.items if item.path is None]
    if no_file:
        raise UserInputError(f"{len(no_file)} item(s) of {catalog.description} are in memory, not files: "
                             f"{why}, so pass a folder, a CSV file or a DataFrame of paths.")
    return list(catalog.items)


def learner_of(data: Any, namespace: dict | None = None) -> Any | None:
    """The learner (``%finetune``'s or fastai's) that DATA is or names in ``namespace``; None when DATA is data."""
    from ..browser.interpretation import is_learner

    if isinstance(data, str) and namespace is not None:
        from ..data.sources import lookup_name

        found, value = lookup_name(data, namespace)
        if found and is_learner(value):
            return value
    return data if is_learner(data) else None


def learner_arch(learner: Any) -> str | None:
    """The model name a learner ``%finetune`` left was built from ("timm:resnet18"): its pretrained body gives
    embeddings and fresh fine-tunes. None for the user's own nn.Module and for a fastai Learner (no name)."""
    from ..browser.interpretation import is_ours

    bundle = getattr(learner, "bundle", None) if is_ours(learner) else None
    if bundle is None or bundle.source not in ("timm", "torchvision"):
        return None
    return f"{bundle.source}:{bundle.arch}"


def catalog_of(data: Any, *, namespace: dict | None = None, **options: Any) -> Catalog:
    """The catalog of DATA, of the data a learner (``%finetune``'s or fastai's) was trained on, or DATA itself
    when it is a :class:`~jupyter_dl.data.catalog.Catalog` (``%browse``'s, with its edits)."""
    from ..browser.interpretation import is_ours, learner_catalog

    if isinstance(data, Catalog):
        return data
    learner = learner_of(data, namespace)
    if learner is not None:
        if is_ours(learner):
            return learner_catalog(learner, namespace=namespace)
        return build_catalog(learner.dls, namespace=namespace)
    return build_catalog(data, namespace=namespace, **options)
