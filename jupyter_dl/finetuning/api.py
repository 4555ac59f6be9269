"""The Python API behind the magics: ``finetune()`` and ``lr_find()``.

``%finetune [ARCH] DATA --opt ...`` is exactly ``finetune(DATA, arch=ARCH, opt=...)``.
Bad input raises :class:`~jupyter_dl.errors.UserInputError` (a ``ValueError``)
with one sentence that says what to do; nothing is written before the input is
known to be good.
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


def build_learner(data: Any, arch: Any = None, *, bs: int = 64, size: int = 224, valid_pct: float = 0.2,
                  seed: int = 42, metrics: Sequence[str] = ("accuracy",), device: str = "auto",
                  precision: str = "auto", workers: int | None = None, weights: str | None = None,
                  pretrained: bool = True, label_col: str = "label", path_col: str = "path",
                  label_re: str | None = None, augment: str = "light",
                  namespace: dict[str, Any] | None = None, learner_name: str = "learn"):
    """Resolve data and model, build loaders and a Trainer: a Learner ready to train."""
    _check_options(bs=bs, size=size, valid_pct=valid_pct, workers=workers, precision=precision)
    from ..data.loaders import make_loaders
    from ..data.sources import resolve_data
    from ..models.registry import DEFAULT_ARCH, create_model
    from ..train.device import resolve_device
    from ..train.seed import seed_everything
    from ..train.trainer import Trainer
    from .learner import Learner

    torch_device = resolve_device(device)       # fails fast on --device cuda without CUDA
    seed_everything(seed)
    source = resolve_data(data, label_col=label_col, path_col=path_col, label_re=label_re,
                          valid_pct=valid_pct, seed=seed, namespace=namespace)
    bundle = create_model(arch if arch is not None else DEFAULT_ARCH, len(source.classes),
                          pretrained=pretrained, weights=weights, namespace=namespace)
    trainer = Trainer(bundle.model, device=torch_device, precision=precision, metrics=tuple(metrics),
                      seed=seed)
    loaders = make_loaders(source, size=size, bs=bs, workers=_default_workers() if workers is None else workers,
                           device=trainer.device, mean=bundle.mean, std=bundle.std, augment=augment, seed=seed,
                           channels_last=trainer.channels_last)
    config = dict(data=_data_name(data), data_description=loaders.description, arch=bundle.arch,
                  source=bundle.source, weights=bundle.weights, classes=loaders.classes, n_train=loaders.n_train,
                  n_valid=loaders.n_valid, skipped=len(loaders.skipped), bs=bs, size=size, valid_pct=valid_pct,
                  seed=seed, metrics=list(metrics), device=str(trainer.device), precision=trainer.precision,
                  augment=augment, label_col=label_col, path_col=path_col, label_re=label_re)
    learner = Learner(bundle, loaders.classes, size=size, trainer=trainer, loaders=loaders, config=config,
                      name=learner_name)
    learner.data, learner.source = _data_target(data, namespace), source
    if namespace is not None:
        # Stored before training, so an error mid-run never loses the trained weights.
        namespace[learner_name] = learner
    return learner


def finetune(data: Any, arch: Any = None, *, epochs: int = 1, freeze_epochs: int = 1,
             lr: float | str | None = None, train_bn: bool = True, background: bool = False,
             quiet: bool = False, auto_bs: bool = False, **options: Any):
    """Fine-tune a pretrained image classifier on ``data`` and return the learner.

    ``data``: a folder (one sub-folder per class, or ``train/`` + ``valid/``), a CSV
    file, ``"sample"``, a DataFrame, a torch Dataset or fastai DataLoaders.
    ``arch``: a timm or torchvision model name, an ``nn.Module``, or None for the
    offline default (EfficientNet-Lite0, ImageNet weights shipped in a package).
    ``lr``: the head's learning rate, or ``"find"`` to use the LR finder's suggestion.
    ``train_bn``: BatchNorm layers keep training while the body is frozen (fastai's default);
    False makes frozen epochs cheaper (no backward pass through the body).
    ``background``: train in a thread and return the learner at once (``learner.status``,
    ``learner.wait()``, ``learner.stop()``); the live view keeps updating.
    ``auto_bs``: when the GPU runs out of memory, halve the batch size and retry the phase
    until it fits (``learner.batch_size`` says what was chosen); without it, out of memory is
    a :class:`~jupyter_dl.errors.UserInputError` that says how much was asked and free, and the
    learner keeps the weights it had before the phase that failed.
    Other options: see :func:`build_learner` (bs, size, valid_pct, seed, metrics, device,
    precision, workers, weights, pretrained, label_col, path_col, label_re, augment).
    """
    # Checked before any data is read; build_learner checks the data and model options.
    check_count("--epochs", epochs)
    check_count("--freeze-epochs", freeze_epochs, minimum=0)
    if isinstance(lr, str) and lr != "find":
        raise UserInputError(f"lr must be a number or 'find', not {lr!r}.")
    if isinstance(lr, (int, float)) and lr <= 0:
        raise UserInputError(f"lr must be positive, not {lr!r}.")
    learner = build_learner(data, arch, **options)
    if lr == "find":
        from .lr_find_view import show_lr_find

        result = learner.lr_find(auto_bs=auto_bs)
        show_lr_find(result, quiet=quiet)
        lr = result.suggested
    if lr is not None:
        learner.config["lr"] = lr
    learner.fine_tune(epochs=epochs, freeze_epochs=freeze_epochs, lr=lr, quiet=quiet, train_bn=train_bn,
                      background=background, auto_bs=auto_bs)
    if quiet and not background:  # otherwise the live view ends with the summary
        from .summary import show_summary

        show_summary(learner)
    return learner


def lr_find(data: Any, arch: Any = None, *, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
            quiet: bool = False, **options: Any):
    """Run the LR finder on ``data`` and return the learner (weights untouched).

    The suggestion is ``learner.suggested_lr``; the sweep is ``learner.lr_find_result``.
    """
    if not 0 < start_lr < end_lr:
        raise UserInputError(f"--start-lr must be positive and below --end-lr, got {start_lr} and {end_lr}.")
    if num_it < 2:
        raise UserInputError(f"--num-it must be at least 2, not {num_it}.")
    learner = build_learner(data, arch, **options)
    from .lr_find_view import show_lr_find

    show_lr_find(learner.lr_find(start_lr=start_lr, end_lr=end_lr, num_it=num_it), quiet=quiet)
    return learner
