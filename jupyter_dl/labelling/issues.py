"""Find the labels that are most likely wrong: out-of-fold predicted probabilities.

Each labelled image gets class probabilities from a model that never saw it: the items are split into
``folds`` stratified folds, and one model per fold is trained on the others. By default that model is
a linear head (:mod:`.linear`) on the cached embeddings (seconds); ``method="finetune"`` fine-tunes the
whole network per fold instead (:mod:`.oof_finetune`: k fine-tunes, better where the pretrained features
do not separate the classes). An image whose given label gets a low probability is suspicious; the score
is that probability ("self-confidence") or the normalised margin (the given label's probability minus the
best other one's, -1..1). Lowest first. This is the idea behind confident learning (Northcutt et al.,
2021), written here from the paper, not taken from cleanlab (AGPL).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import UserInputError
from .embeddings import Embeddings, catalog_of, embed, file_items, learner_arch, learner_of
from .linear import fit_linear_head

SCORES = ("self_confidence", "normalized_margin")
METHODS = ("linear", "finetune")


@dataclass(frozen=True)
class LabelIssue:
    """One item that is probably mislabelled: its catalog key and file, the label it has, the one a model
    that never saw it suggests, and the score (lower: more likely wrong)."""

    key: int
    path: Path | None
    given: str
    suggested: str
    score: float


def find_label_issues(data: Any, *, method: str = "linear", folds: int = 5, score: str = "self_confidence",
                      top: int | None = None, seed: int = 0, arch: Any = None, size: int | None = None,
                      device: str = "auto", epochs: int = 3, freeze_epochs: int = 1, lr: float | None = None,
                      bs: int = 64, weights: str | Path | None = None, namespace: dict | None = None,
                      label_col: str = "label", path_col: str = "path", label_re: str | None = None,
                      quiet: bool = False, progress: Callable[[int, int], None] | None = None) -> list[LabelIssue]:
    """The items of DATA most likely mislabelled, most likely first.

    DATA: anything ``%finetune`` accepts, a learner (the data it was trained on; its model name gives the
    embeddings or the fine-tunes), a :class:`~jupyter_dl.data.catalog.Catalog` (``%browse``'s), or
    :class:`Embeddings` made by :func:`~jupyter_dl.labelling.embeddings.embed` (linear method only).
    ``method="linear"``: linear heads on the images' embeddings from the pretrained body of ``arch``
    (default: the learner's model, else the offline efficientnet_lite0; cached). ``method="finetune"``: one
    fine-tune of ``arch`` per fold (``epochs``, ``freeze_epochs``, ``lr``, ``bs`` as for ``%finetune``; a line
    per fold unless ``quiet``; 3 epochs by default: on the sample with 5 % flipped labels 1 + 1 epochs found
    58 % of them in the top k, 1 + 3 epochs 89 %, as many as the linear heads). ``size``: input size (default:
    the learner's, else twice the images' shorter side, 64-224 px). ``top=None`` returns the items whose
    out-of-fold prediction is another class than their label; ``top=K`` the K lowest scores whatever the
    prediction. ``progress(done, total)`` counts embedded images. Raises UserInputError (one sentence) for
    bad input.
    """
    _check_options(method, score, top, data)
    learner = None if isinstance(data, Embeddings) else learner_of(data, namespace)
    arch = arch if arch is not None or learner is None else learner_arch(learner)
    if method == "finetune":
        items, classes, probabilities = _fine_tuned(
            data, learner, folds=folds, seed=seed, arch=arch, size=size, device=device, epochs=epochs,
            freeze_epochs=freeze_epochs, lr=lr, bs=bs, weights=weights, namespace=namespace, quiet=quiet,
            options=dict(label_col=label_col, path_col=path_col, label_re=label_re))
    else:
        if isinstance(data, Embeddings):
            embeddings = data
        else:
            embeddings = embed(data, arch=arch, size=size, device=device, weights=weights, namespace=namespace,
                               label_col=label_col, path_col=path_col, label_re=label_re, quiet=quiet,
                               progress=progress)
        items, classes = embeddings.items, embeddings.classes
        probabilities = out_of_fold_probabilities(embeddings.vectors, embeddings.labels(), classes, folds=folds,
                                                  seed=seed)
    return rank_issues(items, classes, probabilities, score=score, top=top)


def _check_options(method: str, score: str, top: int | None, data: Any) -> None:
    if method not in METHODS:
        raise UserInputError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}: pick one of those.")
    if score not in SCORES:
        raise UserInputError(f"score={score!r} is not one of {', '.join(map(repr, SCORES))}: pick one of those.")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise UserInputError(f"top={top!r} must be a whole number of at least 1, or None.")
    if method == "finetune" and isinstance(data, Embeddings):
        raise UserInputError("method='finetune' trains on the images, not on embeddings: pass the data itself "
                             "(a folder, a CSV file, a DataFrame, \"sample\" or a learner).")


def _fine_tuned(data: Any, learner: Any, *, folds: int, seed: int, arch: Any, size: int | None, epochs: int,
                freeze_epochs: int, options: dict[str, Any], namespace: dict | None, **fine_tune: Any
                ) -> tuple[list, list[str], np.ndarray]:
    """(scored items, classes, their out-of-fold probabilities) from one fine-tune per fold."""
    from ..checks import check_count
    from .embeddings import auto_size
    from .oof_finetune import fold_probabilities

    check_count("epochs", epochs)
    check_count("freeze_epochs", freeze_epochs, minimum=0)
    if arch is None and learner is not None and getattr(getattr(learner, "bundle", None), "source", "") == "module":
        raise UserInputError(f"`{getattr(learner, 'name', 'learn')}` was trained on your own nn.Module, which "
                             "cannot be rebuilt untrained: pass arch= a fresh instance (e.g. arch=MyNet()) or a "
                             "model name.")
    catalog = catalog_of(learner if learner is not None else data, namespace=namespace, **options)
    items = file_items(catalog, "the fine-tunes read image files")
    classes = list(catalog.classes)
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([index[item.label] for item in items], dtype=np.int64)
    fold_of = stratified_folds(labels, classes, folds=folds, seed=seed)
    if size is None:
        size = getattr(learner, "size", None) or auto_size([item.path for item in items if item.path is not None])
    probabilities, scored = fold_probabilities(items, labels, classes, fold_of, arch=arch, size=size, seed=seed,
                                               epochs=epochs, freeze_epochs=freeze_epochs, namespace=namespace,
                                               description=catalog.description, **fine_tune)
    kept = np.flatnonzero(scored)   # unreadable files are not predicted: left out
    return [items[i] for i in kept], classes, probabilities[kept]


def rank_issues(items: list, classes: list[str], probabilities: np.ndarray, *, score: str = "self_confidence",
                top: int | None = None) -> list[LabelIssue]:
    """LabelIssues of ``items`` (CatalogItems) from their out-of-fold ``probabilities`` (N x C), lowest score
    first: those predicted as another class (``top=None``), or the ``top`` lowest."""
    index = {name: i for i, name in enumerate(classes)}
    labels = np.array([index[item.label] for item in items], dtype=np.int64)
    scores = label_scores(probabilities, labels, score)
    ranked = np.argsort(scores, kind="stable")
    suggested = probabilities.argmax(1) if len(items) else np.zeros(0, dtype=np.int64)
    if top is None:
        ranked = ranked[suggested[ranked] != labels[ranked]]
    else:
        ranked = ranked[:top]
    return [LabelIssue(items[i].key, items[i].path, classes[labels[i]], classes[suggested[i]], float(scores[i]))
            for i in ranked]


def stratified_folds(labels: np.ndarray, classes: list[str], *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0 .. folds - 1) of each item: each class dealt round-robin over the folds in a seeded order,
    so every fold holds every class. One sentence when there are too few labels for ``folds``."""
    n_classes = len(classes)
    counts = np.bincount(labels, minlength=n_classes)
    present = np.flatnonzero(counts)
    if len(labels) == 0:
        raise UserInputError("There are no labelled images yet: label some first, then look for label issues.")
    if len(present) < 2:
        raise UserInputError(f"All labelled images are in one class ({classes[present[0]]!r}): label images of "
                             "at least two classes before looking for label issues.")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise UserInputError(f"folds={folds!r} must be a whole number of at least 2, such as 5.")
    smallest = present[counts[present].argmin()]
    if counts[smallest] < folds:
        raise UserInputError(f"folds={folds} needs at least {folds} images in every class, but "
                             f"{classes[smallest]!r} has {counts[smallest]}: label more of it or pass "
                             f"folds={max(2, int(counts[smallest]))}." if counts[smallest] >= 2 else
                             f"folds={folds} needs at least {folds} images in every class, but "
                             f"{classes[smallest]!r} has 1: label more of it.")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    for cls in present:
        members = rng.permutation(np.flatnonzero(labels == cls))
        fold_of[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    return fold_of


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, classes: list[str], *, folds: int = 5,
                              seed: int = 0) -> np.ndarray:
    """N x C probabilities, each row from a linear head trained on the other folds (stratified by class)."""
    fold_of = stratified_folds(labels, classes, folds=folds, seed=seed)
    probabilities = np.zeros((len(labels), len(classes)), dtype=np.float32)
    for fold in range(folds):
        held = fold_of == fold
        head = fit_linear_head(vectors[~held], labels[~held], len(classes))
        probabilities[held] = head.probabilities(vectors[held])
    return probabilities


def label_scores(probabilities: np.ndarray, labels: np.ndarray, score: str = "self_confidence") -> np.ndarray:
    """Per item: the given label's probability, or its normalised margin over the best other class."""
    given = probabilities[np.arange(len(labels)), labels]
    if score == "self_confidence":
        return given
    others = probabilities.copy()
    others[np.arange(len(labels)), labels] = -np.inf
    return given - others.max(axis=1)
