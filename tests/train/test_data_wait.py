"""Where training time goes: the Trainer times each step's wait for data vs compute, and the views say
so in one sentence when the steps mostly wait. Also each fit's peak memory, in the events, run log and
summary.

No wall-clock assertions: a loader that sleeps per batch waits for data nearly all the time and an
in-memory one nearly never, whatever the machine's speed; the exact sums are checked on a fake clock.
"""
import io
import time

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from jupyter_dl.dashboard.progress import ProgressView
from jupyter_dl.train import EPOCH_END, FIT_END, FIT_START, EventRecorder, RunLog, Trainer, list_runs, read_run
from jupyter_dl.train.timing import (
    DATA_WAIT_MIN_STEPS,
    DATA_WAIT_WARN_SHARE,
    DataTiming,
    HostStepTimer,
    data_wait_advice,
    describe_loader,
)

N_ITEMS, BS = 24, 1  # 24 steps per epoch: more than DATA_WAIT_MIN_STEPS in one epoch
DELAY = 0.03         # seconds of "decoding" per batch: far more than a step of the tiny model


class Points(Dataset):
    """Two separable blobs; ``delay`` seconds of "decoding" per item."""

    def __init__(self, n=N_ITEMS, delay=0.0):
        g = torch.Generator().manual_seed(0)
        self.y = torch.arange(n) % 2
        self.x = torch.randn(n, 16, generator=g) + self.y[:, None] * 3.0
        self.delay = delay

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        return self.x[i], self.y[i]


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))


def slow_loader():
    return DataLoader(Points(delay=DELAY), batch_size=BS, shuffle=True)


def fast_batches():
    data = Points()
    return [(data.x[i:i + BS], data.y[i:i + BS]) for i in range(0, N_ITEMS, BS)]


def valid_batches():
    data = Points(n=8)
    return [(data.x, data.y)]


# ----------------------------------------------------------------------------- the rule
def timing(share, steps=100):
    return DataTiming(data_wait_s=share * 10.0, compute_s=(1 - share) * 10.0, steps=steps)


def test_no_sentence_below_the_threshold_or_with_too_few_steps():
    assert data_wait_advice(timing(DATA_WAIT_WARN_SHARE - 0.01), device="cuda") is None
    assert data_wait_advice(timing(0.9, steps=DATA_WAIT_MIN_STEPS - 1), device="cuda") is None
    assert data_wait_advice(DataTiming(), device="cuda") is None
    assert data_wait_advice(None) is None


def test_the_sentence_names_the_device_the_share_and_fixes_this_run_can_use():
    gpu = data_wait_advice(timing(0.46), device="cuda:0", loader="dataloader", workers=2, cpu_count=16)
    assert gpu.startswith("The GPU waited for data 46% of the time: ")
    assert "--workers 4; now 2" in gpu and "resize cache" in gpu and "smaller --size" in gpu
    assert gpu.count(".") == 1 and gpu.endswith(".")  # one sentence
    cpu = data_wait_advice(timing(0.8), device="cpu", loader="dataloader", workers=0, cpu_count=4)
    assert cpu.startswith("The model waited for data 80% of the time") and "--workers 4; now 0" in cpu
    # Every core already loads data: more workers would not help, so it is not suggested.
    busy = data_wait_advice(timing(0.8), device="cuda", loader="dataloader", workers=8, cpu_count=8)
    assert "--workers" not in busy and "smaller --size" in busy
    # jupyter_dl's resize cache: workers only decode once; a smaller size or lighter augmentation helps.
    cache = data_wait_advice(timing(0.5), device="cuda", loader="cache")
    assert "--workers" not in cache and "--size" in cache and "--aug none" in cache
    fastai = data_wait_advice(timing(0.5), device="mps", loader="fastai", workers=0, cpu_count=8)
    assert fastai.startswith("The GPU (MPS)") and "num_workers=8" in fastai and "--size" not in fastai


def test_loaders_are_recognised_without_importing_the_data_layer():
    assert describe_loader(DataLoader(Points(), batch_size=4, num_workers=0)) == ("dataloader", 0)

    class Wrapped:  # jupyter_dl's TransformedLoader keeps its DataLoader in .loader
        loader = DataLoader(Points(), batch_size=4, num_workers=1)

    class Cached:  # jupyter_dl's resize cache: a uint8 pixels tensor
        pixels = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)

    assert describe_loader(Wrapped()) == ("dataloader", 1)
    assert describe_loader(Cached()) == ("cache", None)
    assert describe_loader(fast_batches()) == ("other", None)


def test_host_timer_splits_each_step_into_wait_and_compute():
    now = [0.0]
    timer = HostStepTimer(clock=lambda: now[0])
    timer.start_fit()
    timer.start_epoch()
    for wait, compute in [(0.5, 0.25), (1.0, 0.25)]:
        now[0] += wait
        timer.batch_ready()
        now[0] += compute
        timer.step_done()
    assert timer.fit() == DataTiming(1.5, 0.5, 2)         # the running epoch is already counted
    epoch = timer.end_epoch()
    assert epoch == DataTiming(1.5, 0.5, 2) and epoch.share == 0.75
    assert epoch.record() == {"data_wait_s": 1.5, "compute_s": 0.5, "data_wait_share": 0.75}
    timer.start_epoch()
    now[0] += 2.0
    timer.batch_ready()
    timer.step_done()
    assert timer.fit() == DataTiming(3.5, 0.5, 3)
    timer.start_fit()
    assert timer.fit() == DataTiming()


# ----------------------------------------------------------------------------- the Trainer
def fit(train, *subscribers, epochs=1):
    trainer = Trainer(mlp())
    for subscriber in subscribers:
        trainer.bus.subscribe(subscriber)
    trainer.fit_one_cycle(train, valid_batches(), epochs, 1e-3)
    return trainer


def test_a_loader_that_sleeps_makes_the_steps_wait_and_the_text_view_says_so():
    stream, rec = io.StringIO(), EventRecorder()
    view = ProgressView(total_epochs=1, kernel=False, stream=stream)
    trainer = fit(slow_loader(), view, rec)
    view.close("finished")
    record = trainer.history[0]
    assert record["data_wait_share"] > 0.5 and record["data_wait_s"] > record["compute_s"]
    assert trainer.data_timing().steps == N_ITEMS // BS
    start, end = rec.of(FIT_START)[0], rec.of(FIT_END)[0]
    assert (start["loader"], start["loader_workers"]) == ("dataloader", 0)
    assert end["data_wait_s"] == record["data_wait_s"] and end["data_wait_share"] == record["data_wait_share"]
    out = stream.getvalue()
    sentences = [line for line in out.splitlines() if "waited for data" in line]
    assert len(sentences) == 1                                      # said once, not at every draw
    assert sentences[0].startswith("The model waited for data") and "--workers" in sentences[0]
    assert "data_wait" not in out and "compute_s" not in out        # the timings are not table columns


def test_an_in_memory_loader_gets_no_sentence():
    stream = io.StringIO()
    view = ProgressView(total_epochs=2, kernel=False, stream=stream)
    trainer = fit(fast_batches(), view, epochs=2)
    view.close("finished")
    assert all(r["data_wait_share"] < DATA_WAIT_WARN_SHARE for r in trainer.history)
    assert "waited for data" not in stream.getvalue()


def test_the_kernel_display_shows_the_sentence_in_html_and_text(monkeypatch):
    shown = []

    class Handle:
        def update(self, bundle, raw):
            shown.append(bundle)

    monkeypatch.setattr("IPython.display.display", lambda bundle, raw, display_id: shown.append(bundle) or Handle())
    view = ProgressView(total_epochs=1, kernel=True)
    fit(slow_loader(), view)
    view.close("finished")
    last = shown[-1]
    assert "class='jdl-advice'>The model waited for data" in last["text/html"]
    assert "The model waited for data" in last["text/plain"]


def test_the_dashboard_shows_the_sentence_live_and_keeps_it_after_the_run():
    pytest.importorskip("ipywidgets")
    pytest.importorskip("plotly")
    from jupyter_dl.dashboard.widget import Dashboard

    seen = []
    view = Dashboard(total_epochs=1, title="slow", show=False, monitor=False, min_interval=0.0)
    trainer = fit(slow_loader(), view, lambda e: seen.append(view.advice) if e.kind == EPOCH_END else None)
    assert seen[0] and seen[0].startswith("The model waited for data")     # while training
    assert "jdl-advice" in view.resources.value
    assert "data_wait" not in view.table.value and view.plot.metric_names == ["accuracy"]  # not a column, not a metric
    view.close("finished", "Finished 1 epochs.")
    _, result = view.static_bundles()
    assert "class='jdl-advice'" in result["text/html"] and "waited for data" in result["text/plain"]
    assert trainer.history[0]["data_wait_share"] > 0.5

    calm = Dashboard(total_epochs=1, title="fast", show=False, monitor=False, min_interval=0.0)
    fit(fast_batches(), calm)
    calm.close("finished")
    assert calm.advice is None and "jdl-advice" not in calm.static_bundles()[1]["text/html"]


def test_the_sentence_covers_the_whole_run_across_fits():
    stream = io.StringIO()
    view = ProgressView(total_epochs=2, kernel=False, stream=stream)
    trainer = Trainer(mlp())
    trainer.bus.subscribe(view)
    slow = fast_batches()[: DATA_WAIT_MIN_STEPS // 2 + 1]  # too few steps in each fit alone...

    class Sleepy:
        def __len__(self):
            return len(slow)

        def __iter__(self):
            for batch in slow:
                time.sleep(DELAY)
                yield batch

    trainer.fit_one_cycle(Sleepy(), valid_batches(), 1, 1e-3, phase="frozen")
    assert "waited for data" not in stream.getvalue()
    trainer.fit_one_cycle(Sleepy(), valid_batches(), 1, 1e-3, phase="unfrozen")  # ...but enough together
    view.close("finished")
    assert "The model waited for data" in stream.getvalue()


# ----------------------------------------------------------------------------- the run log and peak memory
def test_timings_and_peak_memory_are_in_the_run_log(tmp_path):
    log = RunLog.start({"arch": "mlp"}, name_hint="slow", root=tmp_path)
    trainer = fit(slow_loader(), log, epochs=2)
    log.close()
    run = read_run(log.run_dir)
    assert [e["data_wait_share"] > 0.5 for e in run["epochs"]] == [True, True]
    end = next(e for e in run["events"] if e["event"] == "fit_end")
    assert end["peak_memory_kind"] == "process_rss" and end["peak_memory"] > 10 * 2 ** 20  # torch alone is more
    assert end["peak_memory"] == trainer.peak_memory["peak_memory"]
    listed = list_runs(tmp_path)[0]
    assert listed["data_wait_share"] > 0.5 and listed["peak_memory"] == end["peak_memory"]


def test_the_summary_reports_the_peak_and_the_finetune_view_the_data_wait(shell, tiny, capsys):
    pytest.importorskip("PIL")

    class SlowImages(Dataset):
        classes = ["dark", "light"]

        def __len__(self):
            return 40

        def __getitem__(self, i):
            time.sleep(0.05)  # a batch of two waits 0.1 s; a step of the tiny CNN takes a few ms
            return torch.full((3, 16, 16), 0.1 if i % 2 else 0.9), i % 2

    shell.user_ns["slow"] = SlowImages()
    shell.run_line_magic("finetune", f"{tiny} slow --size 16 --bs 2 --epochs 1 --freeze-epochs 1 --workers 0")
    out = capsys.readouterr().out
    learn = shell.user_ns["learn"]
    assert learn.trainer.peak_memory["peak_memory_kind"] == "process_rss"
    assert "Peak RAM " in out and "(the most this process has held so far)" in out
    advice = [line for line in out.splitlines() if "waited for data" in line]
    assert len(advice) == 1 and "--workers" in advice[0] and "now 0" in advice[0]
    assert "data_wait" not in out                                   # not in the table nor in "Last epoch"


# ----------------------------------------------------------------------------- on a CUDA GPU (skipped here)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class OnDevice:
    """Batches already on the GPU; each fetch first sleeps ``delay`` seconds on the host."""

    def __init__(self, x, y, n, delay):
        self.x, self.y, self.n, self.delay = x, y, n, delay

    def __len__(self):
        return self.n

    def __iter__(self):
        for _ in range(self.n):
            if self.delay:
                time.sleep(self.delay)
            yield self.x, self.y


def wide_mlp(width, depth=6):
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 2))


@pytest.mark.gpu
@cuda
def test_on_cuda_a_busy_gpu_is_not_waiting_while_the_host_fetches():
    """Host fetches that overlap queued GPU work are not waiting: the GPU's own clock decides."""
    width, steps = 4096, 30
    x = torch.randn(16384, width, device="cuda")
    y = torch.randint(0, 2, (16384,), device="cuda")
    trainer = Trainer(wide_mlp(width), device="cuda")
    trainer.fit_one_cycle(OnDevice(x, y, 3, 0.0), None, 1, 1e-4)              # warm-up (kernels, allocator)
    started = time.perf_counter()
    trainer.fit_one_cycle(OnDevice(x, y, steps, 0.0), None, 1, 1e-4)
    torch.cuda.synchronize()
    step = (time.perf_counter() - started) / steps                            # the GPU's time per step
    # A host fetch of a third of a GPU step: the host still runs ahead, the GPU never idles.
    trainer.fit_one_cycle(OnDevice(x, y, steps, step / 3), None, 1, 1e-4)
    busy = trainer.history[-1]
    assert busy["data_wait_share"] < DATA_WAIT_WARN_SHARE, (busy, step)
    # Fetches five times longer than a step: the GPU idles most of the time.
    trainer.fit_one_cycle(OnDevice(x, y, 10, step * 5), None, 1, 1e-4)
    starved = trainer.history[-1]
    assert starved["data_wait_share"] > 0.6, (starved, step)
    assert trainer.data_timing().steps == 10


@pytest.mark.gpu
@cuda
def test_on_cuda_the_peak_is_torchs_allocated_peak_of_the_fit():
    rec = EventRecorder()
    trainer = Trainer(wide_mlp(256, depth=2), device="cuda")
    trainer.bus.subscribe(rec)
    block = torch.empty(2 * 1024 ** 3, dtype=torch.uint8, device="cuda")      # held before the fit: counted
    del block                                                                  # freed: the fit resets the peak
    x, y = torch.randn(64, 256, device="cuda"), torch.randint(0, 2, (64,), device="cuda")
    trainer.fit_one_cycle(OnDevice(x, y, 5, 0.0), None, 1, 1e-3)
    end = rec.of(FIT_END)[0]
    assert end["peak_memory_kind"] == "cuda_allocated"
    assert 0 < end["peak_memory"] < 1024 ** 3 <= end["memory_total"]          # the 2 GiB block is not this fit's
    assert trainer.peak_memory == {k: end[k] for k in ("peak_memory", "peak_memory_kind", "memory_total")}
