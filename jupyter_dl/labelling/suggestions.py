"""Suggestions from the first few labels, and which image to show next.

:func:`suggest` gives every item a suggested class and a confidence from the embeddings and the labels
so far, and an order of the unlabelled items, "most useful next". Everything is a few matrix operations
on the whole pool (no Python loop over items): refreshing 10,000 suggestions after a label takes
milliseconds (benchmarks/bench_label.py).

- With few labels: the nearest class prototype (the mean of a class's labelled vectors), confidence a
  softmax over the cosine similarities divided by :data:`TEMPERATURE`.
- Once every labelled class has :data:`LINEAR_FROM` labels: a linear head (:mod:`.linear`). Measured on
  the sample (mean of 3 seeds, the unlabelled rest): prototypes 74 % / linear 77 % at 5 labels per
  class, 77 % / 82 % at 10, 80 % / 88 % at 30; at 3 per class the two are close and the head is noisier.
- Order ("mixed", the default): each page of :data:`PAGE` starts with the next quarter least certain
  items (the smallest margin between the two most likely classes) and is filled up with the surest ones,
  with every tenth place a seeded random pick, so the model also sees where it is confidently wrong.
  Simulated on the sample (bench_label.py, 10 labels per class typed first): 0.20 keys per image for
  images 101-500 and suggestions 91 % right on the rest then; "uncertain" (least certain first): 0.43 and
  98.6 %; "confident" (surest first): 0.06 and 78 %; a third uncertain per page: 0.26 and 94 %.
- No labels yet (or one class only): a spread of the data (k-means++ seeding on the embeddings), so the
  first pages show every kind of image rather than the first files on disk.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserInputError
from .linear import FAST_ITER, fit_linear_head

# Cosine similarities of a digit to the class prototypes differ by a few hundredths; 0.03 turns that into
# confidences whose mean matches the accuracy on the sample (0.02: overconfident by 13 points with 3 labels
# per class; 0.05: underconfident by 12-26 points; 0.03: within 3 points).
TEMPERATURE = 0.03
LINEAR_FROM = 5        # labels per class before the linear head replaces the prototypes
RANDOM_SHARE = 0.1     # share of the order that is random picks
SPREAD = 240           # cold start: this many spread picks (10 pages of 24), the rest in random order
SPREAD_DIM = 128       # the spread works on a seeded random projection to this many dimensions: 240 passes over
                       # 10,000 x 1280 vectors took 270 ms on 2 cores, over 10,000 x 128 a fraction of that
METHODS = ("auto", "prototype", "linear")
STRATEGIES = ("mixed", "uncertain", "confident")
PAGE = 24              # "mixed": the page size the order is made for
UNCERTAIN_SHARE = 0.25  # "mixed": share of each page taken from the least certain end


@dataclass
class Suggestions:
    """Per item (the rows of the embeddings): a suggested class and how sure; and what to show next."""

    labels: np.ndarray       # int64 N: suggested class index (-1 where there is no suggestion yet)
    confidence: np.ndarray   # float32 N: the probability of the suggested class (0 without one)
    probabilities: np.ndarray | None  # float32 N x C, None before any label
    order: np.ndarray        # int64: the unlabelled items' rows, most useful next first
    method: str              # "prototype", "linear" or "spread" (no labels yet)


def suggest(vectors: np.ndarray, labelled: np.ndarray | list[int], labels: np.ndarray | list[int], n_classes: int,
            *, method: str = "auto", strategy: str = "mixed", seed: int = 0,
            random_share: float = RANDOM_SHARE, page: int = PAGE) -> Suggestions:
    """Suggestions for every row of ``vectors`` (L2-normalised, N x D), given the rows ``labelled`` and their
    class indices ``labels`` (0 .. n_classes - 1). ``method``: "auto" (linear head once every labelled class
    has 5 labels, else prototypes), "prototype" or "linear". Raises UserInputError for bad input."""
    labelled = np.asarray(labelled, dtype=np.int64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    _check(vectors, labelled, labels, n_classes, method, strategy, random_share)
    n = len(vectors)
    unlabelled = np.setdiff1d(np.arange(n), labelled)
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels, minlength=n_classes)
    if (counts > 0).sum() < 2:
        order = spread_order(vectors, unlabelled, start=labelled, seed=seed)
        if not len(labelled):
            return Suggestions(np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.float32), None, order, "spread")
        probabilities = np.zeros((n, n_classes), dtype=np.float32)
        probabilities[:, labels[0]] = 1.0
        return Suggestions(np.full(n, labels[0]), np.ones(n, dtype=np.float32), probabilities, order, "prototype")
    if method == "auto":
        method = "linear" if counts[counts > 0].min() >= LINEAR_FROM else "prototype"
    if method == "linear":
        head = fit_linear_head(vectors[labelled], labels, n_classes, max_iter=FAST_ITER)
        probabilities = head.probabilities(vectors)
    else:
        probabilities = prototype_probabilities(vectors, labelled, labels, n_classes)
    return from_probabilities(probabilities, unlabelled, method, strategy=strategy, rng=rng,
                              random_share=random_share, page=page)


def from_probabilities(probabilities: np.ndarray, unlabelled: np.ndarray, method: str, *, strategy: str = "mixed",
                       rng: np.random.Generator | None = None, random_share: float = RANDOM_SHARE,
                       page: int = PAGE) -> Suggestions:
    """Suggestions from class probabilities (N x C, from the embeddings or a fine-tuned model's predictions):
    the most likely class, its probability, and the ``unlabelled`` rows in ``strategy``'s order."""
    rng = np.random.default_rng(0) if rng is None else rng
    top2 = (np.partition(probabilities, -2, axis=1)[:, -2:] if probabilities.shape[1] > 1
            else np.concatenate([np.zeros_like(probabilities), probabilities], axis=1))
    margin = top2[:, 1] - top2[:, 0]
    key = margin[unlabelled] if strategy != "confident" else -margin[unlabelled]
    ranked = unlabelled[np.argsort(key, kind="stable")]
    if strategy == "mixed":
        ranked = mixed_pages(ranked, page)
    order = interleave_random(ranked, rng, random_share)
    return Suggestions(probabilities.argmax(1), probabilities.max(1).astype(np.float32), probabilities, order, method)


def prototype_probabilities(vectors: np.ndarray, labelled: np.ndarray, labels: np.ndarray, n_classes: int,
                            temperature: float = TEMPERATURE) -> np.ndarray:
    """N x C: softmax of the cosine similarity to each class's mean labelled vector over ``temperature``
    (classes without labels get probability 0)."""
    sums = np.zeros((n_classes, vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, labels, vectors[labelled])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    prototypes = sums / np.maximum(norms, 1e-12)
    logits = (vectors @ prototypes.T) / temperature
    logits[:, norms[:, 0] == 0] = -np.inf
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    return (logits / logits.sum(axis=1, keepdims=True)).astype(np.float32, copy=False)


def mixed_pages(ranked: np.ndarray, page: int = PAGE, uncertain_share: float = UNCERTAIN_SHARE) -> np.ndarray:
    """``ranked`` (least certain first) reordered so that each page of ``page`` starts with its next
    ``uncertain_share`` least certain items and is filled up with the surest ones left: the model learns
    from the hard images while most of a page is right and accepted with one key."""
    n = len(ranked)
    hard = max(1, round(page * uncertain_share))
    parts = []
    low, high = 0, n  # ranked[low:high] is still unplaced
    while low < high:
        take = min(hard, high - low)
        parts.append(ranked[low:low + take])
        low += take
        easy = min(page - take, high - low)
        parts.append(ranked[high - easy:high][::-1])
        high -= easy
    return np.concatenate(parts) if parts else ranked.copy()


def interleave_random(ranked: np.ndarray, rng: np.random.Generator, share: float = RANDOM_SHARE) -> np.ndarray:
    """``ranked`` with every ``1/share``-th place (the 10th, 20th, ... for 0.1) taken by a random other item."""
    n = len(ranked)
    if share <= 0 or n < 2:
        return ranked.copy()
    step = max(2, round(1 / share))
    random_slot = np.zeros(n, dtype=bool)
    random_slot[step - 1::step] = True
    picks = rng.choice(n, size=int(random_slot.sum()), replace=False)
    rest = np.ones(n, dtype=bool)
    rest[picks] = False
    order = np.empty(n, dtype=np.int64)
    order[random_slot] = ranked[picks]
    order[~random_slot] = ranked[rest]
    return order


def spread_order(vectors: np.ndarray, candidates: np.ndarray, *, start: np.ndarray | None = None, seed: int = 0,
                 spread: int = SPREAD) -> np.ndarray:
    """``candidates`` ordered for a cold start: the first ``spread`` by k-means++ seeding (each next pick drawn
    with probability proportional to its squared cosine distance from the picks so far and the ``start`` rows),
    the rest in random order."""
    rng = np.random.default_rng(seed)
    candidates = np.asarray(candidates, dtype=np.int64)
    if len(candidates) == 0:
        return candidates.copy()
    projected = _project(vectors, rng)
    pool = projected[candidates]
    if start is not None and len(start):
        distance = np.clip(1.0 - (pool @ projected[start].T).max(axis=1), 0.0, None)
    else:
        distance = np.full(len(candidates), np.inf, dtype=np.float32)
    picked = np.zeros(len(candidates), dtype=bool)
    order = []
    for _ in range(min(spread, len(candidates))):
        weight = np.where(picked, 0.0, np.where(np.isinf(distance), 1.0, distance) ** 2)
        total = weight.sum()
        choice = int(rng.choice(len(candidates), p=weight / total)) if total > 0 else int(np.flatnonzero(~picked)[0])
        picked[choice] = True
        order.append(choice)
        distance = np.minimum(distance, np.clip(1.0 - pool @ pool[choice], 0.0, None))
    rest = np.flatnonzero(~picked)
    order.extend(rng.permutation(rest).tolist())
    return candidates[np.array(order, dtype=np.int64)]


def _project(vectors: np.ndarray, rng: np.random.Generator, dim: int = SPREAD_DIM) -> np.ndarray:
    """Rows of length 1 in ``dim`` random directions (Johnson-Lindenstrauss: cosine distances stay close)."""
    if vectors.shape[1] <= dim:
        return np.asarray(vectors, dtype=np.float32)
    projection = rng.standard_normal((vectors.shape[1], dim)).astype(np.float32)
    projected = np.asarray(vectors, dtype=np.float32) @ projection
    return projected / np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)


def _check(vectors: np.ndarray, labelled: np.ndarray, labels: np.ndarray, n_classes: int, method: str,
           strategy: str, random_share: float) -> None:
    if vectors.ndim != 2:
        raise UserInputError(f"The embeddings must be a 2-D array (one row per image), not shape {vectors.shape}.")
    if len(labelled) != len(labels):
        raise UserInputError(f"{len(labelled)} labelled rows but {len(labels)} labels: give one label per row.")
    if len(labelled) and (labelled.min() < 0 or labelled.max() >= len(vectors)):
        raise UserInputError(f"A labelled row is outside 0..{len(vectors) - 1}: use row numbers of the embeddings.")
    if len(np.unique(labelled)) != len(labelled):
        raise UserInputError("A row is labelled twice: give each labelled row once.")
    if len(labels) and (labels.min() < 0 or labels.max() >= n_classes):
        raise UserInputError(f"A label is outside 0..{n_classes - 1}: use class indices.")
    if method not in METHODS:
        raise UserInputError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}: pick one of those.")
    if strategy not in STRATEGIES:
        raise UserInputError(f"strategy={strategy!r} is not one of {', '.join(map(repr, STRATEGIES))}: "
                             "pick one of those.")
    if not 0 <= random_share < 1:
        raise UserInputError(f"random_share={random_share} must be at least 0 and below 1, such as 0.1.")
