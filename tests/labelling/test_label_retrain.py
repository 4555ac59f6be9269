"""The real model joins in: a background fine-tune on the labels so far takes over the suggestions."""
from __future__ import annotations

import pytest
from label_pools import colour_vectors, make_pool_folder, truth
from tinynet import TinyNet

from jupyter_dl.data.label_pool import open_pool
from jupyter_dl.labelling.chart import accuracy_svg
from jupyter_dl.labelling.retrain import Retrainer
from jupyter_dl.labelling.session import LabelSession


def label_page(session):
    for key in list(session.page):
        session.label(key, truth(session.pool.item(key).path))


@pytest.mark.slow
def test_every_n_labels_a_background_fine_tune_replaces_the_suggestions(tmp_path):
    data = make_pool_folder(tmp_path, per_class=14)
    pool = open_pool(data, classes="red,green,blue")
    session = LabelSession(pool, vectors=colour_vectors(pool), page_size=6)
    retrainer = Retrainer(session, every=12, arch=TinyNet(3), size=16, bs=4, epochs=2, freeze_epochs=0,
                          lr=0.05, workers=0, device="cpu", seed=0)
    # Whether a run takes over depends on how right the suggestions were on the labels given while it trained
    # (timing); that rule has its own test below. Here: the suggestions' record is nothing to beat.
    retrainer.recent_accuracy = lambda: 0.0
    label_page(session)
    session.turn_page()
    assert not retrainer.running and retrainer.learner is None        # 6 labels: not yet
    while retrainer.learner is None and session.n_unlabelled:          # from 12, once every class has two
        label_page(session)
        session.turn_page()
    started_at = session.n_labelled
    assert retrainer.learner is not None and started_at >= 12
    label_page(session)                                                 # labelling goes on meanwhile
    retrainer.wait(120)
    assert not retrainer.running
    assert session.model_name.startswith("fine-tuned:")
    point = retrainer.points[-1]
    assert 12 <= point.labels <= started_at and point.accuracy is not None
    assert point.run.endswith("-TinyNet-data")                       # the run is named after the folder
    rest = [item for item in session.pool.items if item.label is None]
    predicted = retrainer.learner.predict_batch([item.path for item in rest])
    assert [session.suggestion(item.key).label for item in rest] == [label for label, _ in predicted]
    assert all(abs(session.suggestion(item.key).confidence - p) < 1e-4 for item, (_, p) in zip(rest, predicted))
    assert "jdl-label-run" in accuracy_svg(session.outcomes, retrainer.points)


def test_no_run_until_two_classes_have_two_labels(tmp_path):
    data = make_pool_folder(tmp_path, per_class=6)
    pool = open_pool(data, classes="red,green,blue")
    session = LabelSession(pool, vectors=colour_vectors(pool), page_size=4)
    retrainer = Retrainer(session, every=2)
    red = [item.key for item in pool.items if truth(item.path) == "red"]
    session.label(red[0], "red")
    session.label(red[1], "red")
    assert not retrainer.due()                       # one class only: nothing to tell apart
    session.add_class("purple")
    green = next(item.key for item in pool.items if truth(item.path) == "green")
    session.label(green, "green")
    assert not retrainer.due()                       # green has one image: no validation split possible


def test_the_chart_draws_the_share_of_right_suggestions():
    from jupyter_dl.labelling.session import Outcome

    outcomes = [Outcome(i, i % 4 != 0, "embeddings:linear") for i in range(48)]
    svg = accuracy_svg(outcomes, [])
    assert svg.startswith("<svg") and "jdl-label-suggestions" in svg and "labelled images" in svg
    assert accuracy_svg(outcomes[:5], []) == ""      # fewer than a window: nothing to draw yet


class FinishedLearner:
    """What Retrainer reads of a learner whose background run has ended (a stand-in: no training)."""

    def __init__(self, accuracy, classes):
        self.history = [{"epoch": 1, "accuracy": accuracy}]
        self.classes = classes
        self.run_dir = None

    def wait(self):
        return "finished"

    def run_name(self):
        return "fake-data"

    def probabilities(self, paths):
        import torch

        return torch.full((len(paths), len(self.classes)), 1 / len(self.classes))


@pytest.mark.parametrize(("held_out", "takes_over"), [(0.5, False), (1.0, True)])
def test_a_fine_tune_takes_over_only_if_it_beats_the_suggestions_in_use(tmp_path, held_out, takes_over):
    data = make_pool_folder(tmp_path, per_class=12)
    pool = open_pool(data, classes="red,green,blue")
    session = LabelSession(pool, vectors=colour_vectors(pool), page_size=6)
    retrainer = Retrainer(session, every=0)
    while len(session.outcomes) < 24:
        label_page(session)
        session.turn_page()
    assert retrainer.recent_accuracy() >= 0.9          # three flat colours: the embeddings are nearly always right
    retrainer._finish(FinishedLearner(held_out, ["blue", "green", "red"]), session.n_labelled)
    assert session.model_name.startswith("fine-tuned:") is takes_over
    assert ("the suggestions stay as they are" in retrainer.status) is not takes_over
    assert retrainer.points[-1].accuracy == held_out   # drawn in the chart either way
