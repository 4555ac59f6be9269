"""What one reading of the machine holds: plain dataclasses, JSON-ready through ``to_dict``."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class GpuReading:
    """One NVIDIA GPU as NVML sees it. Memory in bytes; a field NVML could not read is None."""
    index: int
    name: str
    util_percent: float | None
    memory_used: int
    memory_total: int
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    process_memory: int | None = None  # what this process holds on the GPU, when the driver tells


@dataclass(frozen=True)
class DeviceMemory:
    """torch's own accounting for this process (the caching allocator), in bytes."""
    backend: str  # "cuda" or "mps"
    allocated: int
    reserved: int | None = None
    peak: int | None = None


@dataclass(frozen=True)
class Reading:
    """One reading of the machine: CPU, RAM, this process, every GPU and torch's allocator."""

    time: float
    cpu_percent: float
    ram_used: int
    ram_total: int
    process_rss: int
    gpus: list[GpuReading] = field(default_factory=list)
    gpu_error: str | None = None  # one line why there are no GPU numbers
    device_memory: DeviceMemory | None = None

    def to_dict(self) -> dict:
        """The reading as plain JSON-ready data (what the REST endpoint sends)."""
        return asdict(self)
