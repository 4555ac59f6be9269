"""The jupyter_dl live view for a fastai ``Learner``: ``learn.fine_tune(3, cbs=LiveDashboard())``.

:class:`LiveDashboard` is a fastai callback. For the fits it watches it takes the
place of fastai's progress bar (``ProgressCallback`` is taken out at
``before_fit`` and put back at ``after_fit``; the Recorder's printed table is
muted the same way fastai's bar does it), and it translates fastai's events
into jupyter_dl's (FIT_START, EPOCH_START, BATCH_END, EPOCH_END, STOP, ERROR,
FIT_END) on its own :class:`~jupyter_dl.train.events.EventBus` (``cb.bus``),
so fastai runs get the same dashboard as ``%finetune``.

One *run* is one call into the learner: ``fine_tune`` is one run of two fits
(phase "frozen" then "unfrozen", from whether the optimizer's body groups are
frozen), ``fit_one_cycle``/``fit`` one run of one fit. A run has one view. The
call is recognised by its outermost fastai frame on the stack, so a callback
kept by the learner starts a new view for each call.

A fit that raises (fastai then skips ``after_fit``) is cleaned up when fastai
detaches a ``cbs=`` callback, else when the notebook cell ends or the next fit
starts: the view says "failed", the SIGINT handler and the progress bar are back.

Stopping: the view's Stop (``on_stop``) and a kernel interrupt (SIGINT, handled
in the main thread while a fit runs) both raise fastai's ``CancelFitException``
at the next ``after_batch``, so fastai ends the fit cleanly (``after_cancel_fit``,
``after_fit``); the rest of the run (fine_tune's unfrozen fit) is cancelled too.
A second interrupt raises ``KeyboardInterrupt`` for a loop stuck elsewhere.

fastai is imported here and nowhere else in jupyter_dl.
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from fastai.callback.core import Callback, CancelFitException
from fastai.callback.progress import ProgressCallback
from fastai.torch_core import find_bs

from ..dashboard.summary import summary_line
from ..train.events import BATCH_END, EPOCH_END, EPOCH_START, ERROR, FIT_END, FIT_START, STOP, EventBus
from . import common
from .common import CooperativeSigint
from .fastai_run import FastaiRun, MutedLogger, as_float, is_frozen, learner_frames, loader_length, on_stack

__all__ = ["LiveDashboard"]

_RECORD_SKIP = ("epoch", "time")


class LiveDashboard(Callback):
    """Show a fastai Learner's training in jupyter_dl's live view, with a working Stop.

    ``learn.fine_tune(3, cbs=LiveDashboard())`` or ``Learner(..., cbs=LiveDashboard())``.
    ``title`` names the run in the view; ``quiet=True`` shows nothing (events still
    go to ``bus``). After a run, ``history`` holds its epoch records (epoch counts
    over the run's fits, from 1; fastai's metric names), ``status`` how it ended.
    """

    # After Recorder (50): its smoothed loss, values and metric names are ready when we read them.
    # Before ProgressCallback (60): its before_fit is skipped for the fits we show.
    order = 55
    _stateattrs = ("_run", "_bus", "_hooked")

    def __init__(self, title: str = "", *, quiet: bool = False) -> None:
        super().__init__()
        self.title = title
        self.quiet = quiet
        self._init_state()

    def _init_state(self) -> None:
        self._state: dict[str, Any] = {}
        self._run: FastaiRun | None = None
        self._bus = EventBus()
        self._hooked: Callable[[Any], None] | None = None

    # ------------------------------------------------------------------ public
    @property
    def bus(self) -> EventBus:
        """Where the translated events go: subscribe any jupyter_dl view or an EventRecorder."""
        return self._bus

    @property
    def history(self) -> list[dict]:
        """The epoch records of the latest run."""
        return self._run.history if self._run is not None else []

    @property
    def status(self) -> str:
        """"ready", "running", "finished", "stopped", "interrupted" or "failed" (the latest run)."""
        return self._run.status if self._run is not None else "ready"

    def request_stop(self, reason: str = "user") -> None:
        """Stop the running fit at the next batch (the view's Stop calls this); thread-safe."""
        run = self._run
        if run is not None and not run.finished:
            run.flag.request(reason)

    def running_loss(self) -> float | None:
        """The latest run's smoothed loss (one device read); None before its first loss."""
        return self._run.running_loss() if self._run is not None else None

    def loss_points(self, since: int = 0):
        """(steps, raw, smoothed) of the latest run's losses after step ``since``, in one device read."""
        return self._run.loss_points(since) if self._run is not None else ([], [], [])

    # The learner fastai gives us. fastai sets it to None when it drops the callback, which for
    # callbacks passed as ``fit(cbs=...)`` happens also when the fit raised: then we clean up here.
    @property
    def learn(self) -> Any:
        """The learner fastai attached us to; None before that and once fastai drops the callback."""
        return self.__dict__.get("_learn")

    @learn.setter
    def learn(self, value: Any) -> None:
        self.__dict__["_learn"] = value
        if value is None:
            run = self.__dict__.get("_run")
            if run is not None and run.in_fit:
                self._abort(run, sys.exc_info()[1])

    # ------------------------------------------------------------------ fastai events
    def before_fit(self) -> None:
        """Start the call's run or its next fit: progress bar out, SIGINT ours, FIT_START; skips lr_find/get_preds."""
        learn = self.learn
        if hasattr(learn, "lr_finder") or hasattr(learn, "gather_preds"):
            return  # lr_find / get_preds: not a training run
        frames = learner_frames(learn)
        outer = frames[-1] if frames else None
        run = self._run
        same = run is not None and outer is not None and run.frame is outer
        if run is not None and not run.finished and (run.in_fit or not same):
            # A run that ended without telling us (an exception through a callback the learner keeps).
            if run.in_fit:
                self._abort(run, None)
            else:
                self._finish(run, "finished")
        if run is None or not (same and (run.stopped or not run.finished)):  # same implies run is not None
            run = self._start_run(learn, outer)
        run.in_fit = True
        run.learner = learn
        run.fit_frame = next((f for f in frames if f.f_code.co_name == "fit"), None)
        run.n_epoch = int(getattr(learn, "n_epoch", 0) or 0)
        run.skip_fit = run.announced = run.epoch_open = False
        self._hide_progress(learn, run)
        if run.finished:  # the run was stopped: cancel its remaining fits quietly
            run.skip_fit = True
            return
        if threading.current_thread() is threading.main_thread():
            run.sigint = CooperativeSigint(run.flag, lambda frame: on_stack(run.fit_frame, frame))
            run.sigint.__enter__()
        n_batches = run.n_batches = len(learn.dls.train)
        run.total_steps = run.n_epoch * n_batches
        run.phase = "frozen" if is_frozen(learn) else "unfrozen"
        run.restart_smoothing()
        lrs = [as_float(h.get("lr")) for h in learn.opt.hypers] if learn.opt is not None else []
        run.lr = lrs[-1] if lrs else None
        if run.flag.is_set():  # a stop asked for between fits (e.g. "stop after this epoch" at the last one)
            run.skip_fit = True
            self._stop(run, batch=0, next_epoch=True, cancel=False)
            return
        if run.n_epoch == 0:
            return
        run.announced = True
        self._bus.emit(FIT_START, run, phase=run.phase, epochs=run.n_epoch, n_batches=n_batches,
                       total_steps=run.total_steps, lrs=lrs, n_train=loader_length(learn.dls, "train_ds"),
                       n_valid=loader_length(learn.dls, "valid_ds"), device=str(getattr(learn.dls, "device", "")),
                       framework="fastai")

    def before_epoch(self) -> None:
        """Emit EPOCH_START, or cancel the fit when a stop is pending or ended the run earlier."""
        run = self._active()
        if run is None:
            return
        if run.skip_fit:
            raise CancelFitException()
        if run.flag.is_set():
            self._stop(run, batch=0, next_epoch=True)
        run.epoch += 1
        run.epoch_open = True
        run.epoch_started = time.perf_counter()
        self._bus.emit(EPOCH_START, run, phase=run.phase, epoch=run.epoch, epochs=run.n_epoch,
                       epoch_in_fit=self.learn.epoch + 1)

    def after_batch(self) -> None:
        """Emit BATCH_END for a training batch (its loss stays on the device); a pending stop cancels the fit."""
        run = self._active()
        if run is None or run.skip_fit:
            return
        learn = self.learn
        if learn.training and learn.loss is not None:
            run.append_loss(learn.loss)
            hypers = learn.opt.hypers
            lrs = [h["lr"] for h in hypers]
            run.lr = lrs[-1]
            self._bus.emit(BATCH_END, run, phase=run.phase, epoch=run.epoch, batch=learn.iter + 1,
                           n_batches=learn.n_iter, step=learn.train_iter, total_steps=run.total_steps,
                           lr=run.lr, lrs=lrs, mom=hypers[-1].get("mom"), bs=find_bs(learn.yb))
        if run.flag.is_set():  # the batch boundary: this batch's step is complete
            self._stop(run, batch=learn.iter + 1 if learn.training else run.n_batches)

    def after_epoch(self) -> None:
        """Add the epoch's record (fastai's metric names, values as floats) to ``history``; emit EPOCH_END."""
        run = self._active()
        if run is None or not run.epoch_open:  # an epoch skipped by another callback before ours began
            return
        run.epoch_open = False
        learn = self.learn
        recorder = getattr(learn, "recorder", None)
        record: dict[str, Any] = {"epoch": run.epoch, "phase": run.phase, "train_loss": None, "valid_loss": None}
        if recorder is not None:
            names = [n for n in list(recorder.metric_names)[1:] if n not in _RECORD_SKIP]
            record.update({name: as_float(value) for name, value in zip(names, getattr(learn, "final_record", []))})
        record["seconds"] = time.perf_counter() - run.epoch_started
        record["lr"] = as_float(run.lr)
        run.history.append(record)
        self._bus.emit(EPOCH_END, run, **record)

    def after_fit(self) -> None:
        """Emit FIT_END and undo before_fit's changes; the run ends after its last fit or a stop."""
        run = self._run
        if run is None or not run.in_fit:
            return
        status = self._fit_status(run)
        if run.announced:
            self._bus.emit(FIT_END, run, phase=run.phase, status=status, history=list(run.history))
        self._end_fit(run)
        run.fits_done += 1
        if not run.finished and (run.stopped or run.fits_done >= run.expected_fits):
            self._finish(run, status)

    # ------------------------------------------------------------------ internals
    def _active(self) -> FastaiRun | None:
        run = self._run
        return run if run is not None and run.in_fit else None

    def _start_run(self, learn: Any, outer: Any) -> FastaiRun:
        code = outer.f_code.co_name if outer is not None else ""
        n_epoch = int(getattr(learn, "n_epoch", 0) or 0)
        expected = 1
        total: int | None = n_epoch
        if code == "fine_tune":
            local = outer.f_locals
            expected = 2
            try:
                total = int(local["freeze_epochs"]) + int(local["epochs"])
            except (KeyError, TypeError, ValueError):
                total = None
        try:
            capacity = (total or n_epoch or 1) * len(learn.dls.train)
        except TypeError:
            capacity = 1024
        run = FastaiRun(self.title or f"fastai {type(learn.model).__name__}", outer, expected, total, capacity)
        self._run = run
        run.view = common.make_view(total_epochs=total, title=run.title, quiet=self.quiet,
                                          mode=common.view_mode(), on_stop=run.flag.request)
        if run.view is not None:
            self._bus.subscribe(run.view)
        self._hook_cell_end()
        return run

    def _hide_progress(self, learn: Any, run: FastaiRun) -> None:
        """Take fastai's progress bar out for this fit (and mute the Recorder's printed table, as it does)."""
        run.progress = [cb for cb in learn.cbs if isinstance(cb, ProgressCallback)]
        for cb in run.progress:
            cb.run = False        # it is already in this event's list of callbacks: skip its before_fit
            learn.remove_cb(cb)
        current = learn.logger
        run.logger = current if isinstance(current, MutedLogger) else MutedLogger(current)
        run.logger.muted = True
        learn.logger = run.logger

    def _end_fit(self, run: FastaiRun) -> None:
        """Undo what before_fit changed: SIGINT handler, progress bar, logger."""
        run.in_fit = False
        if run.sigint is not None:
            run.sigint.__exit__(None, None, None)
            run.sigint = None
        learn, run.learner, run.fit_frame = run.learner, None, None
        if learn is None:
            return
        if run.logger is not None:
            run.logger.muted = False
            if learn.logger is run.logger:
                learn.logger = run.logger.original
            run.logger = None
        for cb in run.progress:
            cb.run = True
            if cb not in learn.cbs:
                learn.add_cb(cb)
        run.progress = []

    def _fit_status(self, run: FastaiRun) -> str:
        if run.stopped:
            return "interrupted" if run.flag.reason == "interrupted" else "stopped"
        return "finished"

    def _stop(self, run: FastaiRun, batch: int, next_epoch: bool = False, cancel: bool = True) -> None:
        """Record the stop and cancel the fit (fastai then runs after_cancel_fit and after_fit)."""
        reason = run.flag.reason or "user"
        epoch = run.epoch + 1 if next_epoch else run.epoch
        run.stopped = run.announced = True
        run.stopped_at = f"epoch {epoch}, batch {batch}"
        self._bus.emit(STOP, run, reason=reason, epoch=epoch, batch=batch, phase=run.phase)
        if cancel:
            raise CancelFitException()

    def _abort(self, run: FastaiRun, exc: BaseException | None) -> None:
        """The fit ended by an exception fastai let through (after_fit never came)."""
        try:
            if isinstance(exc, KeyboardInterrupt):
                run.flag.request("interrupted")
                run.stopped = True
                run.stopped_at = f"epoch {run.epoch}"
                self._bus.emit(STOP, run, reason="interrupted", epoch=run.epoch, batch=0, phase=run.phase)
                status = "interrupted"
            else:
                message = f"{type(exc).__name__}: {exc}" if exc is not None else "the fit ended unexpectedly"
                run.error = message.splitlines()[0] if message else message
                self._bus.emit(ERROR, run, error=exc, message=run.error, phase=run.phase)
                status = "failed"
            self._bus.emit(FIT_END, run, phase=run.phase, status=status, history=list(run.history))
        finally:
            self._end_fit(run)  # on the learner of this fit: fastai may have detached us already
        self._finish(run, status)

    def _finish(self, run: FastaiRun, status: str) -> None:
        """The run is over: leave the view's final rendering."""
        if run.finished:
            return
        run.finished = True
        run.status = status
        view, run.view = run.view, None
        if view is not None:
            self._bus.unsubscribe(view)
            common.close_view(view, status, summary_line(status, run.history, what=run.title,
                                                               stopped_at=run.stopped_at, error=run.error))

    # In a notebook a run also ends with its cell: a fit that raised through a callback the learner
    # keeps (Learner(cbs=...)) gets its view closed and the SIGINT handler back there.
    def _hook_cell_end(self) -> None:
        if self._hooked is not None or threading.current_thread() is not threading.main_thread():
            return
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover
            return
        shell = get_ipython()
        if shell is None:
            return

        def cell_ended(result: Any = None) -> None:
            run = self._run
            error = getattr(result, "error_in_exec", None)
            if run is not None:
                if run.in_fit:
                    self._abort(run, error)
                elif not run.finished:  # e.g. an interrupt between fine_tune's two fits
                    if error is not None:
                        run.error = f"{type(error).__name__}: {error}".splitlines()[0]
                    self._finish(run, "interrupted" if isinstance(error, KeyboardInterrupt)
                                 else "failed" if error is not None else "finished")
                run.frame = None
            with contextlib.suppress(ValueError):
                shell.events.unregister("post_run_cell", cell_ended)
            self._hooked = None

        shell.events.register("post_run_cell", cell_ended)
        self._hooked = cell_ended


