"""The Stop button of a training run: an anywidget that works while the cell is busy.

Messages from the page do not reach a busy kernel (measured: JupyterLab 4.6,
ipykernel 7, ipywidgets 8 deliver a click during a running cell only after the
cell ends). So in a **foreground** run the button's front end interrupts the
kernel itself: through the Jupyter server's REST API
(``POST {baseUrl}api/kernels/{kernel_id}/interrupt``, authenticated with the
page's token and ``_xsrf`` cookie) on a JupyterLab 4 or Notebook 7 page, and
through the page's own ``Jupyter.notebook.kernel.interrupt()`` in classic
Notebook 6. The Trainer turns that SIGINT into a clean stop at the next batch
boundary. Where the page has no such API (Colab, VS Code) the button says which
menu item or key interrupts there (:mod:`.stop_hints`); the kernel tells the
page which front end it is (the ``frontend`` trait) and the page looks for its
own markers too. In a **background** run (the kernel is idle) a click is an
ordinary widget message and :class:`StopControl` calls ``on_stop("user")``.

"Stop after this epoch": in the background the kernel sees the box and the view
calls :meth:`StopControl.epoch_ended` at the epoch's end; in the foreground the
front end watches the ``epoch`` trait (kernel -> page updates do arrive while
the cell is busy) and interrupts when the next epoch starts.

Used by the widget dashboard (:mod:`.widget`) and, where plotly's figure widget
cannot render, beside the progress view (:mod:`.progress`).
"""
from __future__ import annotations

import contextlib
import os
import threading
import uuid
from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets

from ..ui import frontend as frontends
from .stop_hints import STOP_HINTS

_HERE = Path(__file__).parent

# The whole dashboard's look: anywidget puts this into the page once.
DASHBOARD_CSS = """
.jdl-dashboard {
  font-family: var(--jp-ui-font-family, -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #1f2328);
  border: 1px solid var(--jp-border-color2, #d8dee4);
  border-radius: 6px;
  padding: 8px 10px 6px 10px;
  max-width: 980px;
  box-sizing: border-box;
}
.jdl-dashboard .jdl-top { align-items: flex-start; justify-content: space-between; gap: 12px; }
.jdl-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.jdl-title { font-weight: 600; font-size: 1.1em; }
.jdl-status {
  display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 0.92em; line-height: 1.6;
  border: 1px solid currentColor; white-space: nowrap; max-width: 60ch; overflow: hidden; text-overflow: ellipsis;
}
.jdl-status-starting, .jdl-status-running { color: var(--jp-brand-color1, #1565c0); }
.jdl-status-finished { color: var(--jp-success-color1, #2e7d32); }
.jdl-status-stopped, .jdl-status-interrupted { color: var(--jp-warn-color1, #b26a00); }
.jdl-status-failed { color: var(--jp-error-color1, #c62828); }
.jdl-progress-row { display: flex; align-items: center; gap: 10px; margin-top: 6px; flex-wrap: wrap; }
.jdl-progress { width: 260px; height: 12px; accent-color: var(--jp-brand-color1, #1565c0); }
.jdl-progress-text { font-family: var(--jp-code-font-family, monospace); font-size: 0.92em;
  color: var(--jp-ui-font-color2, #57606a); white-space: nowrap; }
.jdl-stop-control { display: flex; flex-direction: column; align-items: flex-end; gap: 3px; min-width: 190px; }
.jdl-stop-row { display: flex; align-items: center; gap: 10px; }
button.jdl-stop {
  font: inherit; font-weight: 600; cursor: pointer; padding: 3px 14px; border-radius: 4px; height: auto;
  color: #fff; background: var(--jp-error-color1, #d32f2f); border: 1px solid var(--jp-error-color1, #d32f2f);
}
button.jdl-stop:hover:not(:disabled) { filter: brightness(0.92); }
button.jdl-stop:disabled { cursor: default; opacity: 0.45; }
.jdl-stop-after { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; user-select: none;
  color: var(--jp-ui-font-color2, #57606a); font-size: 0.92em; white-space: nowrap; }
.jdl-stop-message { font-size: 0.88em; color: var(--jp-ui-font-color2, #57606a); text-align: right; max-width: 320px; }
.jdl-stop-control.jdl-stop-inline { flex-direction: row; align-items: center; justify-content: flex-start;
  gap: 12px; flex-wrap: wrap; margin: 2px 0; }
.jdl-stop-inline .jdl-stop-message { text-align: left; max-width: none; }
.jdl-table { border-collapse: collapse; margin: 4px 0 2px 0; font-family: var(--jp-code-font-family, monospace);
  font-size: 0.92em; }
.jdl-table th, .jdl-table td { text-align: right; padding: 2px 10px;
  border-bottom: 1px solid var(--jp-border-color2, #eaeef2); }
.jdl-table th { font-weight: 600; color: var(--jp-ui-font-color2, #57606a); }
.jdl-table tr.jdl-best td { font-weight: 600; background: var(--jp-layout-color2, rgba(46, 125, 50, 0.08)); }
.jdl-best-mark { color: var(--jp-success-color1, #2e7d32); }
.jdl-summary { margin-top: 4px; color: var(--jp-ui-font-color1, #1f2328); }
"""


def current_kernel_id() -> str:
    """The running kernel's id as the Jupyter server knows it ("" outside a server-started kernel).

    The server names a kernel's connection file ``kernel-<id>.json``.
    """
    try:
        from ipykernel.connect import get_connection_file

        name = os.path.basename(get_connection_file())
    except Exception:  # not in ipykernel, or no connection file
        return ""
    return kernel_id_from_connection_file(name)


def kernel_id_from_connection_file(name: str) -> str:
    """The kernel id in a connection file's name (``kernel-<id>.json``); "" for any other name."""
    name = os.path.basename(name or "")
    if not (name.startswith("kernel-") and name.endswith(".json")):
        return ""
    return name[len("kernel-"):-len(".json")]


class StopControl(anywidget.AnyWidget):
    """Stop button + "stop after this epoch" for one run (see the module docstring)."""

    _esm = _HERE / "stop_control.js"
    _css = DASHBOARD_CSS

    mode = traitlets.Unicode("foreground").tag(sync=True)        # "foreground" | "background"
    kernel_id = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(True).tag(sync=True)
    epoch = traitlets.Int(0).tag(sync=True)                       # the epoch being run (set at its start)
    stop_after_epoch = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)                 # one id per run: the page stops it once
    frontend = traitlets.Unicode("").tag(sync=True)               # what the kernel knows: "colab", "vscode", ...
    hints = traitlets.Dict().tag(sync=True)                       # front end -> how to stop there (stop_hints)

    def __init__(self, *, mode: str = "foreground", on_stop: Callable[[str], None] | None = None,
                 kernel_id: str | None = None, **kwargs: Any) -> None:
        if mode not in ("foreground", "background"):
            raise ValueError(f"mode must be 'foreground' or 'background', not {mode!r}")
        kwargs.setdefault("frontend", frontends.frontend() or "")
        super().__init__(mode=mode, kernel_id=current_kernel_id() if kernel_id is None else kernel_id,
                         run_id=uuid.uuid4().hex, hints=dict(STOP_HINTS), **kwargs)
        self.on_stop = on_stop
        self.stop_clicked = False      # a Stop message came from the page (maybe after the run)
        self.stop_how: dict = {}       # that message: {"action": "stop", "why": "button"|"epoch", "via": ...}
        self._stop_after_pending = False
        self._listeners: list[Callable[[dict], None]] = []
        self.on_msg(self._on_page_message)

    # ------------------------------------------------------------------ the run's events (any view calls these)
    def fit_started(self) -> None:
        """A fit starts: a "stop after this epoch" already asked for holds for it too."""
        self._renew_stop_after_epoch()

    def epoch_started(self, epoch: object) -> None:
        """Epoch ``epoch`` starts (the page's "stop after this epoch" watches this in the foreground)."""
        if isinstance(epoch, int) and not isinstance(epoch, bool):
            self.epoch = epoch
        self._renew_stop_after_epoch()

    def epoch_ended(self, epoch: object) -> None:
        """Epoch ``epoch`` ended: stop now when the box is ticked (seen here in background runs)."""
        if self.stop_after_epoch and self.on_stop is not None:
            self._stop_after_pending = True
            self.on_stop("user")
            self.message = f"Stopping after epoch {epoch}\u2026" if epoch else "Stopping\u2026"

    def retire(self) -> None:
        """The run ended: keep this control until the next run starts, then close it (:func:`close_retired`)."""
        with _RETIRED_LOCK:
            _RETIRED.append(self)

    def _renew_stop_after_epoch(self) -> None:
        # A trainer forgets a stop request when a fit ends; the next fit of the same run must still stop.
        if self._stop_after_pending and self.on_stop is not None:
            self.on_stop("user")

    def add_listener(self, fn: Callable[[dict], None]) -> None:
        """``fn(message)`` after each Stop message from the page (the dashboard's hook)."""
        self._listeners.append(fn)

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if not isinstance(content, dict) or content.get("action") != "stop":
            return
        self.stop_clicked = True
        self.stop_how = dict(content)
        if self.running:
            if self.on_stop is not None:
                self.on_stop("user")
                self.message = "Stopping at the next batch\u2026"
            else:
                self.message = "This run cannot be stopped from here: use the kernel's interrupt."
        for fn in list(self._listeners):
            fn(dict(content))


# Stop controls whose run ended: closed when the next run starts (closing at once would lose a Stop
# message the page sent while the cell was busy, which arrives only after the cell).
_RETIRED: list[StopControl] = []
_RETIRED_LOCK = threading.Lock()


def close_retired() -> None:
    """Close the Stop controls of runs that ended (their front-end models go away)."""
    with _RETIRED_LOCK:
        retired, _RETIRED[:] = list(_RETIRED), []
    for control in retired:
        with contextlib.suppress(Exception):
            control.close()
