"""The record of one edit: :class:`Change` and :class:`ItemChange`, their summary wording and change-log entry."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..catalog import Catalog


@dataclass(frozen=True)
class ItemChange:
    """What happened to one item: its label and where its file (or row) went."""

    key: int
    old_label: str
    new_label: str | None     # None: removed
    old_path: Path | None
    new_path: Path | None     # folder: the class folder or the trash; tables: the same file; None once a row is dropped
    row: Any = None           # CSV / DataFrame row (the table's index label before the change)


@dataclass
class Change:
    """One relabel, remove or undo, as shown to the user and written to the change log."""

    id: str                   # also the name of its folder in the trash
    action: str               # "relabel", "remove" or "undo"
    items: list[ItemChange]
    time: str                 # ISO 8601, local time with offset
    summary: str              # one sentence for the UI
    label: str | None = None  # the new label of a relabel
    undoes: str | None = None  # action "undo": the id of the change it reverted
    trash: Path | None = None  # where removed files / the previous CSV bytes are kept
    # What the backend needs to revert it, and the catalog as it was before.
    _revert: dict = field(default_factory=dict, repr=False, compare=False)


def plural(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless n is 1: "1 image", "3 images"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def relative(path: Path | None, root: Path) -> str | None:
    """``path`` relative to ``root`` in POSIX form for the change log (as it is when outside root; None stays None)."""
    if path is None:
        return None
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def log_base(change: Change, catalog: Catalog, root: Path | None) -> dict:
    """The change-log entry's fields that every back end writes; paths relative to ``root`` (None: the cwd)."""
    base = root if root is not None else Path.cwd()
    return {
        "id": change.id, "time": change.time, "action": change.action, "kind": catalog.kind,
        "label": change.label, "undoes": change.undoes, "summary": change.summary,
        "trash": relative(change.trash, base),
        "items": [{"key": c.key, "row": c.row, "from": relative(c.old_path, base), "to": relative(c.new_path, base),
                   "old_label": c.old_label, "new_label": c.new_label} for c in change.items],
    }
