"""finetune(..., resume=RUN): a run goes on from its folder's saved state as if it had never stopped;
a resume that cannot work says what differs in one sentence and changes nothing."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
import torch
from imagegen import make_image_folder
from IPython.core.error import UsageError
from tinynet import TinyNet

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.finetuning import build_learner
from jupyter_dl.train import events as ev
from jupyter_dl.train.runlog import RunLog, read_run

ARCH = "test_resnet"
OPTIONS = dict(pretrained=False, size=16, bs=4, seed=3)


def stop_at(learn, epoch: int, batch: int = 2) -> None:
    def stop(event):
        if event.kind == ev.BATCH_END and event["epoch"] == epoch and event["batch"] == batch:
            learn.stop()

    learn.trainer.bus.subscribe(stop)


def record_lrs(learn) -> list:
    seen: list = []
    learn.trainer.bus.subscribe(lambda e: seen.append((e["epoch"], e["lrs"])) if e.kind == ev.BATCH_END else None)
    return seen


def stopped_run(folder, epoch: int = 3, **options) -> Path:
    """The folder of a fine_tune run (1 frozen + 3 unfrozen epochs) stopped during ``epoch``."""
    learn = build_learner(folder, options.pop("arch", ARCH), **{**OPTIONS, **options})
    stop_at(learn, epoch)
    assert learn.fine_tune(epochs=3, freeze_epochs=1, quiet=True) == "stopped"
    return learn.run_dir


@pytest.mark.parametrize("stopped_in", [2, 3, 4], ids=["after-the-frozen-phase", "unfrozen-epoch-2", "last-epoch"])
def test_a_resumed_run_ends_exactly_as_if_it_had_never_stopped(folder, stopped_in):
    reference = build_learner(folder, ARCH, **OPTIONS)
    reference.fine_tune(epochs=3, freeze_epochs=1, quiet=True)

    run_dir = stopped_run(folder, stopped_in)
    namespace = {"learn": "before"}
    resumed = jupyter_dl.finetune(folder, resume=run_dir.name, quiet=True, namespace=namespace)
    assert resumed.status == "finished" and namespace["learn"] is resumed and resumed.run_dir == run_dir
    # the epochs done are not trained again; the history is the whole run's
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    for mine, theirs in zip(resumed.history, reference.history):
        assert mine["train_loss"] == theirs["train_loss"] and mine["valid_loss"] == theirs["valid_loss"]
    # same weights, optimizer state, schedule position and random streams: the same model, bit for bit
    for key, value in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], value), key
    assert resumed.trainer.best_epoch == reference.trainer.best_epoch
    # one folder for the whole run: its log counts each epoch once and says where it went on
    log = read_run(run_dir)
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3, 4]
    assert [e["epoch"] for e in log["events"] if e["event"] == "resume"] == [stopped_in - 1]
    summary = jupyter_dl.runs(show=False)[0]
    assert (summary["status"], summary["epochs"], summary["resumable"]) == ("finished", 4, False)
    assert not (run_dir / "resume.pt").exists() and (run_dir / "model.jdl").exists()


def test_the_schedule_goes_on_at_the_learning_rate_it_had(folder, monkeypatch):
    from jupyter_dl.finetuning.learner import Learner

    reference = build_learner(folder, ARCH, **OPTIONS)
    reference_lrs = record_lrs(reference)
    reference.fine_tune(epochs=3, freeze_epochs=1, quiet=True)
    run_dir = stopped_run(folder, 3)
    seen: list = []
    original = Learner.fine_tune

    def fine_tune_recording(self, *args, **kwargs):
        seen.extend([] if seen else [record_lrs(self)])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Learner, "fine_tune", fine_tune_recording)
    jupyter_dl.finetune(folder, resume=run_dir, quiet=True)
    assert seen[0] == [(epoch, lrs) for epoch, lrs in reference_lrs if epoch >= 3]


def test_a_fit_run_resumes_too(folder):
    learn = build_learner(folder, ARCH, **OPTIONS)
    stop_at(learn, 2)
    assert learn.fit(3, lr=1e-3, quiet=True) == "stopped"
    resumed = jupyter_dl.finetune(folder, resume=learn.run_dir, quiet=True)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3] and resumed.status == "finished"
    assert {r["phase"] for r in resumed.history} == {"unfrozen"}
    assert resumed.config["lr"] == 1e-3


def test_a_smaller_batch_and_this_machines_settings_apply_to_the_resumed_run(folder):
    run_dir = stopped_run(folder, 3)
    resumed = jupyter_dl.finetune(folder, resume=run_dir, bs=2, workers=0, quiet=True)
    assert resumed.batch_size == 2 and len(resumed.history) == 4
    assert resumed.size == 16  # the run's own, though size was left at its default


def test_a_run_on_your_own_module_resumes_with_a_fresh_instance(folder):
    run_dir = stopped_run(folder, 2, arch=TinyNet())
    with pytest.raises(UserInputError, match="trained your own nn.Module \\(TinyNet\\): pass a fresh TinyNet"):
        jupyter_dl.finetune(folder, resume=run_dir, quiet=True)
    resumed = jupyter_dl.finetune(folder, TinyNet(), resume=run_dir, quiet=True)
    assert len(resumed.history) == 4


def test_the_dashboard_of_a_resumed_run_shows_the_whole_history(folder, monkeypatch):
    from jupyter_dl.dashboard import views
    from jupyter_dl.dashboard.progress import ProgressView

    made: list = []

    def recording_view(**options):
        made.append(ProgressView(total_epochs=options["total_epochs"], kernel=False, stream=io.StringIO()))
        return made[-1]

    run_dir = stopped_run(folder, 3)
    monkeypatch.setattr(views, "make_training_view", recording_view)
    jupyter_dl.finetune(folder, resume=run_dir)
    view = made[-1]
    assert view.state.total_epochs == 4
    assert [row["epoch"] for row in view.state.rows] == [1, 2, 3, 4]


def test_the_live_plot_of_a_resumed_run_starts_with_the_past_epochs(folder, monkeypatch):
    from IPython import display

    from jupyter_dl.dashboard import views
    from jupyter_dl.dashboard.widget import Dashboard

    monkeypatch.setattr(display, "display", lambda *a, **k: None)
    made: list = []

    def dashboard(**options):
        made.append(Dashboard(total_epochs=options["total_epochs"], title="t", show=False, monitor=False))
        return made[-1]

    run_dir = stopped_run(folder, 3)
    monkeypatch.setattr(views, "make_training_view", dashboard)
    resumed = jupyter_dl.finetune(folder, resume=run_dir)
    plot = made[-1].plot
    assert [p["epoch"] for p in plot.epochs] == [1, 2, 3, 4]
    xs = [p["x"] for p in plot.epochs]
    assert xs == sorted(xs) and len(set(xs)) == 4               # each epoch at its own step, in order
    steps = plot.loss.columns()[0]
    assert steps[0] == 1 and steps[-1] == resumed.trainer.global_step  # the loss curve from the first step on


# ----------------------------------------------------------------------------- a resume that cannot work
@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """(data, run folder) of one run stopped in its third epoch, shared by the tests that must leave it as it is."""
    root = tmp_path_factory.mktemp("stopped")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_DL_RUNS", str(root / "runs"))
        patch.setenv("JUPYTER_DL_CACHE", str(root / "cache"))
        data = make_image_folder(root / "pets", classes={"cat": 8, "dog": 8}, size=16)
        return data, stopped_run(data, 3)


def folder_state(*roots: Path) -> dict:
    """Every file under ``roots`` with its size and modification time: to see that nothing changed."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for root in roots for p in sorted(root.rglob("*"))
            if p.is_file()}


def refused(data, message: str, **call) -> str:
    """finetune(data, **call) fails with one sentence holding ``message``, and changes nothing."""
    resume = Path(str(call["resume"]))
    roots = [Path(os.environ["JUPYTER_DL_RUNS"])] + ([resume.parent] if resume.is_dir() else [])
    for root in roots:
        root.mkdir(parents=True, exist_ok=True)
    namespace = {"learn": "trained an hour ago"}
    before = folder_state(*roots)
    with pytest.raises(UserInputError) as error:
        jupyter_dl.finetune(data, quiet=True, namespace=namespace, **call)
    text = str(error.value)
    assert message in text, text
    assert "\n" not in text and ". " not in text, "one sentence"
    assert folder_state(*roots) == before, "no new run folder, no file touched"
    assert namespace == {"learn": "trained an hour ago"}
    return text


def test_a_missing_run(stopped):
    data, _ = stopped
    RunLog.start({"call": "fine_tune"}, name_hint="test_resnet-pets").close()
    refused(data, "No run matches 'test_resnet-pest'", resume="test_resnet-pest")


def test_changed_classes(stopped, tmp_path):
    _, run_dir = stopped
    birds = make_image_folder(tmp_path / "birds", classes={"cat": 4, "dog": 4, "owl": 4}, size=16)
    refused(birds, f"Run {run_dir.name} was trained on 2 classes (cat, dog), but this data has 3 (cat, dog, owl)",
            resume=run_dir)


def test_another_architecture(stopped):
    data, run_dir = stopped
    refused(data, f"Run {run_dir.name} trained test_resnet, not test_efficientnet", arch="test_efficientnet",
            resume=run_dir)
    refused(data, "trained test_resnet, not TinyNet", arch=TinyNet(), resume=run_dir)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("size", 32, "was started with --size 16, not 32"),
    ("epochs", 5, "was started with --epochs 3, not 5"),
    ("lr", "find", "was started with --lr 0.01, not find"),
    ("metrics", ["f1"], "was started with --metrics accuracy, not f1"),
    ("train_bn", False, "trained the BatchNorm layers while frozen"),
    ("weights", "w.pth", "leave --weights out"),
])
def test_an_option_that_would_change_the_run(stopped, option, value, message):
    data, run_dir = stopped
    refused(data, message, resume=run_dir, **{option: value})


def test_a_damaged_state_file(folder):
    run_dir = stopped_run(folder, 3)
    (run_dir / "resume.pt").write_bytes(b"not a state")
    refused(folder, "cannot be read", resume=run_dir)


def test_a_finished_run_has_nothing_to_resume(folder):
    learn = jupyter_dl.finetune(folder, ARCH, epochs=1, freeze_epochs=1, quiet=True, **OPTIONS)
    refused(folder, f"Run {learn.run_dir.name} finished all its epochs, so there is nothing to resume: "
                    f"load its model with load_learner(", resume=learn.run_dir)


def test_a_run_stopped_in_its_first_epoch_has_no_state(folder):
    run_dir = stopped_run(folder, 1)
    refused(folder, "ended before its first epoch finished", resume=run_dir)


def test_a_run_without_a_saved_state(folder):
    log = RunLog.start({"call": "fine_tune", "arch": "resnet18", "epochs": 3}, name_hint="older")
    log.write("epoch_end", epoch=1, phase="frozen", train_loss=1.0, valid_loss=1.0)
    log.close()
    refused(folder, f"Run {log.run_dir.name} has no saved training state", resume=log.run_dir.name)


def test_resume_works_through_the_shell_api_with_a_run_path(shell, folder):
    run_dir = stopped_run(folder, 3)
    learner = jupyter_dl.finetune(str(folder), resume=str(run_dir), quiet=True, namespace=shell.user_ns,
                                  learner_name="pets")
    assert shell.user_ns["pets"] is learner and len(learner.history) == 4
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert lines[0]["event"] == "config" and lines[0]["call"] == "fine_tune"


def test_the_finetune_magic_resumes_a_run_by_name(shell, folder):
    run_dir = stopped_run(folder, 3)
    shell.run_line_magic("finetune", f"'{folder}' --resume {run_dir.name} --quiet --as pets")
    learner = shell.user_ns["pets"]
    assert learner.run_dir == run_dir and len(learner.history) == 4
    with pytest.raises(UsageError, match=f"Run {run_dir.name} finished all its epochs"):
        shell.run_line_magic("finetune", f"'{folder}' --resume {run_dir.name} --quiet")
