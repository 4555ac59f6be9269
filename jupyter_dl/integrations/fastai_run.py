"""One fastai call (``fine_tune``, ``fit_one_cycle``, ...) as one jupyter_dl run, and reading fastai's
learner without importing fastai.

:class:`FastaiRun` is what :class:`~jupyter_dl.integrations.fastai.LiveDashboard` keeps per call: its
view, loss log, history and stop flag, and where each fit is. The functions read a fastai Learner the
way the callback needs: which frames on the stack are running it, whether its body is frozen, how
long its data sets are; :class:`MutedLogger` keeps the Recorder's table from printing during a fit.
"""
from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from .common import CooperativeSigint, RunLossSource, StopFlag


def as_float(value: Any) -> Any:
    """``value`` as a float where it is a number (fastai's tensors and numpy scalars), else as it is."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def learner_frames(learn: Any) -> list:
    """The frames (innermost first) of fastai code running a method of ``learn``."""
    frames = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if ("self" in code.co_varnames and frame.f_globals.get("__name__", "").startswith("fastai.")
                and frame.f_locals.get("self") is learn):
            frames.append(frame)
        frame = frame.f_back
    return frames


def on_stack(target: Any, frame: Any) -> bool:
    """Is ``target`` among ``frame`` and the frames that called it?"""
    while frame is not None:
        if frame is target:
            return True
        frame = frame.f_back
    return False


def is_frozen(learn: Any) -> bool:
    """True when the optimizer's first parameter groups (the body) are frozen."""
    opt = getattr(learn, "opt", None)
    if opt is None:
        return False
    if getattr(opt, "frozen_idx", 0) > 0:
        return True
    try:  # an optimizer frozen some other way: a whole group without trainable parameters
        groups = list(opt.param_lists)
    except Exception:
        return False
    return len(groups) > 1 and any(group and not any(p.requires_grad for p in group) for group in groups[:-1])


class FastaiRun(RunLossSource):
    """One call into the learner (e.g. fine_tune): one view, one loss log, one history, one stop flag."""

    def __init__(self, title: str, frame: Any, expected_fits: int, total_epochs: int | None,
                 capacity: int) -> None:
        super().__init__(capacity=capacity)
        self.title = title
        self.frame = frame                  # the outermost fastai frame of the call (identifies the run)
        self.expected_fits = expected_fits
        self.total_epochs = total_epochs
        self.flag = StopFlag()
        self.view: Any = None
        self.history: list[dict] = []
        self.status = "running"
        self.finished = False
        self.stopped = False                # a stop ended the run: the rest of its fits are cancelled
        self.stopped_at: str | None = None
        self.error: str | None = None
        self.fits_done = 0
        self.epoch = 0                      # global epoch counter over the run's fits (1-based once started)
        # per fit
        self.in_fit = False
        self.skip_fit = False               # a fit after a stop: cancelled at its first before_epoch
        self.announced = False              # FIT_START (or STOP) went out for this fit: FIT_END will too
        self.epoch_open = False             # between our before_epoch and after_epoch
        self.phase = ""
        self.n_epoch = 0
        self.total_steps = 0
        self.lr: float | None = None
        self.epoch_started = 0.0
        self.fit_frame: Any = None
        self.learner: Any = None
        self.n_batches = 0
        self.sigint: CooperativeSigint | None = None
        self.progress: list = []            # fastai ProgressCallbacks taken out for this fit
        self.logger: Any = None


class MutedLogger:
    """``learn.logger`` during our fits: the Recorder's per-epoch table is not printed (as fastai's bar does).

    After the fit it passes calls through, so a callback that wrapped it (CSVLogger,
    whose after_fit runs after ours) and puts it back leaves logging working.
    """

    def __init__(self, original: Any) -> None:
        self.original = original
        self.muted = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The original logger's call, or nothing while muted."""
        if not self.muted:
            return self.original(*args, **kwargs)
        return None


def loader_length(dls: Any, attr: str) -> int | None:
    """``len(dls.<attr>)``, or None where it has none."""
    try:
        return len(getattr(dls, attr))
    except Exception:
        return None
