"""The editing API: :class:`DatasetEditor` relabels, removes and undoes, and keeps the change log.

It edits what a :class:`~jupyter_dl.data.catalog.Catalog` describes, the way
``%finetune`` reads it next time, through the back end for the catalog's kind
(:mod:`.folder`, :mod:`.csv_table`, :mod:`.frame_table`). Every change and
every undo is a JSON line in ``ROOT/.jupyter_dl_changes.jsonl`` (in memory for
a DataFrame, which lives in memory too). The log is a hidden name, which the
data layer skips, so training never sees it.
"""
from __future__ import annotations

import bisect
import dataclasses
import numbers
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import UserInputError
from ..files import sort_labels
from .changes import Change, ItemChange, append_json_lines, new_change_id, now_iso, read_json_lines
from .csv_table import CsvTable
from .folder import FolderFiles
from .frame_table import FrameTable

if TYPE_CHECKING:
    from ..catalog import Catalog, CatalogItem

CHANGE_LOG = ".jupyter_dl_changes.jsonl"
EDITABLE_KINDS = ("folder", "csv", "dataframe")


class _Backend(Protocol):
    """What DatasetEditor asks of a back end (:class:`.FolderFiles`, :class:`.CsvTable`, :class:`.FrameTable`)."""

    def check_label(self, label: Any) -> str:
        ...

    def check_items(self, items: list[CatalogItem]) -> None:
        ...

    def has_label(self, label: str) -> bool:
        ...

    def relabel(self, change: Change, items: list[CatalogItem], label: str) -> list[ItemChange]:
        ...

    def remove(self, change: Change, items: list[CatalogItem]) -> list[ItemChange]:
        ...

    def undo(self, change: Change) -> None:
        ...

    def summary(self, change: Change) -> str:
        ...

    def log_entry(self, change: Change) -> dict:
        ...


class DatasetEditor:
    """Relabel / remove / undo on an editable catalog (folder, CSV or DataFrame).

    ``catalog`` is kept up to date: after each change its items carry their new
    paths and labels (keys never change), removed items leave ``catalog.items``
    and come back on undo, and ``catalog.classes`` gains new labels and loses a
    class once the data set has no image of it left. Every method raises
    UserInputError (one sentence) on bad input and then has changed nothing.
    """

    def __init__(self, catalog: Catalog) -> None:
        if not catalog.editable or catalog.kind not in EDITABLE_KINDS:
            raise UserInputError(_read_only_message(catalog))
        self.catalog = catalog
        self._backend: _Backend = _BACKENDS[catalog.kind](catalog)
        self._history: list[Change] = []
        self._memory_log: list[dict] = []
        # A DataFrame's edits live in memory, so its log does too: a file would outlive what it describes.
        self.log_path: Path | None = (catalog.root / CHANGE_LOG
                                      if catalog.kind != "dataframe" and catalog.root is not None else None)

    # ------------------------------------------------------------------ actions
    def relabel(self, keys: int | Iterable[int], label: str) -> Change:
        """Give the items ``keys`` the class ``label`` (a new class is fine)."""
        label = self._backend.check_label(label)
        items = [item for item in self._select(keys) if item.label != label]
        if not items:
            raise UserInputError(f"The selected images are already labelled {label!r}: pick another label.")
        return self._apply("relabel", items, label)

    def remove(self, keys: int | Iterable[int]) -> Change:
        """Take the items ``keys`` out of the data set (folder: into the trash folder; tables: drop the rows)."""
        return self._apply("remove", self._select(keys), None)

    def undo(self) -> Change | None:
        """Revert the last change not yet undone (one per call); None when there is nothing to undo.

        Refuses (UserInputError, nothing changed, the change stays undoable) when
        the revert would overwrite something or the data changed underneath it.
        """
        if not self._history:
            return None
        change = self._history[-1]
        self._backend.undo(change)
        self._history.pop()
        self.catalog.items[:] = change._revert["catalog_items"]
        self.catalog.classes[:] = change._revert["catalog_classes"]
        undo = Change(id=new_change_id("undo"), action="undo", time=now_iso(), undoes=change.id,
                      summary=f"Undid: {change.summary}", label=change.label, trash=change.trash,
                      items=[ItemChange(key=c.key, old_label=c.new_label or c.old_label, new_label=c.old_label,
                                        old_path=c.new_path, new_path=c.old_path, row=c.row) for c in change.items])
        try:
            self._write_log(undo)
        except OSError as exc:  # the data is back as it was, which is what was asked; only the record is short
            warnings.warn(f"The undo worked but could not be written to the change log {self.log_path} ({exc}).",
                          stacklevel=2)
        return undo

    # ------------------------------------------------------------------ state
    @property
    def history(self) -> list[Change]:
        """The changes :meth:`undo` can revert, oldest first."""
        return list(self._history)

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` has a change to revert."""
        return bool(self._history)

    def log_entries(self) -> list[dict]:
        """Every logged change and undo, oldest first (from the log file; from memory for a DataFrame)."""
        if self.log_path is None:
            return [dict(entry) for entry in self._memory_log]
        return read_json_lines(self.log_path)

    # ------------------------------------------------------------------ internals
    def _select(self, keys: int | Iterable[int]) -> list[CatalogItem]:
        try:
            # int is an Integral too (named for the type checker); Integral also takes numpy's integers.
            wanted = ([int(keys)] if isinstance(keys, (int, numbers.Integral))
                      else list(dict.fromkeys(int(k) for k in keys)))
        except (TypeError, ValueError):
            raise UserInputError(f"Items are chosen by their keys (whole numbers), not {keys!r}: select images "
                                 "in the browser or pass catalog item keys.") from None
        if not wanted:
            raise UserInputError("No images are selected: select one or more images first.")
        by_key = {item.key: item for item in self.catalog.items}
        unknown = [key for key in wanted if key not in by_key]
        if unknown:
            raise UserInputError(f"Item {unknown[0]!r} is not in this data set (it may have been removed): "
                                 "refresh the browser and select again.")
        items = sorted((by_key[key] for key in wanted), key=lambda item: item.key)
        self._backend.check_items(items)
        return items

    def _apply(self, action: str, items: list[CatalogItem], label: str | None) -> Change:
        change = Change(id=new_change_id(action), action=action, items=[], time=now_iso(), summary="", label=label)
        change._revert.update(catalog_items=list(self.catalog.items), catalog_classes=list(self.catalog.classes))
        if label is not None:  # a relabel: remove passes no label
            change.items = self._backend.relabel(change, items, label)
        else:
            change.items = self._backend.remove(change, items)
        change.summary = self._backend.summary(change)
        self._update_catalog(change)
        try:
            self._write_log(change)
        except OSError as exc:
            # A change missing from the permanent record is worse than no change: take it back.
            try:
                self._backend.undo(change)
            except UserInputError as stuck:
                self._history.append(change)  # still undoable once the cause is fixed
                raise UserInputError(f"Could not write the change log {self.log_path} ({exc}), and taking the "
                                     f"change back failed too ({stuck})") from None
            self.catalog.items[:] = change._revert["catalog_items"]
            self.catalog.classes[:] = change._revert["catalog_classes"]
            raise UserInputError(f"Could not write the change log {self.log_path} ({exc}), so the change was "
                                 "taken back: free some disk space or check the folder's permissions.") from None
        self._history.append(change)
        return change

    def _update_catalog(self, change: Change) -> None:
        catalog = self.catalog
        if change.action == "relabel":
            # (new label, new path) by key; every item of a relabel has a new label.
            moved = {c.key: (c.new_label, c.new_path) for c in change.items if c.new_label is not None}
            catalog.items[:] = [dataclasses.replace(item, label=moved[item.key][0], path=moved[item.key][1])
                                if item.key in moved else item for item in catalog.items]
        else:
            gone = {c.key for c in change.items}
            kept = [item for item in catalog.items if item.key not in gone]
            if catalog.kind == "csv":  # CSV rows are positions: the rows below a dropped one move up
                dropped = sorted(c.row for c in change.items)
                kept = [dataclasses.replace(item, row=item.row - _count_below(dropped, item.row)) for item in kept]
            catalog.items[:] = kept
        # A class without items here may still have some outside this catalog (e.g. one holding only the
        # validation items): it goes only when the data set itself no longer has it.
        present = {item.label for item in catalog.items}
        labels = present | {label for label in catalog.classes if label in present or self._backend.has_label(label)}
        # Class order as %finetune makes it: folder names sorted as text, table labels numbers-aware.
        catalog.classes[:] = sorted(labels) if catalog.kind == "folder" else [str(x) for x in sort_labels(labels)]

    def _write_log(self, change: Change) -> None:
        entry = self._backend.log_entry(change)
        if self.log_path is None:
            self._memory_log.append(entry)
            return
        append_json_lines(self.log_path, [entry])


def _read_only_message(catalog: Catalog) -> str:
    reason = getattr(catalog, "read_only_reason", None)
    if not reason:
        reason = (f"a {catalog.kind} data set has no files or table that jupyter_dl could change: "
                  "edit it in your own code")
    return f"This data set cannot be edited here: {reason}."


def _count_below(sorted_rows: list[int], row: int) -> int:
    return bisect.bisect_left(sorted_rows, row)


_BACKENDS: dict[str, Callable[[Catalog], _Backend]] = {"folder": FolderFiles, "csv": CsvTable, "dataframe": FrameTable}
