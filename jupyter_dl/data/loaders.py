"""Batches for training: every source kind -> (x float32 NCHW on the device, y int64 on the device).

Image files take the fast path: decoded once into a uint8 tensor (see cache.py),
then each batch is one gather of its rows (by a seeded permutation: read from the
cache file, see pixel_file.py, or an index_select of a tensor in memory), one
copy to the device and the vectorised BatchTransform. There is no per-item
Python work per batch. On a GPU with room to spare the whole uint8 cache is
moved to the device once, so batches never cross the bus at all.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..checks import check_count
from ..errors import UserInputError
from .cache import build_image_cache
from .images import load_square
from .pixel_file import rows_on_disk
from .source_types import DatasetSource, FastaiSource, ImageItems
from .transforms import BatchTransform

if TYPE_CHECKING:
    from .torch_dataset import RelabelledDataset

# Share of the free GPU memory the uint8 cache may take to live on the GPU.
DEVICE_CACHE_FRACTION = 0.25
UPLOAD_ROWS = 256  # rows per copy when a cache file is moved to the GPU


@dataclass
class Loaders:
    """Training and validation batches of one data set, with its classes and the files skipped as unreadable."""

    train: Iterable[tuple[Tensor, Tensor]]  # shuffled, augmented, drop_last when n_train > bs; has len()
    valid: Iterable[tuple[Tensor, Tensor]]  # fixed order, no augmentation, every item
    classes: list[str]
    n_train: int
    n_valid: int
    skipped: list[tuple[Path, str]]  # unreadable files with the reason
    description: str
    # (file, "UserWarning: ...") for each warning the decoder gave (collected, never printed; see decode_warnings.py)
    decode_warnings: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def batch_size(self) -> int | None:
        """The training batch size (None for loaders that do not say, e.g. some fastai ones)."""
        return getattr(self.train, "batch_size", None)

    def set_batch_size(self, bs: int) -> None:
        """Batches of ``bs`` for training and validation from the next epoch on (``--auto-bs``)."""
        check_count("bs", bs)
        for loader in (self.train, self.valid):
            resize = getattr(loader, "set_batch_size", None)
            if resize is None:
                raise UserInputError(f"These {type(loader).__name__} batches cannot change their batch size: "
                                     "rebuild them with a smaller batch size.")
            resize(bs)


def _drop_last(shuffle: bool, n: int, bs: int) -> bool:
    """Training (shuffled) drops the last partial batch when there is more than one batch; validation never."""
    return shuffle and n > bs


def make_loaders(source: Any, *, size: int = 224, bs: int = 64, workers: int = 0, device: str | torch.device = "cpu",
                 mean: tuple[float, float, float] = (0.485, 0.456, 0.406),
                 std: tuple[float, float, float] = (0.229, 0.224, 0.225), augment: str = "light", seed: int = 42,
                 channels_last: bool = False, progress: Callable[[int, int], None] | None = None) -> Loaders:
    """Loaders for a resolved source (anything else goes through resolve_data first).

    ``workers``: decode threads for image files, DataLoader workers for a torch
    Dataset. ``progress(done, total)`` reports first-time decoding (one count over both splits). A fastai
    DataLoaders keeps its own size, batch size and augmentation.
    """
    if not isinstance(source, (ImageItems, DatasetSource, FastaiSource)):
        from .sources import resolve_data

        source = resolve_data(source, seed=seed)
    check_count("size", size)
    check_count("bs", bs)
    check_count("workers", workers, minimum=0)
    device = _device(device)
    common: dict[str, Any] = dict(device=device, mean=mean, std=std, seed=seed, channels_last=channels_last)
    train_tf = BatchTransform(augment=augment, **common)
    valid_tf = BatchTransform(augment="none", **common)
    if isinstance(source, ImageItems):
        return _image_loaders(source, size, bs, workers, train_tf, valid_tf, seed, progress)
    if isinstance(source, DatasetSource):
        return _dataset_loaders(source, size, bs, workers, train_tf, valid_tf, seed)
    return _fastai_loaders(source, valid_tf)


# ----------------------------------------------------------------------------- image files
class CachedImageLoader:
    """Batches straight from a uint8 N x 3 x S x S tensor; iterable once per epoch, any number of times."""

    def __init__(self, pixels: Tensor, labels: Tensor, *, bs: int, transform: BatchTransform, shuffle: bool,
                 drop_last: bool, seed: int = 42) -> None:
        self.transform = transform
        self.device = transform.device
        self.pixels = _place_on_device(pixels, self.device)
        self.labels = labels.to(self.device)
        self.bs = bs
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.n = int(pixels.shape[0])
        self.generator = torch.Generator().manual_seed(seed)  # CPU: permutations index the host cache
        self._pin = self.device.type == "cuda" and self.pixels.device.type == "cpu"
        # A cache file's rows are read from the file per batch, never through its mapping (pixel_file.py).
        self._disk = rows_on_disk(self.pixels)
        self.rank, self.world = 0, 1  # one process of a multi-process job reads only its share (see shard)

    def shard(self, rank: int, world: int) -> None:
        """Read only the share of process ``rank`` of ``world``, as DistributedSampler does.

        Training: every process draws the same seeded permutation each epoch and takes every
        ``world``-th item of it from ``rank`` on, all shares equal (the remainder left out that epoch);
        so every process has the same number of batches. Validation (fixed order): items ``rank``,
        ``rank + world``, ... so that the shares together are the whole set, each item once.
        """
        self.rank, self.world = rank, world
        self.drop_last = _drop_last(self.shuffle, self._count(), self.bs)

    def _count(self) -> int:
        """Items this process reads per epoch."""
        if self.world == 1:
            return self.n
        if self.shuffle:
            return self.n // self.world
        return len(range(self.rank, self.n, self.world))

    def __len__(self) -> int:
        n = self._count()
        return n // self.bs if self.drop_last else math.ceil(n / self.bs)

    @property
    def batch_size(self) -> int:
        """Images per batch (the last of an epoch may have fewer, unless drop_last)."""
        return self.bs

    def set_batch_size(self, bs: int) -> None:
        """Batches of ``bs`` from the next epoch on; whether to drop the last partial batch is decided again."""
        self.bs = bs
        self.drop_last = _drop_last(self.shuffle, self._count(), bs)

    @property
    def n_items(self) -> int:
        """Images per epoch (the Trainer reports it in its fit_start event)."""
        return self.n

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else None
        if self.world > 1:
            n = self._count()
            order = order[self.rank: n * self.world: self.world] if order is not None else torch.arange(
                self.rank, self.n, self.world)
        if order is not None:
            order_on_device = order.to(self.device)  # one upload per epoch, sliced per batch for labels
            order_for_pixels = order_on_device if self.pixels.device == order_on_device.device else order
        for batch in range(len(self)):
            start, stop = batch * self.bs, min(self._count(), (batch + 1) * self.bs)
            if order is None:
                pixels, labels = self._slice(start, stop), self.labels[start:stop]
            else:
                pixels = self._gather(order_for_pixels[start:stop])
                labels = self.labels[order_on_device[start:stop]]
            yield self.transform(pixels), labels

    def _gather(self, index: Tensor) -> Tensor:
        if self._disk is not None:
            reader, first = self._disk
            return reader.read_rows((index + first).tolist(), self._buffer(len(index)))
        if not self._pin:
            return self.pixels.index_select(0, index)
        # Gather straight into page-locked memory so the copy to the GPU is asynchronous;
        # the caching host allocator does not reuse the buffer before that copy is done.
        return torch.index_select(self.pixels, 0, index, out=self._buffer(len(index)))

    def _slice(self, start: int, stop: int) -> Tensor:
        if self._disk is not None:
            reader, first = self._disk
            return reader.read_range(first + start, first + stop, self._buffer(stop - start))
        block = self.pixels[start:stop]
        if not self._pin:
            return block
        return self._buffer(stop - start).copy_(block)

    def _buffer(self, rows: int) -> Tensor:
        """A new host buffer for a batch (page-locked when it goes to a GPU; a new one per batch, since the
        previous batch may still be in use or on its way to the device)."""
        return torch.empty((rows, *self.pixels.shape[1:]), dtype=torch.uint8, pin_memory=self._pin)


def _image_loaders(items: ImageItems, size: int, bs: int, workers: int, train_tf: BatchTransform,
                   valid_tf: BatchTransform, seed: int, progress: Callable | None) -> Loaders:
    n_total = len(items.train) + len(items.valid)
    warned: list[tuple[Path, str]] = []

    def counted_from(offset: int) -> Callable[[int, int], None] | None:  # one count over both splits
        return None if progress is None else (lambda done, _total: progress(offset + done, n_total))

    train_px, train_y, train_skipped = build_image_cache(items.train, size, workers, progress=counted_from(0),
                                                         decode_warnings=warned)
    valid_px, valid_y, valid_skipped = build_image_cache(items.valid, size, workers,
                                                         progress=counted_from(len(items.train)),
                                                         decode_warnings=warned)
    skipped = train_skipped + valid_skipped
    if len(train_y) + len(valid_y) == 0:
        path, reason = skipped[0] if skipped else ("-", "no files")
        raise UserInputError(f"None of the {n_total} images could be read (first: {path}: {reason}): check the files.")
    counts = torch.bincount(train_y, minlength=len(items.classes))
    if (counts == 0).any():
        name = items.classes[int((counts == 0).nonzero()[0])]
        raise UserInputError(
            f"Class {name!r} has no readable training images: add readable images of that class or remove it.")
    train = CachedImageLoader(train_px, train_y, bs=bs, transform=train_tf, shuffle=True,
                              drop_last=_drop_last(True, len(train_y), bs), seed=seed)
    valid = CachedImageLoader(valid_px, valid_y, bs=bs, transform=valid_tf, shuffle=False, drop_last=False, seed=seed)
    return Loaders(train=train, valid=valid, classes=list(items.classes), n_train=len(train_y), n_valid=len(valid_y),
                   skipped=skipped, description=_with_skipped(items.description, skipped), decode_warnings=warned)


def _place_on_device(pixels: Tensor, device: torch.device) -> Tensor:
    """Move the uint8 cache to a GPU that has plenty of room, else keep it in host memory."""
    if device.type != "cuda" or pixels.numel() == 0:
        return pixels
    free, _total = torch.cuda.mem_get_info(device)
    if pixels.numel() * pixels.element_size() > DEVICE_CACHE_FRACTION * free:
        return pixels
    on_disk = rows_on_disk(pixels)
    if on_disk is None:
        return pixels.to(device)
    # From a cache file, a block at a time through one pinned buffer: never the whole file in this process.
    reader, first = on_disk
    placed = torch.empty(pixels.shape, dtype=torch.uint8, device=device)
    block = torch.empty((min(UPLOAD_ROWS, len(pixels)), *pixels.shape[1:]), dtype=torch.uint8, pin_memory=True)
    for start in range(0, len(pixels), UPLOAD_ROWS):
        stop = min(len(pixels), start + UPLOAD_ROWS)
        reader.read_range(first + start, first + stop, block)
        placed[start:stop].copy_(block[:stop - start])  # synchronous: the buffer is refilled next
    return placed


def _with_skipped(description: str, skipped: list) -> str:
    if not skipped:
        return description
    return f"{description}; {len(skipped)} unreadable file{'s' if len(skipped) != 1 else ''} skipped"


# ----------------------------------------------------------------------------- torch Dataset
class SquareImages(Dataset):
    """A dataset of (image, label) -> (uint8 3 x size x size, label), via the shared load_square."""

    def __init__(self, dataset: RelabelledDataset, size: int) -> None:
        self.dataset = dataset
        self.size = size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image, label = self.dataset[index][:2]
        return load_square(image, self.size), int(label)


class TransformedLoader:
    """A DataLoader of uint8 batches, each put through a BatchTransform; iterable many times.

    ``make_loader(bs)`` builds the DataLoader for a batch size (a DataLoader's is fixed once built).
    """

    def __init__(self, make_loader: Callable[[int], DataLoader], bs: int, transform: BatchTransform) -> None:
        self.make_loader = make_loader
        self.loader = make_loader(bs)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def batch_size(self) -> int | None:
        """Images per batch of the current DataLoader."""
        return self.loader.batch_size

    def set_batch_size(self, bs: int) -> None:
        """Batches of ``bs`` from the next epoch on, from a new DataLoader built by ``make_loader``."""
        self.loader = self.make_loader(bs)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for pixels, labels in self.loader:
            yield self.transform(pixels), labels.to(self.transform.device, non_blocking=True)


def _dataset_loaders(source: DatasetSource, size: int, bs: int, workers: int, train_tf: BatchTransform,
                     valid_tf: BatchTransform, seed: int) -> Loaders:
    n_train, n_valid = len(source.train), len(source.valid)
    if n_train == 0:
        raise UserInputError("The training dataset is empty: it needs (image, label) items.")
    # Read one item now, so a dataset of the wrong shape fails here with a clear message, not in a worker.
    load_square(source.train[0][0], size)

    def loader(dataset: RelabelledDataset, transform: BatchTransform, shuffle: bool) -> TransformedLoader:
        def make_loader(batch_size: int) -> DataLoader:
            return DataLoader(
                SquareImages(dataset, size), batch_size=batch_size, shuffle=shuffle,
                drop_last=_drop_last(shuffle, len(dataset), batch_size), num_workers=workers,
                pin_memory=transform.device.type == "cuda", persistent_workers=workers > 0,
                generator=torch.Generator().manual_seed(seed))

        return TransformedLoader(make_loader, bs, transform)

    return Loaders(train=loader(source.train, train_tf, True),
                   valid=loader(source.valid, valid_tf, False),
                   classes=list(source.classes), n_train=n_train, n_valid=n_valid, skipped=[],
                   description=source.description)


# ----------------------------------------------------------------------------- fastai
class FastaiLoader:
    """Iterates a fastai DataLoader; batches become plain tensors on the device, normalised if fastai did not."""

    def __init__(self, dl: Any, transform: BatchTransform, normalize: bool) -> None:
        self.dl = dl
        self.transform = transform
        self.normalize = normalize

    def __len__(self) -> int:
        return len(self.dl)

    @property
    def batch_size(self) -> int | None:
        """The fastai DataLoader's ``bs``; None when it has none."""
        return getattr(self.dl, "bs", None)

    def set_batch_size(self, bs: int) -> None:
        """Batches of ``bs`` from the next epoch on: the same fastai DataLoader, remade with ``new(bs=bs)``."""
        self.dl = self.dl.new(bs=bs)  # fastai's way: the same DataLoader with other settings

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        device = self.transform.device
        for batch in self.dl:
            x, y = _plain(batch[0]), _plain(batch[1])
            if x.dtype == torch.uint8:
                x = self.transform(x)
            elif self.normalize:
                x = self.transform.normalize_float(x)
            else:
                x = self.transform.layout(x.to(device, non_blocking=True).float())
            yield x, y.to(device, non_blocking=True).long()


def _fastai_loaders(source: FastaiSource, transform: BatchTransform) -> Loaders:
    dls = source.dls
    loaders = [FastaiLoader(dl, transform, normalize=not _has_normalize(dl)) for dl in (dls.train, dls.valid)]
    return Loaders(train=loaders[0], valid=loaders[1], classes=list(source.classes),
                   n_train=len(dls.train_ds), n_valid=len(dls.valid_ds), skipped=[], description=source.description)


def _has_normalize(dl: Any) -> bool:
    steps = getattr(getattr(dl, "after_batch", None), "fs", None) or []
    return any(type(step).__name__ == "Normalize" for step in steps)


def _plain(t: Any) -> Tensor:
    # fastai's TensorImage/TensorCategory subclasses add overhead to every op; models want plain tensors.
    return t.as_subclass(Tensor) if isinstance(t, Tensor) else torch.as_tensor(t)


# ----------------------------------------------------------------------------- checks
def _device(device: str | torch.device) -> torch.device:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserInputError(f"device={device!r} is not a device name: use 'cpu', 'cuda', 'cuda:1' or 'mps'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"device={str(device)!r} was asked for but no CUDA GPU is available: use device='cpu'.")
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UserInputError("device='mps' was asked for but Apple's MPS backend is not available: use device='cpu'.")
    return device
