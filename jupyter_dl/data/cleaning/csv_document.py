"""A CSV file rewritten so that only the edited records' bytes change, and the copy that makes it undoable.

:class:`CsvDocument` keeps every record's exact text (quoting, line endings, a byte-order mark), so
a rewrite changes only the records it edits. :func:`replace_keeping_a_copy` swaps the new bytes in
atomically after keeping the old ones in the trash folder; :func:`restore_saved_copy` puts them
back byte for byte. Used by the CSV back ends of the editor (:mod:`.csv_table`) and of ``%label``
(:mod:`.label_backends`).
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
from typing import TYPE_CHECKING, Literal

from ...errors import UserInputError
from .changes import Change
from .moves import TRASH_DIR, new_trash_dir

if TYPE_CHECKING:
    import pandas


def load_csv(csv_path: Path, path_col: str, label_col: str, *, again: str
             ) -> tuple[bytes, pandas.DataFrame, CsvDocument]:
    """The CSV's bytes, the table pandas reads from those very bytes, and its records, lined up.

    UserInputError when the file is gone or unreadable, lacks a column, or cannot be rewritten
    safely; ``again`` ends those messages ("refresh the browser").
    """
    import pandas as pd

    try:
        raw = csv_path.read_bytes()
        table = pd.read_csv(io.BytesIO(raw))  # read as %finetune reads it, from the very bytes to be edited
    except FileNotFoundError:
        raise UserInputError(f"{csv_path} no longer exists: {again}.") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserInputError(f"Could not read {csv_path} ({exc}): check the file and {again}.") from None
    missing = [col for col in (path_col, label_col) if col not in table.columns]
    if missing:
        raise UserInputError(f"{csv_path.name} has no column {missing[0]!r} any more: {again}.")
    document = CsvDocument.parse(raw, csv_path.name)
    document.locate(path_col, label_col, paths=[str(p) for p in table[path_col]])
    return raw, table, document


def replace_keeping_a_copy(csv_path: Path, root: Path, change: Change, before: bytes, after: bytes) -> None:
    """Keep ``before`` in ROOT/.jupyter_dl_trash/<change id>/, then replace the CSV by ``after`` atomically.

    Records in ``change`` what :func:`restore_saved_copy` needs. UserInputError when the CSV
    cannot be written; it is then unchanged.
    """
    try:
        trash = new_trash_dir(root, change.id)
        copy = trash / csv_path.name
        write_new(copy, before)
    except OSError as exc:
        raise UserInputError(f"Could not keep a copy of {csv_path.name} in {root / TRASH_DIR} "
                             f"({exc.strerror or exc}), so nothing was changed: check the folder's permissions "
                             "and free space.") from None
    try:
        write_atomic(csv_path, after)
    except OSError as exc:
        raise UserInputError(f"Could not write {csv_path} ({exc.strerror or exc}), "
                             "so nothing was changed.") from None
    change.trash = trash
    change._revert.update(before=copy, after_sha256=hashlib.sha256(after).hexdigest())


def restore_saved_copy(csv_path: Path, change: Change) -> None:
    """Put back the CSV's bytes from before ``change``; refuses (UserInputError) when the file changed since."""
    revert = change._revert
    name = csv_path.name
    try:
        current = csv_path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"Could not read {csv_path} ({exc.strerror or exc}), so the change was "
                             "not undone: check the file.") from None
    if hashlib.sha256(current).hexdigest() != revert["after_sha256"]:
        raise UserInputError(f"{name} was changed after this edit, so undo would lose those changes: its "
                             f"content before the edit is kept in {revert['before']}.")
    try:
        before = Path(revert["before"]).read_bytes()
    except OSError as exc:
        raise UserInputError(f"The copy of {name} from before this edit ({revert['before']}) cannot be read "
                             f"({exc.strerror or exc}), so the change cannot be undone.") from None
    write_atomic(csv_path, before)


class CsvDocument:
    """A CSV's text as records, each with its exact original text, so untouched records stay byte-identical."""

    def __init__(self, bom: bytes, chunks: list[tuple[list[str], str]], shown: str) -> None:
        self.bom = bom
        self.chunks = chunks      # (fields, raw text) for every record, blank lines included
        self.shown = shown
        self.data: list[int] = []  # chunk index of each data row, in the order pandas numbers them
        self.label_index = -1

    @classmethod
    def parse(cls, raw: bytes, shown: str) -> CsvDocument:
        """The records of ``raw`` (a CSV file's bytes; ``shown`` names it in messages)."""
        bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
        try:
            text = raw[len(bom):].decode("utf-8")
        except UnicodeDecodeError:
            raise UserInputError(f"{shown} is not UTF-8 text, so it cannot be rewritten safely: "
                                 "save it as UTF-8 and open it again.") from None
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
        # A row may stop before the label column (pandas reads its label as empty): with_labels extends it.
        if len(self.data) != len(paths) or any(
                len(self.chunks[i][0]) <= path_index or self.chunks[i][0][path_index] != path
                for i, path in zip(self.data, paths)):
            self._unsafe("its rows do not line up with the table pandas reads")

    def record_text(self, row: int) -> str:
        """The exact text of data row ``row`` (0-based, as pandas numbers it), line ending included."""
        return self.chunks[self.data[row]][1]

    def with_labels(self, labels: dict[int, str]) -> bytes:
        """The file's bytes with the label of each data row in ``labels`` replaced, every other byte kept."""
        chunks = list(self.chunks)
        for row, label in labels.items():
            index = self.data[row]
            old_fields, raw = chunks[index]
            fields = list(old_fields) + [""] * (self.label_index + 1 - len(old_fields))
            fields[self.label_index] = label
            chunks[index] = (fields, _write_record(old_fields, fields, raw))
        return self._join(chunks)

    def without(self, rows: set[int]) -> bytes:
        """The file's bytes without the data rows ``rows``, every other byte kept."""
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


def write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet (the pre-change copy in the trash), to disk before going on."""
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def write_atomic(path: Path, data: bytes) -> None:
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
