"""The health line at the top of the browser: checked in a background thread, each count a filter.

The first page never waits for the check: the line says "checking health
120/1797" while a thread runs :func:`jupyter_dl.data.health.check_health`
(its per-file results are cached, so a second look is quick), then shows one
button per finding ("2 exact duplicates"); a click filters the grid to them.

DOM hooks: ``.jdl-health`` holds ``.jdl-health-text`` and ``button.jdl-health-<status>``
(status with dashes: ``jdl-health-near-duplicate``).
"""
from __future__ import annotations

import html
import threading
import time
import warnings
from typing import Any, Callable

from .state import decode_warnings_line, health_counts

PROGRESS_EVERY = 0.25   # seconds between progress updates of the line


class HealthLine:
    """``start()`` the check; ``on_report(report)`` runs (on the check's thread) when it is done."""

    def __init__(self, catalog: Any, *, on_report: Callable[[Any], None], on_filter: Callable[[str], None],
                 check: Callable[..., Any] | None = None) -> None:
        import ipywidgets as widgets

        self.catalog = catalog
        self.on_report = on_report
        self.on_filter = on_filter
        self._check = check
        self.report: Any = None
        self.error: str | None = None
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self._last_progress = 0.0
        self.text = widgets.HTML(value=_grey("health: waiting\u2026"))
        self.text.add_class("jdl-health-text")
        self.buttons = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = widgets.HBox([self.text, self.buttons], layout=widgets.Layout(align_items="center",
                                                                                    flex_flow="row wrap"))
        self.widget.add_class("jdl-health")

    def start(self) -> None:
        """Run the check in a daemon thread; returns at once."""
        self.thread = threading.Thread(target=self._run, name="jdl-browse-health", daemon=True)
        self.thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the check has finished or failed; False when ``timeout`` seconds ran out first."""
        return self.done.wait(timeout)

    def _progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY and done < total:
            return
        self._last_progress = now
        self.text.value = _grey(f"checking health {done}/{total}\u2026")

    def _run(self) -> None:
        try:
            check = self._check
            if check is None:
                from ..data.health import check_health

                check = check_health
            report = check(self.catalog, progress=self._progress)
        except Exception as exc:  # the browser stays usable without the health line
            self.error = f"{type(exc).__name__}: {exc}"
            self.text.value = (f"<span style='color:var(--jp-error-color1,#c62828)'>health check failed: "
                               f"{html.escape(self.error)}</span>")
            warnings.warn(f"jupyter_dl: the health check failed ({self.error}).", stacklevel=2)
            self.done.set()
            return
        self.report = report
        try:
            self.on_report(report)
        finally:
            self.done.set()

    def show(self, report: Any, statuses: dict[str, set[int]]) -> None:
        """Replace the progress by the counts (a button per finding)."""
        import ipywidgets as widgets

        buttons = []
        for status, count, text in health_counts(report, statuses):
            if not count:
                continue
            button = widgets.Button(description=f"{count} {text}", tooltip=f"show the {text}",
                                    button_style="warning", layout=widgets.Layout(width="auto", height="26px"))
            button.add_class("jdl-health-" + status.replace(" ", "-"))
            button.on_click(lambda _b, s=status: self.on_filter(s))
            buttons.append(button)
        non_images = len(getattr(report, "non_images", ()) or ())
        parts = []
        if non_images:
            parts.append(f"{non_images} non-image file{'s' if non_images != 1 else ''} (skipped by training)")
        warned = decode_warnings_line(report, self.catalog)
        if warned:
            parts.append(warned.split(":")[0])  # "3 images gave decoder warnings"; which and what: the tooltip
        if not buttons and not parts:
            parts.append("no problems found \u2713")
        self.text.value = (f"<span title='{html.escape(warned, quote=True)}'><b>health</b>"
                           + (": " + html.escape(" \u00b7 ".join(parts)) if parts else ":") + "</span>")
        self.buttons.children = buttons


def _grey(text: str) -> str:
    return f"<span style='color:var(--jp-ui-font-color2,#57606a)'>{html.escape(text)}</span>"
