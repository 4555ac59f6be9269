"""Checks every back end makes before an edit: a new label's text (and, for folders, its folder name),
and whether a row still names the browsed file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import UserInputError
from ..files import UNLABELLED_DIR, is_hidden


def check_label_text(label: Any) -> str:
    """``label`` as text; UserInputError when it is blank or holds a line break or control character."""
    if not isinstance(label, str):
        label = str(label)
    if not label.strip():
        raise UserInputError("The new label is empty: type the class name, e.g. 'dog'.")
    if any(ord(ch) < 32 for ch in label):
        raise UserInputError(f"The label {label!r} contains a line break or control character: "
                             "type a plain class name.")
    return label


def check_folder_label(label: Any) -> str:
    """``label`` if it can name a class folder; else UserInputError (blank, hidden, a separator, outer spaces,
    or the name of the folder of images still to label)."""
    label = check_label_text(label)
    problem = None
    if label in (".", ".."):
        problem = "is not a folder name"
    elif "/" in label or "\\" in label or (os.altsep and os.altsep in label):
        problem = "contains a path separator"
    elif is_hidden(label):
        problem = "starts with '.' or '__', which makes a hidden folder that training skips"
    elif label != label.strip():
        problem = "starts or ends with a space"
    elif label == UNLABELLED_DIR:
        problem = "names the folder of images still to label, which training skips"
    if problem:
        raise UserInputError(f"The label {label!r} {problem}: a label is a class folder's name, e.g. 'dog'.")
    return label


def same_path(a: Path | str, b: Path | str) -> bool:
    """Whether ``a`` and ``b`` are one file: the same absolute path, or (both existing) the same file on disk."""
    if os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
