"""A user's torch Dataset as a source: labels -> class indices, seeded train/valid split."""
from __future__ import annotations

from collections.abc import Sized
from typing import Any, cast

import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import UserInputError
from .files import sort_labels
from .source_types import DatasetSource

# How many items of a dataset without a .targets attribute we read just to find its labels.
MAX_LABEL_SCAN = 100_000


def as_torch_dataset(obj: Any) -> Dataset | None:
    """The Dataset behind ``obj`` (a Dataset, or a DataLoader's dataset), else None."""
    if isinstance(obj, DataLoader):
        obj = obj.dataset
    return obj if isinstance(obj, Dataset) else None


def dataset_source(train: Dataset, valid: Dataset | None, *, valid_pct: float, seed: int,
                   name: str | None = None) -> DatasetSource:
    """Wrap ``train`` (split with valid_pct, seeded) or the given (train, valid) pair.

    Classes come from ``train.classes`` when the labels are int indices, else they
    are the sorted unique labels as text (and labels are mapped to their index).
    """
    train_labels = dataset_labels(train)
    labels = train_labels + (dataset_labels(valid) if valid is not None else [])
    classes_attr = getattr(train, "classes", None)
    if classes_attr is not None and all(_is_int(label) for label in labels):
        classes = [str(c) for c in classes_attr]
        bad = sorted(label for label in set(labels) if isinstance(label, int) and not 0 <= label < len(classes))
        if bad:
            raise UserInputError(
                f"The dataset has label {bad[0]} but dataset.classes names only {len(classes)} classes: "
                "labels must be class indices 0..n_classes-1.")
        mapping = {label: label for label in set(labels)}
    else:
        ordered = sort_labels(labels)
        classes = [str(label) for label in ordered]
        mapping = {label: i for i, label in enumerate(ordered)}
    if len(classes) < 2:
        raise UserInputError(f"The dataset has only one class ({classes[0]!r}): "
                             "a classifier needs at least two classes.")
    if valid is None:
        n = len(train_labels)
        n_valid = min(round(n * valid_pct), n - 1)
        generator = torch.Generator().manual_seed(seed)
        train, valid = torch.utils.data.random_split(train, [n - n_valid, n_valid], generator=generator)
    kind = type(getattr(train, "dataset", train)).__name__
    shown = f"{name} ({kind})" if name else kind
    # dataset_labels took len() of both, so they are Sized (torch's Dataset type declares no __len__).
    n_train, n_valid = len(cast(Sized, train)), len(cast(Sized, valid))
    description = f"torch Dataset {shown}: {n_train} train, {n_valid} valid, {len(classes)} classes"
    return DatasetSource(train=RelabelledDataset(train, mapping), valid=RelabelledDataset(valid, mapping),
                         classes=classes, description=description)


def dataset_labels(dataset: Dataset) -> list[int | str]:
    """Every item's label, from .targets / .labels / TensorDataset tensors when present, else by reading items."""
    try:
        n = len(cast(Sized, dataset))  # torch's Dataset type declares no __len__; map-style ones have it
    except TypeError:
        raise UserInputError(f"The dataset {type(dataset).__name__} has no len(): "
                             "use a map-style torch Dataset.") from None
    if n < 1:
        raise UserInputError(f"The dataset {type(dataset).__name__} is empty: it needs (image, label) items.")
    for attr in ("targets", "labels"):  # torchvision ImageFolder / CIFAR / MNIST and friends
        values = getattr(dataset, attr, None)
        if values is not None and _length(values) == n:
            return [plain_label(v) for v in values]
    tensors = getattr(dataset, "tensors", None)  # TensorDataset
    if isinstance(tensors, tuple) and len(tensors) >= 2 and len(tensors[1]) == n:
        return [plain_label(v) for v in tensors[1]]
    if n > MAX_LABEL_SCAN:
        raise UserInputError(
            f"The dataset has {n} items and no .targets attribute: add dataset.targets (a list of labels) "
            "so the labels can be read without loading every image.")
    return [plain_label(_pair(dataset, i)[1]) for i in range(n)]


def plain_label(value: Any) -> int | str:
    """A label as a Python int or str (tensor scalars and whole floats become int)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UserInputError(
            f"A dataset label is a {type(value).__name__}: use one class index (int) or class name (str) per item.")
    return value


class RelabelledDataset(Dataset):
    """The user's items with labels mapped to class indices 0..n_classes-1."""

    def __init__(self, dataset: Dataset, mapping: dict) -> None:
        self.dataset = dataset
        self.mapping = mapping

    def __len__(self) -> int:
        return len(cast(Sized, self.dataset))  # dataset_source has checked that it has a len()

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = _pair(self.dataset, index)
        return image, self.mapping[plain_label(label)]


def _pair(dataset: Dataset, index: int) -> tuple[Any, Any]:
    item = dataset[index]
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise UserInputError(
            f"Item {index} of the dataset is a {type(item).__name__}, not an (image, label) pair: "
            "make __getitem__ return (image, label).")
    return item[0], item[1]


def _is_int(label: Any) -> bool:
    return isinstance(label, int) and not isinstance(label, bool)


def _length(values: Any) -> int:
    try:
        return len(values)
    except TypeError:
        return -1
