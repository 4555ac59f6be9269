"""The server process's own monitor: samples while a browser polls, and stops when none does.

The status-bar item must keep updating while a kernel is busy, so the numbers cannot come from
a kernel: the Jupyter server samples the machine itself with the same sampler the kernels use.
Sampling starts on the first request and stops ``idle_seconds`` after the last one (a closed tab);
both settings are :mod:`.config`'s.
"""
from __future__ import annotations

import threading
import time

from ..monitor.readings import Reading
from ..monitor.sampler import DEFAULT_INTERVAL, HISTORY_SECONDS, Subscription, get_sampler
from .config import IDLE_SECONDS

MAX_HISTORY_SECONDS = HISTORY_SECONDS  # all the sampler keeps
FIRST_SAMPLE_TIMEOUT = 5.0


class MonitorService:
    """Samples while a browser polls (``touch()``) and stops after ``idle_seconds`` without a request."""

    def __init__(self, sampler=None, interval: float = DEFAULT_INTERVAL, idle_seconds: float = IDLE_SECONDS):
        self.sampler = sampler or get_sampler()
        self.interval = interval
        self.idle_seconds = idle_seconds
        self._subscription: Subscription | None = None
        self._last_request = 0.0
        self._lock = threading.Lock()

    @property
    def sampling(self) -> bool:
        """Whether the service is subscribed to the sampler now."""
        return self._subscription is not None

    def touch(self) -> None:
        """A client asked: make sure sampling runs (and keeps running for IDLE_SECONDS)."""
        with self._lock:
            self._last_request = time.monotonic()
            if self._subscription is None:
                # The idle check rides on the sampler's own thread: no timer, no event-loop coupling.
                self._subscription = self.sampler.subscribe(self._on_sample, interval=self.interval)

    def _on_sample(self, sample: Reading) -> None:
        self.stop_if_idle()

    def stop_if_idle(self) -> None:
        """Stop sampling when no request came for ``idle_seconds``."""
        with self._lock:
            idle = time.monotonic() - self._last_request > self.idle_seconds
            if self._subscription is not None and idle:
                self._subscription.close()
                self._subscription = None

    def stop(self) -> None:
        """Stop sampling now (the next ``touch()`` starts it again)."""
        with self._lock:
            if self._subscription is not None:
                self._subscription.close()
                self._subscription = None

    def payload(self, history_seconds: float) -> dict | None:
        """The JSON answer, or None while the first sample is still being taken."""
        latest = self.sampler.latest
        if latest is None:
            return None
        history: list[Reading] = self.sampler.history(history_seconds) if history_seconds > 0 else [latest]
        return {"interval": self.interval, "current": latest.to_dict(),
                "history": [sample.to_dict() for sample in history]}
