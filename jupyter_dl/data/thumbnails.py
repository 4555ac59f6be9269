"""Small JPEG previews of a catalog's images, made once and cached on disk and in memory.

A file's thumbnail is keyed by (path, size, mtime in ns, byte size), so an
edited, replaced or touched file gets a new one and a stale one is never shown.
On disk they live under ``cache_dir("thumbs")/<size>/`` (written to a temp file
and moved into place, so a reader never sees half a JPEG); the newest
:data:`MEMORY_ENTRIES` are also kept in memory. Items without a file (torch
Dataset / fastai items in memory) are cached in memory only.

A page is decoded in parallel threads (PIL releases the GIL while decoding);
JPEG files are decoded at a reduced scale with PIL's ``draft``. A file that
cannot be read gives a grey placeholder with a cross: these functions never raise.
"""
from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ..paths import cache_dir, write_atomic
from .catalog import Catalog, CatalogItem
from .decode_warnings import collect as collect_decode_warnings
from .images import open_image as decode_file  # module global, so tests can count decodes

DEFAULT_SIZE = 128
JPEG_QUALITY = 82
MEMORY_ENTRIES = 4096  # ~4 KB each at 128 px: ~16 MB at most
DEFAULT_WORKERS = min(8, 2 * (os.cpu_count() or 1))  # decoding is CPU-bound; a little extra hides file reads
PLACEHOLDER_GREY = (200, 200, 200)

Key = Hashable


def thumbnail(catalog: Catalog, item: CatalogItem | int, size: int = DEFAULT_SIZE) -> bytes:
    """JPEG bytes of the item's image, longest side ``size`` (never enlarged), aspect kept."""
    return thumbnails(catalog, [item], size=size, workers=1)[0]


def thumbnails(catalog: Catalog, items: Iterable[CatalogItem | int], size: int = DEFAULT_SIZE,
               workers: int | None = None) -> list[bytes]:
    """JPEG thumbnails of ``items`` (CatalogItems or keys), in order; misses are decoded in parallel."""
    futures = _STORE.request(catalog, _as_items(catalog, items), size, _pool(workers))
    return [future.result() for future in futures]


def prefetch(catalog: Catalog, items: Iterable[CatalogItem | int], size: int = DEFAULT_SIZE) -> Future:
    """Start making thumbnails in the background (e.g. the next page) and return at once.

    A later :func:`thumbnails` call for the same items waits for the work already
    under way instead of decoding twice. The returned future completes when all are done.
    """
    futures = _STORE.request(catalog, _as_items(catalog, items), size, _background_pool())
    done: Future = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def finished(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            done.set_result(len(futures))

    if not futures:
        done.set_result(0)
    for future in futures:
        future.add_done_callback(finished)
    return done


def placeholder(size: int = DEFAULT_SIZE) -> bytes:
    """A grey square with a dark cross: what an unreadable image shows."""
    cached = _PLACEHOLDERS.get(size)
    if cached is None:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (size, size), PLACEHOLDER_GREY)
        draw = ImageDraw.Draw(image)
        width = max(1, size // 32)
        draw.line((0, 0, size - 1, size - 1), fill=(110, 110, 110), width=width)
        draw.line((0, size - 1, size - 1, 0), fill=(110, 110, 110), width=width)
        cached = _PLACEHOLDERS[size] = _encode(image)
    return cached


def clear_memory() -> None:
    """Forget the in-memory thumbnails (the disk cache stays): e.g. to measure a cold start."""
    _STORE.clear()


def thumbnail_folder(size: int) -> Path:
    """The disk cache folder for thumbnails of ``size`` px, created when missing (OSError when it cannot be)."""
    return cache_dir("thumbs", str(int(size)))


# ----------------------------------------------------------------------------- making one
def make_thumbnail(catalog: Catalog, item: CatalogItem, size: int) -> tuple[bytes, bool]:
    """(JPEG bytes, True) for a readable image, (placeholder, False) for anything else."""
    from PIL import Image

    try:
        # The decoder's warnings are the health check's to report (decode_warnings.py), never printed here.
        with collect_decode_warnings() as caught, caught.file(item.path or "-"):
            image = decode_file(item.path, draft_size=size) if item.path is not None else catalog.open_image(item)
        image.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return _encode(image), True
    except Exception:  # a thumbnail must never break the grid: any failure shows the placeholder
        return placeholder(size), False


def _encode(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- the store
class _Identity:
    """A hashable handle on an in-memory dataset (by identity; it keeps the object alive while cached)."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj


class _Store:
    """Memory LRU + work in flight, shared by every catalog (keys include the file's fingerprint)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.memory: OrderedDict[Key, bytes] = OrderedDict()
        self.in_flight: dict[Key, Future] = {}
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.memory.clear()

    def request(self, catalog: Catalog, items: Sequence[CatalogItem], size: int,
                pool: ThreadPoolExecutor) -> list[Future]:
        folder = _disk_folder(size) if any(item.path is not None for item in items) else None
        futures = []
        for item in items:
            key, disk_path = _key(catalog, item, size, folder)
            futures.append(self._get(key, disk_path, catalog, item, size, pool))
        return futures

    def _get(self, key: Key | None, disk_path: Path | None, catalog: Catalog, item: CatalogItem, size: int,
             pool: ThreadPoolExecutor) -> Future:
        if key is None:  # a missing file: nothing to cache
            done: Future = Future()
            done.set_result(placeholder(size))
            return done
        with self.lock:
            data = self.memory.get(key)
            if data is not None:
                self.memory.move_to_end(key)
                done = Future()
                done.set_result(data)
                return done
            running = self.in_flight.get(key)
            if running is not None:
                return running
            future = pool.submit(self._load, key, disk_path, catalog, item, size)
            self.in_flight[key] = future
            return future

    def _load(self, key: Key, disk_path: Path | None, catalog: Catalog, item: CatalogItem, size: int) -> bytes:
        try:
            data = _read(disk_path)
            if data is None:
                data, readable = make_thumbnail(catalog, item, size)
                if readable and disk_path is not None:
                    _save(disk_path, data)
            self._remember(key, data)
            return data
        finally:
            with self.lock:
                self.in_flight.pop(key, None)

    def _remember(self, key: Key, data: bytes) -> None:
        with self.lock:
            self.memory[key] = data
            self.memory.move_to_end(key)
            while len(self.memory) > self.capacity:
                self.memory.popitem(last=False)


def _key(catalog: Catalog, item: CatalogItem, size: int, folder: Path | None) -> tuple[Key | None, Path | None]:
    """(memory key, disk file) of the item's thumbnail; (None, None) when its file is gone."""
    if item.path is None:
        dataset = catalog.source if catalog.source is not None else catalog
        return (_Identity(dataset), item.split, item.index, size), None
    try:
        stat = os.stat(item.path)
    except OSError:
        return None, None
    key = (os.fspath(item.path), size, stat.st_mtime_ns, stat.st_size)
    if folder is None:
        return key, None
    digest = hashlib.sha1("\0".join(map(str, key)).encode("utf-8", "surrogatepass")).hexdigest()
    return key, folder / digest[:2] / f"{digest}.jpg"


def _disk_folder(size: int) -> Path | None:
    try:
        return thumbnail_folder(size)
    except OSError:  # no writable cache: memory only
        return None


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _save(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda file: file.write(data))
    except OSError:  # a full or read-only disk only costs a decode next time
        pass


def _as_items(catalog: Catalog, items: Iterable[CatalogItem | int]) -> list[CatalogItem]:
    return [catalog.item(item) if isinstance(item, int) else item for item in items]


_STORE = _Store(MEMORY_ENTRIES)
_PLACEHOLDERS: dict[int, bytes] = {}
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(workers: int | None) -> ThreadPoolExecutor:
    workers = max(1, int(workers or DEFAULT_WORKERS))
    with _POOLS_LOCK:
        if workers not in _POOLS:
            _POOLS[workers] = ThreadPoolExecutor(workers, thread_name_prefix=f"jdl-thumbs-{workers}")
        return _POOLS[workers]


def _background_pool() -> ThreadPoolExecutor:
    # Its own threads, so a prefetch never queues in front of the page someone is waiting for.
    with _POOLS_LOCK:
        if -1 not in _POOLS:
            _POOLS[-1] = ThreadPoolExecutor(max(1, (os.cpu_count() or 1)), thread_name_prefix="jdl-thumbs-prefetch")
        return _POOLS[-1]
