"""The ``%gpu`` chart: the last minutes of GPU util and memory (and CPU, RAM) as a plotly ``FigureWidget``.

x is seconds before the newest reading (the header says its clock time); per GPU util % (solid)
and memory % (dashed); CPU % and RAM % (shown when there is no GPU, one legend click away when
there is). At most ``max_points`` points per trace: a longer history is thinned from the newest back.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..monitor.readings import Reading
from ..ui.formatting import share

GPU_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
CPU_COLOR = "#6e7781"


class UsageChart:
    """The chart's widget (``.widget``) and what it draws from a run of readings."""

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

    def _ensure_traces(self, sample: Reading) -> None:
        import plotly.graph_objects as go

        key = tuple((gpu.index, gpu.name) for gpu in sample.gpus)
        if key == self._trace_key:
            return
        self._trace_key = key
        traces = []
        for n, gpu in enumerate(sample.gpus):
            color = GPU_COLORS[n % len(GPU_COLORS)]
            label = f"GPU {gpu.index}"
            traces += [
                go.Scatter(x=[], y=[], mode="lines", name=f"{label} util", line=dict(color=color, width=2),
                           hovertemplate="%{y:.0f}%"),
                go.Scatter(x=[], y=[], mode="lines", name=f"{label} memory", line=dict(color=color, width=1.5,
                                                                                         dash="dash"),
                           hovertemplate="%{y:.0f}%"),
            ]
        # CPU and RAM: the chart's subject without a GPU, one legend click away with one.
        hidden = "legendonly" if sample.gpus else True
        traces += [
            go.Scatter(x=[], y=[], mode="lines", name="CPU", visible=hidden, line=dict(color=CPU_COLOR, width=1.5),
                       hovertemplate="%{y:.0f}%"),
            go.Scatter(x=[], y=[], mode="lines", name="RAM", visible=hidden,
                       line=dict(color=CPU_COLOR, width=1.5, dash="dash"), hovertemplate="%{y:.0f}%"),
        ]
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
