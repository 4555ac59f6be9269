"""Learning tests on the sample's real embeddings (the packaged efficientnet_lite0 body, 1797 digits):
suggestions get better with labels, the cold start spreads, planted wrong labels are found."""
from __future__ import annotations

import numpy as np
import pytest
from labelling_helpers import flip, per_class

from jupyter_dl.labelling import find_label_issues, suggest

pytestmark = pytest.mark.slow


def accuracy(sample_embeddings, count: int, seed: int) -> float:
    vectors, labels = sample_embeddings.vectors, sample_embeddings.labels()
    labelled = per_class(labels, count, seed)
    rest = np.setdiff1d(np.arange(len(labels)), labelled)
    found = suggest(vectors, labelled, labels[labelled], 10)
    return float((found.labels[rest] == labels[rest]).mean())


def test_the_sample_is_embedded_whole(sample_embeddings):
    assert sample_embeddings.vectors.shape == (1797, 1280) and sample_embeddings.skipped == []
    assert sample_embeddings.classes == [str(d) for d in range(10)]


def test_suggestions_improve_with_more_labels(sample_embeddings):
    one = np.mean([accuracy(sample_embeddings, 1, seed) for seed in range(3)])
    ten = np.mean([accuracy(sample_embeddings, 10, seed) for seed in range(3)])
    assert one > 0.3                      # chance is 0.1
    assert ten >= 0.75 and ten > one + 0.15


def test_cold_start_shows_most_digits_in_the_first_20(sample_embeddings):
    labels = sample_embeddings.labels()
    for seed in range(3):
        order = suggest(sample_embeddings.vectors, [], [], 10, seed=seed).order
        assert len(set(labels[order[:20]])) >= 7


def test_planted_wrong_labels_are_found(sample_embeddings):
    noisy, planted = flip(sample_embeddings, 0.05, seed=0)
    top = find_label_issues(noisy, top=len(planted))
    assert sum(issue.key in planted for issue in top) / len(planted) >= 0.7
