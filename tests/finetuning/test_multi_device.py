"""--devices cpu:2: two worker processes train one run that the kernel sees as its own.

Each test starts real processes (spawn, gloo) on the sample at 32 px with timm's 100k-parameter
``test_efficientnet`` from random weights, so a run takes seconds of training.
"""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.train.distributed.launch import WorkerGroup

# Real processes: slow (seconds each), and the training core is the same in the Colab-stack environment.
multi_process = pytest.mark.slow

TINY = dict(arch="test_efficientnet", pretrained=False, size=32, quiet=True)


def spawned_workers() -> list[psutil.Process]:
    """This process's worker processes (multiprocessing's spawned children, not its resource tracker)."""
    return [p for p in psutil.Process().children(recursive=True)
            if p.is_running() and "spawn_main" in " ".join(p.cmdline())]


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.1)


@multi_process
def test_two_cpu_processes_learn_as_one_does_and_end_with_the_same_weights():
    # One process with batches of 32, two with 16 each: the same global batch, steps and schedule.
    one = jupyter_dl.finetune("sample", epochs=2, freeze_epochs=0, bs=32, **TINY)
    two = jupyter_dl.finetune("sample", epochs=2, freeze_epochs=0, bs=16, devices="cpu:2", **TINY)
    assert one.history[-1]["accuracy"] > 0.6 and two.history[-1]["accuracy"] > 0.6  # both learnt
    assert abs(one.history[-1]["accuracy"] - two.history[-1]["accuracy"]) < 0.1    # alike, within noise
    assert two.ranks == {"processes": 2, "same_weights": True}
    assert [h["epoch"] for h in two.history] == [1, 2] and two.status == "finished"
    assert two.config["devices"] == "cpu:2"
    # The run folder holds the best model, as for one device; the learner predicts with the final weights.
    again = jupyter_dl.load_learner(two.run_dir)
    assert again.classes == two.classes
    digits = jupyter_dl.datasets.sample()
    label, _p, _probs = two.predict(next((digits / "3").iterdir()))
    assert label in two.classes
    wait_until(lambda: not spawned_workers(), 10, "the workers to be gone")


@multi_process
def test_stop_ends_every_rank_at_the_same_batch_and_keeps_the_best_weights():
    learn = jupyter_dl.finetune("sample", epochs=30, freeze_epochs=0, bs=16, devices="cpu:2", background=True, **TINY)
    wait_until(lambda: len(learn.history) >= 1, 120, "a first epoch")
    learn.stop()
    assert learn.wait(60) == "stopped"
    assert learn.stopped_at is not None and len(learn.history) < 30
    assert learn.ranks["same_weights"]  # ranks that stopped at different batches would differ (or hang)
    wait_until(lambda: not spawned_workers(), 10, "the workers to be gone")


@multi_process
def test_an_interrupt_that_reaches_the_workers_of_a_background_run_does_not_stop_it():
    """Jupyter signals the kernel's whole process group; a background run goes on, as one on one device does."""
    learn = jupyter_dl.finetune("sample", epochs=2, freeze_epochs=0, bs=16, devices="cpu:2", background=True, **TINY)
    wait_until(lambda: len(spawned_workers()) == 2, 60, "two workers")
    wait_until(lambda: len(learn.history) >= 1 or not learn.running, 120, "a first epoch")
    for worker in spawned_workers():
        worker.send_signal(signal.SIGINT)
    assert learn.wait(120) == "finished" and len(learn.history) == 2


@multi_process
def test_a_killed_worker_ends_the_run_within_seconds_with_one_sentence():
    learn = jupyter_dl.finetune("sample", epochs=30, freeze_epochs=0, bs=16, devices="cpu:2", background=True, **TINY)
    wait_until(lambda: len(learn.history) >= 1, 120, "a first epoch")
    victim = spawned_workers()[-1]
    victim.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    assert learn.wait(60) == "failed"
    assert time.monotonic() - killed_at < 20
    message = str(learn.error)
    assert isinstance(learn.error, UserInputError)
    assert f"(pid {victim.pid}) was killed by SIGKILL" in message
    assert "`learn` keeps the best epoch's weights so far (epoch 1)" in message or "keeps the best" in message
    wait_until(lambda: not spawned_workers(), 10, "the other worker to be ended")


@multi_process
def test_a_worker_that_raises_ends_the_job_with_its_message_and_leaves_no_process():
    from distributed_workers import raise_on_rank_1

    group = WorkerGroup(raise_on_rank_1, {"message": "rank 1 cannot go on"}, 2)
    pids = group.pids()
    try:
        deadline = time.monotonic() + 60
        while not group.poll():
            list(group.messages(timeout=0.1))
            assert time.monotonic() < deadline, "the job did not end"
        list(group.messages(timeout=0.5))
    finally:
        group.close()
    assert group.failed
    assert group.failure_message() == "Process 1 of 2 failed: ValueError: rank 1 cannot go on"
    wait_until(lambda: not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                               for pid in pids), 10, "both workers to be gone")


@multi_process
def test_a_last_message_larger_than_a_pipe_reaches_the_kernel_and_nothing_hangs():
    """Found with resnet18 (45 MB of weights): once every rank had returned, the launcher waited for the
    processes to exit, and rank 0's exit for the kernel to read its weights. Here the kernel reads
    nothing for the first seconds, so every rank returns first unless rank 0 waits for its hand-over."""
    import threading

    from distributed_workers import send_big_and_return

    group = WorkerGroup(send_big_and_return, {"bytes": 50_000_000}, 2)
    received: list = []

    def kernel_side():
        started = time.monotonic()
        while not group.poll():
            if time.monotonic() - started > 3:
                received.extend(group.messages(timeout=0.05))
            else:
                time.sleep(0.05)
        received.extend(group.messages(timeout=0.5))

    side = threading.Thread(target=kernel_side, daemon=True)
    side.start()
    side.join(60)
    hung = side.is_alive()
    group.close()
    assert not hung, "the launcher and rank 0 waited for each other"
    assert not group.failed
    assert [len(m[2]) for m in received if m[0] == "finished"] == [50_000_000]


SCRIPT = textwrap.dedent("""
    import jupyter_dl

    if __name__ == "__main__":
        learn = jupyter_dl.finetune("sample", "test_efficientnet", pretrained=False, size=32, epochs=30,
                                    freeze_epochs=0, bs=16, devices="cpu:2", quiet=True)
        print("STATUS", learn.status, len(learn.history), learn.ranks["same_weights"], flush=True)
""")


@multi_process
@pytest.mark.parametrize("to", ["the process group", "the kernel only"])
def test_an_interrupt_stops_both_ranks_cleanly(tmp_path, to):
    """Jupyter interrupts a kernel by signalling its process group (the workers too); some hosts only the kernel."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    runs = Path(os.environ["JUPYTER_DL_RUNS"])
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_until(lambda: any(runs.glob("*/model.jdl")) or process.poll() is not None, 180, "a first epoch")
        if to == "the process group":
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    status = [line for line in output.splitlines() if line.startswith("STATUS")]
    assert status and status[0].split()[1] == "interrupted" and status[0].endswith("True"), output

    def left() -> list[str]:
        found = []
        for p in psutil.process_iter():
            try:
                if _session_of(p.pid) == process.pid and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(" ".join(p.cmdline()))
            except psutil.Error:  # ended meanwhile
                pass
        return found

    wait_until(lambda: not left(), 10, f"the processes of the run to end: {left()}")


def _session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except OSError:
        return None


@pytest.mark.parametrize("data, says", [
    ("frame", "--devices trains in separate processes, which cannot see a DataFrame in this notebook: save it as "
              "a CSV file"),
])
def test_data_only_this_kernel_has_is_refused_before_anything_starts(shell, data, says):
    import pandas as pd
    from IPython.core.error import UsageError

    shell.user_ns["frame"] = pd.DataFrame({"path": ["a.png"], "label": ["cat"]})
    with pytest.raises(UsageError, match=says):
        shell.run_line_magic("finetune", f"{data} --devices cpu:2")
    assert not spawned_workers()


@pytest.mark.parametrize("line, says", [
    ("sample --devices cpu:0", "--devices cpu:0 asks for no process at all"),
    ("tiny sample --devices cpu:2", "cannot see a TinyNet object in this notebook: pass a timm or torchvision model "
                                    "name"),
    ("sample --devices cpu:2 --lr find", "--lr find runs the LR finder on one device: run %lr_find first"),
    ("sample --devices cpu:2 --auto-bs", "--auto-bs tries batch sizes on one device: pass --bs"),
    ("sample --devices cpu:2 --device cpu", "--device and --devices both say where to train: give only --devices"),
    ("sample --sync-bn", "--sync-bn synchronises BatchNorm over several GPUs: use it with --devices N."),
    ("sample --devices cpu:2 --sync-bn", "--sync-bn synchronises BatchNorm over GPUs (NCCL); --devices cpu:2 "
                                         "trains on the CPU: leave out --sync-bn."),
])
def test_options_that_do_not_go_with_devices_get_one_sentence(shell, tiny, line, says):
    from IPython.core.error import UsageError

    before = shell.user_ns.get("learn")
    with pytest.raises(UsageError, match=re.escape(says)):
        shell.run_line_magic("finetune", line)
    assert shell.user_ns.get("learn") is before  # nothing was stored
