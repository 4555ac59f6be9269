"""The one-cycle schedule (Smith; fastai's ``fit_one_cycle``) as plain functions of progress.

``pos`` is the fraction of the fit's optimizer steps already taken (0 at the
first step). The learning rate warms up along a half cosine from ``lr/div`` to
``lr`` over ``pct_start`` of the steps, then anneals along a half cosine down to
``lr/div_final``. Adam's beta1 (the momentum) moves the opposite way:
``moms[0] -> moms[1] -> moms[2]``, so the steps are big when momentum is low.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


def cos_interp(start: float, end: float, pos: float) -> float:
    """Half-cosine from ``start`` (pos=0) to ``end`` (pos=1): flat at both ends."""
    return start + (end - start) * (1.0 - math.cos(math.pi * pos)) / 2.0


def two_phase_cos(pos: float, pct_start: float, start: float, middle: float, end: float) -> float:
    """``start -> middle`` over ``[0, pct_start]`` then ``middle -> end`` over ``[pct_start, 1]``."""
    pos = min(max(pos, 0.0), 1.0)
    if pos < pct_start:
        return cos_interp(start, middle, pos / pct_start)
    if pct_start >= 1.0:
        return middle
    return cos_interp(middle, end, (pos - pct_start) / (1.0 - pct_start))


@dataclass(frozen=True)
class OneCycle:
    """The one-cycle policy for a set of per-group peak learning rates."""

    lrs: tuple[float, ...]                   # peak lr of each layer group
    pct_start: float = 0.25
    div: float = 25.0                        # first lr = peak / div
    div_final: float = 1e5                   # last lr = peak / div_final
    moms: tuple[float, float, float] = (0.95, 0.85, 0.95)

    def lrs_at(self, pos: float) -> list[float]:
        """Each group's lr at ``pos``; the ratios between groups stay those of ``lrs``."""
        return [two_phase_cos(pos, self.pct_start, lr / self.div, lr, lr / self.div_final) for lr in self.lrs]

    def mom_at(self, pos: float) -> float:
        """Adam's beta1 at ``pos``: ``moms[0] -> moms[1] -> moms[2]`` along the lr's two half-cosines."""
        return two_phase_cos(pos, self.pct_start, *self.moms)


def step_pos(step: int, total_steps: int) -> float:
    """Progress of the 0-based ``step`` out of ``total_steps`` (0 for the first, like fastai)."""
    return step / total_steps if total_steps > 0 else 0.0


def even_mults(lo: float, hi: float, n: int) -> list[float]:
    """``n`` values spread geometrically from ``lo`` to ``hi`` (fastai's ``slice(lo, hi)``)."""
    if n == 1:
        return [hi]
    ratio = (hi / lo) ** (1.0 / (n - 1))
    return [lo * ratio ** i for i in range(n - 1)] + [hi]
