"""The browser's two plots drawn as SVG: where plotly's ``FigureWidget`` cannot render, and in the snapshot.

:func:`figure_svg` draws the same figure dicts :mod:`.charts` makes for plotly (the stacked
class bars, the confusion-matrix heatmap), so both drawings show the same numbers, colours and
outlined cell. Clickable parts carry ``data-x`` (the class of a bar, the predicted class of a
cell) and ``data-y`` (the actual class of a cell); :class:`~jupyter_dl.browser.svg_chart.SvgChart`
turns a click on them into the same callback a plotly click gives. Each part has a ``<title>``
(the tooltip). Colours use the notebook's CSS variables with fixed fallbacks, so the same SVG
also reads well inside an ``<img>`` (the snapshot), where no variable is defined.

DOM hooks: ``svg.jdl-plot-svg`` holds ``g.jdl-svg-bar[data-x]`` (bars) or ``g.jdl-svg-cell[data-x][data-y]``
(heatmap cells; the outlined one also ``.jdl-svg-active``).
"""
from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape

TEXT = "fill:var(--jp-ui-font-color1,#1f2328)"
MUTED = "fill:var(--jp-ui-font-color2,#57606a)"
GRID = "stroke:var(--jp-border-color2,#e1e4e8)"
FONT = "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:11px"
# ColorBrewer's Blues, light to dark (plotly's heatmap uses the same family).
BLUES = ((247, 251, 255), (222, 235, 247), (198, 219, 239), (158, 202, 225), (107, 174, 214), (66, 146, 198),
         (33, 113, 181), (8, 81, 156), (8, 48, 107))
ACTIVE = "#f58518"


def figure_svg(figure: dict) -> str:
    """SVG markup of a :mod:`.charts` figure dict (stacked bars or a heatmap)."""
    kind = figure["data"][0]["type"]
    if kind == "bar":
        return _bars(figure)
    if kind == "heatmap":
        return _heatmap(figure)
    raise ValueError(f"no SVG drawing for a {kind!r} figure")


def svg_data_uri(svg: str) -> str:
    """``svg`` as a ``data:image/svg+xml;base64,...`` URI: an ``<img>`` that untrusted notebooks still show."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _title(figure: dict) -> str:
    return str(((figure.get("layout") or {}).get("title") or {}).get("text") or "")


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (f"<svg class='jdl-plot-svg' xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
            f"viewBox='0 0 {width:.0f} {height:.0f}' role='img' aria-label='{_attr(label)}' "
            f"style='max-width:100%;height:auto;{FONT}'>{body}</svg>")


def nice_step(top: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks up to ``top``."""
    raw = max(top, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "\u2026"


# ----------------------------------------------------------------------------- bars
def _bars(figure: dict) -> str:
    traces = figure["data"]
    names = [str(n) for n in traces[0]["x"]]
    height = float(figure["layout"].get("height", 240))
    n = max(len(names), 1)
    rotate = n > 8 or max((len(name) for name in names), default=0) > 8
    left, right, top, bottom = 44.0, 10.0, 40.0, (62.0 if rotate else 28.0)
    slot = min(64.0, max(16.0, 760.0 / n))
    width = max(320.0, left + right + slot * n)
    slot = (width - left - right) / n
    plot_h = height - top - bottom
    totals = [sum(float(t["y"][i]) for t in traces) for i in range(len(names))]
    step = nice_step(max(totals, default=0))
    y_max = step * max(1, math.ceil(max(totals, default=0) / step))

    def y_at(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    parts = [f"<text x='4' y='14' style='{TEXT};font-size:13px'>{escape(_title(figure))}</text>"]
    legend_x = width - right
    for trace in reversed(traces):                  # legend at the top right, train then valid
        label = str(trace.get("name", ""))
        legend_x -= 14 + 6.5 * len(label)
        parts.append(f"<rect x='{legend_x:.1f}' y='22' width='10' height='10' fill='{_bar_colour(trace, 0)}'/>"
                     f"<text x='{legend_x + 13:.1f}' y='31' style='{MUTED}'>{escape(label)}</text>")
    tick = 0.0
    while tick <= y_max + 1e-9:
        y = y_at(tick)
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' style='{GRID}'/>"
                     f"<text x='{left - 5}' y='{y + 4:.1f}' text-anchor='end' style='{MUTED}'>{tick:g}</text>")
        tick += step
    for i, name in enumerate(names):
        bar_w = min(slot * 0.7, 48.0)
        x = left + slot * i + (slot - bar_w) / 2
        base = 0.0
        rects = []
        tip = []
        for trace in traces:
            value = float(trace["y"][i])
            tip.append(f"{value:g} {trace.get('name', '')}")
            if value > 0:
                y0, y1 = y_at(base + value), y_at(base)
                rects.append(f"<rect x='{x:.1f}' y='{y0:.1f}' width='{bar_w:.1f}' height='{y1 - y0:.1f}' "
                             f"fill='{_bar_colour(trace, i)}'/>")
            base += value
        cx = x + bar_w / 2
        label_y = top + plot_h + 13
        label = (f"<text x='{cx:.1f}' y='{label_y:.1f}' text-anchor='end' transform='rotate(-40 {cx:.1f} "
                 f"{label_y:.1f})' style='{TEXT}'>" if rotate else
                 f"<text x='{cx:.1f}' y='{label_y:.1f}' text-anchor='middle' style='{TEXT}'>")
        parts.append(f"<g class='jdl-svg-bar' data-x='{_attr(name)}' style='cursor:pointer'>"
                     f"<title>{escape(name)}: {escape(', '.join(tip))}</title>"
                     # a transparent full-height target, so a short bar is as easy to click as a tall one
                     f"<rect x='{left + slot * i:.1f}' y='{top}' width='{slot:.1f}' height='{plot_h:.1f}' "
                     f"fill='transparent'/>{''.join(rects)}{label}{escape(_short(name, 14))}</text></g>")
    return _svg(width, height, "".join(parts), _title(figure))


def _bar_colour(trace: dict, index: int) -> str:
    colour = (trace.get("marker") or {}).get("color", "#4c78a8")
    if isinstance(colour, (list, tuple)):
        return str(colour[index]) if index < len(colour) else "#4c78a8"
    return str(colour)


# ----------------------------------------------------------------------------- heatmap
def blues(share: float) -> str:
    """The heatmap colour of a cell holding ``share`` (0..1) of the largest count."""
    share = min(max(share, 0.0), 1.0) * (len(BLUES) - 1)
    low = int(share)
    high = min(low + 1, len(BLUES) - 1)
    frac = share - low
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(BLUES[low], BLUES[high]))
    return f"rgb({r},{g},{b})"


def _heatmap(figure: dict) -> str:
    trace = figure["data"][0]
    predicted = [str(v) for v in trace["x"]]
    actual = [str(v) for v in trace["y"]]
    z: Sequence[Sequence[float]] = trace["z"]
    active = _active_cell(figure, actual, predicted)
    label_w = min(110.0, 16 + 6.5 * max((len(a) for a in actual), default=1))
    rotate = max((len(p) for p in predicted), default=0) > 4 or len(predicted) > 10
    cell = max(16.0, min(42.0, 420.0 / max(len(predicted), len(actual), 1)))
    left, top = label_w + 18, 30.0
    bottom = 70.0 if rotate else 40.0
    width = max(left + cell * len(predicted) + 10, 16 + 7 * len(_title(figure)))
    height = top + cell * len(actual) + bottom
    peak = max((float(v) for row in z for v in row), default=0.0) or 1.0
    parts = [f"<text x='4' y='14' style='{TEXT};font-size:13px'>{escape(_title(figure))}</text>",
             f"<text x='12' y='{top + cell * len(actual) / 2:.1f}' text-anchor='middle' "
             f"transform='rotate(-90 12 {top + cell * len(actual) / 2:.1f})' style='{MUTED}'>actual</text>",
             f"<text x='{left + cell * len(predicted) / 2:.1f}' y='{height - 6:.1f}' text-anchor='middle' "
             f"style='{MUTED}'>predicted</text>"]
    for r, name in enumerate(actual):
        parts.append(f"<text x='{left - 5:.1f}' y='{top + cell * r + cell / 2 + 4:.1f}' text-anchor='end' "
                     f"style='{TEXT}'>{escape(_short(name, 16))}</text>")
    for c, name in enumerate(predicted):
        cx, y = left + cell * c + cell / 2, top + cell * len(actual) + 14
        if rotate:
            parts.append(f"<text x='{cx:.1f}' y='{y:.1f}' text-anchor='end' transform='rotate(-40 {cx:.1f} {y:.1f})' "
                         f"style='{TEXT}'>{escape(_short(name, 12))}</text>")
        else:
            parts.append(f"<text x='{cx:.1f}' y='{y:.1f}' text-anchor='middle' style='{TEXT}'>{escape(name)}</text>")
    for r, a in enumerate(actual):
        for c, p in enumerate(predicted):
            value = float(z[r][c])
            share = value / peak
            x, y = left + cell * c, top + cell * r
            text_style = "fill:#ffffff" if share > 0.55 else "fill:#1f2328"
            count = f"{value:g}" if value else ""
            outline = (f"<rect x='{x + 1.5:.1f}' y='{y + 1.5:.1f}' width='{cell - 3:.1f}' height='{cell - 3:.1f}' "
                       f"fill='none' stroke='{ACTIVE}' stroke-width='3'/>") if (a, p) == active else ""
            css = "jdl-svg-cell jdl-svg-active" if (a, p) == active else "jdl-svg-cell"
            parts.append(f"<g class='{css}' data-x='{_attr(p)}' data-y='{_attr(a)}' style='cursor:pointer'>"
                         f"<title>actual {escape(a)}, predicted {escape(p)}: {value:g}</title>"
                         f"<rect x='{x + 0.5:.1f}' y='{y + 0.5:.1f}' width='{cell - 1:.1f}' height='{cell - 1:.1f}' "
                         f"fill='{blues(share)}'/>{outline}"
                         f"<text x='{x + cell / 2:.1f}' y='{y + cell / 2 + 4:.1f}' text-anchor='middle' "
                         f"style='{text_style}'>{count}</text></g>")
    return _svg(width, height, "".join(parts), _title(figure))


def _active_cell(figure: dict, actual: list[str], predicted: list[str]) -> tuple[str, str] | None:
    """The outlined cell of a :func:`~.charts.confusion_figure` (its one shape), as (actual, predicted)."""
    for shape in figure["layout"].get("shapes") or ():
        column, row = round((shape["x0"] + shape["x1"]) / 2), round((shape["y0"] + shape["y1"]) / 2)
        if 0 <= row < len(actual) and 0 <= column < len(predicted):
            return actual[row], predicted[column]
    return None
