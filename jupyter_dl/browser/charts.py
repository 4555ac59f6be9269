"""The browser's two plots: images per class (bars) and the confusion matrix (heatmap).

Each is a plain plotly figure dict, shown live by :func:`live_chart`: a plotly ``FigureWidget``
where those render (plotly >= 6), else an :class:`~jupyter_dl.browser.svg_chart.SvgChart` that
draws the same dict as SVG (plotly 5: Colab's pinned stack, classic Notebook 6). Clicks come back
to the kernel either way: a bar filters the grid to its class, a matrix cell to the items of that
(actual, predicted) pair. The snapshot draws the dicts as SVG too (:mod:`.svg`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "zoom2d", "pan2d",
                                          "zoomIn2d", "zoomOut2d"]}
BAR_COLOR = "#4c78a8"
BAR_ACTIVE = "#f58518"
VALID_COLOR = "#9ecae9"


def _bar_height(n_classes: int) -> int:
    return 240 if n_classes <= 12 else 300


def class_bars(counts_train: dict[str, int], counts_valid: dict[str, int], active: str | None = None) -> dict:
    """A stacked bar chart (train + valid images per class) as a plain plotly figure dict."""
    names = list(counts_train)
    train = [counts_train[n] for n in names]
    valid = [counts_valid.get(n, 0) for n in names]
    colors = [BAR_ACTIVE if n == active else BAR_COLOR for n in names]
    return {
        "data": [
            {"type": "bar", "x": names, "y": train, "name": "train", "marker": {"color": colors},
             "hovertemplate": "%{x}: %{y} train<extra></extra>"},
            {"type": "bar", "x": names, "y": valid, "name": "valid", "marker": {"color": VALID_COLOR},
             "hovertemplate": "%{x}: %{y} valid<extra></extra>"},
        ],
        "layout": {
            "barmode": "stack", "height": _bar_height(len(names)), "margin": {"l": 44, "r": 10, "t": 30, "b": 40},
            "title": {"text": "images per class (click a bar to filter)", "font": {"size": 13}, "x": 0.01},
            "xaxis": {"type": "category", "automargin": True}, "yaxis": {"title": {"text": "images"}},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
            "clickmode": "event", "dragmode": False,
        },
        "config": dict(PLOT_CONFIG),
    }


def confusion_figure(actual: Sequence[str], predicted: Sequence[str], matrix: Sequence[Sequence[int]],
                     active: tuple[str, str] | None = None) -> dict:
    """The confusion matrix heatmap (rows: actual, columns: predicted; counts written in the cells)."""
    n = max(len(actual), len(predicted))
    text = [[str(v) if v else "" for v in row] for row in matrix]
    size = min(560, max(260, 42 * n + 120))
    shapes = []
    if active is not None and active[0] in actual and active[1] in predicted:
        shapes.append({"type": "rect", "xref": "x", "yref": "y", "line": {"color": BAR_ACTIVE, "width": 3},
                       "x0": predicted.index(active[1]) - 0.5, "x1": predicted.index(active[1]) + 0.5,
                       "y0": actual.index(active[0]) - 0.5, "y1": actual.index(active[0]) + 0.5})
    return {
        "data": [{
            "type": "heatmap", "x": list(predicted), "y": list(actual), "z": [list(row) for row in matrix],
            "text": text, "texttemplate": "%{text}", "colorscale": "Blues", "showscale": False, "xgap": 1, "ygap": 1,
            "hovertemplate": "actual %{y}, predicted %{x}: %{z}<extra></extra>",
        }],
        "layout": {
            "height": size, "width": size + 40, "margin": {"l": 70, "r": 10, "t": 36, "b": 60},
            "title": {"text": "confusion matrix (click a cell)", "font": {"size": 13}, "x": 0.01},
            "xaxis": {"title": {"text": "predicted"}, "type": "category", "side": "bottom", "automargin": True,
                      "constrain": "domain"},
            "yaxis": {"title": {"text": "actual"}, "type": "category", "autorange": "reversed", "automargin": True,
                      "scaleanchor": "x", "constrain": "domain"},
            "shapes": shapes, "clickmode": "event", "dragmode": False,
        },
        "config": dict(PLOT_CONFIG),
    }


def live_chart(figure: dict, css_class: str) -> Any:
    """``figure`` live, with the DOM class ``css_class``: a ``FigureWidget`` where plotly's render, else SVG."""
    from ..ui import frontend

    if frontend.plotly_figure_widgets():
        widget = figure_widget(figure)
    else:
        from .svg_chart import SvgChart

        widget = SvgChart(figure)
    widget.add_class(css_class)
    return widget


def figure_widget(figure: dict) -> Any:
    """A live plotly ``FigureWidget`` drawing the dict ``figure``, with its ``config`` (default ``PLOT_CONFIG``)."""
    import plotly.graph_objects as go

    widget = go.FigureWidget(data=figure["data"], layout=figure["layout"])
    widget._config = dict(figure.get("config", PLOT_CONFIG))
    return widget


def update_figure(widget: Any, figure: dict) -> None:
    """Restyle ``widget`` to ``figure`` in one message (same traces, new values)."""
    if hasattr(widget, "draw_figure"):  # an SvgChart
        widget.draw_figure(figure)
        return
    with widget.batch_update():
        for trace, data in zip(widget.data, figure["data"]):
            trace.update({k: v for k, v in data.items() if k != "type"})
        widget.layout.update(figure["layout"], overwrite=False)
        if "shapes" in figure["layout"]:
            widget.layout.shapes = figure["layout"]["shapes"]


def on_click_x(widget: Any, callback: Callable[[str], None], traces: Sequence[int] = (0, 1)) -> None:
    """``callback(x)`` with the clicked bar's category (any of ``traces``)."""
    if hasattr(widget, "draw_figure"):  # an SvgChart
        widget.on_click(lambda x, _y: callback(x))
        return

    def handler(_trace: Any, points: Any, _state: Any) -> None:
        if points.xs:
            callback(str(points.xs[0]))

    for index in traces:
        widget.data[index].on_click(handler)


def on_click_cell(widget: Any, callback: Callable[[str, str], None]) -> None:
    """``callback(actual, predicted)`` with the clicked heatmap cell."""
    if hasattr(widget, "draw_figure"):  # an SvgChart
        widget.on_click(lambda x, y: callback(y, x) if y is not None else None)
        return

    def handler(_trace: Any, points: Any, _state: Any) -> None:
        if points.xs and points.ys:
            callback(str(points.ys[0]), str(points.xs[0]))

    widget.data[0].on_click(handler)
