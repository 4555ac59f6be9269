"""The live training view for a hand-written PyTorch loop.

::

    with jupyter_dl.live(total_steps=len(train_dl) * epochs, epochs=epochs) as run:
        for epoch in range(epochs):
            for x, y in train_dl:
                loss = step(x, y)
                run.log(loss=loss, lr=opt.param_groups[0]["lr"])   # a tensor is fine: no sync
                if run.should_stop:                               # Stop button / kernel interrupt
                    break
            if run.should_stop:
                break
            run.log_epoch(valid_loss=..., accuracy=...)

The run publishes the same events as the Trainer on ``run.bus``, so the view is
the one ``%finetune`` shows (the dashboard where widgets work, the progress
display elsewhere). Losses stay on their device in a LossLog; the view reads
them only when it draws.
"""
from __future__ import annotations

import bisect
import math
import threading
import time
from typing import Any, Literal

from ..checks import check_count
from ..dashboard.summary import summary_line
from ..errors import UserInputError
from ..train.events import BATCH_END, EPOCH_END, EPOCH_START, ERROR, FIT_END, FIT_START, STOP, EventBus
from . import common
from .common import CooperativeSigint, RunLossSource, StopFlag

__all__ = ["LiveRun", "live"]

PHASE = "train"


def _count(name: str, value: Any) -> int | None:
    return None if value is None else check_count(name, value)


def _number(value: Any) -> Any:
    """Tensors and numpy scalars -> float (one read per value, at epoch end); other values as they are."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class LiveRun(RunLossSource):
    """One training run of your own loop, shown live. Use it through :func:`live`.

    ``history`` holds one record per :meth:`log_epoch`; ``status`` is "ready",
    "running", then "finished", "stopped", "interrupted" or "failed".
    """

    def __init__(self, total_steps: int | None = None, epochs: int | None = None, title: str = "",
                 *, quiet: bool = False) -> None:
        self.total_steps = _count("total_steps", total_steps)
        self.epochs = _count("epochs", epochs)
        super().__init__(capacity=self.total_steps or 1024)
        self.title = title or "training"
        self.quiet = quiet
        self.bus = EventBus()
        self.history: list[dict] = []
        self.status = "ready"
        self.stopped_at: str | None = None
        self._flag = StopFlag()
        self._checked = False     # has the loop ever looked at should_stop? (else an interrupt raises)
        self._sigint: CooperativeSigint | None = None
        self._view: Any = None
        self._lock = threading.Lock()
        self._steps: list[int] = []   # the global step of each logged loss (x of the loss curve)
        self._step = 0                # last global step
        self._epoch = 1               # epoch being run (1-based)
        self._epoch_open = False      # EPOCH_START sent for self._epoch
        self._epoch_first_index = 0   # index in the loss log where this epoch's losses start
        self._epoch_batches = 0
        self._epoch_started = 0.0
        self._n_batches = self._batches_per_epoch()
        self._lr: float | None = None

    # ------------------------------------------------------------- with-block
    def __enter__(self) -> LiveRun:
        with self._lock:
            if self.status != "ready":
                raise UserInputError("This live() run has already been used: start another with jupyter_dl.live(...).")
            self.status = "running"
        try:
            self._view = common.make_view(total_epochs=self.epochs, title=self.title, quiet=self.quiet,
                                                mode=common.view_mode(), on_stop=self.stop)
        except BaseException:
            self.status = "failed"
            raise
        if self._view is not None:
            self.bus.subscribe(self._view)
        self._sigint = CooperativeSigint(self._flag, lambda frame: self._checked and self.status == "running")
        self._sigint.__enter__()
        # Unknown counts are 0, as views do arithmetic on them.
        self.bus.emit(FIT_START, self, phase=PHASE, epochs=self.epochs or 0, n_batches=self._n_batches,
                      total_steps=self.total_steps or 0, lrs=[], n_train=None, n_valid=None)
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        try:
            interrupted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
            if interrupted:
                self._flag.request("interrupted")
            if exc_type is not None and not interrupted:
                status = "failed"
                message = f"{exc_type.__name__}: {exc}"
                self.bus.emit(ERROR, self, error=exc, message=message, phase=PHASE)
            elif interrupted or (self._flag.is_set() and not self._complete()):
                reason = self._flag.reason or "user"
                status = "interrupted" if reason == "interrupted" else "stopped"
                batch = self._epoch_batches if self._epoch_open else 0
                epoch = self._epoch
                self.stopped_at = f"epoch {epoch}, batch {batch}"
                self.bus.emit(STOP, self, reason=reason, epoch=epoch, batch=batch, phase=PHASE)
            else:
                status = "finished"
            self.status = status
            self.bus.emit(FIT_END, self, phase=PHASE, status=status, history=list(self.history))
        finally:
            if self._sigint is not None:
                self._sigint.__exit__(None, None, None)
            if self._view is not None:
                self.bus.unsubscribe(self._view)
                common.close_view(self._view, self.status, self.summary(
                    error=f"{exc_type.__name__}: {exc}" if exc_type is not None else None))
        return False  # never swallow the loop's exception

    # ------------------------------------------------------------- logging
    def log(self, step: int | None = None, loss: Any = None, lr: float | None = None, *,
            bs: int | None = None, **values: Any) -> None:
        """Record one training step: its loss (a tensor stays on its device), learning rate, batch size.

        ``step`` is the global step (default: the last one + 1). A step that does
        not move forward (e.g. a batch index that restarts each epoch) is taken as
        "the next step".
        """
        if self.status != "running":
            raise UserInputError("run.log() works inside `with jupyter_dl.live(...) as run:`.")
        if step is None or isinstance(step, bool) or not isinstance(step, int) or step <= self._step:
            step = self._step + 1
        self._step = step
        self._open_epoch()
        self._epoch_batches += 1
        if loss is not None:
            self.append_loss(loss)
            self._steps.append(step)
        if lr is not None:
            self._lr = float(lr)
        if self.total_steps and not self.epochs:
            batch, n_batches = step, self.total_steps
        else:
            batch, n_batches = self._epoch_batches, self._n_batches
        self.bus.emit(BATCH_END, self, phase=PHASE, epoch=self._epoch, batch=batch, n_batches=n_batches,
                      step=step, total_steps=self.total_steps or 0, lr=self._lr,
                      lrs=[self._lr] if self._lr is not None else [], bs=bs or 0, **values)

    def log_epoch(self, valid_loss: Any = None, *, train_loss: Any = None, **metrics: Any) -> dict:
        """End the epoch: its record (train loss defaults to the mean of the epoch's logged losses)."""
        if self.status != "running":
            raise UserInputError("run.log_epoch() works inside `with jupyter_dl.live(...) as run:`.")
        self._open_epoch()
        if train_loss is None:
            _, raw, _ = RunLossSource.loss_points(self, self._epoch_first_index)
            train_loss = sum(raw) / len(raw) if raw else None
        record = {"epoch": self._epoch, "phase": PHASE, "train_loss": _number(train_loss),
                  "valid_loss": _number(valid_loss)}
        record.update({name: _number(value) for name, value in metrics.items()})
        record["seconds"] = time.perf_counter() - self._epoch_started
        record["lr"] = self._lr
        self.history.append(record)
        if self.epochs is None and self._epoch == 1 and not self.total_steps:
            self._n_batches = self._epoch_batches  # now known for the next epochs
        self._epoch += 1
        self._epoch_open = False
        self.bus.emit(EPOCH_END, self, **record)
        return record

    def _open_epoch(self) -> None:
        if self._epoch_open:
            return
        self._epoch_open = True
        self._epoch_batches = 0
        self._epoch_first_index = self.global_step
        self._epoch_started = time.perf_counter()
        self.bus.emit(EPOCH_START, self, phase=PHASE, epoch=self._epoch, epochs=self.epochs or 0,
                      epoch_in_fit=self._epoch)

    def _complete(self) -> bool:
        """Did the loop do all it announced? (then a late stop request changed nothing: "finished")"""
        if self.epochs:
            return len(self.history) >= self.epochs
        return bool(self.total_steps and self._step >= self.total_steps)

    def _batches_per_epoch(self) -> int:
        if self.total_steps and self.epochs:
            return math.ceil(self.total_steps / self.epochs)
        return self.total_steps or 0

    # ------------------------------------------------------------- stopping
    @property
    def should_stop(self) -> bool:
        """True once the Stop button was pressed or the kernel interrupted: end your loop then."""
        self._checked = True
        return self._flag.is_set()

    def stop(self, reason: str = "user") -> None:
        """Ask the loop to stop (``should_stop`` becomes True); thread-safe."""
        self._flag.request(reason)

    # ------------------------------------------------------------- the loss source
    def loss_points(self, since: int = 0) -> tuple[list[int], list[float], list[float]]:
        """(steps, raw, smoothed) for the losses logged after global step ``since``: one device read."""
        start = bisect.bisect_right(self._steps, since)
        _, raw, smooth = RunLossSource.loss_points(self, start)
        return self._steps[start:start + len(raw)], raw, smooth

    def summary(self, error: str | None = None) -> str:
        """The run's outcome in one line, as its view ends with it; ``error``: what made it fail."""
        return summary_line(self.status, self.history, stopped_at=self.stopped_at, error=error)

    def __repr__(self) -> str:
        return f"<LiveRun {self.title!r} · {len(self.history)} epochs · {self.status}>"


def live(total_steps: int | None = None, epochs: int | None = None, title: str = "", *,
         quiet: bool = False) -> LiveRun:
    """Show a hand-written training loop live: ``with jupyter_dl.live(total_steps=...) as run: ...``.

    ``run.log(step, loss=..., lr=...)`` per step, ``run.log_epoch(valid_loss=..., accuracy=...)``
    per epoch, and ``if run.should_stop: break`` to honour the Stop button and the
    kernel's interrupt (while the loop never reads ``should_stop``, an interrupt
    raises ``KeyboardInterrupt`` as usual). ``run.history`` keeps the epoch records.
    """
    return LiveRun(total_steps=total_steps, epochs=epochs, title=title, quiet=quiet)
