"""``%browse``: look at a data set or a learner's mistakes, find what is broken, and fix it.

- :mod:`.api`: :func:`browse`, what the magic calls; :mod:`.interpretation`: :func:`interpret`, a
  learner's predictions on its validation set (top losses, confusion matrix, per-class scores);
  :mod:`.evaluation`: :func:`evaluate`, the same on a test set, with the learner's metrics;
- :mod:`.state`: what is shown, without widgets (filters, order, pages, selection);
- :mod:`.session`: the Python surface without widgets (and the static summary);
- :mod:`.widget`: :class:`Browser`, the live widget, built from :mod:`.grid` (+ ``grid.js``),
  :mod:`.toolbar`, :mod:`.health_view`, :mod:`.charts`, :mod:`.mistakes`, :mod:`.details` and
  :mod:`.cells`; charts as plotly ``FigureWidget``\\ s, or SVG (:mod:`.svg`, :mod:`.svg_chart`) with
  plotly 5; :mod:`.static`: the rendering that needs no kernel; :mod:`.snapshot`: the static snapshot
  beside a live browser, shown when a notebook is reopened without its kernel.

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "browse": "api", "interpret": "interpretation", "Interpretation": "interpretation",
    "evaluate": "evaluation", "Evaluation": "evaluation",
    "Browser": "widget", "BrowseSession": "session",
})
