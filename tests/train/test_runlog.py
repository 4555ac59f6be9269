"""The run log: JSON lines on disk that survive a crash and read back into the run's history."""
import json
import math
import re

import pytest
import torch
from torch import nn

from jupyter_dl.train import RunLog, Trainer, list_runs, read_run
from jupyter_dl.train.runlog import json_safe

torch.set_num_threads(1)


def tiny_run(log, epochs=2, fail=False):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(16) % 2
    x = torch.randn(16, 2, generator=g) + y[:, None] * 3.0
    batches = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 16, 8)]
    torch.manual_seed(0)
    loss_fn = (lambda out, y: (_ for _ in ()).throw(RuntimeError("boom"))) if fail else None
    trainer = Trainer(nn.Linear(2, 2), loss_fn=loss_fn)
    trainer.bus.subscribe(log)
    trainer.fit_one_cycle(batches, batches, epochs, 1e-2)
    return trainer


def test_round_trip(tmp_path):
    config = {"arch": "resnet18", "data": tmp_path / "pets", "epochs": 2, "lr": 1e-3}
    log = RunLog.start(config, "resnet18 pets/1", root=tmp_path / "runs")
    assert re.fullmatch(r"\d{8}-\d{6}-resnet18-pets-1", log.run_dir.name)
    trainer = tiny_run(log)
    log.close()
    run = read_run(log.run_dir)
    assert run["config"] == {"arch": "resnet18", "data": str(tmp_path / "pets"), "epochs": 2, "lr": 1e-3}
    assert run["epochs"] == trainer.history
    kinds = [e["event"] for e in run["events"]]
    assert [k for k in kinds if k != "checkpoint"] == ["config", "fit_start", "epoch_end", "epoch_end", "fit_end"]
    assert kinds[3] == "checkpoint"  # the first epoch is always a new best
    assert "batch_end" not in kinds
    assert run["events"][-1]["status"] == "finished" and "history" not in run["events"][-1]
    assert all(isinstance(e["time"], float) for e in run["events"])
    assert read_run(log.path) == run  # the folder or the file


def test_every_line_is_on_disk_before_close_and_a_torn_line_is_skipped(tmp_path):
    log = RunLog.start({"arch": "x"}, "crash", root=tmp_path)
    tiny_run(log, epochs=1)
    lines = log.path.read_text().splitlines()  # still open: flushed line by line
    assert all(json.loads(line)["event"] for line in lines) and len(lines) >= 4
    with open(log.path, "a") as f:
        f.write('{"event": "epoch_end", "epo')  # the kernel died mid-write
    run = read_run(log.run_dir)
    assert len(run["epochs"]) == 1
    log.close()


def test_errors_and_odd_values_are_logged_as_json(tmp_path):
    log = RunLog.start({"lr": float("nan"), "shape": torch.tensor([3, 224])}, "err", root=tmp_path)
    with pytest.raises(RuntimeError):
        tiny_run(log, fail=True)
    log.close()
    run = read_run(log.run_dir)
    assert run["config"] == {"lr": None, "shape": [3, 224]}
    error = next(e for e in run["events"] if e["event"] == "error")
    assert "boom" in error["error"] and "boom" in error["message"]
    assert run["events"][-1]["status"] == "failed"
    assert json_safe({"a": (1, math.inf), "b": RuntimeError("x")}) == {"a": [1, None], "b": "RuntimeError: x"}


def test_list_runs_oldest_first_with_status(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DL_RUNS", str(tmp_path / "myruns"))
    first = RunLog.start({"n": 1}, "a")
    tiny_run(first, epochs=1)
    first.close()
    second = RunLog.start({"n": 2}, "a")  # same second: gets its own folder
    second.close()
    assert first.run_dir.parent == tmp_path / "myruns" and first.run_dir != second.run_dir
    runs = list_runs()
    assert [r["config"]["n"] for r in runs] == [1, 2]
    assert (runs[0]["status"], runs[0]["n_epochs"]) == ("finished", 1)
    assert runs[0]["last"]["epoch"] == 1
    assert (runs[1]["status"], runs[1]["last"]) == ("incomplete", None)
    assert list_runs(tmp_path / "missing") == []
