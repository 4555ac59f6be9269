"""Find the labels that are most likely wrong: out-of-fold predictions of linear heads on the embeddings.

Each labelled image gets class probabilities from a linear head (:mod:`.linear`) that never saw it:
the items are split into ``folds`` stratified folds, one head per fold is trained on the others. An
image whose given label gets a low probability is suspicious; the score is that probability
("self-confidence") or the normalised margin (the given label's probability minus the best other
one's, -1..1). Lowest first. This is the idea behind confident learning (Northcutt et al., 2021),
written here from the paper, not taken from cleanlab (AGPL).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserInputError
from .embeddings import Embeddings, embed
from .linear import fit_linear_head

SCORES = ("self_confidence", "normalized_margin")


@dataclass(frozen=True)
class LabelIssue:
    """One item that is probably mislabelled: its catalog key and file, the label it has, the one a model
    that never saw it suggests, and the score (lower: more likely wrong)."""

    key: int
    path: Path | None
    given: str
    suggested: str
    score: float


def find_label_issues(data: Any, *, folds: int = 5, score: str = "self_confidence", top: int | None = None,
                      seed: int = 0, arch: Any = None, size: int | None = None, device: str = "auto",
                      namespace: dict | None = None, label_col: str = "label", path_col: str = "path",
                      label_re: str | None = None, quiet: bool = False) -> list[LabelIssue]:
    """The items of DATA most likely mislabelled, most likely first.

    DATA: anything ``%finetune`` accepts, a learner (the data it was trained on), or :class:`Embeddings`
    made by :func:`~jupyter_dl.labelling.embeddings.embed`. Images are embedded once with the pretrained
    body of ``arch`` (default: the offline efficientnet_lite0; cached). ``top=None`` returns the items
    whose out-of-fold prediction is another class than their label; ``top=K`` the K lowest scores
    whatever the prediction. Raises UserInputError (one sentence) for bad input.
    """
    if score not in SCORES:
        raise UserInputError(f"score={score!r} is not one of {', '.join(map(repr, SCORES))}: pick one of those.")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise UserInputError(f"top={top!r} must be a whole number of at least 1, or None.")
    if isinstance(data, Embeddings):
        embeddings = data
    else:
        embeddings = embed(data, arch=arch, size=size, device=device, namespace=namespace, label_col=label_col,
                           path_col=path_col, label_re=label_re, quiet=quiet)
    labels = embeddings.labels()
    probabilities = out_of_fold_probabilities(embeddings.vectors, labels, embeddings.classes, folds=folds, seed=seed)
    scores = label_scores(probabilities, labels, score)
    ranked = np.argsort(scores, kind="stable")
    if top is None:
        ranked = ranked[probabilities[ranked].argmax(1) != labels[ranked]]
    else:
        ranked = ranked[:top]
    suggested = probabilities.argmax(1)
    return [LabelIssue(embeddings.items[i].key, embeddings.items[i].path, embeddings.classes[labels[i]],
                       embeddings.classes[suggested[i]], float(scores[i])) for i in ranked]


def out_of_fold_probabilities(vectors: np.ndarray, labels: np.ndarray, classes: list[str], *, folds: int = 5,
                              seed: int = 0) -> np.ndarray:
    """N x C probabilities, each row from a linear head trained on the other folds (stratified by class)."""
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
    for cls in present:  # stratified: each class dealt round-robin over the folds, in a seeded order
        members = rng.permutation(np.flatnonzero(labels == cls))
        fold_of[members] = (np.arange(len(members)) + rng.integers(folds)) % folds
    probabilities = np.zeros((len(labels), n_classes), dtype=np.float32)
    for fold in range(folds):
        held = fold_of == fold
        head = fit_linear_head(vectors[~held], labels[~held], n_classes)
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
