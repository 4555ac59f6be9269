"""The dashboard's plot: a plotly ``FigureWidget`` of the losses, metrics and learning rate.

What it shows: the train loss per batch (raw, faint, and smoothed) with the valid loss per epoch,
the metrics per epoch (own subplot), the learning-rate schedule (small subplot), a dotted line
where the phase changes (frozen -> unfrozen); hover shows step, epoch and value; linear/log buttons
for the loss axis work in the page even while the kernel is busy.

The series are bounded (:class:`BoundedSeries`: every 2nd, 4th... point past ``max_points``), and
:meth:`TrainingFigure.render` restyles only what changed since the last render, in one
``batch_update``. :meth:`TrainingFigure.static` is the same figure as a plain JSON dict for the
rendering that stays after the run.

Trace order (a DOM hook for browser tests: ``.jdl-plot.js-plotly-plot``'s ``.data``): ``[0]`` train
loss per batch, ``[1]`` smoothed, ``[2]`` valid loss, ``[3]`` lr, ``[4:]`` metrics in order of appearance.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any, Protocol

from ..train.records import NOT_METRICS, number

RAW, SMOOTH, VALID, LR = 0, 1, 2, 3
LOSS_COLOR = "#1f77b4"
RAW_COLOR = "rgba(31, 119, 180, 0.28)"
VALID_COLOR = "#ff7f0e"
LR_COLOR = "#7f7f7f"
METRIC_COLORS = ("#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


class BoundedSeries:
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
        """Offer new points, one sequence per column."""
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
        """The kept points (and the tail), one list per column."""
        if self.tail is None:
            return [list(col) for col in self.cols]
        return [col + [value] for col, value in zip(self.cols, self.tail)]


def epoch_point(x: float, record: dict, metric_names: list[str]) -> dict:
    """An epoch's point at step ``x``: epoch, valid loss and metrics; new metric names join ``metric_names``."""
    point = {"x": x, "epoch": record.get("epoch"), "valid_loss": number(record.get("valid_loss"))}
    for key, value in record.items():
        if key in NOT_METRICS:
            continue
        value = number(value)
        if value is None:
            continue
        if key not in metric_names:
            metric_names.append(key)
        point[key] = value
    return point


class CurveSink(Protocol):
    """What :class:`LossFeed` feeds: the widget's :class:`TrainingFigure` or the SVG chart."""

    def add_losses(self, xs: list, raw: list, smooth: list, epoch: int) -> None:
        """Per-step train losses at steps ``xs``."""

    def add_lrs(self, xs: list, lrs: list) -> None:
        """Learning rates at steps ``xs``."""


class TrainingFigure:
    """The plot's data and its ``FigureWidget`` (``.widget``); ``render()`` sends what changed."""

    def __init__(self, max_points: int = 2000) -> None:
        self.loss = BoundedSeries(4, max_points)     # x, raw, smoothed, epoch
        self.lr = BoundedSeries(2, max_points)       # x, lr
        self.epochs: list[dict] = []                 # {"x", "epoch", "valid_loss", <metric>...}
        self.metric_names: list[str] = []
        self.phase_marks: list[tuple[float, str]] = []
        self._dirty = {"loss": False, "lr": False, "epochs": False, "marks": False}
        self.widget = self._make_widget()

    # ------------------------------------------------------------------ data
    def add_losses(self, xs: list, raw: list, smooth: list, epoch: int) -> None:
        """Per-step train losses (raw and smoothed) at steps ``xs``, all of epoch ``epoch``."""
        self.loss.extend(xs, raw, smooth, [epoch] * len(xs))
        self._dirty["loss"] = True

    def add_lrs(self, xs: list, lrs: list) -> None:
        """Learning rates at steps ``xs``."""
        self.lr.extend(xs, lrs)
        self._dirty["lr"] = True

    def add_epoch(self, x: float, record: dict) -> None:
        """An epoch's record at step ``x``: its valid loss and metrics."""
        self.epochs.append(epoch_point(x, record, self.metric_names))
        self._dirty["epochs"] = True
        if len(self.epochs) == 1:
            self._dirty["marks"] = True  # the "after each epoch" note goes

    def add_phase_mark(self, x: float, phase: str) -> None:
        """A dotted line at step ``x`` where ``phase`` starts."""
        self.phase_marks.append((x, phase))
        self._dirty["marks"] = True

    # ------------------------------------------------------------------ drawing
    def render(self) -> None:
        """Restyle the traces and layout that changed since the last render (one batch update)."""
        import numpy as np

        fig, dirty = self.widget, self._dirty
        if dirty["epochs"]:
            self._ensure_metric_traces()
        if any(dirty.values()):
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
                    at = [p["x"] for p in self.epochs]
                    numbers = [p["epoch"] for p in self.epochs]
                    data[VALID].update(x=at, y=[p["valid_loss"] for p in self.epochs], customdata=numbers)
                    for i, name in enumerate(self.metric_names):
                        data[LR + 1 + i].update(x=at, y=[p.get(name) for p in self.epochs], customdata=numbers)
                if dirty["marks"]:
                    fig.layout.shapes, fig.layout.annotations = self._marks_layout()
                    self._show_metric_row(bool(self.metric_names) or not self.epochs)
        for key in dirty:
            dirty[key] = False

    def static(self, title: str) -> dict:
        """The figure as a plain plotly JSON dict (data, layout, config), titled ``title`` · training."""
        figure = plain(self.widget.to_dict())
        layout = figure.get("layout", {})
        # The title names the run but not its status: JupyterLab's plotly renderer ignores updates of a
        # figure it already shows, and a Stop message arriving after the cell may still change the status.
        layout["title"] = {"text": f"{html.escape(title)} \u00b7 training", "x": 0.01, "xanchor": "left",
                           "font": {"size": 14}}
        layout["margin"] = {**layout.get("margin", {}), "t": 78}
        legend = layout.get("legend", {})
        legend.update({"y": 1.0, "yanchor": "bottom"})
        layout["legend"] = legend
        return {"data": figure.get("data", []), "layout": layout, "config": dict(PLOT_CONFIG)}

    def _ensure_metric_traces(self) -> None:
        import plotly.graph_objects as go

        have = len(self.widget.data) - (LR + 1)
        for i, name in enumerate(self.metric_names[have:], start=have):
            color = METRIC_COLORS[i % len(METRIC_COLORS)]
            self.widget.add_trace(go.Scatter(
                x=[], y=[], name=name, mode="lines+markers", xaxis="x2", yaxis="y2",
                line=dict(color=color, width=2), marker=dict(size=7),
                hovertemplate=f"epoch %{{customdata}}<br>{html.escape(name)} %{{y:.4f}}<extra></extra>"))
        if len(self.metric_names) == 1:
            self.widget.layout.yaxis2.title.text = self.metric_names[0]

    def _show_metric_row(self, show: bool) -> None:
        """A run without metrics gives their row to the loss plot (after its first epoch)."""
        layout = self.widget.layout
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

    def _make_widget(self) -> Any:
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
        _, notes = self._marks_layout()
        layout.annotations = notes
        return go.FigureWidget(data=traces, layout=layout)


class LossFeed:
    """Moves a run's new points into a :class:`TrainingFigure` (or any :class:`CurveSink`) when the view draws.

    The losses come from the run's loss source (``source.loss_points(since)``: one device read per
    draw); the learning rates from BATCH_END events (:meth:`batch`). The x axis is the source's step
    counted from this run's start, and goes on where the previous source ended when the source
    changes (the fastai bridge makes a new one per fit).
    """

    def __init__(self, plot: CurveSink) -> None:
        self.plot = plot
        self.source: Any = None
        self._base = 0             # the source's step count when this run started
        self._offset: float = 0    # x of the previous source's last point (when the source changes)
        self._since = 0            # the source's last step already read
        self._last_x: float | None = None
        self._batches = 0          # BATCH_END events seen
        self._lr_pending: list[float] = []

    def batch(self, lr: float | None) -> None:
        """One BATCH_END (cheap: the per-batch path)."""
        self._batches += 1
        if lr is not None:
            self._lr_pending.append(lr)

    def set_source(self, source: Any) -> None:
        """Read losses from ``source`` from now on (its steps before now are not this run's)."""
        if self.source is not None and self._last_x is not None:
            self._offset = self._last_x
        self.source = source
        step = getattr(source, "global_step", 0)
        self._base = step if isinstance(step, int) and not isinstance(step, bool) else 0
        self._since = self._base

    def x(self) -> float:
        """Where the run is on the x axis now (the last loss's step, else the batches seen)."""
        return self._last_x if self._last_x is not None else self._batches

    def pull(self, epoch: int) -> float | None:
        """Move the new points into the plot; the newest smoothed loss (None when there was none)."""
        reader = getattr(self.source, "loss_points", None) if self.source is not None else None
        pending, self._lr_pending = self._lr_pending, []
        xs: list = []
        newest = None
        if reader is not None:
            steps, raw, smooth = reader(self._since)
            if steps:
                self._since = steps[-1]
                shift = self._offset - self._base
                xs = [s + shift for s in steps]
                self.plot.add_losses(xs, raw, smooth, epoch)
                self._last_x = xs[-1]
                newest = smooth[-1]
        if pending:
            if xs and len(pending) == len(xs):  # one loss per batch: the lr of each step
                self.plot.add_lrs(xs, pending)
            elif self._last_x is not None:
                self.plot.add_lrs([self._last_x], [pending[-1]])
            else:  # no loss source: count batches
                first = self._batches - len(pending) + 1
                self.plot.add_lrs(list(range(first, self._batches + 1)), pending)
        return newest


def plain(value: Any, digits: int = 6) -> Any:
    """JSON-ready copy: arrays -> lists, floats rounded to ``digits`` significant digits, NaN/inf -> None."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:  # plotly >= 6 writes arrays as base64 typed arrays
            import base64

            import numpy as np

            array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
            if "shape" in value:
                shape = value["shape"]
                array = array.reshape([int(n) for n in str(shape).split(",")] if isinstance(shape, str) else shape)
            return plain(array.tolist(), digits)
        return {k: plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return plain(value.tolist(), digits)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    return value
