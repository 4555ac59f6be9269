"""Rank 0's events, carried to the process that launched the job and replayed there.

The kernel that starts a multi-process run keeps the learner the user sees; its dashboard, run
log and run folder subscribe to that learner's Trainer as for any run. Rank 0 trains, and an
:class:`EventForwarder` on its Trainer sends each event as a plain message; the kernel's
:class:`EventMirror` brings its own Trainer up to date (history, per-step losses, best weights)
and emits the same event there, with that Trainer as the source. So nothing that watches a run
needs to know it ran elsewhere.

Batch ends are sent at most every ``interval`` seconds (and at each epoch's last batch) with the
raw losses of the steps since the last message: one read from the device per message, never per
batch. A new best epoch's weights travel with its CHECKPOINT (a few to a few hundred MB, at epoch
ends only), so the kernel holds them even if a worker dies later.
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import torch

from ..events import BATCH_END, CHECKPOINT, EPOCH_END, ERROR, FIT_END, FIT_START, Event

Message = tuple  # ("batches", data, raw losses) | ("event", kind, data) | see finetuning/multi_device.py


def weights_to_bytes(state: dict[str, torch.Tensor]) -> bytes:
    """A state dict as bytes (torch's own format), to send through a pipe."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def weights_from_bytes(data: bytes) -> dict[str, torch.Tensor]:
    """The state dict :func:`weights_to_bytes` made (tensors only: nothing else is unpickled)."""
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Event data that pickles anywhere: exceptions become their message, tensors numbers."""
    out = {}
    for key, value in data.items():
        if isinstance(value, BaseException):
            continue  # ERROR's "error": its "message" says it
        if isinstance(value, torch.Tensor):
            value = value.tolist()
        out[key] = value
    return out


class EventForwarder:
    """Subscribe on rank 0's Trainer: sends its events through ``send`` as plain messages."""

    def __init__(self, send: Callable[[Message], None], trainer: Any, interval: float = 0.25) -> None:
        self.send = send
        self.trainer = trainer
        self.interval = interval
        self._pending: dict[str, Any] | None = None
        self._sent_steps = trainer.losses.steps
        self._last = 0.0

    def __call__(self, event: Event) -> None:
        """Forward ``event`` (batch ends throttled)."""
        if event.kind == BATCH_END:
            self._pending = dict(event.data)
            if time.monotonic() - self._last >= self.interval or event["batch"] == event["n_batches"]:
                self.flush()
            return
        self.flush()
        data = _plain(event.data)
        if event.kind == CHECKPOINT and self.trainer.best.state is not None:
            data["weights"] = weights_to_bytes(self.trainer.best.state)
        self.send(("event", event.kind, data))

    def flush(self) -> None:
        """Send the batch end waiting, with the raw losses of the steps since the last message."""
        if self._pending is None:
            return
        _steps, raw, _smoothed = self.trainer.loss_points(self._sent_steps)  # one device read
        self._sent_steps += len(raw)
        self.send(("batches", self._pending, raw))
        self._pending = None
        self._last = time.monotonic()


class EventMirror:
    """In the launching process: applies rank 0's messages to ``trainer`` and emits them on its bus."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.fits_ended: list[str] = []   # the status of each fit, as rank 0's FIT_END said

    def apply(self, message: Message) -> None:
        """One message from :class:`EventForwarder`."""
        trainer = self.trainer
        if message[0] == "batches":
            _, data, raw = message
            for loss in raw:
                trainer.losses.append(float(loss))
            trainer.bus.emit(BATCH_END, trainer, **data)
            return
        _, kind, data = message
        if kind == FIT_START:
            trainer.losses.restart_smoothing()
        elif kind == EPOCH_END:
            trainer.history.append({k: v for k, v in data.items()})
        elif kind == CHECKPOINT:
            weights = data.pop("weights", None)
            if weights is None or not trainer.history:
                return
            # Rank 0's best of this run; the kernel's trainer also knows the runs before it, and keeps the
            # better (a CHECKPOINT of rank 0 is necessary for a new best here, not sufficient).
            trainer.model.load_state_dict(weights_from_bytes(weights))
            if not trainer.best.update(trainer.history[-1], trainer.model):
                return
        elif kind == FIT_END:
            self.fits_ended.append(str(data.get("status")))
            if data.get("peak_memory") is not None:
                trainer.peak_memory = {k: data.get(k) for k in ("peak_memory", "peak_memory_kind", "memory_total")}
        elif kind == ERROR:
            data = {**data, "error": RuntimeError(data.get("message", "a worker failed"))}
        trainer.bus.emit(kind, trainer, **data)
