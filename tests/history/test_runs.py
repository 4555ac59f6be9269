"""%runs: listing and comparing past runs from their logs (written here with RunLog directly, no training)."""
import json

import pytest

import jupyter_dl
from jupyter_dl.errors import UserInputError
from jupyter_dl.history import api as runs_module
from jupyter_dl.history.api import compare_runs, runs
from jupyter_dl.history.summaries import summarize_run
from jupyter_dl.train.records import higher_is_better
from jupyter_dl.train.runlog import RunLog

T0 = 1_700_000_000.0


def write_run(root, name, *, start=T0, valid=(1.0, 0.8, 0.9), train=(1.2, 0.9, 0.7), accuracy=(0.5, 0.7, 0.6),
              freeze_epochs=1, end="finished", planned=None, metrics=("accuracy",), data="/data/pets", arch="resnet18",
              checkpoints=True, extra_lines=()):
    """A fine_tune-shaped log as the Learner writes it: config, then per phase fit_start / epoch_end /
    checkpoint / fit_end (frozen for ``freeze_epochs`` epochs, then unfrozen). ``end`` is the last fit's
    status, or None for a run whose log stops after its last epoch."""
    n = len(valid)
    epochs = planned if planned is not None else n
    log = RunLog(root / name)
    monitor = metrics[0] if metrics else "valid_loss"
    log.write("config", time=start, data=data, arch=arch, metrics=list(metrics), call="fine_tune",
              epochs=epochs - freeze_epochs, freeze_epochs=freeze_epochs, lr=1e-2)
    t, best = start, None
    phases = [("frozen", range(freeze_epochs)), ("unfrozen", range(freeze_epochs, n))] if freeze_epochs else \
        [("unfrozen", range(n))]
    for p, (phase, idx) in enumerate(phases):
        if not len(idx):
            continue
        t += 1
        log.write("fit_start", time=t, phase=phase, epochs=len(idx), monitor=monitor)
        for i in idx:
            t += 10
            record = {"epoch": i + 1, "phase": phase, "train_loss": train[i], "valid_loss": valid[i],
                      "seconds": 10.0, "lr": 1e-3}
            if "accuracy" in metrics:
                record["accuracy"] = accuracy[i]
            log.write("epoch_end", time=t, **record)
            value = record[monitor]
            if checkpoints and value is not None and (best is None or (value > best if higher_is_better(monitor)
                                                                       else value < best)):
                best = value
                log.write("checkpoint", time=t, epoch=i + 1, monitor=monitor, value=value, phase=phase)
        last_phase = p == len(phases) - 1
        if not last_phase:
            log.write("fit_end", time=t, phase=phase, status="finished", monitor=monitor)
        elif end is not None:
            if end in ("stopped", "interrupted"):
                log.write("stop", time=t, reason="user" if end == "stopped" else "interrupted", epoch=n + 1, batch=3)
            if end == "failed":
                log.write("error", time=t, message="RuntimeError: CUDA out of memory. Tried to allocate 2 GiB")
            log.write("fit_end", time=t + 1, phase=phase, status=end, monitor=monitor)
    log.close()
    with open(log.path, "a") as f:
        f.writelines(extra_lines)
    return root / name


@pytest.fixture
def root(tmp_path):
    return tmp_path / "runs"


def test_lists_newest_first_with_the_columns_and_returns_dicts(root, capsys):
    write_run(root, "20231114-221320-resnet18-pets", start=T0)
    write_run(root, "20231114-231320-resnet34-pets", start=T0 + 3600, arch="resnet34", valid=(0.9, 0.5, 0.4))
    found = runs(root=root)
    assert [r["name"] for r in found] == ["20231114-231320-resnet34-pets", "20231114-221320-resnet18-pets"]
    old = found[1]
    assert (old["arch"], old["data"], old["epochs"], old["planned_epochs"], old["status"]) == \
        ("resnet18", "/data/pets", 3, 3, "finished")
    # the best of the monitored metric (the first metric), as the trainer's checkpoints kept it
    assert (old["metric"], old["best"], old["best_epoch"]) == ("accuracy", 0.7, 2)
    assert old["seconds"] == pytest.approx(33.0)  # first line to last line
    assert old["history"][2]["valid_loss"] == 0.9 and old["config"]["lr"] == 1e-2
    assert isinstance(found, list) and all(isinstance(r, dict) for r in found)

    out = capsys.readouterr().out  # not in a kernel: the table as text
    lines = out.splitlines()
    assert lines[0] == f"2 runs in {root} (newest first)"
    assert lines[1].split() == ["name", "date", "data", "arch", "epochs", "best", "time", "status", "model"]
    assert lines[2].startswith("20231114-231320-resnet34-pets") and "accuracy 0.7000 (epoch 2)" in lines[3]
    assert "00:33" in lines[3] and lines[3].rstrip().endswith("finished") and old["date"] in lines[3]


def test_default_root_is_runs_dir_and_an_empty_root_says_so(root, monkeypatch, capsys):
    monkeypatch.setenv("JUPYTER_DL_RUNS", str(root))
    assert runs() == [] and "No runs in" in capsys.readouterr().out  # the folder does not even exist yet
    write_run(root, "20231114-221320-a")
    assert [r["name"] for r in runs(show=False)] == ["20231114-221320-a"]
    assert capsys.readouterr().out == ""


def test_unfinished_stopped_and_failed_runs_list_with_their_status(root):
    write_run(root, "a-finished", start=T0)
    write_run(root, "b-stopped", start=T0 + 1, end="stopped", planned=5)
    write_run(root, "c-interrupted", start=T0 + 2, end="interrupted", planned=5)
    write_run(root, "d-failed", start=T0 + 3, end="failed", planned=4)
    write_run(root, "e-running", start=T0 + 4, end=None)  # no fit_end: still running, or the kernel died
    # the frozen phase finished, then the kernel died before the unfrozen phase logged anything
    write_run(root, "f-between-phases", start=T0 + 5, valid=(1.0,), train=(1.0,), accuracy=(0.5,), planned=3)
    found = {r["name"]: r for r in runs(root=root, show=False)}
    assert {n: r["status"] for n, r in found.items()} == {
        "a-finished": "finished", "b-stopped": "stopped", "c-interrupted": "interrupted", "d-failed": "failed",
        "e-running": "incomplete", "f-between-phases": "incomplete"}
    assert found["b-stopped"]["stopped_at"] == "epoch 4, batch 3"
    assert found["d-failed"]["error"].startswith("RuntimeError: CUDA out of memory")
    assert found["e-running"]["epochs"] == 3 and found["e-running"]["best"] == 0.7
    assert (found["f-between-phases"]["epochs"], found["f-between-phases"]["planned_epochs"]) == (1, 3)

    from jupyter_dl.history.views import cells, runs_table_text

    assert cells(found["b-stopped"])["epochs"] == "3/5"
    assert cells(found["b-stopped"])["status"] == "stopped at epoch 4, batch 3"
    assert cells(found["d-failed"])["status"].startswith("failed: RuntimeError: CUDA out of memory")
    assert "incomplete" in runs_table_text([found["e-running"]], root)


def test_the_table_and_the_dicts_say_which_runs_have_a_model_and_which_can_resume(root, capsys):
    finished = write_run(root, "20231114-221320-resnet18-pets", start=T0)
    stopped = write_run(root, "20231114-231320-resnet18-pets", start=T0 + 3600, end="stopped", planned=5)
    old = write_run(root, "20231114-235320-resnet18-pets", start=T0 + 7200, end="interrupted", planned=5)
    for run in (finished, stopped):
        (run / "model.jdl").write_bytes(b"weights")
    (stopped / "resume.pt").write_bytes(b"state")
    found = {r["name"]: r for r in runs(root=root)}
    assert (found[finished.name]["model"], found[finished.name]["resumable"]) == (finished / "model.jdl", False)
    assert (found[stopped.name]["model"], found[stopped.name]["resumable"]) == (stopped / "model.jdl", True)
    assert (found[old.name]["model"], found[old.name]["resumable"]) == (None, False)
    rows = {line.split()[0]: line.split("  ")[-1].strip() for line in capsys.readouterr().out.splitlines()[2:]}
    assert (rows[stopped.name], rows[finished.name]) == ("saved, resumable", "saved")
    assert rows[old.name].endswith("batch 3")                                   # no model: the cell is empty


def test_a_log_torn_by_a_crash_mid_write_still_reads(root):
    write_run(root, "torn", end=None, extra_lines=['{"event": "epoch_end", "time": 1700000099.0, "epo'])
    write_run(root, "binary", start=T0 + 10, extra_lines=())
    with open(root / "binary" / "log.jsonl", "ab") as f:
        f.write(b"\xff\xfe garbage that is not utf-8\n")
    (root / "empty").mkdir()
    (root / "empty" / "log.jsonl").write_text("")  # the kernel died before the config line
    (root / "not-a-run").mkdir()  # no log: not listed
    found = {r["name"]: r for r in runs(root=root, show=False)}
    assert set(found) == {"torn", "binary", "empty"}
    assert (found["torn"]["epochs"], found["torn"]["status"]) == (3, "incomplete")
    assert found["binary"]["status"] == "unreadable" and "UnicodeDecodeError" in found["binary"]["error"]
    assert found["empty"]["status"] == "incomplete" and found["empty"]["epochs"] == 0
    assert found["empty"]["started"] is not None  # the folder's time, so it still sorts


def test_best_without_checkpoints_follows_the_metric_direction_and_metric_picks_the_column(root):
    write_run(root, "r", checkpoints=False, metrics=())  # e.g. a log from a loop that kept no checkpoints
    run = summarize_run(root / "r")
    assert (run["metric"], run["best"], run["best_epoch"]) == ("valid_loss", 0.8, 2)
    write_run(root, "s", checkpoints=False)
    assert summarize_run(root / "s")["best"] == 0.7  # accuracy: higher is better
    chosen = runs("s", root=root, metric="train_loss", show=False)
    assert (chosen[0]["metric"], chosen[0]["best"], chosen[0]["best_epoch"]) == ("train_loss", 0.7, 3)
    assert higher_is_better("f1") and not higher_is_better("error_rate") and not higher_is_better("valid_loss")


def test_names_match_exactly_then_by_unique_prefix_then_by_unique_part(root):
    write_run(root, "20231114-221320-resnet18-pets", start=T0)
    write_run(root, "20231114-221320-resnet18-pets-2", start=T0 + 1)
    write_run(root, "20231115-101010-vit-flowers", start=T0 + 2)
    def pick(*names, **kw):
        return [r["name"] for r in runs(*names, root=root, show=False, **kw)]
    assert pick("20231114-221320-resnet18-pets") == ["20231114-221320-resnet18-pets"]  # exact beats prefix
    assert pick("20231115") == ["20231115-101010-vit-flowers"]  # prefix
    assert pick("VIT") == ["20231115-101010-vit-flowers"]  # part of it, any case
    assert pick("pets-2", "vit", "pets-2") == ["20231114-221320-resnet18-pets-2", "20231115-101010-vit-flowers"]
    assert pick(str(root / "20231115-101010-vit-flowers")) == ["20231115-101010-vit-flowers"]  # a path
    assert pick(last=2) == ["20231115-101010-vit-flowers", "20231114-221320-resnet18-pets-2"]

    with pytest.raises(UserInputError) as err:
        runs("resnet18", root=root, show=False)
    message = str(err.value)
    assert "'resnet18' matches 2 runs" in message and "20231114-221320-resnet18-pets-2" in message
    assert "\n" not in message

    with pytest.raises(UserInputError) as err:
        runs("resnet81-pets", root=root, show=False)
    assert "No run matches 'resnet81-pets'" in str(err.value) and "20231114-221320-resnet18-pets" in str(err.value)

    with pytest.raises(UserInputError, match="no runs in"):
        runs("x", root=root / "nothing-here", show=False)
    with pytest.raises(UserInputError, match="last must be"):
        runs(root=root, last=0, show=False)


def test_compare_overlays_losses_one_colour_per_run(root, capsys):
    write_run(root, "20231114-221320-a", start=T0)
    write_run(root, "20231114-231320-b", start=T0 + 1, valid=(0.9, 0.6, 0.5, 0.45), train=(1.0, 0.8, 0.6, 0.5),
              accuracy=(0.6, 0.7, 0.8, 0.85))
    fig = compare_runs("a", "b", root=root)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [(t.name, t.line.dash) for t in lines] == [
        ("20231114-221320-a", "solid"), ("20231114-221320-a", "dash"),
        ("20231114-231320-b", "solid"), ("20231114-231320-b", "dash")]
    assert lines[0].line.color == lines[1].line.color != lines[2].line.color == lines[3].line.color
    assert list(lines[0].x) == [1, 2, 3] and list(lines[0].y) == [1.0, 0.8, 0.9]
    assert list(lines[3].x) == [1, 2, 3, 4] and list(lines[3].y) == [1.0, 0.8, 0.6, 0.5]
    assert [t.showlegend for t in lines] == [True, False, True, False]  # one legend entry per run
    stars = [t for t in fig.data if t.mode == "markers"]
    assert [(list(t.x), list(t.y)) for t in stars] == [([2], [0.8]), ([4], [0.45])]  # best valid loss per run
    assert "train loss (dashed)" in fig.layout.title.text
    out = capsys.readouterr().out  # not in a kernel: the numbers as text
    assert "20231114-231320-b  1:0.9000 2:0.6000 3:0.5000 4:0.4500  best 0.4500 at epoch 4" in out

    fig = compare_runs("a", "b", root=root, metric="accuracy", show=False)
    assert [list(t.y) for t in fig.data if t.mode == "lines+markers"] == [[0.5, 0.7, 0.6], [0.6, 0.7, 0.8, 0.85]]
    assert [list(t.y) for t in fig.data if t.mode == "markers"] == [[0.7], [0.85]]  # higher is better
    assert fig.layout.yaxis.title.text == "accuracy"


def test_compare_skips_runs_without_the_metric_and_rejects_unknown_metrics(root):
    write_run(root, "with-acc", start=T0)
    write_run(root, "no-acc", start=T0 + 1, metrics=())
    (root / "empty").mkdir()
    (root / "empty" / "log.jsonl").write_text("")
    fig = compare_runs("with-acc", "no-acc", "empty", root=root, metric="accuracy", show=False)
    assert [t.name for t in fig.data if t.mode == "lines+markers"] == ["with-acc"]
    assert "no accuracy logged for: no-acc, empty" in fig.layout.title.text
    with pytest.raises(UserInputError) as err:
        compare_runs("with-acc", root=root, metric="f1", show=False)
    assert "has 'f1'" in str(err.value) and "accuracy, lr, train_loss, valid_loss" in str(err.value)
    with pytest.raises(UserInputError, match="Name the runs to compare"):
        compare_runs(root=root)


def test_nan_values_logged_as_null_make_gaps(root):
    write_run(root, "nan", valid=(1.0, None, 0.5), checkpoints=False, metrics=())
    assert summarize_run(root / "nan")["best"] == 0.5
    fig = compare_runs("nan", root=root, show=False)
    assert list(fig.data[0].y) == [1.0, None, 0.5]


def test_in_a_kernel_the_table_and_figure_are_display_bundles(root, monkeypatch):
    write_run(root, "20231114-221320-a", data="<b>pets</b>")
    shown = []
    monkeypatch.setattr("jupyter_dl.ui.frontend.in_kernel", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append((obj, kw)))
    runs(root=root)
    (bundle, kw), = shown
    assert kw == {"raw": True} and set(bundle) == {"text/plain", "text/html"}
    assert "<table>" in bundle["text/html"] and "&lt;b&gt;pets&lt;/b&gt;" in bundle["text/html"]
    assert "<b>pets</b>" not in bundle["text/html"]
    shown.clear()
    fig = compare_runs("a", root=root)
    (bundle, kw), = shown
    assert kw == {"raw": True}
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html", "text/plain"}
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["y"] == list(fig.data[0].y)
    assert "cdn.plot.ly" in bundle["text/html"] and "valid_loss per epoch" in bundle["text/plain"]


def test_the_result_reprs_short_and_the_package_exports_runs(root, monkeypatch):
    from IPython.lib.pretty import pretty

    write_run(root, "20231114-221320-a")
    found = runs(root=root, show=False)
    assert pretty(found) == "<1 run: 20231114-221320-a>"  # Out[] after the table: one line, not every config
    monkeypatch.setenv("JUPYTER_DL_RUNS", str(root))
    assert jupyter_dl.runs(show=False) == found  # the package re-exports the function
    assert runs_module.compare_runs is compare_runs


def test_reading_runs_written_by_start(root):
    log = RunLog.start({"arch": "x", "data": "sample", "epochs": 2, "call": "fit"}, "x sample", root=root)
    log.write("fit_start", phase="unfrozen", epochs=2, monitor="valid_loss")
    log.write("epoch_end", epoch=1, phase="unfrozen", train_loss=1.0, valid_loss=0.9, seconds=1.0)
    log.close()
    (run,) = runs(root=root, show=False)
    assert run["name"] == log.run_dir.name and run["planned_epochs"] == 2 and run["status"] == "incomplete"
    assert json.loads(log.path.read_text().splitlines()[0])["event"] == "config"


def test_show_runs_is_what_the_magic_shows(root, capsys):
    from jupyter_dl.history.api import show_runs

    write_run(root, "20231114-221320-a", start=T0)
    write_run(root, "20231114-231320-b", start=T0 + 1)
    assert show_runs(root=root) is None
    out = capsys.readouterr().out
    assert out.startswith(f"2 runs in {root}") and "per epoch" not in out  # the list only
    show_runs(last=1, root=root, metric="accuracy")
    out = capsys.readouterr().out
    assert out.startswith(f"1 run in {root}") and "accuracy per epoch" in out and "20231114-221320-a" not in out
    with pytest.raises(UserInputError, match="has 'f1'"):
        show_runs("a", root=root, metric="f1")
    assert capsys.readouterr().out == ""  # checked before anything is shown


def test_runs_magic_lists_and_rejects_unknown_names(shell, root, capsys):
    from IPython.core.error import UsageError

    write_run(root, "20231114-221320-a")
    shell.run_line_magic("runs", f"--root {root}")
    assert "20231114-221320-a" in capsys.readouterr().out
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("runs", f"nosuchrun --root {root}")
    assert type(err.value) is UsageError and "nosuchrun" in str(err.value)
