"""The training curves as inline SVG: the plot of the live view that needs no widgets.

Every front end renders SVG inside an HTML output (JupyterLab, Notebook 6 and 7, VS Code, Colab,
nbconvert's HTML): no JavaScript, no CDN, and it stays in the saved notebook. :class:`SvgChart` keeps
the points, bounded like the widget's plot (:class:`~.figure.BoundedSeries`), and draws them on demand:

- the loss panel: train loss (smoothed) per step, valid loss per epoch (line and dots), a dotted line
  where the phase changes (frozen -> unfrozen);
- the metrics panel (from the first epoch on): each metric per epoch;
- the learning-rate strip.

Text, grid and frame use ``currentColor``, so the live chart follows the page's light or dark theme.
:meth:`SvgChart.text` says the same in one line (a sparkline) for viewers that show text only.
:func:`svg_image` wraps a drawing as an ``<img>`` with a ``data:`` URI: the form the final output keeps,
because a notebook opened untrusted (JupyterLab, Notebook 6: one that was sent to you, or saved with
outputs from elsewhere) has inline SVG stripped from its HTML, but keeps images.

DOM hooks (stable, for people and browser tests): ``svg.jdl-svg-chart`` (``data-steps``: train-loss
steps offered so far, ``data-epochs``), ``path.jdl-svg-train`` (``data-points``: the points drawn, one
``M``/``L`` command each), ``path.jdl-svg-valid`` with ``circle.jdl-svg-valid-point``,
``path.jdl-svg-metric`` (``data-name``), ``path.jdl-svg-lr``, ``line.jdl-svg-phase``; the final image
``img.jdl-svg-image`` (``data-steps``, ``data-epochs``, ``data-points``; its ``src`` holds the same SVG).
"""
from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Sequence

from .figure import LOSS_COLOR, LR_COLOR, METRIC_COLORS, VALID_COLOR, BoundedSeries, epoch_point

WIDTH = 640
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 24, 18   # margins: y labels, -, legend, x labels
LOSS_HEIGHT, METRIC_HEIGHT, LR_HEIGHT, GAP = 150, 64, 28, 12
SPARKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
_FONT = "font-family='sans-serif' font-size='10.5'"


class SvgChart:
    """The points of a run's curves, drawn as an SVG string by :meth:`svg` (cheap: bounded points)."""

    def __init__(self, max_points: int = 300) -> None:
        self.loss = BoundedSeries(2, max_points)     # x, smoothed train loss
        self.lr = BoundedSeries(2, max_points)       # x, lr
        self.epochs: list[dict] = []                 # {"x", "epoch", "valid_loss", <metric>...}
        self.metric_names: list[str] = []
        self.phase_marks: list[tuple[float, str]] = []

    # ------------------------------------------------------------------ data (the LossFeed's sink)
    def add_losses(self, xs: list, raw: list, smooth: list, epoch: int) -> None:
        """Per-step train losses at steps ``xs`` (the smoothed ones are drawn)."""
        self.loss.extend(xs, smooth)

    def add_lrs(self, xs: list, lrs: list) -> None:
        """Learning rates at steps ``xs``."""
        self.lr.extend(xs, lrs)

    def add_epoch(self, x: float, record: dict) -> None:
        """An epoch's record at step ``x``: its valid loss and metrics."""
        self.epochs.append(epoch_point(x, record, self.metric_names))

    def add_phase_mark(self, x: float, phase: str) -> None:
        """A dotted line at step ``x`` where ``phase`` starts."""
        self.phase_marks.append((x, phase))

    # ------------------------------------------------------------------ drawing
    def svg(self, title: str = "", color: str = "") -> str:
        """The chart as one ``<svg>`` element ("" before the first point); ``color``: its text and grid colour
        (default: the page's text colour)."""
        steps, losses = self.loss.columns()
        lr_x, lrs = self.lr.columns()
        if not steps and not self.epochs:
            return ""
        xs = [*steps, *(p["x"] for p in self.epochs), *lr_x, *(x for x, _ in self.phase_marks)]
        x_max = max(max(xs), 1.0)
        inner = WIDTH - LEFT - RIGHT

        def sx(x: float) -> float:
            return LEFT + inner * x / x_max

        parts: list[str] = []
        top = TOP
        # The loss panel: smoothed train loss, valid loss per epoch.
        valid = [(p["x"], p["valid_loss"]) for p in self.epochs if p["valid_loss"] is not None]
        loss_y = _Scale(top, LOSS_HEIGHT, [*losses, *(v for _, v in valid)], ticks=5)
        parts += _frame(top, LOSS_HEIGHT, loss_y, "loss")
        train_d, n_train = _path(steps, losses, sx, loss_y)
        parts.append(f"<path class='jdl-svg-train' data-points='{n_train}' d='{train_d}' fill='none' "
                     f"stroke='{LOSS_COLOR}' stroke-width='1.8' stroke-linejoin='round'/>")
        if valid:
            valid_d, _ = _path([x for x, _ in valid], [v for _, v in valid], sx, loss_y)
            parts.append(f"<path class='jdl-svg-valid' d='{valid_d}' fill='none' stroke='{VALID_COLOR}' "
                         "stroke-width='1.8'/>")
            parts += [f"<circle class='jdl-svg-valid-point' cx='{sx(x):.1f}' cy='{loss_y(v):.1f}' r='3' "
                      f"fill='{VALID_COLOR}'><title>valid loss {v:.4f}</title></circle>" for x, v in valid]
        bottom = top + LOSS_HEIGHT
        # The metrics panel, once an epoch has metrics.
        if self.metric_names:
            top = bottom + GAP
            values = [p[name] for p in self.epochs for name in self.metric_names if name in p]
            metric_y = _Scale(top, METRIC_HEIGHT, values, ticks=3)
            parts += _frame(top, METRIC_HEIGHT, metric_y, "metrics")
            for i, name in enumerate(self.metric_names):
                stroke = METRIC_COLORS[i % len(METRIC_COLORS)]
                points = [(p["x"], p[name]) for p in self.epochs if name in p]
                d, _ = _path([x for x, _ in points], [v for _, v in points], sx, metric_y)
                label = html.escape(name, quote=True)
                parts.append(f"<path class='jdl-svg-metric' data-name='{label}' d='{d}' fill='none' "
                             f"stroke='{stroke}' stroke-width='1.8'/>")
                parts += [f"<circle cx='{sx(x):.1f}' cy='{metric_y(v):.1f}' r='3' fill='{stroke}'>"
                          f"<title>{label} {v:.4f}</title></circle>" for x, v in points]
            bottom = top + METRIC_HEIGHT
        # The learning-rate strip.
        if lrs:
            top = bottom + GAP
            lr_y = _Scale(top, LR_HEIGHT, lrs, ticks=0)
            parts += _frame(top, LR_HEIGHT, lr_y, "lr")
            peak = max((v for v in lrs if v is not None and math.isfinite(v)), default=None)
            if peak is not None:
                parts.append(f"<text x='{LEFT - 4}' y='{top + 8}' text-anchor='end' {_FONT} fill='currentColor' "
                             f"fill-opacity='0.6'>{peak:.0e}</text>")
            d, _ = _path(lr_x, lrs, sx, lr_y)
            parts.append(f"<path class='jdl-svg-lr' d='{d}' fill='none' stroke='{LR_COLOR}' stroke-width='1.3'/>")
            bottom = top + LR_HEIGHT
        # Phase marks across the panels, the step axis under the last one, the legend on top.
        for x, phase in self.phase_marks:
            px = sx(x)
            # The label reads rightwards from the line, or leftwards when the line is near the right edge.
            left = px > WIDTH - RIGHT - 8 * len(phase) - 6
            anchor, tx = ("end", px - 3) if left else ("start", px + 3)
            parts.append(f"<line class='jdl-svg-phase' x1='{px:.1f}' x2='{px:.1f}' y1='{TOP}' y2='{bottom}' "
                         "stroke='currentColor' stroke-opacity='0.45' stroke-dasharray='2 3'/>"
                         f"<text x='{tx:.1f}' y='{TOP + 10}' text-anchor='{anchor}' {_FONT} fill='currentColor' "
                         f"fill-opacity='0.6'>{html.escape(phase)}</text>")
        for tick in _nice_ticks(0.0, x_max, 6):
            if sx(tick) > WIDTH - RIGHT - 30:   # room for the axis name
                continue
            parts.append(f"<text x='{sx(tick):.1f}' y='{bottom + 12}' text-anchor='middle' {_FONT} "
                         f"fill='currentColor' fill-opacity='0.6'>{tick:g}</text>")
        parts.append(f"<text x='{WIDTH - RIGHT}' y='{bottom + 12}' text-anchor='end' {_FONT} "
                     "fill='currentColor' fill-opacity='0.6'>step</text>")
        parts += self._legend()
        height = bottom + BOTTOM
        label = f"{title} \u00b7 " if title else ""
        summary = html.escape(f"{label}training curves: {self.loss.count} steps, {len(self.epochs)} epochs")
        return (f"<svg class='jdl-svg-chart' xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
                f"viewBox='0 0 {WIDTH} {height}' role='img' data-steps='{self.loss.count}' "
                f"data-epochs='{len(self.epochs)}' style='max-width:100%;height:auto;display:block"
                f"{';color:' + color if color else ''}'>"
                f"<title>{summary}</title>{''.join(parts)}</svg>")

    def _legend(self) -> list[str]:
        items = [(LOSS_COLOR, "train loss (smoothed)")]
        if any(p["valid_loss"] is not None for p in self.epochs):
            items.append((VALID_COLOR, "valid loss"))
        items += [(METRIC_COLORS[i % len(METRIC_COLORS)], name) for i, name in enumerate(self.metric_names)]
        parts, x = [], float(LEFT)
        for color, name in items:
            parts.append(f"<line x1='{x:.0f}' x2='{x + 16:.0f}' y1='9' y2='9' stroke='{color}' stroke-width='2.5'/>"
                         f"<text x='{x + 20:.0f}' y='13' {_FONT} fill='currentColor'>{html.escape(name)}</text>")
            x += 32 + 5.6 * len(name)
        return parts

    # ------------------------------------------------------------------ text
    def text(self) -> str:
        """The curves in one line: a sparkline of the smoothed train loss, then the last epoch's numbers."""
        _, losses = self.loss.columns()
        finite = [v for v in losses if v is not None and math.isfinite(v)]
        if not finite:
            return ""
        parts = [f"train loss {sparkline(finite)} {finite[0]:.4f} \u2192 {finite[-1]:.4f} ({self.loss.count} steps)"]
        if self.epochs:
            last = self.epochs[-1]
            numbers = [("valid loss", last["valid_loss"])] + [(n, last.get(n)) for n in self.metric_names]
            shown = ", ".join(f"{name} {value:.4f}" for name, value in numbers if value is not None)
            if shown:
                parts.append(f"epoch {last['epoch']}: {shown}")
        return " \u00b7 ".join(parts)


def svg_image(svg: str, alt: str = "") -> str:
    """``svg`` (from :meth:`SvgChart.svg`) as an ``<img>`` with a ``data:`` URI, its DOM hooks copied onto it."""
    if not svg:
        return ""
    hooks = {name: re.search(rf"{name}='(\d+)'", svg) for name in ("data-steps", "data-epochs", "data-points")}
    width = re.search(r"width='(\d+)'", svg)
    attrs = "".join(f" {name}='{m.group(1)}'" for name, m in hooks.items() if m)
    source = base64.b64encode(svg.encode()).decode("ascii")
    return (f"<img class='jdl-svg-image'{attrs} width='{width.group(1) if width else WIDTH}' "
            f"alt='{html.escape(alt, quote=True)}' style='max-width:100%;height:auto;display:block' "
            f"src='data:image/svg+xml;base64,{source}'/>")


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """``values`` as up to ``width`` block characters (the last value of each stretch), low to high."""
    if not values:
        return ""
    if len(values) > width:
        values = [values[min(len(values) - 1, (i + 1) * len(values) // width - 1)] for i in range(width)]
    lo, hi = min(values), max(values)
    span = hi - lo
    top = len(SPARKS) - 1
    return "".join(SPARKS[round((v - lo) / span * top) if span > 0 else top // 2] for v in values)


class _Scale:
    """A panel's y axis: values -> pixels (top at ``top``, ``height`` tall) and its tick values."""

    def __init__(self, top: float, height: float, values: Sequence[float | None], ticks: int = 4) -> None:
        finite = [v for v in values if v is not None and math.isfinite(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        if hi - lo < 1e-12:
            pad = abs(hi) * 0.05 or 0.5
            lo, hi = lo - pad, hi + pad
        pad = (hi - lo) * 0.06
        self.lo, self.hi = lo - pad, hi + pad
        self.top, self.height = top, height
        self.ticks = _nice_ticks(self.lo, self.hi, ticks) if ticks else []

    def __call__(self, value: float) -> float:
        return self.top + self.height * (self.hi - value) / (self.hi - self.lo)


def _frame(top: float, height: float, scale: _Scale, name: str) -> list[str]:
    """A panel's frame, grid lines with their labels, and its name."""
    parts = [f"<rect x='{LEFT}' y='{top}' width='{WIDTH - LEFT - RIGHT}' height='{height}' fill='none' "
             "stroke='currentColor' stroke-opacity='0.25'/>"]
    for tick in scale.ticks:
        y = scale(tick)
        if top <= y <= top + height:
            parts.append(f"<line x1='{LEFT}' x2='{WIDTH - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' stroke='currentColor' "
                         f"stroke-opacity='0.1'/><text x='{LEFT - 4}' y='{y + 3.5:.1f}' text-anchor='end' {_FONT} "
                         f"fill='currentColor' fill-opacity='0.6'>{tick:.3g}</text>")
    middle = top + height / 2
    parts.append(f"<text x='11' y='{middle:.0f}' transform='rotate(-90 11 {middle:.0f})' text-anchor='middle' "
                 f"{_FONT} fill='currentColor' fill-opacity='0.75'>{name}</text>")
    return parts


def _path(xs: Sequence[float], ys: Sequence[float | None], sx: Callable[[float], float],
          sy: Callable[[float], float]) -> tuple[str, int]:
    """An SVG path through the points (one M/L each; a gap at NaN/None) and how many points it has."""
    out: list[str] = []
    command = "M"
    for x, y in zip(xs, ys):
        if y is None or not math.isfinite(y):
            command = "M"
            continue
        out.append(f"{command}{sx(x):.1f} {sy(y):.1f}")
        command = "L"
    return "".join(out), len(out)


def _nice_ticks(lo: float, hi: float, count: int) -> list[float]:
    """About ``count`` round values between ``lo`` and ``hi`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if count < 1 or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    i = first
    while i * step <= hi + step * 1e-9:
        ticks.append(round(i * step, 12))
        i += 1
    return ticks
