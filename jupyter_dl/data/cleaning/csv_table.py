"""The CSV back end: a CSV of (path, label) rows, rewritten so that only the edited rows' bytes change.

A relabel rewrites the label of those rows, a remove drops those rows (the
image files stay); the file is replaced atomically and its previous bytes are
kept in the trash folder, so an undo restores it byte for byte.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ...errors import UserInputError
from ..files import label_text, table_path
from .changes import Change, ItemChange, log_base, plural, relative
from .checks import check_label_text, same_path
from .moves import new_trash_dir

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
        self._save(change, before, after)
        return [ItemChange(key=item.key, old_label=item.label, new_label=label, old_path=item.path,
                           new_path=item.path, row=item.row) for item in items]

    def remove(self, change: Change, items: list[CatalogItem]) -> list[ItemChange]:
        """Drop the items' rows (the image files stay); the CSV's previous bytes go to the trash folder."""
        before, document = self._read(items)
        rows = {item.row for item in items}
        change._revert["removed_rows"] = [{"row": row, "text": document.record_text(row)} for row in sorted(rows)]
        self._save(change, before, document.without(rows))
        return [ItemChange(key=item.key, old_label=item.label, new_label=None, old_path=item.path,
                           new_path=None, row=item.row) for item in items]

    def undo(self, change: Change) -> None:
        """Put back the CSV's bytes from before the change; refuses when the file changed since."""
        revert = change._revert
        name = self.csv_path.name
        try:
            current = self.csv_path.read_bytes()
        except OSError as exc:
            raise UserInputError(f"Could not read {self.csv_path} ({exc.strerror or exc}), so the change was "
                                 "not undone: check the file.") from None
        if hashlib.sha256(current).hexdigest() != revert["after_sha256"]:
            raise UserInputError(f"{name} was changed after this edit, so undo would lose those changes: its "
                                 f"content before the edit is kept in {revert['before']}.")
        try:
            before = Path(revert["before"]).read_bytes()
        except OSError as exc:
            raise UserInputError(f"The copy of {name} from before this edit ({revert['before']}) cannot be read "
                                 f"({exc.strerror or exc}), so the change cannot be undone.") from None
        _write_atomic(self.csv_path, before)

    def summary(self, change: Change) -> str:
        """One sentence for the UI: how many rows of which file were relabelled or removed."""
        n = plural(len(change.items), "row")
        if change.action == "remove":
            return f"Removed {n} from {self.csv_path.name} (the image files stay where they are)."
        return f"Relabelled {n} of {self.csv_path.name} as {change.label!r}."

    def log_entry(self, change: Change) -> dict:
        """The change-log entry plus the CSV; for a change also its pre-change copy, new SHA-256 and removed rows."""
        entry = log_base(change, self.catalog, self.root)
        entry["csv"] = relative(self.csv_path, self.root)
        if change.action != "undo":
            entry["before"] = relative(change._revert.get("before"), self.root)
            entry["after_sha256"] = change._revert.get("after_sha256")
            if "removed_rows" in change._revert:
                entry["removed_rows"] = change._revert["removed_rows"]
        return entry

    # ------------------------------------------------------------------
    def _read(self, items: list[CatalogItem]) -> tuple[bytes, _CsvDocument]:
        """The CSV's bytes and records, after checking the items still match what was browsed."""
        import pandas as pd

        shown = self.csv_path.name
        try:
            raw = self.csv_path.read_bytes()
            table = pd.read_csv(io.BytesIO(raw))  # read as %finetune reads it, from the very bytes to be edited
        except FileNotFoundError:
            raise UserInputError(f"{self.csv_path} no longer exists: refresh the browser.") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise UserInputError(f"Could not read {self.csv_path} ({exc}): "
                                 "check the file and refresh the browser.") from None
        document = _CsvDocument.parse(raw, shown)
        cols = self.catalog.path_col, self.catalog.label_col
        missing = [col for col in cols if col not in table.columns]
        if missing:
            raise UserInputError(f"{shown} has no column {missing[0]!r} any more: refresh the browser.")
        document.locate(*cols, paths=[str(p) for p in table[self.catalog.path_col]])
        for item in items:
            row = item.row
            if not isinstance(row, int) or not 0 <= row < len(table) or item.path is None or not same_path(
                    table_path(self.root, str(table[cols[0]].iloc[row])), item.path) or (
                    label_text(table[cols[1]].iloc[row]) != item.label):
                raise UserInputError(f"{shown} changed since it was browsed ({item.path} is no longer in row {row} "
                                     f"with label {item.label!r}): refresh the browser.")
        return raw, document

    def _save(self, change: Change, before: bytes, after: bytes) -> None:
        trash = new_trash_dir(self.root, change.id)
        copy = trash / self.csv_path.name
        _write_new(copy, before)
        try:
            _write_atomic(self.csv_path, after)
        except OSError as exc:
            raise UserInputError(f"Could not write {self.csv_path} ({exc.strerror or exc}), "
                                 "so nothing was changed.") from None
        change.trash = trash
        change._revert.update(before=copy, after_sha256=hashlib.sha256(after).hexdigest())


class _CsvDocument:
    """A CSV's text as records, each with its exact original text, so untouched records stay byte-identical."""

    def __init__(self, bom: bytes, chunks: list[tuple[list[str], str]], shown: str) -> None:
        self.bom = bom
        self.chunks = chunks      # (fields, raw text) for every record, blank lines included
        self.shown = shown
        self.data: list[int] = []  # chunk index of each data row, in the order pandas numbers them
        self.label_index = -1

    @classmethod
    def parse(cls, raw: bytes, shown: str) -> _CsvDocument:
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        try:
            text = raw[len(bom):].decode("utf-8")
        except UnicodeDecodeError:
            raise UserInputError(f"{shown} is not UTF-8 text, so it cannot be rewritten safely: "
                                 "save it as UTF-8 and browse it again.") from None
        consumed: list[str] = []

        def lines():
            for line in io.StringIO(text, newline=""):  # keeps each line's own ending
                consumed.append(line)
                yield line

        chunks = []
        for fields in csv.reader(lines()):  # the reader pulls only the lines one record needs
            chunks.append((fields, "".join(consumed)))
            consumed.clear()
        if consumed:
            chunks.append(([], "".join(consumed)))
        return cls(bom, chunks, shown)

    def locate(self, path_col: str, label_col: str, *, paths: list[str]) -> None:
        """Find the header and the data rows; check they are exactly the rows pandas read."""
        records = [i for i, (fields, _) in enumerate(self.chunks) if not _blank(fields)]
        if not records:
            self._unsafe("it has no header")
        header = self.chunks[records[0]][0]
        self.data = records[1:]
        if label_col not in header or path_col not in header:
            self._unsafe("its header does not name the columns plainly")
        self.label_index = header.index(label_col)
        path_index = header.index(path_col)
        if len(self.data) != len(paths) or any(
                len(self.chunks[i][0]) <= max(path_index, self.label_index) or self.chunks[i][0][path_index] != path
                for i, path in zip(self.data, paths)):
            self._unsafe("its rows do not line up with the table pandas reads")

    def record_text(self, row: int) -> str:
        return self.chunks[self.data[row]][1]

    def with_labels(self, labels: dict[int, str]) -> bytes:
        chunks = list(self.chunks)
        for row, label in labels.items():
            index = self.data[row]
            old_fields, raw = chunks[index]
            fields = list(old_fields)
            fields[self.label_index] = label
            chunks[index] = (fields, _write_record(old_fields, fields, raw))
        return self._join(chunks)

    def without(self, rows: set[int]) -> bytes:
        dropped = {self.data[row] for row in rows}
        return self._join([chunk for i, chunk in enumerate(self.chunks) if i not in dropped])

    def _join(self, chunks: list[tuple[list[str], str]]) -> bytes:
        return self.bom + "".join(raw for _, raw in chunks).encode("utf-8")

    def _unsafe(self, why: str) -> None:
        raise UserInputError(f"{self.shown} cannot be rewritten safely because {why}: edit it in a spreadsheet "
                             "or text editor instead.")


def _blank(fields: list[str]) -> bool:
    """A line pandas skips: empty or only spaces."""
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _write_record(old_fields: list[str], fields: list[str], original: str) -> str:
    """``fields`` as CSV text with the ``original`` record's line ending and, where it matches, its quoting style."""
    ending = next((end for end in ("\r\n", "\n", "\r") if original.endswith(end)), "")
    body = original[:len(original) - len(ending)]
    for style in (csv.QUOTE_MINIMAL, csv.QUOTE_ALL):  # all fields quoted, or quoted only where needed
        if _format(old_fields, style) == body:
            return _format(fields, style) + ending
    return _format(fields, csv.QUOTE_MINIMAL) + ending


def _format(fields: list[str], quoting: Literal[0, 1, 2, 3]) -> str:  # a csv.QUOTE_* constant
    buffer = io.StringIO()
    # The writer quotes fields holding characters of its line terminator, so keep "\r\n" and cut it off after.
    csv.writer(buffer, quoting=quoting, lineterminator="\r\n").writerow(fields)
    return buffer.getvalue()[:-2]


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet (the pre-change copy in the trash), to disk before going on."""
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once (temp file in the same folder + os.replace), keeping its mode."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, os.stat(path).st_mode & 0o7777)  # mkstemp makes 0600; keep the user's permissions
        os.replace(temp, path)
    except BaseException:
        _release_temp(temp)
        raise


def _release_temp(temp: str) -> None:
    """Take away our own unfinished temp file (never the user's data)."""
    with contextlib.suppress(OSError):
        os.unlink(temp)
