"""Write the labels ``%label`` gives: all or nothing, undoable, in the change log and the provenance log.

:class:`LabelWriter` labels the images of a :class:`~jupyter_dl.data.label_pool.LabelPool` through
the back end for its kind (:mod:`.label_backends`) and keeps the pool up to date. Every label and
every undo is a line in the change log ``ROOT/.jupyter_dl_changes.jsonl`` (the one
:class:`.DatasetEditor` writes) and one line per image in the provenance log
``ROOT/.jupyter_dl_labels.jsonl``: how the label was given (typed, an accepted suggestion or a
corrected one), by which model's suggestion and with what confidence. For a DataFrame both logs
live in memory, like the DataFrame. Both files have hidden names, which the data layer skips, so
training never sees them.
"""
from __future__ import annotations

import contextlib
import numbers
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import UserInputError
from ..label_pool import check_class_name
from .changes import (
    Change,
    ItemChange,
    append_json_lines,
    new_change_id,
    now_iso,
    plural,
    read_json_lines,
    relative,
)
from .editor import CHANGE_LOG
from .label_backends import LabelBackend, backend_for

if TYPE_CHECKING:
    from ..label_pool import LabelPool, PoolItem

PROVENANCE_LOG = ".jupyter_dl_labels.jsonl"
# typed: no suggestion was shown; accepted: the suggestion; corrected: a suggestion was shown and another class chosen.
HOWS = ("typed", "accepted", "corrected")

LabelChange = Change  # what assign() and undo() return: a Change whose action is "label" or "undo"


@dataclass(frozen=True)
class Assignment:
    """One label to give: the item's key, the class, and how it was chosen (for the provenance log)."""

    key: int
    label: str
    how: str = "typed"               # one of HOWS
    model: str | None = None         # which model made the suggestion, e.g. "embeddings:prototype" or a run's name
    suggested: str | None = None     # the suggested label shown (None if none)
    confidence: float | None = None  # of the suggestion


class LabelWriter:
    """Labels the pool's unlabelled images: :meth:`assign`, :meth:`undo` and :meth:`add_class`.

    ``pool`` is kept up to date: a labelled item gets its label and (folder) its new path, keys
    never change, and ``pool.classes`` gains the labels it did not have. Every method raises
    UserInputError (one sentence) on bad input and then has changed nothing.
    """

    def __init__(self, pool: LabelPool) -> None:
        self.pool = pool
        self._backend: LabelBackend = backend_for(pool)
        self._history: list[Change] = []
        self._memory_log: list[dict] = []
        self._memory_provenance: list[dict] = []
        # A DataFrame's labels live in memory, so its logs do too: a file would outlive what it describes.
        in_memory = pool.kind == "dataframe"
        self.log_path: Path | None = None if in_memory else pool.root / CHANGE_LOG
        self.provenance_path: Path | None = None if in_memory else pool.root / PROVENANCE_LOG

    # ------------------------------------------------------------------ actions
    def add_class(self, name: str) -> str:
        """Add a class to ``pool.classes`` and return its clean name; UserInputError when it is one already.

        Folder kind: its class folder is made with its first image, since an empty one would stop %finetune.
        """
        name = check_class_name(self.pool, name)
        if name in self.pool.classes:
            raise UserInputError(f"{name!r} is a class already: pick it from the classes.")
        self.pool.classes.append(name)
        return name

    def assign(self, assignments: Sequence[Assignment]) -> LabelChange:
        """Give each assignment's item its label, all or nothing; a label not yet a class becomes one."""
        chosen = self._check(assignments)
        items, labels = [item for item, _, _ in chosen], [label for _, label, _ in chosen]
        change = Change(id=new_change_id("label"), action="label", items=[], time=now_iso(), summary="",
                        label=labels[0] if len(set(labels)) == 1 else None)
        change.items = self._backend.write(change, items, labels)
        new_classes = [label for label in dict.fromkeys(labels) if label not in self.pool.classes]
        change._revert["new_classes"] = new_classes
        change.summary = _summary(change, [*self.pool.classes, *new_classes])
        self._record(change, [self._provenance(change, c, a) for c, (_, _, a) in zip(change.items, chosen)])
        self._keep(change)
        return change

    def undo(self) -> LabelChange | None:
        """Take back the last :meth:`assign` not yet undone; None when there is none.

        Refuses (UserInputError, nothing changed, still undoable) when a labelled file was moved
        or the CSV / DataFrame changed since.
        """
        if not self._history:
            return None
        change = self._history[-1]
        self._backend.undo(change)
        self._history.pop()
        self._set_items(change.items, undone=True)
        self.pool.classes[:] = [name for name in self.pool.classes if name not in change._revert["new_classes"]]
        undo = Change(id=new_change_id("undo"), action="undo", time=now_iso(), undoes=change.id,
                      summary=f"Undid: {change.summary}", label=change.label, trash=change.trash,
                      items=[ItemChange(key=c.key, old_label=c.new_label, new_label=None, old_path=c.new_path,
                                        new_path=c.old_path, row=c.row) for c in change.items])
        undone = [{"item": self._item_name(c), "path": relative(c.old_path, self.pool.root), "label": None,
                   "how": "undone", "undoes": change.id, "time": undo.time} for c in change.items]
        try:
            self._append(self.provenance_path, self._memory_provenance, undone)
            self._append(self.log_path, self._memory_log, [self._backend.log_entry(undo)])
        except OSError as exc:  # the labels are taken back, which is what was asked; only the record is short
            warnings.warn(f"The undo worked but could not be written to the logs in {self.pool.root} ({exc}).",
                          stacklevel=2)
        return undo

    # ------------------------------------------------------------------ state
    @property
    def history(self) -> list[LabelChange]:
        """The changes :meth:`undo` can take back, oldest first."""
        return list(self._history)

    @property
    def can_undo(self) -> bool:
        """Whether :meth:`undo` has a change to take back."""
        return bool(self._history)

    def log_entries(self) -> list[dict]:
        """Every logged change and undo of this data set, oldest first (%browse's too; from memory for a DataFrame)."""
        return list(self._memory_log) if self.log_path is None else read_json_lines(self.log_path)

    def provenance_entries(self) -> list[dict]:
        """Every provenance line, oldest first (from the file; from memory for a DataFrame)."""
        return list(self._memory_provenance) if self.provenance_path is None else read_provenance(self.provenance_path)

    # ------------------------------------------------------------------ internals
    def _check(self, assignments: Sequence[Assignment]) -> list[tuple[PoolItem, str, Assignment]]:
        """(item, clean label, assignment) per assignment, after every check; nothing is written before all pass."""
        if not assignments:
            raise UserInputError("There are no labels to write: label at least one image first.")
        chosen: list[tuple[PoolItem, str, Assignment]] = []
        seen: set[int] = set()
        for assignment in assignments:
            _check_provenance(assignment)
            if not isinstance(assignment.key, numbers.Integral):
                raise UserInputError(f"Images are chosen by their keys (whole numbers), not {assignment.key!r}: "
                                     "pass a PoolItem's key.")
            item = self.pool.item(int(assignment.key))
            if item.key in seen:
                raise UserInputError(f"{item.path.name} is given two labels at once: give each image one label.")
            seen.add(item.key)
            if item.label is not None:
                raise UserInputError(f"{item.path.name} is already labelled {item.label!r}: relabel it with %browse.")
            # A label not yet a class becomes one (assign adds it), if it can name one.
            label = (assignment.label if assignment.label in self.pool.classes
                     else check_class_name(self.pool, assignment.label))
            chosen.append((item, label, assignment))
        self._backend.check_items([item for item, _, _ in chosen])
        return chosen

    def _provenance(self, change: Change, item: ItemChange, assignment: Assignment) -> dict:
        return {"item": self._item_name(item), "path": relative(item.old_path, self.pool.root),
                "label": item.new_label, "time": change.time, "how": assignment.how, "model": assignment.model,
                "suggested": None if assignment.suggested is None else str(assignment.suggested),
                "confidence": None if assignment.confidence is None else float(assignment.confidence),
                "change": change.id}

    def _item_name(self, item: ItemChange) -> Any:
        """How the provenance log names a labelled item: its row (DataFrame) or its file now, relative to root."""
        return item.row if self.pool.kind == "dataframe" else relative(item.new_path, self.pool.root)

    def _keep(self, change: Change) -> None:
        """Show a change that took effect in the pool and make it undoable."""
        self._set_items(change.items, undone=False)
        self.pool.classes.extend(change._revert["new_classes"])
        self._history.append(change)

    def _set_items(self, changes: list[ItemChange], *, undone: bool) -> None:
        position = {item.key: index for index, item in enumerate(self.pool.items)}
        for c in changes:
            index = position[c.key]
            item = self.pool.items[index]
            path = c.old_path if undone else c.new_path
            self.pool.items[index] = replace(item, label=None if undone else c.new_label, path=path or item.path)

    def _record(self, change: Change, provenance: list[dict]) -> None:
        """Write the provenance lines, then the change-log line; when either cannot be written, take back."""
        failed = self.provenance_path
        try:
            self._append(self.provenance_path, self._memory_provenance, provenance)
            failed = self.log_path
            self._append(self.log_path, self._memory_log, [self._backend.log_entry(change)])
        except OSError as exc:
            # A label missing from the permanent record is worse than no label: take it back.
            try:
                self._backend.undo(change)
            except UserInputError as stuck:
                self._keep(change)  # it did take effect: show it, and keep it undoable once the cause is fixed
                raise UserInputError(f"Could not write {failed} ({exc.strerror or exc}), and taking the labels "
                                     f"back failed too ({stuck})") from None
            if failed == self.log_path:  # the provenance lines went in: say they were taken back
                with contextlib.suppress(OSError):
                    self._append(self.provenance_path, self._memory_provenance,
                                 [{**line, "label": None, "how": "undone", "undoes": change.id} for line in provenance])
            raise UserInputError(f"Could not write {failed} ({exc.strerror or exc}), so the labels were taken back: "
                                 "free some disk space or check the folder's permissions.") from None

    @staticmethod
    def _append(path: Path | None, memory: list[dict], entries: list[dict]) -> None:
        if path is None:
            memory.extend(entries)
        else:
            append_json_lines(path, entries)


def _check_provenance(assignment: Assignment) -> None:
    """UserInputError unless ``how`` is one of HOWS and the confidence a number."""
    if assignment.how not in HOWS:
        raise UserInputError(f"how={assignment.how!r} is not one of {', '.join(HOWS)}: say how the label was chosen.")
    if assignment.confidence is not None and not isinstance(assignment.confidence, numbers.Real):
        raise UserInputError(f"confidence={assignment.confidence!r} is not a number: pass the suggestion's "
                             "probability, e.g. 0.93, or None.")


def _summary(change: Change, classes: list[str]) -> str:
    """One sentence for the UI: "Labelled 3 images: 2 'cat', 1 'dog'." (and how many were renamed)."""
    counts = Counter(c.new_label for c in change.items)
    n = plural(len(change.items), "image")
    if len(counts) == 1:
        text = f"Labelled {n} as {change.items[0].new_label!r}"
    else:
        text = f"Labelled {n}: " + ", ".join(f"{counts[name]} {name!r}" for name in classes if name in counts)
    renamed = sum(c.new_path is not None and c.old_path is not None and c.new_path.name != c.old_path.name
                  for c in change.items)
    note = f" ({renamed} renamed to avoid overwriting a file of the same name)" if renamed else ""
    return f"{text}{note}."


def read_provenance(path: str | Path) -> list[dict]:
    """The provenance log's entries, oldest first ([] when there is none); a line cut short is skipped."""
    return read_json_lines(Path(path))
