"""Samplers for the GPU and system monitor: NVML (nvidia-ml-py), torch's allocator, psutil. No UI.

``snapshot()`` reads once; ``get_sampler().subscribe(callback, interval)`` starts the shared
background thread (stopped when the last subscription closes); ``history()`` is its ring buffer.
Never initialises CUDA: torch's numbers are read only when the process already uses a device.

- :mod:`.sampler`: the shared thread, subscriptions and history; :mod:`.readings`: what one reading
  holds; :mod:`.nvml`, :mod:`.system`, :mod:`.torch_memory`: the three readers.

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "DeviceMemory": "readings", "GpuReading": "readings", "Reading": "readings",
    **dict.fromkeys(["DEFAULT_INTERVAL", "Probe", "Sampler", "Subscription", "get_sampler", "snapshot"], "sampler"),
})
