"""fastai's ``fine_tune`` recipe on our Trainer.

1. Frozen phase: the body is frozen (its norm layers still train, ``train_bn``)
   and the head is trained for ``freeze_epochs`` with one-cycle, ``pct_start``
   0.99 (warm up nearly the whole time, then a quick cool-down).
2. Unfrozen phase: everything is trained for ``epochs`` with one-cycle and
   discriminative lrs: the head at ``lr * unfrozen_lr_factor`` (fastai halves
   its base lr here), the earliest body group ``body_lr_ratio`` times that, and
   the groups between spread geometrically (fastai's ``slice(lo, hi)``).

A stop or interrupt in phase 1 skips phase 2. A resumed run (``resume``) skips what it had
done: the rest of the phase it was saved in, from the saved epoch and optimizer state, then the
phases after it. At the end the best epoch's
weights (by the Trainer's monitor, across both phases) are loaded back.

The model is always left in a well-defined state, whatever happened (finished,
stopped, interrupted or an error): **unfrozen** (every param requires grad) if
phase 2 started, else **frozen** exactly as :func:`freeze` with ``train_bn``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

from torch import nn

from ..checks import check_count
from ..errors import UserInputError
from .checkpoint import FitResume
from .freezing import freeze, unfreeze
from .schedule import even_mults
from .stopping import SigintRequestsStop
from .trainer import Trainer

# The recipe's defaults, in one place: to be tuned on real data (fastai's values noted where ours differ).
DEFAULT_EPOCHS = 1
DEFAULT_FREEZE_EPOCHS = 1
DEFAULT_LR = 1e-2                  # head's peak lr in the frozen phase (fastai's base_lr: 2e-3)
DEFAULT_UNFROZEN_LR_FACTOR = 0.5   # unfrozen head lr = lr * this (fastai halves base_lr)
DEFAULT_BODY_LR_RATIO = 0.1        # earliest body group's lr / head lr (fastai's lr_mult=100 -> 0.01)
DEFAULT_PCT_START_FROZEN = 0.99
DEFAULT_PCT_START = 0.3            # unfrozen phase
DEFAULT_DIV_FROZEN = 25.0          # fastai's fit_one_cycle default
DEFAULT_DIV = 5.0                  # unfrozen phase starts at head_lr / 5 (fastai fine_tune)
DEFAULT_DIV_FINAL = 1e5
DEFAULT_MOMS = (0.95, 0.85, 0.95)
DEFAULT_TRAIN_BN = True


def discriminative_lrs(head_lr: float, n_groups: int, body_lr_ratio: float) -> list[float]:
    """One lr per layer group, geometric from ``head_lr * body_lr_ratio`` (earliest) to ``head_lr`` (head)."""
    return even_mults(head_lr * body_lr_ratio, head_lr, n_groups)


def fine_tune(trainer: Trainer, train, valid, layer_groups: Sequence[Sequence[nn.Parameter]], *,
              epochs: int = DEFAULT_EPOCHS, freeze_epochs: int = DEFAULT_FREEZE_EPOCHS,
              lr: float = DEFAULT_LR, body_lr_ratio: float = DEFAULT_BODY_LR_RATIO,
              unfrozen_lr_factor: float = DEFAULT_UNFROZEN_LR_FACTOR,
              pct_start_frozen: float = DEFAULT_PCT_START_FROZEN, pct_start: float = DEFAULT_PCT_START,
              div_frozen: float = DEFAULT_DIV_FROZEN, div: float = DEFAULT_DIV,
              div_final: float = DEFAULT_DIV_FINAL, moms: tuple[float, float, float] = DEFAULT_MOMS,
              train_bn: bool = DEFAULT_TRAIN_BN, restore_best: bool = True,
              fit: Callable[..., str] | None = None, resume: FitResume | None = None) -> str:
    """Fine-tune ``trainer.model``: frozen head training, then unfrozen discriminative training.

    ``layer_groups``: the model's params split into groups, earliest first, the
    head last; every param in exactly one group. Returns the status: "finished",
    "stopped" or "interrupted" (errors propagate). ``trainer.history`` tells
    which phases ran (each record's ``phase`` is "frozen" or "unfrozen").

    The best-epoch tracking starts afresh here. With ``restore_best`` the best
    epoch's weights are loaded at the end (a stop always restores them). The
    model ends unfrozen if phase 2 started, else frozen (see the module doc).

    ``fit`` runs each phase, taking ``trainer.fit_one_cycle``'s arguments (the default);
    the learner passes an :class:`~jupyter_dl.train.oom.OomGuard`'s, which rolls back a
    phase that ran out of memory and may retry it with a smaller batch.

    ``resume``: go on from a saved state of the "frozen" or "unfrozen" phase (the best epoch
    so far is the trainer's as it was restored, not started afresh).
    """
    groups = [list(g) for g in layer_groups]
    if not groups or not all(groups):
        raise UserInputError("layer_groups must be a non-empty list of non-empty parameter lists.")
    check_count("epochs", epochs, minimum=0)
    check_count("freeze_epochs", freeze_epochs, minimum=0)
    for name, value in (("lr", lr), ("body_lr_ratio", body_lr_ratio), ("unfrozen_lr_factor", unfrozen_lr_factor)):
        if not (isinstance(value, (int, float)) and value > 0):
            raise UserInputError(f"{name} must be a positive number, not {value!r}.")

    if resume is not None and resume.phase not in ("frozen", "unfrozen"):
        raise UserInputError(f"A fine_tune run resumes in its frozen or unfrozen phase, not {resume.phase!r}.")
    fit = fit if fit is not None else trainer.fit_one_cycle
    model = trainer.model
    if resume is None:
        trainer.reset_best()
    # Only the phase the state was saved in gets it; a later phase starts fresh, as it would have.
    resumed = {phase: {"resume": resume} for phase in ("frozen", "unfrozen") if resume and resume.phase == phase}
    skip_frozen = resume is not None and resume.phase == "unfrozen"
    unfrozen_started = False
    status = "finished"
    try:
        # Between the two fits no Trainer handler is installed: a SIGINT there must still become a clean stop.
        with SigintRequestsStop(trainer._stop):
            try:
                if freeze_epochs > 0 and not skip_frozen:
                    freeze(model, groups, train_bn)
                    status = fit(
                        train, valid, freeze_epochs, discriminative_lrs(lr, len(groups), body_lr_ratio),
                        param_groups=groups, phase="frozen", pct_start=pct_start_frozen, div=div_frozen,
                        div_final=div_final, moms=moms, **resumed.get("frozen", {}))
                if status == "finished" and epochs > 0:
                    unfreeze(model)
                    unfrozen_started = True
                    head_lr = lr * unfrozen_lr_factor
                    status = fit(
                        train, valid, epochs, discriminative_lrs(head_lr, len(groups), body_lr_ratio),
                        param_groups=groups, phase="unfrozen", pct_start=pct_start, div=div,
                        div_final=div_final, moms=moms, **resumed.get("unfrozen", {}))
            except KeyboardInterrupt:  # a second SIGINT between or around the fits
                status = "interrupted"
    finally:
        if unfrozen_started:
            unfreeze(model)
        else:
            freeze(model, groups, train_bn)
        trainer._stop.clear()  # a request that came after the last fit ended must not leak into the next run
    if restore_best:
        trainer.restore_best()
    return status
