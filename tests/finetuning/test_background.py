"""--background: the cell returns at once, the learner trains in a thread, stop() and wait() work."""
import threading

import pytest
from tinynet import TinyNet

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.train import events as ev


def gated_learner(folder):
    """A learner whose training pauses at its first batch until the test opens the gate."""
    learn = jupyter_dl.finetuning.build_learner(folder, TinyNet(), size=16, bs=2)
    reached, gate = threading.Event(), threading.Event()

    def hold_first_batch(event):
        if event.kind == ev.BATCH_END and not reached.is_set():
            reached.set()
            gate.wait(30)

    learn.trainer.bus.subscribe(hold_first_batch)
    return learn, reached, gate


def test_background_run_returns_at_once_and_wait_gives_the_status(folder):
    learn, reached, gate = gated_learner(folder)
    assert learn.fine_tune(epochs=2, freeze_epochs=1, quiet=True, background=True) == "running"
    assert reached.wait(30) and learn.status == "running" and learn.running
    gate.set()
    assert learn.wait(60) == "finished"
    assert len(learn.history) == 3 and not learn.running


def test_stop_ends_a_background_run_at_a_batch_boundary(folder):
    learn, reached, gate = gated_learner(folder)
    learn.fine_tune(epochs=5, freeze_epochs=0, quiet=True, background=True)
    assert reached.wait(30)
    learn.stop()
    gate.set()
    assert learn.wait(60) == "stopped"
    assert len(learn.history) < 5 and learn.stopped_at == "epoch 1, batch 1"


def test_a_second_run_or_predict_while_training_is_a_clear_error(folder):
    learn, reached, gate = gated_learner(folder)
    learn.fine_tune(epochs=1, freeze_epochs=0, quiet=True, background=True)
    assert reached.wait(30)
    try:
        with pytest.raises(UserInputError, match="already training"):
            learn.fit(1, quiet=True)
        with pytest.raises(UserInputError, match="wait()"):
            learn.predict(next((folder / "cat").iterdir()))
    finally:
        gate.set()
    assert learn.wait(60) == "finished"
    assert learn.predict(next((folder / "cat").iterdir()))[0] in learn.classes


def test_background_magic_stores_the_learner_and_returns(shell, folder, tiny):
    shell.run_line_magic("finetune", f"{tiny} {folder} --size 16 --bs 4 --epochs 1 --background --quiet")
    learn = shell.user_ns["learn"]
    assert learn.wait(60) == "finished" and len(learn.history) == 2


def test_a_failing_background_run_keeps_the_error(folder):
    learn = jupyter_dl.finetuning.build_learner(folder, TinyNet(), size=16, bs=2)

    def broken_fit(*args, **kwargs):
        raise RuntimeError("boom")

    learn.trainer.fit_one_cycle = broken_fit
    learn.fit(1, quiet=True, background=True)
    assert learn.wait(30) == "failed" and isinstance(learn.error, RuntimeError)
