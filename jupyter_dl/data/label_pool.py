"""The pool ``%label`` works on: the labelled and the unlabelled images of a folder, a CSV file or a DataFrame.

:func:`open_pool` reads DATA the way ``%finetune`` reads it and lists every image once, as a
:class:`PoolItem` with a key, its file and its label (None while it has none):

- a folder: the images in its class folders (also ``train/<class>`` and ``valid/<class>``) are
  labelled; the images in the pool folder (``DATA/unlabelled`` unless ``pool=`` names another) are
  not. ``%finetune`` skips ``DATA/unlabelled``, so a pool inside DATA must be that folder (or hidden);
- a CSV file or a DataFrame with a path and a label column: rows whose label is empty (missing,
  ``""`` or spaces) are to be labelled.

Only files with an image extension count; whether they decode is left to the embedding step.
Writing labels is :class:`jupyter_dl.data.cleaning.LabelWriter`'s job. No UI here.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserInputError
from .cleaning.checks import check_folder_label, check_label_text
from .cleaning.frame_table import check_row_index
from .files import (
    UNLABELLED_DIR,
    find_split_dirs,
    is_empty_label,
    is_hidden,
    label_text,
    list_image_files,
    read_csv_table,
    sort_labels,
    table_path,
)
from .images import is_image_file
from .sources import closest_path, lookup_name

if TYPE_CHECKING:
    import pandas

HOW_TO_MAKE_A_POOL = ("copy the images to label into DATA/unlabelled (e.g. data/new/unlabelled) and run "
                      "%label data/new, or pass a .csv file or a DataFrame whose label column is empty for them")


@dataclass(frozen=True)
class PoolItem:
    """One image of the pool (frozen: a label makes a new one with the same key)."""

    key: int            # stable for this pool (its position when built)
    path: Path          # the image file, absolute
    label: str | None   # None: not labelled yet
    row: Any = None     # CSV: 0-based data row as pandas numbers it; DataFrame: its index label; None for folders


@dataclass
class LabelPool:
    """The images of a data set to label, and those it has already; kept up to date by ``LabelWriter``."""

    kind: str                 # "folder", "csv", "dataframe"
    root: Path                # class folders' parent / the CSV's folder / cwd for a DataFrame
    items: list[PoolItem]     # kept up to date by LabelWriter (new label, new path); keys never change
    classes: list[str]        # may grow (LabelWriter.add_class)
    pool_dir: Path | None = None     # folder kind: where the unlabelled images are
    csv_path: Path | None = None
    table: pandas.DataFrame | None = None   # dataframe kind: the user's own object (edited in place)
    path_col: str = "path"
    label_col: str = "label"
    description: str = ""     # one line: "folder data/pets: 12 labelled in 3 classes, 480 to label in ..."
    # Folder kind: where class folders are made: root, or root/train in a train/ + valid/ layout (the
    # folder %finetune trains from; a class folder beside train/ would never be read).
    label_dir: Path | None = None

    def item(self, key: int) -> PoolItem:
        """The item with this key."""
        if 0 <= key < len(self.items) and self.items[key].key == key:  # keys are positions: the common case
            return self.items[key]
        for item in self.items:
            if item.key == key:
                return item
        raise UserInputError(f"Image {key!r} is not in this pool: pick an image the labeller shows.")

    def unlabelled(self) -> list[PoolItem]:
        """The items without a label yet, in key order."""
        return [item for item in self.items if item.label is None]

    def labelled(self) -> list[PoolItem]:
        """The items with a label, in key order."""
        return [item for item in self.items if item.label is not None]


def open_pool(data: Any, *, classes: Sequence[str] | str | None = None, pool: str | os.PathLike | None = None,
              namespace: dict | None = None, label_col: str = "label", path_col: str = "path") -> LabelPool:
    """The :class:`LabelPool` of DATA: a folder, a .csv file, a DataFrame, or a variable name in ``namespace``.

    ``classes`` ("cat,dog" or a list) come first, in their order, then the classes DATA already has,
    sorted. ``pool`` is the folder of images to label for a folder DATA (default ``DATA/unlabelled``;
    relative to the cwd). Raises UserInputError (one sentence) for bad input, and when there is
    nothing to label.
    """
    given = _given_classes(classes)
    kind, value, shown = _locate(data, namespace)
    if pool is not None and kind != "folder":
        raise UserInputError(f"--pool is for a folder of class folders, not a table ({shown}): its images to "
                             f"label are the rows with an empty {label_col!r}, so leave --pool out.")
    if kind == "folder":
        return _folder_pool(value, shown, given, pool)
    if kind == "csv":
        return _table_pool("csv", read_csv_table(value, shown), value.parent, shown, given,
                           label_col=label_col, path_col=path_col, csv_path=value)
    check_row_index(value)
    return _table_pool("dataframe", value, Path.cwd(), shown, given, label_col=label_col, path_col=path_col)


def check_class_name(pool: LabelPool, name: Any) -> str:
    """``name`` if it can be a class of ``pool``; else UserInputError saying why (not whether it is new)."""
    if pool.kind != "folder":
        return check_label_text(name)
    # check_folder_label also refuses "unlabelled" and hidden names: the only names a pool inside DATA
    # may have (open_pool refuses any other), so no class can take the pool's folder.
    name = check_folder_label(name)
    home = pool.label_dir or pool.root
    if os.path.lexists(home / name) and not (home / name).is_dir():
        raise UserInputError(f"{home} has a file named {name!r}, so no class folder of that name can be made: "
                             "rename the file or pick another class name.")
    return name


# ----------------------------------------------------------------------------- what DATA is
def _locate(data: Any, namespace: dict | None, name: str | None = None) -> tuple[str, Any, str]:
    """("folder" | "csv", absolute path, as shown) or ("dataframe", the DataFrame, how to name it)."""
    if isinstance(data, (str, os.PathLike)):
        shown = os.fspath(data)
        path = Path(os.path.abspath(os.path.expanduser(shown)))
        if path.is_dir():
            return "folder", path, shown
        if path.exists():
            if path.suffix.lower() == ".csv":
                return "csv", path, shown
            raise UserInputError(f"{shown} is a file, not a data set: %label needs a folder, a .csv file or a "
                                 f"DataFrame ({HOW_TO_MAKE_A_POOL}).")
        if data == "sample":
            raise UserInputError(f"The sample data set is labelled already and shared by every notebook: to "
                                 f"label images, {HOW_TO_MAKE_A_POOL}.")
        found, value = lookup_name(data, namespace) if isinstance(data, str) else (False, None)
        if found:
            return _locate(value, None, name=str(data))
        guess = closest_path(shown)
        hint = f" (did you mean {guess}?)" if guess else ""
        raise UserInputError(f"{shown} does not exist{hint}: check the spelling and the current directory "
                             f"({os.getcwd()}), or make that folder and put the images to label in "
                             f"{Path(shown) / UNLABELLED_DIR}.")
    if type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        return "dataframe", data, f"DataFrame {name}" if name else "DataFrame"
    what = f"The variable {name!r} holds a {type(data).__name__}" if name else f"A {type(data).__name__}"
    raise UserInputError(f"{what}, but %label needs a folder, a .csv file or a DataFrame: {HOW_TO_MAKE_A_POOL}.")


def _given_classes(classes: Sequence[str] | str | None) -> list[str]:
    """The classes= names in their order ("cat, dog," -> ["cat", "dog"]); UserInputError when one is repeated."""
    if classes is None:
        return []
    if isinstance(classes, str):
        names = [name.strip() for name in classes.split(",") if name.strip()]
    else:
        names = [name if isinstance(name, str) else str(name) for name in classes]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise UserInputError(f"The class {name!r} is given twice: give each class once.")
    return names


def _all_classes(given: list[str], found: Iterable[str], check: Callable[[Any], str]) -> list[str]:
    """The given classes (each checked by ``check``) in their order, then the ones found, sorted."""
    classes = [check(name) for name in given]
    rest = {name for name in found if name not in classes}
    return classes + [str(name) for name in sort_labels(rest)]


def _classes_text(n: int) -> str:
    return f"{n} class" if n == 1 else f"{n} classes"


# ----------------------------------------------------------------------------- folders
def _folder_pool(root: Path, shown: str, given: list[str], pool: str | os.PathLike | None) -> LabelPool:
    pool_dir, pool_shown = _pool_dir(root, shown, pool)
    train_dir, valid_dir = find_split_dirs(root)
    label_dir = train_dir if train_dir is not None else root
    containers = [root] if train_dir is None else [d for d in (train_dir, valid_dir) if d is not None]
    found: dict[str, list[Path]] = {}
    for container in containers:
        for class_dir in _class_dirs(container, skip=UNLABELLED_DIR if container == root else None):
            found.setdefault(class_dir.name, []).extend(list_image_files(class_dir))
    result = LabelPool(kind="folder", root=root, items=[], classes=[], pool_dir=pool_dir, label_dir=label_dir)
    result.classes = _all_classes(given, found, lambda name: check_class_name(result, name))
    to_label = list_image_files(pool_dir) if pool_dir.is_dir() else []
    if not to_label:
        raise UserInputError(f"Nothing to label: {pool_shown} has no images; put the images to label there "
                             "or pass --pool DIR.")
    labelled = [(path, label) for label in result.classes for path in sorted(found.get(label, []))]
    pairs: list[tuple[Path, str | None]] = [*labelled, *((path, None) for path in to_label)]
    result.items = [PoolItem(key=key, path=path, label=label) for key, (path, label) in enumerate(pairs)]
    where = f" (new class folders go into {label_dir.name}/)" if label_dir != root else ""
    result.description = (f"folder {shown}: {len(labelled)} labelled in {_classes_text(len(result.classes))}, "
                          f"{len(to_label)} to label in {pool_shown}{where}")
    return result


def _pool_dir(root: Path, shown: str, pool: str | os.PathLike | None) -> tuple[Path, str]:
    """The pool folder (absolute) and how to name it; UserInputError when it cannot be one."""
    if pool is None:
        return root / UNLABELLED_DIR, str(Path(shown) / UNLABELLED_DIR)
    pool_shown = os.fspath(pool)
    pool_dir = Path(os.path.abspath(os.path.expanduser(pool_shown)))
    if not pool_dir.is_dir():
        missing = "" if os.path.lexists(pool_dir) else " (it does not exist)"
        raise UserInputError(f"--pool {pool_shown} is not a folder{missing}: pass the folder that holds the "
                             "images to label.")
    real_pool, real_root = Path(os.path.realpath(pool_dir)), Path(os.path.realpath(root))
    if real_pool == real_root or real_pool in real_root.parents:
        raise UserInputError(f"--pool {pool_shown} holds {shown} itself: pass a folder with only the images to "
                             f"label, e.g. {Path(shown) / UNLABELLED_DIR}.")
    if real_root in real_pool.parents:
        top = real_pool.relative_to(real_root).parts[0]
        if top != UNLABELLED_DIR and not is_hidden(top):
            # %finetune would train on it as a class (or as images of one): only unlabelled/ is skipped.
            raise UserInputError(f"--pool {pool_shown} is inside {shown}, where %finetune would take {top!r} for "
                                 f"a class: use {Path(shown) / UNLABELLED_DIR} (which training skips) or a folder "
                                 f"outside {shown}.")
    return pool_dir, pool_shown


def _class_dirs(folder: Path, skip: str | None) -> list[Path]:
    """The class folders in ``folder``: its sub-folders but hidden ones and the one named ``skip``."""
    with os.scandir(folder) as entries:
        return sorted(Path(entry.path) for entry in entries
                      if entry.is_dir() and not is_hidden(entry.name) and entry.name != skip)


# ----------------------------------------------------------------------------- tables
def _table_pool(kind: str, table: pandas.DataFrame, base: Path, shown: str, given: list[str], *,
                label_col: str, path_col: str, csv_path: Path | None = None) -> LabelPool:
    subject, origin = (shown, f"CSV {shown}") if kind == "csv" else (f"The {shown}", shown)
    for col, what in ((label_col, "label"), (path_col, "path")):
        if col not in table.columns:
            add = (f"add an empty {col!r} column" if what == "label"
                   else f"add a {col!r} column with each image's file")
            raise UserInputError(f"{subject} has no column {col!r}: {add} (or pass --{what}-col to name the column "
                                 f"that holds the {what}s).")
    no_path = table[path_col].isna()
    if no_path.any():
        raise UserInputError(f"{subject} has {int(no_path.sum())} rows with no {path_col!r} (first at row "
                             f"{int(no_path.to_numpy().argmax())}): fill them in or drop those rows.")
    rows: list[tuple[Path, str | None, Any]] = []
    for row, cell, value in zip(table.index.tolist(), table[path_col], table[label_col]):
        path = table_path(base, str(cell))
        if is_image_file(path):  # other files are no images to label (training skips them too)
            rows.append((path, None if is_empty_label(value) else label_text(value), row))
    found = {label for _, label, _ in rows if label is not None}
    classes = _all_classes(given, found, check_label_text)
    n_to_label = sum(label is None for _, label, _ in rows)
    if not n_to_label:
        raise UserInputError(f"Nothing to label: every image row of {subject[0].lower() + subject[1:]} has a "
                             f"{label_col!r}; add rows with an empty {label_col!r} for the images to label.")
    items = [PoolItem(key=key, path=path, label=label, row=row) for key, (path, label, row) in enumerate(rows)]
    description = (f"{origin}: {len(rows) - n_to_label} labelled in {_classes_text(len(classes))}, "
                   f"{n_to_label} to label")
    return LabelPool(kind=kind, root=base, items=items, classes=classes, csv_path=csv_path,
                     table=table if kind == "dataframe" else None, path_col=path_col, label_col=label_col,
                     description=description)
