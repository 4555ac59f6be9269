"""Where a training step's time goes: waiting for its batch, or computing; and the data-wait advice.

The Trainer marks three moments per step: the fetch of the next batch starts (``start_epoch`` /
``step_done``), the batch is on the device (``batch_ready``), the step's work is queued
(``step_done``). The fetch covers ``next(iterator)``, the loader's own device work (the batch
transform, augmentation) and the copy to the device; everything else in the step (forward,
backward, optimizer, the event subscribers) is compute. Validation is not timed.

What "waiting" means depends on the device:

- CPU: work is synchronous, so the host clock is exact.
- CUDA: kernels run asynchronously, so the host's clock says when work was *queued*, not done:
  while the host fetches a batch the GPU may still be busy with the previous step, and the host
  time in the fetch would overstate the wait (a false alarm on every GPU-bound run). Instead each
  mark records a CUDA event on the stream, and the gaps are read on the GPU's own clock
  (``elapsed_time``): from "the previous step's work finished" to "the next batch was on the
  device" is exactly the time the GPU had no training work. An event pair is read only once the
  later event has completed (``query()``, which never blocks), and whatever is left is read after
  the epoch's one sync, so no mark ever waits for the device (DESIGN.md: no per-batch syncs).
- MPS (and anything else): the host clock, where it is an upper bound of the wait.

Cost per step: two ``perf_counter`` calls on the host path (~0.2 us); two event records and a query
or two on CUDA (measured on an H100: ~4.5 us on a 1.8 ms step of a tiny model, 0.25%).

Why the GPU clock (measured on an H100, a 16 ms step, a host fetch of a third of a step): the host
clock said the run waited for data 47% of the time, the GPU's 1%; the GPU was never idle.
"""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .events import FIT_END, FIT_START

# The views say "waited for data ...% of the time" above this share, once this many steps are timed.
DATA_WAIT_WARN_SHARE = 0.3
DATA_WAIT_MIN_STEPS = 20

# The keys the Trainer adds to each epoch record (and sums into FIT_END): not metrics, not table columns.
TIMING_KEYS = ("data_wait_s", "compute_s", "data_wait_share")


@dataclass
class DataTiming:
    """Seconds spent waiting for batches vs computing, over ``steps`` training steps."""
    data_wait_s: float = 0.0
    compute_s: float = 0.0
    steps: int = 0

    @property
    def share(self) -> float | None:
        """The waiting share of the timed time (0..1); None before anything was timed."""
        total = self.data_wait_s + self.compute_s
        return self.data_wait_s / total if total > 0 else None

    def __add__(self, other: DataTiming) -> DataTiming:
        return DataTiming(self.data_wait_s + other.data_wait_s, self.compute_s + other.compute_s,
                          self.steps + other.steps)

    def record(self) -> dict:
        """The epoch-record / run-log form (seconds to 0.1 ms, the share to 0.1%)."""
        share = self.share
        return {"data_wait_s": round(self.data_wait_s, 4), "compute_s": round(self.compute_s, 4),
                "data_wait_share": None if share is None else round(share, 3)}


# ----------------------------------------------------------------------------- the step timers
class HostStepTimer:
    """Host-clock timing (CPU exact; an upper bound of the wait on asynchronous devices)."""

    def __init__(self, clock=time.perf_counter) -> None:
        self._clock = clock
        self._mark = 0.0
        self.fit_done = DataTiming()   # epochs of the current fit already ended
        self.epoch = DataTiming()

    def start_fit(self) -> None:
        """Start the fit's totals and the epoch's from zero."""
        self.fit_done = DataTiming()
        self.epoch = DataTiming()

    def start_epoch(self) -> None:
        """Start the epoch's totals; the fetch of its first batch starts now."""
        self.epoch = DataTiming()
        self._mark = self._clock()

    def batch_ready(self) -> None:
        """The batch is on the device: the time since the last mark was waiting for it."""
        now = self._clock()
        self.epoch.data_wait_s += now - self._mark
        self._mark = now

    def step_done(self) -> None:
        """The step's work is queued: the time since the batch was ready was compute; the next fetch starts."""
        now = self._clock()
        self.epoch.compute_s += now - self._mark
        self.epoch.steps += 1
        self._mark = now

    def end_epoch(self) -> DataTiming:
        """The epoch's timing (call after the epoch's sync); it joins the fit's totals."""
        epoch, self.epoch = self.epoch, DataTiming()
        self.fit_done = self.fit_done + epoch
        return epoch

    def fit(self) -> DataTiming:
        """The current (or last) fit so far, the running epoch included as far as it is known."""
        return self.fit_done + self.epoch


class CudaStepTimer(HostStepTimer):
    """GPU-clock timing from CUDA events; gaps are read only once both ends have completed."""

    _WAIT, _COMPUTE = "data_wait_s", "compute_s"

    def __init__(self, device) -> None:
        super().__init__()
        import torch

        self._torch = torch
        self._device = device
        self._pending: deque = deque()   # (event, the bucket of the gap that ends at it)
        self._free: list = []            # completed events, recorded again later

    def start_epoch(self) -> None:
        """Start the epoch's totals at an event on the stream (a stopped epoch's pending gaps are dropped)."""
        self.epoch = DataTiming()
        while self._pending:  # left by a stopped epoch
            self._free.append(self._pending.popleft()[0])
        self._mark_event(None)  # iterator start-up (DataLoader workers) counts as waiting

    def batch_ready(self) -> None:
        """Record the batch-ready event; count the gaps whose events have completed (never waits)."""
        self._mark_event(self._WAIT)
        self._resolve(block=False)

    def step_done(self) -> None:
        """Record the step-done event; count the gaps whose events have completed (never waits)."""
        self.epoch.steps += 1
        self._mark_event(self._COMPUTE)
        self._resolve(block=False)

    def end_epoch(self) -> DataTiming:
        """The epoch's timing, every gap counted (call after the epoch's sync: then nothing waits)."""
        self._resolve(block=True)  # after the epoch's sync: every event has completed, nothing waits
        return super().end_epoch()

    def _mark_event(self, bucket: str | None) -> None:
        event = self._free.pop() if self._free else self._torch.cuda.Event(enable_timing=True)
        event.record(self._torch.cuda.current_stream(self._device))
        self._pending.append((event, bucket))

    def _resolve(self, block: bool) -> None:
        pending = self._pending
        while len(pending) >= 2:
            (first, _), (second, bucket) = pending[0], pending[1]
            if not second.query():  # the stream runs in order: the first has completed when the second has
                if not block:
                    return
                second.synchronize()
            seconds = first.elapsed_time(second) / 1000.0
            setattr(self.epoch, bucket, getattr(self.epoch, bucket) + seconds)
            self._free.append(pending.popleft()[0])


def step_timer(device) -> HostStepTimer:
    """The timer for ``device`` (a torch.device): CUDA events on CUDA, the host clock elsewhere."""
    if getattr(device, "type", None) == "cuda":
        return CudaStepTimer(device)
    return HostStepTimer()


# ----------------------------------------------------------------------------- where batches come from
def describe_loader(loader: Any) -> tuple[str, int | None]:
    """(kind, workers) of a training loader, for the advice: what would make its batches come faster.

    Duck-typed, since the training core does not import the data layer: "dataloader" (a torch
    DataLoader, or jupyter_dl's wrapper of one: its ``.loader``) with its ``num_workers``;
    "fastai" (a fastai DataLoader behind ``.dl``); "cache" (jupyter_dl's decoded-once resize
    cache: a ``pixels`` tensor); else "other" (a list, a generator...), workers None.
    """
    from torch.utils.data import DataLoader

    for candidate in (loader, getattr(loader, "loader", None)):
        if isinstance(candidate, DataLoader):
            return "dataloader", int(candidate.num_workers)
    dl = getattr(loader, "dl", None)
    workers = getattr(dl, "num_workers", None)
    if dl is not None and isinstance(workers, int) and not isinstance(workers, bool):
        return "fastai", workers
    if hasattr(getattr(loader, "pixels", None), "shape"):
        return "cache", None
    return "other", None


# ----------------------------------------------------------------------------- the rule
def data_wait_advice(timing: DataTiming | None, *, device: str = "cpu", loader: str | None = None,
                     workers: int | None = None, cpu_count: int | None = None) -> str | None:
    """One sentence when training waited for data more than DATA_WAIT_WARN_SHARE of the time, else None.

    ``device``: the training device ("cuda", "cuda:1", "mps", "cpu"); ``loader``/``workers``: as
    :func:`describe_loader` says, so the fix names what this run can change.
    """
    if timing is None or timing.steps < DATA_WAIT_MIN_STEPS:
        return None
    share = timing.share
    if share is None or share <= DATA_WAIT_WARN_SHARE:
        return None
    kind = str(device).split(":")[0]
    who = {"cuda": "The GPU", "mps": "The GPU (MPS)"}.get(kind, "The model")
    cpus = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    fixes = []
    if loader in ("dataloader", "fastai") and workers is not None and workers < cpus:
        more = min(cpus, 8) if workers == 0 else min(cpus, 2 * workers)
        fixes.append(f"use more DataLoader workers (--workers {more}; now {workers})" if loader == "dataloader"
                     else f"give the fastai DataLoaders more workers (num_workers={more}; now {workers})")
    if loader == "dataloader":
        fixes += ["pass image files (decoded once into jupyter_dl's resize cache) instead of a Dataset",
                  "train at a smaller --size"]
    elif loader == "fastai":
        fixes.append("use a smaller item size")
    elif loader == "cache":
        fixes.append("train at a smaller --size or with --aug none (every step augments a whole batch)")
    else:
        fixes += ["load the batches with a DataLoader with num_workers > 0", "use smaller images"]
    return f"{who} waited for data {share:.0%} of the time: {_either(fixes)}."


def _either(parts: list[str]) -> str:
    if len(parts) <= 2:
        return " or ".join(parts)
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


class RunTiming:
    """A view's data-wait totals over one run (several fits), from the events and the source.

    The Trainer's own totals restart at each fit (``source.data_timing()``); this adds up the
    finished fits and the running one, and remembers the device and loader the advice names.
    """

    def __init__(self) -> None:
        self.finished = DataTiming()
        self.device = "cpu"
        self.loader: str | None = None
        self.workers: int | None = None
        self._live = False

    def update(self, kind: str, data: dict, source: Any) -> None:
        """Call for every non-batch event (FIT_START and FIT_END matter)."""
        if kind == FIT_START:
            self.device = str(data.get("device") or self.device)
            self.loader = data.get("loader", self.loader)
            self.workers = data.get("loader_workers", self.workers)
            self._live = True
        elif kind == FIT_END and self._live:
            self._live = False
            self.finished = self.finished + _source_timing(source)

    def total(self, source: Any) -> DataTiming:
        """The run's totals so far: its finished fits, plus the running one as ``source`` reports it."""
        return self.finished + _source_timing(source) if self._live else self.finished

    def advice(self, source: Any) -> str | None:
        """One sentence when the run so far waited for data too much (:func:`data_wait_advice`), else None."""
        return data_wait_advice(self.total(source), device=self.device, loader=self.loader, workers=self.workers)


def _source_timing(source: Any) -> DataTiming:
    reader = getattr(source, "data_timing", None)
    timing = reader() if callable(reader) else None
    return timing if isinstance(timing, DataTiming) else DataTiming()
