"""Samplers for the GPU and system monitor: NVML (nvidia-ml-py), torch's allocator, psutil. No UI.

``snapshot()`` reads once; ``get_sampler().subscribe(callback, interval)`` starts the shared
background thread (stopped when the last subscription closes); ``history()`` is its ring buffer.
"""
from .sample import DeviceMemory, GpuSample, Sample
from .sampler import DEFAULT_INTERVAL, Probe, Sampler, Subscription, get_sampler, snapshot

__all__ = ["DEFAULT_INTERVAL", "DeviceMemory", "GpuSample", "Probe", "Sample", "Sampler", "Subscription",
           "get_sampler", "snapshot"]
