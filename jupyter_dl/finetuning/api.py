"""The Python API behind the magics: ``finetune()`` and ``lr_find()``.

``%finetune [ARCH] DATA --opt ...`` is exactly ``finetune(DATA, arch=ARCH, opt=...)``.
Bad input raises :class:`~jupyter_dl.errors.UserInputError` (a ``ValueError``)
with one sentence that says what to do; nothing is written before the input is
known to be good.
"""
from __future__ import annotations

import inspect
import os
from typing import Any

from ..checks import check_count
from ..errors import UserInputError
from ..train.distributed.devices import DevicePlan, parse_devices
from .build import assemble_learner
from .target import Target


def build_learner(data: Any, arch: Any = None, *, namespace: dict[str, Any] | None = None,
                  learner_name: str = "learn", **options: Any):
    """Resolve data and model, build loaders and a Trainer: a Learner ready to train, stored as ``learner_name``.

    Options: bs, size, valid_pct, seed, metrics, device, precision, workers, weights, pretrained,
    label_col, path_col, label_re, augment (see :func:`~jupyter_dl.finetuning.build.assemble_learner`).
    With a ``namespace`` (the notebook's variables) the learner is stored there before training,
    so an error mid-run never loses the trained weights.
    """
    learner = assemble_learner(data, arch, namespace=namespace, learner_name=learner_name, **options)
    if namespace is not None:
        namespace[learner_name] = learner
    return learner


def finetune(data: Any, arch: Any = None, *, epochs: int = 1, freeze_epochs: int = 1,
             lr: float | str | None = None, train_bn: bool = True, background: bool = False,
             quiet: bool = False, auto_bs: bool = False, resume: str | os.PathLike | None = None,
             devices: str | int | None = None, sync_bn: bool = False, **options: Any):
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
    ``resume``: a run (its name as ``%runs`` lists it, or its folder) to go on with from the state
    its folder saved at its last epoch end, with its own settings (see :mod:`.resume` for the rules).
    ``devices``: train in several processes with torch.distributed: ``2`` (GPUs of this machine) or
    ``"cpu:2"`` (CPU processes); ``bs`` is then per process. ``sync_bn``: BatchNorm statistics over
    all GPUs (:mod:`.multi_device`).
    Other options: see :func:`build_learner` (bs, size, valid_pct, seed, metrics, device,
    precision, workers, weights, pretrained, label_col, path_col, label_re, augment).

    Each run folder keeps the best weights as they improve (``load_learner(run_dir)``). With a
    ``namespace`` the learner is stored as ``learner_name`` before training; a run that ends
    before its first epoch completes puts the variable's previous value back and says so.
    """
    # Checked before any data is read; build_learner checks the data and model options.
    check_count("--epochs", epochs)
    check_count("--freeze-epochs", freeze_epochs, minimum=0)
    if isinstance(lr, str) and lr != "find":
        raise UserInputError(f"lr must be a number or 'find', not {lr!r}.")
    if isinstance(lr, (int, float)) and lr <= 0:
        raise UserInputError(f"lr must be positive, not {lr!r}.")
    namespace = options.get("namespace")
    device_plan, shared = _check_devices(data, arch, devices, sync_bn, lr=lr, resume=resume, auto_bs=auto_bs,
                                         options=options)
    target = Target(namespace, options.get("learner_name", "learn")) if namespace is not None else None
    if resume is not None:
        from .resume import prepare_resume

        given = changed_options({"epochs": epochs, "freeze_epochs": freeze_epochs, "lr": lr, "train_bn": train_bn,
                                 **options})
        learner, resumed, plan = prepare_resume(resume, data, arch, given=given, options={**options, "quiet": quiet})
    else:
        learner = assemble_learner(data, arch, quiet=quiet, **options)
    if device_plan is not None:
        from .multi_device import BUILD_OPTIONS

        learner.devices, learner.shared_data, learner.sync_bn = device_plan, shared, sync_bn
        learner.shared_options = {k: v for k, v in options.items() if k in BUILD_OPTIONS}
        learner.config["devices"] = str(device_plan)
        learner.config["device"] = device_plan.describe()  # what the summary names: "2 GPUs", not the kernel's device
    if target is not None:
        learner.keep_in(target)
    epochs_before = len(learner.history)
    try:
        if resume is None:
            _train(learner, epochs=epochs, freeze_epochs=freeze_epochs, lr=lr, quiet=quiet, train_bn=train_bn,
                   background=background, auto_bs=auto_bs)
        elif plan["call"] == "fit":
            learner.fit(plan["epochs"], lr=plan["lr"], quiet=quiet, background=background, auto_bs=auto_bs,
                        resume=resumed)
        else:
            learner.fine_tune(epochs=plan["epochs"], freeze_epochs=plan["freeze_epochs"], lr=plan["lr"],
                              quiet=quiet, background=background, auto_bs=auto_bs, resume=resumed,
                              **plan["recipe"])
    except BaseException:
        shown = learner.put_back_note is not None and not quiet  # the live view's summary said it
        learner.settle_target(epochs_before)
        if learner.put_back_note and not shown:
            from ..ui.output import show_summary_text

            show_summary_text(learner.put_back_note)
        raise
    if quiet and not background:  # otherwise the live view ends with the summary
        from .summary import show_summary

        show_summary(learner)
    return learner


def _check_devices(data: Any, arch: Any, devices: str | int | None, sync_bn: bool, *, lr: Any, resume: Any,
                   auto_bs: bool, options: dict[str, Any]) -> tuple[DevicePlan | None, str | None]:
    """Check ``devices`` and what goes with it before any data is read: (the plan, the data as the workers
    open it); (None, None) without ``devices``.

    The kernel's own learner (whose cache the workers read) stays on the CPU, or the first GPU
    when this kernel already uses CUDA: launching never initialises CUDA in the kernel.
    """
    if devices is None:
        if sync_bn:
            raise UserInputError("--sync-bn synchronises BatchNorm over several GPUs: use it with --devices N.")
        return None, None
    from .multi_device import refuse_one_device_options, shareable_arch, shareable_data

    plan = parse_devices(devices)
    if sync_bn and plan.kind != "cuda":
        raise UserInputError(f"--sync-bn synchronises BatchNorm over GPUs (NCCL); --devices {devices} trains on the "
                             "CPU: leave out --sync-bn.")
    refuse_one_device_options(lr=lr, resume=resume, auto_bs=auto_bs)
    if options.get("device", "auto") != "auto":
        raise UserInputError(f"--device and --devices both say where to train: give only --devices {devices}.")
    shared = shareable_data(data, options.get("namespace"))
    shareable_arch(arch, options.get("namespace"))
    import torch

    options["device"] = "cuda:0" if plan.kind == "cuda" and torch.cuda.is_initialized() else "cpu"
    return plan, shared


def _train(learner: Any, *, epochs: int, freeze_epochs: int, lr: float | str | None, quiet: bool, train_bn: bool,
           background: bool, auto_bs: bool) -> None:
    """A new run: the LR finder first when asked (``lr="find"``), then fine_tune."""
    if lr == "find":
        from .lr_find_view import show_lr_find

        result = learner.lr_find(auto_bs=auto_bs)
        show_lr_find(result, quiet=quiet)
        lr = result.suggested
    if lr is not None:
        learner.config["lr"] = lr
    learner.fine_tune(epochs=epochs, freeze_epochs=freeze_epochs, lr=lr, quiet=quiet, train_bn=train_bn,
                      background=background, auto_bs=auto_bs)


def changed_options(values: dict[str, Any]) -> dict[str, Any]:
    """The options in ``values`` set to something else than their defaults (finetune's and build_learner's)."""
    defaults = {name: p.default for fn in (finetune, assemble_learner)
                for name, p in inspect.signature(fn).parameters.items() if p.default is not inspect.Parameter.empty}
    return {k: v for k, v in values.items() if k not in defaults or not _equal(v, defaults[k])}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    return a is b or (type(a) is type(b) and a == b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                                        and not isinstance(a, bool) and a == b)


def lr_find(data: Any, arch: Any = None, *, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
            quiet: bool = False, **options: Any):
    """Run the LR finder on ``data`` and return the learner (weights untouched).

    The suggestion is ``learner.suggested_lr``; the sweep is ``learner.lr_find_result``.
    """
    if not 0 < start_lr < end_lr:
        raise UserInputError(f"--start-lr must be positive and below --end-lr, got {start_lr} and {end_lr}.")
    if num_it < 2:
        raise UserInputError(f"--num-it must be at least 2, not {num_it}.")
    learner = build_learner(data, arch, quiet=quiet, **options)
    from .lr_find_view import show_lr_find

    show_lr_find(learner.lr_find(start_lr=start_lr, end_lr=end_lr, num_it=num_it), quiet=quiet)
    return learner
