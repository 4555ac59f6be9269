"""A cache entry's pixels on disk: written row by row while they are decoded, read back row by row for
batches, so that neither building the cache nor training on it holds a data set larger than memory in RAM.

:class:`PixelFile` writes a ``.npy`` under a temporary name in the cache folder (a hidden ``.tmp`` name,
which the cache's pruning removes if a crash leaves it behind) with ``pwrite``: the rows go to the OS page
cache, never into this process's memory, and a row is on its way to disk as soon as it is decoded.
:meth:`PixelFile.commit` renames it into place, complete, and maps it copy-on-write for the callers that
want a tensor (:func:`open_pixels`).

:class:`PixelRows` reads rows of such a file with ``preadv`` straight into a batch's buffer (pinned when it
goes to a GPU). Why not index the mapping: every row it touches stays resident in this process, so over an
epoch the process's RSS (what a "memory" column and the OOM killer count) grows towards the whole file,
even though those pages are reclaimable page cache. Measured on 2 CPU cores with a 1 GB cache at 192 px
(batches of 64 in random order, the file in the page cache): ``preadv`` gathered about 80,000 images/s
with RSS flat, indexing the mapping about 50,000 images/s once resident (4,000/s while faulting it in)
with RSS growing by the whole file, and indexing it then dropping the pages (MADV_DONTNEED) 2,000/s.
So file-backed caches, small or large, are always read this way. Any number of processes (DDP ranks) can
read one file at once: each has its own descriptor, the page cache is shared.

:func:`rows_on_disk` finds the file behind a tensor :func:`open_pixels` returned (or a block of its rows).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

COPY_ROWS = 256   # rows copied at a time when unreadable images are left out (bounded memory)
CAN_READ_ROWS = hasattr(os, "preadv")   # Linux, the BSDs, macOS 11+; elsewhere batches index the mapping
READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class PixelFile:
    """uint8 rows of ``shape`` (N x 3 x S x S) in a temporary ``.npy`` beside ``final``; see the module docstring."""

    def __init__(self, final: Path, shape: tuple[int, ...]) -> None:
        self.final = final
        self.shape = shape
        self.temp, self.fd, self.offset = self._new_file(shape)

    @property
    def row_bytes(self) -> int:
        """Bytes per row (3 x S x S)."""
        return int(np.prod(self.shape[1:], dtype=np.int64))

    def write_row(self, index: int, row: torch.Tensor | np.ndarray) -> None:
        """Put one row (3 x S x S uint8) at ``index``."""
        data = np.ascontiguousarray(row.numpy() if isinstance(row, torch.Tensor) else row, dtype=np.uint8)
        _write_all(self.fd, data.data.cast("B"), self.offset + index * self.row_bytes)

    def keep_rows(self, keep: list[int]) -> None:
        """Leave only the rows ``keep`` (in that order), copied in blocks into a new file (failures are rare)."""
        old_temp, old_fd, old_offset = self.temp, self.fd, self.offset
        old = PixelRows(old_fd, old_offset, self.shape)
        self.shape = (len(keep), *self.shape[1:])
        try:
            self.temp, self.fd, self.offset = self._new_file(self.shape)
            block = torch.empty((COPY_ROWS, *self.shape[1:]), dtype=torch.uint8)
            for start in range(0, len(keep), COPY_ROWS):
                rows = keep[start:start + COPY_ROWS]
                old.read_rows(rows, block[:len(rows)])
                _write_all(self.fd, block[:len(rows)].numpy().data.cast("B"),
                           self.offset + start * self.row_bytes)
        finally:
            os.close(old_fd)
            _remove(old_temp)

    def commit(self) -> torch.Tensor:
        """Rename into place (the entry is complete or absent) and return it mapped copy-on-write."""
        os.close(self.fd)
        self.fd = -1
        os.replace(self.temp, self.final)
        return open_pixels(self.final)

    def salvage(self) -> torch.Tensor:
        """The rows when they could not be renamed into place: mapped, then the file removed (its data lives
        on while it is mapped), so training goes on and nothing half-kept is left to read later."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        try:
            return open_pixels(self.temp)
        finally:
            _remove(self.temp)

    def discard(self) -> None:
        """Take the unfinished file away (a failed build leaves nothing behind)."""
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        _remove(self.temp)

    def _new_file(self, shape: tuple[int, ...]) -> tuple[Path, int, int]:
        """A new temp ``.npy`` of ``shape`` (its header written, its disk space reserved): (path, fd, data offset).

        Reserving the space first makes a full disk fail here, as one OSError the cache turns into "decoded in
        RAM, not kept", rather than part-way through the rows."""
        handle, temp = tempfile.mkstemp(dir=self.final.parent, prefix=f".{self.final.name}.", suffix=".tmp")
        try:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
                      "shape": tuple(shape)}
            with open(handle, "wb", closefd=False) as file:
                np.lib.format.write_array_header_1_0(file, header)
                offset = file.tell()
            size = offset + int(np.prod(shape, dtype=np.int64))
            os.ftruncate(handle, size)
            if hasattr(os, "posix_fallocate") and size > offset:
                os.posix_fallocate(handle, 0, size)
        except BaseException:
            os.close(handle)
            _remove(Path(temp))
            raise
        return Path(temp), handle, offset


class PixelRows:
    """Reads rows of an N x ... uint8 ``.npy`` (its descriptor ``fd``, data at ``offset``) into given buffers."""

    def __init__(self, fd: int, offset: int, shape: tuple[int, ...]) -> None:
        self.fd = fd
        self.offset = offset
        self.shape = tuple(shape)
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64))

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path) -> Iterator[PixelRows]:
        """A reader of the ``.npy`` at ``path`` (uint8, C order; else ValueError), closed when the block ends."""
        fd = os.open(path, READ_FLAGS)
        try:
            with open(fd, "rb", closefd=False) as file:
                version = np.lib.format.read_magic(file)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran_order, dtype = read_header(file)
                offset = file.tell()
            if dtype != np.uint8 or fortran_order or not shape:
                raise ValueError(f"{path} holds no uint8 rows")
            yield cls(fd, offset, tuple(shape))
        finally:
            os.close(fd)

    def read_rows(self, index: list[int] | torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` (in that order) into ``out`` (contiguous uint8 CPU, len(index) rows); returns ``out``."""
        rows = index.tolist() if isinstance(index, torch.Tensor) else list(index)
        view = out.numpy().data.cast("B")
        k = 0
        while k < len(rows):  # one read per run of consecutive rows
            run = 1
            while k + run < len(rows) and rows[k + run] == rows[k] + run:
                run += 1
            self._read(rows[k], view[k * self.row_bytes:(k + run) * self.row_bytes])
            k += run
        return out

    def read_range(self, start: int, stop: int, out: torch.Tensor) -> torch.Tensor:
        """Rows ``start:stop`` into ``out`` (one read); returns ``out``."""
        self._read(start, out.numpy().data.cast("B")[:(stop - start) * self.row_bytes])
        return out

    def _read(self, row: int, buffer: memoryview) -> None:
        if row < 0 or row * self.row_bytes + len(buffer) > self.shape[0] * self.row_bytes:
            raise IndexError(f"rows from {row} are outside the {self.shape[0]} rows of the cache file")
        position, done = self.offset + row * self.row_bytes, 0
        while done < len(buffer):  # reads may return less than asked (large ones do on Linux)
            got = _read_into(self.fd, buffer[done:], position + done)
            if got <= 0:
                raise OSError(f"the cache file ended early (at byte {position + done})")
            done += got


# ----------------------------------------------------------------------------- files behind tensors
class _Mapped:
    """A committed cache file: where its mapping starts, and a descriptor to read its rows with."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...], address: int) -> None:
        self.fd = os.open(path, READ_FLAGS)
        self.rows = PixelRows(self.fd, offset, shape)
        self.address = address

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


_MAPPED: dict[int, _Mapped] = {}   # mapping address -> its file; an entry lives as long as the array does
_LOCK = threading.Lock()


def open_pixels(path: Path) -> torch.Tensor:
    """The rows of a committed ``.npy`` as a tensor (mapped copy-on-write: opening is instant, pages load on
    first use, and the array is writable, as torch wants); :func:`rows_on_disk` finds the file again."""
    array = np.load(path, mmap_mode="c")
    if not isinstance(array, np.memmap) or array.dtype != np.uint8 or array.ndim < 1:
        raise ValueError(f"{path} holds no uint8 rows")
    if CAN_READ_ROWS and array.size:
        address = array.ctypes.data
        mapped = _Mapped(path, int(array.offset), tuple(array.shape), address)
        with _LOCK:
            _MAPPED[address] = mapped
        weakref.finalize(array, _forget, address, mapped)   # before the mapping goes, so no address is reused
    return torch.from_numpy(array)


def _forget(address: int, mapped: _Mapped) -> None:
    with _LOCK:
        if _MAPPED.get(address) is mapped:
            del _MAPPED[address]
    mapped.close()


def rows_on_disk(pixels: torch.Tensor) -> tuple[PixelRows, int] | None:
    """(reader, first row) when ``pixels`` are whole, contiguous rows of a file :func:`open_pixels` mapped
    (the tensor itself or a block of its rows), else None. The reader lives as long as that mapping."""
    if pixels.device.type != "cpu" or pixels.dtype != torch.uint8 or pixels.dim() < 1 or not pixels.is_contiguous():
        return None
    address = pixels.untyped_storage().data_ptr()
    with _LOCK:
        mapped = _MAPPED.get(address)
    if mapped is None:
        return None
    rows = mapped.rows
    skip = pixels.data_ptr() - address
    first, within = divmod(skip, rows.row_bytes) if rows.row_bytes else (0, 0)
    if tuple(pixels.shape[1:]) != rows.shape[1:] or within or first + pixels.shape[0] > rows.shape[0]:
        return None
    return rows, first


def _write_all(fd: int, data: memoryview, position: int) -> None:
    done = 0
    while done < len(data):
        if hasattr(os, "pwrite"):
            done += os.pwrite(fd, data[done:], position + done)
        else:  # Windows: one thread writes a file, so seek + write is safe
            os.lseek(fd, position + done, os.SEEK_SET)
            done += os.write(fd, data[done:])


def _read_into(fd: int, buffer: memoryview, position: int) -> int:
    if CAN_READ_ROWS:
        return os.preadv(fd, [buffer], position)
    os.lseek(fd, position, os.SEEK_SET)  # Windows: only building reads this way (one thread)
    data = os.read(fd, len(buffer))
    buffer[:len(data)] = data
    return len(data)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
