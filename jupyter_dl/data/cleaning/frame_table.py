"""The DataFrame back end: the user's DataFrame, edited in place so the notebook's variable sees the change."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UserInputError
from ..files import label_text, table_path
from .changes import Change, ItemChange, log_base, plural
from .checks import check_label_text, same_path

if TYPE_CHECKING:
    import pandas

    from ..catalog import Catalog, CatalogItem


class FrameTable:
    """The user's DataFrame, edited in place so their variable sees the change."""

    def __init__(self, catalog: Catalog) -> None:
        if catalog.table is None:  # build_catalog gives every DataFrame catalog its DataFrame
            raise UserInputError("This catalog has no DataFrame to edit: browse the data set again.")
        self.catalog = catalog
        self.table: pandas.DataFrame = catalog.table
        self.base = Path(catalog.root) if catalog.root is not None else Path.cwd()
        check_row_index(self.table)

    def check_label(self, label: Any) -> str:
        """``label`` as text; UserInputError when it is blank or holds a line break or control character."""
        return check_label_text(label)

    def check_items(self, items: list[CatalogItem]) -> None:
        """UserInputError unless each item's row is still in the DataFrame with the item's path and label."""
        table, label_col, path_col = self.table, self.catalog.label_col, self.catalog.path_col
        if label_col not in table.columns or path_col not in table.columns:
            raise UserInputError(f"The DataFrame has no column {label_col!r} or {path_col!r} any more: "
                                 "browse it again.")
        for item in items:
            if item.row not in table.index or item.path is None or (
                    label_text(table.at[item.row, label_col]) != item.label) or (
                    not same_path(table_path(self.base, str(table.at[item.row, path_col])), item.path)):
                raise UserInputError(f"The DataFrame changed since it was browsed (row {item.row!r} is no longer "
                                     f"{item.path} labelled {item.label!r}): browse it again.")

    def has_label(self, label: str) -> bool:
        """Whether some row of the DataFrame has this label."""
        col = self.catalog.label_col
        return col in self.table and label in {label_text(v) for v in self.table[col]}

    def relabel(self, change: Change, items: list[CatalogItem], label: str) -> list[ItemChange]:
        """Write ``label`` into the items' rows, as the label column's own type where it can hold it."""
        table, col = self.table, self.catalog.label_col
        rows = [item.row for item in items]
        change._revert.update(rows=rows, old_values=[table.at[row, col] for row in rows], dtype=table[col].dtype)
        set_label(table, col, rows, label)
        return [ItemChange(key=item.key, old_label=item.label, new_label=label, old_path=item.path,
                           new_path=item.path, row=item.row) for item in items]

    def remove(self, change: Change, items: list[CatalogItem]) -> list[ItemChange]:
        """Drop the items' rows from the user's DataFrame, in place (the image files stay)."""
        table = self.table
        rows = [item.row for item in items]
        change._revert.update(removed=table.loc[rows].copy(), index=table.index.copy())
        _drop_in_place(table, rows)
        return [ItemChange(key=item.key, old_label=item.label, new_label=None, old_path=item.path,
                           new_path=None, row=item.row) for item in items]

    def undo(self, change: Change) -> None:
        """Put back the removed rows, or the old labels with the column's dtype; refuses when a row is gone or taken."""
        if "removed" in change._revert:
            self._restore_rows(change._revert["removed"], change._revert["index"])
            return
        revert = change._revert
        restore_labels(self.table, self.catalog.label_col, revert["rows"], revert["old_values"], revert["dtype"])

    def _restore_rows(self, removed: pandas.DataFrame, index_before: pandas.Index) -> None:
        """Put the dropped rows back, in place, at their old positions, with the old dtypes and index."""
        import pandas as pd

        table = self.table
        back = [row for row in removed.index if row in table.index]
        if back:
            raise UserInputError(f"The DataFrame has a row {back[0]!r} again, so the removed rows cannot be put "
                                 "back without overwriting it: drop that row and undo again.")
        position = {label: i for i, label in enumerate(index_before)}
        order = sorted(list(table.index) + list(removed.index),
                       key=lambda label: position.get(label, len(position)))  # rows added since go last
        merged = pd.concat([table, removed]).loc[order]
        for row in removed.index:  # grow the user's object in place (any values; replaced below)
            table.loc[row] = removed.loc[row]
        table.index = index_before if list(order) == list(index_before) else merged.index
        for col in table.columns:  # same index now, so these assignments line up row by row
            table[col] = merged[col].astype(removed[col].dtype) if col in removed.columns else merged[col]

    def summary(self, change: Change) -> str:
        """One sentence for the UI: how many rows of the DataFrame were relabelled or removed."""
        n = plural(len(change.items), "row")
        if change.action == "remove":
            return f"Removed {n} from the DataFrame (the image files stay where they are)."
        return f"Relabelled {n} of the DataFrame as {change.label!r}."

    def log_entry(self, change: Change) -> dict:
        """The change-log entry: the fields every back end writes, paths relative to the catalog's root."""
        return log_base(change, self.catalog.kind, self.base)


def check_row_index(table: pandas.DataFrame) -> None:
    """UserInputError unless each row of ``table`` has an index label of its own (so one row can be edited)."""
    import pandas as pd

    if isinstance(table.index, pd.MultiIndex) or not table.index.is_unique:
        raise UserInputError("The DataFrame's index has repeated or multi-level labels, so a row cannot be "
                             "edited on its own: call df.reset_index(drop=True) first and pass it again.")


def set_label(table: pandas.DataFrame, col: str, rows: list, label: str) -> None:
    """Write ``label`` into ``rows``, as the column's own type where it can hold it (3 into an int column)."""
    import pandas as pd

    column = table[col]
    value: Any = label
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        value = _as_type_of(label, categories.dtype)
        if value not in categories:
            table[col] = column.cat.add_categories([value])
    else:
        value = _as_type_of(label, column.dtype)
        if isinstance(value, str) and pd.api.types.is_numeric_dtype(column.dtype):
            # e.g. "cat" into a column of numbers, or into an all-empty (float NaN) label column: the column
            # becomes object first (pandas 2 would warn, pandas 3 refuses to change its type on the fly).
            table[col] = column.astype(object)
    try:
        table.loc[rows, col] = value
    except (TypeError, ValueError):  # e.g. the text "cat" into a column of numbers: the column becomes object
        table[col] = table[col].astype(object)
        table.loc[rows, col] = value


def restore_labels(table: pandas.DataFrame, col: str, rows: list, old_values: list, dtype: Any) -> None:
    """Put ``old_values`` back into ``rows`` of ``col`` and the column's old ``dtype`` (NaN stays NaN).

    UserInputError (nothing changed) when a row or the column is no longer in the DataFrame.
    """
    gone = [row for row in rows if row not in table.index]
    if gone or col not in table.columns:
        raise UserInputError(f"Row {gone[0] if gone else rows[0]!r} or column {col!r} is no longer in "
                             "the DataFrame, so the change cannot be undone.")
    if table[col].dtype != dtype:
        table[col] = table[col].astype(object)  # values of the old type fit in any column again
    for row, value in zip(rows, old_values):
        table.at[row, col] = value
    if table[col].dtype != dtype:
        table[col] = table[col].astype(dtype)


def _as_type_of(label: str, dtype: Any) -> Any:
    import pandas as pd

    try:
        if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            return int(label)
        if pd.api.types.is_float_dtype(dtype):
            return float(label)
    except ValueError:
        pass
    return label


def _drop_in_place(table: pandas.DataFrame, rows: list) -> None:
    # pandas 3.1 deprecates inplace= (PDEP-8), but it is still the one public way to shrink the
    # user's own DataFrame object; the rebinding alternative cannot reach the notebook's variable.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*inplace.*")
        table.drop(index=rows, inplace=True)
