"""What the user passed as DATA -> one of three source kinds the loaders understand.

A DATA that names nothing gets one sentence, with "did you mean ...?" when a sibling of the
missing folder or file (``data/pets`` for ``data/pest``), a notebook variable or ``"sample"`` is
spelt nearly alike.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from .files import check_valid_pct, items_from_csv, items_from_folder, items_from_table
from .sample_data import sample
from .source_types import DatasetSource, FastaiSource, ImageItems

__all__ = ["ImageItems", "DatasetSource", "FastaiSource", "resolve_data", "lookup_name", "SUPPORTED_DATA"]

SUPPORTED_DATA = ("a folder with one sub-folder per class, a .csv file, a pandas DataFrame, a torch Dataset, "
                  "a fastai DataLoaders, \"sample\", or the name of a variable holding one of those")


def resolve_data(data: Any, *, label_col: str = "label", path_col: str = "path", label_re: str | None = None,
                 valid_pct: float = 0.2, seed: int = 42, namespace: dict | None = None
                 ) -> ImageItems | DatasetSource | FastaiSource:
    """Turn DATA into ImageItems (files), DatasetSource (torch Dataset) or FastaiSource (fastai DataLoaders).

    A string is tried, in order, as an existing path, the keyword "sample" (the
    embedded digits data set), and a variable name (dots allowed: "learn.dls")
    in ``namespace``. Raises UserInputError with one sentence for bad input.
    """
    check_valid_pct(valid_pct)
    options = dict(label_col=label_col, path_col=path_col, label_re=label_re, valid_pct=valid_pct, seed=seed)
    if isinstance(data, (str, os.PathLike)):
        return _resolve_text(data, namespace, options)
    return _resolve_object(data, options, name=None)


def _resolve_text(data: str | os.PathLike, namespace: dict | None, options: dict
                  ) -> ImageItems | DatasetSource | FastaiSource:
    shown = os.fspath(data)
    path = Path(os.path.expanduser(shown))
    if path.exists():
        return _resolve_path(path, shown, options)
    if isinstance(data, str):
        if data == "sample":
            return _resolve_path(sample(), "sample (digits)", options)
        found, value = lookup_name(data, namespace)
        if found:
            return _resolve_object(value, options, name=data)
        if namespace is not None and data.replace(".", "").isidentifier():
            guess = _did_you_mean(closest_path(shown) or _closest_name(data, namespace))
            raise UserInputError(
                f"{data!r} is neither an existing path nor a variable in the notebook{guess}: check the spelling, "
                "or pass a folder, a .csv file or \"sample\".")
    raise UserInputError(f"The path {shown} does not exist{_did_you_mean(closest_path(shown))}: "
                         f"check the spelling and the current directory ({os.getcwd()}).")


# Names a notebook always has, never what a user meant as DATA.
_SHELL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
_MAX_SIBLINGS = 5000  # a huge folder is not searched for a near name (listing it could take long)


def _did_you_mean(guess: str | None) -> str:
    return f" (did you mean {guess}?)" if guess else ""


def closest_path(shown: str) -> str | None:
    """``shown`` with each missing part replaced by its closest sibling (``data/pest`` -> ``data/pets``),
    written as the user wrote it; None unless that path exists."""
    parts = list(Path(shown).parts)
    for index, part in enumerate(parts):
        here = Path(*parts[: index + 1])
        if Path(os.path.expanduser(here)).exists():
            continue
        parent = Path(os.path.expanduser(Path(*parts[:index]))) if index else Path(".")
        try:
            siblings = [entry.name for _, entry in zip(range(_MAX_SIBLINGS), os.scandir(parent))
                        if not entry.name.startswith(".")]
        except OSError:
            return None
        match = difflib.get_close_matches(part, siblings, n=1, cutoff=0.6)
        if not match:
            return None
        parts[index] = match[0]
    return str(Path(*parts)) if parts and Path(os.path.expanduser(Path(*parts))).exists() else None


def _closest_name(name: str, namespace: dict) -> str | None:
    """The notebook variable (or "sample") spelt most like ``name``: only values that could be DATA."""
    candidates = ["sample"] + [key for key, value in namespace.items()
                               if not key.startswith("_") and key not in _SHELL_NAMES and not callable(value)
                               and type(value).__name__ != "module"]
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f'"{match[0]}"' if match and match[0] == "sample" else (match[0] if match else None)


def lookup_name(name: str, namespace: dict | None) -> tuple[bool, Any]:
    """(found, value) for "var" or "var.attr.attr" in the notebook's namespace."""
    if namespace is None or not name.replace(".", "").isidentifier():
        return False, None
    head, *attrs = name.split(".")
    if head not in namespace:
        return False, None
    value = namespace[head]
    for attr in attrs:
        if not hasattr(value, attr):
            return False, None
        value = getattr(value, attr)
    return True, value


def _resolve_path(path: Path, shown: str, options: dict) -> ImageItems:
    path = path.absolute()
    common = dict(valid_pct=options["valid_pct"], seed=options["seed"])
    if path.is_dir():
        return items_from_folder(path, shown=shown, label_re=options["label_re"], **common)
    if path.suffix.lower() == ".csv":
        return items_from_csv(path, shown=shown, label_col=options["label_col"], path_col=options["path_col"], **common)
    raise UserInputError(f"{shown} is a file, not a data set: pass {SUPPORTED_DATA}.")


def _resolve_object(data: Any, options: dict, name: str | None) -> ImageItems | DatasetSource | FastaiSource:
    if isinstance(data, (ImageItems, DatasetSource, FastaiSource)):
        return data
    if isinstance(data, (str, os.PathLike)):  # a variable holding a path
        return _resolve_text(data, None, options)
    if type(data).__module__.startswith("fastai"):
        return _fastai_source(data, name)
    if type(data).__module__.startswith("pandas") and hasattr(data, "columns"):
        return items_from_table(data, Path.cwd(), origin="DataFrame" + (f" {name}" if name else ""),
                                label_col=options["label_col"], path_col=options["path_col"],
                                valid_pct=options["valid_pct"], seed=options["seed"])
    from .torch_dataset import as_torch_dataset, dataset_source

    dataset = as_torch_dataset(data)
    if dataset is not None:
        return dataset_source(dataset, None, valid_pct=options["valid_pct"], seed=options["seed"], name=name)
    if isinstance(data, tuple) and len(data) == 2:  # (train, valid), already split
        train, valid = (as_torch_dataset(part) for part in data)
        if train is not None and valid is not None:
            return dataset_source(train, valid, valid_pct=options["valid_pct"], seed=options["seed"], name=name)
    what = f"The variable {name!r} holds a {type(data).__name__}" if name else f"Data of type {type(data).__name__}"
    raise UserInputError(f"{what}, which is not supported as data: pass {SUPPORTED_DATA}.")


# ----------------------------------------------------------------------------- fastai
def _fastai_source(dls: Any, name: str | None) -> FastaiSource:
    if not hasattr(dls, "train") and hasattr(dls, "dls"):  # a Learner: train on its data
        dls = dls.dls
    if not (hasattr(dls, "train") and hasattr(dls, "valid")):
        what = (f"The variable {name!r} holds a fastai {type(dls).__name__}" if name
                else f"A fastai {type(dls).__name__}")
        raise UserInputError(f"{what}, which is not supported as data: pass a fastai DataLoaders "
                             "(e.g. dblock.dataloaders(path)).")
    vocab = getattr(dls, "vocab", None)
    if vocab is None:
        raise UserInputError("The fastai DataLoaders has no vocab: "
                             "build it with a CategoryBlock so it has class names.")
    classes = [str(c) for c in vocab]
    n_train, n_valid = len(dls.train_ds), len(dls.valid_ds)
    label = f" {name}" if name else ""
    description = f"fastai DataLoaders{label}: {n_train} train, {n_valid} valid, {len(classes)} classes"
    return FastaiSource(dls=dls, classes=classes, description=description)
