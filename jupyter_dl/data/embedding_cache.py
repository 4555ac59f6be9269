"""Feature vectors kept on disk by file fingerprint, so every image is embedded once per model.

A model's vectors live in ``cache_dir("embeddings", <hash of the model key>)`` as shards: each call
that embeds new files writes one shard, ``<hash>.npy`` (float32 rows) and ``<hash>.json`` (the model
key, the dimension and each row's fingerprint: resolved path, byte size, mtime, made by
:func:`jupyter_dl.data.cache.fingerprint`, so an edited, replaced or touched file is embedded again; a
file moved to another folder under the same name keeps its row).
The JSON is written last, atomically, and marks a shard complete; a damaged shard is ignored. Shards
a look-up used are touched; the :data:`MAX_SHARDS` most recently used are kept. Adding one image to
a pool of thousands costs one shard of one row. Nothing here knows about models or images.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..paths import cache_dir, write_atomic
from .cache import Fingerprint

STORE_VERSION = 1
MAX_SHARDS = 64


def store_folder(key: str) -> Path | None:
    """The folder of one model's vectors (created), None when no cache folder is usable."""
    digest = hashlib.sha256(f"{STORE_VERSION}:{key}".encode()).hexdigest()[:24]
    try:
        return cache_dir("embeddings", digest)
    except OSError as exc:  # read-only home: embed in memory only
        warnings.warn(f"jupyter_dl has no usable embedding cache folder ({exc}); images are embedded on every run.",
                      stacklevel=2)
        return None


def load_vectors(key: str, fingerprints: Sequence[Fingerprint | None]) -> tuple[np.ndarray, np.ndarray]:
    """``(found, vectors)``: a bool mask over ``fingerprints`` and the cached rows of the found ones, in order."""
    found = np.zeros(len(fingerprints), dtype=bool)
    folder = store_folder(key)
    if folder is None or not fingerprints:
        return found, np.zeros((0, 0), dtype=np.float32)
    wanted: dict[tuple, list[int]] = {}
    moved: dict[tuple, list[int]] = {}        # the same by (file name, size, mtime): a file moved, not changed
    for index, fingerprint in enumerate(fingerprints):
        if fingerprint is not None:
            wanted.setdefault(tuple(fingerprint), []).append(index)
            moved.setdefault(_moved_key(fingerprint), []).append(index)
    where: dict[int, tuple[Path, int]] = {}   # item index -> (shard, row)
    was_moved: dict[int, tuple[Path, int]] = {}
    dims: dict[Path, int] = {}
    for meta_path in _shards_newest_first(folder):
        meta = _read_meta(meta_path, key)
        if meta is None:
            continue
        shard = meta_path.with_suffix(".npy")
        for row, fingerprint in enumerate(meta["fingerprints"]):
            for index in wanted.pop(tuple(fingerprint), []):
                where[index] = (shard, row)
                dims[shard] = int(meta["dim"])
            for index in moved.get(_moved_key(fingerprint), []):
                if index not in was_moved:
                    was_moved[index] = (shard, row)
                    dims[shard] = int(meta["dim"])
        if shard in dims:
            _touch(meta_path)
        if not wanted:
            break
    for index, place in was_moved.items():
        where.setdefault(index, place)
    rows: dict[int, np.ndarray] = {}
    for shard in dims:
        indices = [index for index, (source, _) in where.items() if source == shard]
        try:
            block = np.load(shard, mmap_mode="r")
            values = np.asarray(block[[where[index][1] for index in indices]], dtype=np.float32)
        except (OSError, ValueError, IndexError):
            continue  # vanished or damaged: those images are embedded again
        if values.ndim != 2 or values.shape[1] != dims[shard]:
            continue
        rows.update(zip(indices, values))
    if not rows or len({len(v) for v in rows.values()}) != 1:
        return found, np.zeros((0, 0), dtype=np.float32)
    order = sorted(rows)
    found[order] = True
    return found, np.stack([rows[index] for index in order])


def save_vectors(key: str, fingerprints: Sequence[Fingerprint | None], vectors: np.ndarray) -> None:
    """Keep ``vectors`` (one float32 row per fingerprint; rows without a fingerprint are left out) as one shard."""
    folder = store_folder(key)
    pairs = [(list(fp), row) for row, fp in enumerate(fingerprints) if fp is not None]
    if folder is None or not pairs:
        return
    rows = np.ascontiguousarray(vectors[[row for _, row in pairs]], dtype=np.float32)
    meta = {"version": STORE_VERSION, "key": key, "dim": int(rows.shape[1]), "fingerprints": [fp for fp, _ in pairs]}
    stem = hashlib.sha256(json.dumps(meta["fingerprints"]).encode()).hexdigest()[:24]
    try:
        write_atomic(folder / f"{stem}.npy", lambda f: np.save(f, rows))
        write_atomic(folder / f"{stem}.json", lambda f: f.write(json.dumps(meta).encode()))
    except OSError as exc:  # disk full, read-only cache: only the next run is slower
        warnings.warn(f"jupyter_dl could not write the embedding cache in {folder} ({exc}); "
                      "images will be embedded again next time.", stacklevel=2)
        return
    for old in _shards_newest_first(folder)[MAX_SHARDS:]:
        for path in (old, old.with_suffix(".npy")):
            with contextlib.suppress(OSError):
                path.unlink()


def _moved_key(fingerprint: Sequence) -> tuple:
    """A file's fingerprint without its folder. os.rename keeps size and modification time (to the
    nanosecond), so a file %label or %browse moved into a class folder is found again, not embedded again."""
    path, size, mtime = fingerprint
    return os.path.basename(path), size, mtime


def _read_meta(meta_path: Path, key: str) -> dict | None:
    try:
        meta = json.loads(meta_path.read_text())
        if meta["key"] != key or meta["version"] != STORE_VERSION or not isinstance(meta["fingerprints"], list):
            return None
        int(meta["dim"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta


def _shards_newest_first(folder: Path) -> list[Path]:
    stamped = []
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            stamped.append((path.stat().st_mtime_ns, path))
    return [path for _, path in sorted(stamped, reverse=True)]


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)
