"""The mistakes panel of ``%browse learn``: confusion matrix, most-confused pairs, per-class table.

A click on a matrix cell or on a pair calls ``on_cell(actual, predicted)``; the
browser then filters the grid to exactly those items. Everything is computed
from :class:`~jupyter_dl.browser.state.BrowserState` (current labels against
the model's predictions), so it follows relabels and removals.

DOM hooks: ``.jdl-mistakes`` holds ``.jdl-confusion`` (the heatmap: plotly's, or SVG with plotly 5),
``.jdl-accuracy``, ``.jdl-pairs`` (``button.jdl-pair`` each) and ``.jdl-per-class``
(a table).
"""
from __future__ import annotations

import html
from typing import Any, Callable

from .charts import confusion_figure, live_chart, on_click_cell, update_figure
from .state import BrowserState

PAIRS_SHOWN = 8


def per_class_html(state: BrowserState) -> str:
    """The per-class table (precision, recall, F1, support) as HTML, from the current labels."""
    style = "padding:1px 8px;text-align:right;border-bottom:1px solid var(--jp-border-color2,#eaeef2)"
    head = "".join(f"<th style='{style};font-weight:600'>{h}</th>"
                   for h in ("class", "precision", "recall", "F1", "support"))
    rows = "".join(
        f"<tr><td style='{style}'>{html.escape(r['cls'])}</td><td style='{style}'>{r['precision']:.3f}</td>"
        f"<td style='{style}'>{r['recall']:.3f}</td><td style='{style}'>{r['f1']:.3f}</td>"
        f"<td style='{style}'>{r['support']}</td></tr>" for r in state.per_class())
    return f"<table class='jdl-per-class' style='border-collapse:collapse;font-size:12px'><tr>{head}</tr>{rows}</table>"


class MistakesPanel:
    """The mistakes panel's widgets (see the module docstring); ``refresh()`` after an edit."""

    def __init__(self, state: BrowserState, on_cell: Callable[[str, str], Any]) -> None:
        import ipywidgets as widgets

        self.state = state
        self.on_cell = on_cell
        self.active: tuple[str, str] | None = None
        self.figure = live_chart(confusion_figure(*state.confusion()), "jdl-confusion")
        on_click_cell(self.figure, self._clicked)
        self.accuracy = widgets.HTML()
        self.accuracy.add_class("jdl-accuracy")
        self.pairs = widgets.VBox()
        self.pairs.add_class("jdl-pairs")
        self.table = widgets.HTML()
        side = widgets.VBox([self.accuracy, widgets.HTML("<b>most confused</b> (click to show)"), self.pairs,
                             widgets.HTML("<b>per class</b>"), self.table],
                            layout=widgets.Layout(padding="0 0 0 12px"))
        self.widget = widgets.HBox([self.figure, side], layout=widgets.Layout(flex_flow="row wrap",
                                                                             align_items="flex-start"))
        self.widget.add_class("jdl-mistakes")
        self.refresh()

    def _clicked(self, actual: str, predicted: str) -> None:
        self.on_cell(actual, predicted)

    def mark(self, cell: tuple[str, str] | None) -> None:
        """Outline the cell the grid is filtered to (None: no outline)."""
        if cell != self.active:
            self.active = cell
            update_figure(self.figure, confusion_figure(*self.state.confusion(), active=cell))

    def refresh(self) -> None:
        """Recompute matrix, accuracy, pairs and table from the current labels (after an edit)."""
        import ipywidgets as widgets

        update_figure(self.figure, confusion_figure(*self.state.confusion(), active=self.active))
        accuracy = self.state.accuracy()
        judged = sum(1 for item in self.state.catalog.items if item.key in (self.state.predictions or {}))
        subset = self.state.subset
        self.accuracy.value = (f"<b>accuracy {accuracy:.4f}</b> on {judged} {subset} images"
                               if accuracy is not None else f"no {subset} predictions")
        buttons = []
        for actual, predicted, count in self.state.most_confused(PAIRS_SHOWN):
            button = widgets.Button(description=f"{actual} \u2192 {predicted} ({count})",
                                    tooltip=f"actual {actual}, predicted {predicted}: show these {count} images",
                                    layout=widgets.Layout(width="auto"))
            button.add_class("jdl-pair")
            button.on_click(lambda _b, a=actual, p=predicted: self.on_cell(a, p))
            buttons.append(button)
        old = list(self.pairs.children)
        self.pairs.children = buttons or [widgets.HTML("no mistakes")]
        for child in old:
            child.close()
        self.table.value = per_class_html(self.state)
