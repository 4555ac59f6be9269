"""What a training run's progress is, kept up to date from its events: phase, epoch, batch, speed, time left.

Both live views draw it: the widget dashboard (:mod:`.widget`) and the progress view without widgets
(:mod:`.progress`).
"""
from __future__ import annotations

import time

from ..train import events as ev
from ..train.timing import TIMING_KEYS
from ..ui.formatting import format_duration


class ProgressState:
    """What a progress display shows, kept up to date from events."""

    def __init__(self, total_epochs: int | None = None) -> None:
        self.total_epochs = total_epochs
        self.phase = ""
        self.epoch = 0           # global epoch number being run (1-based)
        self.batch = 0
        self.n_batches = 0
        self.bs = 0
        self.loss: float | None = None
        self.lr: float | None = None
        self.status = "starting"
        self.rows: list[dict] = []
        self.run_start: float | None = None
        self.phase_start = 0.0
        self.phase_steps = 0
        self.phase_epochs = 0
        self.epochs_done_before_phase = 0
        self.advice: str | None = None   # the data-wait sentence (set by the view when it draws)

    def elapsed(self) -> float:
        """Seconds since the run's first fit started (0 before)."""
        return time.perf_counter() - self.run_start if self.run_start else 0.0

    def items_per_second(self) -> float:
        """Training items per second in this phase so far (0 before its first step)."""
        spent = time.perf_counter() - self.phase_start
        return self.phase_steps * self.bs / spent if spent > 0 and self.phase_steps else 0.0

    def remaining(self) -> float | None:
        """Seconds left, from this phase's speed (validation time included per epoch)."""
        if not self.phase_steps or not self.n_batches:
            return None
        per_step = (time.perf_counter() - self.phase_start) / self.phase_steps
        total = self.total_epochs or (self.epochs_done_before_phase + self.phase_epochs)
        steps_left = (total - self.epoch) * self.n_batches + (self.n_batches - self.batch)
        return per_step * max(steps_left, 0)

    def apply(self, event: ev.Event) -> None:
        """Bring the state up to date with one event of the run."""
        data = event.data
        if event.kind == ev.FIT_START:
            now = time.perf_counter()
            self.run_start = self.run_start or now
            self.phase, self.phase_start, self.phase_steps = data.get("phase", ""), now, 0
            self.n_batches = data.get("n_batches", 0)
            self.phase_epochs = data.get("epochs", 0)
            self.epochs_done_before_phase = len(self.rows)
            self.status = "running"
        elif event.kind == ev.EPOCH_START:
            self.epoch = data.get("epoch", 1)  # global across fits (1-based)
            self.batch = 0
        elif event.kind == ev.BATCH_END:
            self.batch = data.get("batch", self.batch)
            self.n_batches = data.get("n_batches", self.n_batches)
            self.bs = data.get("bs", self.bs)
            self.lr = data.get("lr", self.lr)
            self.phase_steps += 1
        elif event.kind == ev.EPOCH_END:
            self.rows.append(dict(data))
        elif event.kind == ev.STOP:
            reason = data.get("reason", "user")
            where = f"epoch {self.epoch}, batch {data.get('batch', self.batch)}"
            self.status = ("interrupted" if reason == "interrupted" else "stopped by user") + f" at {where}"
        elif event.kind == ev.ERROR:
            self.status = f"failed: {data.get('message', '')}"
        elif event.kind == ev.FIT_END and self.status == "running":
            self.status = "running" if data.get("status") == "finished" else data.get("status", "")

    def columns(self) -> list[str]:
        """The epoch table's columns: every record key seen, in order (not the lr or the timings)."""
        cols: list[str] = []
        for row in self.rows:
            cols += [k for k in row if k not in cols and k != "lr" and k not in TIMING_KEYS]
        return cols

    def parts(self, remaining: bool = True) -> list[str]:
        """The progress line's parts: phase, epoch i/n, batch j/m, elapsed<remaining, items/s, loss.

        ``remaining``: show the time left (while the run goes on).
        """
        parts = []
        if self.phase:
            parts.append(self.phase)
        if self.epoch:
            parts.append(f"epoch {self.epoch}/{self.total_epochs or '?'}")
        if self.n_batches:
            parts.append(f"batch {self.batch}/{self.n_batches}")
        left = self.remaining() if remaining else None
        parts.append(format_duration(self.elapsed()) + (f"<{format_duration(left)}" if left is not None else ""))
        speed = self.items_per_second()
        if speed:
            parts.append(f"{speed:.0f} items/s")
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        return parts

    def headline(self) -> str:
        """The status, then :meth:`parts` (the time left only while running)."""
        return " · ".join([self.status, *self.parts(remaining=self.status == "running")])

    def fraction(self) -> float:
        """How much of the run is done, 0..1 (whole epochs once it ended)."""
        total = self.total_epochs or max(self.epoch, 1)
        if not self.n_batches:
            return len(self.rows) / total if total else 0.0
        done = (self.epoch - 1 + self.batch / self.n_batches) if self.epoch else 0.0
        if self.status != "running" and self.status != "starting":
            done = max(done, len(self.rows))
        return min(max(done / total, 0.0), 1.0)
