"""Decode and resize every image once; keep the uint8 pixels on disk for the next run.

An entry is two files in ``cache_dir("images")``: ``<size>px-<key>.npy`` (the
N x 3 x S x S uint8 pixels of the readable files, in item order) and
``<size>px-<key>.json`` (per item: its fingerprint, its row or why it was
skipped, and any decoder warnings). The key hashes (resolved path, byte size, mtime) of every item and
the size, so an edited, replaced or touched file gives a new key. The JSON is
written last and marks the entry complete; both are written to a temp file
and moved into place with os.replace, so a reader never sees half an entry.

On a miss, rows of files already decoded by recent entries of the same size
(fingerprint unchanged) are copied instead of decoded again: a new split, a
deleted or relabelled file, or one added image costs almost nothing.

Data larger than memory: rows are written to the entry's file as they are
decoded and batches read them back from it (pixel_file.py), so neither the build
nor training holds the set in this process; only without a usable cache folder
or room on disk do the pixels live in RAM.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..paths import cache_dir, write_atomic
from .decode_warnings import DecodeWarnings
from .decode_warnings import collect as collect_decode_warnings
from .images import UnreadableImageError
from .images import load_square as decode_file  # module global, so tests can count decodes
from .pixel_file import COPY_ROWS, PixelFile, PixelRows, open_pixels

CACHE_VERSION = 1
MAX_ENTRIES = 24  # newest entries kept; older ones are deleted after each write
REUSE_SOURCES = 8  # recent entries searched for rows to reuse on a miss
STALE_TEMP_S = 3600.0

Fingerprint = tuple[str, int, int]  # (resolved path, byte size, mtime in ns)
Progress = Callable[[int, int], None]


def build_image_cache(items: list[tuple[Path, int]], size: int, workers: int = 0, *,
                      progress: Progress | None = None, decode_warnings: list[tuple[Path, str]] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, list[tuple[Path, str]]]:
    """Decode ``items`` to (uint8 N x 3 x size x size, int64 labels, skipped (path, reason)).

    Unreadable files are left out of both tensors and listed in ``skipped``. A
    second call on unchanged files loads the pixels from disk without decoding.
    ``workers`` > 1 decodes in that many threads (PIL releases the GIL).
    ``progress(done, total)`` is called once before decoding starts and after each decoded file
    (not at all when every file comes from the cache). Warnings the decoder gives are not printed:
    (path, "UserWarning: ...") pairs are appended to ``decode_warnings`` (kept with the entry, so a
    cached run reports them too).
    """
    if not items:  # e.g. valid_pct=0: nothing to decode, nothing worth an entry on disk
        return torch.empty((0, 3, size, size), dtype=torch.uint8), torch.empty(0, dtype=torch.int64), []
    fingerprints = [fingerprint(path) for path, _ in items]
    folder = _cache_folder()
    stem = f"{size}px-{_key(fingerprints, size)}"
    found = _load_entry(folder, stem, len(items), size) if folder is not None else None
    if found is not None:
        pixels, rows, reasons, warned = found
    else:
        pixels, rows, reasons, warned = _build(fingerprints, size, workers, folder, stem, progress)
    if decode_warnings is not None:
        decode_warnings.extend((Path(items[i][0]), text) for i, text in sorted(warned.items()))
    kept = [i for i, row in enumerate(rows) if row >= 0]
    labels = torch.tensor([int(items[i][1]) for i in kept], dtype=torch.int64)
    skipped = [(Path(items[i][0]), reasons.get(i, "unreadable image")) for i, row in enumerate(rows) if row < 0]
    return pixels, labels, skipped


def _cache_folder() -> Path | None:
    try:
        return cache_dir("images")
    except OSError as exc:  # read-only home, no permission: decode in memory only
        warnings.warn(f"jupyter_dl has no usable image cache folder ({exc}); images are decoded on every run.",
                      stacklevel=2)
        return None


# ----------------------------------------------------------------------------- keys
def fingerprint(path: str | os.PathLike) -> Fingerprint | None:
    """(resolved path, byte size, mtime in ns) of a file, None when it does not exist: an edited, replaced or
    touched file gets a new one (the embedding cache keys its rows the same way)."""
    resolved = os.path.realpath(path)
    try:
        stat = os.stat(resolved)
    except OSError:
        return None
    return resolved, stat.st_size, stat.st_mtime_ns


def _key(fingerprints: list[Fingerprint | None], size: int) -> str:
    text = json.dumps([CACHE_VERSION, size, fingerprints], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ----------------------------------------------------------------------------- reading
def _load_entry(folder: Path, stem: str, n_items: int, size: int
                ) -> tuple[torch.Tensor, list[int], dict[int, str], dict[int, str]] | None:
    meta_path = folder / f"{stem}.json"
    try:
        meta = json.loads(meta_path.read_text())
        rows = [int(row) for row in meta["rows"]]
        reasons = {int(i): str(reason) for i, reason in meta["reasons"].items()}
        warned = {int(i): str(text) for i, text in meta.get("warnings", {}).items()}
        # Mapped, not read: opening is instant; batches read rows from the file (pixel_file.py).
        pixels = open_pixels(folder / f"{stem}.npy")
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, or damaged / half-deleted: rebuild
    n_kept = sum(row >= 0 for row in rows)
    if len(rows) != n_items or tuple(pixels.shape) != (n_kept, 3, size, size):
        return None
    _touch(meta_path)  # most recently used entries survive pruning
    return pixels, rows, reasons, warned


def _reusable(folder: Path, size: int, exclude: str, wanted: set[Fingerprint]
              ) -> dict[Fingerprint, tuple[Path, int, str | None, str | None]]:
    """Fingerprint -> (npy file, row, reason, decoder warning) from recent entries of the same size."""
    found: dict[Fingerprint, tuple[Path, int, str | None, str | None]] = {}
    for meta_path in _entries_newest_first(folder, size)[:REUSE_SOURCES]:
        if meta_path.stem == exclude:
            continue
        try:
            meta = json.loads(meta_path.read_text())
            pairs = zip(meta["fingerprints"], meta["rows"])
            reasons = meta["reasons"]
            warned = meta.get("warnings", {})
        except (OSError, ValueError, KeyError, TypeError):
            continue
        npy = meta_path.with_suffix(".npy")
        for index, (fingerprint, row) in enumerate(pairs):
            if fingerprint is None:
                continue
            fingerprint = tuple(fingerprint)
            if fingerprint in wanted and fingerprint not in found:
                found[fingerprint] = (npy, int(row), reasons.get(str(index)), warned.get(str(index)))
    return found


def _entries_newest_first(folder: Path, size: int | None = None) -> list[Path]:
    pattern = f"{size}px-*.json" if size is not None else "*px-*.json"
    stamped = []
    for path in folder.glob(pattern):
        with contextlib.suppress(OSError):
            stamped.append((path.stat().st_mtime, path))
    return [path for _, path in sorted(stamped, reverse=True)]


# ----------------------------------------------------------------------------- building
def _build(fingerprints: list[Fingerprint | None], size: int, workers: int, folder: Path | None, stem: str,
           progress: Progress | None) -> tuple[torch.Tensor, list[int], dict[int, str], dict[int, str]]:
    # Rows go to the cache file as they are decoded (pixel_file.py), never the whole set in RAM; in RAM only
    # without a usable cache folder or without room for the file on disk.
    rows = _Rows(_open_storage(folder, stem, (len(fingerprints), 3, size, size)), (len(fingerprints), 3, size, size))
    try:
        return _fill(rows, fingerprints, size, workers, folder, stem, progress)
    except BaseException:
        rows.discard()
        raise


class _Rows:
    """Where decoded rows go: the cache file, or RAM (no usable cache folder, or the file could not be written)."""

    def __init__(self, storage: PixelFile | None, shape: tuple[int, ...]) -> None:
        self.storage = storage
        self.ram = torch.empty(shape, dtype=torch.uint8) if storage is None else None

    def put(self, index: int, row: torch.Tensor) -> None:
        if self.storage is not None:
            try:
                self.storage.write_row(index, row)
                return
            except OSError:  # the disk filled up after all (space could not be reserved): go on in RAM,
                self._to_ram()  # and the save at the end says once that the cache could not be kept
        assert self.ram is not None
        self.ram[index] = row

    def _to_ram(self) -> None:
        storage, self.storage = self.storage, None
        assert storage is not None
        self.ram = torch.empty(storage.shape, dtype=torch.uint8)
        PixelRows(storage.fd, storage.offset, storage.shape).read_range(0, storage.shape[0], self.ram)
        storage.discard()

    def finish(self, ok: list[bool], size: int) -> torch.Tensor | None:
        """Leave out the rows not ``ok``; the pixels when they are in RAM (None: in the file, to commit)."""
        if self.storage is not None:
            if all(ok):
                return None
            if any(ok):
                self.storage.keep_rows([i for i, good in enumerate(ok) if good])
                return None
            self.discard()  # nothing readable: an empty array is no file to map
            return torch.empty((0, 3, size, size), dtype=torch.uint8)
        assert self.ram is not None
        return self.ram if all(ok) else self.ram[torch.tensor(ok, dtype=torch.bool)].clone()

    def discard(self) -> None:
        if self.storage is not None:
            self.storage.discard()
            self.storage = None


def _fill(store: _Rows, fingerprints: list[Fingerprint | None], size: int, workers: int, folder: Path | None,
          stem: str, progress: Progress | None) -> tuple[torch.Tensor, list[int], dict[int, str], dict[int, str]]:
    n = len(fingerprints)
    ok = [False] * n
    reasons: dict[int, str] = {}
    for i, fingerprint in enumerate(fingerprints):
        if fingerprint is None:
            reasons[i] = "the file does not exist"

    wanted = {fp for fp in fingerprints if fp is not None}
    reuse = _reusable(folder, size, stem, wanted) if wanted and folder is not None else {}
    warned: dict[int, str] = {}
    to_decode = _copy_reused(fingerprints, reuse, store, ok, reasons, warned)

    done = n - len(to_decode)
    if progress is not None and to_decode:
        progress(done, n)  # decoding starts now
    # Every index in to_decode has a fingerprint (_copy_reused skips missing files), so no path is left out.
    paths = [fingerprint[0] for i in to_decode if (fingerprint := fingerprints[i]) is not None]
    with collect_decode_warnings() as caught:
        for i, result in zip(to_decode, _decode_all(paths, size, workers, caught)):
            if isinstance(result, torch.Tensor):
                store.put(i, result)
                ok[i] = True
            else:
                reasons[i] = result
            done += 1
            if progress is not None:
                progress(done, n)
    warned.update({i: text for i, path in zip(to_decode, paths) if (text := caught.text_of(path))})

    pixels = store.finish(ok, size)
    rows, next_row = [], 0
    for good in ok:
        rows.append(next_row if good else -1)
        next_row += good
    if folder is not None:
        pixels = _save_entry(folder, stem, size, pixels, fingerprints, rows, reasons, warned, store.storage)
    assert pixels is not None  # no folder: the rows were in RAM
    return pixels, rows, reasons, warned


def _open_storage(folder: Path | None, stem: str, shape: tuple[int, ...]) -> PixelFile | None:
    if folder is None:
        return None
    try:
        return PixelFile(folder / f"{stem}.npy", shape)
    except OSError:  # disk full, read-only: decode in RAM, and the save says why it could not keep them
        return None


def _copy_reused(fingerprints: list[Fingerprint | None], reuse: dict, store: _Rows,
                 ok: list[bool], reasons: dict[int, str], warned: dict[int, str]) -> list[int]:
    """Fill rows (and known failures and warnings) from earlier entries; return the item indices still to decode."""
    by_source: dict[Path, tuple[list[int], list[int]]] = {}
    to_decode = []
    for i, fingerprint in enumerate(fingerprints):
        if fingerprint is None:
            continue
        hit = reuse.get(fingerprint)
        if hit is None:
            to_decode.append(i)
            continue
        if hit[3]:
            warned[i] = hit[3]
        if hit[1] < 0:
            reasons[i] = hit[2] or "unreadable image"
        else:
            targets, rows = by_source.setdefault(hit[0], ([], []))
            targets.append(i)
            rows.append(hit[1])
    for npy, (targets, rows) in by_source.items():
        try:
            _copy_rows(npy, targets, rows, store)
        except (OSError, ValueError, IndexError):
            to_decode.extend(targets)  # the entry vanished or is damaged: decode instead
            continue
        for i in targets:
            ok[i] = True
    return sorted(to_decode)


def _copy_rows(npy: Path, targets: list[int], rows: list[int], store: _Rows) -> None:
    """Rows ``rows`` of another entry's file to items ``targets``, a block at a time (bounded memory)."""
    with PixelRows.open(npy) as source:
        block = torch.empty((min(COPY_ROWS, len(rows)), *source.shape[1:]), dtype=torch.uint8)
        for start in range(0, len(rows), COPY_ROWS):
            part = rows[start:start + COPY_ROWS]
            source.read_rows(part, block[:len(part)])
            for target, row in zip(targets[start:start + COPY_ROWS], block):
                store.put(target, row)


def _decode_all(paths: list[str], size: int, workers: int, caught: DecodeWarnings
                ) -> Iterator[torch.Tensor | str]:
    """Pixels, or the reason a file could not be read, for each path in order."""
    if workers > 1 and len(paths) > 1:
        # A few files per thread in flight, not all of them: decoded rows wait in RAM only until written.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jdl-decode") as pool:
            waiting: deque[Future] = deque()
            ahead = iter(paths)
            for path in islice(ahead, 4 * workers):
                waiting.append(pool.submit(_decode_one, path, size, caught))
            while waiting:
                result = waiting.popleft().result()
                for path in islice(ahead, 1):
                    waiting.append(pool.submit(_decode_one, path, size, caught))
                yield result
    else:
        for path in paths:
            yield _decode_one(path, size, caught)


def _decode_one(path: str, size: int, caught: DecodeWarnings) -> torch.Tensor | str:
    try:
        with caught.file(path):
            return decode_file(path, size)
    except UnreadableImageError as exc:
        return exc.reason
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the run; the reason is reported
        return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- writing
def _save_entry(folder: Path, stem: str, size: int, pixels: torch.Tensor | None, fingerprints: list,
                rows: list[int], reasons: dict[int, str], warned: dict[int, str], storage: PixelFile | None = None
                ) -> torch.Tensor | None:
    """Keep the entry (the pixels' file first, the JSON that marks it complete last); returns the pixels,
    memory-mapped from the file when they were written there."""
    meta = {"version": CACHE_VERSION, "size": size, "fingerprints": fingerprints, "rows": rows,
            "reasons": {str(i): r for i, r in reasons.items()}, "warnings": {str(i): w for i, w in warned.items()}}
    try:
        if storage is not None:
            pixels = storage.commit()
        else:
            in_ram = pixels
            assert in_ram is not None
            write_atomic(folder / f"{stem}.npy", lambda f: np.save(f, in_ram.numpy()))
        write_atomic(folder / f"{stem}.json", lambda f: f.write(json.dumps(meta).encode()))
    except OSError as exc:  # disk full, read-only cache: training goes on, only the next run is slower
        if pixels is None and storage is not None:
            pixels = storage.salvage()
        warnings.warn(f"jupyter_dl could not write the image cache in {folder} ({exc}); "
                      "images will be decoded again next time.", stacklevel=2)
        return pixels
    _prune(folder)
    return pixels


def _prune(folder: Path) -> None:
    """Keep the MAX_ENTRIES newest entries; remove old temp files and pixels without a JSON."""
    for meta_path in _entries_newest_first(folder)[MAX_ENTRIES:]:
        _remove(meta_path, meta_path.with_suffix(".npy"))
    now = time.time()
    for path in _old_files(folder.glob(".*.tmp"), now):
        _remove(path)
    for path in _old_files(folder.glob("*px-*.npy"), now):
        if not path.with_suffix(".json").exists():
            _remove(path)


def _old_files(paths: Iterable[Path], now: float) -> Iterator[Path]:
    for path in paths:
        try:
            if now - path.stat().st_mtime > STALE_TEMP_S:
                yield path
        except OSError:
            pass


def _remove(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)
