"""Where ``%label``'s labels go, one back end per kind of pool; :class:`.labels.LabelWriter` drives them.

- :class:`FolderLabels`: the image moves from the pool into its class folder (made on the first
  label), through :func:`.moves.move_all`: all or nothing, never overwriting (a clash gets ``x-1.jpg``);
- :class:`CsvLabels`: only the labelled rows' label cells are written, every other byte kept
  (:mod:`.csv_document`), the CSV replaced atomically after its old bytes went to the trash folder;
- :class:`FrameLabels`: the label cells of the user's DataFrame, in place.

Each checks first that the pool is still what the labeller showed (the file still in the pool, the
row still that image with no label) and changes nothing when it is not.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ...errors import UserInputError
from ..files import is_empty_label, label_text, table_path
from .changes import Change, ItemChange, log_base, relative
from .checks import same_path
from .csv_document import CsvDocument, load_csv, replace_keeping_a_copy, restore_saved_copy
from .frame_table import restore_labels, set_label
from .moves import move_all, undo_moves

if TYPE_CHECKING:
    import pandas

    from ..label_pool import LabelPool, PoolItem

AGAIN = "open %label again to see the data as it is now"


class LabelBackend(Protocol):
    """What :class:`.labels.LabelWriter` asks of a back end."""

    def check_items(self, items: list[PoolItem]) -> None:
        """UserInputError unless the items are still as the pool says (nothing is changed)."""

    def write(self, change: Change, items: list[PoolItem], labels: list[str]) -> list[ItemChange]:
        """Give each item its label, all or nothing; record in ``change._revert`` what undo needs."""

    def undo(self, change: Change) -> None:
        """Revert ``change``; UserInputError (nothing changed) when the data changed since."""

    def log_entry(self, change: Change) -> dict:
        """The change-log entry of ``change``."""


class FolderLabels:
    """A folder of class folders: labelling moves the image from the pool into ``label_dir/<label>/``."""

    def __init__(self, pool: LabelPool) -> None:
        self.root = pool.root
        self.home = pool.label_dir or pool.root

    def check_items(self, items: list[PoolItem]) -> None:
        """UserInputError unless every item's file is still where the pool says."""
        for item in items:
            if not os.path.lexists(item.path):
                raise UserInputError(f"{item.path} no longer exists (moved or deleted since the labeller opened), "
                                     f"so nothing was changed: {AGAIN}.")

    def write(self, change: Change, items: list[PoolItem], labels: list[str]) -> list[ItemChange]:
        """Move each file into its class folder (made if missing; a name clash gets a new name)."""
        moves = [(item.path, self.home / label / item.path.name) for item, label in zip(items, labels)]
        done, created = move_all(moves, exact=False)
        change._revert.update(moves=done, created=created)
        return [ItemChange(key=item.key, old_label=None, new_label=label, old_path=src, new_path=dst)
                for item, label, (src, dst) in zip(items, labels, done)]

    def undo(self, change: Change) -> None:
        """Move the files back into the pool and remove the class folders the change made (if empty)."""
        undo_moves(change._revert["moves"], change._revert["created"])

    def log_entry(self, change: Change) -> dict:
        """The change-log entry plus, for a change (not an undo), the folders it created."""
        entry = log_base(change, "folder", self.root)
        if change.action != "undo":
            entry["created_folders"] = [relative(p, self.root) for p in change._revert.get("created", [])]
        return entry


class CsvLabels:
    """A CSV with a path and a label column: labelling writes the empty label cells of those rows."""

    def __init__(self, pool: LabelPool) -> None:
        if pool.csv_path is None:  # open_pool gives every CSV pool its file
            raise UserInputError("This pool has no CSV file to write labels to: open %label again.")
        self.csv_path = pool.csv_path
        self.root = pool.root
        self.path_col, self.label_col = pool.path_col, pool.label_col

    def check_items(self, items: list[PoolItem]) -> None:
        """UserInputError unless each item's row still names its file and has no label."""
        self._read(items)

    def write(self, change: Change, items: list[PoolItem], labels: list[str]) -> list[ItemChange]:
        """Write the labels into those rows only; the CSV's previous bytes go to the trash folder."""
        before, document = self._read(items)
        after = document.with_labels({item.row: label for item, label in zip(items, labels)})
        replace_keeping_a_copy(self.csv_path, self.root, change, before, after)
        return [ItemChange(key=item.key, old_label=None, new_label=label, old_path=item.path, new_path=item.path,
                           row=item.row) for item, label in zip(items, labels)]

    def undo(self, change: Change) -> None:
        """Put back the CSV's bytes from before the change; refuses when the file changed since."""
        restore_saved_copy(self.csv_path, change)

    def log_entry(self, change: Change) -> dict:
        """The change-log entry plus the CSV; for a change also its pre-change copy and new SHA-256."""
        entry = log_base(change, "csv", self.root)
        entry["csv"] = relative(self.csv_path, self.root)
        if change.action != "undo":
            entry["before"] = relative(change._revert.get("before"), self.root)
            entry["after_sha256"] = change._revert.get("after_sha256")
        return entry

    def _read(self, items: list[PoolItem]) -> tuple[bytes, CsvDocument]:
        raw, table, document = load_csv(self.csv_path, self.path_col, self.label_col, again=AGAIN)
        for item in items:
            row = item.row
            if not (isinstance(row, int) and 0 <= row < len(table)
                    and same_path(table_path(self.root, str(table[self.path_col].iloc[row])), item.path)
                    and is_empty_label(table[self.label_col].iloc[row])):
                raise UserInputError(f"{self.csv_path.name} changed since the labeller opened it (row {row} is no "
                                     f"longer {item.path} without a label), so nothing was changed: {AGAIN}.")
        return raw, document


class FrameLabels:
    """The user's DataFrame: labelling sets the empty label cells of those rows, in place."""

    def __init__(self, pool: LabelPool) -> None:
        if pool.table is None:  # open_pool gives every DataFrame pool its DataFrame
            raise UserInputError("This pool has no DataFrame to write labels to: open %label again.")
        self.table: pandas.DataFrame = pool.table
        self.root = pool.root
        self.path_col, self.label_col = pool.path_col, pool.label_col

    def check_items(self, items: list[PoolItem]) -> None:
        """UserInputError unless each item's row is still in the DataFrame, with its file and no label."""
        table = self._table()
        for item in items:
            row = item.row
            if not (row in table.index and is_empty_label(table.at[row, self.label_col])
                    and same_path(table_path(self.root, str(table.at[row, self.path_col])), item.path)):
                raise UserInputError(f"The DataFrame changed since the labeller opened it (row {row!r} is no longer "
                                     f"{item.path} without a label), so nothing was changed: {AGAIN}.")

    def write(self, change: Change, items: list[PoolItem], labels: list[str]) -> list[ItemChange]:
        """Set the label cells (as the column's own type where it can hold them: "3" into a column of ints)."""
        table, col = self.table, self.label_col
        rows = [item.row for item in items]
        change._revert.update(rows=rows, old_values=[table.at[row, col] for row in rows], dtype=table[col].dtype)
        try:
            for label in dict.fromkeys(labels):
                set_label(table, col, [row for row, other in zip(rows, labels) if other == label], label)
        except Exception:  # all or nothing: the labels set so far go again
            restore_labels(table, col, rows, change._revert["old_values"], change._revert["dtype"])
            raise
        return [ItemChange(key=item.key, old_label=None, new_label=label, old_path=item.path, new_path=item.path,
                           row=item.row) for item, label in zip(items, labels)]

    def undo(self, change: Change) -> None:
        """Put the old cells (NaN stays NaN) and the column's type back; refuses when a label was changed since."""
        table = self._table()
        for item in change.items:
            if item.row not in table.index or label_text(table.at[item.row, self.label_col]) != item.new_label:
                raise UserInputError(f"Row {item.row!r} of the DataFrame no longer has the label {item.new_label!r}, "
                                     "so undo would lose that change: nothing was changed.")
        revert = change._revert
        restore_labels(table, self.label_col, revert["rows"], revert["old_values"], revert["dtype"])

    def log_entry(self, change: Change) -> dict:
        """The change-log entry: the fields every back end writes, paths relative to the pool's root."""
        return log_base(change, "dataframe", self.root)

    def _table(self) -> pandas.DataFrame:
        missing = [col for col in (self.path_col, self.label_col) if col not in self.table.columns]
        if missing:
            raise UserInputError(f"The DataFrame has no column {missing[0]!r} any more, so nothing was changed: "
                                 f"{AGAIN}.")
        return self.table


def backend_for(pool: LabelPool) -> LabelBackend:
    """The back end for the pool's kind; UserInputError for a kind labels cannot be written to."""
    kinds: dict[str, Callable[[LabelPool], LabelBackend]] = {
        "folder": FolderLabels, "csv": CsvLabels, "dataframe": FrameLabels}
    if pool.kind not in kinds:
        raise UserInputError(f"Labels cannot be written to a {pool.kind} pool: open %label on a folder, a .csv "
                             "file or a DataFrame.")
    return kinds[pool.kind](pool)
