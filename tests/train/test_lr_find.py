"""lr_find: a sensible suggestion, early stop on divergence, and no trace left on the model."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from jupyter_dl.errors import UserInputError
from jupyter_dl.train import Trainer, lr_find
from jupyter_dl.train.lr_finder import minimum, slide, steep, suggest_lrs, valley

torch.set_num_threads(1)


def problem(n=64, seed=0):
    """4 Gaussian blobs in 2-d, batches of 8; an MLP with a LayerNorm and a BatchNorm."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    centers = torch.tensor([[2.0, 2.0], [-2.0, 2.0], [2.0, -2.0], [-2.0, -2.0]])
    x = centers[y] + torch.randn(n, 2, generator=g) * 0.7
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4))
    return model, [(x[i:i + 8], y[i:i + 8]) for i in range(0, n, 8)]


def test_suggests_a_sensible_learning_rate_and_stops_when_the_loss_diverges():
    model, train = problem()
    result = lr_find(Trainer(model), train, num_it=100)
    assert set(result.suggestions) == {"valley", "minimum", "steep", "slide"}
    assert result.suggested == result.suggestions["valley"]
    assert 1e-4 <= result.suggested <= 1
    assert 1e-5 <= result.suggestions["minimum"] <= 1
    assert len(result.lrs) == len(result.losses) <= 100
    ratios = np.diff(np.log(result.lrs))
    assert np.allclose(ratios, math.log(1e8) / 100)  # exponential sweep from 1e-7 towards 10
    assert result.lrs[0] == pytest.approx(1e-7)
    if result.status == "diverged":
        assert result.losses[-1] > 4 * min(result.losses) or not math.isfinite(result.losses[-1])
    else:
        assert result.status == "finished" and len(result.lrs) == 100


def test_restores_weights_requires_grad_and_mode_exactly():
    model, train = problem()
    model[0].weight.requires_grad_(False)  # a partly frozen model, as after freeze()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}  # includes BatchNorm running stats
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    trainer = Trainer(model)
    lr_find(trainer, train, num_it=30)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert not model.training
    assert trainer.history == [] and trainer.optimizer is None


def test_a_stop_request_ends_the_sweep_early_and_still_restores():
    model, train = problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model)
    result = lr_find(trainer, train, num_it=50,
                     progress=lambda step, total: trainer.request_stop() if step == 20 else None)
    assert result.status == "stopped" and len(result.lrs) == 20
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not trainer.stop_requested


def test_bad_arguments_are_user_errors():
    model, train = problem()
    with pytest.raises(UserInputError):
        lr_find(Trainer(model), train, start_lr=1.0, end_lr=1e-3)
    with pytest.raises(UserInputError):
        lr_find(Trainer(model), [], num_it=10)


# ------------------------------------------------------------------- suggestion rules on made-up curves
LRS = np.logspace(-7, 1, 100)


def curve():
    """Flat, then a long descent from step 20 to 70, then an accelerating blow-up."""
    loss = np.full(100, 2.0)
    loss[20:70] = np.linspace(2.0, 0.5, 50)
    loss[70:] = 0.5 + 0.05 * (np.exp(np.linspace(0.0, 4.0, 30)) - 1)
    loss[:20] += np.linspace(0.01, 0.0, 20)  # keeps the start strictly above the valley
    return loss


def test_valley_picks_a_point_part_way_down_the_longest_descent():
    loss = curve()
    lr = valley(LRS, loss)
    idx = int(np.argmin(abs(LRS - lr)))
    assert 30 < idx < 60  # inside the descent, well before its bottom at 69


def test_minimum_steep_and_slide():
    loss = curve()
    assert minimum(LRS, loss) == pytest.approx(LRS[69] / 10)
    steepest = int(np.argmin(np.diff(loss) / np.diff(np.log(LRS))))
    assert steep(LRS, loss) == pytest.approx(LRS[steepest])
    assert 20 <= int(np.argmin(abs(LRS - slide(LRS, loss)))) < 70


def test_suggestions_skip_the_ends_and_need_enough_points():
    assert suggest_lrs(LRS[:10].tolist(), curve()[:10].tolist(), 100) == {}
    suggestions = suggest_lrs(LRS.tolist(), curve().tolist(), 100)
    assert set(suggestions) == {"valley", "minimum", "steep", "slide"}

