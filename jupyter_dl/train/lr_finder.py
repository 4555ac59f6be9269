"""The learning-rate finder (Smith's range test, as fastai's ``lr_find``).

Train with an lr that grows exponentially from ``start_lr`` to ``end_lr`` over
``num_it`` steps, recording the smoothed loss; stop early when it diverges. The
model's weights, ``requires_grad`` flags and train/eval mode are put back exactly
afterwards, so the finder leaves no trace.

Unlike a fit, the finder reads the loss every step (one sync per step): it has
to, to notice the divergence, and it is a short sweep, not a training run.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..checks import check_count
from ..errors import UserInputError
from .best_weights import cpu_state_copy
from .fit_arguments import batch_count
from .freezing import requires_grad_state, set_requires_grad_state
from .losslog import LOSS_SMOOTHING
from .optimizer import build_optimizer, use_fused
from .stopping import SigintRequestsStop
from .trainer import Trainer

DIVERGENCE_FACTOR = 4.0   # stop once the smoothed loss exceeds 4x the best so far (fastai)
SWEEP_MOMENTUM = 0.9      # Adam's beta1 during the sweep (fastai's default, not cycled)


@dataclass
class LRFinderResult:
    """What a sweep recorded: each step's lr and smoothed loss, the suggestions, and how it ended."""

    lrs: list[float]                      # lr of each step taken
    losses: list[float]                   # smoothed (debiased EMA) loss after each step
    suggestions: dict[str, float] = field(default_factory=dict)  # "valley", "minimum", "steep", "slide"
    suggested: float | None = None     # the valley suggestion (None if too few points)
    status: str = "finished"              # "finished", "diverged", "stopped", "interrupted"


def lr_find(trainer: Trainer, train, *, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
            stop_div: bool = True, progress: Callable[[int, int], None] | None = None) -> LRFinderResult:
    """Sweep the lr over the trainable params of ``trainer.model`` and suggest one.

    ``train`` is iterated (several times if needed) for ``num_it`` steps.
    ``progress(step, num_it)`` is called after each step, if given. A stop request
    or an interrupt ends the sweep early with what was recorded.
    """
    if not (0 < start_lr < end_lr):
        raise UserInputError(f"lr_find needs 0 < start_lr < end_lr, got {start_lr!r} and {end_lr!r}.")
    check_count("num_it", num_it, minimum=2)
    batch_count(train)  # a clear error for an empty or unsized loader
    model = trainer.model
    saved_weights = cpu_state_copy(model)
    saved_grad = requires_grad_state(model)
    was_training = model.training
    params = [p for p in model.parameters() if p.requires_grad]
    opt = build_optimizer(model, [params], trainer.wd, mom=SWEEP_MOMENTUM, fused=use_fused(trainer.device))
    scaler = torch.amp.GradScaler("cuda") if trainer.precision.use_grad_scaler else None
    trainable = [p for g in opt.optimizer.param_groups for p in g["params"]]
    lrs: list[float] = []
    losses: list[float] = []
    status = "finished"
    ema, best = 0.0, math.inf
    try:
        with SigintRequestsStop(trainer._stop):
            try:
                model.train()
                step = 0
                while step < num_it and status == "finished":
                    step_at_pass_start = step
                    for x, y in train:
                        if trainer._stop.is_set():
                            break
                        lr = start_lr * (end_lr / start_lr) ** (step / num_it)
                        opt.set_hypers([lr], SWEEP_MOMENTUM)
                        x, y = trainer._prepare_batch(x, y)
                        loss = float(trainer._train_step(x, y, opt.optimizer, scaler, trainable))
                        step += 1
                        ema = LOSS_SMOOTHING * ema + (1 - LOSS_SMOOTHING) * loss
                        smooth = ema / (1 - LOSS_SMOOTHING ** step)
                        lrs.append(lr)
                        losses.append(smooth)
                        if progress is not None:
                            progress(step, num_it)
                        if not math.isfinite(smooth):
                            status = "diverged"
                            break
                        best = min(best, smooth)
                        if stop_div and smooth > DIVERGENCE_FACTOR * best:
                            status = "diverged"
                            break
                        if step >= num_it:
                            break
                    if trainer._stop.is_set():
                        status = "interrupted" if trainer._stop.reason == "interrupted" else "stopped"
                        break
                    if step == step_at_pass_start:
                        raise UserInputError("The training data yielded no batches: give it at least one full batch.")
            except KeyboardInterrupt:
                status = "interrupted"
    finally:
        # Put the model back exactly as it was, whatever happened.
        model.load_state_dict(saved_weights)
        set_requires_grad_state(model, saved_grad)
        model.train(was_training)
        trainer._stop.clear()
    suggestions = suggest_lrs(lrs, losses, num_it)
    return LRFinderResult(lrs, losses, suggestions, suggestions.get("valley"), status)


# --------------------------------------------------------------------- suggestions
def suggest_lrs(lrs: Sequence[float], losses: Sequence[float], num_it: int) -> dict[str, float]:
    """fastai's four suggestions, computed on the sweep without its first 10% and last 5 steps.

    Those ends are noise: the start barely moves the weights and the end is the
    blow-up. Points after a non-finite loss are dropped. Empty when too few remain.
    """
    lrs_arr = np.asarray(lrs[num_it // 10:-5], dtype=float)
    loss_arr = np.asarray(losses[num_it // 10:-5], dtype=float)
    bad = np.nonzero(~np.isfinite(loss_arr))[0]
    if len(bad):
        lrs_arr, loss_arr = lrs_arr[:bad[0]], loss_arr[:bad[0]]
    if len(loss_arr) < 3:
        return {}
    return {
        "valley": valley(lrs_arr, loss_arr),
        "minimum": minimum(lrs_arr, loss_arr),
        "steep": steep(lrs_arr, loss_arr),
        "slide": slide(lrs_arr, loss_arr),
    }


def valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The lr part-way down the longest valley: the longest run of ever-lower losses.

    The valley is the longest strictly decreasing subsequence of the losses
    (O(n^2) dynamic programming); fastai picks the point ``int(L/3) + int(L/6)``
    steps past its start, L its length in steps: roughly halfway down in log-lr,
    well before the bottom where the loss is about to blow up.
    """
    n = len(losses)
    length = [1] * n   # length of the longest decreasing run ending at i
    origin = list(range(n))  # where that run starts
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and length[j] + 1 > length[i]:
                length[i] = length[j] + 1
                origin[i] = origin[j]
    end = max(range(n), key=lambda i: (length[i], -i))  # the longest; the earliest on a tie
    start = origin[end]
    span = (end - start) / 3
    return float(lrs[start + int(span) + int(span / 2)])


def minimum(lrs: np.ndarray, losses: np.ndarray) -> float:
    """One tenth of the lr at the lowest loss (at the minimum the lr is already too high)."""
    return float(lrs[int(np.argmin(losses))]) / 10.0


def steep(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The lr where the loss falls fastest per unit of log(lr)."""
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[int(np.argmin(slopes))])


def slide(lrs: np.ndarray, losses: np.ndarray, lr_diff: int = 15, thresh: float = 0.005,
          adjust_value: float = 1.0) -> float:
    """The interval slide rule: walk a window of ``lr_diff`` steps back from the end of the sweep.

    While the loss's slope (per step) at the window's two ends differs by more
    than ``thresh``, slide it one step earlier; the answer is the lr at the
    window's left end when the slopes agree (the flat region before the
    blow-up), times ``adjust_value``.
    """
    grads = np.gradient(losses)
    n = len(losses)
    right = n - 1
    left = right - lr_diff
    if left < 0:
        left = 0
    suggestion = lrs[left]
    while left >= 0 and abs(grads[right] - grads[left]) > thresh:
        suggestion = lrs[left]
        right -= 1
        left -= 1
    return float(suggestion) * adjust_value
