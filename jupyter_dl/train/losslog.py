"""Per-step losses kept on the device, read by views in one transfer when they draw.

Writing a loss into a preallocated device tensor is an asynchronous device op:
the training loop never waits for the value. The Trainer, the fastai bridge and
``live()`` for hand-written loops all keep their losses here, so every view
reads them the same way (``points(since)``).
"""
from __future__ import annotations

import torch

# Weight of the past in the smoothed loss (fastai's AvgSmoothLoss): ~50 steps of memory.
LOSS_SMOOTHING = 0.98


class LossLog:
    """Raw and smoothed (EMA, debiased) loss per step; steps count from 1 over the log's life."""

    def __init__(self, device: torch.device | str = "cpu", capacity: int = 1024) -> None:
        self.device = torch.device(device)
        self.steps = 0
        self._rows = torch.zeros(max(capacity, 1), 2, device=self.device)
        self._ema = torch.zeros((), device=self.device)
        self._ema_steps = 0

    def restart_smoothing(self) -> None:
        """Start the smoothed curve afresh (e.g. at a new fit), keeping the logged steps."""
        self._ema = torch.zeros((), device=self.device)
        self._ema_steps = 0

    def reserve(self, steps: int) -> None:
        """Make room for ``steps`` more steps up front, so appending never reallocates mid-fit."""
        needed = self.steps + steps
        if needed > self._rows.shape[0]:
            grown = torch.zeros(needed, 2, device=self.device)
            grown[: self.steps] = self._rows[: self.steps]
            self._rows = grown

    def append(self, loss: torch.Tensor | float) -> None:
        """Log one step's loss: a tensor on any device (no sync) or a float."""
        loss = torch.as_tensor(loss, dtype=torch.float32).detach().to(self.device).reshape(())
        if self.steps == self._rows.shape[0]:  # grow by doubling: amortised, and rare with a good capacity
            self._rows = torch.cat([self._rows, torch.zeros_like(self._rows)])
        # Out of place: a reader in another thread may hold the previous EMA tensor.
        self._ema = torch.lerp(loss, self._ema, LOSS_SMOOTHING)
        self._ema_steps += 1
        self._rows[self.steps, 0] = loss
        self._rows[self.steps, 1] = self._ema / (1.0 - LOSS_SMOOTHING ** self._ema_steps)
        self.steps += 1

    def smoothed(self) -> float | None:
        """The latest smoothed loss (one device read); None before the first step."""
        if self.steps == 0 or self._ema_steps == 0:
            return None
        return float(self._rows[self.steps - 1, 1])

    def rows(self) -> torch.Tensor:
        """Every logged step's (raw, smoothed) loss as a CPU tensor of shape (steps, 2): one device read."""
        return self._rows[: self.steps].detach().to("cpu", copy=True)

    def load(self, rows: torch.Tensor) -> None:
        """Start from the steps :meth:`rows` gave (a resumed run); the smoothed curve starts afresh."""
        rows = torch.as_tensor(rows, dtype=torch.float32).reshape(-1, 2)
        self._rows = torch.zeros(max(len(rows), 1), 2, device=self.device)
        self._rows[: len(rows)] = rows.to(self.device)
        self.steps = len(rows)
        self.restart_smoothing()

    def points(self, since: int = 0) -> tuple[list[int], list[float], list[float]]:
        """(steps, raw losses, smoothed losses) for steps after ``since``, in one device read."""
        end = self.steps
        start = max(since, 0)
        if start >= end:
            return [], [], []
        rows = self._rows[start:end].cpu().tolist()
        return list(range(start + 1, end + 1)), [r[0] for r in rows], [r[1] for r in rows]
