"""A live SVG chart with clicks: the browser's plots where plotly's ``FigureWidget`` does not render.

plotly 5's ``FigureWidget`` needs a front-end extension of its own (Colab's pinned stack and classic
Notebook 6 have plotly 5.24); jupyter_dl's anywidgets render there. :class:`SvgChart` shows a
:mod:`.charts` figure dict drawn by :func:`~jupyter_dl.browser.svg.figure_svg` and calls back with
the clicked bar or cell, like a plotly click: a redraw is one ``svg`` trait change.

DOM hooks: ``.jdl-plot`` holds ``svg.jdl-plot-svg`` (see :mod:`.svg`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets

from .svg import figure_svg

_HERE = Path(__file__).parent


class SvgChart(anywidget.AnyWidget):
    """One of the browser's plots as SVG; ``on_click(callback)`` gets ``callback(x, y)`` (y None for a bar)."""

    _esm = _HERE / "svg_chart.js"
    svg = traitlets.Unicode("").tag(sync=True)

    def __init__(self, figure: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.figure: dict | None = None
        self._click_callbacks: list[Callable[[str, str | None], None]] = []
        self.on_msg(self._on_page_message)
        if figure is not None:
            self.draw_figure(figure)

    def draw_figure(self, figure: dict) -> None:
        """Show ``figure`` (a :mod:`.charts` dict); the page gets one message, and only when it changed."""
        self.figure = figure
        svg = figure_svg(figure)
        if svg != self.svg:
            self.svg = svg

    def on_click(self, callback: Callable[[str, str | None], None]) -> None:
        """``callback(x, y)`` when a bar (x: its class, y: None) or a cell (x: predicted, y: actual) is clicked."""
        self._click_callbacks.append(callback)

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if not isinstance(content, dict) or content.get("action") != "click" or content.get("x") is None:
            return
        x, y = str(content["x"]), content.get("y")
        for callback in list(self._click_callbacks):
            callback(x, None if y is None else str(y))
