"""The exported learner file (``learn.export()``, :func:`~jupyter_dl.finetuning.learner.load_learner`).

One file: the weights as plain tensors and a small JSON description (architecture, classes, image
size, normalisation, history, versions). Nothing is pickled but tensors, so it loads with
``torch.load(weights_only=True)``; no path of this machine is in it. Written beside the target and
renamed (:func:`jupyter_dl.paths.write_atomic`): an interrupted export never leaves a half file.
Every run folder keeps its best weights in the same format (``model.jdl``, see :mod:`.run_files`),
so :func:`find_model_file` also takes a run folder, or a run's name as ``%runs`` lists it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from .._version import __version__
from ..errors import UserInputError
from ..paths import write_atomic
from ..train.runlog import LOG_NAME, MODEL_NAME

EXPORT_FORMAT = "jupyter_dl.finetuning.learner/1"


def export_meta(*, arch: str, source: str, classes: Sequence[str], size: int, mean: Sequence[float],
                std: Sequence[float], history: list[dict]) -> dict[str, Any]:
    """The JSON description stored beside the weights."""
    return {
        "format": EXPORT_FORMAT,
        "jupyter_dl_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "arch": arch,
        "source": source,
        "classes": list(classes),
        "size": size,
        "mean": list(mean),
        "std": list(std),
        "history": history,
    }


def write_export(path: str | os.PathLike, meta: dict[str, Any], state_dict: Mapping[str, torch.Tensor]) -> Path:
    """Write ``meta`` and the weights (copied to the CPU) to ``path`` atomically; returns the path."""
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"{path} is a folder: give export() a file name such as {path / 'model.jdl'}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    write_atomic(path, lambda file: torch.save({"meta": json.dumps(meta), "state_dict": state}, file))
    return path


def read_export(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, state_dict) of an exported learner; one clear sentence when it is not one."""
    if not path.is_file():
        raise UserInputError(f"No exported learner at {path}: check the path, or create one with learn.export().")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        meta = json.loads(payload["meta"])
        state = payload["state_dict"]
    except Exception as exc:  # not our format, or a damaged file
        raise UserInputError(f"{path} is not a learner exported by jupyter_dl ({exc.__class__.__name__}): "
                             "export one with learn.export(path).") from None
    if meta.get("format") != EXPORT_FORMAT:
        raise UserInputError(f"{path} has format {meta.get('format')!r}; this jupyter_dl reads {EXPORT_FORMAT}.")
    return meta, state


def find_model_file(path: str | os.PathLike) -> Path:
    """The exported file ``path`` names: the file itself, a run folder's ``model.jdl``, or a run's (by name)."""
    path = Path(path).expanduser()
    if path.is_dir():
        if (path / MODEL_NAME).is_file():
            return path / MODEL_NAME
        if (path / LOG_NAME).is_file():
            raise UserInputError(f"Run {path.name} has no saved model (no epoch of it finished, or an older "
                                 "jupyter_dl made it): train one with %finetune.")
        raise UserInputError(f"{path} is a folder without a {MODEL_NAME}: give a file written by learn.export() "
                             "or a run folder that %runs lists.")
    if not path.exists() and len(path.parts) == 1:
        from ..history.summaries import resolve_runs

        try:  # a run's name, or a unique part of it, as %runs shows it
            return find_model_file(resolve_runs([str(path)])[0]["path"])
        except UserInputError:
            pass  # not a run either: the error below says the file is missing
    return path
