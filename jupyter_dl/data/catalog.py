"""What a data set holds, item by item, for browsing and cleaning: path, label, split, row.

:func:`build_catalog` takes the same DATA as ``%finetune`` and goes through the
same :func:`~jupyter_dl.data.sources.resolve_data`, so the classes, the labels
and the train/valid split are exactly the ones training uses. No UI here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserInputError
from .files import is_hidden
from .images import is_image_file, open_image
from .source_types import DatasetSource, FastaiSource, ImageItems
from .sources import resolve_data

if TYPE_CHECKING:
    import pandas
    import PIL.Image

SPLITS = ("train", "valid")

SAMPLE_READ_ONLY = ("the sample data set lives in jupyter_dl's cache and is shared by every notebook: "
                    "copy the folder and browse the copy to edit it")
LABEL_RE_READ_ONLY = "labels come from the file names (label_re): rename the files to relabel them"
IN_MEMORY_READ_ONLY = "a {what} has no files or table that jupyter_dl could change: edit it in your own code"


@dataclass(frozen=True)
class CatalogItem:
    """One image: its file and/or dataset index, label and split (frozen: an edit makes a new one, same key)."""

    key: int                  # position in Catalog.items (stable for this catalog)
    path: Path | None         # absolute file path; None for in-memory Dataset items
    label: str                # class name
    split: str                # "train" or "valid", as %finetune splits it
    row: Any = None           # CSV / DataFrame row: the table's index label (0.. for a CSV); None otherwise
    index: int | None = None  # torch Dataset / fastai items: position in that split's dataset (even with a path)


@dataclass
class Catalog:
    """Every item of a data set, with its label and split.

    Keys are given once (``items[k].key == k`` when built) and stay with their item: after a
    cleaning action removes items, positions shift but keys do not, so look items up by key
    (:meth:`item`), never by position.
    """

    kind: str                 # "folder", "csv", "dataframe", "dataset", "fastai", "sample"
    root: Path | None         # class folders' parent / the CSV's folder / cwd for a DataFrame; None in memory
    items: list[CatalogItem]
    classes: list[str]
    description: str
    csv_path: Path | None = None
    table: pandas.DataFrame | None = None  # kind == "dataframe": the user's own object
    label_col: str = "label"
    path_col: str = "path"
    label_re: str | None = None
    editable: bool = False
    read_only_reason: str | None = None  # why editable is False, as the end of a sentence
    # The resolved source (ImageItems / DatasetSource / FastaiSource) as %finetune would train on it.
    source: Any = field(default=None, repr=False)

    def item(self, key: int) -> CatalogItem:
        """The item with this key (its position may have moved after removals)."""
        if 0 <= key < len(self.items) and self.items[key].key == key:  # the common case: nothing removed
            return self.items[key]
        for item in self.items:
            if item.key == key:
                return item
        raise UserInputError(f"No item {key} in this data set (it may have been removed): browse it again.")

    def open_image(self, item: CatalogItem | int, *, draft_size: int | None = None) -> PIL.Image.Image:
        """The item's image as RGB PIL. Raises UnreadableImageError (a UserInputError) when it is no image.

        ``draft_size`` lets big JPEG files decode at a reduced scale (both sides stay >= draft_size).
        """
        item = self.item(item) if isinstance(item, int) else item
        if item.path is not None:
            return open_image(item.path, draft_size=draft_size)
        return open_image(self.dataset_image(item))

    def dataset_image(self, item: CatalogItem) -> Any:
        """What the torch / fastai dataset returns as the item's image (PIL, array, tensor or path)."""
        if item.index is None or self.source is None:
            raise UserInputError(f"Item {item.key} has neither a file nor a dataset index: rebuild the catalog.")
        if isinstance(self.source, FastaiSource):
            dataset = self.source.dls.train_ds if item.split == "train" else self.source.dls.valid_ds
        else:
            dataset = self.source.train if item.split == "train" else self.source.valid
        return dataset[item.index][0]

    def counts(self) -> dict[str, int]:
        """Images per class, in class order (classes with no images count 0)."""
        counts = dict.fromkeys(self.classes, 0)
        for item in self.items:
            counts[item.label] = counts.get(item.label, 0) + 1
        return counts

    def split_items(self, split: str) -> list[CatalogItem]:
        """The items of one split in the order %finetune's loaders use them."""
        return [item for item in self.items if item.split == split]


def build_catalog(target: Any, *, namespace: dict | None = None, label_col: str = "label", path_col: str = "path",
                  label_re: str | None = None, valid_pct: float = 0.2, seed: int = 42) -> Catalog:
    """A :class:`Catalog` of anything ``%finetune`` accepts as DATA (same options, same split).

    Items are ordered as training orders them: per split, by class and then path,
    train items first; ``Catalog.split_items("valid")`` is the validation order.
    Raises UserInputError (one sentence) for bad input, exactly as ``%finetune`` would.
    """
    source = resolve_data(target, label_col=label_col, path_col=path_col, label_re=label_re,
                          valid_pct=valid_pct, seed=seed, namespace=namespace)
    options = dict(label_col=label_col, path_col=path_col, label_re=label_re, valid_pct=valid_pct, seed=seed)
    if isinstance(source, ImageItems):
        return _file_catalog(target, source, namespace, options)
    if isinstance(source, DatasetSource):
        return _dataset_catalog(source)
    return _fastai_catalog(source)


# ----------------------------------------------------------------------------- files
def _file_catalog(target: Any, source: ImageItems, namespace: dict | None, options: dict) -> Catalog:
    """Folder, sample, CSV or DataFrame: which one decides root, rows and whether it may be edited."""
    kind, value = _file_kind(target, namespace)
    common = dict(classes=list(source.classes), description=source.description, source=source,
                  label_col=options["label_col"], path_col=options["path_col"])
    if kind in ("csv", "dataframe"):
        # resolve_data read the table once and kept each item's row (ImageItems.rows).
        items = _items_from_pairs(source, rows=source.rows)
        return Catalog(kind=kind, root=value.parent if kind == "csv" else Path.cwd(), items=items,
                       csv_path=value if kind == "csv" else None, table=value if kind == "dataframe" else None,
                       editable=True, **common)
    items = _items_from_pairs(source, rows=None)
    reason = SAMPLE_READ_ONLY if kind == "sample" else LABEL_RE_READ_ONLY if options["label_re"] else None
    return Catalog(kind=kind, root=value, items=items, label_re=options["label_re"],
                   editable=reason is None, read_only_reason=reason, **common)


def _file_kind(target: Any, namespace: dict | None) -> tuple[str, Any]:
    """("folder" | "sample" | "csv", absolute path) or ("dataframe", the DataFrame), following resolve_data's rules."""
    from .sample_data import sample
    from .sources import lookup_name

    if isinstance(target, (str, os.PathLike)):
        path = Path(os.path.expanduser(os.fspath(target)))
        if path.exists():
            return ("folder" if path.is_dir() else "csv"), path.absolute()
        if target == "sample":
            return "sample", sample()
        found, value = lookup_name(target, namespace) if isinstance(target, str) else (False, None)
        if not found:  # resolve_data accepted it, so this cannot happen; keep the message honest anyway
            raise UserInputError(f"{target!r} could not be found again: "
                                 "pass the folder, the .csv file or the DataFrame itself.")
        return _file_kind(value, None)  # a variable holding a path, "sample" or a DataFrame
    value = target
    if isinstance(value, ImageItems):
        raise UserInputError("Already-resolved ImageItems cannot be browsed: "
                             "pass the folder, the .csv file or the DataFrame.")
    return "dataframe", value


def _items_from_pairs(source: ImageItems, rows: tuple[list, list] | None) -> list[CatalogItem]:
    items: list[CatalogItem] = []
    for split in SPLITS:
        pairs = source.train if split == "train" else source.valid
        split_rows = (rows[0] if split == "train" else rows[1]) if rows is not None else [None] * len(pairs)
        for (path, label), row in zip(pairs, split_rows):
            items.append(CatalogItem(key=len(items), path=Path(path), label=source.classes[label],
                                     split=split, row=row))
    return items


def non_image_files(catalog: Catalog) -> list[Path]:
    """Files in the data set that %finetune skips because they are not images, sorted.

    Folders: non-image files (any extension not in IMAGE_EXTENSIONS, hidden names
    excepted) next to the images, i.e. in the class folders. Tables: the listed
    files without an image extension (training tries them and skips them).
    """
    if catalog.kind in ("csv", "dataframe"):
        return sorted({item.path for item in catalog.items if item.path is not None and not is_image_file(item.path)})
    if catalog.kind not in ("folder", "sample"):
        return []
    found: set[Path] = set()
    for folder in sorted({os.path.dirname(item.path) for item in catalog.items if item.path is not None}):
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_hidden(entry.name) or not entry.is_file():
                    continue
                if not is_image_file(entry.name):
                    found.add(Path(entry.path))
    return sorted(found)


# ----------------------------------------------------------------------------- torch Dataset
def _dataset_catalog(source: DatasetSource) -> Catalog:
    items: list[CatalogItem] = []
    for split in SPLITS:
        relabelled = source.train if split == "train" else source.valid
        labels, paths = _dataset_labels_and_paths(relabelled.dataset)
        for index, label in enumerate(labels):
            items.append(CatalogItem(key=len(items), path=paths[index] if paths else None,
                                     label=source.classes[relabelled.mapping[label]], split=split, index=index))
    return Catalog(kind="dataset", root=None, items=items, classes=list(source.classes),
                   description=source.description, editable=False,
                   read_only_reason=IN_MEMORY_READ_ONLY.format(what="torch Dataset"), source=source)


def _dataset_labels_and_paths(dataset: Any) -> tuple[list, list[Path] | None]:
    """Labels of every item without loading images (through Subsets), and file paths when the dataset lists them.

    Paths come from torchvision-style ``samples`` lists of (path, label) (ImageFolder);
    otherwise items are in memory and are read through the dataset itself.
    """
    from torch.utils.data import Subset

    from .torch_dataset import dataset_labels, plain_label

    if isinstance(dataset, Subset):
        labels, paths = _dataset_labels_and_paths(dataset.dataset)
        indices = [int(i) for i in dataset.indices]
        return [labels[i] for i in indices], ([paths[i] for i in indices] if paths else None)
    labels = dataset_labels(dataset)
    samples = getattr(dataset, "samples", None)
    paths = None
    if isinstance(samples, (list, tuple)) and len(samples) == len(labels) and all(
            isinstance(s, (tuple, list)) and len(s) >= 2 and isinstance(s[0], (str, os.PathLike)) for s in samples):
        paths = [Path(os.fspath(s[0])).absolute() for s in samples]
    return [plain_label(label) for label in labels], paths


# ----------------------------------------------------------------------------- fastai
def _fastai_catalog(source: FastaiSource) -> Catalog:
    items: list[CatalogItem] = []
    for split in SPLITS:
        dataset = source.dls.train_ds if split == "train" else source.dls.valid_ds
        raw = list(getattr(dataset, "items", []) or [])
        paths = ([Path(p).absolute() for p in raw]
                 if raw and all(isinstance(p, (str, os.PathLike)) for p in raw) else None)
        if paths is not None and len(paths) != len(dataset):
            paths = None
        for index, label in enumerate(_fastai_labels(dataset, source.classes)):
            items.append(CatalogItem(key=len(items), path=paths[index] if paths else None, label=label,
                                     split=split, index=index))
    return Catalog(kind="fastai", root=_common_root(items), items=items, classes=list(source.classes),
                   description=source.description, editable=False,
                   read_only_reason=IN_MEMORY_READ_ONLY.format(what="fastai DataLoaders"), source=source)


def _fastai_labels(dataset: Any, classes: list[str]) -> list[str]:
    """Class names of a fastai Datasets' items, from its label pipeline (no image is decoded) when it has one."""
    tls = getattr(dataset, "tls", None)
    n_inp = getattr(dataset, "n_inp", 1)
    targets = tls[n_inp] if tls is not None and len(tls) > n_inp else None
    labels = []
    for index in range(len(dataset)):
        value = targets[index] if targets is not None else dataset[index][1]
        labels.append(_class_name(value, classes))
    return labels


def _class_name(value: Any, classes: list[str]) -> str:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, int) and 0 <= value < len(classes):
        return classes[value]
    return str(value)


def _common_root(items: list[CatalogItem]) -> Path | None:
    paths = [str(item.path) for item in items if item.path is not None]
    if not paths or len(paths) != len(items):
        return None
    common = Path(os.path.commonpath(paths))
    return common.parent if common.is_file() else common
