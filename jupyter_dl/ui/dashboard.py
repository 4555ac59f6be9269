"""The live training dashboard: one widget per run, fed by the Trainer's events.

What a person sees while a run trains (JupyterLab, Notebook 7, VS Code, Colab):

- a title and a status line (running / stopped by user / interrupted / finished /
  failed: the error's one line), a progress bar (phase, epoch i/n, batch j/m,
  elapsed<remaining, items/s, smoothed loss) and the Stop control;
- a plotly ``FigureWidget``: the train loss per batch (raw, faint, and smoothed)
  with the valid loss per epoch, the metrics per epoch (own subplot), the
  learning-rate schedule (small subplot), a dotted line where the phase changes
  (frozen -> unfrozen); hover shows step, epoch and value; linear/log buttons
  for the loss axis work in the page even while the kernel is busy;
- a resource strip under the plot (GPU util and memory with the run's peak, or CPU and RAM
  without a GPU; see ``monitor_strip.py``) and, when the steps waited for data more than
  ``DATA_WAIT_WARN_SHARE`` of the time, one sentence saying so with the fix;
- the per-epoch table, best epoch marked.

Cheap by construction: a batch event costs a counter and a list append; the
view draws at most every ``min_interval`` seconds (more rarely if drawing gets
slow or the run long), each draw reads ``source.loss_points(since)`` once (the
only device read) and restyles the changed traces in one ``batch_update``;
series are bounded (every 2nd, 4th... point past ``max_points``). Drawing never
raises into training.

When the run ends, :meth:`Dashboard.close` replaces the widget by a static
rendering that needs no kernel (survives saving, reloading, nbconvert and
viewers): the figure as a plotly bundle (``application/vnd.plotly.v1+json``,
``text/html`` that loads plotly.js from its CDN, ``text/plain``), and below it
the status, the epoch table and the run's summary (``text/html`` and
``text/plain``). The two are separate outputs because JupyterLab shows the
plotly mime type alone when a bundle has it: one bundle with the table in its
HTML would lose the table there.

DOM hooks (stable class names, for people and browser tests): the widget
``.jdl-dashboard``; inside it ``.jdl-title``, ``.jdl-status`` (the status text,
also ``.jdl-status-<starting|running|finished|stopped|interrupted|failed>``),
``progress.jdl-progress`` and ``.jdl-progress-text``, ``.jdl-plot`` (the plotly
graph div itself: ``.jdl-plot.js-plotly-plot``, its ``.data[0]`` = train loss
per batch, ``[1]`` smoothed, ``[2]`` valid loss, ``[3]`` lr, ``[4:]`` metrics),
``.jdl-monitor`` (the resource strip; its tooltip names the GPU) and ``.jdl-advice`` (the
data-wait sentence, absent when there is none),
``table.jdl-table`` (``tr.jdl-best`` = the best epoch), the Stop control
``.jdl-stop-control`` with ``button.jdl-stop``, ``input.jdl-stop-after-epoch``
and ``.jdl-stop-message``. After the run: a plotly figure (JupyterLab renders
the plotly mime type: a ``.js-plotly-plot`` in the output; HTML-only viewers get
``.jdl-static-figure``), then ``.jdl-result`` with ``.jdl-status``,
``table.jdl-table``, ``.jdl-monitor`` (the run's average use and peak memory), ``.jdl-advice``
and ``.jupyter-dl-summary``.
"""
from __future__ import annotations

import html
import math
import threading
import time
import warnings
from typing import Any, Callable, Sequence

from ..train import events as ev
from ..train.timing import TIMING_KEYS, RunTiming
from .display import plotly_bundle
from .widget_output import display_widget, enable_colab_widgets
from .progress import (ProgressState, _fmt, _header, _one_line, _table_header, _table_row, final_status_text,
                       format_duration)



# Trace order in the figure; metric traces follow, one per metric, in order of appearance.
RAW, SMOOTH, VALID, LR = 0, 1, 2, 3
LOSS_COLOR = "#1f77b4"
RAW_COLOR = "rgba(31, 119, 180, 0.28)"
VALID_COLOR = "#ff7f0e"
LR_COLOR = "#7f7f7f"
METRIC_COLORS = ("#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}

# Not metrics: the other keys of an epoch record.
_NOT_METRICS = {"epoch", "phase", "train_loss", "valid_loss", "seconds", "lr", "time", *TIMING_KEYS}

# Static-HTML colours of the status kinds (no page CSS there).
_STATUS_COLORS = {"running": "#1565c0", "starting": "#1565c0", "finished": "#2e7d32",
                  "stopped": "#b26a00", "interrupted": "#b26a00", "failed": "#c62828"}

# Dashboards whose run ended: their widgets are closed when the next one starts
# (closing at once would make the kernel log "No such comm" for every plot
# update the page queued while the cell was busy).
_RETIRED: list["Dashboard"] = []
_RETIRED_LOCK = threading.Lock()


class _Series:
    """Columns of points (x first), bounded: past ``max_points`` only every 2nd, 4th, ... point is kept.

    The newest point is always shown (as a tail) even when the stride skips it.
    """

    def __init__(self, ncols: int, max_points: int) -> None:
        self.cols: list[list] = [[] for _ in range(ncols)]
        self.max_points = max(int(max_points), 4)
        self.stride = 1
        self.count = 0            # points offered so far
        self.tail: tuple | None = None

    def __len__(self) -> int:
        return len(self.cols[0]) + (self.tail is not None)

    def extend(self, *columns: Sequence) -> None:
        n = len(columns[0])
        if not n:
            return
        cols = self.cols
        for i in range(n):
            if self.count % self.stride == 0:
                for col, values in zip(cols, columns):
                    col.append(values[i])
                if len(cols[0]) > self.max_points:
                    for col in cols:
                        del col[1::2]
                    self.stride *= 2
            self.count += 1
        last = n - 1
        kept = (self.count - 1) % self.stride == 0
        self.tail = None if kept else tuple(values[last] for values in columns)

    def columns(self) -> list[list]:
        if self.tail is None:
            return [list(col) for col in self.cols]
        return [col + [value] for col, value in zip(self.cols, self.tail)]


def _status_kind(text: str) -> str:
    word = (text or "").split(" ", 1)[0].rstrip(":").lower()
    return word if word in _STATUS_COLORS else ("stopped" if word == "stopping" else "running")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float)):
        try:  # numpy / torch scalars
            value = float(value)
        except (TypeError, ValueError):
            return None
    value = float(value)
    return value if math.isfinite(value) else None


def best_epoch(rows: list[dict]) -> int | None:
    """The best epoch of ``rows``: by the first metric (error-like names: lower), else the valid loss."""
    if not rows:
        return None
    metrics = [k for k in rows[0] if k not in _NOT_METRICS and _number(rows[0][k]) is not None]
    monitor = metrics[0] if metrics else "valid_loss"
    lower = any(word in monitor for word in ("loss", "error", "perplexity", "mse", "mae"))
    best: tuple[Any, float] | None = None
    for row in rows:
        value = _number(row.get(monitor))
        if value is None:
            continue
        if best is None or (value < best[1] if lower else value > best[1]):
            best = (row.get("epoch"), value)
    return best[0] if best else None


def _plain(value: Any, digits: int = 6) -> Any:
    """JSON-ready copy: arrays -> lists, floats rounded to ``digits`` significant digits, NaN/inf -> None."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:  # plotly >= 6 writes arrays as base64 typed arrays
            import base64

            import numpy as np

            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            if "shape" in value:
                shape = value["shape"]
                array = array.reshape([int(n) for n in str(shape).split(",")] if isinstance(shape, str) else shape)
            return _plain(array.tolist(), digits)
        return {k: _plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, digits) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist(), digits)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    return value


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

        from .monitor_strip import RunMonitor
        from .stop_control import StopControl

        _close_retired()
        enable_colab_widgets()
        self.title = title or "training"
        self.mode = mode
        self.on_stop = on_stop
        self.min_interval = float(min_interval)
        self.max_points = int(max_points)
        self._clock = clock
        self._lock = threading.RLock()
        self.state = ProgressState(total_epochs)

        # What has been drawn: the x axis is the loss source's step, counted from this run's start.
        self._source: Any = None
        self._base = 0             # the source's step count when this run started
        self._offset = 0           # x of the previous source's last point (when the source changes)
        self._since = 0            # the source's last step already read
        self._last_x: float | None = None
        self._batches = 0          # BATCH_END events seen
        self._lr_pending: list[float] = []
        self.loss = _Series(4, max_points)       # x, raw, smoothed, epoch
        self.lr = _Series(2, max_points)         # x, lr
        self.epochs: list[dict] = []             # {"x", "epoch", "valid_loss", <metric>...}
        self.metric_names: list[str] = []
        self.phase_marks: list[tuple[float, str]] = []
        self._phase: str | None = None
        self._best_from_checkpoint: int | None = None
        self._dirty = {"loss": False, "lr": False, "epochs": False, "marks": False, "table": False}
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
        self._stop_after_pending = False
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
        self.figure = self._make_figure()
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
        try:
            if event.kind == ev.BATCH_END and (event.source is self._source or event.source is None):
                # The per-batch path: a few assignments, one clock read; a draw when it is due.
                if self.closed:
                    return
                self.state.apply(event)
                self._batches += 1
                lr = event.data.get("lr")
                if lr is not None:
                    self._lr_pending.append(lr)
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
                warnings.warn(f"jupyter_dl: the dashboard could not draw ({exc!r}); training goes on.")

    def _on_event(self, event: ev.Event) -> None:
        kind, data = event.kind, event.data
        if event.source is not None and event.source is not self._source:
            self._set_source(event.source)
        self.state.apply(event)
        if kind == ev.BATCH_END:
            self._batches += 1
            lr = data.get("lr")
            if lr is not None:
                self._lr_pending.append(lr)
            if self._clock() >= self._next_draw:
                self.draw()
            return
        after_pull = None
        self.timing.update(kind, data, event.source)
        if kind == ev.FIT_START:
            self._renew_stop_after_epoch()
            self._listen_to_monitor(True, data.get("device"))
            after_pull = lambda: self._phase_start(data.get("phase") or "")  # noqa: E731
        elif kind == ev.FIT_END:
            self._listen_to_monitor(False)
        elif kind == ev.EPOCH_START:
            epoch = data.get("epoch")
            if isinstance(epoch, int) and not isinstance(epoch, bool):
                self.stop_control.epoch = epoch
            self._renew_stop_after_epoch()
        elif kind == ev.EPOCH_END:
            self._stop_after_epoch_check(data.get("epoch"))
            after_pull = lambda: self._add_epoch(dict(data))  # noqa: E731
        elif kind == ev.CHECKPOINT:
            self._best_from_checkpoint = data.get("epoch", self._best_from_checkpoint)
            self._dirty["table"] = True
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
            warnings.warn(f"jupyter_dl: the resource strip is not available ({exc!r}); training goes on.")
            self.run_monitor = None

    def _phase_start(self, phase: str) -> None:
        """A fit starts: mark the place where the phase changes (e.g. frozen -> unfrozen)."""
        if self._phase is not None and phase and phase != self._phase:
            self.phase_marks.append(((self._last_x or self._batches or 0) + 0.5, phase))
            self._dirty["marks"] = True
        self._phase = phase or self._phase

    def _set_source(self, source: Any) -> None:
        if self._source is not None and self._last_x is not None:
            self._offset = self._last_x
        self._source = source
        step = getattr(source, "global_step", 0)
        self._base = step if isinstance(step, int) and not isinstance(step, bool) else 0
        self._since = self._base

    def _interval(self) -> float:
        # At most ~0.5% of the time drawing, and fewer draws late in a long run (the page keeps up).
        return max(self.min_interval, 200 * self._draw_cost, self.state.elapsed() / 2000)

    # ------------------------------------------------------------------ stop after this epoch
    def _stop_after_epoch_check(self, epoch: Any) -> None:
        if self.stop_control.stop_after_epoch and self.on_stop is not None:
            self._stop_after_pending = True
            self.on_stop("user")
            self.stop_control.message = f"Stopping after epoch {epoch}\u2026" if epoch else "Stopping\u2026"

    def _renew_stop_after_epoch(self) -> None:
        # A trainer forgets a stop request when a fit ends; the next fit of the same run must still stop.
        if self._stop_after_pending and self.on_stop is not None:
            self.on_stop("user")

    # ------------------------------------------------------------------ data
    def _pull(self) -> None:
        """Read the new loss points (one device read) into the bounded series."""
        source = self._source
        reader = getattr(source, "loss_points", None) if source is not None else None
        pending, self._lr_pending = self._lr_pending, []
        steps: list = []
        xs: list = []
        if reader is not None:
            steps, raw, smooth = reader(self._since)
            if steps:
                self._since = steps[-1]
                shift = self._offset - self._base
                xs = [s + shift for s in steps]
                epoch = self.state.epoch
                self.loss.extend(xs, raw, smooth, [epoch] * len(xs))
                self._last_x = xs[-1]
                self.state.loss = smooth[-1]
                self._dirty["loss"] = True
        if pending:
            if xs and len(pending) == len(xs):  # one loss per batch: the lr of each step
                self.lr.extend(xs, pending)
            elif self._last_x is not None:
                self.lr.extend([self._last_x], [pending[-1]])
            else:  # no loss source: count batches
                first = self._batches - len(pending) + 1
                self.lr.extend(list(range(first, self._batches + 1)), pending)
            self._dirty["lr"] = True

    def _add_epoch(self, record: dict) -> None:
        x = self._last_x if self._last_x is not None else self._batches
        point = {"x": x, "epoch": record.get("epoch"), "valid_loss": _number(record.get("valid_loss"))}
        for key, value in record.items():
            if key in _NOT_METRICS:
                continue
            number = _number(value)
            if number is None:
                continue
            if key not in self.metric_names:
                self.metric_names.append(key)
            point[key] = number
        self.epochs.append(point)
        self._dirty["epochs"] = self._dirty["table"] = True
        if len(self.epochs) == 1:
            self._dirty["marks"] = True  # the "after each epoch" note goes

    def best_epoch(self) -> int | None:
        """The epoch whose weights were kept (CHECKPOINT events), else the best by the records."""
        if self._best_from_checkpoint is not None:
            return self._best_from_checkpoint
        return best_epoch(self.state.rows)

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
        import numpy as np

        fig, dirty = self.figure, self._dirty
        if dirty["epochs"]:
            self._ensure_metric_traces()
        if dirty["loss"] or dirty["lr"] or dirty["epochs"] or dirty["marks"]:
            with fig.batch_update():
                data = fig.data
                # float32 arrays travel as binary buffers: half the bytes of float64, plenty for a plot.
                if dirty["loss"]:
                    x, raw, smooth, epoch = self.loss.columns()
                    xs, ep = np.asarray(x, dtype=np.float32), np.asarray(epoch, dtype=np.int32)
                    data[RAW].update(x=xs, y=np.asarray(raw, dtype=np.float32), customdata=ep)
                    data[SMOOTH].update(x=xs, y=np.asarray(smooth, dtype=np.float32), customdata=ep)
                if dirty["lr"]:
                    x, lr = self.lr.columns()
                    data[LR].update(x=np.asarray(x, dtype=np.float32), y=np.asarray(lr, dtype=np.float32))
                if dirty["epochs"]:
                    xs = [p["x"] for p in self.epochs]
                    ep = [p["epoch"] for p in self.epochs]
                    data[VALID].update(x=xs, y=[p["valid_loss"] for p in self.epochs], customdata=ep)
                    for i, name in enumerate(self.metric_names):
                        data[LR + 1 + i].update(x=xs, y=[p.get(name) for p in self.epochs], customdata=ep)
                if dirty["marks"]:
                    fig.layout.shapes, fig.layout.annotations = self._marks_layout()
                    self._show_metric_row(bool(self.metric_names) or not self.epochs)
        self._set_text()
        if dirty["table"]:
            self.table.value = self._table_html()
        for key in dirty:
            dirty[key] = False

    def _ensure_metric_traces(self) -> None:
        import plotly.graph_objects as go

        have = len(self.figure.data) - (LR + 1)
        for i, name in enumerate(self.metric_names[have:], start=have):
            color = METRIC_COLORS[i % len(METRIC_COLORS)]
            self.figure.add_trace(go.Scatter(
                x=[], y=[], name=name, mode="lines+markers", xaxis="x2", yaxis="y2",
                line=dict(color=color, width=2), marker=dict(size=7),
                hovertemplate=f"epoch %{{customdata}}<br>{html.escape(name)} %{{y:.4f}}<extra></extra>"))
        if len(self.metric_names) == 1:
            self.figure.layout.yaxis2.title.text = self.metric_names[0]

    def _show_metric_row(self, show: bool) -> None:
        """A run without metrics gives their row to the loss plot (after its first epoch)."""
        layout = self.figure.layout
        if bool(layout.yaxis2.visible is not False) == show:
            return
        layout.yaxis.domain = [0.43, 1.0] if show else [0.22, 1.0]
        layout.yaxis2.visible = layout.xaxis2.visible = show

    def _marks_layout(self) -> tuple[list[dict], list[dict]]:
        shapes, notes = [], []
        if not self.epochs:  # the metric row is empty until the first epoch ends: say so
            notes.append(dict(text="valid loss and metrics appear after each epoch", xref="paper", x=0.5,
                              yref="paper", y=0.285, showarrow=False, font=dict(size=11, color="#8c959f"),
                              name="jdl-pending-epochs"))
        for x, phase in self.phase_marks:
            shapes.append(dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                               line=dict(color="#8c8c8c", width=1, dash="dot"), name=f"phase:{phase}"))
            notes.append(dict(x=x, xref="x", y=1, yref="paper", text=phase, showarrow=False,
                              xanchor="left", yanchor="top", xshift=3, font=dict(size=11, color="#6e7781")))
        return shapes, notes

    def _make_figure(self):
        import plotly.graph_objects as go

        hover_loss = "step %{x}<br>epoch %{customdata}<br>%{y:.4f}<extra>%{fullData.name}</extra>"
        traces = [
            go.Scatter(x=[], y=[], name="train loss (batch)", mode="lines", xaxis="x", yaxis="y",
                       line=dict(color=RAW_COLOR, width=1), hovertemplate=hover_loss),
            go.Scatter(x=[], y=[], name="train loss (smoothed)", mode="lines", xaxis="x", yaxis="y",
                       line=dict(color=LOSS_COLOR, width=2), hovertemplate=hover_loss),
            go.Scatter(x=[], y=[], name="valid loss", mode="lines+markers", xaxis="x", yaxis="y",
                       line=dict(color=VALID_COLOR, width=2), marker=dict(size=7),
                       hovertemplate="epoch %{customdata}<br>step %{x}<br>valid loss %{y:.4f}<extra></extra>"),
            go.Scatter(x=[], y=[], name="learning rate", mode="lines", xaxis="x3", yaxis="y3", showlegend=False,
                       line=dict(color=LR_COLOR, width=1.5), hovertemplate="step %{x}<br>lr %{y:.3e}<extra></extra>"),
        ]
        axis = dict(showline=True, linecolor="#d0d7de", gridcolor="#eef1f4", zeroline=False)
        layout = go.Layout(
            template="plotly_white", height=430, autosize=True, uirevision="jdl",
            margin=dict(l=64, r=16, t=44, b=40), hovermode="closest",
            font=dict(size=12),
            legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom", font=dict(size=11),
                        bgcolor="rgba(0,0,0,0)"),
            xaxis=dict(anchor="y", matches="x3", showticklabels=False, **axis),
            xaxis2=dict(anchor="y2", matches="x3", showticklabels=False, **axis),
            xaxis3=dict(anchor="y3", title=dict(text="step", standoff=4), **axis),
            yaxis=dict(domain=[0.43, 1.0], title=dict(text="loss"), **axis),
            yaxis2=dict(domain=[0.2, 0.37], title=dict(text="metrics"), **axis),
            yaxis3=dict(domain=[0.0, 0.14], title=dict(text="lr"), exponentformat="e", nticks=3, **axis),
            updatemenus=[dict(
                type="buttons", direction="left", showactive=True, active=0, x=1, xanchor="right",
                y=1.02, yanchor="bottom", pad=dict(r=0, t=0, b=0, l=0), font=dict(size=11),
                bgcolor="rgba(0,0,0,0)", bordercolor="#d0d7de", name="loss scale",
                buttons=[dict(label="linear", method="relayout", args=[{"yaxis.type": "linear"}]),
                         dict(label="log", method="relayout", args=[{"yaxis.type": "log"}])])],
        )
        shapes, notes = self._marks_layout()
        layout.annotations = notes
        return go.FigureWidget(data=traces, layout=layout)

    # ------------------------------------------------------------------ text
    def _progress_parts(self) -> list[str]:
        s = self.state
        parts = []
        if s.phase:
            parts.append(s.phase)
        if s.epoch:
            parts.append(f"epoch {s.epoch}/{s.total_epochs or '?'}")
        if s.n_batches:
            parts.append(f"batch {s.batch}/{s.n_batches}")
        elapsed = format_duration(s.elapsed())
        remaining = s.remaining() if not self.closed else None
        parts.append(elapsed + (f"<{format_duration(remaining)}" if remaining is not None else ""))
        speed = s.items_per_second()
        if speed:
            parts.append(f"{speed:.0f} items/s")
        if s.loss is not None:
            parts.append(f"loss {s.loss:.4f}")
        return parts

    def _live_status(self) -> str:
        if self.final_status is not None:
            return self.status_text
        status = self.state.status
        if status.startswith("failed"):
            return _one_line(status)
        return status

    def _header_html(self) -> str:
        status = self._live_status()
        kind = _status_kind(status)
        return (
            "<div class='jdl-head'>"
            f"<span class='jdl-title'>{html.escape(self.title)}</span>"
            f"<span class='jdl-status jdl-status-{kind}' title='{html.escape(status, quote=True)}'>"
            f"{html.escape(status)}</span></div>"
        )

    def _progress_html(self) -> str:
        fraction = self.state.fraction() if self.state.status != "starting" else 0.0
        if self.final_status == "finished":
            fraction = 1.0
        text = " \u00b7 ".join(self._progress_parts())
        return (
            "<div class='jdl-progress-row'>"
            f"<progress class='jdl-progress' value='{fraction * 100:.1f}' max='100'></progress>"
            f"<span class='jdl-progress-text'>{html.escape(text)}</span></div>"
        )

    def _set_text(self) -> None:
        # A widget sends an update only when its value changes: the title line rarely does.
        header, progress = self._header_html(), self._progress_html()
        if self.header.value != header:
            self.header.value = header
        if self.progress.value != progress:
            self.progress.value = progress
        self.advice = self.timing.advice(self._source)
        resources = self._resources_html()
        if self.resources.value != resources:
            self.resources.value = resources

    def _resources_html(self) -> str:
        """The live strip (latest sample, the run's peak) and the data-wait sentence, if any."""
        line, tip = self.run_monitor.live_text() if self.run_monitor is not None and not self.closed else ("", "")
        parts = []
        if line:
            parts.append(f"<div class='jdl-monitor' title='{html.escape(tip, quote=True)}' style='{_STRIP_STYLE}'>"
                         f"{html.escape(line)}</div>")
        if self.advice:
            parts.append(_advice_html(self.advice))
        return "".join(parts)

    def _table_html(self, inline: bool = False) -> str:
        rows = self.state.rows
        cols = self.state.columns()
        if not cols:
            return ""
        best = self.best_epoch()
        cell = " style='text-align:right;padding:2px 10px;border-bottom:1px solid #eaeef2'" if inline else ""
        head = "".join(f"<th{cell}>{html.escape(_header(c))}</th>" for c in cols)
        body = []
        for row in rows:
            is_best = best is not None and row.get("epoch") == best and len(rows) > 1
            style = " style='font-weight:600;background:rgba(46,125,50,0.08)'" if inline and is_best else ""
            cells = []
            for c in cols:
                text = html.escape(_fmt(c, row.get(c)))
                if c == "epoch" and is_best:
                    text += " <span class='jdl-best-mark' title='best epoch (its weights are kept)'>\u2605</span>"
                cells.append(f"<td{cell}>{text}</td>")
            body.append(f"<tr class='{'jdl-best' if is_best else ''}'{style}>{''.join(cells)}</tr>")
        table_style = (" style='border-collapse:collapse;font-family:monospace;font-size:12px;margin:4px 0'"
                       if inline else "")
        return (f"<table class='jdl-table'{table_style}><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")

    def _table_text(self) -> str:
        cols = self.state.columns()
        if not cols:
            return ""
        best = self.best_epoch()
        lines = [_table_header(cols)]
        for row in self.state.rows:
            mark = "  *best" if best is not None and row.get("epoch") == best and len(self.state.rows) > 1 else ""
            lines.append(_table_row(cols, row) + mark)
        return "\n".join(lines)

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
        figure = _plain(self.figure.to_dict())
        layout = figure.get("layout", {})
        # The title names the run but not its status: JupyterLab's plotly renderer ignores updates of a
        # figure it already shows, and a Stop message arriving after the cell may still change the status.
        layout["title"] = {"text": f"{html.escape(self.title)} \u00b7 training", "x": 0.01, "xanchor": "left",
                           "font": {"size": 14}}
        layout["margin"] = {**layout.get("margin", {}), "t": 78}
        legend = layout.get("legend", {})
        legend.update({"y": 1.0, "yanchor": "bottom"})
        layout["legend"] = legend
        return {"data": figure.get("data", []), "layout": layout, "config": dict(PLOT_CONFIG)}

    def static_bundles(self) -> tuple[dict, dict]:
        """(figure bundle, result bundle): what replaces the widget when the run ends."""
        figure = self.static_figure()
        n_steps, n_epochs = self.loss.count, len(self.state.rows)
        figure_bundle = plotly_bundle(
            figure, f"<jupyter_dl · {self.title}: training curves, {n_steps} steps, {n_epochs} epochs "
                    "(a plotly figure)>", css_class="jdl-static-figure", default_height="460px")
        kind = _status_kind(self.status_text)
        color = _STATUS_COLORS.get(kind, "#57606a")
        parts = self._progress_parts()
        summary = self._summary or ""
        resources = self.run_monitor.summary() if self.run_monitor is not None else ""
        advice = self.advice or ""
        result_html = (
            "<div class='jdl-result' style='font-size:13px;margin:2px 0 4px 0'>"
            "<div class='jdl-head' style='display:flex;align-items:center;gap:10px;flex-wrap:wrap'>"
            f"<b class='jdl-title'>{html.escape(self.title)}</b>"
            f"<span class='jdl-status jdl-status-{kind}' style='color:{color};border:1px solid {color};"
            f"border-radius:999px;padding:0 9px'>{html.escape(self.status_text)}</span>"
            f"<span class='jdl-progress-text' style='color:#57606a;font-family:monospace'>"
            f"{html.escape(' · '.join(parts))}</span></div>"
            f"{self._table_html(inline=True)}"
            + (f"<div class='jdl-monitor' style='{_STRIP_STYLE}'>{html.escape(resources)}</div>" if resources else "")
            + (_advice_html(advice) if advice else "")
            + (f"<div class='jdl-summary jupyter-dl-summary' style='margin-top:4px'><b>jupyter_dl</b> · "
               f"{html.escape(summary)}</div>" if summary else "")
            + "</div>"
        )
        text = "\n".join(p for p in (f"{self.title}: {self.status_text} · {' · '.join(parts)}",
                                     self._table_text(), resources, advice, summary) if p)
        return figure_bundle, {"text/html": result_html, "text/plain": text}

    def _leave_static(self, figure: bool = True) -> None:
        try:
            figure_bundle, result_bundle = self.static_bundles()
        except Exception as exc:
            warnings.warn(f"jupyter_dl: could not render the final dashboard ({exc!r}).")
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


_STRIP_STYLE = ("font-family:var(--jp-code-font-family, monospace);font-size:0.92em;"
                "color:var(--jp-ui-font-color2, #57606a);margin:2px 0 0 0")


def _advice_html(text: str) -> str:
    return ("<div class='jdl-advice' style='margin:4px 0 2px 0;padding:2px 8px;"
            "border-left:3px solid var(--jp-warn-color1, #b26a00);color:var(--jp-ui-font-color1, #1f2328)'>"
            f"{html.escape(text)}</div>")


def _close_retired() -> None:
    with _RETIRED_LOCK:
        retired, _RETIRED[:] = list(_RETIRED), []
    for dashboard in retired:
        dashboard.dispose()
