"""What a run folder keeps besides its log, so that a trained model is never lost.

- ``model.jdl``: the best weights so far, in ``learn.export()``'s format (:mod:`.export`), written
  each time the trainer keeps a new best (its CHECKPOINT event): ``load_learner("runs/<run>")``
  reads it after a crash, a kill or a kernel restart. Before any epoch has a validation score,
  the latest epoch's weights stand in; a later run of a learner (``learn.fit``) whose first epoch
  does not beat the best so far starts its folder with that best.
- ``resume.pt``: where the run stands at its last epoch end (the weights, the optimizer's state,
  the schedule's position, the history, the per-step losses), for ``finetune(..., resume=RUN)``.
  Removed when the run finishes its plan (there is nothing left to resume; the model stays).

Both are written at epoch ends only, never per batch, and off the training thread: the epoch end
copies what it needs to the CPU (a few milliseconds) and a writer thread serialises it and
renames it into place (:func:`jupyter_dl.paths.write_atomic`), so a kill leaves the previous file
whole. A failed write never stops training; the run's summary says so.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._version import __version__
from ..errors import UserInputError
from ..paths import write_atomic
from ..train.checkpoint import FitResume, capture
from ..train.events import CHECKPOINT, EPOCH_END, Event
from ..train.runlog import MODEL_NAME, RESUME, STATE_NAME, RunLog, json_safe
from .export import write_export

STATE_FORMAT = "jupyter_dl.finetuning.run-state/1"


@dataclass
class ResumedRun:
    """A run to go on with: its folder, the plan it was started with and where its fit stood."""

    run_dir: Path
    run_config: dict[str, Any]           # the run log's config line: the plan (call, epochs, lr, ...)
    fit: FitResume                       # the phase, the epochs of it done, the optimizer's state
    remaining: int = 0                   # the epochs of the plan still to train
    epoch_steps: dict[int, int] = field(default_factory=dict)  # epoch -> global step at its end
    losses: torch.Tensor | None = None   # the per-step (raw, smoothed) losses so far


def yield_to_training() -> None:
    """Lower the calling thread's CPU priority (Linux: a thread has its own nice value), so that on a
    machine with few cores the writes take the time training leaves rather than time from training."""
    with contextlib.suppress(AttributeError, OSError):    # not Linux / not allowed: the default priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class BackgroundWriter:
    """Runs file writes on one thread, newest first: a write still waiting is replaced by a newer one to
    the same file (only the newest state matters). ``close()`` waits for the writes in hand."""

    def __init__(self) -> None:
        self._pending: dict[Path, Callable[[], object]] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self.seconds = 0.0        # time the writes took, on the writer thread

    def submit(self, path: Path, write: Callable[[], object]) -> None:
        """Queue ``write()`` (which writes ``path``) for the writer thread."""
        with self._cond:
            self._pending.pop(path, None)
            self._pending[path] = write
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="jupyter_dl-run-files", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        yield_to_training()
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                path = next(iter(self._pending))
                write = self._pending.pop(path)
                self._busy = True
            started = time.perf_counter()
            try:
                write()
            except Exception as exc:  # a full disk must not stop training: the summary says so
                self.errors.append(f"{path.name}: {type(exc).__name__}: {exc}")
            finally:
                with self._cond:
                    self.seconds += time.perf_counter() - started
                    self._busy = False
                    self._cond.notify_all()

    def close(self) -> None:
        """Finish the queued writes and end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()


class RunFiles:
    """Event subscriber that keeps ``model.jdl`` and ``resume.pt`` in ``run_dir`` up to date.

    ``describe(history)``: the learner's export description (architecture, classes, size, ...);
    ``run_config``: the plan, saved with the state so that a resume can go on with it;
    ``last_epoch``: the run's last planned epoch, whose state is not saved (the run ends right after
    it and ``resume.pt`` goes; a kill in between leaves the state of the epoch before);
    ``generators``: the data's random generators, whose states go with the state.
    """

    def __init__(self, run_dir: Path, *, describe: Callable[[list[dict]], dict[str, Any]],
                 run_config: dict[str, Any], last_epoch: int | None = None,
                 epoch_steps: dict[int, int] | None = None, generators: Sequence[torch.Generator] = ()) -> None:
        self.model_path = Path(run_dir) / MODEL_NAME
        self.state_path = Path(run_dir) / STATE_NAME
        self.describe = describe
        self.run_config = json_safe(run_config)
        self.last_epoch = last_epoch
        self.epoch_steps = dict(epoch_steps or {})
        self.generators = list(generators)
        self._model_written = False
        self.writer = BackgroundWriter()
        self.seconds = 0.0        # time taken on the training thread (the CPU copies)

    def __call__(self, event: Event) -> None:
        """Save on EPOCH_END (the state) and CHECKPOINT (the new best weights) of a Trainer's run."""
        if event.kind not in (EPOCH_END, CHECKPOINT) or not hasattr(event.source, "fit_position"):
            return  # only a Trainer's epoch ends carry an optimizer and a schedule to save
        started = time.perf_counter()
        if event.kind == EPOCH_END:
            self._epoch_end(event.source, event.data)
        else:
            self._checkpoint(event.source)
        self.seconds += time.perf_counter() - started

    def _epoch_end(self, trainer: Any, record: dict) -> None:
        best = trainer.best
        checkpoint_follows = best.is_improvement(record.get(best.monitor))
        if not checkpoint_follows and best.has_best and not self._model_written:
            self._checkpoint(trainer)  # a later run of the learner: its folder starts with the best so far
        stand_in = not checkpoint_follows and not best.has_best
        if record.get("epoch") == self.last_epoch and not stand_in:
            return  # the run ends now: the CHECKPOINT keeps the model, and nothing is left to resume
        state = capture(trainer, self.generators)
        if state is None:
            return
        position = state.pop("position")
        self.epoch_steps[int(record["epoch"])] = trainer.global_step
        history = json_safe(list(trainer.history))
        meta = {**self.describe(history), "format": STATE_FORMAT, "run_config": self.run_config,
                "position": {"phase": position.phase, "epochs": position.epochs, "done": position.done},
                "epoch_steps": {str(k): v for k, v in self.epoch_steps.items()}}
        path = self.state_path
        self.writer.submit(path, lambda: write_state(path, meta, state))
        if stand_in:  # no epoch has a validation score yet (so no CHECKPOINT comes): the latest weights
            self._submit_model({**self.describe(history), "best": None}, state["model"])

    def _checkpoint(self, trainer: Any) -> None:
        best = trainer.best
        # best.state is a fresh CPU copy made for this checkpoint and never changed in place: no copy here.
        meta = {**self.describe(json_safe(list(trainer.history))),
                "best": {"monitor": best.monitor, "epoch": best.epoch, "value": best.value}}
        self._submit_model(meta, best.state)

    def _submit_model(self, meta: dict[str, Any], weights: dict[str, torch.Tensor]) -> None:
        self._model_written = True
        path = self.model_path
        self.writer.submit(path, lambda: write_export(path, meta, weights))

    def close(self, status: str, name: str = "learn") -> str | None:
        """Wait for the writes; a finished run's ``resume.pt`` goes (nothing is left to resume).

        Returns None, or the sentence for writes that failed (``name``: the learner's variable).
        """
        self.writer.close()
        if status == "finished":
            with contextlib.suppress(OSError):
                self.state_path.unlink()
        if not self.writer.errors:
            return None
        return (f"The run folder could not keep the model ({self.writer.errors[-1]}): save it with "
                f"{name}.export(path).")


# What a resumed run's log line records of the machine it goes on on.
RESUME_LOGGED = ("device", "precision", "bs", "data")


def open_run_log(run_config: dict[str, Any], name_hint: str, resume: ResumedRun | None, *,
                 epochs_kept: int) -> tuple[RunLog, dict[str, Any]]:
    """(log, plan): a new run folder's log with ``run_config`` first, or the resumed run's log with a
    ``resume`` line (the epochs kept, and the machine it goes on on) and the run's own plan."""
    if resume is None:
        return RunLog.start(run_config, name_hint=name_hint), run_config
    log = RunLog(resume.run_dir)
    log.write(RESUME, epoch=epochs_kept, **{k: run_config.get(k) for k in RESUME_LOGGED})
    return log, resume.run_config


def write_state(path: Path, meta: dict[str, Any], state: dict[str, Any]) -> None:
    """``resume.pt``: the JSON description and the tensors (model, optimizer, scaler, losses), atomically."""
    payload = {"meta": json.dumps({**meta, "jupyter_dl_version": __version__,
                                   "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}),
               **state}
    write_atomic(path, lambda file: torch.save(payload, file))


def read_state(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(meta, tensors) of a ``resume.pt``, memory-mapped (nothing is read until used); one sentence if damaged."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        meta = json.loads(payload.pop("meta"))
    except Exception as exc:  # a damaged or foreign file
        raise UserInputError(f"{path} cannot be read ({exc.__class__.__name__}): the run cannot be resumed, "
                             f"but its model (if any) loads with load_learner({str(path.parent)!r}).") from None
    if meta.get("format") != STATE_FORMAT:
        raise UserInputError(f"{path} has format {meta.get('format')!r}; this jupyter_dl resumes {STATE_FORMAT}.")
    return meta, payload


def data_generators(loaders: Any) -> list[torch.Generator]:
    """The random generators a learner's training batches come from (shuffling, augmentation), in a fixed order.

    The data's loaders keep them as ``generator`` attributes, on the loader, its batch ``transform``
    or the DataLoader it wraps (``loader``); a fastai DataLoader has none of its own.
    """
    found: list[torch.Generator] = []

    def visit(obj: Any, depth: int) -> None:
        for attr in ("generator", "transform", "loader"):
            value = getattr(obj, attr, None)
            if isinstance(value, torch.Generator):
                found.append(value)
            elif value is not None and attr != "generator" and depth < 3:
                visit(value, depth + 1)

    train = getattr(loaders, "train", None)
    if train is not None:
        visit(train, 0)
    return found
