"""fastai integration: ``from jupyter_dl.fastai import LiveDashboard``.

``learn.fine_tune(3, cbs=LiveDashboard())`` shows a fastai Learner's training in
jupyter_dl's live dashboard (replacing fastai's progress bar), with a Stop that
ends the fit cleanly. Importing this module imports fastai.
"""
from .integrations.fastai import LiveDashboard
from .integrations.fastai_run import is_frozen

__all__ = ["LiveDashboard", "is_frozen"]
