"""Scoring a learner on a test set: :func:`evaluate` and the :class:`Evaluation` it returns.

``evaluate(learn, "data/test")`` runs the model once over every test image (no augmentation, the
learner's size, normalisation, device and precision, no gradients) and returns an
:class:`Evaluation`: the loss and the learner's metrics, the confusion matrix, precision / recall /
F1 per class, and every prediction (top losses, the items of one matrix cell), so
``browse(learn, data="data/test")`` explores the mistakes on the test set as ``%browse learn`` does
on the validation set. It is an :class:`~jupyter_dl.browser.interpretation.Interpretation`, of
test images.

DATA is anything ``%finetune`` takes; which images are the test set:

- a folder of class folders, a flat folder with ``label_re``, a CSV file or DataFrame, a torch
  Dataset: all of its images;
- data that is itself split (a folder with ``train/`` and ``valid/``, a table with an ``is_valid``
  column, a ``(train, valid)`` pair of Datasets, fastai DataLoaders): its validation part; a folder
  with ``train/`` and a ``test/`` folder beside it: ``test/``.

Labels are matched to the learner's classes by name. A test image of a class the learner was not
trained on is refused in one sentence (it cannot be scored fairly); a learner class with no test
image is reported (``missing_classes``) and scores 0 recall with support 0 in the per-class table.
Works for the learner ``%finetune`` or ``load_learner`` makes, and for a fastai ``Learner``
(file data, or fastai DataLoaders built the same way). No IPython or widgets here.
"""
from __future__ import annotations

import html
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from .interpretation import (
    Interpretation,
    Prediction,
    is_fastai,
    is_ours,
    modes_kept,
    plain_tensor,
    predictions_from_outputs,
)

TEST_DIR_NAMES = ("test", "testing")
TRAIN_DIR_NAMES = ("train", "training")


class Evaluation(Interpretation):
    """A learner's predictions on a test set, with its loss and metrics (``metrics``); see the module docstring."""

    subset = "test"

    def __init__(self, classes: Sequence[str], predictions: Sequence[Prediction], catalog: Any, *,
                 metrics: dict[str, float], description: str, learner_name: str = "learn",
                 skipped: Sequence[tuple[Path, str]] = ()) -> None:
        super().__init__(classes, predictions, catalog)
        self.metrics = dict(metrics)            # "loss" (mean cross-entropy) and the learner's metrics
        self.description = description          # the test data, e.g. "folder data/test: 120 images, 3 classes"
        self.learner_name = learner_name
        self.skipped = list(skipped)            # unreadable test files, left out: (path, reason)
        present = {p.actual for p in self.predictions}
        self.missing_classes = [name for name in self.classes if name not in present]

    def summary(self) -> str:
        """One line: what was scored, the metrics, and what was left out or missing."""
        numbers = " · ".join(f"{name} {value:.4f}" for name, value in self.metrics.items())
        text = f"`{self.learner_name}` on {len(self)} test images ({_source_name(self.description)}): {numbers}"
        if self.missing_classes:
            text += f" · no test images of {', '.join(self.missing_classes)} (recall 0, support 0)"
        if self.skipped:
            text += f" · {len(self.skipped)} unreadable file{'s' if len(self.skipped) != 1 else ''} left out"
        return text + "."

    def __repr__(self) -> str:
        return f"<Evaluation {self.summary()}>"

    def _repr_html_(self) -> str:
        from .static import html_table

        matrix = self.confusion_matrix()
        rows = [[name, *row] for name, row in zip(self.classes, matrix)]
        per_class = [[r["class"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["support"]]
                     for r in self.per_class()]
        return (f"<div class='jdl-evaluation' style='font-size:13px'><div><b>jupyter_dl</b> · "
                f"{html.escape(self.summary())}</div><div style='display:flex;flex-wrap:wrap;align-items:flex-start'>"
                + html_table(["actual \\ predicted", *self.classes], rows, "jdl-confusion")
                + html_table(["class", "precision", "recall", "F1", "support"], per_class, "jdl-per-class")
                + "</div></div>")


def _source_name(description: str) -> str:
    return description.split(": ", 1)[0]


# ------------------------------------------------------------------ what the test set is
def evaluate(learner: Any, data: Any, *, namespace: dict | None = None, label_col: str = "label",
             path_col: str = "path", label_re: str | None = None, bs: int | None = None,
             workers: int | None = None) -> Evaluation:
    """Score ``learner`` on the test set ``data``: metrics, confusion matrix, per-class precision / recall / F1.

    ``data``: anything ``%finetune`` takes (see the module docstring for which part is scored);
    ``namespace`` finds a variable given by name; ``label_col``, ``path_col``, ``label_re``: as for
    ``%finetune``. ``bs``: images per batch (default: the learner's); ``workers``: decode threads for
    image files (default: up to 8), DataLoader workers for a torch Dataset (default: 0).
    The model's weights and train/eval modes are left as they were. Bad input raises
    :class:`~jupyter_dl.errors.UserInputError`.
    """
    from ..checks import check_count
    from ..data.catalog import build_catalog

    if bs is not None:
        check_count("bs", bs)
    if workers is not None:
        check_count("workers", workers, minimum=0)
    if not (is_ours(learner) or is_fastai(learner)):
        raise UserInputError(f"A {type(learner).__name__} is not a learner: pass the learner %finetune left "
                             "(e.g. learn) or a fastai Learner.")
    if is_fastai(learner) and _fastai_loader(data):       # a single fastai DataLoader, e.g. dls.test_dl(...)
        return _evaluate_fastai(learner, _one_loader_catalog(learner, data), bs)
    catalog = build_catalog(scored_data(data), namespace=namespace, label_col=label_col, path_col=path_col,
                            label_re=label_re, valid_pct=0.0)
    if is_fastai(learner):
        return _evaluate_fastai(learner, catalog, bs)
    return _evaluate_ours(learner, catalog, bs, workers)


def scored_data(data: Any) -> Any:
    """``data``, or its ``test/`` folder when ``data`` is a folder with ``train/`` (and ``valid/``) and ``test/``."""
    if not isinstance(data, (str, os.PathLike)):
        return data
    root = Path(os.path.expanduser(os.fspath(data)))
    if not root.is_dir():
        return data
    names = {entry.name.lower(): entry for entry in root.iterdir() if entry.is_dir()}
    test = next((names[n] for n in TEST_DIR_NAMES if n in names), None)
    if test is not None and any(n in names for n in TRAIN_DIR_NAMES):
        return test
    return data


def scored_split(catalog: Any) -> str:
    """The split of ``catalog`` that is the test set: "valid" when the data is split, else "train" (all of it)."""
    return "valid" if catalog.split_items("valid") else "train"


def check_classes(catalog: Any, part: str, classes: Sequence[str], learner_name: str) -> None:
    """One sentence when test images have labels the learner does not know, or there are none at all."""
    items = catalog.split_items(part)
    if not items:
        raise UserInputError(f"The test data ({_source_name(catalog.description)}) has no images: "
                             "pass a folder, table or dataset with labelled test images.")
    known = set(classes)
    unknown: dict[str, int] = {}
    for item in items:
        if item.label not in known:
            unknown[item.label] = unknown.get(item.label, 0) + 1
    if unknown:
        shown = ", ".join(f"{name!r} ({count})" for name, count in sorted(unknown.items()))
        raise UserInputError(
            f"The test data has images of classes `{learner_name}` was not trained on ({shown}); it knows "
            f"{', '.join(map(repr, classes))}: take those images out of the test data, or rename their labels "
            "to the learner's classes.")


# ------------------------------------------------------------------ the learner %finetune leaves
class RemappedBatches:
    """``(x, y)`` batches with each label ``y`` (an index into the test data's classes) turned into the learner's."""

    def __init__(self, batches: Any, lookup: Any) -> None:
        self.batches = batches
        self.lookup = lookup

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for x, y in self.batches:
            yield x, self.lookup.to(y.device)[y.long()]


def _evaluate_ours(learner: Any, catalog: Any, bs: int | None, workers: int | None) -> Evaluation:
    import torch

    learner._require_idle("evaluate it")
    part = scored_split(catalog)
    check_classes(catalog, part, learner.classes, learner.name)
    batches, skipped = _test_batches(learner, catalog.source, part, bs or learner.batch_size or 64, workers)
    index = {name: i for i, name in enumerate(learner.classes)}
    # Classes of the test data that none of its test images has (e.g. ones only in train/) map to -1: never asked.
    lookup = torch.tensor([index.get(name, -1) for name in catalog.source.classes], dtype=torch.long)
    with modes_kept(learner.model):
        # The Trainer's own validation pass: same device, precision, memory format and loss.
        outputs = learner.trainer.evaluate(RemappedBatches(batches, lookup))
    unreadable = {Path(path) for path, _ in skipped}
    items = [item for item in catalog.split_items(part) if item.path is None or item.path not in unreadable]
    if len(outputs["targets"]) != len(items):
        raise UserInputError(f"The test data gave {len(outputs['targets'])} images where {len(items)} were expected: "
                             "check that the data set does not change while it is scored.")
    predictions = predictions_from_outputs(outputs["preds"], outputs["targets"], learner.classes,
                                           [item.key for item in items], [item.path for item in items])
    metrics = {"loss": outputs["valid_loss"], **{name: outputs[name] for name in learner.trainer.metrics}}
    return Evaluation(learner.classes, predictions, catalog, metrics=metrics, description=catalog.description,
                      learner_name=learner.name, skipped=skipped)


def _test_batches(learner: Any, source: Any, part: str, bs: int, workers: int | None) -> tuple[Any, list]:
    """Batches of the test part for ``learner`` (its size, normalisation, device), and the unreadable files."""
    from ..data.cache import build_image_cache
    from ..data.loaders import CachedImageLoader, SquareImages, TransformedLoader, make_loaders
    from ..data.source_types import DatasetSource, ImageItems
    from ..data.transforms import BatchTransform
    from ..ui.decode_progress import DecodeProgress

    transform = BatchTransform(learner.device, learner.bundle.mean, learner.bundle.std, augment="none",
                               channels_last=learner.trainer.channels_last)
    if isinstance(source, ImageItems):
        items = source.valid if part == "valid" else source.train
        threads = min(os.cpu_count() or 1, 8) if workers is None else workers
        with DecodeProgress() as progress:  # a first look at a big test folder shows a count, not a blank cell
            pixels, labels, skipped = build_image_cache(items, learner.size, threads, progress=progress)
        return CachedImageLoader(pixels, labels, bs=bs, transform=transform, shuffle=False, drop_last=False), skipped
    if isinstance(source, DatasetSource):
        from torch.utils.data import DataLoader

        dataset = source.valid if part == "valid" else source.train

        def make_loader(batch_size: int) -> DataLoader:
            return DataLoader(SquareImages(dataset, learner.size), batch_size=batch_size, shuffle=False,
                              num_workers=workers or 0, pin_memory=transform.device.type == "cuda")

        return TransformedLoader(make_loader, bs, transform), []
    # fastai DataLoaders as test data: their validation batches, with their own transforms and size.
    loaders = make_loaders(source, size=learner.size, bs=bs, device=learner.device, mean=learner.bundle.mean,
                           std=learner.bundle.std, channels_last=learner.trainer.channels_last)
    return loaders.valid, []


# ------------------------------------------------------------------ a fastai Learner
def _fastai_loader(data: Any) -> bool:
    """A single fastai DataLoader (not DataLoaders): what ``learn.dls.test_dl(items, with_labels=True)`` makes."""
    # By class name: fastai objects delegate unknown attributes, so hasattr() cannot tell them apart.
    return type(data).__module__.startswith("fastai") and any(cls.__name__ == "DataLoader"
                                                               for cls in type(data).__mro__)


def _one_loader_catalog(learn: Any, dl: Any) -> Any:
    """A catalog whose validation part is the fastai DataLoader ``dl`` (labelled in ``learn``'s vocab)."""
    from types import SimpleNamespace

    from ..data.catalog import build_catalog
    from ..data.source_types import FastaiSource

    classes = [str(c) for c in learn.dls.vocab]
    dls = SimpleNamespace(train=None, valid=dl, train_ds=[], valid_ds=dl.dataset, vocab=learn.dls.vocab)
    return build_catalog(FastaiSource(dls=dls, classes=classes, description=f"fastai DataLoader: {len(dl.dataset)} "
                                      f"images, {len(classes)} classes"))


def _evaluate_fastai(learn: Any, catalog: Any, bs: int | None) -> Evaluation:
    """Predictions of a fastai Learner on the catalog's test part, with fastai's own test-time transforms."""
    import torch

    from ..data.source_types import FastaiSource, ImageItems
    from ..train.metrics import compute_metrics

    classes = [str(c) for c in learn.dls.vocab]
    part = scored_split(catalog)
    check_classes(catalog, part, classes, "the fastai Learner")
    items = catalog.split_items(part)
    if isinstance(catalog.source, FastaiSource):
        dl = catalog.source.dls.valid                              # its own items and transforms
    elif isinstance(catalog.source, ImageItems):
        dl = learn.dls.test_dl([item.path for item in items], bs=bs or learn.dls.bs)
    else:
        raise UserInputError("A fastai Learner is scored on image files or fastai DataLoaders: pass a folder, a "
                             "CSV file, a DataFrame, or learn.dls.test_dl(files, with_labels=True).")
    bars = [cb for cb in learn.cbs if type(cb).__name__ == "ProgressCallback"]
    with modes_kept(learn.model), learn.removed_cbs(bars):
        probabilities = plain_tensor(learn.get_preds(dl=dl)[0]).float()
    index = {name: i for i, name in enumerate(classes)}
    targets = torch.tensor([index[item.label] for item in items], dtype=torch.long)
    if probabilities.ndim != 2 or probabilities.shape != (len(items), len(classes)):
        raise UserInputError("This fastai Learner is not a single-label classifier of these images (one class "
                             "per image): evaluate works for CategoryBlock targets only.")
    predictions = predictions_from_outputs(probabilities, targets, classes, [item.key for item in items],
                                           [item.path for item in items])
    loss = sum(p.loss for p in predictions) / len(predictions)
    scores = compute_metrics(("accuracy",), probabilities, targets)
    metrics = {"loss": loss, **{name: float(value) for name, value in scores.items()}}
    return Evaluation(classes, predictions, catalog, metrics=metrics, description=catalog.description,
                      learner_name="the fastai Learner")
