"""The fastai bridge: a fastai Learner shown by jupyter_dl's view (fastai takes seconds to import: few tests)."""
from __future__ import annotations

import os
import signal

import pytest
import torch
from torch import nn

pytest.importorskip("fastai")

import fastai.callback.schedule  # noqa: F401  (fine_tune, fit_one_cycle)
from fastai.callback.progress import CSVLogger, ProgressCallback
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
from fastai.torch_core import params

from jupyter_dl.fastai import LiveDashboard
from jupyter_dl.train.events import BATCH_END, EventRecorder

N_BATCHES = 6  # 48 training items, bs 8


@pytest.fixture
def progress_calls(monkeypatch):
    """Counts calls into fastai's progress bar (it must stay out of the fits we show)."""
    calls = []
    for name in ("before_fit", "before_train", "after_batch", "after_fit"):
        original = getattr(ProgressCallback, name)

        def spy(self, _name=name, _original=original):
            calls.append(_name)
            return _original(self)

        monkeypatch.setattr(ProgressCallback, name, spy)
    return calls


def tiny_learner(fail_at: int | None = None, **options) -> Learner:
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    items = list(zip(x, y))
    train = torch.utils.data.DataLoader(items[:48], batch_size=8, shuffle=True)
    valid = torch.utils.data.DataLoader(items[48:], batch_size=8)
    model = nn.Sequential(nn.Sequential(nn.Linear(4, 16), nn.ReLU()), nn.Linear(16, 2))
    if fail_at is not None:
        calls = {"n": 0}

        def forward_hook(module, inputs):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise RuntimeError("boom in the model")

        model.register_forward_pre_hook(forward_hook)
    # Two parameter groups (body, head), so fine_tune really freezes the body.
    return Learner(DataLoaders(train, valid, device="cpu"), model, loss_func=nn.CrossEntropyLoss(),
                   metrics=accuracy, splitter=lambda m: [params(m[0]), params(m[1])], **options)


def test_fine_tune_events_history_and_no_fastai_bar(views, progress_calls, capsys, tmp_path):
    learn = tiny_learner()
    cb = LiveDashboard(title="tiny")
    recorder = cb.bus.subscribe(EventRecorder())
    learn.fine_tune(2, cbs=[cb, CSVLogger(fname=tmp_path / "history.csv")])

    kinds = [k for k in recorder.kinds() if k != BATCH_END]
    assert kinds == ["fit_start", "epoch_start", "epoch_end", "fit_end",
                     "fit_start"] + ["epoch_start", "epoch_end"] * 2 + ["fit_end"]
    starts = recorder.of("fit_start")
    assert [e["phase"] for e in starts] == ["frozen", "unfrozen"]
    assert starts[0]["n_batches"] == N_BATCHES and starts[1]["total_steps"] == 2 * N_BATCHES
    batches = recorder.of(BATCH_END)
    assert len(batches) == 3 * N_BATCHES
    assert [b["batch"] for b in batches[:N_BATCHES]] == list(range(1, N_BATCHES + 1))
    assert batches[-1]["step"] == 2 * N_BATCHES and batches[-1]["epoch"] == 3 and batches[-1]["bs"] == 8
    assert all(b.source is batches[0].source for b in batches)  # one loss source for the run

    # fastai's recorder values and metric names, epochs counted over the run
    assert [r["epoch"] for r in cb.history] == [1, 2, 3]
    assert [r["phase"] for r in cb.history] == ["frozen", "unfrozen", "unfrozen"]
    assert set(cb.history[0]) >= {"train_loss", "valid_loss", "accuracy", "seconds", "lr"}
    assert cb.history[-1]["valid_loss"] == pytest.approx(float(learn.recorder.values[-1][1]))
    assert cb.status == "finished"

    # The loss source: every training batch's loss, read in one go.
    steps, raw, smooth = batches[0].source.loss_points(0)
    assert steps == list(range(1, 3 * N_BATCHES + 1)) and len(raw) == len(smooth) == 3 * N_BATCHES
    assert cb.loss_points(3 * N_BATCHES - 2)[0] == [3 * N_BATCHES - 1, 3 * N_BATCHES]

    # One view for the whole fine_tune, told how many epochs, closed once with the final status.
    assert len(views) == 1
    view = views[0]
    assert view.options["total_epochs"] == 3 and view.options["title"] == "tiny"
    assert view.options["mode"] == "foreground" and callable(view.options["on_stop"])
    assert view.kinds() == recorder.kinds()
    assert view.closed == [("finished", view.closed[0][1])] and "Finished 3 epochs" in view.closed[0][1]

    # fastai's progress bar and printed table stayed out, and are back for later fits;
    # a logger another callback wrapped (CSVLogger) still got every row.
    assert progress_calls == []
    assert capsys.readouterr().out == ""
    assert any(isinstance(c, ProgressCallback) for c in learn.cbs)
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 1 + 2  # the last fit: header + 2 rows
    learn.logger(["logged"])
    assert capsys.readouterr().out == "['logged']\n"


def test_stop_from_the_view_cancels_the_rest_of_fine_tune(views):
    learn = tiny_learner()
    cb = LiveDashboard()
    recorder = cb.bus.subscribe(EventRecorder())

    def press_stop(event):
        if event.kind == BATCH_END and event["batch"] == 2:
            views[0].options["on_stop"]("user")  # what the dashboard's Stop does

    cb.bus.subscribe(press_stop)
    learn.fine_tune(2, cbs=cb)

    stops = recorder.of("stop")
    assert len(stops) == 1 and (stops[0]["reason"], stops[0]["epoch"], stops[0]["batch"]) == ("user", 1, 2)
    assert len(recorder.of(BATCH_END)) == 2              # stopped at the next batch boundary
    assert len(recorder.of("fit_start")) == 1            # the unfrozen fit never started
    assert recorder.of("fit_end")[0]["status"] == "stopped"
    assert cb.history == [] and cb.status == "stopped"
    assert views[0].closed[0][0] == "stopped" and "Stopped at epoch 1, batch 2" in views[0].closed[0][1]
    assert learn.recorder.values == []                   # fastai saw a cancelled fit too
    assert any(isinstance(c, ProgressCallback) for c in learn.cbs)

    # The next call is a new run: it trains again.
    learn.fit_one_cycle(1, cbs=cb)
    assert cb.status == "finished" and len(cb.history) == 1 and len(views) == 2


def test_stop_after_this_epoch_between_the_fits_of_fine_tune(views):
    learn = tiny_learner()
    cb = LiveDashboard()
    recorder = cb.bus.subscribe(EventRecorder())

    def stop_after_epoch(event):  # what the dashboard does with "stop after this epoch" checked
        if event.kind == "epoch_end":
            views[0].options["on_stop"]("user")

    cb.bus.subscribe(stop_after_epoch)
    learn.fine_tune(2, cbs=cb)
    assert [r["phase"] for r in cb.history] == ["frozen"] and cb.status == "stopped"
    assert [e["phase"] for e in recorder.of("fit_start")] == ["frozen"]  # no unfrozen fit announced
    stop = recorder.of("stop")[0]
    assert (stop["epoch"], stop["batch"]) == (2, 0)
    assert [e["status"] for e in recorder.of("fit_end")] == ["finished", "stopped"]
    assert views[0].closed[0][0] == "stopped" and len(recorder.of(BATCH_END)) == N_BATCHES


def test_kernel_interrupt_stops_the_fit_cleanly(views):
    learn = tiny_learner()
    cb = LiveDashboard()
    recorder = cb.bus.subscribe(EventRecorder())
    before = signal.getsignal(signal.SIGINT)

    def interrupt(event):
        if event.kind == BATCH_END and event["epoch"] == 2 and event["batch"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # what the kernel's interrupt (and foreground Stop) sends

    cb.bus.subscribe(interrupt)
    learn.fit_one_cycle(3, cbs=cb)

    stop = recorder.of("stop")[0]
    assert (stop["reason"], stop["epoch"], stop["batch"]) == ("interrupted", 2, 3)
    assert recorder.of("fit_end")[0]["status"] == "interrupted" and cb.status == "interrupted"
    assert len(cb.history) == 1
    assert signal.getsignal(signal.SIGINT) is before


def test_an_error_in_the_fit_fails_the_view_and_restores_everything(views, tmp_path):
    learn = tiny_learner(fail_at=N_BATCHES + 2 + 1)  # 6 train + 2 valid forwards, then epoch 2's first batch
    cb = LiveDashboard()
    recorder = cb.bus.subscribe(EventRecorder())
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(RuntimeError, match="boom"):
        learn.fit_one_cycle(2, cbs=cb)
    assert recorder.kinds()[-2:] == ["error", "fit_end"] and recorder.of("fit_end")[0]["status"] == "failed"
    assert "boom in the model" in recorder.of("error")[0]["message"]
    assert views[0].closed[0][0] == "failed" and "boom" in views[0].closed[0][1]
    assert signal.getsignal(signal.SIGINT) is before
    assert any(isinstance(c, ProgressCallback) for c in learn.cbs) and learn.logger is print

    # A callback the learner keeps: the failed run is closed when the next one starts;
    # lr_find is not a run.
    keeper = LiveDashboard()
    learn = tiny_learner(fail_at=2, cbs=keeper, path=tmp_path)  # lr_find saves a model under path
    with pytest.raises(RuntimeError):
        learn.fit(1)
    learn.fit(1)
    assert [v.closed[0][0] for v in views[1:]] == ["failed", "finished"]
    assert keeper.status == "finished" and len(keeper.history) == 1
    assert signal.getsignal(signal.SIGINT) is before
    learn.lr_find(num_it=5, show_plot=False)
    assert len(views) == 3


@pytest.mark.slow
def test_the_kernel_interrupt_ends_fine_tune_cleanly(tmp_path):
    from jupyter_client.manager import start_new_kernel
    from test_live import run_cell

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        out = run_cell(km, kc, """
import signal, time, warnings
warnings.filterwarnings("ignore")
import torch
from torch import nn
import fastai.callback.schedule
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.torch_core import params
from jupyter_dl.fastai import LiveDashboard

class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Linear(4, 16), nn.Linear(16, 2)
    def forward(self, x):
        time.sleep(0.01)
        return self.head(torch.relu(self.body(x)))

x = torch.randn(640, 4)
items = list(zip(x, (x[:, 0] > 0).long()))
dls = DataLoaders(torch.utils.data.DataLoader(items[:512], batch_size=8),
                  torch.utils.data.DataLoader(items[512:], batch_size=8), device="cpu")
learn = Learner(dls, Slow(), loss_func=nn.CrossEntropyLoss(), splitter=lambda m: [params(m.body), params(m.head)])
cb = LiveDashboard()
cb.bus.subscribe(lambda e: e.kind == "batch_end" and e["step"] == 3 and print("STARTED", flush=True))
before = signal.getsignal(signal.SIGINT)
learn.fine_tune(3, cbs=cb)
print("STATUS", cb.status, len(cb.history), signal.getsignal(signal.SIGINT) is before,
      any(type(c).__name__ == "ProgressCallback" for c in learn.cbs))
""", interrupt_on="STARTED")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "STATUS interrupted 0 True True" in out and "KeyboardInterrupt" not in out
