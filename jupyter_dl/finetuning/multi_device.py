"""``--devices``: one run of a learner trained by several processes (torch.distributed), seen as one run.

The kernel keeps the learner the user works with. It has decoded the data into the on-disk cache
already (:func:`~jupyter_dl.finetuning.build.assemble_learner`), so every worker builds the same
learner from a :class:`Job` (the data's path, the model's name, the options, the kernel's current
weights in a file) and memory-maps that cache; each rank trains on its share of every epoch
(``CachedImageLoader.shard``) in DistributedDataParallel (see ``train/distributed``). Rank 0's
events come back to the kernel (``relay.py``), so the live view, Stop, the run log and the run
folder work as for one device. When the run ends, the learner holds rank 0's final weights (the
best epoch's, as fine_tune leaves them).

This module is the kernel's side; what each worker process runs, and every rank of a torchrun job
(``jupyter-dl finetune``, where there is no kernel), is :mod:`.workers`.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import UserInputError
from ..train.distributed.devices import DevicePlan
from ..train.distributed.launch import FAILED, FINISHED, WorkerGroup
from ..train.distributed.relay import EventMirror, weights_from_bytes

# What each spawned process runs (by name: the workers' module builds learners, which import this one).
WORKER_ENTRY = "jupyter_dl.finetuning.workers:run_worker"

# assemble_learner's options a worker rebuilds the learner with, as the user gave them ("auto" stays "auto":
# the kernel's learner is on the CPU, a worker's may be on a GPU).
BUILD_OPTIONS = ("bs", "size", "valid_pct", "seed", "metrics", "precision", "augment", "label_col", "path_col",
                 "label_re", "workers")


@dataclass(frozen=True)
class Job:
    """What every worker needs to build the learner and run one call of it (pickled to each process)."""

    data: str                     # an absolute path, or "sample"
    arch: str | None
    build: dict[str, Any]         # assemble_learner options (BUILD_OPTIONS)
    plan: DevicePlan
    call: str                     # "fine_tune" or "fit"
    arguments: dict[str, Any]     # the call's (epochs, lr, ...)
    weights: str | None = None    # a torch.save'd state dict every rank starts from (the kernel's model)
    history: list[dict] = field(default_factory=list)  # epochs so far: epoch numbers go on
    sync_bn: bool = False


# ----------------------------------------------------------------------------- checks (before any data is read)
def shareable_data(data: Any, namespace: dict[str, Any] | None) -> str:
    """DATA as every process can open it: an absolute path, or "sample"; one sentence otherwise."""
    from ..data.sources import lookup_name

    if isinstance(data, (str, os.PathLike)):
        path = Path(os.path.expanduser(os.fspath(data)))
        if path.exists():
            return str(path.absolute())
        if data == "sample":
            return "sample"
        found, value = lookup_name(data, namespace) if isinstance(data, str) else (False, None)
        if found and isinstance(value, (str, os.PathLike)):
            return shareable_data(value, None)
        if not found:
            return os.fspath(data)  # not there at all: resolve_data says so, with its suggestions
        data = value
    kind = type(data).__name__
    advice = ("save it as a CSV file (df.to_csv('labels.csv', index=False)) and pass that file"
              if kind == "DataFrame" else "pass the folder or CSV file of its images")
    raise UserInputError(f"--devices trains in separate processes, which cannot see a {kind} in this notebook: "
                         f"{advice}.")


def refuse_one_device_options(*, lr: Any, resume: Any, auto_bs: bool) -> None:
    """The options that work on one device only, refused in one sentence (in a kernel and under torchrun)."""
    for given, why in ((lr == "find", "--lr find runs the LR finder on one device: run %lr_find first and pass "
                                      "its suggestion as --lr"),
                       (resume is not None, "--resume goes on with a run on one device: leave out --devices"),
                       (auto_bs, "--auto-bs tries batch sizes on one device: pass --bs (per process) instead")):
        if given:
            raise UserInputError(f"{why}.")


def shareable_arch(arch: Any, namespace: dict[str, Any] | None = None) -> str | None:
    """ARCH as every process can build it: a model name (or None: the default)."""
    from ..data.sources import lookup_name

    if isinstance(arch, str):
        found, value = lookup_name(arch, namespace)
        if not found or isinstance(value, str):
            return value if found else arch
        arch = value
    if arch is None:
        return None
    raise UserInputError(f"--devices builds the model in separate processes, which cannot see a "
                         f"{type(arch).__name__} object in this notebook: pass a timm or torchvision model name "
                         "(e.g. resnet34), or train on one device.")


# ----------------------------------------------------------------------------- the kernel's side
def train_on_devices(learner: Any, call: str, arguments: dict[str, Any]) -> str:
    """Run ``learner.<call>(**arguments)`` on ``learner.devices``; returns the status (as one device would).

    Raises UserInputError with the failing worker's message when one fails; every worker is ended
    before this returns or raises.
    """
    plan: DevicePlan = learner.devices
    trainer = learner.trainer
    if learner.loaders is not None and learner.loaders.n_valid < plan.count:
        raise UserInputError(f"The validation set has {learner.loaders.n_valid} image(s), fewer than the "
                             f"{plan.count} processes of --devices {plan}: use fewer processes or more data.")
    folder = Path(tempfile.mkdtemp(prefix="jupyter_dl-job-"))
    weights = folder / "start.pt"
    torch.save({k: v.detach().cpu() for k, v in learner.model.state_dict().items()}, weights)
    job = Job(data=learner.shared_data, arch=learner.bundle.arch if learner.bundle.source != "module" else None,
              build=dict(learner.shared_options), plan=plan, call=call,
              arguments=arguments, weights=str(weights), history=list(trainer.history), sync_bn=learner.sync_bn)
    if call == "fine_tune":
        trainer.reset_best()  # as the recipe does on rank 0: this run's best
    mirror = EventMirror(trainer)
    group = WorkerGroup(WORKER_ENTRY, job, plan.count)
    status, final = None, None
    try:
        while True:
            finished = [m for m in group.messages(timeout=0.05) if _relay(m, mirror)]
            if trainer.stop_requested:
                group.request_stop(trainer.stop_reason or "user")
            if group.poll():  # then what rank 0 sent just before it ended
                finished += [m for m in group.messages(timeout=0.2) if _relay(m, mirror)]
            if finished:
                _, status, final, fingerprints = finished[-1]
                learner.ranks = {"processes": plan.count, "same_weights": len(set(fingerprints)) == 1}
            if group.result is not None:
                break
    finally:
        group.close()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    if final is not None:
        learner.model.load_state_dict(weights_from_bytes(final))
        if not learner.ranks["same_weights"]:
            warnings.warn("The processes of this run ended with different weights (DistributedDataParallel should "
                          "keep them equal): the learner has rank 0's.", stacklevel=2)
    if status is None or group.failed:
        if trainer.stop_reason == "interrupted" and "KeyboardInterrupt" in group.failure_message():
            status = "interrupted"  # an interrupt reached a worker outside its training loop
        else:
            kept = (f"`{learner.name}` keeps the best epoch's weights so far (epoch {trainer.best.epoch})"
                    if trainer.restore_best() else "no epoch finished")
            raise UserInputError(f"{group.failure_message().rstrip('.')}; {kept}.")
    if call == "fine_tune" or status != "finished":
        trainer.restore_best()
    return str(status)


def _relay(message: tuple, mirror: EventMirror) -> bool:
    """Replay rank 0's event messages; True for its FINISHED message (failures are collected by the group)."""
    if message[0] == FINISHED:
        return True
    if message[0] != FAILED:
        mirror.apply(message)
    return False
