"""find_label_issues: out-of-fold linear heads rank planted wrong labels first; bad input is one sentence."""
from __future__ import annotations

import numpy as np
import pytest
from labelling_helpers import as_embeddings, clusters, flip

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.labelling import LabelIssue, find_label_issues
from jupyter_dl.labelling.issues import label_scores


def test_planted_flips_rank_first_on_clustered_vectors():
    vectors, labels = clusters(n_classes=4, per_class=50, spread=0.6)
    noisy, planted = flip(as_embeddings(vectors, labels, ["a", "b", "c", "d"]), 0.05, seed=0)
    issues = find_label_issues(noisy)
    assert {issue.key for issue in issues[:len(planted)]} == planted
    first = issues[0]
    assert isinstance(first, LabelIssue) and first.given != first.suggested and 0 <= first.score < 0.5
    assert [i.score for i in issues] == sorted(i.score for i in issues)
    assert len(find_label_issues(noisy, top=20)) == 20


def test_normalised_margin_is_given_minus_best_other():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]], dtype=np.float32)
    margins = label_scores(probabilities, np.array([0, 2]), "normalized_margin")
    assert np.allclose(margins, [0.5, -0.3])
    assert np.allclose(label_scores(probabilities, np.array([0, 2])), [0.7, 0.3])


def test_data_goes_through_the_catalog_and_the_top_level_name(folder, counted):
    issues = jupyter_dl.find_label_issues(folder, folds=2, top=3, quiet=True)
    assert len(issues) == 3 and all(issue.path.parent.parent == folder for issue in issues)
    assert {issue.given for issue in issues} <= {"cat", "dog"}


def test_a_learner_is_checked_on_the_data_it_was_trained_on(folder, counted):
    from tinynet import TinyNet

    learn = jupyter_dl.finetune(folder, TinyNet(), epochs=1, size=16, quiet=True)
    issues = find_label_issues(learn, folds=2, top=16)
    assert sorted(str(i.path) for i in issues) == sorted(str(p) for p in folder.rglob("*.png"))


@pytest.mark.parametrize(("labels", "options", "words"), [
    ([], {}, "no labelled images yet"),
    ([0] * 12, {}, "all labelled images are in one class ('a')"),
    ([0] * 10 + [1] * 3, {}, "folds=5 needs at least 5 images in every class, but 'b' has 3: label more of it "
                             "or pass folds=3"),
    ([0] * 10 + [1] * 1, {"folds": 2}, "'b' has 1: label more of it"),
    ([0] * 6 + [1] * 6, {"folds": 1}, "folds=1 must be a whole number of at least 2"),
    ([0] * 6 + [1] * 6, {"score": "entropy"}, "score='entropy' is not one of"),
    ([0] * 6 + [1] * 6, {"top": 0}, "top=0 must be a whole number of at least 1"),
])
def test_bad_input_gets_one_sentence(labels, options, words):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(labels), 8)).astype(np.float32)
    with pytest.raises(UserInputError) as caught:
        find_label_issues(as_embeddings(vectors, np.array(labels, dtype=np.int64), ["a", "b"]), **options)
    message = str(caught.value)
    assert words.lower() in message.lower() and message.count(". ") == 0 and "\n" not in message
