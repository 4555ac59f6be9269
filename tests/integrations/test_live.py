"""jupyter_dl.live(): the live view for a hand-written loop."""
from __future__ import annotations

import os
import signal
import warnings

import pytest
import torch

from jupyter_dl.errors import UserInputError
from jupyter_dl.integrations.loop import live
from jupyter_dl.train.events import BATCH_END


def test_a_loop_logs_steps_and_epochs(views):
    losses = torch.tensor([4.0, 2.0, 3.0, 1.0, 1.0, 2.0])
    with live(total_steps=6, epochs=2, title="mine") as run:
        for epoch in range(2):
            for i in range(3):
                run.log(loss=losses[epoch * 3 + i], lr=0.1 * (i + 1), bs=8)
                assert not run.should_stop
            record = run.log_epoch(valid_loss=torch.tensor(0.5) + epoch, accuracy=0.75)
        assert record["epoch"] == 2 and run.status == "running"

    view = views[0]
    assert view.options["total_epochs"] == 2 and view.options["title"] == "mine"
    assert view.options["mode"] == "foreground"
    assert view.kinds() == ["fit_start"] + (["epoch_start"] + [BATCH_END] * 3 + ["epoch_end"]) * 2 + ["fit_end"]
    assert view.of("fit_start")[0]["n_batches"] == 3
    batches = view.of(BATCH_END)
    assert [(b["epoch"], b["batch"], b["step"]) for b in batches] == [
        (1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 4), (2, 2, 5), (2, 3, 6)]
    assert batches[-1]["lr"] == pytest.approx(0.3) and batches[-1]["bs"] == 8
    assert run.history == [
        {"epoch": 1, "phase": "train", "train_loss": 3.0, "valid_loss": 0.5, "accuracy": 0.75,
         "seconds": run.history[0]["seconds"], "lr": pytest.approx(0.3)},
        {"epoch": 2, "phase": "train", "train_loss": pytest.approx(4 / 3), "valid_loss": 1.5, "accuracy": 0.75,
         "seconds": run.history[1]["seconds"], "lr": pytest.approx(0.3)},
    ]
    assert run.status == "finished" and view.closed[0][0] == "finished"
    assert "Finished 2 epochs" in view.closed[0][1]
    # The loss source the view reads when it draws.
    steps, raw, smooth = run.loss_points(4)
    assert steps == [5, 6] and raw == [1.0, 2.0] and len(smooth) == 2
    assert run.running_loss() == pytest.approx(smooth[-1])


def test_given_steps_are_the_x_axis_and_per_epoch_indexes_keep_counting(views):
    with live(quiet=True) as run:
        for step in (10, 20, 30):
            run.log(step, loss=float(step))
        run.log_epoch()
        for i in range(2):  # a batch index that restarts: taken as the next steps
            run.log(i, loss=1.0)
    assert run.loss_points(0)[0] == [10, 20, 30, 31, 32]
    assert run.loss_points(20) == ([30, 31, 32], [30.0, 1.0, 1.0], run.loss_points(20)[2])
    assert run.history[0]["train_loss"] == 20.0 and run.history[0]["valid_loss"] is None
    assert views == []  # quiet: no view


def test_stop_button_sets_should_stop(views):
    with live(total_steps=100) as run:
        for step in range(100):
            run.log(loss=1.0)
            if step == 4:
                views[0].options["on_stop"]("user")  # the dashboard's Stop
            if run.should_stop:
                break
    stop = views[0].of("stop")[0]
    assert (stop["reason"], stop["epoch"], stop["batch"]) == ("user", 1, 5)
    assert run.status == "stopped" and views[0].closed[0][0] == "stopped"
    assert views[0].of("fit_end")[0]["status"] == "stopped"

    # "Stop after this epoch" at the last epoch changes nothing: the run finished.
    with live(total_steps=4, epochs=2) as run:
        for epoch in range(2):
            run.log(loss=1.0)
            run.log(loss=1.0)
            run.log_epoch(valid_loss=1.0)
            if epoch == 1:
                views[1].options["on_stop"]("user")
            if run.should_stop:
                break
    assert run.status == "finished" and views[1].of("stop") == []


def test_kernel_interrupt_sets_should_stop_only_for_a_loop_that_checks_it(views):
    before = signal.getsignal(signal.SIGINT)
    with live(total_steps=10) as run:
        for step in range(10):
            run.log(loss=1.0)
            if step == 2:
                os.kill(os.getpid(), signal.SIGINT)
            if run.should_stop:
                break
    assert run.status == "interrupted" and run.stopped_at == "epoch 1, batch 3"
    assert signal.getsignal(signal.SIGINT) is before

    # A loop that never looks at should_stop gets the usual KeyboardInterrupt.
    with pytest.raises(KeyboardInterrupt), live(total_steps=10) as run:
        for step in range(10):
            run.log(loss=1.0)
            if step == 2:
                os.kill(os.getpid(), signal.SIGINT)
    assert run.status == "interrupted" and views[1].closed[0][0] == "interrupted"
    assert signal.getsignal(signal.SIGINT) is before


def test_an_error_in_the_loop_fails_the_run_and_propagates(views):
    with pytest.raises(ValueError, match="bad batch"), live(epochs=3) as run:
        run.log(loss=1.0)
        raise ValueError("bad batch")
    assert run.status == "failed"
    assert views[0].kinds()[-2:] == ["error", "fit_end"]
    assert "ValueError: bad batch" in views[0].closed[0][1]

    with pytest.raises(UserInputError, match="already been used"), run:
        pass
    with pytest.raises(UserInputError, match="inside"):
        live().log(loss=1.0)
    with pytest.raises(UserInputError, match="total_steps"):
        live(total_steps=0)


def test_the_real_view_is_used_when_not_replaced(capsys):
    with live(total_steps=4, epochs=2) as run:
        for _ in range(2):
            run.log(loss=torch.tensor(1.0))
            run.log(loss=torch.tensor(0.5))
            run.log_epoch(valid_loss=0.7)
    assert run.status == "finished" and len(run.history) == 2
    assert "0.7000" in capsys.readouterr().out  # the no-widget progress view printed the epoch table

    # Neither count known: the view copes (no warnings about a failing view).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with live() as run:
            for _ in range(3):
                run.log(loss=1.0)
            run.log_epoch()
            run.log(loss=1.0)
        with live(total_steps=3) as run:
            run.log(loss=1.0)
    assert run.status == "finished"


# ---------------------------------------------------------------- a real kernel's interrupt
def run_cell(km, kc, code: str, interrupt_on: str | None = None, timeout: float = 120) -> str:
    """Execute ``code`` in the kernel; interrupt it (as the ■ button does) once ``interrupt_on`` is printed."""
    msg_id = kc.execute(code)
    out: list[str] = []
    interrupted = False
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
            if interrupt_on and not interrupted and interrupt_on in "".join(out):
                km.interrupt_kernel()
                interrupted = True
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)


@pytest.fixture
def kernel(tmp_path):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_the_kernel_interrupt_ends_a_live_loop_cleanly(kernel):
    out = run_cell(*kernel, """
import signal, time
from jupyter_dl import live
before = signal.getsignal(signal.SIGINT)
with live(total_steps=100_000, title="slow loop") as run:
    run.bus.subscribe(lambda e: e.kind == "batch_end" and e["step"] == 3 and print("STARTED", flush=True))
    for step in range(100_000):
        time.sleep(0.005)
        run.log(loss=1.0)
        if run.should_stop:
            break
print("STATUS", run.status, signal.getsignal(signal.SIGINT) is before)
""", interrupt_on="STARTED")
    assert "STATUS interrupted True" in out and "KeyboardInterrupt" not in out
