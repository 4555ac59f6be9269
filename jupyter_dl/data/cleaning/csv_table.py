"""The CSV back end: a CSV of (path, label) rows, rewritten so that only the edited rows' bytes change.

A relabel rewrites the label of those rows, a remove drops those rows (the
image files stay); the file is replaced atomically and its previous bytes are
kept in the trash folder, so an undo restores it byte for byte.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UserInputError
from ..files import label_text, table_path
from .changes import Change, ItemChange, log_base, plural, relative
from .checks import check_label_text, same_path
from .csv_document import CsvDocument, load_csv, replace_keeping_a_copy, restore_saved_copy

if TYPE_CHECKING:
    from ..catalog import Catalog, CatalogItem


class CsvTable:
    """A CSV of (path, label) rows. Only the edited rows' text changes; every other byte stays."""

    def __init__(self, catalog: Catalog) -> None:
        if catalog.csv_path is None:  # build_catalog gives every CSV catalog its file
            raise UserInputError("This catalog has no CSV file to edit: browse the data set again.")
        self.catalog = catalog
        self.csv_path = Path(catalog.csv_path)
        self.root = Path(catalog.root) if catalog.root is not None else self.csv_path.parent

    def check_label(self, label: Any) -> str:
        """``label`` as text; UserInputError when it is blank or holds a line break or control character."""
        return check_label_text(label)

    def check_items(self, items: list[CatalogItem]) -> None:
        """UserInputError unless the CSV can still be rewritten safely and each item's row holds its path and label."""
        self._read(items)

    def has_label(self, label: str) -> bool:
        """Whether some row of the CSV has this label (False when the file cannot be read)."""
        import pandas as pd

        try:
            table = pd.read_csv(self.csv_path)
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        return self.catalog.label_col in table and label in {label_text(v) for v in table[self.catalog.label_col]}

    def relabel(self, change: Change, items: list[CatalogItem], label: str) -> list[ItemChange]:
        """Rewrite the label of the items' rows; the CSV's previous bytes go to the trash folder."""
        before, document = self._read(items)
        after = document.with_labels({item.row: label for item in items})
        replace_keeping_a_copy(self.csv_path, self.root, change, before, after)
        return [ItemChange(key=item.key, old_label=item.label, new_label=label, old_path=item.path,
                           new_path=item.path, row=item.row) for item in items]

    def remove(self, change: Change, items: list[CatalogItem]) -> list[ItemChange]:
        """Drop the items' rows (the image files stay); the CSV's previous bytes go to the trash folder."""
        before, document = self._read(items)
        rows = {item.row for item in items}
        change._revert["removed_rows"] = [{"row": row, "text": document.record_text(row)} for row in sorted(rows)]
        replace_keeping_a_copy(self.csv_path, self.root, change, before, document.without(rows))
        return [ItemChange(key=item.key, old_label=item.label, new_label=None, old_path=item.path,
                           new_path=None, row=item.row) for item in items]

    def undo(self, change: Change) -> None:
        """Put back the CSV's bytes from before the change; refuses when the file changed since."""
        restore_saved_copy(self.csv_path, change)

    def summary(self, change: Change) -> str:
        """One sentence for the UI: how many rows of which file were relabelled or removed."""
        n = plural(len(change.items), "row")
        if change.action == "remove":
            return f"Removed {n} from {self.csv_path.name} (the image files stay where they are)."
        return f"Relabelled {n} of {self.csv_path.name} as {change.label!r}."

    def log_entry(self, change: Change) -> dict:
        """The change-log entry plus the CSV; for a change also its pre-change copy, new SHA-256 and removed rows."""
        entry = log_base(change, self.catalog.kind, self.root)
        entry["csv"] = relative(self.csv_path, self.root)
        if change.action != "undo":
            entry["before"] = relative(change._revert.get("before"), self.root)
            entry["after_sha256"] = change._revert.get("after_sha256")
            if "removed_rows" in change._revert:
                entry["removed_rows"] = change._revert["removed_rows"]
        return entry

    # ------------------------------------------------------------------
    def _read(self, items: list[CatalogItem]) -> tuple[bytes, CsvDocument]:
        """The CSV's bytes and records, after checking the items still match what was browsed."""
        path_col, label_col = self.catalog.path_col, self.catalog.label_col
        raw, table, document = load_csv(self.csv_path, path_col, label_col, again="refresh the browser")
        for item in items:
            row = item.row
            if not isinstance(row, int) or not 0 <= row < len(table) or item.path is None or not same_path(
                    table_path(self.root, str(table[path_col].iloc[row])), item.path) or (
                    label_text(table[label_col].iloc[row]) != item.label):
                raise UserInputError(f"{self.csv_path.name} changed since it was browsed ({item.path} is no longer "
                                     f"in row {row} with label {item.label!r}): refresh the browser.")
        return raw, document
