"""The three kinds of resolved data source (see :func:`jupyter_dl.data.sources.resolve_data`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ImageItems:
    """Labelled image files, already split into train and valid."""

    train: list[tuple[Path, int]]  # (absolute path, class index)
    valid: list[tuple[Path, int]]
    classes: list[str]  # sorted class names
    description: str  # e.g. "folder data/pets: 1797 images, 10 classes"
    # From a CSV / DataFrame: each train and valid item's row (the table's index label), for %browse.
    rows: tuple[list, list] | None = field(default=None, repr=False, compare=False)


@dataclass
class DatasetSource:
    """A user's torch Dataset, split; items are (image tensor / PIL image / path, class index)."""

    # Each a torch_dataset.RelabelledDataset (the user's items, labels mapped to class indices). Not named here:
    # torch_dataset imports this module, and the layout allows no import cycle, not even a type-checking one.
    train: Any
    valid: Any
    classes: list[str]
    description: str


@dataclass
class FastaiSource:
    """A fastai DataLoaders, used as it is (its own transforms, split and batch size)."""

    dls: Any  # fastai.data.core.DataLoaders (fastai ships no type information)
    classes: list[str]
    description: str
