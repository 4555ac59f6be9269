"""The dashboard's resource strip: numbers from a fake sampler, shown at draws; the sampler stops after the run.

The sampler is real (its thread, subscriptions, history); only its probe is fake, so a test knows the
numbers. Tests wait for the sampler's first reading (a condition, not a time) before they draw.
"""
import time

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")
pytest.importorskip("plotly")

from dashboard_fakes import Clock, Source  # noqa: E402

from jupyter_dl.dashboard.widget import Dashboard  # noqa: E402
from jupyter_dl.monitor import DeviceMemory, GpuReading, Reading, Sampler  # noqa: E402
from jupyter_dl.monitor import sampler as sampler_module  # noqa: E402
from jupyter_dl.train import events as ev  # noqa: E402

GB = 1024 ** 3


def gb(x):
    return int(x * GB)


def gpu_sample(util=87.0, used=11.2, peak=9.8, process=True):
    return Reading(time=time.time(), cpu_percent=35.0, ram_used=gb(6.1), ram_total=gb(31.3), process_rss=gb(2.0),
                  gpus=[GpuReading(index=0, name="Fake GPU 16GB", util_percent=util, memory_used=gb(used),
                                  memory_total=gb(16.0), temperature_c=60.0, power_w=200.0, power_limit_w=300.0,
                                  process_memory=gb(used - 1.0) if process else None)],
                  device_memory=DeviceMemory("cuda", gb(peak - 1.0), gb(peak + 0.5), gb(peak)))


def cpu_sample(cpu=45.0, rss=1.2):
    return Reading(time=time.time(), cpu_percent=cpu, ram_used=gb(5.0), ram_total=gb(16.0), process_rss=gb(rss),
                  gpus=[], gpu_error="no NVIDIA GPU: NVML says Driver Not Loaded")


class FakeProbe:
    """Plays the given samples in turn (the last one again when they run out)."""

    def __init__(self, samples):
        self.samples = list(samples)
        self.taken = 0

    def sample(self):
        sample = self.samples[min(self.taken, len(self.samples) - 1)]
        self.taken += 1
        return sample


def fake_sampler(*samples):
    probe = FakeProbe(samples)
    sampler = Sampler(probe_factory=lambda: probe)
    sampler.probe = probe
    return sampler


def wait_for(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def start_fit(view, source, device="cuda"):
    view(ev.Event(ev.FIT_START, dict(phase="unfrozen", epochs=1, n_batches=4, device=device), source))
    view(ev.Event(ev.EPOCH_START, dict(phase="unfrozen", epoch=1, epochs=1), source))


def batch(view, source, clock, n):
    source.log.append(1.0)
    clock.now += 1.0  # past the throttle: this batch draws
    view(ev.Event(ev.BATCH_END, dict(phase="unfrozen", epoch=1, batch=n, n_batches=4, bs=8, lr=1e-3), source))


def end_fit(view, source):
    view(ev.Event(ev.EPOCH_END, dict(epoch=1, phase="unfrozen", train_loss=0.5, valid_loss=0.4, seconds=1.0), source))
    view(ev.Event(ev.FIT_END, dict(phase="unfrozen", status="finished"), source))


def run(view, sampler, device="cuda", readings=1):
    """One fit; the first batch draws after the sampler's ``readings``-th reading. Returns the strip's text then."""
    clock, source = view._clock, Source()
    start_fit(view, source, device)
    assert sampler.running                                           # subscribed when the fit started
    wait_for(lambda: view.run_monitor.samples >= readings, "the sampler's reading")
    batch(view, source, clock, 1)
    live = view.resources.value
    batch(view, source, clock, 2)
    end_fit(view, source)
    return live


def make(sampler, **kw):
    return Dashboard(total_epochs=1, title="strip", show=False, clock=Clock(), monitor=sampler, **kw)


def test_gpu_strip_shows_util_memory_and_the_run_peak_then_the_sampler_stops():
    sampler = fake_sampler(gpu_sample())
    view = make(sampler)
    live = run(view, sampler)
    assert "class='jdl-monitor'" in live
    assert "GPU 0 · 87% · 11.2/16.0 GB · run peak 9.8 GB · CPU 35% · RAM 6.1/31.3 GB" in live
    assert "Fake GPU 16GB" in live                                   # the tooltip names the card
    assert not sampler.running                                       # nothing listens after the fit
    view.close("finished", "Finished 1 epochs.")
    _, result = view.static_bundles()
    expected = ("During the run: GPU 0 (Fake GPU 16GB) 87% busy on average, memory peak 9.8 GB of 16.0 GB "
                "(allocated by PyTorch); CPU 35% on average.")
    assert expected in result["text/plain"] and "class='jdl-monitor'" in result["text/html"]


def test_the_run_peak_is_the_largest_reading_not_the_latest():
    # The last reading is also the mean, so a further reading before the fit ends changes nothing.
    sampler = fake_sampler(gpu_sample(util=60.0, peak=3.0), gpu_sample(util=100.0, peak=12.0),
                           gpu_sample(util=80.0, peak=4.0))
    view = make(sampler)
    live = run(view, sampler, readings=3)
    assert "GPU 0 · 80% · " in live and "run peak 12.0 GB" in live
    view.close("finished")
    assert "80% busy on average, memory peak 12.0 GB" in view.static_bundles()[1]["text/plain"]


def test_without_a_gpu_the_strip_shows_cpu_ram_and_this_process():
    sampler = fake_sampler(cpu_sample(cpu=50.0, rss=1.5), cpu_sample(cpu=50.0, rss=1.2))
    view = make(sampler)
    live = run(view, sampler, device="cpu", readings=2)
    assert "CPU 50% · RAM 5.0/16.0 GB · this process 1.2 GB (run peak 1.5 GB)" in live
    assert "Driver Not Loaded" in live                               # the tooltip says why there is no GPU
    view.close("finished")
    assert ("During the run: CPU 50% busy on average, this process's RAM peaked at 1.5 GB of 16.0 GB."
            in view.static_bundles()[1]["text/plain"])


def test_training_on_the_cpu_of_a_gpu_machine_shows_the_cpu():
    sampler = fake_sampler(gpu_sample(process=False))
    view = make(sampler)
    live = run(view, sampler, device="cpu")
    assert "GPU" not in live and "CPU 35% · RAM 6.1/31.3 GB · this process 2.0 GB" in live


def test_mps_shows_torch_allocated_memory():
    mps = Reading(time=time.time(), cpu_percent=20.0, ram_used=gb(10.0), ram_total=gb(16.0), process_rss=gb(3.0),
                 gpus=[], gpu_error="nvidia-ml-py is not installed", device_memory=DeviceMemory("mps", gb(2.0)))
    sampler = fake_sampler(mps)
    view = make(sampler)
    live = run(view, sampler, device="mps")
    assert "MPS 2.0 GB allocated (run peak 2.0 GB) · CPU 20% · RAM 10.0/16.0 GB" in live


def test_cuda_without_nvml_falls_back_to_torchs_numbers():
    sample = Reading(time=time.time(), cpu_percent=10.0, ram_used=gb(4.0), ram_total=gb(8.0), process_rss=gb(1.0),
                    gpus=[], gpu_error="nvidia-ml-py is not installed",
                    device_memory=DeviceMemory("cuda", gb(3.2), gb(4.0), gb(3.5)))
    sampler = fake_sampler(sample)
    view = make(sampler)
    live = run(view, sampler, device="cuda")
    assert "GPU (PyTorch) 3.2 GB allocated · 4.0 GB reserved · run peak 3.5 GB · CPU 10%" in live


def test_the_default_is_the_process_sampler_and_it_stops_after_the_run(monkeypatch):
    sampler = fake_sampler(gpu_sample())
    monkeypatch.setattr(sampler_module, "_sampler", sampler)       # what get_sampler() hands out
    view = make(True)
    run(view, sampler)
    assert sampler.probe.taken >= 1 and not sampler.running
    # A second fit of the same run (fine_tune's unfrozen phase) listens again, and stops again.
    source = Source()
    start_fit(view, source)
    assert sampler.running
    end_fit(view, source)
    assert not sampler.running


def test_close_without_fit_end_stops_the_sampler_too():
    sampler = fake_sampler(cpu_sample())
    view = make(sampler)
    start_fit(view, Source(), device="cpu")
    assert sampler.running
    view.close("failed")
    assert not sampler.running


def test_no_strip_when_asked_and_a_broken_sampler_costs_only_the_strip():
    view = make(False)
    start_fit(view, Source())
    assert view.run_monitor is None and view.resources.value == ""

    class Broken:
        def subscribe(self, *args, **kwargs):
            raise RuntimeError("no sampler here")

    view = make(Broken())
    clock, source = view._clock, Source()
    with pytest.warns(UserWarning, match="resource strip is not available"):
        start_fit(view, source)
    batch(view, source, clock, 1)
    end_fit(view, source)
    view.close("finished")
    assert view.state.rows and view.failures == 0                    # the run's view went on


def test_a_real_trainer_run_subscribes_and_unsubscribes():
    import torch
    from torch import nn

    from jupyter_dl.train import Trainer

    sampler = fake_sampler(cpu_sample())
    view = make(sampler)
    running = []
    trainer = Trainer(nn.Linear(4, 2))
    trainer.bus.subscribe(view)
    trainer.bus.subscribe(lambda e: running.append(sampler.running) if e.kind == ev.BATCH_END else None)
    x, y = torch.randn(8, 4), torch.arange(8) % 2
    trainer.fit_one_cycle([(x, y)] * 3, [(x, y)], 1, 1e-3)
    assert running == [True] * 3 and not sampler.running
    view.close("finished")
