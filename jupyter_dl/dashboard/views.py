"""Which live view a training run gets: the widget dashboard, or the display-handle progress.

Every view is an event subscriber (``view(event)``) with ``view.close(status, summary=None)``.
Where the widget dashboard renders is decided by :func:`jupyter_dl.ui.frontend.figure_widgets_available`.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..ui import frontend
from .progress import ProgressView


def make_training_view(*, total_epochs: int | None, title: str = "", quiet: bool = False,
                       mode: str = "foreground", on_stop: Callable[[str], None] | None = None) -> Any:
    """The live view of a run: a :class:`~jupyter_dl.dashboard.widget.Dashboard` where widgets work,
    else the display-handle :class:`~jupyter_dl.dashboard.progress.ProgressView`; None when ``quiet``.

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
                          "showing the text progress instead.", stacklevel=2)
    return ProgressView(total_epochs=total_epochs)
