"""``--devices``: one run of a learner trained by several processes (torch.distributed), seen as one run.

The kernel keeps the learner the user works with. It has decoded the data into the on-disk cache
already (:func:`~jupyter_dl.finetuning.build.assemble_learner`), so every worker builds the same
learner from a :class:`Job` (the data's path, the model's name, the options, the kernel's current
weights in a file) and memory-maps that cache; each rank trains on its share of every epoch
(``CachedImageLoader.shard``) in DistributedDataParallel (see ``train/distributed``). Rank 0's
events come back to the kernel (``relay.py``), so the live view, Stop, the run log and the run
folder work as for one device. When the run ends, the learner holds rank 0's final weights (the
best epoch's, as fine_tune leaves them).

Under torchrun (``python -m jupyter_dl finetune``, see ``jupyter_dl/cli.py``) there is no kernel:
:func:`train_under_torchrun` runs on every rank and rank 0 keeps the run log and folder itself.
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import UserInputError
from ..train.distributed.devices import DevicePlan
from ..train.distributed.launch import FAILED, FINISHED, Place, WorkerGroup, describe_exception, guard_worker
from ..train.distributed.ranks import RankGroup, join, leave
from ..train.distributed.relay import EventForwarder, EventMirror, weights_from_bytes, weights_to_bytes

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
    group = WorkerGroup(run_worker, job, plan.count)
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


# ----------------------------------------------------------------------------- the workers' side
def run_worker(job: Job, place: Place, queue: Any, stop_code: Any) -> str:
    """The entry point of each spawned process: join, build, train, report.

    Workers are deaf to SIGINT: Jupyter interrupts a kernel by signalling its whole process group,
    and the kernel decides what an interrupt means (a foreground run stops at the next batch, all
    ranks agreeing; a background run, like one on one device, goes on). So training runs in a thread,
    where the Trainer installs no handler of its own, and the main thread ignores the signal.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    guard_worker(place.parent_pid)
    try:
        group = join_job(job.plan, rank=place.rank, world=place.world, local_rank=place.local_rank,
                         store=place.store, external_stop=stop_code, sync_bn=job.sync_bn)
        learner = build_rank_learner(job, group)
        forwarder = EventForwarder(queue.put, learner.trainer) if group.is_main else None
        if forwarder is not None:
            learner.trainer.bus.subscribe(forwarder)
        status = _in_thread(lambda: run_call(learner, job))
        fingerprints = group.fingerprints(learner.model)  # DDP keeps the ranks equal: checked, not assumed
        if forwarder is not None:
            forwarder.flush()
            queue.put((FINISHED, status, weights_to_bytes(learner.model.state_dict()), fingerprints))
        return status
    except BaseException as exc:
        queue.put((FAILED, place.rank, describe_exception(exc)))
        raise
    finally:
        leave()


def _in_thread(work: Callable[[], str]) -> str:
    """``work()`` run in a thread (its exception raised here)."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("done", work()))
        except BaseException as exc:  # handed to the caller
            outcome.append(("raised", exc))

    thread = threading.Thread(target=run, name="jupyter_dl-rank")
    thread.start()
    thread.join()
    kind, value = outcome[0]
    if kind == "raised":
        raise value
    return value


def join_job(plan: DevicePlan, *, rank: int, world: int, local_rank: int, store: tuple[str, int] | None = None,
             external_stop: Any = None, sync_bn: bool = False) -> RankGroup:
    """This process's threads and device, then its place in the process group."""
    if plan.kind == "cpu" and "OMP_NUM_THREADS" not in os.environ:  # torchrun sets it for several per node
        torch.set_num_threads(plan.threads_per_process())
    device = torch.device(plan.device_of(local_rank))
    if sync_bn and device.type != "cuda":
        raise UserInputError("--sync-bn needs GPUs (--devices N): BatchNorm statistics are synchronised over NCCL.")
    return join(backend=plan.backend, rank=rank, world=world, local_rank=local_rank, device=device, store=store,
                external_stop=external_stop, sync_bn=sync_bn)


def build_rank_learner(job: Job, group: RankGroup) -> Any:
    """The learner of this rank: built as the kernel's was (the cache decoded once per machine), sharded."""
    from .build import assemble_learner

    options = {**job.build, **({"pretrained": False, "weights": None} if job.weights is not None else {})}

    def build() -> Any:  # with the kernel's weights to start from, no pretrained file needs reading
        return assemble_learner(job.data, job.arch, device=str(group.device), quiet=True, **options)

    # The first process of each machine decodes (or finds) the cache; the others then memory-map it.
    if group.local_rank == 0:
        learner = build()
        group.barrier()
    else:
        group.barrier()
        learner = build()
    if job.weights is not None:
        learner.model.load_state_dict(torch.load(job.weights, map_location=group.device, weights_only=True))
    learner.trainer.history.extend(job.history)
    loaders = learner.loaders
    if loaders.n_valid < group.world:
        raise UserInputError(f"The validation set has {loaders.n_valid} image(s), fewer than the {group.world} "
                             "processes: use fewer processes or more data.")
    for loader in (loaders.train, loaders.valid):
        loader.shard(group.rank, group.world)
    # Each rank augments its own images differently (the same seed would give every rank the same draws).
    loaders.train.transform.generator.manual_seed(int(job.build.get("seed", 42)) + group.rank)
    learner.trainer.parallel = group
    return learner


def run_call(learner: Any, job: Job) -> str:
    """The call itself, without a run session (rank 0 reports through its forwarder, or its own session)."""
    from ..train.recipe import discriminative_lrs
    from ..train.recipe import fine_tune as fine_tune_recipe

    trainer, loaders, args = learner.trainer, learner.loaders, job.arguments
    with trainer.interrupts_stop_cleanly():
        if job.call == "fine_tune":
            return fine_tune_recipe(trainer, loaders.train, loaders.valid, learner.layer_groups(), **args)
        groups = learner.layer_groups()
        learner.unfreeze()
        return trainer.fit_one_cycle(loaders.train, loaders.valid, args["epochs"],
                                     discriminative_lrs(args["lr"], len(groups), args["body_lr_ratio"]),
                                     param_groups=groups, phase="unfrozen")


# ----------------------------------------------------------------------------- under torchrun (the command line)
def launched_by_torchrun() -> bool:
    """Whether this process is one rank of a job torchrun (or Slurm with torch's variables) started."""
    return "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def train_under_torchrun(data: Any, arch: Any, options: dict[str, Any]) -> Any:
    """Every rank of a torchrun job runs this: join, build, train; rank 0 keeps the run log and folder.

    ``options``: :func:`~jupyter_dl.finetuning.finetune`'s keywords. torchrun decides the processes
    (``--nnodes``, ``--nproc-per-node``); ``devices="cpu"`` (or ``cpu:N``) trains on the CPU where there are GPUs.
    Returns the learner (rank 0's holds the best weights, as after ``%finetune``).
    """
    options = dict(options)
    for given, why in ((options.get("lr") == "find", "--lr find is not for a multi-process run: run %lr_find "
                                                      "(or a one-process run) first and pass --lr"),
                       (options.get("resume") is not None, "--resume goes on with a run on one device"),
                       (options.get("auto_bs"), "--auto-bs tries batch sizes on one device: pass --bs"),
                       (options.get("background"), "the command line trains in the foreground: leave out "
                                                   "--background")):
        if given:
            raise UserInputError(f"{why}.")
    import torch

    devices = str(options.get("devices") or "")
    kind = "cpu" if devices.startswith("cpu") or not torch.cuda.is_available() else "cuda"
    plan = DevicePlan(kind, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    group = join_job(plan, rank=int(os.environ["RANK"]), world=int(os.environ["WORLD_SIZE"]),
                     local_rank=int(os.environ.get("LOCAL_RANK", "0")), sync_bn=bool(options.get("sync_bn")))
    arguments = {"epochs": options.get("epochs", 1), "freeze_epochs": options.get("freeze_epochs", 1),
                 "train_bn": options.get("train_bn", True), **({"lr": options["lr"]} if options.get("lr") else {})}
    build = {k: options[k] for k in (*BUILD_OPTIONS, "weights", "pretrained") if k in options}
    job = Job(data=shareable_data(data, None), arch=shareable_arch(arch), build=build, plan=plan, call="fine_tune",
              arguments=arguments)
    try:
        learner = build_rank_learner(job, group)
        learner.config["devices"] = f"{group.world} processes ({plan.kind})"
        if group.is_main:
            learner.fine_tune(quiet=bool(options.get("quiet")), **arguments)
        else:
            run_call(learner, job)
    finally:
        leave()
    return learner
