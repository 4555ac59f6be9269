"""A resumed run's live view starts with the epochs done before: its table, epoch points and loss curve.

Views learn everything from events, so the past epochs are sent to the new view (and to it
only: the run log and the run folder have them already) as the events they were, from a stand-in
source that reveals the saved per-step losses epoch by epoch. The view then reads the trainer's
own steps from where the saved ones end, so the curve goes on without a gap.
"""
from __future__ import annotations

from typing import Any

import torch

from ..train.events import CHECKPOINT, EPOCH_END, EPOCH_START, Event
from ..train.records import find_best


class PastLosses:
    """Stands in for the trainer while past epochs are replayed: the saved losses up to ``global_step``."""

    def __init__(self, rows: torch.Tensor | None) -> None:
        self._rows = rows if rows is not None else torch.zeros(0, 2)
        self.global_step = 0

    def loss_points(self, since: int = 0) -> tuple[list[int], list[float], list[float]]:
        """(steps, raw, smoothed) after ``since`` up to the step revealed so far."""
        end = min(self.global_step, len(self._rows))
        if since >= end:
            return [], [], []
        rows = self._rows[since:end].tolist()
        return list(range(since + 1, end + 1)), [r[0] for r in rows], [r[1] for r in rows]

    def running_loss(self) -> float | None:
        """The smoothed loss at the step revealed so far."""
        end = min(self.global_step, len(self._rows))
        return float(self._rows[end - 1, 1]) if end else None


def replay_history(view: Any, history: list[dict], losses: torch.Tensor | None, epoch_steps: dict[int, int],
                   monitor: str | None = None) -> None:
    """Send ``history``'s epochs to ``view`` as EPOCH_START / EPOCH_END events, and the best as CHECKPOINT."""
    if view is None or not history:
        return
    source = PastLosses(losses)
    for record in history:
        epoch = record.get("epoch")
        view(Event(EPOCH_START, {"phase": record.get("phase", ""), "epoch": epoch}, source))
        # The epoch's steps appear only now: the view's first event counts the source's steps
        # before it as not its own.
        if isinstance(epoch, int):
            source.global_step = epoch_steps.get(epoch, source.global_step)
        view(Event(EPOCH_END, dict(record), source))
    best = find_best(history, monitor)
    if best is not None:
        view(Event(CHECKPOINT, {"epoch": best.epoch, "monitor": best.monitor, "value": best.value}, source))
