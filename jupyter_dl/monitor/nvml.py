"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` package, module ``pynvml``).

Every NVML call can fail on its own (a field a GPU does not support, a driver restart, a GPU that
fell off the bus), so each one is guarded: a missing field is None, a failed init becomes one
line in ``error``. We catch NVML's base error class, not only "library not found".
"""
from __future__ import annotations

import contextlib
import os

from .readings import GpuReading


def _import_pynvml():
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


class NvmlReader:
    """Reads every GPU once per ``read()``; ``nvml`` may be a stand-in module for tests."""

    def __init__(self, nvml=None) -> None:
        self._nvml = nvml if nvml is not None else _import_pynvml()
        self._handles: list = []
        self.error: str | None = None
        if self._nvml is None:
            self.error = "nvidia-ml-py is not installed (pip install nvidia-ml-py), so GPUs cannot be read"
            return
        try:
            self._nvml.nvmlInit()
            count = self._nvml.nvmlDeviceGetCount()
            self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except self._nvml.NVMLError as err:
            self.error = f"no NVIDIA GPU ({_text(err)})"
            self._handles = []
            return
        if not self._handles:
            self.error = "no NVIDIA GPU (NVML found no devices)"

    def read(self) -> list[GpuReading]:
        """One reading per GPU; empty when NVML is missing or found none (``error`` says why)."""
        return [self._read_one(index, handle) for index, handle in enumerate(self._handles)]

    def close(self) -> None:
        """Shut NVML down if it was started; ``read()`` returns an empty list afterwards."""
        if self._nvml is not None and self._handles:
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()
        self._handles = []

    def _read_one(self, index: int, handle) -> GpuReading:
        nvml = self._nvml
        name = self._call(nvml.nvmlDeviceGetName, handle)
        memory = self._memory_info(handle)
        util = self._call(nvml.nvmlDeviceGetUtilizationRates, handle)
        temperature = self._call(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        power_mw = self._call(nvml.nvmlDeviceGetPowerUsage, handle)
        limit_mw = self._call(nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        return GpuReading(
            index=index,
            name=name.decode() if isinstance(name, bytes) else (name or f"GPU {index}"),
            util_percent=None if util is None else float(util.gpu),
            memory_used=0 if memory is None else int(memory.used),
            memory_total=0 if memory is None else int(memory.total),
            temperature_c=None if temperature is None else float(temperature),
            power_w=None if power_mw is None else power_mw / 1000.0,
            power_limit_w=None if limit_mw is None else limit_mw / 1000.0,
            process_memory=self._process_memory(handle),
        )

    def _memory_info(self, handle):
        # v2 leaves out what the driver reserves for itself, so "used" matches nvidia-smi (an idle
        # H100 reads 0 MiB, not 0.5 GB); drivers or bindings without v2 fall back to v1.
        version = getattr(self._nvml, "nvmlMemory_v2", None)
        if version is not None:
            try:
                return self._nvml.nvmlDeviceGetMemoryInfo(handle, version=version)
            except self._nvml.NVMLError:
                pass
        return self._call(self._nvml.nvmlDeviceGetMemoryInfo, handle)

    def _process_memory(self, handle) -> int | None:
        nvml, pid = self._nvml, os.getpid()
        found = None
        for lister in (nvml.nvmlDeviceGetComputeRunningProcesses, nvml.nvmlDeviceGetGraphicsRunningProcesses):
            for process in self._call(lister, handle) or []:
                used = getattr(process, "usedGpuMemory", None)
                # In a container the driver may report host pids: then this process is not found (None).
                if process.pid == pid and used is not None:
                    found = (found or 0) + int(used)
        return found

    def _call(self, function, *args):
        try:
            return function(*args)
        except self._nvml.NVMLError:
            return None


def _text(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
