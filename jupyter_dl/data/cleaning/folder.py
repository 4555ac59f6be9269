"""The folder-per-class back end (also train/ + valid/ folders): a label is a folder.

A relabel moves the file into the new class folder (inside the same train/ or
valid/ folder); a remove moves it to
``ROOT/.jupyter_dl_trash/<change id>/<its path in the data set>``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UserInputError
from ..files import TRAIN_DIR_NAMES, VALID_DIR_NAMES
from .changes import Change, ItemChange, log_base, plural, relative
from .checks import check_folder_label
from .moves import move_all, new_trash_dir, remove_empty_dirs, undo_moves

if TYPE_CHECKING:
    from ..catalog import Catalog, CatalogItem

SPLIT_DIR_NAMES = TRAIN_DIR_NAMES + VALID_DIR_NAMES


class FolderFiles:
    """Folder-per-class data sets (also train/ + valid/ folders): a label is a folder."""

    def __init__(self, catalog: Catalog) -> None:
        if catalog.root is None:  # build_catalog gives every folder catalog its root
            raise UserInputError("This catalog has no root folder to edit in: browse the data set again.")
        self.catalog = catalog
        self.root = Path(catalog.root)

    def check_label(self, label: Any) -> str:
        """``label`` if it can name a class folder; else UserInputError (see :func:`.checks.check_folder_label`)."""
        return check_folder_label(label)

    def check_items(self, items: list[CatalogItem]) -> None:
        """UserInputError unless every item's file is still there, in the class folder of its label."""
        for item in items:
            if item.path is None or not os.path.lexists(item.path):
                raise UserInputError(f"{item.path} no longer exists (it was moved or deleted since the data set "
                                     "was browsed): refresh the browser to see the data set as it is now.")
            self.class_dir(item)

    def class_dir(self, item: CatalogItem) -> Path:
        """The item's class folder: ROOT/<label> or ROOT/<train|valid>/<label>."""
        try:
            parts = _file(item).relative_to(self.root).parts
        except ValueError:
            parts = ()
        depth = 2 if len(parts) >= 3 and parts[0].lower() in SPLIT_DIR_NAMES and parts[1] == item.label else 1
        if len(parts) <= depth or parts[depth - 1] != item.label:
            raise UserInputError(f"{item.path} is not in a class folder named {item.label!r} inside {self.root}: "
                                 "refresh the browser to see the data set as it is now.")
        return self.root.joinpath(*parts[:depth])

    def has_label(self, label: str) -> bool:
        """Whether a class folder of that name exists (in the root or in a train/valid folder)."""
        containers = [self.root] + [self.root / name for name in os.listdir(self.root)
                                    if name.lower() in SPLIT_DIR_NAMES]
        return any((folder / label).is_dir() for folder in containers)

    def relabel(self, change: Change, items: list[CatalogItem], label: str) -> list[ItemChange]:
        """Move the files into the ``label`` class folder next to their own (made if missing; clashes get new names)."""
        class_dirs = [self.class_dir(item) for item in items]
        moves = [(path, class_dir.parent / label / path.name) for path, class_dir in zip(map(_file, items), class_dirs)]
        done, created = move_all(moves, exact=False)
        emptied = self._remove_emptied(items, class_dirs)
        change._revert.update(moves=done, created=created, emptied=emptied)
        return [ItemChange(key=item.key, old_label=item.label, new_label=label, old_path=src, new_path=dst)
                for item, (src, dst) in zip(items, done)]

    def remove(self, change: Change, items: list[CatalogItem]) -> list[ItemChange]:
        """Move the files into a new trash folder for this change, each at its path within the data set."""
        class_dirs = [self.class_dir(item) for item in items]
        trash = new_trash_dir(self.root, change.id)
        moves = [(path, trash / path.relative_to(self.root)) for path in map(_file, items)]
        try:
            done, created = move_all(moves, exact=True)
        except UserInputError:
            remove_empty_dirs([trash, trash.parent])
            raise
        change.trash = trash
        emptied = self._remove_emptied(items, class_dirs)
        change._revert.update(moves=done, created=[trash.parent, trash] + created, emptied=emptied)
        return [ItemChange(key=item.key, old_label=item.label, new_label=None, old_path=src, new_path=dst)
                for item, (src, dst) in zip(items, done)]

    def _remove_emptied(self, items: list[CatalogItem], class_dirs: list[Path]) -> list[Path]:
        """Remove folders (up to the class folder) that the moves left empty, so %finetune sees no empty class.

        Undo recreates them. rmdir only removes an empty folder, so nothing is lost.
        """
        removed = []
        for path, class_dir in sorted(zip(map(_file, items), class_dirs), key=lambda pair: -len(pair[0].parts)):
            folder = path.parent
            while folder == class_dir or class_dir in folder.parents:
                try:
                    os.rmdir(folder)
                except OSError:
                    break
                removed.append(folder)
                folder = folder.parent
        return removed

    def undo(self, change: Change) -> None:
        """Move every file back and remove the folders the change made; refuses to overwrite anything."""
        undo_moves(change._revert["moves"], change._revert["created"])

    def summary(self, change: Change) -> str:
        """One sentence for the UI: where the files went (and how many were renamed to avoid a clash)."""
        n = plural(len(change.items), "image")
        if change.action == "remove":
            return f"Moved {n} to the trash folder {relative(change.trash, self.root)}."
        renamed = sum(c.new_path is not None and c.old_path is not None and c.new_path.name != c.old_path.name
                      for c in change.items)
        note = f" ({renamed} renamed to avoid overwriting a file of the same name)" if renamed else ""
        return f"Relabelled {n} as {change.label!r}: moved to the {change.label!r} class folder{note}."

    def log_entry(self, change: Change) -> dict:
        """The change-log entry plus, for a change (not an undo), the folders it created and removed."""
        entry = log_base(change, self.catalog.kind, self.root)
        revert = change._revert
        if change.action != "undo":
            entry["created_folders"] = [relative(p, self.root) for p in revert.get("created", [])]
            entry["removed_empty_folders"] = [relative(p, self.root) for p in revert.get("emptied", [])]
        return entry


def _file(item: CatalogItem) -> Path:
    """The item's file (check_items has refused items without one)."""
    if item.path is None:
        raise UserInputError(f"Item {item.key} has no file: refresh the browser to see the data set as it is now.")
    return item.path
