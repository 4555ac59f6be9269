"""Which live view a training run gets, decided by what the front end renders (:mod:`jupyter_dl.ui.frontend`).

- plotly's figure widget renders (:func:`~jupyter_dl.ui.frontend.figure_widgets_available`: JupyterLab,
  Notebook 7, Notebook 6 or Colab with plotly >= 6): the widget :class:`~.widget.Dashboard`;
- jupyter_dl's anywidgets render but plotly's figure widget does not (plotly 5, e.g. Colab's pinned
  stack, classic Notebook 6): the display-handle :class:`~.progress.ProgressView` with its SVG curves,
  and the Stop control above it;
- no widget renders (VS Code, nbclient/nbconvert, a terminal, ``JUPYTER_DL_WIDGETS=0``): the same
  progress view without a button; a foreground run in a front end a person watches says how to
  interrupt there (:mod:`.stop_hints`).

``JUPYTER_DL_WIDGETS=0`` forces the view without widgets, ``=1`` the widgets (the dashboard still needs
plotly >= 6). Every view is an event subscriber (``view(event)``) with ``view.close(status, summary=None)``.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..ui import frontend
from .progress import ProgressView
from .stop_hints import stop_hint


def make_training_view(*, total_epochs: int | None, title: str = "", quiet: bool = False,
                       mode: str = "foreground", on_stop: Callable[[str], None] | None = None) -> Any:
    """The live view of a run: the widget dashboard where it renders, else the progress view with SVG curves
    (and a Stop control where widgets render); None when ``quiet``.

    ``mode``: "foreground" (the cell blocks: Stop interrupts the kernel) or "background"
    (training in a thread: Stop is a widget message). ``on_stop(reason)`` asks the run to
    stop at the next batch boundary.
    """
    if quiet:
        return None
    if frontend.figure_widgets_available():
        try:
            from .widget import Dashboard  # imports ipywidgets and plotly: only where they can show

            return Dashboard(total_epochs=total_epochs, title=title, mode=mode, on_stop=on_stop)
        except Exception as exc:  # never fail a run for lack of widgets
            warnings.warn(f"jupyter_dl: the live dashboard is not available ({exc!r}); "
                          "showing the progress view instead.", stacklevel=2)
    control = stop_control(mode, on_stop) if frontend.widgets_available() else None
    hint = foreground_stop_hint() if control is None and mode == "foreground" else ""
    return ProgressView(total_epochs=total_epochs, title=title, stop_control=control, stop_hint=hint)


def stop_control(mode: str, on_stop: Callable[[str], None] | None) -> Any:
    """A Stop control for the progress view (None when it cannot be made: the view goes on without it)."""
    try:
        from .stop_control import StopControl, close_retired  # imports anywidget: only where it renders

        close_retired()
        return StopControl(mode=mode, on_stop=on_stop)
    except Exception as exc:
        warnings.warn(f"jupyter_dl: the Stop button is not available ({exc!r}); the kernel's interrupt "
                      "stops the run.", stacklevel=2)
        return None


def foreground_stop_hint() -> str:
    """How to interrupt in this front end, for a person watching it ("" in nbclient/nbconvert or a terminal)."""
    shell = frontend.kernel_shell()
    if shell is None or not frontend.frontend_takes_input(shell):
        return ""
    return stop_hint(frontend.frontend())
