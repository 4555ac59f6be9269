"""Every run folder keeps its best model and its state as the run goes: nothing trained is lost to a crash."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.finetuning import build_learner
from jupyter_dl.finetuning.export import read_export
from jupyter_dl.finetuning.run_files import BackgroundWriter, read_state
from jupyter_dl.train import events as ev
from jupyter_dl.train.runlog import RunLog

ARCH = "test_resnet"  # timm's tiny test network: rebuilt by name without a download, trains in a second
OPTIONS = dict(pretrained=False, size=16, bs=4, seed=0)


def stop_at(learn, epoch: int, batch: int = 2) -> None:
    """Stop ``learn``'s next run at ``batch`` of ``epoch`` (as the Stop button does)."""
    def stop(event):
        if event.kind == ev.BATCH_END and event["epoch"] == epoch and event["batch"] == batch:
            learn.stop()

    learn.trainer.bus.subscribe(stop)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def test_a_finished_run_keeps_its_best_model_and_load_learner_takes_the_run(folder):
    learn = jupyter_dl.finetune(folder, ARCH, epochs=2, freeze_epochs=1, quiet=True, **OPTIONS)
    run = learn.run_dir
    # resume.pt goes once the plan is done (nothing is left to resume); no temporary file is left behind
    assert sorted(p.name for p in run.iterdir()) == ["log.jsonl", "model.jdl"]
    images = sorted(folder.glob("*/*"))[:6]
    expected = learn.predict_batch(images)
    for where in (run, run / "model.jdl", run.name):            # the folder, its file, its name in %runs
        loaded = jupyter_dl.load_learner(where)
        assert loaded.classes == ["cat", "dog"] and loaded.size == 16
        assert [label for label, _ in loaded.predict_batch(images)] == [label for label, _ in expected]
        assert [p for _, p in loaded.predict_batch(images)] == pytest.approx([p for _, p in expected], abs=1e-5)
    meta, _ = read_export(run / "model.jdl")
    assert meta["best"] == {"monitor": "accuracy", "epoch": learn.trainer.best_epoch, "value": learn.trainer.best_value}


def test_a_stopped_run_keeps_the_best_weights_and_its_state_at_the_last_epoch_end(folder):
    learn = build_learner(folder, ARCH, **OPTIONS)
    stop_at(learn, epoch=3)
    assert learn.fine_tune(epochs=3, freeze_epochs=1, quiet=True) == "stopped"
    meta, weights = read_export(learn.run_dir / "model.jdl")
    assert meta["best"]["epoch"] == learn.trainer.best_epoch
    assert same_weights(weights, learn.trainer.best.state)
    state_meta, state = read_state(learn.run_dir / "resume.pt")
    assert len(state_meta["history"]) == 2 == len(learn.history)
    assert state_meta["position"] == {"phase": "unfrozen", "epochs": 3, "done": 1}
    assert state["optimizer"]["state"], "the optimizer's moments are saved"
    run = jupyter_dl.runs(show=False)[0]
    assert (run["model"], run["resumable"]) == (learn.run_dir / "model.jdl", True)


def test_before_any_validated_epoch_the_latest_weights_stand_in(folder):
    learn = build_learner(folder, ARCH, **OPTIONS)
    learn.trainer.best.monitor = "not_logged"  # as when every valid loss is NaN: no epoch can be judged
    assert learn.fit(1, quiet=True) == "finished"
    meta, weights = read_export(learn.run_dir / "model.jdl")
    assert meta["best"] is None and len(meta["history"]) == 1
    assert same_weights(weights, learn.model.state_dict())


def test_a_later_run_that_does_not_beat_the_best_still_keeps_the_best_in_its_folder(folder):
    learn = jupyter_dl.finetune(folder, ARCH, epochs=1, freeze_epochs=1, quiet=True, **OPTIONS)
    best = learn.trainer.best
    best.keep(best.epoch, 2.0, best.state)   # an accuracy no epoch can beat: the fit keeps no new best
    assert learn.fit(1, quiet=True) == "finished"
    meta, weights = read_export(learn.run_dir / "model.jdl")
    assert meta["best"]["epoch"] == best.epoch and same_weights(weights, best.state)


def test_checkpoints_false_writes_only_the_log(folder):
    learn = build_learner(folder, ARCH, **OPTIONS)
    learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True, checkpoints=False)
    assert [p.name for p in learn.run_dir.iterdir()] == ["log.jsonl"]
    assert jupyter_dl.runs(show=False)[0]["model"] is None


def test_a_failed_save_never_stops_training_and_the_summary_says_so(folder, monkeypatch, capsys):
    from jupyter_dl.finetuning import run_files

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_files, "write_export", full_disk)
    learn = build_learner(folder, ARCH, **OPTIONS)
    assert learn.fine_tune(epochs=1, freeze_epochs=1, quiet=True) == "finished"
    assert "could not keep the model (model.jdl: OSError" in capsys.readouterr().out
    assert not (learn.run_dir / "model.jdl").exists()


def test_load_learner_on_a_run_without_a_model_says_why(tmp_path):
    RunLog.start({"arch": "resnet18"}, name_hint="old", root=tmp_path).close()
    run = next(tmp_path.iterdir())
    with pytest.raises(UserInputError, match=f"Run {run.name} has no saved model"):
        jupyter_dl.load_learner(run)
    with pytest.raises(UserInputError, match="without a model.jdl"):
        jupyter_dl.load_learner(tmp_path)


KILLED_RUN = """
import sys, time
from jupyter_dl.finetuning import build_learner
from jupyter_dl.train import events as ev

learn = build_learner(sys.argv[1], "test_resnet", pretrained=False, size=16, bs=4, seed=0)

def hold(event):  # the run is killed while its third epoch trains
    if event.kind == ev.EPOCH_START and event["epoch"] == 3:
        print(learn.run_dir, flush=True)
        time.sleep(600)

learn.trainer.bus.subscribe(hold)
learn.fine_tune(epochs=3, freeze_epochs=1, quiet=True)
"""


def saved_epochs(state_file: Path) -> int:
    try:
        return len(read_state(state_file)[0]["history"])
    except (OSError, UserInputError):
        return 0  # not written yet


@pytest.mark.slow
def test_a_run_killed_mid_way_leaves_a_model_that_loads_and_a_state_that_resumes(folder):
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(folder)], stdout=subprocess.PIPE, text=True,
                               env=os.environ.copy())
    try:
        run_dir = Path(process.stdout.readline().strip())   # the third epoch has started
        deadline = time.monotonic() + 60
        while saved_epochs(run_dir / "resume.pt") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)   # the second epoch's files are written off the training thread
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL
    assert not list(run_dir.glob(".*.tmp")), "no half-written file"

    learn = jupyter_dl.load_learner(run_dir)
    assert learn.classes == ["cat", "dog"] and 1 <= len(learn.history) <= 2
    assert learn.predict(next((folder / "dog").iterdir()))[0] in learn.classes
    run = jupyter_dl.runs(show=False)[0]
    assert (run["status"], run["epochs"], run["resumable"]) == ("incomplete", 2, True)

    resumed = jupyter_dl.finetune(folder, resume=run_dir.name, quiet=True)
    assert resumed.status == "finished" and resumed.run_dir == run_dir
    assert [(r["epoch"], r["phase"]) for r in resumed.history] == \
        [(1, "frozen"), (2, "unfrozen"), (3, "unfrozen"), (4, "unfrozen")]
    run = jupyter_dl.runs(show=False)[0]
    assert (run["status"], run["epochs"], run["resumable"]) == ("finished", 4, False)
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines if line["event"] == "resume"] == [2]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_the_writer_thread_gives_training_the_cpu_first(tmp_path):
    import threading

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen = []
    writer = BackgroundWriter()
    writer.submit(tmp_path / "model.jdl", lambda: seen.append(nice()))
    writer.close()
    assert seen and seen[0] > nice()        # the writes run at a lower priority than training
