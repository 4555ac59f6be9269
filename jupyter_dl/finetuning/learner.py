"""The learner ``%finetune`` leaves behind: predict, train more, export, reload.

A :class:`Learner` ties a model (from ``models/``), its data (``data/``) and a
:class:`~jupyter_dl.train.Trainer` together. It is the object people keep
working with after the one-line fine-tune, so every method a fastai user would
reach for is here: ``predict``, ``fit``, ``fine_tune``, ``lr_find``,
``export`` and :func:`load_learner`. Every run keeps its best weights and its
state in its run folder as it goes (:mod:`.run_files`), so nothing trained is lost.
With ``devices`` set (``--devices``), ``fine_tune`` and ``fit`` train in several processes
(:mod:`.multi_device`). A little over 400 lines: the learner is the one object users hold.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..checks import check_count
from ..data.images import load_square, prediction_errors
from ..data.loaders import Loaders
from ..data.transforms import BatchTransform
from ..errors import UserInputError
from ..models.registry import ModelBundle, create_model, rebuild_model
from ..train.device import resolve_device
from ..train.distributed.devices import DevicePlan
from ..train.freezing import freeze, unfreeze
from ..train.lr_finder import lr_find as lr_find_sweep
from ..train.oom import OomGuard
from ..train.recipe import DEFAULT_BODY_LR_RATIO, DEFAULT_LR, DEFAULT_UNFROZEN_LR_FACTOR, discriminative_lrs
from ..train.recipe import fine_tune as fine_tune_recipe
from ..train.runlog import LOG_NAME, MODEL_NAME
from ..train.trainer import Trainer
from ..ui.output import show_summary_text
from .export import export_meta, find_model_file, read_export, write_export
from .multi_device import train_on_devices
from .run_files import ResumedRun
from .session import RunSession
from .target import Target


class Learner:
    """A trained (or training) image classifier with its data and history."""

    def __init__(self, bundle: ModelBundle, classes: Sequence[str], *, size: int,
                 trainer: Trainer, loaders: Loaders | None = None,
                 config: dict[str, Any] | None = None, name: str = "learn") -> None:
        self.bundle = bundle
        self.classes = list(classes)
        self.size = size
        self.trainer = trainer
        self.loaders = loaders
        self.config = dict(config or {})
        self.name = name
        self.status = "ready"          # ready, finished, stopped, interrupted, failed
        self.suggested_lr: float | None = None
        self.lr_find_result: Any = None
        self.run_dir: Path | None = None
        self.stopped_at: str | None = None   # "epoch 2, batch 13" after a stop or interrupt
        self.error: BaseException | None = None  # what ended a failed background run
        self.put_back_note: str | None = None  # set when a run that finished no epoch gave the variable back
        self._target: Target | None = None
        self._epochs_before = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._transform: BatchTransform | None = None
        # What it was trained on, for `%browse learn` (see jupyter_dl.browser.interpretation): the DATA as given
        # (an existing path made absolute) and its resolved source; None when loaded from a file.
        self.data: Any = None
        self.source: Any = None
        # --devices: train in several processes (multi_device.py); the data as they open it; --sync-bn.
        self.devices: DevicePlan | None = None
        self.shared_data: str | None = None
        self.shared_options: dict[str, Any] = {}
        self.sync_bn = False
        self.ranks: dict[str, Any] | None = None  # after a --devices run: {"processes": N, "same_weights": bool}

    # ----------------------------------------------------------------- basics
    @property
    def model(self) -> torch.nn.Module:
        """The ``nn.Module`` being trained (with its new head)."""
        return self.bundle.model

    @property
    def history(self) -> list[dict]:
        """One record per epoch: epoch, phase, train_loss, valid_loss, metrics, seconds."""
        return self.trainer.history

    @property
    def device(self) -> torch.device:
        """Where the model trains and predicts."""
        return self.trainer.device

    @property
    def batch_size(self) -> int | None:
        """The batch size training uses now (``--auto-bs`` may have made it smaller than asked)."""
        if self.loaders is not None and self.loaders.batch_size is not None:
            return self.loaders.batch_size
        return self.config.get("bs")

    def __repr__(self) -> str:
        best = self.best_description()
        return (f"<Learner {self.bundle.arch} · {len(self.classes)} classes · {self.size}px · "
                f"{len(self.history)} epochs · {self.status}{' · ' + best if best else ''}>")

    def best_description(self) -> str:
        """E.g. "best accuracy 0.9500 at epoch 3" (empty before any validated epoch)."""
        best = self.trainer.best
        if best.epoch is None:
            return ""
        return f"best {best.monitor} {best.value:.4f} at epoch {best.epoch}"

    def layer_groups(self) -> list[list[torch.nn.Parameter]]:
        """Early body, late body, head (empty groups of tiny custom models left out)."""
        return [group for group in self.bundle.layer_groups() if group]

    def freeze(self) -> None:
        """Train only the head (BatchNorm layers stay trainable, as in fastai)."""
        freeze(self.model, self.layer_groups())

    def unfreeze(self) -> None:
        """Train every layer again."""
        unfreeze(self.model)

    # -------------------------------------------------------------- predict
    def _batch(self, items: Iterable[Any]) -> torch.Tensor:
        # The same decode/resize (load_square) and normalisation (BatchTransform) as training.
        pixels = torch.stack([load_square(item, self.size) for item in items])
        if self._transform is None or self._transform.device != self.device:
            self._transform = BatchTransform(self.device, self.bundle.mean, self.bundle.std, augment="none",
                                             channels_last=self.trainer.channels_last)
        return self._transform(pixels)

    @prediction_errors
    @torch.no_grad()
    def probabilities(self, items: Sequence[Any], bs: int = 64) -> torch.Tensor:
        """Class probabilities (N x classes, on the CPU) of many images (paths, PIL images or tensors)."""
        self._require_idle("predict")
        was_training = self.model.training
        self.model.eval()
        try:
            out = [torch.softmax(self.model(self._batch(items[i:i + bs])).float(), dim=1).cpu()
                   for i in range(0, len(items), bs)]
        finally:
            self.model.train(was_training)
        return torch.cat(out) if out else torch.empty(0, len(self.classes))

    @prediction_errors  # a missing / unreadable file: one sentence, a two-frame traceback
    def predict(self, item: Any) -> tuple[str, float, torch.Tensor]:
        """Classify one image (path, PIL image or tensor): (label, probability, all probabilities)."""
        probs = self.probabilities([item], bs=1)[0]
        index = int(probs.argmax())
        return self.classes[index], float(probs[index]), probs

    @prediction_errors
    def predict_batch(self, items: Sequence[Any], bs: int = 64) -> list[tuple[str, float]]:
        """Classify many images at once: one (label, probability) per item, in order."""
        probs = self.probabilities(list(items), bs=bs)
        top = probs.max(dim=1)
        return [(self.classes[int(i)], float(p)) for p, i in zip(top.values, top.indices)]

    def evaluate(self, data: Any, **options: Any) -> Any:
        """Score on the test set ``data`` (anything %finetune takes): metrics, confusion matrix, per-class
        precision / recall / F1; options as :func:`~jupyter_dl.browser.evaluation.evaluate` takes them."""
        from ..browser.evaluation import evaluate

        return evaluate(self, data, **options)

    # ------------------------------------------------------------- training
    def _require_data(self, what: str) -> Loaders:
        if self.loaders is None:
            raise UserInputError(
                f"This learner has no data to {what} (it was loaded from a file): "
                "run %finetune on your data, or use the learner only for predict().")
        return self.loaders

    def _run(self, kind: str, body: Callable[[Callable[[str, dict], None]], str], *, total_epochs: int,
             quiet: bool, config: dict[str, Any], background: bool = False, checkpoints: bool = True,
             resume: ResumedRun | None = None) -> str:
        """Run ``body(note)`` with a live view, a run log and the run folder's files watching (:mod:`.session`).

        ``note(message, details)`` shows one line under the view and logs it (a smaller batch size).
        In the background the run happens in a thread and this returns "running" at once;
        ``wait()`` gives the final status, ``stop()`` ends it at the next batch boundary.
        ``checkpoints``: keep the best weights and the state in the run folder (:mod:`.run_files`);
        ``resume``: go on in that run's folder, its past epochs shown first in the view.
        """
        with self._lock:
            if self.running:
                raise UserInputError(f"`{self.name}` is already training: call {self.name}.stop() or "
                                     f"{self.name}.wait() before starting another run.")
            previous, self.status = self.status, "running"
        try:
            session = RunSession(self, kind=kind, config=config, total_epochs=total_epochs, quiet=quiet,
                                 background=background, checkpoints=checkpoints, resume=resume)
        except BaseException:
            self.status = previous
            raise
        self.run_dir = session.run_dir
        self.stopped_at = None
        self.error = None
        self.put_back_note = None
        self._epochs_before = session.epochs_before

        def run() -> str:
            status = "failed"
            try:
                if background:  # signals reach the main thread only: stop() and the Stop button stop it
                    status = body(session.note)
                else:
                    with self.trainer.interrupts_stop_cleanly():
                        status = body(session.note)
            except Exception as exc:
                self.error = exc
                if not background:
                    raise
            finally:
                session.close(status)
            return status

        if not background:
            return run()
        self._thread = threading.Thread(target=run, name=f"jupyter_dl-{self.name}", daemon=True)
        self._thread.start()
        return "running"

    def keep_in(self, target: Target) -> None:
        """Stored in ``target`` for the next run: if it ends before an epoch completes, the previous value goes back."""
        self._target = target
        target.store(self)

    def settle_target(self, epochs_before: int) -> None:
        """After a run (or a failure before it): give the variable back unless an epoch was added since."""
        target, self._target = self._target, None
        if target is not None and len(self.history) == epochs_before:
            self.put_back_note = target.put_back(self)

    def describe(self, history: list[dict]) -> dict[str, Any]:
        """What an exported file says about this learner (the run folder's model.jdl too)."""
        return export_meta(arch=self.bundle.arch, source=self.bundle.source, classes=self.classes, size=self.size,
                           mean=self.bundle.mean, std=self.bundle.std, history=history)

    @property
    def running(self) -> bool:
        """True while a run is in progress (in the background or in the foreground)."""
        return self.status == "running"

    def wait(self, timeout: float | None = None) -> str:
        """Block until a background run ends (or ``timeout`` seconds pass); returns the status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status

    def stop(self) -> None:
        """Ask the current run to stop at the next batch boundary, keeping the best weights."""
        if self.running:
            self.trainer.request_stop("user")

    def _require_idle(self, what: str) -> None:
        if self.running:
            raise UserInputError(f"`{self.name}` is training in the background: call {self.name}.wait() or "
                                 f"{self.name}.stop() before you {what}.")

    def _oom_guard(self, loaders: Loaders, auto_bs: bool, on_retry: Callable[[str, dict], None]) -> OomGuard:
        """Out of memory rolls the phase back, then a clear error or (``auto_bs``) a retry with half the batch."""
        bs = loaders.batch_size
        if bs is not None:  # a batch never holds more than the larger split: halve from what it really holds
            bs = max(1, min(bs, max(loaders.n_train, loaders.n_valid)))

        def rebatch(smaller: int) -> None:
            loaders.set_batch_size(smaller)
            self.config["bs"] = smaller

        return OomGuard(self.trainer, batch_size=bs, rebatch=rebatch, auto=auto_bs, on_retry=on_retry,
                        name=self.name, kept=self._kept_after_failure)

    def _kept_after_failure(self, what: str) -> str:
        """What a failure leaves the user: the variable's previous value when no epoch finished, else this."""
        back = self._target is not None and len(self.history) == self._epochs_before
        return Target.failure_clause(self.name, what, put_back=back)

    def run_name(self) -> str:
        """How the run folder and the view name a run of this learner: "<arch>-<data>"."""
        data = str(self.config.get("data", "data"))
        data = Path(data).name or data
        return f"{self.bundle.arch}-{data}"

    def fine_tune(self, epochs: int = 1, freeze_epochs: int = 1, lr: float | None = None, *,
                  quiet: bool = False, background: bool = False, auto_bs: bool = False,
                  checkpoints: bool = True, resume: ResumedRun | None = None, **recipe_options: Any) -> str:
        """fastai's recipe: head only (one-cycle), then everything with discriminative rates.

        Out of GPU memory, the phase it happened in is rolled back (a finished frozen phase
        is kept) and a clear error says how much memory was asked and free; with ``auto_bs``
        the phase is retried from its start with half the batch size until it fits.
        ``checkpoints``: keep the best weights and the state in the run folder as epochs end.
        ``resume``: a saved run to go on with (``finetune(..., resume=RUN)`` makes it).
        """
        loaders = self._require_data("train on")
        options = {k: v for k, v in recipe_options.items() if v is not None}
        if lr is not None:
            options["lr"] = lr

        def body(note) -> str:
            if self.devices is not None:
                return train_on_devices(self, "fine_tune", {"epochs": epochs, "freeze_epochs": freeze_epochs,
                                                            **options})
            guard = self._oom_guard(loaders, auto_bs, note)
            return fine_tune_recipe(self.trainer, loaders.train, loaders.valid, self.layer_groups(),
                                    epochs=epochs, freeze_epochs=freeze_epochs, fit=guard.fit_one_cycle,
                                    resume=resume.fit if resume is not None else None, **options)

        remaining = resume.remaining if resume is not None else epochs + freeze_epochs
        return self._run("fine_tune", body, total_epochs=len(self.history) + remaining,
                         quiet=quiet, background=background, checkpoints=checkpoints, resume=resume,
                         config={"epochs": epochs, "freeze_epochs": freeze_epochs,
                                 "lr": options.get("lr", DEFAULT_LR), "auto_bs": auto_bs, **options})

    def fit(self, epochs: int = 1, lr: float | None = None, *, quiet: bool = False,
            background: bool = False, auto_bs: bool = False, checkpoints: bool = True,
            resume: ResumedRun | None = None) -> str:
        """Train more, the whole model, one-cycle; ``lr`` is the head's rate (body lower, as in fine_tune).

        Out of GPU memory: see :meth:`fine_tune` (``auto_bs`` halves the batch size until it fits).
        ``checkpoints`` and ``resume``: as in :meth:`fine_tune`.
        """
        loaders = self._require_data("train on")
        check_count("epochs", epochs)
        head_lr = lr if lr is not None else DEFAULT_LR * DEFAULT_UNFROZEN_LR_FACTOR
        groups = self.layer_groups()
        lrs = discriminative_lrs(head_lr, len(groups), DEFAULT_BODY_LR_RATIO)

        def body(note) -> str:
            if self.devices is not None:
                return train_on_devices(self, "fit", {"epochs": epochs, "lr": head_lr,
                                                      "body_lr_ratio": DEFAULT_BODY_LR_RATIO})
            self.unfreeze()
            guard = self._oom_guard(loaders, auto_bs, note)
            return guard.fit_one_cycle(loaders.train, loaders.valid, epochs, lrs, param_groups=groups,
                                       phase="unfrozen", **({"resume": resume.fit} if resume is not None else {}))

        remaining = resume.remaining if resume is not None else epochs
        return self._run("fit", body, total_epochs=len(self.history) + remaining, quiet=quiet,
                         background=background, checkpoints=checkpoints, resume=resume,
                         config={"epochs": epochs, "lr": head_lr, "auto_bs": auto_bs})

    def lr_find(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_it: int = 100,
                frozen: bool | None = None, auto_bs: bool = False) -> Any:
        """Sweep the learning rate; weights are left untouched. Sets ``suggested_lr``.

        Before any training the sweep runs with the body frozen (``frozen=None``), as
        fastai's does on a fresh vision learner: that is the rate the head starts with.
        Out of GPU memory: a clear error, or with ``auto_bs`` a retry with half the batch size.
        """
        loaders = self._require_data("sweep")
        self._require_idle("run the LR finder")
        if frozen is None:
            frozen = not self.history
        flags = [p.requires_grad for p in self.model.parameters()]
        if frozen:
            self.freeze()
        guard = self._oom_guard(loaders, auto_bs, lambda message, details: show_summary_text(message))
        try:
            result = guard.run(lambda: lr_find_sweep(self.trainer, loaders.train, start_lr=start_lr, end_lr=end_lr,
                                                     num_it=num_it), what="LR finder sweep")
        finally:
            for param, flag in zip(self.model.parameters(), flags):
                param.requires_grad_(flag)
        self.lr_find_result = result
        self.suggested_lr = result.suggested
        return result

    # --------------------------------------------------------------- export
    def export(self, path: str | os.PathLike = "model.jdl") -> Path:
        """Save weights + a small JSON description into one portable file (see :mod:`.export`).

        Nothing pickled but tensors (it loads with ``torch.load(weights_only=True)``),
        no paths of this machine: :func:`load_learner` works elsewhere without the data.
        """
        self._require_idle("export")
        return write_export(path, self.describe(self.history), self.model.state_dict())


def load_learner(path: str | os.PathLike, *, device: str = "cpu",
                 model: torch.nn.Module | None = None) -> Learner:
    """Load a file written by :meth:`Learner.export`, or a run folder's best model (no data needed).

    ``path``: an exported file, a run folder (``runs/<run>``: its ``model.jdl``, saved as the run
    went, so it survives a crash or a kernel restart) or a run's name as ``%runs`` lists it.
    ``model`` is only needed for learners built on your own ``nn.Module``:
    pass a fresh instance of the same architecture.
    """
    path = find_model_file(path)
    meta, state = read_export(path)
    n_classes = len(meta["classes"])
    if meta["source"] == "module":
        if model is None:
            raise UserInputError(f"{path} holds weights for your own nn.Module: pass a fresh instance, "
                                 "load_learner(path, model=MyNet()).")
        bundle = create_model(model, n_classes, pretrained=False)
    else:
        bundle = rebuild_model(meta["arch"], meta["source"], n_classes)
    bundle.model.load_state_dict(state)
    bundle.mean, bundle.std = tuple(meta["mean"]), tuple(meta["std"])
    trainer = Trainer(bundle.model, device=resolve_device(device))
    trainer.history.extend(meta.get("history", []))
    in_run = path.name == MODEL_NAME and (path.parent / LOG_NAME).is_file()
    learner = Learner(bundle, meta["classes"], size=meta["size"], trainer=trainer,
                      config={"loaded_from": f"{path.parent.name}/{path.name}" if in_run else path.name})
    learner.run_dir = path.parent if in_run else None
    learner.status = "loaded"
    return learner
