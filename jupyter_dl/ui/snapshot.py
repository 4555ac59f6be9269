"""A live widget's static stand-in: what its output shows when the notebook is reopened without the kernel.

A widget output needs its kernel: reopened without it, JupyterLab and Notebook 7 show only "Error
displaying widget: model not found" (classic Notebook 6: "A Jupyter widget could not be displayed
because the widget state could not be found..."), with no fallback to the output's other mimetypes.
So a live view (``%browse``, ``%gpu``) displays a second output right after its widget: a snapshot,
kept up to date by :class:`SnapshotKeeper` from a background thread a moment after what it shows
changed, so it costs the clicks nothing.

Which of the two shows is decided by CSS alone, so it works without a kernel:

- the live widget carries :func:`live_style` (a ``<style>`` inside the widget: it exists in the page
  only while the widget renders) that hides its own snapshot;
- the output right before a snapshot (its widget: they are displayed one after the other) is hidden
  while it holds no live view (no ``.jdl-live`` inside: "Loading widget...", "Error displaying widget:
  model not found"): by the JupyterLab extension's CSS (``js/style/outputs.css``; JupyterLab 4 and
  Notebook 7, trusted or not) and by the snapshot's own ``<style>`` (:func:`snapshot_html`; any front
  end that shows a trusted notebook's HTML unsanitised, classic Notebook 6 included). It is told apart
  by that alone: JupyterLab marks a widget output with its mimetype only once the widget rendered.

DOM hooks: the live widget ``.jdl-live``; the snapshot ``.jdl-snapshot`` (and ``.jdl-snap-<token>``,
pairing it with its widget) holding ``.jdl-snapshot-note`` and the view's static rendering.
"""
from __future__ import annotations

import html
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

LIVE_CLASS = "jdl-live"
SNAPSHOT_CLASS = "jdl-snapshot"
DELAY = 0.5          # seconds after the last change before the snapshot is redrawn
IDLE_EXIT = 30.0     # the keeper's thread ends after this long without a change (a new one starts on demand)


def new_token() -> str:
    """A token that pairs one widget with its snapshot (CSS class names, so letters and digits only)."""
    return secrets.token_hex(6)


def live_style(token: str) -> str:
    """The ``<style>`` the live widget carries: while it is on the page, its snapshot is not shown."""
    return f"<style>.jdl-snap-{token}{{display:none !important}}</style>"


def snapshot_html(inner_html: str, token: str, note: str) -> str:
    """The snapshot output's HTML: ``inner_html`` under ``note`` (if any), with the CSS hiding a dead widget above.

    The ``<style>`` covers trusted notebooks in every Jupyter page (JupyterLab / Notebook 7 output
    areas and classic Notebook 6's); sanitised (untrusted) output drops it, and there the JupyterLab
    extension's copy of the rule applies.
    """
    mine = f".jdl-snap-{token}"
    style = (f"<style>.jp-OutputArea-child:has(+ .jp-OutputArea-child {mine}):not(:has(.{LIVE_CLASS})),"
             f".output_area:has(+ .output_area {mine}):not(:has(.{LIVE_CLASS})){{display:none}}</style>")
    note_html = (f"<div class='jdl-snapshot-note' style='color:#57606a;font-size:12px;margin:2px 0 4px 0'>"
                 f"{html.escape(note)}</div>") if note else ""
    return f"<div class='{SNAPSHOT_CLASS} jdl-snap-{token}'>{style}{note_html}{inner_html}</div>"


def placeholder_bundle(token: str, text: str) -> dict:
    """What the snapshot output holds until its first drawing (a fraction of a second): ``text``."""
    return {"text/html": snapshot_html("", token, text), "text/plain": text}


class SnapshotKeeper:
    """Displays the snapshot output and redraws it in a background thread, ``delay`` seconds after a change.

    ``render()`` returns the display bundle (it may lock what it reads; it runs on the keeper's
    thread, or on the caller's in :meth:`flush`). Drawing errors are kept in ``error`` and warned
    about once: a snapshot never breaks the live browser.
    """

    def __init__(self, render: Callable[[], dict], *, delay: float = DELAY) -> None:
        self.render = render
        self.delay = float(delay)
        self.handle: Any = None
        self.renders = 0                # drawings made (tests and benchmarks read them)
        self.last_render_s = 0.0        # how long the last drawing took
        self.error: BaseException | None = None
        self._due: float | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._drawing = threading.Lock()

    def show(self, placeholder: dict) -> None:
        """Display the snapshot output (``placeholder`` at first) and draw it at once, in the background."""
        from IPython.display import display

        self.handle = display(placeholder, raw=True, display_id=True)
        self.changed(delay=0.0)

    def changed(self, delay: float | None = None) -> None:
        """What the snapshot shows changed: redraw it ``delay`` (default: :attr:`delay`) seconds from now."""
        with self._cond:
            if self._closed or self.handle is None:
                return
            self._due = time.monotonic() + (self.delay if delay is None else delay)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="jupyter_dl-snapshot", daemon=True)
                self._thread.start()
            self._cond.notify()

    def flush(self) -> None:
        """Redraw now, on this thread (a pending background redraw is dropped)."""
        with self._cond:
            self._due = None
        self._draw()

    def close(self, final: dict | None = None) -> None:
        """Stop redrawing; ``final``: what the snapshot output shows from now on (None: leave it as it is)."""
        with self._cond:
            self._closed = True
            self._due = None
            self._cond.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        if final is not None and self.handle is not None:
            with self._drawing:
                self.handle.update(final, raw=True)

    @property
    def pending(self) -> bool:
        """A redraw is scheduled and not yet made."""
        with self._cond:
            return self._due is not None

    def _run(self) -> None:
        while True:
            with self._cond:
                idle_since = time.monotonic()
                while not self._closed:
                    now = time.monotonic()
                    if self._due is not None and now >= self._due:
                        break
                    if self._due is None and now - idle_since > IDLE_EXIT:
                        self._thread = None
                        return
                    self._cond.wait(timeout=(self._due - now) if self._due is not None else IDLE_EXIT)
                if self._closed:
                    return
                self._due = None
            self._draw()

    def _draw(self) -> None:
        with self._drawing:
            if self.handle is None or self._closed:
                return
            started = time.perf_counter()
            try:
                bundle = self.render()
                self.handle.update(bundle, raw=True)
            except Exception as exc:  # the live browser goes on; the last good snapshot stays
                if self.error is None:
                    warnings.warn(f"jupyter_dl: a snapshot could not be drawn ({exc!r}).", stacklevel=2)
                self.error = exc
                return
            self.renders += 1
            self.last_render_s = time.perf_counter() - started
