"""One training run of a learner: what watches it while it goes, and what its end leaves.

A run subscribes three things to the trainer's events: the live view (dashboard or text
progress), the run log, and the run folder's files (the best model and the state to resume from,
:mod:`.run_files`). At its end they are closed in this order: the run folder's writes finish, the
log closes, the learner takes its status, the notebook variable is settled (its previous value
back if no epoch finished, :mod:`.target`), then the view leaves the run's summary.
"""
from __future__ import annotations

from typing import Any

from ..train.events import STOP, Event
from ..ui.output import show_summary_text
from .replay import replay_history
from .run_files import ResumedRun, RunFiles, data_generators, open_run_log


class RunSession:
    """The subscribers of one run of ``learner`` (a resumed run's past epochs shown first in its view)."""

    def __init__(self, learner: Any, *, kind: str, config: dict[str, Any], total_epochs: int, quiet: bool,
                 background: bool, checkpoints: bool, resume: ResumedRun | None) -> None:
        from ..dashboard.views import make_training_view

        self.learner = learner
        self.view = make_training_view(total_epochs=total_epochs, title=learner.run_name(), quiet=quiet,
                                       mode="background" if background else "foreground",
                                       on_stop=learner.trainer.request_stop)
        self.log, run_config = open_run_log({**learner.config, **config, "call": kind}, learner.run_name(), resume,
                                            epochs_kept=len(learner.history))
        self.epochs_before = len(learner.history)
        self.files = RunFiles(self.log.run_dir, describe=learner.describe, run_config=run_config,
                              last_epoch=total_epochs,
                              epoch_steps=resume.epoch_steps if resume is not None else None,
                              generators=data_generators(learner.loaders)) if checkpoints else None
        if resume is not None:
            replay_history(self.view, learner.history, resume.losses, resume.epoch_steps, learner.trainer.best.monitor)
        self._subscribers = [s for s in (self.view, self.log, self.files, self._note_stop) if s is not None]
        for subscriber in self._subscribers:
            learner.trainer.bus.subscribe(subscriber)

    @property
    def run_dir(self) -> Any:
        """The run's folder."""
        return self.log.run_dir

    def _note_stop(self, event: Event) -> None:
        if event.kind == STOP:
            self.learner.stopped_at = f"epoch {event['epoch']}, batch {event['batch']}"

    def note(self, message: str, details: dict) -> None:
        """Show one line under the view and log it (e.g. a smaller batch size)."""
        self.log.write("batch_size", message=message, **details)
        show_summary_text(message)

    def close(self, status: str) -> None:
        """The run ended with ``status``: close everything, in the order the module docstring gives."""
        from .summary import summary_text

        learner = self.learner
        for subscriber in self._subscribers:
            learner.trainer.bus.unsubscribe(subscriber)
        failed_writes = self.files.close(status, learner.name) if self.files is not None else None
        self.log.close()
        learner.status = status
        learner.settle_target(self.epochs_before)
        if failed_writes:
            show_summary_text(failed_writes)
        if self.view is not None:
            self.view.close(status, summary_text(learner))
