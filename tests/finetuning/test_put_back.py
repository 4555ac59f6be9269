"""A run that ends before its first epoch completes gives the notebook variable its previous value back.

A run that completes an epoch keeps the new learner (an interrupt later on keeps its best weights).
"""
from __future__ import annotations

import os
import signal
import threading

import pytest
from tinynet import TinyNet

import jupyter_dl

PREVIOUS = "a learner trained for an hour"
FAST = dict(size=16, bs=4, epochs=1, freeze_epochs=1, quiet=True)   # 3 training batches per epoch


class Tripwire(TinyNet):
    """TinyNet that does ``action()`` at its ``at``-th training step (counted over the whole run)."""

    def __init__(self, at: int, action) -> None:
        super().__init__()
        self.at, self.action, self.steps = at, action, 0

    def forward(self, x):
        if self.training:
            self.steps += 1
            if self.steps == self.at:
                self.action()
        return super().forward(x)


def interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # what the kernel's interrupt sends


def boom() -> None:
    raise RuntimeError("boom")


def test_an_interrupt_in_the_first_epoch_puts_the_previous_value_back(folder, capsys):
    namespace = {"learn": PREVIOUS}
    learner = jupyter_dl.finetune(folder, Tripwire(2, interrupt), namespace=namespace, **FAST)
    assert learner.status == "interrupted" and learner.history == []
    assert namespace["learn"] == PREVIOUS
    assert f"No epoch finished, so `learn` holds its previous value again: '{PREVIOUS}'." in capsys.readouterr().out


def test_through_the_magic_an_interrupt_in_the_first_epoch_puts_the_previous_value_back(shell, folder):
    shell.user_ns.update(learn=PREVIOUS, wire=Tripwire(2, interrupt))
    shell.run_line_magic("finetune", f"wire '{folder}' --size 16 --bs 4 --epochs 1 --quiet")
    assert shell.user_ns["learn"] == PREVIOUS
    shell.user_ns["wire"] = TinyNet()
    shell.run_line_magic("finetune", f"wire '{folder}' --size 16 --bs 4 --epochs 1 --freeze-epochs 0 --quiet")
    assert shell.user_ns["learn"].history and shell.user_ns["learn"].status == "finished"


def test_an_error_in_the_first_epoch_puts_the_previous_value_back(folder, capsys):
    namespace = {"pets": PREVIOUS}
    with pytest.raises(RuntimeError, match="boom"):
        jupyter_dl.finetune(folder, Tripwire(2, boom), namespace=namespace, learner_name="pets", **FAST)
    assert namespace["pets"] == PREVIOUS
    assert "`pets` holds its previous value again" in capsys.readouterr().out


def test_an_error_before_training_starts_puts_the_previous_value_back(folder, capsys):
    namespace = {"learn": PREVIOUS}
    with pytest.raises(RuntimeError, match="boom"):   # in the LR finder's sweep, before any epoch
        jupyter_dl.finetune(folder, Tripwire(1, boom), lr="find", namespace=namespace, **FAST)
    assert namespace["learn"] == PREVIOUS
    assert "`learn` holds its previous value again" in capsys.readouterr().out


def test_a_variable_that_did_not_exist_is_not_left_behind(folder, capsys):
    namespace: dict = {}
    jupyter_dl.finetune(folder, Tripwire(1, interrupt), namespace=namespace, **FAST)
    assert "learn" not in namespace
    assert "No epoch finished, so `learn` was not created." in capsys.readouterr().out


def test_a_run_that_completed_an_epoch_keeps_the_new_learner(folder, capsys):
    namespace = {"learn": PREVIOUS}
    learner = jupyter_dl.finetune(folder, Tripwire(5, interrupt), namespace=namespace, **FAST)  # in epoch 2
    assert learner.status == "interrupted" and len(learner.history) == 1
    assert namespace["learn"] is learner
    assert "The learner is in `learn`" in capsys.readouterr().out


def held_background_run(folder, namespace):
    """A background run held at its first step; returns (learner, release): release() stops it and lets it go."""
    reached, gate = threading.Event(), threading.Event()

    def hold() -> None:
        reached.set()
        gate.wait(30)

    learner = jupyter_dl.finetune(folder, Tripwire(1, hold), namespace=namespace, background=True, **FAST)
    assert reached.wait(30)

    def release() -> None:
        learner.stop()
        gate.set()

    return learner, release


def test_a_background_run_stopped_in_its_first_epoch_puts_the_previous_value_back(folder):
    namespace = {"learn": PREVIOUS}
    learner, release = held_background_run(folder, namespace)
    assert namespace["learn"] is learner                          # stored while it trains
    release()
    assert learner.wait(60) == "stopped"
    assert namespace["learn"] == PREVIOUS
    assert learner.put_back_note == f"No epoch finished, so `learn` holds its previous value again: '{PREVIOUS}'."


def test_a_value_assigned_while_a_background_run_goes_on_is_left_alone(folder):
    namespace = {"learn": PREVIOUS}
    learner, release = held_background_run(folder, namespace)
    namespace["learn"] = "the user's own"
    release()
    assert learner.wait(60) == "stopped" and namespace["learn"] == "the user's own"
