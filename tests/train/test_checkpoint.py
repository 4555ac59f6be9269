"""A trainer's state at an epoch end, and a fit that goes on from it as if it had never stopped."""
import pytest
import torch
from torch import nn

from jupyter_dl.errors import UserInputError
from jupyter_dl.train import BATCH_END, EPOCH_END, FitResume, LossLog, Trainer
from jupyter_dl.train.checkpoint import FitPosition, capture, load_optimizer_state, rng_state, set_rng_state
from jupyter_dl.train.runlog import RunLog, read_run

torch.set_num_threads(1)


def blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * 0.5 + (y[:, None].float() * 4 - 2)
    return [(x[i:i + 8], y[i:i + 8]) for i in range(0, n, 8)]


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))


TRAIN, VALID = blobs(32, 0), blobs(16, 1)


def test_a_fit_resumed_from_an_epoch_end_goes_on_exactly_as_the_whole_fit():
    whole = Trainer(mlp(), metrics=("accuracy",))
    lrs, states = [], {}
    whole.bus.subscribe(lambda e: lrs.append((e["epoch"], e["lrs"], e["mom"])) if e.kind == BATCH_END else None)
    whole.bus.subscribe(lambda e: states.setdefault(e["epoch"], capture(whole)) if e.kind == EPOCH_END else None)
    whole.fit_one_cycle(TRAIN, VALID, 4, 1e-2)

    saved = states[2]
    assert saved["position"] == FitPosition("train", 4, 2)
    resumed = Trainer(mlp(), metrics=("accuracy",))
    resumed.model.load_state_dict(saved["model"])
    resumed.history.extend(whole.history[:2])
    resumed.losses.load(saved["losses"])
    seen = []
    resumed.bus.subscribe(lambda e: seen.append((e["epoch"], e["lrs"], e["mom"])) if e.kind == BATCH_END else None)
    assert resumed.fit_one_cycle(TRAIN, VALID, 4, 1e-2, resume=FitResume("train", 2, saved["optimizer"])) == "finished"
    assert seen == [step for step in lrs if step[0] > 2]             # the schedule goes on where it was
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    for key, value in whole.model.state_dict().items():             # and so does the optimizer: same weights
        assert torch.equal(resumed.model.state_dict()[key], value), key
    assert resumed.global_step == whole.global_step


def test_the_position_is_known_only_while_a_fit_runs():
    trainer = Trainer(mlp())
    positions = []
    trainer.bus.subscribe(lambda e: positions.append(trainer.fit_position) if e.kind == EPOCH_END else None)
    trainer.fit_one_cycle(TRAIN, VALID, 2, 1e-2, phase="frozen")
    assert positions == [FitPosition("frozen", 2, 1), FitPosition("frozen", 2, 2)]
    assert trainer.fit_position is None and capture(trainer) is None


def test_a_resume_that_does_not_fit_the_fit_is_a_user_error():
    trainer = Trainer(mlp())
    with pytest.raises(UserInputError, match="of the frozen phase, not the unfrozen phase"):
        trainer.fit_one_cycle(TRAIN, VALID, 2, 1e-2, phase="unfrozen", resume=FitResume("frozen", 1))
    with pytest.raises(UserInputError, match="after epoch 3 of the fit, which has 2"):
        trainer.fit_one_cycle(TRAIN, VALID, 2, 1e-2, resume=FitResume("train", 3))
    assert trainer.fit_one_cycle(TRAIN, VALID, 2, 1e-2, resume=FitResume("train", 2)) == "finished"
    assert trainer.history == []                                     # nothing was left to train


def test_an_optimizer_state_saved_by_a_fused_adamw_loads_into_a_plain_one():
    model = mlp()
    fused = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=True)
    model(torch.randn(4, 2)).sum().backward()
    fused.step()
    plain = torch.optim.AdamW(mlp().parameters(), lr=1e-3)
    load_optimizer_state(plain, fused.state_dict())
    assert not plain.param_groups[0]["fused"]                       # this machine's way to step stays
    first = next(iter(plain.state.values()))
    assert torch.equal(first["exp_avg"], next(iter(fused.state.values()))["exp_avg"])


def test_random_states_go_back_as_they_were():
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(2)
    state = rng_state([generator])
    expected = (torch.rand(3), torch.rand(3, generator=generator))
    torch.manual_seed(9)
    generator.manual_seed(9)
    set_rng_state(state, [generator])
    assert torch.equal(torch.rand(3), expected[0]) and torch.equal(torch.rand(3, generator=generator), expected[1])


def test_the_loss_log_reloads_its_steps():
    log = LossLog()
    for value in (3.0, 2.0, 1.0):
        log.append(torch.tensor(value))
    again = LossLog()
    again.load(log.rows())
    assert again.steps == 3 and again.points() == log.points()
    again.append(torch.tensor(0.5))
    assert again.points(3)[0] == [4]


def test_the_run_log_counts_each_epoch_once_after_a_resume(tmp_path):
    log = RunLog(tmp_path / "run")
    log.write("config", call="fine_tune")
    for epoch in (1, 2, 3):          # epoch 3 was logged, but the kill came before its state was saved
        log.write("epoch_end", epoch=epoch, train_loss=1.0 / epoch)
    log.write("resume", epoch=2)
    log.write("epoch_end", epoch=3, train_loss=0.25)
    log.close()
    assert [(e["epoch"], e["train_loss"]) for e in read_run(tmp_path / "run")["epochs"]] == \
        [(1, 1.0), (2, 0.5), (3, 0.25)]
