"""Stopping a run cleanly: a thread-safe stop request and a SIGINT handler that raises it.

The training loop checks the request at each batch boundary, so a stop never
lands in the middle of an optimizer step. A Jupyter kernel interrupt is a SIGINT
(on Windows ipykernel simulates one with ``_thread.interrupt_main``, which calls
the same handler), so the first interrupt becomes a clean stop; a second one
raises ``KeyboardInterrupt`` for when the loop is stuck somewhere else (e.g. in
data loading).
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Literal


class StopFlag:
    """A stop request with its reason; safe to set from any thread or a signal handler.

    No lock: a signal handler runs in the main thread between bytecodes, so a
    lock held by the main thread would deadlock it. The first reason wins.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str = "user") -> None:
        """Ask for a stop; while one is pending this changes nothing (the first reason wins)."""
        if not self._event.is_set():
            self.reason = reason  # written before the event is set, so a reader that sees the event sees it
            self._event.set()

    def is_set(self) -> bool:
        """Whether a stop was requested (and not cleared since)."""
        return self._event.is_set()

    def clear(self) -> None:
        """Drop the request and its reason."""
        self._event.clear()
        self.reason = None


class SigintRequestsStop:
    """Context manager: while active (main thread only), SIGINT requests a stop with reason "interrupted".

    The handler that was there before is always put back on exit. Outside the
    main thread it does nothing (Python delivers signals to the main thread only).
    """

    def __init__(self, flag: StopFlag) -> None:
        self._flag = flag
        self._count = 0
        self._installed = False
        self._previous: Callable[[int, FrameType | None], Any] | int | None = None  # as signal.getsignal() gives it

    def _handle(self, signum, frame) -> None:
        self._count += 1
        if self._count > 1:
            raise KeyboardInterrupt
        self._flag.request("interrupted")

    def __enter__(self) -> SigintRequestsStop:
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.getsignal(signal.SIGINT)
                signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except (ValueError, OSError):  # e.g. a sub-interpreter: leave the default behaviour
                self._installed = False
        return self

    def __exit__(self, *exc_info) -> Literal[False]:
        if self._installed:
            # getsignal() gives None for a handler installed from C; Python's default is the best stand-in.
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
            self._installed = False
        return False
