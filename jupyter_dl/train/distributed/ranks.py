"""One process's place in a torch.distributed job, and the collectives the Trainer asks of it.

The :class:`~jupyter_dl.train.trainer.Trainer` trains the same way on one device or many; with
``trainer.parallel`` set to a :class:`RankGroup` it

- runs each fit's steps through DistributedDataParallel (built per fit, after freezing, so DDP
  registers exactly the parameters that train in that phase; it broadcasts rank 0's weights first);
- asks :meth:`RankGroup.agree_to_stop` at every batch boundary, so all ranks stop at the same batch:
  one tiny all-reduce (MAX of a stop code) on a CPU (gloo) group, never a GPU sync;
- sums the epoch's training loss over ranks, and gathers every rank's validation outputs so the
  metrics are those of the whole validation set (exact, not an average of per-rank accuracies).
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ...errors import UserInputError

# Stop reasons as numbers, so that one all-reduce (MAX) both agrees and picks the reason.
STOP_CODES = {"user": 1, "interrupted": 2}
STOP_REASONS = {code: reason for reason, code in STOP_CODES.items()}
DEFAULT_TIMEOUT_S = 300.0  # a collective that waits longer than this fails instead of hanging


@dataclass
class RankGroup:
    """This process is ``rank`` of ``world`` (``local_rank`` on its machine), training on ``device``.

    ``external_stop``: a shared integer another process sets to a stop code (the kernel that launched
    the job: its Stop button and interrupt); ``sync_bn``: BatchNorm statistics over all ranks.
    """

    rank: int
    world: int
    local_rank: int
    device: torch.device
    control: Any = None          # the CPU group stop decisions go over (None: the default group is gloo)
    external_stop: Any = None    # a multiprocessing RawValue("i"), or None
    sync_bn: bool = False
    _converted: set[int] = field(default_factory=set)

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that reports (events, run folder)."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in DistributedDataParallel for one fit (rank 0's weights and buffers are broadcast now)."""
        from torch.nn.parallel import DistributedDataParallel

        if self.sync_bn and id(model) not in self._converted:
            # In place: SyncBatchNorm takes over the same Parameter objects, so layer groups stay valid.
            nn.SyncBatchNorm.convert_sync_batchnorm(model)
            self._converted.add(id(model))
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def agree_to_stop(self, local_reason: str | None) -> str | None:
        """Every rank calls this at the same batch boundary; all get the same answer (None: go on)."""
        code = STOP_CODES.get(local_reason or "", 0)
        if self.external_stop is not None:
            code = max(code, int(self.external_stop.value))
        flag = torch.tensor([code], dtype=torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.control)
        return STOP_REASONS.get(int(flag.item()), "user") if int(flag.item()) else None

    def sum(self, values: list[torch.Tensor]) -> list[torch.Tensor]:
        """The element-wise sums over ranks of scalar tensors on this rank's device (one all-reduce)."""
        stacked = torch.stack([v.detach().float().reshape(()) for v in values])
        dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
        return list(stacked.unbind())

    def gather_rows(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor`` (any number of rows each, same other dims) stacked in rank order."""
        count = torch.tensor([tensor.shape[0]], device=tensor.device)
        counts = [torch.zeros_like(count) for _ in range(self.world)]
        dist.all_gather(counts, count)
        sizes = [int(c.item()) for c in counts]
        padded = torch.zeros((max(sizes), *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
        padded[: tensor.shape[0]] = tensor
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        dist.all_gather(parts, padded)
        return torch.cat([part[:size] for part, size in zip(parts, sizes)])

    def share_buffers(self, model: nn.Module) -> None:
        """Give every rank rank 0's buffers (BatchNorm's running statistics).

        DDP broadcasts them before each forward, so after an epoch's last step each rank holds the
        statistics of its own last batch: shared again before validation, every rank validates (and
        keeps) one and the same model.
        """
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)

    def fingerprints(self, model: nn.Module) -> list[str]:
        """Every rank's digest of ``model``'s weights and buffers, in rank order (equal: the ranks agree)."""
        import hashlib

        digest = hashlib.sha256()
        for name, tensor in sorted(model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        found: list[str] = [""] * self.world
        dist.all_gather_object(found, digest.hexdigest(), group=self.control)
        return found

    def barrier(self) -> None:
        """Wait until every rank got here."""
        dist.barrier(group=self.control)


def join(*, backend: str, rank: int, world: int, local_rank: int, device: torch.device,
         store: tuple[str, int] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
         external_stop: Any = None, sync_bn: bool = False) -> RankGroup:
    """Join the job's process group: through the launching kernel's TCPStore (``store`` = host, port)
    or, under torchrun, through its environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE)."""
    timeout_s = float(os.environ.get("JUPYTER_DL_DIST_TIMEOUT", timeout_s))
    timeout = datetime.timedelta(seconds=timeout_s)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    where = f"{store[0]}:{store[1]}" if store is not None else \
        f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
    try:
        if store is not None:
            client = dist.TCPStore(store[0], store[1], is_master=False, timeout=timeout)
            dist.init_process_group(backend, store=client, rank=rank, world_size=world, timeout=timeout)
        else:
            dist.init_process_group(backend, rank=rank, world_size=world, timeout=timeout)
    except (RuntimeError, ValueError) as exc:  # torch's DistStoreError and DistNetworkError are RuntimeErrors
        if "timed out" not in str(exc).lower() and "timeout" not in str(exc).lower():
            raise
        raise UserInputError(f"Process {rank} of {world} found no job at {where} within {timeout_s:g} s: start the "
                             "first node (rank 0) there, or check the address and port (JUPYTER_DL_DIST_TIMEOUT "
                             "sets how long to wait).") from None
    control = dist.new_group(backend="gloo", timeout=timeout) if backend != "gloo" else None
    return RankGroup(rank=rank, world=world, local_rank=local_rank, device=device, control=control,
                     external_stop=external_stop, sync_bn=sync_bn)


def leave() -> None:
    """Leave the process group (at the end of a worker)."""
    if dist.is_initialized():
        dist.destroy_process_group()
