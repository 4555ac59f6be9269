"""torch's memory accounting for this process, read only when torch is already imported.

Sampling must never import torch (1.7 s) or create a CUDA context (hundreds of MB on the GPU):
we look in sys.modules and ask CUDA only once torch itself has initialised it.
"""
from __future__ import annotations

import sys

from .readings import DeviceMemory


def read_device_memory() -> DeviceMemory | None:
    """torch's allocator numbers for CUDA (once initialised) or MPS (once used), else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_initialized():
            return DeviceMemory("cuda", int(torch.cuda.memory_allocated()), int(torch.cuda.memory_reserved()),
                                int(torch.cuda.max_memory_allocated()))
        mps = getattr(torch, "mps", None)
        if mps is not None and torch.backends.mps.is_available():
            allocated = int(mps.current_allocated_memory())
            if allocated:  # nothing allocated yet: the process does not use MPS
                return DeviceMemory("mps", allocated, int(mps.driver_allocated_memory()), None)
    except Exception:  # a half-imported or broken torch must not stop the sampler
        return None
    return None
