"""A stand-in for the ``pynvml`` module that replays a recorded NVML reading.

It keeps pynvml's real error classes and return shapes (objects with .used/.total, .gpu,
process infos with .pid/.usedGpuMemory) so the reader is tested against what NVML gives.
The recording lives in tests/fixtures/nvml_record.json ("pid": "SELF" means this test process).
Knobs: ``fail_init`` (an NVML error class raised by nvmlInit), ``unsupported`` (names of calls
that raise NVMLError_NotSupported, as on GPUs without power or temperature sensors).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pynvml

RECORD = Path(__file__).parent / "fixtures" / "nvml_record.json"


class FakeNvml:
    NVMLError = pynvml.NVMLError
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    nvmlMemory_v2 = pynvml.nvmlMemory_v2

    def __init__(self, record: dict | None = None, fail_init=None, unsupported=()):
        self.devices = (record or json.loads(RECORD.read_text()))["devices"]
        self.fail_init = fail_init
        self.unsupported = set(unsupported)
        self.init_calls = 0
        self.shutdown_calls = 0

    def _guard(self, name):
        if name in self.unsupported:
            raise pynvml.NVMLError_NotSupported(pynvml.NVML_ERROR_NOT_SUPPORTED)

    def nvmlInit(self):
        self.init_calls += 1
        if self.fail_init is not None:
            raise self.fail_init

    def nvmlShutdown(self):
        self.shutdown_calls += 1

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index):
        return self.devices[index]

    def nvmlDeviceGetName(self, handle):
        self._guard("name")
        return handle["name"]

    def nvmlDeviceGetMemoryInfo(self, handle, version=None):
        self._guard("memory")
        if version is not None:  # v2 also reports what the driver reserves; "used" leaves it out
            self._guard("memory_v2")
            memory = handle.get("memory_v2", handle["memory"])
            return SimpleNamespace(**{"reserved": 0, **memory})
        return SimpleNamespace(**handle["memory"])

    def nvmlDeviceGetUtilizationRates(self, handle):
        self._guard("utilization")
        return SimpleNamespace(**handle["utilization"])

    def nvmlDeviceGetTemperature(self, handle, sensor):
        self._guard("temperature")
        return handle["temperature"]

    def nvmlDeviceGetPowerUsage(self, handle):
        self._guard("power")
        return handle["power_usage_mw"]

    def nvmlDeviceGetEnforcedPowerLimit(self, handle):
        self._guard("power")
        return handle["enforced_power_limit_mw"]

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return self._processes(handle["compute_processes"])

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle):
        return self._processes(handle["graphics_processes"])

    @staticmethod
    def _processes(recorded):
        return [SimpleNamespace(pid=os.getpid() if p["pid"] == "SELF" else p["pid"],
                                usedGpuMemory=p["usedGpuMemory"]) for p in recorded]
