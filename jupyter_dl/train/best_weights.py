"""The best weights so far, kept in memory: a CPU copy of the model's state at the best epoch.

Nothing is written to disk here; "best" is decided by :mod:`jupyter_dl.train.records`, the
one rule every view and the run summaries use too.
"""
from __future__ import annotations

import torch
from torch import nn

from .records import VALID_LOSS, higher_is_better, is_better


def monitor_for(metrics: tuple[str, ...]) -> tuple[str, bool]:
    """What to monitor and whether higher is better: the first metric, else the validation loss."""
    monitor = metrics[0] if metrics else VALID_LOSS
    return monitor, higher_is_better(monitor)


def cpu_state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's state (parameters and buffers)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


class BestWeights:
    """Remembers the best value of one record field, the epoch it came from and the weights then."""

    def __init__(self, monitor: str, higher_is_better: bool) -> None:
        self.monitor = monitor
        self.higher_is_better = higher_is_better
        self.reset()

    def reset(self) -> None:
        """Forget the best so far (a new phase that judges its own epochs)."""
        self.epoch: int | None = None
        self.value: float | None = None
        self.state: dict[str, torch.Tensor] | None = None

    @property
    def has_best(self) -> bool:
        """True once some epoch's weights are kept."""
        return self.state is not None

    def is_improvement(self, value: object) -> bool:
        """Would ``value`` replace the best? (strictly better; NaN never is)"""
        return is_better(value, self.value, self.higher_is_better)

    def update(self, record: dict, model: nn.Module) -> bool:
        """Keep the model's weights if ``record`` improves on the best; True when it did."""
        value = record.get(self.monitor)
        if not self.is_improvement(value):
            return False
        self.epoch = record["epoch"]
        self.value = float(value)  # type: ignore[arg-type]  # is_improvement checked it is a number
        self.state = cpu_state_copy(model)
        return True

    def keep(self, epoch: int, value: float, state: dict[str, torch.Tensor]) -> None:
        """Take ``state`` as the best so far (e.g. a resumed run's saved best weights)."""
        self.epoch, self.value, self.state = epoch, float(value), state

    def restore(self, model: nn.Module) -> bool:
        """Load the best weights back into ``model``; False when there is nothing to restore."""
        if self.state is None:
            return False
        model.load_state_dict(self.state)
        return True
