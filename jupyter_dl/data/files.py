"""Labelled image files from folders, CSV files, DataFrames and file-name patterns, split into train/valid."""
from __future__ import annotations

import os
import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import UserInputError
from .images import is_image_file
from .source_types import ImageItems

if TYPE_CHECKING:
    import pandas

TRAIN_DIR_NAMES = ("train", "training")
VALID_DIR_NAMES = ("valid", "val", "validation")
VALID_FLAG_COLUMN = "is_valid"  # fastai's convention for a pre-split table
# DATA/unlabelled holds the images %label has yet to label (docs/label.md): they have no class yet, so
# at the top of a folder data set it is skipped like a hidden name (no class folder, no label_re file).
# Only at the top: %label puts its pool there, while inside train/ or valid/ it would be a user's class.
UNLABELLED_DIR = "unlabelled"

# An item: (path, class index), or (path, class index, row) for a table; only the first two are looked at.
_Item = TypeVar("_Item", bound=tuple[Any, ...])


def is_hidden(name: str) -> bool:
    """Names to ignore: dot files/folders and tool folders such as __MACOSX or __pycache__."""
    return name.startswith(".") or name.startswith("__")


def list_image_files(folder: Path) -> list[Path]:
    """All image files below ``folder`` (recursive, hidden ones skipped), sorted."""
    found: list[Path] = []
    stack = [Path(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if is_hidden(entry.name):
                    continue
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif is_image_file(entry.name):
                    found.append(Path(entry.path))
    return sorted(found)


def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:  # closed at once, not whenever the GC gets to it
        return list(entries)


def sort_labels(labels: Iterable) -> list:
    """Unique labels sorted; numbers by value (2 before 10), everything else as text."""
    unique = set(labels)
    if all(isinstance(label, int) or _is_int_text(label) for label in unique):
        return sorted(unique, key=lambda label: (int(label), str(label)))
    return sorted(unique, key=str)


def split_items(items: list[_Item], valid_pct: float, seed: int) -> tuple[list[_Item], list[_Item]]:
    """Seeded split, stratified by class; every class keeps at least one training item."""
    check_valid_pct(valid_pct)
    by_class: dict[int, list[_Item]] = {}
    for item in sorted(items, key=lambda item: (item[1], str(item[0]))):
        by_class.setdefault(item[1], []).append(item)
    rng = random.Random(seed)
    train: list[_Item] = []
    valid: list[_Item] = []
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        n_valid = min(round(len(members) * valid_pct), len(members) - 1)
        valid.extend(members[:n_valid])
        train.extend(members[n_valid:])
    if valid_pct > 0 and not valid:
        # Tiny data sets round every class down to zero; one validation image beats none.
        largest = max(by_class, key=lambda label: len(by_class[label]))
        if len(by_class[largest]) > 1:
            moved = next(item for item in train if item[1] == largest)
            train.remove(moved)
            valid.append(moved)
    return sorted(train, key=_item_key), sorted(valid, key=_item_key)


def check_valid_pct(valid_pct: float) -> None:
    """Raise UserInputError unless 0 <= valid_pct < 1."""
    if not 0 <= valid_pct < 1:
        raise UserInputError(f"valid_pct={valid_pct} is out of range: "
                             "use a fraction from 0 up to (not including) 1, e.g. 0.2.")


# ----------------------------------------------------------------------------- folders
def items_from_folder(root: Path, *, shown: str, label_re: str | None, valid_pct: float, seed: int) -> ImageItems:
    """Folder-per-class, train/ + valid/ folders, or a flat folder labelled by ``label_re``."""
    pattern = compile_label_re(label_re) if label_re is not None else None
    train_dir, valid_dir = find_split_dirs(root, by_name=pattern is not None)
    if train_dir is None:
        labelled = _label_files(root, pattern, skip=UNLABELLED_DIR)
        classes = _check_classes(labelled, root)
        train, valid = split_items(_to_indices(labelled, classes), valid_pct, seed)
        layout = ""
    else:
        train_labelled = _label_files(train_dir, pattern)
        valid_labelled = _label_files(valid_dir, pattern) if valid_dir is not None else []
        classes = _check_classes(train_labelled + valid_labelled, root)
        missing = sorted(set(classes) - {label for _, label in train_labelled})
        if missing:
            raise UserInputError(f"Class {missing[0]!r} has no images in {train_dir}: "
                                 "every class needs training images.")
        if valid_dir is None:
            train, valid = split_items(_to_indices(train_labelled, classes), valid_pct, seed)
            layout = f" ({train_dir.name}/ split {1 - valid_pct:.0%}/{valid_pct:.0%})"
        else:
            train = sorted(_to_indices(train_labelled, classes), key=_item_key)
            valid = sorted(_to_indices(valid_labelled, classes), key=_item_key)
            layout = f" ({train_dir.name}/ and {valid_dir.name}/ folders)"
    n_images = len(train) + len(valid)
    description = f"folder {shown}: {n_images} images, {len(classes)} classes{layout}"
    return ImageItems(train=train, valid=valid, classes=classes, description=description)


def compile_label_re(label_re: str) -> re.Pattern[str]:
    """``label_re`` compiled; UserInputError when it is no valid regular expression or has no group."""
    try:
        pattern = re.compile(label_re)
    except re.error as exc:
        raise UserInputError(f"label_re {label_re!r} is not a valid regular expression ({exc}).") from None
    if pattern.groups < 1:
        raise UserInputError(f"label_re {label_re!r} has no group: "
                             "put the label part in parentheses, e.g. r'^(.*)_\\d+\\.jpg$'.")
    return pattern


def find_split_dirs(root: Path, *, by_name: bool = False) -> tuple[Path | None, Path | None]:
    """(train dir, valid dir or None) for a pre-split layout, else (None, None).

    ``by_name``: labels come from file names (label_re), so both folders must be there.
    """
    subdirs = {entry.name.lower(): Path(entry.path) for entry in _entries(root)
               if entry.is_dir() and not is_hidden(entry.name)}
    train_dir = next((subdirs[name] for name in TRAIN_DIR_NAMES if name in subdirs), None)
    valid_dir = next((subdirs[name] for name in VALID_DIR_NAMES if name in subdirs), None)
    if train_dir is None:
        return None, None
    if by_name:
        return (train_dir, valid_dir) if valid_dir is not None else (None, None)
    # A folder called "train" holding images directly is a class (trains, buses, cars), not a split.
    if not any(entry.is_dir() and not is_hidden(entry.name) for entry in _entries(train_dir)):
        return None, None
    return train_dir, valid_dir


def _label_files(folder: Path, pattern: re.Pattern[str] | None, skip: str | None = None) -> list[tuple[Path, str]]:
    """(file, label) for every image in ``folder``, leaving out its sub-folder named ``skip``."""
    return _label_by_folder(folder, skip) if pattern is None else _label_by_name(folder, pattern, skip)


def _label_by_folder(folder: Path, skip: str | None) -> list[tuple[Path, str]]:
    class_dirs = sorted(Path(entry.path) for entry in _entries(folder)
                        if entry.is_dir() and not is_hidden(entry.name) and entry.name != skip)
    if not class_dirs:
        if any(is_image_file(entry.name) for entry in _entries(folder)):
            raise UserInputError(
                f"{folder} has images but no class sub-folders: put one sub-folder of images per class in it, "
                "or pass label_re to take labels from the file names.")
        if skip is not None and (folder / skip).is_dir():
            raise UserInputError(f"{folder} has no class folders yet, only images to label in {folder / skip}: "
                                 f"label some with %label {folder} first.")
        raise UserInputError(f"No images found in {folder}: put one sub-folder of images per class in it.")
    labelled: list[tuple[Path, str]] = []
    for class_dir in class_dirs:
        files = list_image_files(class_dir)
        if not files:
            raise UserInputError(f"The class folder {class_dir} has no images: "
                                 "add images of that class or remove the folder.")
        labelled.extend((path, class_dir.name) for path in files)
    return labelled


def _label_by_name(folder: Path, pattern: re.Pattern[str], skip: str | None) -> list[tuple[Path, str]]:
    skipped = folder / skip if skip is not None else None
    files = [path for path in list_image_files(folder) if skipped is None or skipped not in path.parents]
    if not files:
        raise UserInputError(f"No images found in {folder}: put the image files in it.")
    labelled = []
    for path in files:
        match = pattern.search(path.name)
        if match and match.group(1):
            labelled.append((path, match.group(1)))
    if not labelled:
        raise UserInputError(
            f"label_re {pattern.pattern!r} matches none of the {len(files)} file names in {folder} "
            f"(for example {files[0].name!r}): change it so its first group captures the label.")
    return labelled


def _check_classes(labelled: list[tuple[Path, str]], root: Path) -> list[str]:
    classes = sorted({label for _, label in labelled})
    if len(classes) < 2:
        raise UserInputError(
            f"Found only one class ({classes[0]!r}) in {root}: a classifier needs at least two classes.")
    return classes


def _to_indices(labelled: list[tuple[Path, str]], classes: list[str]) -> list[tuple[Path, int]]:
    index = {name: i for i, name in enumerate(classes)}
    return [(path, index[label]) for path, label in labelled]


def _item_key(item: tuple[Any, ...]) -> tuple[int, str]:
    return item[1], str(item[0])


def _is_int_text(value: object) -> bool:
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


# ----------------------------------------------------------------------------- tables
def items_from_csv(csv_path: Path, *, shown: str, label_col: str, path_col: str,
                   valid_pct: float, seed: int) -> ImageItems:
    """A CSV with a path column (relative to the CSV's folder) and a label column."""
    return items_from_table(read_csv_table(csv_path, shown), csv_path.parent, origin=f"CSV {shown}",
                            label_col=label_col, path_col=path_col, valid_pct=valid_pct, seed=seed)


def read_csv_table(csv_path: Path, shown: str) -> pandas.DataFrame:
    """The CSV file as pandas reads it; UserInputError (naming it ``shown``) when it cannot be read."""
    import pandas as pd

    try:
        return pd.read_csv(csv_path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"Could not read the CSV file {shown} ({exc}): "
                             "check that it is a comma-separated table.") from None


def items_from_table(table: pandas.DataFrame, base_dir: Path, *, origin: str, label_col: str, path_col: str,
                     valid_pct: float, seed: int) -> ImageItems:
    """Rows of (path, label); an ``is_valid`` column, when present, gives the split.

    ``ImageItems.rows`` holds each item's row (the table's index label), in train and valid
    order: items carry their row as a third element through the same sorts and seeded shuffle.
    """
    missing_cols = [col for col in (path_col, label_col) if col not in table.columns]
    if missing_cols:
        raise UserInputError(
            f"The {origin} has no column {missing_cols[0]!r} (its columns are {', '.join(map(str, table.columns))}): "
            "pass path_col= and label_col= to name the right ones.")
    if len(table) == 0:
        raise UserInputError(f"The {origin} has no rows: add one row per image.")
    for col in (path_col, label_col):
        empty = table[col].isna()
        if empty.any():
            raise UserInputError(
                f"The {origin} has {int(empty.sum())} rows with no {col!r} "
                f"(first at row {int(empty.to_numpy().argmax())}): fill them in or drop those rows.")
    paths = [table_path(base_dir, str(p)) for p in table[path_col]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise UserInputError(
            f"{len(missing)} of the {len(paths)} files listed in the {origin} do not exist (first: {missing[0]}): "
            "fix the paths or the files.")
    labels = [label_text(value) for value in table[label_col]]
    classes = [str(label) for label in sort_labels(labels)]
    if len(classes) < 2:
        raise UserInputError(f"The {origin} has only one label ({classes[0]!r}): "
                             "a classifier needs at least two classes.")
    # (path, class index, row): split_items and the sorts look only at the first two, so rows ride along.
    indexed = _to_indices(list(zip(paths, labels)), classes)
    items = [(path, label, row) for (path, label), row in zip(indexed, table.index.tolist())]
    if VALID_FLAG_COLUMN in table.columns:
        flags = [_truthy(v) for v in table[VALID_FLAG_COLUMN]]
        train = sorted((item for item, f in zip(items, flags) if not f), key=_item_key)
        valid = sorted((item for item, f in zip(items, flags) if f), key=_item_key)
        missing_classes = sorted(set(range(len(classes))) - {item[1] for item in train})
        if missing_classes:
            raise UserInputError(
                f"Class {classes[missing_classes[0]]!r} has no training rows in the {origin} "
                f"({VALID_FLAG_COLUMN} is true for all): every class needs training images.")
        layout = f" (split by {VALID_FLAG_COLUMN})"
    else:
        train, valid = split_items(items, valid_pct, seed)
        layout = ""
    return ImageItems(train=[(path, label) for path, label, _ in train],
                      valid=[(path, label) for path, label, _ in valid], classes=classes,
                      description=f"{origin}: {len(items)} images, {len(classes)} classes{layout}",
                      rows=([row for _, _, row in train], [row for _, _, row in valid]))


def table_path(base_dir: Path, path: str) -> Path:
    """A CSV/DataFrame path cell as a path: ``~`` expanded, relative ones from ``base_dir``."""
    candidate = Path(os.path.expanduser(path))
    return candidate if candidate.is_absolute() else base_dir / candidate


def label_text(value: object) -> str:
    """A label cell as the class name: whole-number floats (pandas reads an int column with gaps as
    float) read as "3", not "3.0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_empty_label(value: object) -> bool:
    """Whether a label cell holds no label: missing (NaN, None), ``""`` or only spaces (``%label`` fills those)."""
    import pandas as pd

    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # not a single value (a list in a cell): something is there
        return False


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "valid", "t", "y")
    return bool(value)
