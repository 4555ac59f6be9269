"""Mistakes after training: every validation item's prediction, sorted and grouped.

:func:`interpret` runs a learner's model once over its whole validation set (no
augmentation, the learner's device and precision, no gradients) and keeps, per
item, the actual and predicted class, the confidence, all probabilities and the
item's cross-entropy loss. :class:`Interpretation` answers the questions people
ask next: which items is the model most wrong about (top losses), which classes
does it mix up (confusion matrix, most-confused pairs, the items of one cell),
and how good is it per class (precision, recall, F1).

Each prediction carries the key of its item in ``Interpretation.catalog`` (the
learner's data set as :func:`jupyter_dl.data.catalog.build_catalog` sees it), so
the browser can show the images and cleaning can relabel or remove them.

Works for the learner ``%finetune`` leaves and for a fastai ``Learner``. No
IPython or widgets here: the browser widget (:mod:`.widget`) renders what this computes.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import check_count
from ..errors import UserInputError

if TYPE_CHECKING:
    import torch

    from ..data.catalog import Catalog


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one validation item."""

    key: int                    # the item's key in Interpretation.catalog
    path: Path | None           # its file (None for in-memory items)
    actual: str                 # the label it was validated against
    predicted: str              # the most probable class
    confidence: float           # probability of the predicted class
    loss: float                 # cross-entropy of this item: -log(probability of the actual class)
    probabilities: list[float]  # one per class, in Interpretation.classes order

    @property
    def correct(self) -> bool:
        """``predicted == actual``, the label when interpreted (a later relabel does not change it)."""
        return self.actual == self.predicted


class Interpretation:
    """Predictions for every validation item, with the views of them the mistakes explorer shows."""

    subset = "validation"       # what was predicted: "validation" images here, "test" images in an Evaluation

    def __init__(self, classes: Sequence[str], predictions: Sequence[Prediction], catalog: Catalog | None = None,
                 *, left_out: Sequence[Path] = ()) -> None:
        self.classes = list(classes)
        self.predictions = list(predictions)
        self.catalog = catalog
        # Validation files the learner was trained with that the data set no longer has (moved or
        # removed since): they have no catalog key, so they are not among the predictions.
        self.left_out = list(left_out)
        self._index = {name: i for i, name in enumerate(self.classes)}
        self._by_key = {p.key: p for p in self.predictions}
        # Highest loss first; equal losses keep the catalog order, so listings are stable.
        self._by_loss = sorted(self.predictions, key=lambda p: (-p.loss, p.key))

    def __len__(self) -> int:
        return len(self.predictions)

    def __repr__(self) -> str:
        wrong = sum(not p.correct for p in self.predictions)
        return (f"<Interpretation {len(self)} {self.subset} items · {wrong} wrong · "
                f"accuracy {self.accuracy:.4f} · {len(self.classes)} classes>")

    @property
    def accuracy(self) -> float:
        """Share of validation items predicted correctly (0.0 when there are none)."""
        if not self.predictions:
            return 0.0
        return sum(p.correct for p in self.predictions) / len(self.predictions)

    def prediction(self, key: int) -> Prediction | None:
        """The prediction for the catalog item ``key`` (None for an item that is not in the validation set)."""
        return self._by_key.get(key)

    # ------------------------------------------------------------ listings
    def top_losses(self, n: int | None = None) -> list[Prediction]:
        """The ``n`` items with the highest loss (all when ``n`` is None), highest first."""
        if n is None:
            return list(self._by_loss)
        check_count("n", n, minimum=0)
        return self._by_loss[:n]

    def filter(self, correct: bool | None = None, actual: str | None = None,
               predicted: str | None = None) -> list[Prediction]:
        """Items that match every given condition (None: any), highest loss first."""
        actual = self._check_class(actual, "actual")
        predicted = self._check_class(predicted, "predicted")
        return [p for p in self._by_loss
                if (correct is None or p.correct == bool(correct))
                and (actual is None or p.actual == actual)
                and (predicted is None or p.predicted == predicted)]

    def items_in_cell(self, actual: str, predicted: str) -> list[int]:
        """Catalog keys of the items in one confusion-matrix cell, highest loss first."""
        return [p.key for p in self.filter(actual=actual, predicted=predicted)]

    # ------------------------------------------------------------ summaries
    def confusion_matrix(self) -> list[list[int]]:
        """Counts, ``matrix[actual][predicted]``, rows and columns in ``classes`` order."""
        n = len(self.classes)
        matrix = [[0] * n for _ in range(n)]
        for p in self.predictions:
            matrix[self._index[p.actual]][self._index[p.predicted]] += 1
        return matrix

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """(actual, predicted, count) for the mistakes made at least ``min_count`` times, most frequent first.

        Only off-diagonal cells (real mistakes); equal counts keep the classes' order.
        """
        matrix = self.confusion_matrix()
        pairs = [(self.classes[a], self.classes[p], matrix[a][p])
                 for a in range(len(self.classes)) for p in range(len(self.classes))
                 if a != p and matrix[a][p] >= max(1, min_count)]
        return sorted(pairs, key=lambda pair: -pair[2])  # sorted() is stable: ties stay in class order

    def per_class(self) -> list[dict]:
        """One row per class: class, precision, recall, f1, support (its number of validation items).

        A ratio whose denominator is 0 (a class never predicted, or with no validation
        items) is 0.0, as scikit-learn reports it with ``zero_division=0``.
        """
        matrix = self.confusion_matrix()
        rows = []
        for i, name in enumerate(self.classes):
            true_pos = matrix[i][i]
            support = sum(matrix[i])
            predicted = sum(row[i] for row in matrix)
            precision = _ratio(true_pos, predicted)
            recall = _ratio(true_pos, support)
            f1 = _ratio(2 * precision * recall, precision + recall)
            rows.append({"class": name, "precision": precision, "recall": recall, "f1": f1, "support": support})
        return rows

    def _check_class(self, name: str | None, what: str) -> str | None:
        if name is None or name in self._index:
            return name
        raise UserInputError(f"{what}={name!r} is not one of this learner's classes: use one of "
                             f"{', '.join(map(repr, self.classes))}.")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def predictions_from_outputs(probabilities: torch.Tensor, targets: torch.Tensor, classes: Sequence[str],
                             keys: Sequence[int], paths: Sequence[Path | None],
                             losses: torch.Tensor | None = None) -> list[Prediction]:
    """One Prediction per row of ``probabilities`` (N x C, softmax) with its integer target.

    ``losses`` (N) are the per-item losses when the caller has them (fastai's own
    loss function); otherwise each is the cross-entropy ``-log p(target)``.
    """
    import torch

    probabilities = probabilities.detach().float().cpu()
    targets = targets.detach().long().cpu().reshape(-1)
    n, n_classes = probabilities.shape
    if n_classes != len(classes) or len(targets) != n or len(keys) != n or len(paths) != n:
        raise ValueError(f"{n} x {n_classes} probabilities do not fit {len(targets)} targets, {len(keys)} keys, "
                         f"{len(paths)} paths and {len(classes)} classes")
    if losses is None:
        # Clamped so a probability that underflowed to 0 gives a large finite loss, not inf.
        picked = probabilities.gather(1, targets.view(-1, 1)).squeeze(1)
        losses = -torch.log(picked.clamp_min(torch.finfo(torch.float32).tiny))
    losses = losses.detach().float().cpu().reshape(-1)
    confidence, predicted = probabilities.max(dim=1)
    rows = probabilities.tolist()
    return [Prediction(key=int(key), path=path, actual=classes[int(target)], predicted=classes[int(pred)],
                       confidence=float(conf), loss=float(loss), probabilities=row)
            for key, path, target, pred, conf, loss, row
            in zip(keys, paths, targets.tolist(), predicted.tolist(), confidence.tolist(), losses.tolist(), rows)]


# ------------------------------------------------------------------ interpret a learner
def interpret(learner: Any, *, namespace: dict | None = None) -> Interpretation:
    """Predict every validation item of ``learner`` once and return the :class:`Interpretation`.

    ``learner``: the learner ``%finetune`` leaves (``jupyter_dl.Learner``) or a fastai
    ``Learner``. ``namespace`` finds data that was given by variable name (``%finetune
    arch df``). The model's weights and train/eval modes are left as they were.
    """
    if is_ours(learner):
        return _interpret_jupyter_dl(learner, namespace)
    if is_fastai(learner):
        return _interpret_fastai(learner)
    raise UserInputError(f"A {type(learner).__name__} is not a learner: pass the learner %finetune left "
                         "(e.g. learn) or a fastai Learner.")


def is_ours(learner: Any) -> bool:
    """The learner ``%finetune`` (or ``load_learner``) made; told without importing it (finetuning imports this)."""
    module = sys.modules.get("jupyter_dl.finetuning.learner")
    return module is not None and isinstance(learner, module.Learner)


def is_learner(value: Any) -> bool:
    """The learner ``%finetune`` leaves, or a fastai ``Learner`` (not its DataLoaders)."""
    return is_ours(value) or (is_fastai(value) and hasattr(value, "model"))


def is_fastai(learner: Any) -> bool:
    """A fastai ``Learner`` (told without importing fastai)."""
    return type(learner).__module__.startswith("fastai") and hasattr(learner, "get_preds") and hasattr(learner, "dls")


def learner_catalog(learner: Any, *, namespace: dict | None = None) -> Catalog:
    """The catalog of the data ``learner`` was trained on, built with its own options (same split)."""
    from ..data.catalog import build_catalog

    config = learner.config
    target = learner.data if learner.data is not None else config.get("data")
    if target is None:
        raise UserInputError(f"`{learner.name}` does not say which data it was trained on: "
                             "browse the data itself (%browse DATA).")
    return build_catalog(target, namespace=namespace, label_col=config.get("label_col", "label"),
                         path_col=config.get("path_col", "path"), label_re=config.get("label_re"),
                         valid_pct=config.get("valid_pct", 0.2), seed=config.get("seed", 42))


def _interpret_jupyter_dl(learner: Any, namespace: dict | None) -> Interpretation:
    what = "look at its mistakes"
    learner._require_idle(what)
    loaders = learner._require_data("look for mistakes in")
    if loaders.n_valid == 0:
        raise UserInputError(f"`{learner.name}` has no validation images to look for mistakes in: "
                             "train it with a validation split (e.g. --valid-pct 0.2).")
    catalog = learner_catalog(learner, namespace=namespace)
    keys, paths, left_out = _valid_keys(learner.source, loaders, catalog)
    with modes_kept(learner.model):
        # The Trainer's own validation pass: same device, precision, memory format and batches.
        outputs = learner.trainer.evaluate(loaders.valid)
    probabilities, targets = outputs["preds"], outputs["targets"]
    if len(targets) != len(keys):
        raise UserInputError(f"The validation data of `{learner.name}` gave {len(targets)} items where "
                             f"{len(keys)} were expected: train it again on the current data.")
    found = [i for i, key in enumerate(keys) if key is not None]
    found_keys = [key for key in keys if key is not None]  # keys[i] for i in found
    predictions = predictions_from_outputs(probabilities[found], targets[found], learner.classes,
                                           found_keys, [paths[i] for i in found])
    return Interpretation(learner.classes, predictions, catalog, left_out=left_out)


def _valid_keys(source: Any, loaders: Any, catalog: Catalog
                ) -> tuple[list[int | None], Sequence[Path | None], list[Path]]:
    """Per item of the learner's valid loader, in its order: (catalog key or None, path), and the paths not found.

    Files are matched by path, so a data set cleaned since training still lines up
    (a file moved or removed since is left out). In-memory items (torch Dataset,
    fastai) are matched by their position in the validation split.
    """
    from ..data.source_types import ImageItems

    if isinstance(source, ImageItems):
        skipped = {Path(path) for path, _ in loaders.skipped}  # unreadable: not in the loader
        wanted = [Path(path) for path, _ in source.valid if Path(path) not in skipped]
        by_path: dict[str, list[int]] = {}
        # Valid items first, so a file listed twice (a CSV can) is matched to its valid row first.
        for item in catalog.split_items("valid") + catalog.split_items("train"):
            if item.path is not None:
                by_path.setdefault(_same_file(item.path), []).append(item.key)
        keys: list[int | None] = []
        for path in wanted:
            candidates = by_path.get(_same_file(path))
            keys.append(candidates.pop(0) if candidates else None)
        left_out = [path for path, key in zip(wanted, keys) if key is None]
        return keys, wanted, left_out
    valid = catalog.split_items("valid")
    if len(valid) != loaders.n_valid:
        raise UserInputError(f"The data has {len(valid)} validation items now but the learner was validated on "
                             f"{loaders.n_valid}: train it again on the current data.")
    return [item.key for item in valid], [item.path for item in valid], []


def _same_file(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


@contextmanager
def modes_kept(model: Any) -> Iterator[None]:
    """Put every module's train/eval flag back afterwards (a validation or test pass switches them to eval)."""
    modes = [(module, module.training) for module in model.modules()]
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


# ------------------------------------------------------------------ fastai
def _interpret_fastai(learn: Any) -> Interpretation:
    from ..data.catalog import build_catalog

    dls = learn.dls
    vocab = getattr(dls, "vocab", None)
    if vocab is None:
        raise UserInputError("This fastai Learner's data has no vocab: interpret works for single-label "
                             "classifiers built with a CategoryBlock.")
    classes = [str(c) for c in vocab]
    if len(dls.valid_ds) == 0:
        raise UserInputError("This fastai Learner has no validation items to look for mistakes in: "
                             "build its DataLoaders with a validation split (e.g. valid_pct=0.2).")
    catalog = build_catalog(dls)
    valid = catalog.split_items("valid")
    bars = [cb for cb in learn.cbs if type(cb).__name__ == "ProgressCallback"]
    with modes_kept(learn.model), learn.removed_cbs(bars):
        # Ordered as valid_ds (fastai reorders), each item's loss from the learner's own loss function.
        probabilities, targets, losses = learn.get_preds(ds_idx=1, with_loss=True)
    probabilities, targets = plain_tensor(probabilities), plain_tensor(targets)
    if probabilities.ndim != 2 or targets.ndim != 1 or probabilities.shape[1] != len(classes):
        raise UserInputError("This fastai Learner is not a single-label classifier (one class per image): "
                             "interpret works for CategoryBlock targets only.")
    if len(targets) != len(valid):
        raise UserInputError(f"The fastai Learner predicted {len(targets)} validation items but its data has "
                             f"{len(valid)}: rebuild its DataLoaders.")
    predictions = predictions_from_outputs(probabilities, targets, classes, [item.key for item in valid],
                                           [item.path for item in valid], losses=plain_tensor(losses))
    return Interpretation(classes, predictions, catalog)


def plain_tensor(tensor: Any) -> torch.Tensor:
    """``tensor`` as a plain ``torch.Tensor`` (fastai's subclasses dropped), or anything else made one."""
    import torch

    # fastai's tensor subclasses (TensorCategory, ...) would carry their types into every result.
    return tensor.as_subclass(torch.Tensor) if isinstance(tensor, torch.Tensor) else torch.as_tensor(tensor)
