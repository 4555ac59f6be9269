"""Data and model -> a :class:`~jupyter_dl.finetuning.learner.Learner` ready to train: nothing stored, nothing written.

:func:`assemble_learner` checks the options, resolves DATA and ARCH, builds the loaders and a
Trainer. :func:`jupyter_dl.finetuning.api.build_learner` is it plus the notebook variable; a
resumed run (:mod:`.resume`) checks the result against the run before anything is stored.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checks import check_count
from ..errors import UserInputError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def _check_options(*, bs: int, size: int, valid_pct: float, workers: int | None, precision: str) -> None:
    check_count("--bs", bs)
    check_count("--size", size)
    if not 0 < valid_pct < 1:
        raise UserInputError(f"--valid-pct must be between 0 and 1 (e.g. 0.2), not {valid_pct!r}.")
    if workers is not None:
        check_count("--workers", workers, minimum=0)
    if precision not in PRECISIONS:
        raise UserInputError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")


def _default_workers() -> int:
    return min(os.cpu_count() or 1, 8)


def _data_name(data: Any) -> str:
    """How the run log and summary name the data: the path or variable name, else the type."""
    return os.fspath(data) if isinstance(data, (str, os.PathLike)) else type(data).__name__


def _data_target(data: Any, namespace: dict[str, Any] | None) -> Any:
    """DATA as %browse can find it again later: an existing path made absolute (the cwd may change),
    a variable name replaced by the variable's value (the name may be reassigned), anything else as given."""
    from ..data.sources import lookup_name

    if isinstance(data, (str, os.PathLike)):
        path = Path(os.path.expanduser(os.fspath(data)))
        if path.exists():
            return path.absolute()
        found, value = lookup_name(data, namespace) if isinstance(data, str) and data != "sample" else (False, None)
        if found:
            return _data_target(value, None)
    return data


def assemble_learner(data: Any, arch: Any = None, *, bs: int = 64, size: int = 224, valid_pct: float = 0.2,
                     seed: int = 42, metrics: Sequence[str] = ("accuracy",), device: str = "auto",
                     precision: str = "auto", workers: int | None = None, weights: str | None = None,
                     pretrained: bool = True, label_col: str = "label", path_col: str = "path",
                     label_re: str | None = None, augment: str = "light", quiet: bool = False,
                     namespace: dict[str, Any] | None = None, learner_name: str = "learn"):
    """Resolve data and model, build loaders and a Trainer: a Learner ready to train (not stored anywhere).

    A first-time decode of image files shows a line that counts (:mod:`jupyter_dl.ui.decode_progress`),
    unless ``quiet``; the decoder's warnings are counted in ``config["decode_warnings"]``, not printed.
    """
    _check_options(bs=bs, size=size, valid_pct=valid_pct, workers=workers, precision=precision)
    from ..data.loaders import make_loaders
    from ..data.sources import resolve_data
    from ..models.registry import DEFAULT_ARCH, create_model
    from ..train.device import resolve_device
    from ..train.seed import seed_everything
    from ..train.trainer import Trainer
    from ..ui.decode_progress import DecodeProgress
    from .learner import Learner

    torch_device = resolve_device(device)       # fails fast on --device cuda without CUDA
    seed_everything(seed)
    source = resolve_data(data, label_col=label_col, path_col=path_col, label_re=label_re,
                          valid_pct=valid_pct, seed=seed, namespace=namespace)
    bundle = create_model(arch if arch is not None else DEFAULT_ARCH, len(source.classes),
                          pretrained=pretrained, weights=weights, namespace=namespace)
    trainer = Trainer(bundle.model, device=torch_device, precision=precision, metrics=tuple(metrics),
                      seed=seed)
    with DecodeProgress(quiet=quiet) as progress:
        loaders = make_loaders(source, size=size, bs=bs, workers=_default_workers() if workers is None else workers,
                               device=trainer.device, mean=bundle.mean, std=bundle.std, augment=augment, seed=seed,
                               channels_last=trainer.channels_last, progress=progress)
    config = dict(data=_data_name(data), data_description=loaders.description, arch=bundle.arch,
                  source=bundle.source, weights=bundle.weights, classes=loaders.classes, n_train=loaders.n_train,
                  n_valid=loaders.n_valid, skipped=len(loaders.skipped),
                  decode_warnings=len({path for path, _ in loaders.decode_warnings}), bs=bs, size=size,
                  valid_pct=valid_pct, seed=seed, metrics=list(metrics), device=str(trainer.device),
                  precision=trainer.precision, augment=augment, label_col=label_col, path_col=path_col,
                  label_re=label_re)
    learner = Learner(bundle, loaders.classes, size=size, trainer=trainer, loaders=loaders, config=config,
                      name=learner_name)
    learner.data, learner.source = _data_target(data, namespace), source
    return learner
