"""The live training dashboard: one widget per run, fed by the Trainer's events.

What a person sees while a run trains (JupyterLab, Notebook 7, VS Code, Colab):

- a title and a status line (running / stopped by user / interrupted / finished /
  failed: the error's one line), a progress bar (phase, epoch i/n, batch j/m,
  elapsed<remaining, items/s, smoothed loss) and the Stop control;
- the plot (:mod:`.figure`): losses, metrics and the learning rate;
- a resource strip under the plot (GPU util and memory with the run's peak, or CPU and RAM
  without a GPU; see :mod:`.resources`) and, when the steps waited for data more than
  ``DATA_WAIT_WARN_SHARE`` of the time, one sentence saying so with the fix;
- the per-epoch table, best epoch marked.

Cheap by construction: a batch event costs a counter and a list append; the
view draws at most every ``min_interval`` seconds (more rarely if drawing gets
slow or the run long), each draw reads ``source.loss_points(since)`` once (the
only device read) and restyles the changed traces in one ``batch_update``.
Drawing never raises into training. The words are :mod:`.render`'s, the plot :mod:`.figure`'s;
what stays here (a little over 400 lines) is one idea: a run's events in, throttled draws, one end.

When the run ends, :meth:`Dashboard.close` replaces the widget by a static
rendering that needs no kernel (survives saving, reloading, nbconvert and
viewers): the figure as a plotly bundle (``application/vnd.plotly.v1+json``,
``text/html`` that loads plotly.js from its CDN, ``text/plain``), and below it
the status, the epoch table and the run's summary (``text/html`` and
``text/plain``). The two are separate outputs because JupyterLab shows the
plotly mime type alone when a bundle has it: one bundle with the table in its
HTML would lose the table there.

DOM hooks (stable class names, for people and browser tests): the widget
``.jdl-dashboard``; inside it the hooks of :mod:`.render` (title, status, progress, strip,
advice, table), ``.jdl-plot`` (the plotly graph div itself: ``.jdl-plot.js-plotly-plot``; trace
order in :mod:`.figure`), the Stop control
``.jdl-stop-control`` with ``button.jdl-stop``, ``input.jdl-stop-after-epoch``
and ``.jdl-stop-message``. After the run: a plotly figure (JupyterLab renders
the plotly mime type: a ``.js-plotly-plot`` in the output; HTML-only viewers get
``.jdl-static-figure``), then ``.jdl-result`` with ``.jdl-status``,
``table.jdl-table``, ``.jdl-monitor`` (the run's average use and peak memory), ``.jdl-advice``
and ``.jupyter-dl-summary``.
"""
from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from ..train import events as ev
from ..train.records import find_best
from ..train.timing import RunTiming
from ..ui.formatting import one_line
from ..ui.output import display_widget, enable_colab_widgets, plotly_bundle
from .figure import LossFeed, TrainingFigure
from .progress_state import ProgressState
from .render import advice_html, final_status_text, header_html, progress_html, result_bundle, strip_html, table_html

# Dashboards whose run ended: their widgets are closed when the next one starts
# (closing at once would make the kernel log "No such comm" for every plot
# update the page queued while the cell was busy).
_RETIRED: list[Dashboard] = []
_RETIRED_LOCK = threading.Lock()


class Dashboard:
    """The live view of one training run (an event subscriber); see the module docstring.

    ``view(event)`` for each event, ``view.close(status, summary)`` at the end.
    ``show=False`` builds the widgets without displaying them (tests).
    ``clock`` is the time source for throttling (tests pass a fake one).
    ``monitor``: where the resource strip's numbers come from: True for the process's sampler
    (:func:`jupyter_dl.monitor.get_sampler`), a :class:`jupyter_dl.monitor.Sampler`, or False
    for no strip.
    """

    def __init__(self, *, total_epochs: int | None = None, title: str = "", mode: str = "foreground",
                 on_stop: Callable[[str], None] | None = None, min_interval: float = 0.3,
                 max_points: int = 2000, show: bool = True, clock: Callable[[], float] = time.perf_counter,
                 monitor: Any = True) -> None:
        import ipywidgets as widgets

        from .resources import RunMonitor
        from .stop_control import StopControl, close_retired

        _close_retired()
        close_retired()
        enable_colab_widgets()
        self.title = title or "training"
        self.mode = mode
        self.on_stop = on_stop
        self.min_interval = float(min_interval)
        self.max_points = int(max_points)
        self._clock = clock
        self._lock = threading.RLock()
        self.state = ProgressState(total_epochs)

        self._phase: str | None = None
        self._best_from_checkpoint: int | None = None
        self._table_dirty = False
        # The resource strip (sampled on the sampler's thread, shown at draws) and the data-wait totals.
        self.run_monitor = None if monitor is False or monitor is None else RunMonitor(
            sampler=None if monitor is True else monitor)
        self.timing = RunTiming()
        self.advice: str | None = None

        # Throttling and bookkeeping.
        self._last_draw = -math.inf
        self._next_draw = -math.inf
        self._draw_cost = 0.0
        self.draws = 0
        self.failures = 0
        self.closed = False
        self.final_status: str | None = None
        self.status_text = "starting"
        self._summary: str | None = None

        # The widgets.
        self.stop_control = StopControl(mode=mode, on_stop=on_stop)
        self.stop_control.add_listener(self._on_stop_message)
        # Title + status (changes rarely) beside the Stop control; the progress line under them, full width.
        self.header = widgets.HTML(value=self._header_html(), layout=widgets.Layout(flex="1 1 auto"))
        self.header.add_class("jdl-header")
        top = widgets.HBox([self.header, self.stop_control],
                           layout=widgets.Layout(justify_content="space-between", align_items="flex-start",
                                                 width="100%"))
        top.add_class("jdl-top")
        self.progress = widgets.HTML(value=self._progress_html(), layout=widgets.Layout(width="100%"))
        self.progress.add_class("jdl-progress-box")
        self.plot = TrainingFigure(max_points)
        self.feed = LossFeed(self.plot)
        self.figure = self.plot.widget        # the FigureWidget
        self.figure.add_class("jdl-plot")
        self.resources = widgets.HTML(value="", layout=widgets.Layout(width="100%"))
        self.resources.add_class("jdl-monitor-box")
        self.table = widgets.HTML(value="")
        self.table.add_class("jdl-table-box")
        self.widget = widgets.VBox([top, self.progress, self.figure, self.resources, self.table],
                                   layout=widgets.Layout(width="100%"))
        self.widget.add_class("jdl-dashboard")
        self._handle: Any = None
        self._info_handle: Any = None
        if show:
            self.show()

    # ------------------------------------------------------------------ display
    def show(self) -> None:
        """Display the widget (and below it the place the final table and summary will go)."""
        from IPython.display import display

        self._handle = display_widget(
            self.widget, f"jupyter_dl · {self.title}: live training dashboard (needs a Jupyter widget front end)")
        self._info_handle = display({"text/plain": ""}, raw=True, display_id=True)

    def _ipython_display_(self) -> None:  # ``display(dashboard)`` shows the widget
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ events
    def __call__(self, event: ev.Event) -> None:
        """One event of the run (the Trainer's bus calls this); never raises into training."""
        try:
            if event.kind == ev.BATCH_END and (event.source is self.feed.source or event.source is None):
                # The per-batch path: a few assignments, one clock read; a draw when it is due.
                if self.closed:
                    return
                self.state.apply(event)
                self.feed.batch(event.data.get("lr"))
                if self._clock() >= self._next_draw:
                    with self._lock:
                        if not self.closed:
                            self.draw()
                return
            with self._lock:
                if not self.closed:
                    self._on_event(event)
        except Exception as exc:  # drawing must never stop training
            self.failures += 1
            if self.failures == 1:
                warnings.warn(f"jupyter_dl: the dashboard could not draw ({exc!r}); training goes on.", stacklevel=2)

    def _on_event(self, event: ev.Event) -> None:
        kind, data = event.kind, event.data
        if event.source is not None and event.source is not self.feed.source:
            self.feed.set_source(event.source)
        self.state.apply(event)
        if kind == ev.BATCH_END:
            self.feed.batch(data.get("lr"))
            if self._clock() >= self._next_draw:
                self.draw()
            return
        after_pull = None
        self.timing.update(kind, data, event.source)
        if kind == ev.FIT_START:
            self.stop_control.fit_started()
            self._listen_to_monitor(True, data.get("device"))
            after_pull = lambda: self._phase_start(data.get("phase") or "")  # noqa: E731
        elif kind == ev.FIT_END:
            self._listen_to_monitor(False)
        elif kind == ev.EPOCH_START:
            self.stop_control.epoch_started(data.get("epoch"))
        elif kind == ev.EPOCH_END:
            self.stop_control.epoch_ended(data.get("epoch"))
            after_pull = lambda: self._add_epoch(dict(data))  # noqa: E731
        elif kind == ev.CHECKPOINT:
            self._best_from_checkpoint = data.get("epoch", self._best_from_checkpoint)
            self._table_dirty = True
        self.draw(after_pull)

    def _listen_to_monitor(self, listen: bool, device: Any = None) -> None:
        """The strip samples only while a fit runs; a sampler that fails costs the strip, never the run."""
        if self.run_monitor is None:
            return
        try:
            if listen:
                self.run_monitor.start(device)
            else:
                self.run_monitor.stop()
        except Exception as exc:
            warnings.warn(f"jupyter_dl: the resource strip is not available ({exc!r}); training goes on.", stacklevel=2)
            self.run_monitor = None

    def _phase_start(self, phase: str) -> None:
        """A fit starts: mark the place where the phase changes (e.g. frozen -> unfrozen)."""
        if self._phase is not None and phase and phase != self._phase:
            self.plot.add_phase_mark((self.feed.x() or 0) + 0.5, phase)
        self._phase = phase or self._phase

    def _interval(self) -> float:
        # At most ~0.5% of the time drawing, and fewer draws late in a long run (the page keeps up).
        return max(self.min_interval, 200 * self._draw_cost, self.state.elapsed() / 2000)

    # ------------------------------------------------------------------ data
    def _pull(self) -> None:
        """Read the new loss points (one device read) into the plot."""
        newest = self.feed.pull(self.state.epoch)
        if newest is not None:
            self.state.loss = newest

    def _add_epoch(self, record: dict) -> None:
        self.plot.add_epoch(self.feed.x(), record)
        self._table_dirty = True

    def best_epoch(self) -> int | None:
        """The epoch whose weights were kept (CHECKPOINT events), else the best by the records."""
        if self._best_from_checkpoint is not None:
            return self._best_from_checkpoint
        best = find_best(self.state.rows)
        return None if best is None else best.epoch

    # ------------------------------------------------------------------ drawing
    def draw(self, after_pull: Callable[[], None] | None = None) -> None:
        """Read the new points (one ``loss_points`` call) and update the widgets: the throttled unit of work."""
        start = self._clock()
        self._last_draw = start
        self._next_draw = start + self._interval()  # also when this draw fails: no retry per batch
        try:
            self._pull()
            if after_pull is not None:
                after_pull()
            self._render()
            self.draws += 1
        finally:
            self._draw_cost = max(self._clock() - start, 0.0)
            self._next_draw = start + self._interval()

    def _render(self) -> None:
        self.plot.render()
        self._set_text()
        if self._table_dirty:
            self.table.value = self._table_html()
            self._table_dirty = False

    # ------------------------------------------------------------------ text
    def _progress_text(self) -> str:
        return " \u00b7 ".join(self.state.parts(remaining=not self.closed))

    def _live_status(self) -> str:
        if self.final_status is not None:
            return self.status_text
        status = self.state.status
        if status.startswith("failed"):
            return one_line(status)
        return status

    def _header_html(self) -> str:
        return header_html(self.title, self._live_status())

    def _progress_html(self) -> str:
        fraction = self.state.fraction() if self.state.status != "starting" else 0.0
        if self.final_status == "finished":
            fraction = 1.0
        return progress_html(fraction, self._progress_text())

    def _set_text(self) -> None:
        # A widget sends an update only when its value changes: the title line rarely does.
        header, progress = self._header_html(), self._progress_html()
        if self.header.value != header:
            self.header.value = header
        if self.progress.value != progress:
            self.progress.value = progress
        self.advice = self.timing.advice(self.feed.source)
        resources = self._resources_html()
        if self.resources.value != resources:
            self.resources.value = resources

    def _resources_html(self) -> str:
        """The live strip (latest sample, the run's peak) and the data-wait sentence, if any."""
        line, tip = self.run_monitor.live_text() if self.run_monitor is not None and not self.closed else ("", "")
        return (strip_html(line, tip) if line else "") + (advice_html(self.advice) if self.advice else "")

    def _table_html(self) -> str:
        return table_html(self.state.columns(), self.state.rows, self.best_epoch())

    # ------------------------------------------------------------------ the end
    def close(self, status: str, summary: str | None = None) -> None:
        """The run ended with ``status``: draw the last points, then leave a static rendering."""
        with self._lock:
            if self.closed:
                return
            try:
                self._pull()
                self._render()
            except Exception:
                pass
            self._listen_to_monitor(False)
            self.closed = True
            self.final_status = status
            self._summary = summary
            self.status_text = final_status_text(status, self.state.status, self.stop_control.stop_clicked)
            try:
                self.stop_control.running = False
                self.stop_control.message = ""
                self._set_text()
            except Exception:
                pass
            self._leave_static()
            with _RETIRED_LOCK:
                _RETIRED.append(self)

    def _on_stop_message(self, message: dict) -> None:
        # A Stop click in a foreground run reaches the kernel after the cell: the run was
        # "interrupted" by the button's kernel interrupt, so say "stopped by user".
        with self._lock:
            if self.closed and self.final_status == "interrupted":
                text = final_status_text("interrupted", self.state.status, stop_clicked=True)
                if text != self.status_text:
                    self.status_text = text
                    self._leave_static(figure=False)  # the figure does not show the status

    def static_figure(self) -> dict:
        """The final figure as a plain plotly JSON dict (data, layout, config)."""
        return self.plot.static(self.title)

    def static_bundles(self) -> tuple[dict, dict]:
        """(figure bundle, result bundle): what replaces the widget when the run ends."""
        n_steps, n_epochs = self.plot.loss.count, len(self.state.rows)
        figure_bundle = plotly_bundle(
            self.static_figure(), f"<jupyter_dl · {self.title}: training curves, {n_steps} steps, {n_epochs} epochs "
                                  "(a plotly figure)>", css_class="jdl-static-figure", default_height="460px")
        result = result_bundle(
            title=self.title, status=self.status_text, progress=self._progress_text(),
            columns=self.state.columns(), rows=self.state.rows, best=self.best_epoch(),
            resources=self.run_monitor.summary() if self.run_monitor is not None else "",
            advice=self.advice or "", summary=self._summary or "")
        return figure_bundle, result

    def _leave_static(self, figure: bool = True) -> None:
        try:
            figure_bundle, result_bundle = self.static_bundles()
        except Exception as exc:
            warnings.warn(f"jupyter_dl: could not render the final dashboard ({exc!r}).", stacklevel=2)
            return
        if figure and self._handle is not None:
            self._handle.update(figure_bundle, raw=True)
        if self._info_handle is not None:
            self._info_handle.update(result_bundle, raw=True)

    def dispose(self) -> None:
        """Close the widgets (front-end models go away); the static rendering stays."""
        self._listen_to_monitor(False)
        for widget in (self.widget, self.figure, self.resources, self.table, self.header, self.progress,
                       self.stop_control):
            try:
                for child in getattr(widget, "children", ()):
                    child.close()
                widget.close()
            except Exception:
                pass


def _close_retired() -> None:
    with _RETIRED_LOCK:
        retired, _RETIRED[:] = list(_RETIRED), []
    for dashboard in retired:
        dashboard.dispose()
