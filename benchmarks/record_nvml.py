"""Record what NVML answers on this machine, in the shape tests/fake_nvml.py replays.

Run on a GPU machine (with something of this process on the GPU, so the process list is real):
    python benchmarks/record_nvml.py > tests/data/nvml_record.json
"""
from __future__ import annotations

import json
import os
import sys

import pynvml


def call(function, *args):
    try:
        return function(*args)
    except pynvml.NVMLError as err:
        return {"error": str(err)}


def processes(lister, handle):
    found = call(lister, handle)
    if isinstance(found, dict):
        return []
    return [{"pid": "SELF" if p.pid == os.getpid() else p.pid, "usedGpuMemory": p.usedGpuMemory} for p in found]


def main() -> None:
    block = None
    if "--no-torch" not in sys.argv:
        import torch

        block = torch.empty(1024 ** 3, dtype=torch.uint8, device="cuda")  # noqa: F841  (this process on the GPU)
    pynvml.nvmlInit()
    devices = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        memory_v2 = call(pynvml.nvmlDeviceGetMemoryInfo, handle, pynvml.nvmlMemory_v2)
        util = pynvml.nvmlDeviceGetUtilizationRates(handle)
        devices.append({
            "name": pynvml.nvmlDeviceGetName(handle),
            "memory": {"total": memory.total, "free": memory.free, "used": memory.used},
            "memory_v2": (memory_v2 if isinstance(memory_v2, dict) else
                          {"total": memory_v2.total, "free": memory_v2.free, "used": memory_v2.used,
                           "reserved": memory_v2.reserved}),
            "utilization": {"gpu": util.gpu, "memory": util.memory},
            "temperature": call(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU),
            "power_usage_mw": call(pynvml.nvmlDeviceGetPowerUsage, handle),
            "enforced_power_limit_mw": call(pynvml.nvmlDeviceGetEnforcedPowerLimit, handle),
            "compute_processes": processes(pynvml.nvmlDeviceGetComputeRunningProcesses, handle),
            "graphics_processes": processes(pynvml.nvmlDeviceGetGraphicsRunningProcesses, handle),
        })
    record = {"source": f"recorded by benchmarks/record_nvml.py, driver {pynvml.nvmlSystemGetDriverVersion()}, "
                        f"nvidia-ml-py {getattr(pynvml, '__version__', '?')}", "devices": devices}
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
