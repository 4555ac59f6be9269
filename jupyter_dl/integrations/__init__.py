"""The same live view for code people already have: fastai Learners and hand-written loops.

- :mod:`.fastai`: :class:`LiveDashboard`, a fastai callback (``learn.fine_tune(3, cbs=LiveDashboard())``);
  imports fastai (``jupyter_dl.fastai`` re-exports it);
- :mod:`.loop`: :func:`live` and :class:`LiveRun`, for a PyTorch loop of your own;
- :mod:`.common`: what both share (the view, the stop signal, the summary line, the loss source).

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "live": "loop", "LiveRun": "loop", "LiveDashboard": "fastai",
})
