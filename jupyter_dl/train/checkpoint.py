"""Best-weights tracking: keep an in-memory CPU copy of the weights of the best epoch so far."""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .metrics import METRICS


def monitor_for(metrics: tuple[str, ...]) -> tuple[str, bool]:
    """What to monitor and whether higher is better: the first metric, else the validation loss."""
    if metrics:
        return metrics[0], METRICS[metrics[0]].higher_is_better
    return "valid_loss", False


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's state (parameters and buffers)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


class BestTracker:
    """Remembers the best value of one record field, the epoch it came from and the weights then."""

    def __init__(self, monitor: str, higher_is_better: bool) -> None:
        self.monitor = monitor
        self.higher_is_better = higher_is_better
        self.reset()

    def reset(self) -> None:
        self.epoch: Optional[int] = None
        self.value: Optional[float] = None
        self.state: Optional[dict[str, torch.Tensor]] = None

    @property
    def has_best(self) -> bool:
        return self.state is not None

    def is_improvement(self, value) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.value is None:
            return True
        return value > self.value if self.higher_is_better else value < self.value

    def update(self, record: dict, model: nn.Module) -> bool:
        """Keep the model's weights if ``record`` improves on the best; True when it did."""
        value = record.get(self.monitor)
        if not self.is_improvement(value):
            return False
        self.epoch = record["epoch"]
        self.value = float(value)
        self.state = snapshot(model)
        return True

    def restore(self, model: nn.Module) -> bool:
        """Load the best weights back into ``model``; False when there is nothing to restore."""
        if self.state is None:
            return False
        model.load_state_dict(self.state)
        return True
