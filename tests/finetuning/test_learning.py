"""Learning tests: the packaged pretrained model really learns the sample, and pretraining matters."""
import pytest

import jupyter_dl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pretrained():
    return jupyter_dl.finetune("sample", epochs=3, size=64, quiet=True)


def test_finetune_sample_reaches_090_validation_accuracy(pretrained):
    assert pretrained.history[-1]["accuracy"] >= 0.90


def test_pretrained_beats_random_weights_by_a_wide_margin(pretrained):
    scratch = jupyter_dl.finetune("sample", epochs=3, size=64, pretrained=False, quiet=True)
    assert pretrained.history[-1]["accuracy"] - scratch.history[-1]["accuracy"] >= 0.25


def test_the_learner_predicts_held_out_digits(pretrained):
    path = jupyter_dl.datasets.sample()
    images = [sorted((path / str(d)).iterdir())[-1] for d in range(10)]
    predictions = [label for label, _ in pretrained.predict_batch(images)]
    assert sum(p == str(d) for d, p in enumerate(predictions)) >= 8
