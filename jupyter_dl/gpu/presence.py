"""Is a page still showing a widget? For live views that should stop costing anything when not.

Closing a notebook tab in JupyterLab removes its widget views without telling the kernel (the view
count stays where it was, the comms stay open: checked with JupyterLab 4.6 and ipywidgets 8.1).
So each view of a :class:`PagePresence` says "shown" every ``ping_ms`` from the page while it
exists; the kernel counts a view as gone when no word came for ``lease_seconds`` while the kernel
was idle. While a cell runs, messages from the page wait until it ends (they do not reach a busy
kernel), so :class:`KernelActivity` tells a busy kernel (no judging then) from an idle one.

A front end that never pings (one that cannot run the widget's JavaScript) is never judged.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

import anywidget
import traitlets

PING_MS = 5000
LEASE_SECONDS = 15.0

_ESM = """
function render({ model }) {
  // Every view says it is shown, at once and then every ping_ms, until the page removes it.
  const ping = () => model.send({ shown: true });
  ping();
  const timer = setInterval(ping, model.get("ping_ms"));
  return () => clearInterval(timer);
}
export default { render };
"""


class KernelActivity:
    """Whether a cell is running in this kernel, and when the last one ended (IPython's cell events)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.busy = False
        self.last_cell_end = -math.inf
        self._shells: set[int] = set()
        self._lock = threading.Lock()

    def watch(self, shell) -> None:
        """Follow ``shell``'s cells (once per shell)."""
        if shell is None:
            return
        with self._lock:
            if id(shell) in self._shells:
                return
            self._shells.add(id(shell))
        # Registered while %gpu's own cell runs: it is busy now, and its end will be seen.
        self.busy = True
        shell.events.register("pre_run_cell", self._started)
        shell.events.register("post_run_cell", self._ended)

    def _started(self, *args) -> None:
        self.busy = True

    def _ended(self, *args) -> None:
        self.busy = False
        self.last_cell_end = self.clock()


ACTIVITY = KernelActivity()


class PagePresence(anywidget.AnyWidget):
    """An invisible widget whose views ping the kernel; :meth:`gone` says when none has for a while.

    ``on_shown()`` runs (on the kernel's main thread) for every ping: a view exists.
    """

    _esm = _ESM
    ping_ms = traitlets.Int(PING_MS).tag(sync=True)

    def __init__(self, *, lease_seconds: float = LEASE_SECONDS, activity: KernelActivity | None = None,
                 on_shown: Callable[[], None] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lease_seconds = float(lease_seconds)
        self.activity = activity or ACTIVITY
        self.on_shown = on_shown
        self.last_ping: float | None = None   # None: this front end never pinged (never judged)
        self.layout.display = "none"
        self.on_msg(self._on_message)

    def _on_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("shown"):
            self.last_ping = self.activity.clock()
            if self.on_shown is not None:
                self.on_shown()

    def gone(self) -> bool:
        """True when views pinged before, none has for ``lease_seconds``, and the kernel was idle meanwhile."""
        if self.last_ping is None or self.activity.busy:
            return False
        heard = max(self.last_ping, self.activity.last_cell_end)
        return self.activity.clock() - heard > self.lease_seconds
