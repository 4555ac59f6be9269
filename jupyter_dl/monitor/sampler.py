"""One background sampling thread per process, shared by everyone who listens.

The thread starts with the first subscription and stops when the last one closes, so a monitor
that nobody shows costs nothing. Samples go into a bounded ring buffer (the history behind the
time-series charts) and to the subscribers' callbacks, on the sampler thread.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from typing import Callable

from .nvml import NvmlReader
from .readings import Reading
from .system import SystemReader
from .torch_memory import read_device_memory

DEFAULT_INTERVAL = 1.0
HISTORY_SECONDS = 600.0
MIN_INTERVAL = 0.1


class Probe:
    """Takes one reading; holds the readers (NVML is initialised once, not per sample)."""

    def __init__(self, nvml=None):
        self.system = SystemReader()
        self.gpus = NvmlReader(nvml)

    def sample(self) -> Reading:
        """One reading now (it blocks 0.1 s when the last CPU reading is stale or there was none)."""
        return Reading(time=time.time(), **self.system.read(), gpus=self.gpus.read(), gpu_error=self.gpus.error,
                      device_memory=read_device_memory())


class Subscription:
    """A listener until ``close()``: ``callback(reading)`` on every sample, at the fastest subscriber's interval."""

    def __init__(self, sampler: Sampler, callback, interval: float):
        self._sampler = sampler
        self.callback = callback
        self.interval = interval
        self.closed = False

    def close(self) -> None:
        """Stop listening (a second close does nothing); the last one to close stops the thread."""
        if not self.closed:
            self.closed = True
            self._sampler._unsubscribe(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Sampler:
    """Samples in a background thread while anyone is subscribed, into a bounded history; see :func:`get_sampler`."""

    def __init__(self, probe_factory: Callable[[], Probe] = Probe, history_seconds: float = HISTORY_SECONDS):
        self._probe_factory = probe_factory
        self._probe: Probe | None = None
        self._history_seconds = history_seconds
        self._samples: deque[Reading] = deque(maxlen=self._capacity(DEFAULT_INTERVAL))
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None

    # --- what listeners use -------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Reading], None] | None = None,
                  interval: float = DEFAULT_INTERVAL) -> Subscription:
        """Listen until closed: ``callback(reading)`` per sample (sampler thread), at least every ``interval`` s."""
        interval = max(float(interval), MIN_INTERVAL)
        subscription = Subscription(self, callback, interval)
        with self._lock:
            self._subscriptions.append(subscription)
            self._resize_history()
            if self._thread is None:
                self._start()
        self._wake.set()  # a faster subscriber takes effect now, not after the current wait
        return subscription

    @property
    def interval(self) -> float:
        """Seconds between samples: the fastest subscriber's interval, else DEFAULT_INTERVAL."""
        with self._lock:
            return min((s.interval for s in self._subscriptions), default=DEFAULT_INTERVAL)

    @property
    def running(self) -> bool:
        """Whether the sampling thread runs (someone is subscribed)."""
        return self._thread is not None

    @property
    def latest(self) -> Reading | None:
        """The newest sample; None before the first."""
        with self._lock:
            return self._samples[-1] if self._samples else None

    def history(self, seconds: float | None = None) -> list[Reading]:
        """The kept samples, oldest first; with ``seconds``, those at most that much older than the newest."""
        with self._lock:
            samples = list(self._samples)
        if seconds is None or not samples:
            return samples
        cutoff = samples[-1].time - seconds
        return [s for s in samples if s.time >= cutoff]

    def sample_now(self) -> Reading:
        """One immediate sample with this sampler's readers (also recorded in the history)."""
        sample = self._ensure_probe().sample()
        with self._lock:
            self._samples.append(sample)
        return sample

    # --- the thread -----------------------------------------------------------------------------
    def _start(self) -> None:  # with self._lock held
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="jupyter_dl-monitor",
                                        daemon=True)
        self._thread.start()

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
            if self._subscriptions or self._thread is None:
                return
            stop, thread = self._stop, self._thread
            self._thread = self._stop = None
        assert stop is not None  # _start sets it with the thread
        stop.set()
        self._wake.set()
        if thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                sample = self.sample_now()
            except Exception:  # a reader failing once must not end monitoring; try again next tick
                sample = None
            if sample is not None:
                with self._lock:
                    listeners = [s for s in self._subscriptions if s.callback is not None]
                for subscription in listeners:
                    with contextlib.suppress(Exception):  # one broken view must not stop the others
                        subscription.callback(sample)
            self._wake.clear()
            self._wake.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _ensure_probe(self) -> Probe:
        if self._probe is None:
            self._probe = self._probe_factory()
        return self._probe

    def _capacity(self, interval: float) -> int:
        return max(10, int(self._history_seconds / interval) + 1)

    def _resize_history(self) -> None:  # with self._lock held
        wanted = self._capacity(min(s.interval for s in self._subscriptions))
        if wanted > (self._samples.maxlen or 0):
            self._samples = deque(self._samples, maxlen=wanted)


_sampler: Sampler | None = None
_sampler_lock = threading.Lock()


def get_sampler() -> Sampler:
    """The one sampler of this process (created on first use; its thread runs only while subscribed)."""
    global _sampler
    with _sampler_lock:
        if _sampler is None:
            _sampler = Sampler()
        return _sampler


def snapshot() -> Reading:
    """One reading now, without starting the background thread."""
    return get_sampler().sample_now()
