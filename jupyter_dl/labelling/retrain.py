"""The real model joins in: every N new labels a fine-tune runs in the background, then suggests.

:class:`Retrainer` watches a :class:`~jupyter_dl.labelling.session.LabelSession`. Once ``every`` labels
were added since the last start (and at least two classes have two labelled images, the least a
train/valid split needs), it starts ``finetune(..., background=True)`` on the labelled images (the
folder itself, or a DataFrame of a table's labelled rows), with its live dashboard in ``output`` when
one is given. Labelling goes on meanwhile: the run trains from the decode cache it filled when it
started, so files labelled (moved) or put back by undo after that do not touch it. When the run ends,
a second thread predicts every image still unlabelled and hands the probabilities to the session,
which then suggests from the fine-tuned model instead of the embeddings, if it is the better of the
two (:data:`COMPARE_WINDOW`).

Each finished run adds a :class:`RunPoint`: how many labels it trained on and its accuracy on the
images it held out (labelled images it never trained on), for the accuracy-against-labels chart.
"""
from __future__ import annotations

import contextlib
import threading
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..checks import check_count
from ..data.images import UnreadableImageError

if TYPE_CHECKING:
    from .session import LabelSession

EVERY = 50
MIN_PER_CLASS = 2   # a class with one image cannot be in both the training and the validation split
# A finished fine-tune takes over only if its held-out accuracy is at least what the suggestions in use
# scored on the last labels given: with a few hundred labels the linear head on the embeddings is often
# the better model (on 220 digits: 85 % against 42-71 % after 3-9 epochs at 64 px on this CPU).
COMPARE_WINDOW = 50
COMPARE_MIN = 20
PREDICT_CHUNK = 256  # images predicted at once when a fine-tune ends


@dataclass(frozen=True)
class RunPoint:
    """One background fine-tune: trained on ``labels`` images, ``accuracy`` on the ones it held out."""

    labels: int
    accuracy: float | None
    run: str


class Retrainer:
    """Background fine-tunes for ``session`` every ``every`` new labels (0: only when :meth:`start` is called).

    ``options`` go to :func:`~jupyter_dl.finetuning.api.finetune` (epochs, size, arch, bs, ...);
    ``output``: an ``ipywidgets.Output`` the run's live view is shown in (None: no view).
    """

    def __init__(self, session: LabelSession, *, every: int = EVERY, output: Any = None, **options: Any) -> None:
        if every:
            check_count("--retrain-every", every)
        self.session = session
        self.every = int(every)
        self.output = output
        self.options = options
        self.learner: Any = None            # the latest run's learner (predicts once it has finished)
        self.points: list[RunPoint] = []
        self.status = ""                    # one line for the view: what the background model is doing
        self.error: BaseException | None = None
        self._started_at = session.n_labelled
        self._watcher: threading.Thread | None = None
        session.on_change(self.maybe_start)

    @property
    def running(self) -> bool:
        """A fine-tune (or its predictions) is under way."""
        return self._watcher is not None and self._watcher.is_alive()

    def due(self) -> bool:
        """Enough new labels for the next run, none running, and every labelled class trainable."""
        if not self.every or self.running:
            return False
        counts = [n for n in self.session.counts.values() if n]
        return (self.session.n_labelled - self._started_at >= self.every and len(counts) >= 2
                and min(counts) >= MIN_PER_CLASS)

    def maybe_start(self) -> None:
        """Start a run if one is :meth:`due` (called after every change of the session)."""
        from ..errors import UserInputError

        if self.due():
            # A refusal is said in the status line; labelling goes on, and the next try is N labels later.
            with contextlib.suppress(UserInputError):
                self.start()

    def start(self) -> Any:
        """Fine-tune on every labelled image now, in the background; returns the learner."""
        import pandas as pd

        from ..errors import UserInputError
        from ..finetuning.api import finetune

        if self.running:
            raise UserInputError("A background fine-tune is already running: wait for it (.retrainer.wait()) "
                                 "or stop it (.retrainer.stop()).")
        pool = self.session.pool
        with self.session.lock:
            labelled = [(str(item.path), item.label) for item in pool.items if item.label is not None]
        n = len(labelled)
        self._started_at = n
        # A folder trains as itself (its run is named after it in %runs; DATA/unlabelled is never a class);
        # a table trains on its labelled rows only.
        data = pool.root if pool.kind == "folder" else pd.DataFrame(labelled, columns=["path", "label"])
        options = dict(self.options)
        if options.get("size") is None:  # the embedding's size: what the images were judged to need
            options["size"] = self.session.size or 224
        self.status = f"fine-tuning on {n} labelled images in the background"
        self.session.changed()
        try:
            with self.output if self.output is not None else nullcontext():
                learner = finetune(data, background=True, quiet=self.output is None, **options)
        except UserInputError as exc:
            self.status = f"could not fine-tune on {n} labelled images: {exc}"
            self.error = exc
            self.session.changed()
            raise
        self.learner = learner
        self._watcher = threading.Thread(target=self._finish, args=(learner, n), name="jupyter_dl-label-retrain",
                                         daemon=True)
        self._watcher.start()
        return learner

    def wait(self, timeout: float | None = None) -> None:
        """Block until the background fine-tune and its predictions are done (or ``timeout`` seconds)."""
        watcher = self._watcher
        if watcher is not None:
            watcher.join(timeout)

    def stop(self) -> None:
        """Stop the background fine-tune at the next batch (its best weights still suggest)."""
        if self.learner is not None:
            self.learner.stop()

    def _finish(self, learner: Any, n: int) -> None:
        status = learner.wait()
        accuracy = _held_out_accuracy(learner)
        if not learner.history:
            self.status = f"the fine-tune on {n} labels ended ({status}) before an epoch finished"
            self.session.changed()
            return
        self.status = f"fine-tuned on {n} labels ({_percent(accuracy)} of its held-out labels right); predicting"
        self.session.changed()
        try:
            probabilities = self._predict(learner)
        except Exception as exc:  # noqa: BLE001 - the labeller goes on with the embeddings' suggestions
            self.error = exc
            self.status = f"the fine-tuned model could not predict the pool ({exc}); suggestions stay as they were"
            warnings.warn(f"jupyter_dl: {self.status}", stacklevel=2)
            self.session.changed()
            return
        name = f"fine-tuned:{learner.run_dir.name if learner.run_dir is not None else learner.run_name()}"
        self.points.append(RunPoint(n, accuracy, name))
        current = self.recent_accuracy()
        # Too few labels given yet to know how good the suggestions are: the model must at least beat chance.
        bar = current if current is not None else 1 / max(len(learner.classes), 2)
        if accuracy is not None and accuracy < bar or accuracy is None and current is not None:
            against = (f"the suggestions {_percent(current)} of the last {COMPARE_WINDOW} labels"
                       if current is not None else f"chance is {_percent(bar)}")
            self.status = (f"the model fine-tuned on {n} labels got {_percent(accuracy)} of its held-out labels "
                           f"right, {against}: the suggestions stay as they are")
            self.session.changed()
            return
        self.status = (f"suggestions now from the model fine-tuned on {n} labels ({_percent(accuracy)} of its "
                       "held-out labels right)")
        self.session.use_model(name, probabilities, learner.classes)

    def recent_accuracy(self) -> float | None:
        """How right the suggestions now in use were on the last :data:`COMPARE_WINDOW` labels (None: too few)."""
        model = self.session.model_name
        # The embeddings' suggestions change method (prototypes, then the linear head) as labels come: one source.
        source = "embeddings:" if model.startswith("embeddings:") else model
        recent = [o.right for o in self.session.outcomes if o.model.startswith(source)][-COMPARE_WINDOW:]
        return sum(recent) / len(recent) if len(recent) >= COMPARE_MIN else None

    def _predict(self, learner: Any) -> np.ndarray:
        session = self.session
        with session.lock:
            keys = session.keys
            todo = [row for row, key in enumerate(keys) if session.pool.item(key).label is None]
            paths = [session.pool.item(keys[row]).path for row in todo]
        probabilities = np.zeros((len(keys), len(learner.classes)), dtype=np.float32)
        for start in range(0, len(paths), PREDICT_CHUNK):
            rows, chunk = todo[start:start + PREDICT_CHUNK], paths[start:start + PREDICT_CHUNK]
            try:
                probabilities[rows] = learner.probabilities(chunk).numpy()
            except UnreadableImageError:
                # The user labels while the model predicts, and a label moves its file out of the pool: that
                # image needs no suggestion any more. Predict the rest of the chunk one by one.
                for row, path in zip(rows, chunk):
                    with contextlib.suppress(UnreadableImageError):
                        probabilities[row] = learner.probabilities([path]).numpy()[0]
        return probabilities


def _held_out_accuracy(learner: Any) -> float | None:
    from ..train.records import find_best

    best = find_best(learner.history, "accuracy")
    return best.value if best is not None else None


def _percent(value: float | None) -> str:
    return "accuracy unknown" if value is None else f"{value:.0%}"
