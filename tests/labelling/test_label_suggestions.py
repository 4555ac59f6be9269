"""Suggestions from a few labels, the "most useful next" order and the cold-start spread."""
from __future__ import annotations

import numpy as np
import pytest
from labelling_helpers import clusters, per_class

from jupyter_dl.errors import UserInputError
from jupyter_dl.labelling import suggest
from jupyter_dl.labelling.suggestions import interleave_random, mixed_pages


def test_every_unlabelled_item_gets_a_suggestion_and_the_order_covers_them_once():
    vectors, labels = clusters()
    labelled = per_class(labels, 2, seed=0)
    found = suggest(vectors, labelled, labels[labelled], 4)
    unlabelled = np.setdiff1d(np.arange(len(labels)), labelled)
    assert found.method == "prototype"
    assert sorted(found.order.tolist()) == unlabelled.tolist()
    assert found.labels.shape == (200,) and found.confidence.dtype == np.float32
    assert np.allclose(found.probabilities.sum(1), 1.0, atol=1e-5)
    assert (found.labels[unlabelled] == labels[unlabelled]).mean() > 0.9


def test_the_linear_head_takes_over_once_every_labelled_class_has_five():
    vectors, labels = clusters()
    assert suggest(vectors, per_class(labels, 4, 0), labels[per_class(labels, 4, 0)], 4).method == "prototype"
    labelled = per_class(labels, 5, 0)
    assert suggest(vectors, labelled, labels[labelled], 4).method == "linear"


def test_uncertain_items_come_first_with_seeded_random_picks_every_tenth_place():
    vectors, labels = clusters(spread=1.5)
    labelled = per_class(labels, 3, seed=1)
    found = suggest(vectors, labelled, labels[labelled], 4, seed=5, strategy="uncertain")
    top2 = np.sort(found.probabilities, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    chosen = np.ones(len(found.order), dtype=bool)
    chosen[9::10] = False                                       # the random slots
    ranked = margin[found.order[chosen]]
    assert np.all(np.diff(ranked) >= 0)                         # least certain first
    picks = margin[found.order[9::10]]
    assert np.median(picks) > np.median(ranked[:len(picks)])   # the picks are not just the next unsure ones
    again = suggest(vectors, labelled, labels[labelled], 4, seed=5, strategy="uncertain")
    other = suggest(vectors, labelled, labels[labelled], 4, seed=6, strategy="uncertain")
    assert np.array_equal(again.order, found.order)
    assert not np.array_equal(other.order[9::10], found.order[9::10])


def test_confident_first_puts_the_surest_first():
    vectors, labels = clusters(spread=0.8)
    labelled = per_class(labels, 3, seed=1)
    found = suggest(vectors, labelled, labels[labelled], 4, strategy="confident", random_share=0)
    top2 = np.sort(found.probabilities, axis=1)[:, -2:]
    assert np.all(np.diff((top2[:, 1] - top2[:, 0])[found.order]) <= 0)   # largest margin first


def test_mixed_pages_start_with_the_least_certain_and_fill_up_with_the_surest():
    vectors, labels = clusters(spread=1.2)
    labelled = per_class(labels, 3, seed=1)
    found = suggest(vectors, labelled, labels[labelled], 4, random_share=0, page=8)   # "mixed" is the default
    top2 = np.sort(found.probabilities, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    ranked = np.sort(margin[found.order])
    page = margin[found.order[:8]]
    assert np.allclose(page[:2], ranked[:2])          # 2 of 8 (a quarter): the two least certain of all
    assert np.allclose(np.sort(page[2:]), ranked[-6:])  # the other 6: the six surest
    assert sorted(found.order.tolist()) == sorted(set(range(len(vectors))) - set(labelled.tolist()))
    assert np.array_equal(mixed_pages(np.arange(5), page=4), [0, 4, 3, 2, 1])


def test_interleave_random_keeps_every_item_once():
    ranked = np.arange(100, 137)
    mixed = interleave_random(ranked, np.random.default_rng(0), 0.1)
    assert sorted(mixed.tolist()) == ranked.tolist()
    assert np.array_equal(np.delete(mixed, [9, 19, 29]), np.sort(np.delete(mixed, [9, 19, 29])))


def test_cold_start_spreads_over_the_clusters():
    vectors, labels = clusters(n_classes=8, per_class=100, spread=0.2)
    found = suggest(vectors, [], [], 8, seed=3)
    assert found.method == "spread" and found.probabilities is None and (found.labels == -1).all()
    assert sorted(found.order.tolist()) == list(range(800))
    assert len(set(labels[found.order[:12]])) >= 7


def test_one_labelled_class_still_spreads_away_from_it():
    vectors, labels = clusters(n_classes=5, per_class=60, spread=0.2)
    labelled = np.flatnonzero(labels == 0)[:3]
    found = suggest(vectors, labelled, labels[labelled], 5, seed=0)
    assert 0 not in set(labels[found.order[:4]])


@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(labelled=[0, 1], labels=[0]), "one label per row"),
    (dict(labelled=[0, 999], labels=[0, 1]), "outside 0..199"),
    (dict(labelled=[3, 3], labels=[0, 0]), "labelled twice"),
    (dict(labelled=[0, 1], labels=[0, 7]), "outside 0..3"),
    (dict(labelled=[0], labels=[0], method="knn"), "method='knn'"),
    (dict(labelled=[0], labels=[0], strategy="random"), "strategy='random'"),
    (dict(labelled=[0], labels=[0], random_share=1.5), "random_share=1.5"),
])
def test_bad_input_gets_one_sentence(kwargs, words):
    vectors, _ = clusters()
    with pytest.raises(UserInputError, match=words.replace("(", r"\(").replace(".", r"\.")):
        suggest(vectors, n_classes=4, **kwargs)
