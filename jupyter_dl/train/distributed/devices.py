"""``--devices``: how many processes train, and on what.

``N`` (or ``cuda:N``) is N GPUs of this machine, one process each; ``cpu:N`` is N CPU processes
(the gloo backend), which is how multi-process training is tested on a machine without a GPU and
what a many-core CPU can use. Counting GPUs reads NVML through torch (``torch.cuda.device_count``)
and never creates a CUDA context in the kernel (see DESIGN.md, "Beyond one device").
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ...errors import UserInputError

_FORM = re.compile(r"^(?:(?P<kind>cpu|cuda|gpu):)?(?P<count>[0-9]+)$")


@dataclass(frozen=True)
class DevicePlan:
    """``count`` processes on ``kind`` ("cpu" or "cuda"); ``backend`` is torch.distributed's for them."""

    kind: str
    count: int

    @property
    def backend(self) -> str:
        """gloo on the CPU, NCCL between GPUs."""
        return "nccl" if self.kind == "cuda" else "gloo"

    def device_of(self, local_rank: int) -> str:
        """The torch device of the process with this local rank."""
        return f"cuda:{local_rank}" if self.kind == "cuda" else "cpu"

    def threads_per_process(self) -> int:
        """Torch threads for each CPU process: the cores shared out, so N processes do not oversubscribe them."""
        return max(1, (os.cpu_count() or 1) // self.count) if self.kind == "cpu" else 0

    def describe(self) -> str:
        """E.g. "2 GPUs", "4 CPU processes"."""
        if self.kind == "cuda":
            return f"{self.count} GPU{'s' if self.count != 1 else ''}"
        return f"{self.count} CPU process{'es' if self.count != 1 else ''}"

    def __str__(self) -> str:
        return f"{self.kind}:{self.count}"


def gpu_count() -> int:
    """CUDA GPUs torch can use here (0 without CUDA); does not initialise CUDA."""
    import torch

    try:
        return torch.cuda.device_count() if torch.backends.cuda.is_built() else 0
    except Exception:  # a broken driver counts as none
        return 0


def parse_devices(text: str | int) -> DevicePlan:
    """``--devices`` -> a checked plan; one sentence for anything this machine cannot do."""
    match = _FORM.match(str(text).strip().lower())
    if match is None:
        raise UserInputError(f"--devices takes a number of GPUs (e.g. 2) or cpu:N for N CPU processes "
                             f"(e.g. cpu:2), not {text!r}.")
    kind = "cpu" if match.group("kind") == "cpu" else "cuda"
    count = int(match.group("count"))
    if count < 1:
        raise UserInputError(f"--devices {text} asks for no process at all: give at least 1 (e.g. --devices "
                             f"{'cpu:' if kind == 'cpu' else ''}2).")
    if kind == "cuda":
        available = gpu_count()
        if available == 0:
            raise UserInputError(f"--devices {text} needs {count} CUDA GPU{'s' if count != 1 else ''}, and this "
                                 f"machine has none: use --devices cpu:{count} to train in {count} CPU processes.")
        if count > available:
            raise UserInputError(f"--devices {text} asks for {count} GPUs, and this machine has {available}: "
                                 f"use --devices {available} (or fewer).")
    return DevicePlan(kind, count)
