"""The record of one edit: :class:`Change` and :class:`ItemChange`, their summary wording and change-log entry.

Also the JSON-lines files every edit appends to (the change log, %label's provenance log):
:func:`append_json_lines` and :func:`read_json_lines`.
"""
from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ItemChange:
    """What happened to one item: its label and where its file (or row) went."""

    key: int
    old_label: str | None     # None: the image had no label yet (%label)
    new_label: str | None     # None: removed
    old_path: Path | None
    new_path: Path | None     # folder: the class folder or the trash; tables: the same file; None once a row is dropped
    row: Any = None           # CSV / DataFrame row (the table's index label before the change)


@dataclass
class Change:
    """One relabel, remove or undo, as shown to the user and written to the change log."""

    id: str                   # also the name of its folder in the trash
    action: str               # "relabel", "remove", "label" (%label) or "undo"
    items: list[ItemChange]
    time: str                 # ISO 8601, local time with offset
    summary: str              # one sentence for the UI
    label: str | None = None  # the new label of a relabel (of a "label" change: the one label all got, if so)
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


def new_change_id(action: str) -> str:
    """A change's id: local time to the microsecond and the action ("20250102-130405-123456-relabel")."""
    return f"{datetime.datetime.now():%Y%m%d-%H%M%S-%f}-{action}"


def now_iso() -> str:
    """The time now as ISO 8601 in local time with its offset, to the second ("2025-01-02T13:04:05+01:00")."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def log_base(change: Change, kind: str, root: Path | None) -> dict:
    """The change-log entry's fields that every back end writes; paths relative to ``root`` (None: the cwd).

    ``kind`` is the data set's kind ("folder", "csv", "dataframe").
    """
    base = root if root is not None else Path.cwd()
    return {
        "id": change.id, "time": change.time, "action": change.action, "kind": kind,
        "label": change.label, "undoes": change.undoes, "summary": change.summary,
        "trash": relative(change.trash, base),
        "items": [{"key": c.key, "row": c.row, "from": relative(c.old_path, base), "to": relative(c.new_path, base),
                   "old_label": c.old_label, "new_label": c.new_label} for c in change.items],
    }


def append_json_lines(path: Path, entries: Iterable[dict]) -> None:
    """Append one JSON line per entry to ``path`` and flush it to disk (fsync) before returning.

    A line cut short earlier (a full disk, a crash) is ended first, so it cannot swallow the new ones.
    Raises OSError when the file cannot be written.
    """
    text = "".join(json.dumps(entry, default=str, ensure_ascii=False) + "\n" for entry in entries)
    with open(path, "a+b") as log:
        if log.tell() > 0:
            log.seek(-1, os.SEEK_END)
            if log.read(1) != b"\n":
                text = "\n" + text
        log.write(text.encode("utf-8"))
        log.flush()
        os.fsync(log.fileno())  # the record must survive a crash right after the change


def read_json_lines(path: Path) -> list[dict]:
    """Every entry of a JSON-lines file, oldest first ([] when there is no file); lines cut short are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:  # a line cut short by a full disk or a crash: the others still count
            continue
    return entries
