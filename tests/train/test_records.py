"""One rule for "is a metric better when higher" and "which epoch is best", and everyone uses it.

Before the rule lived in one module, the dashboard marked the lowest perplexity as best and %runs the
highest. Here a run whose first metric is perplexity is judged by every place that judges runs.
"""
import math

import pytest
import torch
from torch import nn

from jupyter_dl.dashboard.summary import summary_line
from jupyter_dl.history.summaries import summarize_run
from jupyter_dl.history.views import compare_text
from jupyter_dl.train.best_weights import BestWeights, monitor_for
from jupyter_dl.train.metrics import METRICS
from jupyter_dl.train.records import find_best, higher_is_better, is_better, monitored_column
from jupyter_dl.train.runlog import RunLog

# perplexity falls from epoch 1 to its lowest at epoch 2, then rises: the best is epoch 2
ROWS = [{"epoch": 1, "phase": "train", "train_loss": 3.0, "valid_loss": 2.0, "perplexity": 7.4, "seconds": 1.0},
        {"epoch": 2, "phase": "train", "train_loss": 2.0, "valid_loss": 1.5, "perplexity": 4.5, "seconds": 1.0},
        {"epoch": 3, "phase": "train", "train_loss": 1.0, "valid_loss": 1.8, "perplexity": 6.0, "seconds": 1.0}]


@pytest.mark.parametrize("column, higher", [
    ("accuracy", True), ("f1", True), ("top5_accuracy", True), ("valid_accuracy", True),
    ("error_rate", False), ("valid_loss", False), ("train_loss", False), ("perplexity", False),
    ("mae", False), ("valid_rmse", False), ("mse", False), ("wer", False),
])
def test_the_direction_of_a_column(column, higher):
    assert higher_is_better(column) is higher


def test_every_metric_the_trainer_knows_has_the_direction_people_expect():
    assert {name: higher_is_better(name) for name in METRICS} == {"accuracy": True, "error_rate": False, "f1": True}
    assert monitor_for(("error_rate",)) == ("error_rate", False) and monitor_for(()) == ("valid_loss", False)


def test_best_is_the_first_strict_improvement_and_never_a_nan():
    assert not is_better(math.nan, None, True) and not is_better(None, None, True) and is_better(1, None, False)
    rows = [{"epoch": 1, "accuracy": 0.5}, {"epoch": 2, "accuracy": math.nan}, {"epoch": 3, "accuracy": 0.9},
            {"epoch": 4, "accuracy": 0.9}]
    assert find_best(rows) == ("accuracy", 3, 0.9)                  # ties keep the earliest
    assert monitored_column([{"epoch": 1, "valid_loss": 1.0, "seconds": 2.0}]) == "valid_loss"
    assert find_best([]) is None and find_best([{"epoch": 1, "accuracy": None}]) is None


def test_perplexity_is_judged_the_same_everywhere(tmp_path):
    assert monitored_column(ROWS) == "perplexity" and find_best(ROWS).epoch == 2

    # the best-weights tracker keeps epoch 2's weights
    tracker, model = BestWeights(*monitor_for(("perplexity",))), nn.Linear(1, 1)
    for row in ROWS:
        with torch.no_grad():
            model.weight.fill_(row["epoch"])
        tracker.update(row, model)
    assert tracker.epoch == 2 and float(tracker.state["weight"]) == 2.0

    # the summary line of the fastai bridge and live()
    assert "Best perplexity 4.5000 at epoch 2." in summary_line("finished", ROWS)

    # %runs (a log without checkpoints: worked out from the epochs) and compare_runs' numbers
    log = RunLog(tmp_path / "run")
    log.write("config", data="text", arch="lm", call="fit", epochs=3)
    for row in ROWS:
        log.write("epoch_end", **row)
    log.write("fit_end", status="finished")
    log.close()
    run = summarize_run(tmp_path / "run")
    assert (run["metric"], run["best"], run["best_epoch"]) == ("perplexity", 4.5, 2)
    assert compare_text([run], "perplexity").endswith("best 4.5000 at epoch 2")

    # the live dashboard's table marks epoch 2
    pytest.importorskip("ipywidgets")
    from jupyter_dl.dashboard.widget import Dashboard
    from jupyter_dl.train import events as ev

    view = Dashboard(show=False, monitor=False)
    for row in ROWS:
        view(ev.Event(ev.EPOCH_END, dict(row)))
    assert view.best_epoch() == 2
    view.close("finished")
