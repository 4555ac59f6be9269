"""The ``%gpu`` chart: the last minutes of GPU util and memory (and CPU, RAM).

x is seconds before the newest reading (the header says its clock time); per GPU util % (solid)
and memory % (dashed); CPU % and RAM % (shown when there is no GPU, one legend click away when
there is). At most ``max_points`` points per trace: a longer history is thinned from the newest back.

:func:`usage_chart` picks the drawing: :class:`UsageChart`, a plotly ``FigureWidget`` (plotly >= 6),
or :class:`SvgUsageChart`, the same lines as SVG in an ipywidgets ``HTML`` (plotly 5, e.g. Colab's
pinned stack; there CPU and RAM are drawn only without a GPU, as its legend cannot be clicked).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..monitor.readings import Reading
from ..ui.formatting import share

_MUTED = "fill:var(--jp-ui-font-color2,#57606a)"
_GRID = "stroke:var(--jp-border-color2,#e1e4e8)"
GPU_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
CPU_COLOR = "#6e7781"


def usage_chart(history_seconds: float, max_points: int) -> UsageChart:
    """The chart for this front end: plotly's ``FigureWidget`` where it renders, else SVG."""
    from ..ui import frontend

    chart = UsageChart if frontend.plotly_figure_widgets() else SvgUsageChart
    return chart(history_seconds, max_points)


@dataclass(frozen=True)
class Line:
    """One line of the chart: its legend name, colour, dashed or not, shown or one legend click away."""

    name: str
    color: str
    width: float
    dashed: bool = False
    shown: bool = True


def chart_lines(sample: Reading) -> list[Line]:
    """The lines for ``sample``'s devices, in trace order: per GPU util and memory, then CPU and RAM."""
    lines = []
    for n, gpu in enumerate(sample.gpus):
        color = GPU_COLORS[n % len(GPU_COLORS)]
        lines += [Line(f"GPU {gpu.index} util", color, 2), Line(f"GPU {gpu.index} memory", color, 1.5, dashed=True)]
    # CPU and RAM: the chart's subject without a GPU, one legend click away with one.
    shown = not sample.gpus
    return lines + [Line("CPU", CPU_COLOR, 1.5, shown=shown), Line("RAM", CPU_COLOR, 1.5, dashed=True, shown=shown)]


class UsageChart:
    """The chart's widget (``.widget``, a plotly ``FigureWidget``) and what it draws from a run of readings."""

    def __init__(self, history_seconds: float, max_points: int) -> None:
        self.history_seconds = history_seconds
        self.max_points = max(int(max_points), 2)
        self._trace_key: tuple | None = None
        self.widget = self._make_widget()

    def draw(self, samples: Sequence[Reading], interval: float) -> None:
        """Redraw from ``samples`` (oldest first; the last one decides which GPUs have traces)."""
        import numpy as np

        self._ensure_traces(samples[-1])
        x, columns = self.series(samples, interval)
        # float32 arrays travel as binary buffers; the x range stays fixed, so the chart fills from the right.
        xs = np.asarray(x, dtype=np.float32)
        with self.widget.batch_update():
            for trace, column in zip(self.widget.data, columns):
                trace.update(x=xs, y=np.asarray([np.nan if v is None else v for v in column], dtype=np.float32))

    def _make_widget(self) -> Any:
        import plotly.graph_objects as go

        axis = dict(showline=True, linecolor="#d0d7de", gridcolor="#eef1f4", zeroline=False)
        layout = go.Layout(
            template="plotly_white", height=250, autosize=True, uirevision="jdl-gpu",
            margin=dict(l=48, r=12, t=30, b=30), hovermode="x unified", font=dict(size=11),
            legend=dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom", bgcolor="rgba(0,0,0,0)"),
            # Seconds before the newest reading (the header says its clock time): compact float32 that a
            # linear axis takes as binary; plotly.js reads typed arrays on linear axes, not on date axes.
            xaxis=dict(range=[-self.history_seconds, 0], ticksuffix=" s", hoverformat=".1f", **axis),
            yaxis=dict(range=[0, 100], ticksuffix="%", fixedrange=True, **axis),
        )
        return go.FigureWidget(layout=layout)

    def _new_devices(self, sample: Reading) -> bool:
        """True (and remembered) when ``sample`` has other GPUs than the lines drawn so far."""
        key = tuple((gpu.index, gpu.name) for gpu in sample.gpus)
        if key == self._trace_key:
            return False
        self._trace_key = key
        return True

    def _ensure_traces(self, sample: Reading) -> None:
        import plotly.graph_objects as go

        if not self._new_devices(sample):
            return
        traces = [go.Scatter(x=[], y=[], mode="lines", name=line.name, visible=True if line.shown else "legendonly",
                             line=dict(color=line.color, width=line.width, dash="dash" if line.dashed else None),
                             hovertemplate="%{y:.0f}%")
                  for line in chart_lines(sample)]
        with self.widget.batch_update():
            self.widget.data = ()
            self.widget.add_traces(traces)

    def series(self, samples: Sequence[Reading], interval: float) -> tuple[list[float], list[list[float | None]]]:
        """(x, one y list per trace) of what the chart shows: ``samples``, thinned to ``max_points``.

        x is seconds before the newest sample (0 = now, negative = earlier); y is percent (None where
        a GPU did not report, and at a break: where nothing was sampled for a while, e.g. between two
        monitors, the lines stop instead of joining the two sides).
        """
        samples = list(samples)
        step = 1
        if len(samples) > self.max_points:
            step = math.ceil(len(samples) / self.max_points)
            samples = samples[::-1][::step][::-1]  # thinned from the newest back, so the newest is kept
        if not samples:
            return [], []
        newest = samples[-1].time
        longest_gap = max(5 * interval * step, 3.0)
        rows: list[Reading | None] = [samples[0]]
        x = [samples[0].time - newest]
        for before, sample in zip(samples, samples[1:]):
            if sample.time - before.time > longest_gap:
                rows.append(None)
                x.append((before.time + sample.time) / 2 - newest)
            rows.append(sample)
            x.append(sample.time - newest)
        columns: list[list[float | None]] = []
        for n in range(len(self._trace_key or ())):
            gpus = [s.gpus[n] if s is not None and n < len(s.gpus) else None for s in rows]
            columns.append([None if g is None else g.util_percent for g in gpus])
            columns.append([None if g is None else share(g.memory_used, g.memory_total) for g in gpus])
        columns.append([None if s is None else s.cpu_percent for s in rows])
        columns.append([None if s is None else share(s.ram_used, s.ram_total) for s in rows])
        return x, columns


class SvgUsageChart(UsageChart):
    """The same chart drawn as SVG into an ipywidgets ``HTML`` (``.widget``): no plotly in the page."""

    WIDTH, HEIGHT = 900.0, 250.0
    LEFT, RIGHT, TOP, BOTTOM = 44.0, 12.0, 30.0, 26.0

    def _make_widget(self) -> Any:
        import ipywidgets as widgets

        return widgets.HTML(layout=widgets.Layout(width="100%"))

    def draw(self, samples: Sequence[Reading], interval: float) -> None:
        """Redraw from ``samples`` (oldest first; the last one decides which GPUs have lines)."""
        self._new_devices(samples[-1])
        x, columns = self.series(samples, interval)
        svg = self.svg(chart_lines(samples[-1]), x, columns)
        if svg != self.widget.value:
            self.widget.value = svg

    def svg(self, lines: Sequence[Line], x: Sequence[float], columns: Sequence[Sequence[float | None]]) -> str:
        """The chart as SVG markup: a fixed window of ``history_seconds``, 0-100 %, one path per shown line."""
        shown = [(line, column) for line, column in zip(lines, columns) if line.shown]
        legend, rows = self._legend([line for line, _ in shown])
        width, left = self.WIDTH, self.LEFT
        top = self.TOP + 16 * (rows - 1)
        height = self.HEIGHT + 16 * (rows - 1)
        plot_w, plot_h = width - left - self.RIGHT, height - top - self.BOTTOM
        span = self.history_seconds

        def px(seconds: float) -> float:
            return left + plot_w * (seconds + span) / span

        def py(percent: float) -> float:
            return top + plot_h * (1 - min(max(percent, 0.0), 100.0) / 100)

        parts = [legend]
        for percent in (0, 25, 50, 75, 100):
            y = py(percent)
            parts.append(f"<line x1='{left}' x2='{width - self.RIGHT}' y1='{y:.1f}' y2='{y:.1f}' style='{_GRID}'/>"
                         f"<text x='{left - 5}' y='{y + 4:.1f}' text-anchor='end' style='{_MUTED}'>{percent}%</text>")
        step = _time_step(span)
        tick = 0.0
        while tick <= span + 1e-9:
            parts.append(f"<text x='{px(-tick):.1f}' y='{height - 8:.1f}' text-anchor='middle' "
                         f"style='{_MUTED}'>{-tick if tick else 0:g} s</text>")
            tick += step
        for line, column in shown:
            path, pen_down = [], False
            for seconds, value in zip(x, column):
                if value is None:        # a GPU that did not report, or a break in sampling: lift the pen
                    pen_down = False
                    continue
                path.append(f"{'L' if pen_down else 'M'}{px(seconds):.1f} {py(value):.1f}")
                pen_down = True
            dash = " stroke-dasharray='6 4'" if line.dashed else ""
            parts.append(f"<path class='jdl-gpu-line' data-name='{escape(line.name, quote=True)}' d='{' '.join(path)}' "
                         f"fill='none' stroke='{line.color}' stroke-width='{line.width}'{dash}>"
                         f"<title>{escape(line.name)}</title></path>")
        return (f"<svg class='jdl-gpu-svg' xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width:.0f} "
                f"{height:.0f}' width='100%' style='max-width:{width:.0f}px;height:auto;"
                f"font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:11px'>{''.join(parts)}</svg>")


    def _legend(self, lines: Sequence[Line]) -> tuple[str, int]:
        """The legend's SVG (a swatch and a name per line, wrapped into rows) and its number of rows."""
        parts, x, row = [], self.LEFT, 0
        for line in lines:
            item_w = 36 + 6.6 * len(line.name)
            if x + item_w > self.WIDTH - self.RIGHT and x > self.LEFT:
                x, row = self.LEFT, row + 1
            y = 12 + 16 * row
            dash = " stroke-dasharray='6 4'" if line.dashed else ""
            parts.append(f"<line x1='{x:.0f}' x2='{x + 18:.0f}' y1='{y}' y2='{y}' stroke='{line.color}' "
                         f"stroke-width='{line.width}'{dash}/><text x='{x + 22:.0f}' y='{y + 4}' "
                         f"style='{_MUTED}'>{escape(line.name)}</text>")
            x += item_w
        return "".join(parts), row + 1


def _time_step(span: float) -> float:
    """Seconds between x ticks: about six ticks over the window, on round numbers."""
    return next((s for s in (5, 10, 15, 30, 60, 120, 300) if span / s <= 7), 600)
