"""CPU and RAM of the machine and this process's resident memory, through psutil."""
from __future__ import annotations

import time

import psutil

STALE_CPU_SECONDS = 10.0
SHORT_WINDOW = 0.1


class SystemReader:
    """Reads the machine's CPU and RAM use and this process's resident memory."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._last_cpu_read: float | None = None

    def read(self) -> dict:
        """The Reading's cpu_percent, ram_used, ram_total and process_rss; blocks 0.1 s on a stale CPU figure."""
        memory = psutil.virtual_memory()
        return {
            "cpu_percent": self._cpu_percent(),
            # total - available is what people mean by "used": page cache is given back on demand.
            "ram_used": int(memory.total - memory.available),
            "ram_total": int(memory.total),
            "process_rss": int(self._process.memory_info().rss),
        }

    def _cpu_percent(self) -> float:
        # psutil averages since its previous call. The first call has none, and after a long pause
        # (the sampler stopped for minutes) the average would describe the pause: then measure a
        # short window instead. While sampling runs, calls never block.
        now = time.monotonic()
        stale = self._last_cpu_read is None or now - self._last_cpu_read > STALE_CPU_SECONDS
        percent = psutil.cpu_percent(interval=SHORT_WINDOW if stale else None)
        self._last_cpu_read = time.monotonic()
        return float(percent)
