"""What every process of a multi-process run does: join the job, build the learner, train its share.

Spawned by a kernel (:func:`run_worker`, see :mod:`.multi_device`) or started by torchrun
(:func:`train_under_torchrun`, from ``jupyter-dl finetune``), each process builds the same learner
from a :class:`~jupyter_dl.finetuning.multi_device.Job`, reads its share of the data from the
memory-mapped cache and trains in DistributedDataParallel (``trainer.parallel``). Rank 0 reports:
to the kernel through its :class:`~jupyter_dl.train.distributed.relay.EventForwarder`, or, under
torchrun, through a run session of its own (run log, run folder, progress lines).
"""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import torch

from ..errors import UserInputError
from ..train.distributed.devices import DevicePlan
from ..train.distributed.launch import FAILED, FINISHED, Place, describe_exception, guard_worker, send_last
from ..train.distributed.ranks import RankGroup, join, leave
from ..train.distributed.relay import EventForwarder, weights_to_bytes
from .multi_device import BUILD_OPTIONS, Job, refuse_one_device_options, shareable_arch, shareable_data


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
            send_last(queue, (FINISHED, status, weights_to_bytes(learner.model.state_dict()), fingerprints))
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
    refuse_one_device_options(lr=options.get("lr"), resume=options.get("resume"), auto_bs=bool(options.get("auto_bs")))
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
