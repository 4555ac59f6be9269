"""The training dashboard's resource strip: what the GPU (or, without one, the CPU) does during a run.

Live, one line under the plot: ``GPU 0 · 87% · 11.2/16.0 GB · run peak 9.8 GB · CPU 35% · RAM
6.1/31.3 GB``; training on the CPU, ``CPU 87% · RAM 5.1/15.6 GB · this process 1.2 GB (run peak
1.4 GB)``; on Apple MPS, torch's allocated memory. After the run, one sentence: average
utilisation and the peak memory of the run.

It listens to the process's one sampler (:func:`jupyter_dl.monitor.get_sampler`) only while a fit
runs (``start`` at FIT_START, ``stop`` at FIT_END and when the view closes), so the sampler thread
stops when no run is shown. The callback runs on the sampler thread and only keeps numbers (the
latest sample, the run's peaks and utilisation sums) under a lock; the dashboard turns them into
text at its own throttled draw, so sampling never touches a widget and never slows training.

Which GPU: the one NVML says this process uses, else the training device's index (``cuda:N``).
The "run peak" is PyTorch's allocated peak when torch reports it (the Trainer resets it at each
fit, so it is the run's; the same number as the final summary's), else what NVML says this
process held, else the GPU's memory used by all processes.
"""
from __future__ import annotations

import threading
from typing import Any

from ..ui.formatting import format_bytes, format_percent, format_used_total

SAMPLE_INTERVAL = 1.0


class RunMonitor:
    """Resource numbers of one run, from the sampler. ``sampler``: None for the process's own."""

    def __init__(self, sampler: Any = None, interval: float = SAMPLE_INTERVAL) -> None:
        self._sampler = sampler
        self.interval = interval
        self._subscription: Any = None
        self._lock = threading.Lock()
        self.device: str | None = None     # the training device ("cuda", "cuda:1", "cpu", "mps"), if told
        self.latest: Any = None             # the newest Reading
        self.samples = 0
        self._gpu_util_sum = 0.0
        self._gpu_util_n = 0
        self._cpu_sum = 0.0
        self._gpu_peak: tuple[int, str] | None = None   # (bytes, what it counts)
        self._gpu_total = 0
        self._gpu_name = ""
        self._gpu_index: int | None = None
        self._rss_peak = 0
        self._ram_total = 0
        self._mps_peak = 0

    @property
    def running(self) -> bool:
        """True while subscribed to the sampler (a fit is running)."""
        return self._subscription is not None

    # ------------------------------------------------------------------ subscription
    def start(self, device: str | None = None) -> None:
        """Listen to the sampler (if not already): a fit starts on ``device``."""
        if device:
            self.device = str(device)
        if self._subscription is not None:
            return
        sampler = self._sampler
        if sampler is None:
            from ..monitor.sampler import get_sampler

            sampler = get_sampler()
        self._subscription = sampler.subscribe(self._on_sample, interval=self.interval)

    def stop(self) -> None:
        """Stop listening (the sampler thread stops when nobody else listens)."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()

    # ------------------------------------------------------------------ the sampler thread
    def _on_sample(self, sample: Any) -> None:
        with self._lock:
            self.latest = sample
            self.samples += 1
            self._cpu_sum += sample.cpu_percent
            self._rss_peak = max(self._rss_peak, sample.process_rss)
            self._ram_total = sample.ram_total
            memory = sample.device_memory
            if memory is not None and memory.backend == "mps":
                self._mps_peak = max(self._mps_peak, memory.allocated)
            gpu = self._gpu(sample)
            if gpu is not None:
                self._gpu_index, self._gpu_name, self._gpu_total = gpu.index, gpu.name, gpu.memory_total
                if gpu.util_percent is not None:
                    self._gpu_util_sum += gpu.util_percent
                    self._gpu_util_n += 1
            peak = self._gpu_peak_now(sample, gpu)
            if peak is not None and (self._gpu_peak is None or peak[0] > self._gpu_peak[0]):
                self._gpu_peak = peak

    def _wants_gpu(self, sample: Any) -> bool:
        kind = (self.device or "").split(":")[0]
        if kind:
            return kind == "cuda"
        memory = sample.device_memory  # not told (fastai, live()): the GPU when this process uses one
        return (memory is not None and memory.backend == "cuda") or any(g.process_memory for g in sample.gpus)

    def _gpu(self, sample: Any) -> Any:
        if not sample.gpus or not self._wants_gpu(sample):
            return None
        mine = [g for g in sample.gpus if g.process_memory]
        if mine:
            return max(mine, key=lambda g: g.process_memory)
        index = _device_index(self.device)
        # NVML numbers GPUs physically and CUDA_VISIBLE_DEVICES renumbers them: the index is a best guess.
        return next((g for g in sample.gpus if g.index == index), sample.gpus[0])

    @staticmethod
    def _gpu_peak_now(sample: Any, gpu: Any) -> tuple[int, str] | None:
        memory = sample.device_memory
        if memory is not None and memory.backend == "cuda":
            return (memory.peak if memory.peak is not None else memory.allocated), "allocated by PyTorch"
        if gpu is not None and gpu.process_memory:
            return gpu.process_memory, "held by this process"
        if gpu is not None:
            return gpu.memory_used, "used on the GPU (all processes)"
        return None

    # ------------------------------------------------------------------ text
    def live_text(self) -> tuple[str, str]:
        """(the strip's line, its tooltip); ("", "") before the first sample."""
        with self._lock:
            sample = self.latest
            if sample is None:
                return "", ""
            gpu = self._gpu(sample)
            ram = format_used_total(sample.ram_used, sample.ram_total)
            cpu = f"CPU {format_percent(sample.cpu_percent)} · RAM {ram}"
            memory = sample.device_memory
            tip = sample.gpu_error or ""
            if gpu is not None:
                parts = [f"GPU {gpu.index}", format_percent(gpu.util_percent),
                         format_used_total(gpu.memory_used, gpu.memory_total)]
                if self._gpu_peak is not None:
                    parts.append(f"run peak {format_bytes(self._gpu_peak[0])}")
                    tip = f"{gpu.name}; run peak: memory {self._gpu_peak[1]}"
                else:
                    tip = gpu.name
                return " · ".join(parts + [cpu]), tip
            if memory is not None and memory.backend == "cuda" and self._wants_gpu(sample):
                parts = [f"GPU (PyTorch) {format_bytes(memory.allocated)} allocated"]
                if memory.reserved is not None:
                    parts.append(f"{format_bytes(memory.reserved)} reserved")
                if self._gpu_peak is not None:
                    parts.append(f"run peak {format_bytes(self._gpu_peak[0])}")
                return " · ".join(parts + [cpu]), tip
            if memory is not None and memory.backend == "mps":
                return (f"MPS {format_bytes(memory.allocated)} allocated (run peak {format_bytes(self._mps_peak)})"
                        f" · {cpu}"), tip
            return (f"{cpu} · this process {format_bytes(sample.process_rss)} "
                    f"(run peak {format_bytes(self._rss_peak)})"), tip

    def summary(self) -> str:
        """One sentence about the run's resources (average use, peak memory); "" without samples."""
        with self._lock:
            if not self.samples:
                return ""
            cpu = self._cpu_sum / self.samples
            rss = (f"this process's RAM peaked at {format_bytes(self._rss_peak)}"
                   + (f" of {format_bytes(self._ram_total)}" if self._ram_total else ""))
            if self._gpu_index is not None or (self._gpu_peak is not None and self._wants_gpu(self.latest)):
                name = f"GPU {self._gpu_index} ({self._gpu_name})" if self._gpu_index is not None else "the GPU"
                parts = []
                if self._gpu_util_n:
                    parts.append(f"{self._gpu_util_sum / self._gpu_util_n:.0f}% busy on average")
                if self._gpu_peak is not None:
                    of = f" of {format_bytes(self._gpu_total)}" if self._gpu_total else ""
                    parts.append(f"memory peak {format_bytes(self._gpu_peak[0])}{of} ({self._gpu_peak[1]})")
                return f"During the run: {name} {', '.join(parts) or 'in use'}; CPU {cpu:.0f}% on average."
            if self._mps_peak:
                return (f"During the run: MPS memory peak {format_bytes(self._mps_peak)} (allocated by PyTorch); "
                        f"CPU {cpu:.0f}% on average, {rss}.")
            return f"During the run: CPU {cpu:.0f}% busy on average, {rss}."


def _device_index(device: str | None) -> int:
    try:
        return int(str(device).split(":")[1])
    except (IndexError, ValueError):
        return 0
