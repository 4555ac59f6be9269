"""The live view of any training run: ``%finetune``, the fastai bridge and ``live()`` all get it.

- :mod:`.views`: which view a run gets (the widget dashboard where plotly's figure widget renders, else the
  progress view, with the Stop control where jupyter_dl's anywidgets render);
- :mod:`.widget`: :class:`Dashboard`, the widget: events in, throttled draws, a static result at the end;
- :mod:`.figure`: its plotly figure (bounded series, traces, phase marks);
- :mod:`.render`: its HTML and text (status, progress line, epoch table, final result);
- :mod:`.progress`: the display-handle progress view that needs no custom widgets (+ :mod:`.progress_state`,
  what both views show of a run's progress);
- :mod:`.svg_chart`: that view's loss curves as inline SVG;
- :mod:`.stop_control` (+ ``stop_control.js``): the Stop button that works while the cell is busy;
- :mod:`.stop_hints`: how to interrupt in each front end where no button can;
- :mod:`.resources`: the resource strip (GPU or CPU use during the run).

Names are imported on first use (see :mod:`jupyter_dl._lazy`).
"""
from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "Dashboard": "widget", "ProgressView": "progress", "make_training_view": "views", "StopControl": "stop_control",
})
