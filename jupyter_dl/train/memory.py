"""The peak memory of a fit: what the summary reports as "peak GPU memory" or "peak RAM".

On CUDA it is PyTorch's own peak of allocated tensor memory (``max_memory_allocated``), reset
when a fit starts, so it is exactly this fit's: the number to compare with the card's memory when
choosing a batch size. (NVML's "used" is higher: it adds the caching allocator's spare blocks and
the CUDA context.) Elsewhere it is the process's peak resident memory, which the OS keeps since
the process started and cannot be reset: the most RAM this kernel has held, this fit included.
"""
from __future__ import annotations

import sys

import torch

CUDA_ALLOCATED = "cuda_allocated"   # torch.cuda.max_memory_allocated since the fit started
PROCESS_RSS = "process_rss"         # the process's peak resident set size since it started


def reset_peak(device: torch.device) -> None:
    """Start counting the peak afresh (CUDA only: a process's peak RSS cannot be reset)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def read_peak(device: torch.device) -> dict:
    """{"peak_memory": bytes or None, "peak_memory_kind", "memory_total": the device's bytes or None}."""
    if device.type == "cuda":
        return {"peak_memory": int(torch.cuda.max_memory_allocated(device)), "peak_memory_kind": CUDA_ALLOCATED,
                "memory_total": int(torch.cuda.get_device_properties(device).total_memory)}
    return {"peak_memory": process_peak_rss(), "peak_memory_kind": PROCESS_RSS, "memory_total": None}


def process_peak_rss() -> int | None:
    """The peak resident memory of this process in bytes (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows: psutil reports the peak working set
        try:
            import psutil

            return int(psutil.Process().memory_info().peak_wset)
        except Exception:
            return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes; Linux: KiB


def larger_peak(a: dict | None, b: dict | None) -> dict | None:
    """The larger of two peaks of the same kind (a new kind replaces the old: e.g. the device changed)."""
    if a is None or a.get("peak_memory") is None:
        return b
    if b is None or b.get("peak_memory") is None:
        return a
    if a.get("peak_memory_kind") != b.get("peak_memory_kind"):
        return b
    return b if b["peak_memory"] >= a["peak_memory"] else a
