"""Made-up and altered embeddings for the labelling tests (plain functions)."""
from __future__ import annotations

import dataclasses

import numpy as np

from jupyter_dl.data.catalog import CatalogItem
from jupyter_dl.labelling import Embeddings


def clusters(n_classes: int = 4, per_class: int = 50, dim: int = 16, spread: float = 0.35, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised vectors around one random centre per class, and each vector's class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    labels = np.repeat(np.arange(n_classes), per_class)
    vectors = centres[labels] + spread * rng.normal(size=(len(labels), dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), labels


def per_class(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` random rows of every class."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), count, replace=False) for c in np.unique(labels)])


def as_embeddings(vectors: np.ndarray, labels: np.ndarray, classes: list[str]) -> Embeddings:
    items = [CatalogItem(key=i, path=None, label=classes[c], split="train") for i, c in enumerate(labels)]
    return Embeddings(vectors, items, classes)


def flip(embeddings: Embeddings, share: float, seed: int) -> tuple[Embeddings, set[int]]:
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(embeddings.items), round(share * len(embeddings.items)), replace=False)
    items = list(embeddings.items)
    for i in flipped:
        others = [c for c in embeddings.classes if c != items[i].label]
        items[i] = dataclasses.replace(items[i], label=others[rng.integers(len(others))])
    return dataclasses.replace(embeddings, items=items), {embeddings.items[i].key for i in flipped}
