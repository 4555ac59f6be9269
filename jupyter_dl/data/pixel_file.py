"""A cache entry's pixels written straight to disk while they are decoded, so that building the cache of a
data set larger than memory never holds the whole set in RAM.

:class:`PixelFile` is a ``.npy`` file memory-mapped for writing under a temporary name in the cache
folder (a hidden ``.tmp`` name, which the cache's pruning removes if a crash leaves it behind).
:meth:`PixelFile.commit` renames it into place, complete, and maps it again read-only (copy on write):
the pages stay in the OS page cache rather than in this process, and training reads them from there.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

COPY_ROWS = 1024   # rows copied at a time when unreadable images are left out (bounded memory)


class PixelFile:
    """uint8 rows of ``shape`` (N x 3 x S x S) in a temporary ``.npy`` beside ``final``; see the module docstring."""

    def __init__(self, final: Path, shape: tuple[int, ...]) -> None:
        self.final = final
        self.temp = self._new_temp()
        try:
            self.array = _mapped(self.temp, shape)
        except BaseException:
            _remove(self.temp)
            raise

    def keep_rows(self, keep: list[int]) -> None:
        """Leave only the rows ``keep`` (in that order), copied in blocks into a new file (failures are rare)."""
        old_temp, old = self.temp, self.array
        self.temp = self._new_temp()
        self.array = _mapped(self.temp, (len(keep), *old.shape[1:]))
        for start in range(0, len(keep), COPY_ROWS):
            self.array[start:start + COPY_ROWS] = old[keep[start:start + COPY_ROWS]]
        del old
        _remove(old_temp)

    def commit(self) -> np.ndarray:
        """Flush, rename into place (the entry is complete or absent) and return it mapped copy-on-write."""
        self.array.flush()
        del self.array
        os.replace(self.temp, self.final)
        return np.load(self.final, mmap_mode="c")

    def discard(self) -> None:
        """Take the unfinished file away (a failed build leaves nothing behind)."""
        with contextlib.suppress(AttributeError):
            del self.array
        _remove(self.temp)

    def _new_temp(self) -> Path:
        handle, temp = tempfile.mkstemp(dir=self.final.parent, prefix=f".{self.final.name}.", suffix=".tmp")
        os.close(handle)
        return Path(temp)


def _mapped(path: Path, shape: tuple[int, ...]) -> np.memmap:
    """A new ``.npy`` of zeros at ``path``, mapped for writing, its disk space reserved first: writing into
    a mapping on a full disk kills the process (SIGBUS) instead of raising, so a full disk must fail here,
    as an OSError the cache turns into "decoded in RAM, not kept"."""
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    if hasattr(os, "posix_fallocate") and array.size:
        with open(path, "r+b") as file:
            os.posix_fallocate(file.fileno(), 0, os.path.getsize(path))
    return array


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
