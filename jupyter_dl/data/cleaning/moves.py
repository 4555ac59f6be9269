"""Move files without ever overwriting or deleting them, all or nothing, and keep removed files in the trash folder.

Nothing is ever deleted: files are only renamed, a name clash gets a new name
(``x-1.jpg``) and never overwrites, an undo that would overwrite refuses. A
multi-item move that fails midway moves back what it moved, so the data set is
as before. Removed files and a CSV's previous bytes go to
``ROOT/.jupyter_dl_trash/<change id>/``, a hidden name, which the data layer
skips, so training never sees them.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import os
from collections.abc import Iterable
from pathlib import Path

from ...errors import UserInputError

TRASH_DIR = ".jupyter_dl_trash"


def new_trash_dir(root: Path, change_id: str) -> Path:
    """A fresh folder for one change in ROOT/.jupyter_dl_trash (never an existing one)."""
    for n in itertools.count():
        folder = root / TRASH_DIR / (change_id if n == 0 else f"{change_id}-{n}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def remove_empty_dirs(folders: Iterable[Path]) -> None:
    """rmdir each folder that is empty (rmdir refuses a non-empty one, so nothing else can go)."""
    for folder in folders:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


# os.rename / os.replace overwrite an existing target on POSIX, and "check, then rename"
# races with anything else writing there. So a target name is first *claimed*: an empty
# placeholder created with O_CREAT | O_EXCL, which fails atomically when the name exists
# (also on case-insensitive file systems, and for dangling links). Only then is the file
# moved over our own placeholder with os.replace (which, unlike os.rename, replaces on
# Windows too). If the move fails, the empty placeholder is ours to take away again.
# What remains is a microseconds-wide window in which another program would have to
# replace our freshly made placeholder by name; a user's existing file is never at risk.
def _claim(target: Path, *, exact: bool) -> Path:
    """Create an empty placeholder at ``target`` (or the first free ``stem-N.ext`` unless exact) and return it."""
    for n in itertools.count():
        candidate = target if n == 0 else target.with_name(f"{target.stem}-{n}{target.suffix}")
        try:
            handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if exact:
                raise
            continue
        os.close(handle)
        return candidate
    raise AssertionError("unreachable")


def _release(placeholder: Path) -> None:
    """Take back a placeholder made by :func:`_claim` that no file was moved onto (still empty)."""
    try:
        if os.lstat(placeholder).st_size == 0:
            os.unlink(placeholder)
    except OSError:
        pass


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the ones this call created, outermost first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
            created.append(path)
        except FileExistsError:
            pass
    return created


def _move_one(src: Path, dst: Path, *, exact: bool) -> tuple[Path, list[Path]]:
    """Move ``src`` to ``dst`` without overwriting; returns (where it went, folders created for it)."""
    created = _make_dirs(dst.parent)
    try:
        final = _claim(dst, exact=exact)
        try:
            os.replace(src, final)
        except BaseException:
            _release(final)
            raise
    except BaseException:
        remove_empty_dirs(reversed(created))
        raise
    return final, created


def move_all(moves: list[tuple[Path, Path]], *, exact: bool) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Move every (src, dst); all or nothing. Returns ((src, where it went) per move, folders created).

    When one move fails, the ones already done are moved back and the created
    folders removed again, and UserInputError names the file that failed.
    """
    done: list[tuple[Path, Path]] = []
    created: list[Path] = []
    for src, dst in moves:
        try:
            final, new_dirs = _move_one(src, dst, exact=exact)
        except OSError as exc:
            stuck = _move_back(done)
            remove_empty_dirs(reversed(created))
            # A rename cannot cross drives, and "Invalid cross-device link" does not say what to do.
            reason = ("it is on another drive than the data set: put the files on the same drive"
                      if exc.errno == errno.EXDEV else exc.strerror or str(exc))
            if stuck:
                raise UserInputError(
                    f"Could not move {src} to {dst.parent} ({reason}), and {len(stuck)} file(s) already moved could "
                    f"not be moved back (first: {stuck[0][1]} should go to {stuck[0][0]}): move them back by hand."
                ) from None
            raise UserInputError(f"Could not move {src} to {dst.parent} ({reason}), so nothing was changed.") from None
        done.append((src, final))
        created.extend(new_dirs)
    return done, created


def undo_moves(moves: list[tuple[Path, Path]], created: list[Path]) -> None:
    """Move every (src, dst) of an earlier :func:`move_all` back, and remove the ``created`` folders if empty.

    Refuses (UserInputError, nothing moved) when a moved file is gone or something now occupies
    its old place: an undo never overwrites.
    """
    for _src, dst in moves:
        if not os.path.lexists(dst):
            raise UserInputError(f"{dst} is no longer there (moved or deleted since this change), so the "
                                 "change cannot be undone: put the file back there and undo again.")
    for src, _dst in moves:
        if os.path.lexists(src):
            raise UserInputError(f"Something now occupies {src}, and undo never overwrites, so nothing was "
                                 "changed: move that file away and undo again.")
    move_all([(dst, src) for src, dst in moves], exact=True)
    remove_empty_dirs(reversed(created))


def _move_back(done: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Undo moves (last first) without overwriting; returns the (src, dst) pairs that could not be moved back."""
    stuck = []
    for src, dst in reversed(done):
        try:
            _move_one(dst, src, exact=True)
        except OSError:
            stuck.append((src, dst))
    return stuck
