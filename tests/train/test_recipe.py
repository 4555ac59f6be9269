"""fine_tune and freeze: exact frozen state, discriminative lr schedule, stops and interrupts."""
import os
import signal

import pytest
import torch
from torch import nn

from jupyter_dl.train import (
    BATCH_END,
    CHECKPOINT,
    FIT_START,
    STOP,
    EventRecorder,
    Trainer,
    fine_tune,
    freeze,
    recipe,
    unfreeze,
)

torch.set_num_threads(1)


def convnet():
    """A tiny conv net in three layer groups: early body, late body, head; BatchNorm in the body."""
    torch.manual_seed(0)
    early = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
    late = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Linear(8, 3)
    model = nn.Sequential(early, late, head)
    return model, [list(early.parameters()), list(late.parameters()), list(head.parameters())]


def images(n, seed):
    """3 classes told apart by which colour channel is bright: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 3, 8, 8, generator=g) * 0.3
    x[torch.arange(n), y] += 1.0
    return [(x[i:i + 8], y[i:i + 8]) for i in range(0, n, 8)]


TRAIN, VALID = images(32, 0), images(16, 1)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def state_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def expected_frozen(model, train_bn=True):
    """name -> requires_grad as documented: head trains; body only its norm params (if train_bn)."""
    return {name: name.startswith("2.") or (train_bn and (name.startswith("0.1.") or name.startswith("1.1.")))
            for name, _ in model.named_parameters()}


def requires_grad(model):
    return {name: p.requires_grad for name, p in model.named_parameters()}


def keep_checkpoints(trainer):
    kept = {}
    trainer.bus.subscribe(lambda e: kept.update({e["epoch"]: snapshot(e.source.model)})
                          if e.kind == CHECKPOINT else None)
    return kept


# ------------------------------------------------------------------- freeze
@pytest.mark.parametrize("train_bn", [True, False])
def test_freeze_sets_requires_grad_exactly(train_bn):
    model, groups = convnet()
    freeze(model, groups, train_bn=train_bn)
    assert requires_grad(model) == expected_frozen(model, train_bn)
    unfreeze(model)
    assert all(requires_grad(model).values())


# ------------------------------------------------------------------- the schedule
def test_layer_group_lrs_follow_the_fine_tune_schedule():
    model, groups = convnet()
    trainer = Trainer(model)
    steps = {"frozen": [], "unfrozen": []}

    def record(e):
        if e.kind == BATCH_END:
            optimizer_lrs = sorted({g["lr"] for g in e.source.optimizer.param_groups})
            assert optimizer_lrs == pytest.approx(sorted(set(e["lrs"])))  # the optimizer really uses them
            steps[e["phase"]].append((e["lrs"], e["mom"]))
    trainer.bus.subscribe(record)
    status = fine_tune(trainer, TRAIN, VALID, groups, epochs=2, freeze_epochs=1, lr=1e-2, body_lr_ratio=0.1)
    assert status == "finished"
    assert len(steps["frozen"]) == 4 and len(steps["unfrozen"]) == 8

    for phase, peak, div in (("frozen", 1e-2, recipe.DEFAULT_DIV_FROZEN),
                             ("unfrozen", 1e-2 * recipe.DEFAULT_UNFROZEN_LR_FACTOR, recipe.DEFAULT_DIV)):
        lrs = [s[0] for s in steps[phase]]
        for step_lrs in lrs:  # discriminative: geometric from head*0.1 (earliest) to head
            assert [lr / step_lrs[-1] for lr in step_lrs] == pytest.approx([0.1, 0.1 ** 0.5, 1.0])
        head = [s[-1] for s in lrs]
        assert head[0] == pytest.approx(peak / div)
        assert max(head) <= peak * (1 + 1e-9)
        top = head.index(max(head))
        assert all(a < b for a, b in zip(head[:top], head[1:top + 1]))   # warm-up
        assert all(a > b for a, b in zip(head[top:], head[top + 1:]))     # anneal
    # frozen phase: pct_start 0.99, so its 4 steps are all warm-up; unfrozen: peak near 30% of the steps
    assert [s[0][-1] for s in steps["frozen"]] == sorted(s[0][-1] for s in steps["frozen"])
    unfrozen_head = [s[0][-1] for s in steps["unfrozen"]]
    assert unfrozen_head.index(max(unfrozen_head)) in (2, 3)
    assert unfrozen_head[-1] < unfrozen_head[0]
    moms = [s[1] for s in steps["unfrozen"]]
    assert moms[0] == pytest.approx(0.95) and min(moms) >= 0.85 - 1e-9 and moms.index(min(moms)) in (2, 3)


def test_fine_tune_runs_both_phases_leaves_the_model_unfrozen_with_the_best_weights():
    model, groups = convnet()
    trainer = Trainer(model)
    kept = keep_checkpoints(trainer)
    status = fine_tune(trainer, TRAIN, VALID, groups, epochs=2, freeze_epochs=1)
    assert status == "finished"
    assert [r["phase"] for r in trainer.history] == ["frozen", "unfrozen", "unfrozen"]
    assert all(requires_grad(model).values())
    assert state_equal(model.state_dict(), kept[trainer.best_epoch])
    assert trainer.history[-1]["valid_loss"] < trainer.history[0]["valid_loss"]


# ------------------------------------------------------------------- stops
def test_stop_in_the_frozen_phase_skips_the_unfrozen_phase_and_keeps_the_best():
    model, groups = convnet()
    trainer = Trainer(model)
    kept = keep_checkpoints(trainer)
    rec = EventRecorder()
    trainer.bus.subscribe(rec)
    trainer.bus.subscribe(lambda e: e.source.request_stop()
                          if e.kind == BATCH_END and e["epoch"] == 2 and e["batch"] == 2 else None)
    status = fine_tune(trainer, TRAIN, VALID, groups, epochs=3, freeze_epochs=2)
    assert status == "stopped"
    assert [r["phase"] for r in trainer.history] == ["frozen"]
    assert [e["phase"] for e in rec.of(FIT_START)] == ["frozen"]
    assert requires_grad(model) == expected_frozen(model)   # left frozen, exactly
    assert state_equal(model.state_dict(), kept[1])


def test_stop_in_the_unfrozen_phase_keeps_the_best_and_leaves_the_model_unfrozen():
    model, groups = convnet()
    trainer = Trainer(model)
    kept = keep_checkpoints(trainer)
    trainer.bus.subscribe(lambda e: e.source.request_stop()
                          if e.kind == BATCH_END and e["epoch"] == 3 and e["batch"] == 1 else None)
    status = fine_tune(trainer, TRAIN, VALID, groups, epochs=3, freeze_epochs=1)
    assert status == "stopped"
    assert len(trainer.history) == 2 < 4
    assert all(requires_grad(model).values())
    assert state_equal(model.state_dict(), kept[trainer.best_epoch])


def test_a_kernel_interrupt_stops_at_the_batch_boundary_and_training_can_resume():
    model, groups = convnet()
    trainer = Trainer(model)
    kept = keep_checkpoints(trainer)
    rec = EventRecorder()
    trainer.bus.subscribe(rec)
    before = signal.getsignal(signal.SIGINT)

    def interrupt(e):
        if e.kind == BATCH_END and e["phase"] == "unfrozen" and e["batch"] == 2 and not rec.of(STOP):
            os.kill(os.getpid(), signal.SIGINT)
    trainer.bus.subscribe(interrupt)
    status = fine_tune(trainer, TRAIN, VALID, groups, epochs=2, freeze_epochs=1)
    assert status == "interrupted"
    stop = rec.of(STOP)[0]
    assert (stop["reason"], stop["epoch"], stop["batch"], stop["phase"]) == ("interrupted", 2, 2, "unfrozen")
    assert [e["batch"] for e in rec.of(BATCH_END) if e["epoch"] == 2] == [1, 2]
    assert len(trainer.history) == 1
    assert signal.getsignal(signal.SIGINT) is before
    assert state_equal(model.state_dict(), kept[1])
    assert all(requires_grad(model).values())
    # the same trainer trains again: a fresh best, epochs keep counting
    assert fine_tune(trainer, TRAIN, VALID, groups, epochs=1, freeze_epochs=1) == "finished"
    assert [(r["epoch"], r["phase"]) for r in trainer.history] == [(1, "frozen"), (2, "frozen"), (3, "unfrozen")]
    assert trainer.best_epoch in (2, 3)


def test_fine_tune_without_a_frozen_phase_and_bad_input():
    model, groups = convnet()
    trainer = Trainer(model)
    assert fine_tune(trainer, TRAIN, VALID, groups, epochs=1, freeze_epochs=0) == "finished"
    assert [r["phase"] for r in trainer.history] == ["unfrozen"]
    with pytest.raises(ValueError, match="epochs"):
        fine_tune(trainer, TRAIN, VALID, groups, epochs=-1)
    with pytest.raises(ValueError, match="layer_groups"):
        fine_tune(trainer, TRAIN, VALID, [])
