"""The server extension's REST endpoint against a real jupyter_server (pytest-jupyter)."""
from __future__ import annotations

import json
import time

import pytest
import tornado.httpclient
from fake_nvml import FakeNvml

from jupyter_dl.monitor import Probe, Sampler
from jupyter_dl.server.service import MonitorService


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_dl": True}}}


@pytest.fixture
def fake_gpus(jp_serverapp):
    """Point the running server's monitor at two recorded GPUs, sampling fast."""
    service = jp_serverapp.web_app.settings["jupyter_dl_monitor"]
    service.stop()
    service.sampler = Sampler(probe_factory=lambda: Probe(nvml=FakeNvml()))
    service.interval = 0.1
    yield service
    service.stop()


async def test_the_endpoint_returns_the_current_sample_and_history(jp_fetch, fake_gpus):
    response = await jp_fetch("jupyter-dl", "monitor", params={"history": "60"})
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.body)
    assert body["interval"] == 0.1
    current = body["current"]
    assert [gpu["name"] for gpu in current["gpus"]] == ["NVIDIA H100 80GB HBM3"] * 2
    assert current["gpus"][1]["util_percent"] == 100.0 and current["gpu_error"] is None
    assert current["ram_total"] > 0
    assert body["history"][-1] == current

    time.sleep(0.5)  # the sampler thread keeps going between requests
    later = json.loads((await jp_fetch("jupyter-dl", "monitor", params={"history": "60"})).body)
    times = [sample["time"] for sample in later["history"]]
    assert len(times) >= 3 and times == sorted(times)
    assert later["current"]["time"] > current["time"]


async def test_without_a_gpu_the_answer_says_why_and_has_cpu_and_ram(jp_fetch, jp_serverapp):
    import pynvml
    service = jp_serverapp.web_app.settings["jupyter_dl_monitor"]
    service.stop()
    error = pynvml.NVMLError_DriverNotLoaded(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    service.sampler = Sampler(probe_factory=lambda: Probe(nvml=FakeNvml(fail_init=error)))
    body = json.loads((await jp_fetch("jupyter-dl", "monitor")).body)
    service.stop()
    assert body["current"]["gpus"] == [] and "Driver Not Loaded" in body["current"]["gpu_error"]
    assert 0 <= body["current"]["cpu_percent"] <= 100 and body["current"]["ram_used"] > 0


async def test_the_real_sampler_answers_on_this_machine(jp_fetch, jp_serverapp):
    body = json.loads((await jp_fetch("jupyter-dl", "monitor", params={"history": "0"})).body)
    jp_serverapp.web_app.settings["jupyter_dl_monitor"].stop()
    assert len(body["history"]) == 1 and body["current"]["ram_total"] > 0
    assert body["current"]["gpus"] or body["current"]["gpu_error"]


async def test_a_request_without_credentials_is_refused(jp_fetch, fake_gpus):
    # jp_fetch adds the server's token unless the header is given: an empty one means no credentials
    response = await jp_fetch("jupyter-dl", "monitor", headers={"Authorization": ""}, raise_error=False)
    assert response.code == 403
    assert not fake_gpus.sampling  # nothing was started for an unauthenticated caller


@pytest.mark.parametrize("history", ["abc", "-1", "100000"])
async def test_a_bad_history_parameter_is_a_400_with_the_reason(jp_fetch, fake_gpus, history):
    with pytest.raises(tornado.httpclient.HTTPClientError) as caught:
        await jp_fetch("jupyter-dl", "monitor", params={"history": history})
    assert caught.value.code == 400
    assert b"history must be" in caught.value.response.body


def test_sampling_stops_when_no_page_has_asked_for_a_while():
    sampler = Sampler(probe_factory=lambda: Probe(nvml=FakeNvml()))
    service = MonitorService(sampler, interval=0.1, idle_seconds=0.3)
    service.touch()
    assert sampler.running
    deadline = time.monotonic() + 5
    while sampler.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sampler.running and not service.sampling
    service.touch()  # a page comes back: sampling resumes
    assert sampler.running
    service.stop()
    assert not sampler.running


@pytest.mark.parametrize("jp_server_config", [
    {"ServerApp": {"jpserver_extensions": {"jupyter_dl": True}},
     "JupyterDLMonitor": {"interval": 0.5, "idle_seconds": 120}},
])
async def test_the_sampling_is_set_in_the_server_config(jp_fetch, jp_serverapp):
    service = jp_serverapp.web_app.settings["jupyter_dl_monitor"]
    assert (service.interval, service.idle_seconds) == (0.5, 120)
    body = json.loads((await jp_fetch("jupyter-dl", "monitor", params={"history": "0"})).body)
    assert body["interval"] == 0.5
    service.stop()


def test_the_interval_comes_from_the_environment_without_a_config(monkeypatch):
    from jupyter_dl.server.config import JupyterDLMonitor

    monkeypatch.setenv("JUPYTER_DL_MONITOR_INTERVAL", "0.25")
    assert JupyterDLMonitor().sampling_interval() == 0.25
    monkeypatch.setenv("JUPYTER_DL_MONITOR_INTERVAL", "0.01")      # never below the sampler's floor
    assert JupyterDLMonitor().sampling_interval() == 0.1
    monkeypatch.delenv("JUPYTER_DL_MONITOR_INTERVAL")
    assert (JupyterDLMonitor().interval, JupyterDLMonitor().idle_seconds) == (1.0, 60.0)
