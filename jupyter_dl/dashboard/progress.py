"""Training progress that works in every front end, without custom widgets.

In a kernel (JupyterLab, Notebook 6 and 7, VS Code, Colab, nbconvert) it is one display updated in
place through a display handle, like fastprogress: an HTML progress bar, the loss curves as inline SVG
(:mod:`.svg_chart`: train loss smoothed, valid loss and metrics per epoch, the learning rate) and the
per-epoch table, with a plain-text alternative (a sparkline of the loss) in the same bundle. The last
update stays in the saved notebook with the curves as an SVG image (shown also where a notebook opens
untrusted), so nbconvert's HTML shows them. Where jupyter_dl's anywidgets
render but plotly's figure widget does not (plotly 5: Colab's stack, classic Notebook 6), a Stop control
(:mod:`.stop_control`) sits right above it; where no widget renders, a foreground run says under the
progress line how to interrupt in this front end (:mod:`.stop_hints`). In a terminal it writes a
carriage-return progress line and one row per epoch.

The view subscribes to the Trainer's event stream and draws at most every ``min_interval`` seconds
(more rarely when drawing gets slow or the run long: at most ~0.5% of the time); the losses are read
from the device only then (``source.loss_points(since)``, one read). When the training steps wait for
data more than ``DATA_WAIT_WARN_SHARE`` of the time, one sentence under the bar says so with the fix
(a terminal gets it once).

DOM hooks: ``.jupyter-dl-progress`` (the display), ``.jdl-title``, ``progress``, ``.jdl-progress-text``,
``.jdl-stop-hint`` (while running, no button), ``.jdl-chart`` holding the curves (:mod:`.svg_chart`: live
``svg.jdl-svg-chart`` with ``path.jdl-svg-train``, ...; after the run ``img.jdl-svg-image``), ``.jdl-advice``,
``table.jdl-table``; the Stop control above it: ``.jdl-stop-control.jdl-stop-inline`` (``data-mode``,
``data-page``) with ``button.jdl-stop``, removed from the output when the run ends.
"""
from __future__ import annotations

import contextlib
import html
import math
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from ..train import events as ev
from ..train.timing import RunTiming
from ..ui import frontend
from ..ui.output import display_widget, show_summary_text
from .figure import LossFeed
from .progress_state import ProgressState
from .render import cell_text, column_header, final_status_text, table_header_text, table_row_text
from .svg_chart import SvgChart, svg_image

# The final image's text and grid colour: readable on light and dark pages alike.
FINAL_INK = "#6e7781"


def _bar(state: ProgressState, width: int = 30) -> str:
    filled = int(state.fraction() * width)
    return "[" + "#" * filled + "-" * (width - filled) + "] " + state.headline()


def render_text(state: ProgressState, chart: str = "", summary: str = "") -> str:
    """The progress as text: a bar line, the ``chart`` line (a sparkline), the data-wait sentence, the epoch table,
    the run's ``summary``."""
    lines = [_bar(state)]
    if chart:
        lines.append(chart)
    if state.advice:
        lines.append(state.advice)
    cols = state.columns()
    if cols:
        lines.append(table_header_text(cols))
        lines += [table_row_text(cols, row) for row in state.rows]
    if summary:
        lines.append(f"jupyter_dl \u00b7 {summary}")
    return "\n".join(lines)


def render_html(state: ProgressState, chart: str = "", *, title: str = "", hint: str = "", summary: str = "") -> str:
    """The progress as HTML: ``title``, a progress bar with its line, the stop ``hint``, the ``chart`` (an SVG),
    the data-wait sentence, the epoch table, the run's ``summary``."""
    pct = state.fraction() * 100
    cols = state.columns()
    head = "".join(f"<th style='text-align:right;padding:2px 8px'>{html.escape(column_header(c))}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(
            f"<td style='text-align:right;padding:2px 8px'>{html.escape(cell_text(c, row.get(c)))}</td>"
            for c in cols) + "</tr>"
        for row in state.rows
    )
    table = f"<table class='jdl-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if cols else ""
    advice = f"<div class='jdl-advice'>{html.escape(state.advice)}</div>" if state.advice else ""
    title_html = f"<b class='jdl-title'>{html.escape(title)}</b> " if title else ""
    hint_html = (f"<div class='jdl-stop-hint' style='font-size:0.9em;opacity:0.75;margin:2px 0'>"
                 f"{html.escape(hint)}</div>" if hint else "")
    chart_html = f"<div class='jdl-chart' style='margin:6px 0 2px 0'>{chart}</div>" if chart else ""
    summary_html = (f"<div class='jdl-summary jupyter-dl-summary' style='margin-top:4px'><b>jupyter_dl</b> \u00b7 "
                    f"{html.escape(summary)}</div>" if summary else "")
    return (
        "<div class='jupyter-dl-progress'>"
        f"{title_html}<progress value='{pct:.1f}' max='100' style='width:300px;vertical-align:middle'></progress> "
        f"<span class='jdl-progress-text' style='font-family:monospace'>{html.escape(state.headline())}</span>"
        f"{hint_html}{chart_html}{advice}{table}{summary_html}</div>"
    )


class ProgressView:
    """Event subscriber that draws :class:`ProgressState` in place, throttled (see the module docstring).

    ``chart``: draw the loss curves (default: in a kernel). ``stop_control``: a
    :class:`~.stop_control.StopControl` to show above the display (the caller decides where widgets
    render). ``stop_hint``: the sentence saying how to interrupt, shown while the run goes on.
    ``clock`` is the time source for throttling (tests pass a fake one).
    """

    def __init__(self, total_epochs: int | None = None, min_interval: float = 0.3,
                 kernel: bool | None = None, stream: Any = None, *, title: str = "", chart: bool | None = None,
                 stop_control: Any = None, stop_hint: str = "", max_points: int = 300,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.state = ProgressState(total_epochs)
        self.title = title
        self.min_interval = min_interval
        self.kernel = frontend.in_kernel() if kernel is None else kernel
        self.stream = stream or sys.stdout
        self._clock = clock
        self._lock = threading.RLock()
        self._handle: Any = None
        self._next_draw = -math.inf
        self._draw_cost = 0.0
        self.draws = 0
        self.failures = 0
        self._source: Any = None
        self._printed_rows = 0
        self.timing = RunTiming()
        self._printed_advice = False
        # A log file or a captured stream gets epoch rows only, not redrawn bar lines.
        self._live_line = bool(getattr(self.stream, "isatty", lambda: False)())
        # The curves (in a kernel): points move from the loss source into the chart when it draws.
        self.chart = SvgChart(max_points) if (self.kernel if chart is None else chart) else None
        self.feed = LossFeed(self.chart) if self.chart is not None else None
        self._phase: str | None = None
        self.stop_control = stop_control
        self.stop_hint = stop_hint
        self._stop_handle: Any = None
        self.closed = False
        self.final_status: str | None = None
        self.summary = ""
        if stop_control is not None:
            stop_control.add_class("jdl-stop-inline")
            stop_control.add_listener(self._on_stop_message)
        if self.kernel:
            # Shown now, from the cell that starts the run: a background run draws from its thread later, when
            # a new output would land in whichever cell runs then; updates through the handles stay here.
            with self._lock:
                self._draw_display()

    # ------------------------------------------------------------------ events
    def __call__(self, event: ev.Event) -> None:
        """One event of the run: state updated; a draw for every event but a batch, and for a batch when due."""
        try:
            with self._lock:
                if self.closed:
                    return
                if event.source is not None and event.source is not self._source:
                    self._source = event.source
                    if self.feed is not None:
                        self.feed.set_source(event.source)
                self.state.apply(event)
                if event.kind == ev.BATCH_END:
                    if self.feed is not None:
                        self.feed.batch(event.data.get("lr"))
                    if self._clock() >= self._next_draw:
                        self.draw()
                    return
                self.timing.update(event.kind, event.data, event.source)
                self._stop_control_event(event)
                self.draw(self._chart_event(event))
        except Exception as exc:  # drawing must never stop training
            self.failures += 1
            if self.failures == 1:
                warnings.warn(f"jupyter_dl: the progress view could not draw ({exc!r}); training goes on.",
                              stacklevel=2)

    def _chart_event(self, event: ev.Event) -> Callable[[], None] | None:
        """What the chart adds once the new losses are in: an epoch's point, a phase mark."""
        chart, feed = self.chart, self.feed
        if chart is None or feed is None:
            return None
        if event.kind == ev.EPOCH_END:
            record = dict(event.data)
            return lambda: chart.add_epoch(feed.x(), record)
        if event.kind == ev.FIT_START:
            phase = event.data.get("phase") or ""

            def mark() -> None:
                if self._phase is not None and phase and phase != self._phase:
                    chart.add_phase_mark(feed.x() + 0.5, phase)
                self._phase = phase or self._phase
            return mark
        return None

    def _stop_control_event(self, event: ev.Event) -> None:
        control = self.stop_control
        if control is None:
            return
        if event.kind == ev.FIT_START:
            control.fit_started()
        elif event.kind == ev.EPOCH_START:
            control.epoch_started(event.data.get("epoch"))
        elif event.kind == ev.EPOCH_END:
            control.epoch_ended(event.data.get("epoch"))

    # ------------------------------------------------------------------ drawing
    def _interval(self) -> float:
        # At most ~0.5% of the time drawing, and fewer draws late in a long run (the page keeps up).
        return max(self.min_interval, 200 * self._draw_cost, self.state.elapsed() / 2000)

    def _read_loss(self) -> None:
        """One device read: the new loss points (into the chart), else the running loss alone."""
        if self.feed is not None and getattr(self._source, "loss_points", None) is not None:
            newest = self.feed.pull(self.state.epoch)
            if newest is not None:
                self.state.loss = newest
            return
        reader: Callable[[], float | None] | None = getattr(self._source, "running_loss", None)
        if reader is not None:
            value = reader()
            if value is not None:
                self.state.loss = value

    def draw(self, after_pull: Callable[[], None] | None = None, read: bool = True) -> None:
        """Read the losses (one device read, unless ``read`` is False), then redraw the display or the terminal."""
        start = self._clock()
        self._next_draw = start + self._interval()  # also when this draw fails: no retry per batch
        try:
            if read:
                self._read_loss()
            if after_pull is not None:
                after_pull()
            self.state.advice = self.timing.advice(self._source)
            if self.kernel:
                self._draw_display()
            else:
                self._draw_terminal()
            self.draws += 1
        finally:
            self._draw_cost = max(self._clock() - start, 0.0)
            self._next_draw = start + self._interval()

    def _chart_parts(self) -> tuple[str, str]:
        """(SVG, text line) of the curves; a chart that fails is dropped with one warning, the progress goes on.

        Live: inline SVG (theme colours). At the end: the same drawing as an image, which a notebook opened
        untrusted still shows (see :func:`~.svg_chart.svg_image`)."""
        if self.chart is None:
            return "", ""
        try:
            text = self.chart.text()
            if self.closed:
                return svg_image(self.chart.svg(self.title, color=FINAL_INK), text), text
            return self.chart.svg(self.title), text
        except Exception as exc:
            self.chart = None
            warnings.warn(f"jupyter_dl: the loss plot could not be drawn ({exc!r}); the progress goes on.",
                          stacklevel=2)
            return "", ""

    def _draw_display(self) -> None:
        from IPython.display import display

        if self.stop_control is not None and self._stop_handle is None and not self.closed:
            self._stop_handle = display_widget(self.stop_control, "jupyter_dl · Stop button (needs a Jupyter "
                                                                  "widget front end)")
        svg, line = self._chart_parts()
        hint = self.stop_hint if not self.closed else ""
        bundle = {"text/html": render_html(self.state, svg, title=self.title, hint=hint, summary=self.summary),
                  "text/plain": render_text(self.state, line, self.summary)}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def _draw_terminal(self) -> None:
        # Epoch rows are printed once, as they arrive; on a terminal the bar line is rewritten.
        state, out = self.state, self.stream
        clear = "\r\033[K" if self._live_line else ""
        if len(state.rows) > self._printed_rows:
            cols = state.columns()
            out.write(clear)
            if self._printed_rows == 0:
                out.write(table_header_text(cols) + "\n")
            for row in state.rows[self._printed_rows:]:
                out.write(table_row_text(cols, row) + "\n")
            self._printed_rows = len(state.rows)
        if state.advice and not self._printed_advice:  # once: a log should not repeat it every draw
            out.write(clear + state.advice + "\n")
            self._printed_advice = True
        if self._live_line:
            out.write(clear + _bar(state))
        out.flush()

    # ------------------------------------------------------------------ the end
    def close(self, status: str | None = None, summary: str | None = None) -> None:
        """Draw the final state (``status``), then the run's ``summary`` below it; the curves stay."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.final_status = status
            if self.kernel:  # in the same output (see __init__); a terminal prints it below
                self.summary = summary or ""
            if status is not None:
                clicked = bool(getattr(self.stop_control, "stop_clicked", False))
                self.state.status = final_status_text(status, self.state.status, clicked)
            try:
                self.draw()
            except Exception:  # the losses could not be read: the end is still shown
                with contextlib.suppress(Exception):
                    self.draw(read=False)
            self._remove_stop_control()
        if not self.kernel:
            self.stream.write("\n" if self._live_line else _bar(self.state) + "\n")
            self.stream.flush()
            if summary:
                show_summary_text(summary)

    def _remove_stop_control(self) -> None:
        """The run ended: no button in the saved notebook (it would read "Error displaying widget" reopened)."""
        control = self.stop_control
        if control is None:
            return
        try:
            control.running = False
            control.message = ""
            if self._stop_handle is not None:
                self._stop_handle.update({"text/plain": ""}, raw=True)
        except Exception:
            pass
        control.retire()  # kept until the next run: a Stop message sent while the cell was busy arrives now

    def _on_stop_message(self, message: dict) -> None:
        # A foreground Stop click reaches the kernel after the cell: the run was "interrupted" by the
        # button's kernel interrupt, so say "stopped by user".
        with self._lock:
            if self.closed and self.final_status == "interrupted":
                text = final_status_text("interrupted", self.state.status, stop_clicked=True)
                if text != self.state.status:
                    self.state.status = text
                    self.draw()
