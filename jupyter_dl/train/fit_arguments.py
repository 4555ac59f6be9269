"""The checks of a fit's arguments, each with one sentence for what is wrong (see :mod:`.trainer`)."""
from __future__ import annotations

import math

from ..errors import UserInputError
from .checkpoint import FitResume


def batch_count(loader) -> int:
    """Number of batches per epoch; the schedule needs it up front."""
    try:
        n = len(loader)
    except TypeError:
        raise UserInputError(
            "The training batches have no length: pass a sized iterable such as a DataLoader or a list.") from None
    if n <= 0:
        raise UserInputError("The training data has no batches: give it at least one full batch of items.")
    return n


def item_count(loader) -> int | None:
    """Items per epoch of a loader (its ``n_items``, else its dataset's length); None when it does not say."""
    for attr in ("n_items",):
        n = getattr(loader, attr, None)
        if isinstance(n, int):
            return n
    dataset = getattr(loader, "dataset", None)
    try:
        return len(dataset) if dataset is not None else None
    except TypeError:
        return None


def per_group_lrs(lrs, n_groups: int) -> list[float]:
    """One peak learning rate per parameter group, from one number or a list of them."""
    if isinstance(lrs, (int, float)) and not isinstance(lrs, bool):
        values = [float(lrs)] * n_groups
    else:
        try:
            values = [float(v) for v in lrs]
        except (TypeError, ValueError):
            raise UserInputError(f"Learning rates must be a number or a list of numbers, not {lrs!r}.") from None
        if len(values) != n_groups:
            raise UserInputError(
                f"Got {len(values)} learning rates for {n_groups} parameter groups: "
                f"pass one per group or a single number.")
    for v in values:
        if not (math.isfinite(v) and v > 0):
            raise UserInputError(f"Learning rates must be positive numbers, not {v!r}.")
    return values


def resume_start(resume: FitResume | None, phase: str, epochs: int) -> int:
    """The epoch index a fit starts at: 0, or the epochs a resumed fit had done (checked)."""
    if resume is None:
        return 0
    if resume.phase != phase:
        raise UserInputError(f"The saved state is of the {resume.phase} phase, not the {phase} phase: "
                             "resume the phase it was saved in.")
    if not 0 <= resume.done <= epochs:
        raise UserInputError(f"The saved state is after epoch {resume.done} of the fit, which has {epochs}: "
                             "resume with the epochs the run was started with.")
    return resume.done


def check_schedule(pct_start, div, div_final, moms) -> None:
    """The one-cycle schedule's settings, checked."""
    if not 0.0 <= pct_start <= 1.0:
        raise UserInputError(f"pct_start must be between 0 and 1, not {pct_start!r}.")
    if not (div > 0 and div_final > 0):
        raise UserInputError("div and div_final must be positive numbers.")
    if len(moms) != 3 or not all(0.0 <= m < 1.0 for m in moms):
        raise UserInputError(f"moms must be three numbers in [0, 1), not {moms!r}.")
