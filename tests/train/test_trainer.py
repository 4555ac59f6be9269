"""Trainer: learning, events, no per-batch syncs, seeding, best weights, stops, errors, devices."""
import math
import os
import signal

import numpy as np
import pytest
import torch
from torch import nn

from jupyter_dl.errors import UserInputError
from jupyter_dl.train import (
    BATCH_END,
    CHECKPOINT,
    EPOCH_END,
    EPOCH_START,
    ERROR,
    FIT_END,
    FIT_START,
    STOP,
    EventRecorder,
    OneCycle,
    Trainer,
    resolve_channels_last,
    resolve_device,
    resolve_precision,
)
from jupyter_dl.train import trainer as trainer_module
from jupyter_dl.train.metrics import accuracy, error_rate, f1_macro

torch.set_num_threads(1)


def blobs(n=32, seed=0, spread=0.5):
    """Two well-separated Gaussian blobs in 2-d: class 0 around (-2,-2), class 1 around (2,2)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 2, generator=g) * spread + (y[:, None].float() * 4 - 2)
    return x, y


def batches(x, y, bs=8):
    return [(x[i:i + bs], y[i:i + bs]) for i in range(0, len(x), bs)]


def mlp(dropout=0.0):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 2))


def data():
    return batches(*blobs(32, seed=0)), batches(*blobs(16, seed=1))


def state_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------- learning and history
def test_learns_a_separable_problem():
    train, valid = data()
    trainer = Trainer(mlp(), metrics=("accuracy", "f1"))
    status = trainer.fit_one_cycle(train, valid, 4, 3e-2)
    assert status == "finished"
    assert [r["epoch"] for r in trainer.history] == [1, 2, 3, 4]
    last = trainer.history[-1]
    assert last["accuracy"] >= 0.9 and last["f1"] >= 0.9
    assert last["train_loss"] < trainer.history[0]["train_loss"]
    assert set(last) == {"epoch", "phase", "train_loss", "valid_loss", "accuracy", "f1", "seconds", "lr",
                         "data_wait_s", "compute_s", "data_wait_share"}
    assert last["phase"] == "train" and isinstance(last["valid_loss"], float)
    assert last["lr"] < 3e-2 / 50  # annealed: the last of 16 steps is near the bottom of the cosine


def test_epochs_count_across_fits_and_phase_is_recorded():
    train, valid = data()
    trainer = Trainer(mlp())
    trainer.fit_one_cycle(train, valid, 1, 1e-2, phase="frozen")
    trainer.fit_one_cycle(train, valid, 2, 1e-2, phase="unfrozen")
    assert [(r["epoch"], r["phase"]) for r in trainer.history] == [(1, "frozen"), (2, "unfrozen"), (3, "unfrozen")]


def test_events_come_in_order_with_plain_payloads():
    train, valid = data()
    rec = EventRecorder()
    trainer = Trainer(mlp())
    trainer.bus.subscribe(rec)
    trainer.fit_one_cycle(train, valid, 2, 1e-2)
    kinds = [k for k in rec.kinds() if k != CHECKPOINT]
    epoch = [EPOCH_START] + [BATCH_END] * 4 + [EPOCH_END]
    assert kinds == [FIT_START] + epoch * 2 + [FIT_END]
    assert all(e.source is trainer for e in rec.events)
    batch = rec.of(BATCH_END)[-1]
    assert {"phase", "epoch", "batch", "n_batches", "step", "total_steps", "lr", "lrs", "bs"} <= set(batch.data)
    assert (batch["step"], batch["total_steps"], batch["batch"], batch["n_batches"]) == (8, 8, 4, 4)
    for event in rec.of(BATCH_END):  # nothing there needs the device
        assert not any(isinstance(v, torch.Tensor) for v in event.data.values())
    assert rec.of(EPOCH_END)[0].data == trainer.history[0]
    assert rec.of(FIT_END)[0]["status"] == "finished"


def test_no_device_reads_inside_the_batch_loop(monkeypatch):
    """Only the epoch end reads values back (one tolist per epoch); the running loss only when asked."""
    reads = []
    for name in ("item", "__float__", "__int__", "__bool__", "tolist", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            caller = os.path.normpath(__import__("sys")._getframe(1).f_code.co_filename)
            if os.path.join("jupyter_dl", "train") in caller:
                reads.append(_name)
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, spy)
    train, valid = data()
    trainer = Trainer(mlp(), metrics=("accuracy", "error_rate", "f1"))
    trainer.fit_one_cycle(train, valid, 3, 1e-2)
    assert reads == ["tolist"] * 3


def test_running_loss_is_the_debiased_smoothed_loss():
    train, valid = data()
    trainer = Trainer(mlp())
    assert trainer.running_loss() is None
    seen = []
    trainer.bus.subscribe(lambda e: seen.append(e.source.running_loss()) if e.kind == BATCH_END else None)
    trainer.fit_one_cycle(train, valid, 1, 1e-2)
    assert all(isinstance(v, float) and math.isfinite(v) for v in seen) and len(seen) == 4
    # after one batch the debiased EMA is exactly that batch's loss; it is close to the epoch's mean after 4
    assert abs(seen[-1] - trainer.history[0]["train_loss"]) < 0.5


def test_same_seed_gives_the_same_history_on_cpu():
    def run(seed):
        train, valid = data()
        trainer = Trainer(mlp(dropout=0.3), seed=seed, metrics=("accuracy", "f1"))
        trainer.fit_one_cycle(train, valid, 2, 1e-2)
        wall_clock = {"seconds", "data_wait_s", "compute_s", "data_wait_share"}
        return [{k: v for k, v in r.items() if k not in wall_clock} for r in trainer.history]

    assert run(7) == run(7)
    assert run(7) != run(8)  # the seed drives the dropout masks


def test_evaluate_returns_probabilities_and_targets():
    train, valid = data()
    trainer = Trainer(mlp(), metrics=("accuracy", "error_rate"))
    trainer.fit_one_cycle(train, valid, 2, 3e-2)
    result = trainer.evaluate(valid)
    assert result["preds"].shape == (16, 2) and result["targets"].shape == (16,)
    assert torch.allclose(result["preds"].sum(dim=1), torch.ones(16))
    assert result["accuracy"] == pytest.approx(1 - result["error_rate"])
    assert result["valid_loss"] == pytest.approx(trainer.history[-1]["valid_loss"], rel=1e-5)


# ------------------------------------------------------------------- metrics
def test_metrics_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(50, 4, generator=g)
    targets = torch.randint(0, 3, (50,), generator=g)  # class 3 never present, sometimes predicted
    preds = logits.argmax(1)
    assert float(accuracy(logits, targets)) == pytest.approx(accuracy_score(targets, preds))
    assert float(error_rate(logits, targets)) == pytest.approx(1 - accuracy_score(targets, preds))
    assert float(f1_macro(logits, targets)) == pytest.approx(f1_score(targets, preds, average="macro"))


def test_unknown_metric_lists_the_known_ones():
    with pytest.raises(UserInputError, match="accuracy, error_rate, f1"):
        Trainer(mlp(), metrics=("accuracy", "auc"))


# ------------------------------------------------------------------- optimizer and schedule
def test_optimizer_has_no_decay_on_biases_and_norms_and_only_trainable_params():
    model = nn.Sequential(nn.Linear(2, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 2))
    model[0].weight.requires_grad_(False)
    captured = {}
    trainer = Trainer(model, wd=0.05)
    trainer.bus.subscribe(lambda e: captured.setdefault("opt", e.source.optimizer) if e.kind == FIT_START else None)
    train, valid = data()
    trainer.fit_one_cycle(train, valid, 1, 1e-2)
    groups = captured["opt"].param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] == 0.05 for p in g["params"]}
    plain = {id(p) for g in groups if g["weight_decay"] == 0.0 for p in g["params"]}
    assert decayed == {id(model[3].weight)}
    assert plain == {id(model[0].bias), id(model[1].weight), id(model[1].bias), id(model[3].bias)}
    assert trainer.optimizer is None  # discarded after the fit


def test_one_cycle_shape():
    sched = OneCycle((1e-3, 1e-2), pct_start=0.25, div=25, div_final=1e5)
    assert sched.lrs_at(0.0) == pytest.approx([1e-3 / 25, 1e-2 / 25])
    assert sched.lrs_at(0.25) == pytest.approx([1e-3, 1e-2])
    assert sched.lrs_at(1.0) == pytest.approx([1e-8, 1e-7])
    curve = [sched.lrs_at(p / 100)[1] for p in range(101)]
    assert all(a <= b for a, b in zip(curve[:25], curve[1:26]))     # warm-up rises
    assert all(a >= b for a, b in zip(curve[25:], curve[26:]))      # annealing falls
    assert (sched.mom_at(0.0), sched.mom_at(0.25), sched.mom_at(1.0)) == pytest.approx((0.95, 0.85, 0.95))
    for p in (0.1, 0.5, 0.9):
        a, b = sched.lrs_at(p)
        assert b / a == pytest.approx(10)


def test_bad_learning_rates_are_user_errors():
    train, valid = data()
    model = mlp()
    trainer = Trainer(model)
    groups = [list(model[0].parameters()), list(model[3].parameters())]
    with pytest.raises(UserInputError, match="3 learning rates for 2"):
        trainer.fit_one_cycle(train, valid, 1, [1e-3, 1e-3, 1e-2], param_groups=groups)
    with pytest.raises(UserInputError, match="positive"):
        trainer.fit_one_cycle(train, valid, 1, -1.0)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(UserInputError, match="frozen"):
        trainer.fit_one_cycle(train, valid, 1, 1e-2)


def test_grad_clip_is_applied_every_step(monkeypatch):
    calls = []
    original = nn.utils.clip_grad_norm_
    monkeypatch.setattr(nn.utils, "clip_grad_norm_", lambda params, max_norm, **kw: calls.append(max_norm)
                        or original(params, max_norm, **kw))
    train, valid = data()
    Trainer(mlp(), grad_clip=0.5).fit_one_cycle(train, valid, 1, 1e-2)
    assert calls == [0.5] * 4


# ------------------------------------------------------------------- best weights
def test_best_weights_follow_the_monitor_and_restore():
    train, valid = data()
    trainer = Trainer(mlp(), metrics=())  # no metric: monitor the validation loss
    kept = {}
    trainer.bus.subscribe(lambda e: kept.update({e["epoch"]: snapshot(e.source.model)})
                          if e.kind == CHECKPOINT else None)
    trainer.fit_one_cycle(train, valid, 3, 1e-2)
    losses = [r["valid_loss"] for r in trainer.history]
    best = int(np.argmin(losses)) + 1
    assert trainer.best.monitor == "valid_loss"
    assert trainer.best_epoch == best and trainer.best_value == pytest.approx(min(losses))
    assert trainer.restore_best()
    assert state_equal(trainer.model.state_dict(), kept[best])


def test_error_rate_is_monitored_lower_is_better():
    trainer = Trainer(mlp(), metrics=("error_rate", "accuracy"))
    assert (trainer.best.monitor, trainer.best.higher_is_better) == ("error_rate", False)


# ------------------------------------------------------------------- stopping
def test_request_stop_from_a_subscriber_stops_at_the_batch_boundary_and_keeps_the_best():
    train, valid = data()
    trainer = Trainer(mlp())
    rec = EventRecorder()
    trainer.bus.subscribe(rec)
    kept = {}

    def on_event(e):
        if e.kind == CHECKPOINT:
            kept[e["epoch"]] = snapshot(e.source.model)
        if e.kind == BATCH_END and e["epoch"] == 2 and e["batch"] == 3 and not rec.of(STOP):
            e.source.request_stop()
    trainer.bus.subscribe(on_event)
    status = trainer.fit_one_cycle(train, valid, 3, 1e-2)
    assert status == "stopped"
    assert len(trainer.history) == 1
    assert sum(1 for e in rec.of(BATCH_END) if e["epoch"] == 2) == 3  # no batch after the request
    stop = rec.of(STOP)[0]
    assert (stop["reason"], stop["epoch"], stop["batch"]) == ("user", 2, 3)
    assert rec.of(FIT_END)[0]["status"] == "stopped"
    assert state_equal(trainer.model.state_dict(), kept[1])
    assert trainer.optimizer is None and not trainer.stop_requested
    # and the trainer fits again afterwards
    assert trainer.fit_one_cycle(train, valid, 1, 1e-2) == "finished"
    assert [r["epoch"] for r in trainer.history] == [1, 2]


def test_sigint_stops_cleanly_and_the_handler_is_restored():
    train, valid = data()
    trainer = Trainer(mlp())
    rec = EventRecorder()
    trainer.bus.subscribe(rec)
    before = signal.getsignal(signal.SIGINT)
    trainer.bus.subscribe(lambda e: os.kill(os.getpid(), signal.SIGINT)
                          if e.kind == BATCH_END and e["epoch"] == 2 and e["batch"] == 2 else None)
    status = trainer.fit_one_cycle(train, valid, 3, 1e-2)
    assert status == "interrupted"
    stop = rec.of(STOP)[0]
    assert (stop["reason"], stop["epoch"], stop["batch"]) == ("interrupted", 2, 2)
    assert len(trainer.history) == 1 and rec.of(FIT_END)[0]["status"] == "interrupted"
    assert signal.getsignal(signal.SIGINT) is before


def test_a_keyboard_interrupt_that_escapes_is_an_interrupted_stop():
    train, valid = data()
    trainer = Trainer(mlp())

    def boom(e):
        if e.kind == BATCH_END and e["epoch"] == 2:
            raise KeyboardInterrupt
    trainer.bus.subscribe(boom)
    assert trainer.fit_one_cycle(train, valid, 2, 1e-2) == "interrupted"
    assert trainer.best_epoch == 1


def test_an_error_is_reported_then_raised_and_the_trainer_stays_usable():
    train, valid = data()
    calls = {"n": 0}

    def flaky_loss(out, y):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("bad batch")
        return nn.functional.cross_entropy(out, y)
    trainer = Trainer(mlp(), loss_fn=flaky_loss)
    rec = EventRecorder()
    trainer.bus.subscribe(rec)
    with pytest.raises(RuntimeError, match="bad batch"):
        trainer.fit_one_cycle(train, valid, 1, 1e-2)
    assert rec.kinds()[-2:] == [ERROR, FIT_END] and rec.of(FIT_END)[0]["status"] == "failed"
    assert "bad batch" in rec.of(ERROR)[0]["message"]
    assert trainer.optimizer is None
    assert trainer.fit_one_cycle(train, valid, 1, 1e-2) == "finished"


# ------------------------------------------------------------------- devices and precision
def test_device_and_precision_resolution_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cpu = torch.device("cpu")
    with pytest.raises(UserInputError, match="--device cpu or auto"):
        resolve_device("cuda")
    assert resolve_device("cpu") == cpu
    assert resolve_precision("auto", cpu).name == "fp32"
    assert resolve_precision("bf16", cpu).autocast_dtype == torch.bfloat16
    with pytest.raises(UserInputError, match="CUDA"):
        resolve_precision("fp16", cpu)
    with pytest.raises(UserInputError, match="auto"):
        resolve_precision("fp8", cpu)
    assert resolve_channels_last("auto", cpu) is False


def test_bf16_autocast_trains_on_cpu():
    train, valid = data()
    trainer = Trainer(mlp(), precision="bf16")
    assert trainer.fit_one_cycle(train, valid, 2, 3e-2) == "finished"
    assert all(math.isfinite(r["train_loss"]) for r in trainer.history)
    assert trainer_module.Trainer is Trainer


def test_a_fit_in_a_background_thread_stops_on_request_from_the_main_thread():
    import threading
    train, valid = data()
    trainer = Trainer(mlp())
    reached, proceed, result = threading.Event(), threading.Event(), {}
    before = signal.getsignal(signal.SIGINT)

    def pause_at_batch_2(e):
        if e.kind == BATCH_END and e["epoch"] == 1 and e["batch"] == 2:
            reached.set()
            proceed.wait(10)
    trainer.bus.subscribe(pause_at_batch_2)
    worker = threading.Thread(target=lambda: result.update(status=trainer.fit_one_cycle(train, valid, 2, 1e-2)))
    worker.start()
    assert reached.wait(10)
    assert isinstance(trainer.running_loss(), float)  # a view reading from another thread
    trainer.request_stop("user")
    proceed.set()
    worker.join(10)
    assert result["status"] == "stopped" and trainer.history == []
    assert signal.getsignal(signal.SIGINT) is before


def test_loss_points_give_raw_and_smoothed_losses_per_step_incrementally():
    import torch
    from torch import nn

    from jupyter_dl.train import Trainer

    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    x = torch.randn(32, 4)
    y = (x[:, 0] > 0).long()
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 32, 8)]
    trainer = Trainer(model, seed=0)
    seen = []

    def collect(event):
        if event.kind == "batch_end" and event["batch"] == 2:
            seen.append(trainer.loss_points(since=0))

    trainer.bus.subscribe(collect)
    trainer.fit_one_cycle(batches, batches, 2, 1e-2)
    steps, raw, smooth = trainer.loss_points()
    assert steps == list(range(1, 9)) and len(raw) == len(smooth) == 8
    assert seen[0][0] == [1, 2]                      # mid-fit reads see only the steps done
    assert raw[0] == pytest.approx(smooth[0])        # debiased: the first smoothed value is the first loss
    assert trainer.loss_points(since=6)[0] == [7, 8]  # incremental reads
    trainer.fit_one_cycle(batches, batches, 1, 1e-2)
    assert trainer.loss_points(since=8)[0] == [9, 10, 11, 12]
