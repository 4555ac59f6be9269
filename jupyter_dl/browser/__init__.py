"""``%browse``: look at a data set or a learner's mistakes, find what is broken, and fix it.

- :mod:`.api`: :func:`browse`, what the magic calls; :mod:`.interpretation`: :func:`interpret`, a
  learner's predictions on its validation set (top losses, confusion matrix, per-class scores);
- :mod:`.state`: what is shown, without widgets (filters, order, pages, selection);
- :mod:`.session`: the Python surface without widgets (and the static summary);
- :mod:`.widget`: :class:`Browser`, the live widget, built from :mod:`.grid` (+ ``grid.js``),
  :mod:`.toolbar`, :mod:`.health_view`, :mod:`.charts`, :mod:`.mistakes`, :mod:`.details` and
  :mod:`.cells`; :mod:`.static`: the rendering that needs no kernel.

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "browse": "api", "interpret": "interpretation", "Interpretation": "interpretation",
    "Browser": "widget", "BrowseSession": "session",
})
