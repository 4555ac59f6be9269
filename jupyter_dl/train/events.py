"""The event stream: the Trainer publishes small plain events, views subscribe.

The core never knows who listens. Subscribers are plain callables taking an
:class:`Event`; one that raises is reported once and then dropped, so a broken
view can never stop a training run.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

# The kinds of event, in the order a run emits them.
FIT_START = "fit_start"        # data: phase, epochs, n_batches, n_train, n_valid, lrs, device; the Trainer adds
                               #   loader ("dataloader", "fastai", "cache", "other") and loader_workers
EPOCH_START = "epoch_start"    # data: phase, epoch, epochs
BATCH_END = "batch_end"        # data: phase, epoch, batch, n_batches, step, total_steps, lr, bs
EPOCH_END = "epoch_end"        # data: the epoch record (see Trainer): epoch, phase, train_loss, valid_loss, metrics,
                               #   seconds; the Trainer's also data_wait_s, compute_s, data_wait_share (timing.py)
CHECKPOINT = "checkpoint"      # data: epoch, monitor, value (a new best was kept)
STOP = "stop"                  # data: reason ("user", "interrupted"), epoch, batch
ERROR = "error"                # data: error (the exception), message
FIT_END = "fit_end"            # data: phase, status ("finished", "stopped", "interrupted", "failed"), history; the
                               #   Trainer's also the fit's data_wait_s, compute_s, data_wait_share and its
                               #   peak_memory (bytes), peak_memory_kind, memory_total (memory.py)

Subscriber = Callable[["Event"], None]


@dataclass
class Event:
    """One thing that happened: its kind, its data (also as ``event[key]``) and its source."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    # The source of the event (a Trainer); a view calls source.running_loss()
    # only when it is about to draw, so the device is never synced per batch.
    source: Any = None

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


class EventBus:
    """Passes each event to every subscriber in turn; one that raises is warned about and removed."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Subscriber:
        """Add ``fn`` unless it is subscribed already; returns ``fn``."""
        if fn not in self._subscribers:
            self._subscribers.append(fn)
        return fn

    def unsubscribe(self, fn: Subscriber) -> None:
        """Remove ``fn``; nothing happens if it is not subscribed."""
        if fn in self._subscribers:
            self._subscribers.remove(fn)

    def emit(self, kind: str, source: Any = None, **data: Any) -> None:
        """Send ``Event(kind, data, source)`` to the subscribers now, in the calling thread."""
        event = Event(kind, data, source)
        for fn in list(self._subscribers):
            try:
                fn(event)
            except Exception as exc:  # a view's bug must never stop training
                self.unsubscribe(fn)
                warnings.warn(f"jupyter_dl: event subscriber {fn!r} failed and was removed: {exc!r}", stacklevel=2)


class EventRecorder:
    """A subscriber that keeps every event: for tests and the run log."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        """Keep ``event``."""
        self.events.append(event)

    def kinds(self) -> list[str]:
        """The kinds of the kept events, in order."""
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list[Event]:
        """The kept events of ``kind``, in order."""
        return [e for e in self.events if e.kind == kind]
