"""The samplers (jupyter_dl.monitor): NVML through a recorded stand-in, psutil for real, the thread."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pynvml
import pytest
from fake_nvml import FakeNvml

from jupyter_dl.monitor import Probe, Reading, Sampler, snapshot
from jupyter_dl.monitor import nvml as nvml_module

GiB = 1024 ** 3


def fake_probe(**fake_options):
    return lambda: Probe(nvml=FakeNvml(**fake_options))


def test_a_sample_reads_every_gpu_and_the_machine():
    sample = Probe(nvml=FakeNvml()).sample()
    assert sample.gpu_error is None
    ours, busy = sample.gpus
    assert ours.name == busy.name == "NVIDIA H100 80GB HBM3" and (ours.index, busy.index) == (0, 1)
    assert ours.util_percent == 2.0 and busy.util_percent == 100.0
    assert ours.memory_total == 85520809984 and ours.memory_used == 1626144768
    assert ours.temperature_c == 50.0 and busy.temperature_c == 60.0
    assert ours.power_w == pytest.approx(79.1) and busy.power_limit_w == pytest.approx(700.0)
    # the recorded compute process is this process: its memory is ours; GPU 1's belongs to another pid
    assert ours.process_memory == 1616904192 and busy.process_memory is None
    assert 0.0 <= sample.cpu_percent <= 100.0
    assert 0 < sample.ram_used < sample.ram_total
    assert sample.process_rss > 10 * 1024 ** 2


def test_without_a_driver_the_reason_is_one_line_and_cpu_and_ram_still_come():
    error = pynvml.NVMLError_DriverNotLoaded(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    sample = Probe(nvml=FakeNvml(fail_init=error)).sample()
    assert sample.gpus == []
    assert "Driver Not Loaded" in sample.gpu_error and "\n" not in sample.gpu_error
    assert sample.ram_total > 0 and sample.process_rss > 0


def test_any_nvml_error_at_init_is_caught_not_only_library_not_found():
    error = pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
    sample = Probe(nvml=FakeNvml(fail_init=error)).sample()
    assert sample.gpus == [] and "GPU is lost" in sample.gpu_error


def test_without_nvidia_ml_py_the_reason_says_what_to_install(monkeypatch):
    monkeypatch.setattr(nvml_module, "_import_pynvml", lambda: None)
    sample = Probe().sample()
    assert sample.gpus == [] and "pip install nvidia-ml-py" in sample.gpu_error


def test_fields_a_gpu_does_not_support_are_none_and_the_rest_is_read():
    sample = Probe(nvml=FakeNvml(unsupported={"temperature", "power"})).sample()
    gpu = sample.gpus[0]
    assert gpu.temperature_c is None and gpu.power_w is None and gpu.power_limit_w is None
    assert gpu.util_percent == 2.0 and gpu.memory_used == 1626144768


def test_the_real_nvml_on_this_machine_never_crashes():
    sample = snapshot()
    if sample.gpus:  # a GPU machine: the real path gave numbers
        assert sample.gpu_error is None and sample.gpus[0].memory_total > 0
    else:
        assert sample.gpu_error and "\n" not in sample.gpu_error
    json.dumps(sample.to_dict())


def test_samples_are_json_ready():
    data = Probe(nvml=FakeNvml()).sample().to_dict()
    again = json.loads(json.dumps(data))
    assert again["gpus"][0]["memory_total"] == 85520809984 and again["gpu_error"] is None
    assert set(again) == {"time", "cpu_percent", "ram_used", "ram_total", "process_rss", "gpus", "gpu_error",
                          "device_memory"}


def test_sampling_never_imports_torch():
    code = ("import sys; from jupyter_dl.monitor import snapshot; s = snapshot(); "
            "print('torch' in sys.modules, s.device_memory)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "None"]


def test_with_torch_imported_sampling_does_not_start_cuda():
    code = ("import torch; from jupyter_dl.monitor import snapshot; s = snapshot(); "
            "print(torch.cuda.is_initialized(), s.device_memory)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "None"]


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_thread_runs_only_while_someone_listens():
    sampler = Sampler(probe_factory=fake_probe())
    assert not sampler.running
    received = []
    subscription = sampler.subscribe(received.append, interval=0.1)
    assert sampler.running
    assert wait_for(lambda: len(received) >= 3)
    assert all(isinstance(s, Reading) and len(s.gpus) == 2 for s in received)
    threads = [t for t in threading.enumerate() if t.name == "jupyter_dl-monitor"]
    subscription.close()
    assert not sampler.running
    assert not any(t.is_alive() for t in threads)
    count = len(received)
    time.sleep(0.3)
    assert len(received) == count  # nothing after close


def test_the_fastest_subscriber_sets_the_pace_and_the_last_to_leave_stops_it():
    sampler = Sampler(probe_factory=fake_probe())
    slow = sampler.subscribe(interval=5.0)
    assert sampler.interval == 5.0
    fast = sampler.subscribe(interval=0.2)
    assert sampler.interval == 0.2
    fast.close()
    assert sampler.running and sampler.interval == 5.0
    slow.close()
    assert not sampler.running


def test_history_is_a_bounded_ring_buffer_oldest_first():
    sampler = Sampler(probe_factory=fake_probe(), history_seconds=1.0)
    taken = []
    with sampler.subscribe(taken.append, interval=0.1):
        assert wait_for(lambda: len(taken) >= 15)
    history = sampler.history()
    assert len(history) <= 11 < len(taken)  # 1 s of history at 0.1 s; older samples dropped
    assert history[-1] is taken[-1]
    assert [s.time for s in history] == sorted(s.time for s in history)
    assert sampler.latest is history[-1]
    recent = sampler.history(seconds=0.35)
    assert 1 <= len(recent) < len(history) and recent[-1] is history[-1]


def test_a_failing_listener_does_not_stop_the_others():
    sampler = Sampler(probe_factory=fake_probe())
    good = []

    def broken(sample):
        raise RuntimeError("view gone")

    with sampler.subscribe(broken, interval=0.1), sampler.subscribe(good.append, interval=0.1):
        assert wait_for(lambda: len(good) >= 3)
    assert not sampler.running


def test_a_reader_that_fails_once_does_not_end_monitoring():
    calls = {"n": 0}

    class Flaky(Probe):
        def sample(self):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("psutil hiccup")
            return super().sample()

    sampler = Sampler(probe_factory=lambda: Flaky(nvml=FakeNvml()))
    received = []
    with sampler.subscribe(received.append, interval=0.1):
        assert wait_for(lambda: len(received) >= 3)


def fake_torch(cuda_initialized=False, mps_available=False, mps_allocated=0):
    from types import SimpleNamespace as NS

    return NS(cuda=NS(is_initialized=lambda: cuda_initialized, memory_allocated=lambda: 3 * GiB,
                      memory_reserved=lambda: 4 * GiB, max_memory_allocated=lambda: 5 * GiB),
              backends=NS(mps=NS(is_available=lambda: mps_available)),
              mps=NS(current_allocated_memory=lambda: mps_allocated, driver_allocated_memory=lambda: 2 * GiB))


def test_torch_cuda_numbers_come_once_torch_uses_cuda(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", fake_torch(cuda_initialized=True))
    memory = Probe(nvml=FakeNvml()).sample().device_memory
    assert (memory.backend, memory.allocated, memory.reserved, memory.peak) == ("cuda", 3 * GiB, 4 * GiB, 5 * GiB)


def test_apple_mps_shows_what_torch_mps_exposes(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", fake_torch(mps_available=True, mps_allocated=GiB))
    missing = pynvml.NVMLError_LibraryNotFound(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
    sample = Probe(nvml=FakeNvml(fail_init=missing)).sample()
    memory = sample.device_memory
    assert (memory.backend, memory.allocated, memory.reserved, memory.peak) == ("mps", GiB, 2 * GiB, None)
    assert sample.gpus == [] and sample.gpu_error


def test_mps_unused_by_this_process_shows_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", fake_torch(mps_available=True, mps_allocated=0))
    assert Probe(nvml=FakeNvml()).sample().device_memory is None


def test_memory_used_leaves_out_what_the_driver_reserves_like_nvidia_smi():
    # recorded: v1 "used" 2.13 GB includes 0.5 GB the driver reserves; v2 says 1.63 GB, as nvidia-smi
    assert Probe(nvml=FakeNvml()).sample().gpus[0].memory_used == 1626144768
    # a driver without the v2 call: the v1 numbers
    assert Probe(nvml=FakeNvml(unsupported={"memory_v2"})).sample().gpus[0].memory_used == 2129461248
