"""A data set's health: unreadable and non-image files, duplicates, near duplicates, odd sizes, imbalance.

Every file is read once per check for four facts: the SHA-1 of its bytes (exact
duplicates); a 64-bit perceptual hash (pHash: the 8 x 8 lowest frequencies of the
DCT of a 32 x 32 grey version, each compared with their median) and a 4 x 4
colour thumbnail (near duplicates); its width and height. The facts are cached
by file fingerprint (path, byte size, mtime in ns) in one JSON file per data set
under ``cache_dir("health")``, so a second check of unchanged files only stats them.

Two images are near duplicates when their hashes differ in at most
:data:`NEAR_DUPLICATE_BITS` bits and their colour thumbnails by at most
:data:`NEAR_DUPLICATE_COLOUR` on average. The hash sees only the grey image's
coarse structure: flat images of different colours share one hash, and unrelated
smooth synthetic images came within 6 bits. The colour check separates those
(measured: re-encoded, resized or 3 % cropped copies differ by <= 6.5, unrelated
images by >= 30). Candidate pairs come from a multi-index: the hash is cut into
BITS + 1 chunks, and two hashes within BITS bits agree exactly on at least one
chunk, so only images sharing a chunk are compared, not all n^2/2 pairs.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..paths import cache_dir, write_atomic
from .catalog import Catalog, CatalogItem, non_image_files
from .decode_warnings import DecodeWarnings
from .decode_warnings import collect as collect_decode_warnings
from .images import flatten_to_rgb

MIN_SIDE = 32             # px: smaller on either side is "small"
MAX_ASPECT = 4.0          # long side / short side beyond this is "extreme aspect"
IMBALANCE_RATIO = 5.0     # a class with under 1/5 of the largest class's images is reported
NEAR_DUPLICATE_BITS = 8   # of 64 (re-encoding flipped 0-2 bits here, a 10 % downsize 2-6, a 3 % crop 4-8)
NEAR_DUPLICATE_COLOUR = 12.0  # max mean absolute difference of the 4 x 4 RGB thumbnails (0..255)
LAYOUT_SIZE = 4           # the colour thumbnail is LAYOUT_SIZE x LAYOUT_SIZE RGB
HASH_SIZE = 8             # 8 x 8 = 64 bits
HASH_INPUT = 32           # px: the grey image whose DCT is taken
CACHE_VERSION = 6   # 5: transparent images hashed as composited on white; 6: decoder warnings kept
CHUNK = 32                # files per thread task (a progress step)
_EXIF_ORIENTATION = 0x0112

Progress = Callable[[int, int], None]


@dataclass
class ImageFacts:
    """What the health check needs to know about one image."""

    sha1: str | None = None
    phash: int | None = None   # 64-bit perceptual hash
    layout: bytes | None = None  # 4 x 4 RGB thumbnail, 48 bytes
    width: int = 0
    height: int = 0
    error: str | None = None   # why it cannot be read; None when readable
    warning: str | None = None  # what the decoder warned about (collected, not printed: decode_warnings.py)

    def to_json(self) -> list:
        """The facts as one JSON row (hash and thumbnail as hex text), as the cache file stores them."""
        return [self.sha1, None if self.phash is None else f"{self.phash:016x}",
                None if self.layout is None else self.layout.hex(),
                self.width, self.height, self.error, self.warning]

    @classmethod
    def from_json(cls, row: list) -> ImageFacts:
        """The facts from a row written by :meth:`to_json`."""
        sha1, phash, layout, width, height, error, warning = row
        return cls(sha1, None if phash is None else int(phash, 16), None if layout is None else bytes.fromhex(layout),
                   int(width), int(height), error, warning)


@dataclass
class HealthReport:
    """What :func:`check_health` found: items by key, plus the data set's non-image files and imbalanced classes."""

    unreadable: dict[int, str]          # item key -> reason (one line)
    non_images: list[Path]              # files in the data set that are not images (skipped by %finetune)
    exact_duplicates: list[list[int]]   # groups of item keys with identical bytes (sha1)
    near_duplicates: list[list[int]]    # groups by perceptual hash, pairs of identical bytes not counted
    small: list[int]                    # smaller than MIN_SIDE px on a side
    extreme_aspect: list[int]           # aspect ratio beyond MAX_ASPECT
    imbalance: dict[str, int] | None    # classes with < 1/IMBALANCE_RATIO of the largest class's count, else None
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)  # key -> (width, height) of readable images
    decode_warnings: dict[int, str] = field(default_factory=dict)  # key -> what the decoder warned (not printed)

    def filters(self) -> dict[str, set[int]]:
        """Status name -> item keys, for the browser's status filter."""
        return {
            "unreadable": set(self.unreadable),
            "duplicate": {key for group in self.exact_duplicates for key in group},
            "near duplicate": {key for group in self.near_duplicates for key in group},
            "small": set(self.small),
            "extreme aspect": set(self.extreme_aspect),
        }

    def counts(self) -> dict[str, int]:
        """Status name -> how many items (plus "non-image" files and "imbalanced" classes), for a summary line."""
        counts = {name: len(keys) for name, keys in self.filters().items()}
        counts["non-image"] = len(self.non_images)
        counts["imbalanced"] = len(self.imbalance or {})
        return counts

    @property
    def ok(self) -> bool:
        """True when nothing was found: no item, no non-image file and no imbalanced class to report."""
        return not any(self.counts().values())


def check_health(catalog: Catalog, *, workers: int | None = None, progress: Progress | None = None) -> HealthReport:
    """Check every item of ``catalog``; ``progress(done, total)`` is called as files are read."""
    facts = gather_facts(catalog, workers=workers, progress=progress)
    unreadable = {key: f.error for key, f in facts.items() if f.error is not None}
    readable = {key: f for key, f in facts.items() if f.error is None}
    small = sorted(key for key, f in readable.items() if min(f.width, f.height) < MIN_SIDE)
    extreme = sorted(key for key, f in readable.items()
                     if max(f.width, f.height) > MAX_ASPECT * max(1, min(f.width, f.height)))
    return HealthReport(
        unreadable=dict(sorted(unreadable.items())),
        non_images=non_image_files(catalog),
        exact_duplicates=exact_duplicate_groups(readable),
        near_duplicates=near_duplicate_groups(readable),
        small=small,
        extreme_aspect=extreme,
        imbalance=imbalanced_classes(catalog.counts()),
        sizes={key: (f.width, f.height) for key, f in readable.items()},
        decode_warnings={key: f.warning for key, f in sorted(facts.items()) if f.warning},
    )


# ----------------------------------------------------------------------------- the checks
def imbalanced_classes(counts: dict[str, int], ratio: float = IMBALANCE_RATIO) -> dict[str, int] | None:
    """Classes with fewer than 1/ratio of the largest class's images, or None when none is."""
    if not counts:
        return None
    largest = max(counts.values())
    few = {name: n for name, n in counts.items() if n * ratio < largest}
    return few or None


def exact_duplicate_groups(facts: dict[int, ImageFacts]) -> list[list[int]]:
    """Groups of keys with the same SHA-1 (the same file bytes; for in-memory items, the same pixels), sorted."""
    by_hash: dict[str | None, list[int]] = {}
    for key in sorted(facts):
        by_hash.setdefault(facts[key].sha1, []).append(key)
    return sorted(group for group in by_hash.values() if len(group) > 1)


def near_duplicate_groups(facts: dict[int, ImageFacts], bits: int = NEAR_DUPLICATE_BITS,
                          colour: float = NEAR_DUPLICATE_COLOUR) -> list[list[int]]:
    """Groups of keys linked by near-duplicate pairs (hash within ``bits``, colour thumbnails within ``colour``)."""
    # pHash and colour thumbnail come together (perceptual_hash makes both), so no hashed image is left out.
    hashed = {k: (f.phash, f.layout) for k, f in facts.items() if f.phash is not None and f.layout is not None}
    keys = np.array(sorted(hashed), dtype=np.int64)
    if len(keys) < 2:
        return []
    hashes = np.array([hashed[k][0] for k in keys], dtype=np.uint64)
    layouts = np.array([np.frombuffer(hashed[k][1], dtype=np.uint8) for k in keys], dtype=np.int16)
    content_ids: dict[str | None, int] = {}
    content = np.array([content_ids.setdefault(facts[k].sha1, len(content_ids)) for k in keys], dtype=np.int64)

    def close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        near = (_popcount(hashes[a] ^ hashes[b]) <= bits) & (content[a] != content[b])  # same bytes: exact
        near[near] = np.abs(layouts[a[near]] - layouts[b[near]]).mean(axis=1) <= colour  # few pairs get here
        return near

    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    linked: set[int] = set()
    for a, b in _close_pairs(hashes, bits, close):
        parent[root(a)] = root(b)
        linked.update((a, b))
    groups: dict[int, list[int]] = {}
    for i in sorted(linked):
        groups.setdefault(root(i), []).append(int(keys[i]))
    return sorted(groups.values())


def _close_pairs(hashes: np.ndarray, bits: int, close) -> list[tuple[int, int]]:
    """Index pairs (i < j) for which ``close(i, j)`` holds, among those whose hashes share a chunk.

    The hash is cut into bits + 1 chunks; two hashes at most ``bits`` apart agree
    exactly on at least one chunk. Sorting by a chunk puts equal ones side by side,
    so the pairs at sorted offset 1, 2, ... are generated until no run is that long.
    """
    n = len(hashes)
    edges = np.linspace(0, 64, bits + 2).astype(int)
    found = []
    for low, high in zip(edges[:-1], edges[1:]):
        chunk = (hashes >> np.uint64(low)) & np.uint64((1 << int(high - low)) - 1)
        order = np.argsort(chunk, kind="stable")
        ordered = chunk[order]
        alive = np.arange(n - 1)  # sorted positions i whose run may still reach i + offset
        offset = 1
        while len(alive):
            alive = alive[alive + offset < n]
            alive = alive[ordered[alive + offset] == ordered[alive]]
            a, b = order[alive], order[alive + offset]
            keep = close(a, b) if len(a) else np.zeros(0, dtype=bool)
            if keep.any():
                found.append(np.minimum(a, b)[keep] * n + np.maximum(a, b)[keep])
            offset += 1
    if not found:
        return []
    codes = np.unique(np.concatenate(found))
    return list(zip((codes // n).tolist(), (codes % n).tolist()))


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(values)
    as_bytes = values.astype(np.uint64).view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1)


# ----------------------------------------------------------------------------- facts
def gather_facts(catalog: Catalog, *, workers: int | None = None, progress: Progress | None = None
                 ) -> dict[int, ImageFacts]:
    """Item key -> ImageFacts; files are read in threads, unchanged ones come from the cache."""
    total = len(catalog.items)
    file_items = [(item, os.fspath(item.path)) for item in catalog.items if item.path is not None]
    cache_path = _cache_path(catalog) if file_items else None
    cached = _load_cache(cache_path)
    known: dict[str, tuple[int, int, ImageFacts | None]] = {}  # None: not read yet
    facts: dict[int, ImageFacts] = {}
    to_read: dict[str, list[CatalogItem]] = {}
    for item, path in file_items:
        try:
            stat = os.stat(path)
        except OSError as exc:
            facts[item.key] = ImageFacts(error=f"the file cannot be opened ({exc.strerror or exc})")
            continue
        entry = cached.get(path)
        if entry is not None and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            known[path] = entry
            facts[item.key] = entry[2]
        else:
            to_read.setdefault(path, []).append(item)
            known[path] = (stat.st_size, stat.st_mtime_ns, None)
    done = len(facts)
    _report(progress, done, total)
    if to_read:
        paths = list(to_read)
        chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
        with collect_decode_warnings() as caught, \
                ThreadPoolExecutor(max(1, workers or os.cpu_count() or 1), thread_name_prefix="jdl-health") as pool:
            def read(chunk: list[str]) -> list[ImageFacts]:
                return [_read_noting_warnings(p, caught) for p in chunk]

            for chunk, results in zip(chunks, pool.map(read, chunks)):
                for path, result in zip(chunk, results):
                    size, mtime, _ = known[path]
                    known[path] = (size, mtime, result)
                    for item in to_read[path]:
                        facts[item.key] = result
                        done += 1
                _report(progress, done, total)
        _save_cache(cache_path, known)
    for item in catalog.items:  # in-memory dataset items: read through the dataset, in this thread
        if item.path is None:
            facts[item.key] = image_facts_of_item(catalog, item)
            done += 1
            if done % CHUNK == 0:
                _report(progress, done, total)
    _report(progress, total, total)
    return facts


def _read_noting_warnings(path: str, caught: DecodeWarnings) -> ImageFacts:
    with caught.file(path):
        facts = file_facts(path)
    facts.warning = caught.text_of(path)
    return facts


def file_facts(path: str | os.PathLike) -> ImageFacts:
    """Read one file: SHA-1 of its bytes, then decode (reduced-scale for JPEG) for size and hash."""
    from PIL import Image

    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        return ImageFacts(error=f"the file cannot be read ({exc.strerror or exc})")
    sha1 = hashlib.sha1(data).hexdigest()
    if not data:
        return ImageFacts(sha1=sha1, error="empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if image.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):  # stored sideways: shown turned
                width, height = height, width
            if image.format == "JPEG":
                image.draft("RGB", (HASH_INPUT, HASH_INPUT))
            image.load()
            phash, layout = perceptual_hash(image)
    except Image.UnidentifiedImageError:
        return ImageFacts(sha1=sha1, error="not a recognised image format")
    except Image.DecompressionBombError:
        return ImageFacts(sha1=sha1, error="the image is too large to decode safely")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        return ImageFacts(sha1=sha1, error=f"damaged image data ({exc})")
    return ImageFacts(sha1=sha1, phash=phash, layout=layout, width=width, height=height)


def image_facts_of_item(catalog: Catalog, item: CatalogItem) -> ImageFacts:
    """Facts of an in-memory dataset item (hashing its RGB pixels)."""
    try:
        image = catalog.open_image(item)
    except Exception as exc:  # a user's __getitem__ may raise anything; report it as unreadable
        return ImageFacts(error=str(getattr(exc, "reason", None) or exc).splitlines()[0][:200])
    width, height = image.size
    sha1 = hashlib.sha1(f"{width}x{height}".encode() + image.tobytes()).hexdigest()
    phash, layout = perceptual_hash(image)
    return ImageFacts(sha1=sha1, phash=phash, layout=layout, width=width, height=height)


def perceptual_hash(image) -> tuple[int, bytes]:
    """(64-bit pHash, 4 x 4 RGB thumbnail as 48 bytes) of a PIL image."""
    from PIL import Image

    rgb = flatten_to_rgb(image).resize((HASH_INPUT, HASH_INPUT), Image.Resampling.BOX)
    grey = np.asarray(rgb, dtype=np.float64) @ np.array([0.299, 0.587, 0.114])
    # Rounded, so coefficients that are zero but for float noise (flat areas) compare as zero, not at random.
    lowest = np.round((_DCT @ grey @ _DCT.T)[:HASH_SIZE, :HASH_SIZE].ravel(), 6)
    bits = lowest > np.median(lowest)
    value = int(np.packbits(bits).view(">u8")[0])
    layout = rgb.resize((LAYOUT_SIZE, LAYOUT_SIZE), Image.Resampling.BOX).tobytes()
    return value, layout


def _dct_matrix(n: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: D @ x is the DCT of x (rows: frequencies)."""
    k = np.arange(n)
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(HASH_INPUT)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# ----------------------------------------------------------------------------- the cache file
def _cache_path(catalog: Catalog) -> Path | None:
    anchor = catalog.csv_path or catalog.root
    if anchor is None:
        return None
    try:
        folder = cache_dir("health")
    except OSError:
        return None
    digest = hashlib.sha1(os.fspath(Path(anchor).absolute()).encode("utf-8", "surrogatepass")).hexdigest()[:20]
    return folder / f"{digest}.json"


def _load_cache(path: Path | None) -> dict[str, tuple[int, int, ImageFacts]]:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            stored = json.load(file)
        if stored.get("version") != CACHE_VERSION:
            return {}
        return {name: (int(row[0]), int(row[1]), ImageFacts.from_json(row[2])) for name, row in stored["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return {}  # missing or damaged: read the files again


def _save_cache(path: Path | None, known: dict[str, tuple[int, int, ImageFacts | None]]) -> None:
    """Write the facts of this catalog's files (and only those: deleted files drop out), atomically."""
    if path is None:
        return
    rows = {name: [size, mtime, facts.to_json()] for name, (size, mtime, facts) in known.items() if facts is not None}
    data = json.dumps({"version": CACHE_VERSION, "written": time.time(), "files": rows}, separators=(",", ":"))
    with contextlib.suppress(OSError):  # no writable cache: the next check reads the files again
        write_atomic(path, lambda file: file.write(data.encode("utf-8")))
