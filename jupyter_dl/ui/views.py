"""Which live view a training run gets: the widget dashboard, or the display-handle progress.

Every view is an event subscriber (``view(event)``) with ``view.close(status, summary=None)``.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable

# JUPYTER_DL_WIDGETS=0 turns the widget dashboard off (the progress display is used);
# =1 uses it even where the front end looks like it cannot show widgets (see widgets_available).
WIDGETS_ENV = "JUPYTER_DL_WIDGETS"
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def _kernel_shell() -> Any:
    """The IPython shell when running in a Jupyter kernel (ipykernel, also Colab's subclass), else None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    if shell is None:
        return None
    if any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
        return shell
    return None


def _frontend_takes_input(shell: Any) -> bool:
    """False when the cell was sent by a non-interactive client (nbclient/nbconvert/papermill).

    Those execute with ``allow_stdin=False``; JupyterLab, Notebook, VS Code and Colab
    send True. Widgets there would only bloat the saved notebook with widget state.
    """
    try:
        kernel = shell.kernel
        try:
            parent = kernel.get_parent("shell")
        except TypeError:  # ipykernel < 6
            parent = kernel._parent_header
        content = (parent or {}).get("content") or {}
    except Exception:
        return True
    if "allow_stdin" in content:
        return bool(content["allow_stdin"])
    return True


def _widget_packages() -> bool:
    """ipywidgets, anywidget and a plotly whose FigureWidget is an anywidget (plotly >= 6)."""
    try:
        import anywidget  # noqa: F401
        import ipywidgets  # noqa: F401
        import plotly
    except ImportError:
        return False
    try:
        major = int(str(plotly.__version__).split(".")[0])
    except ValueError:
        return False
    return major >= 6


def widgets_available() -> bool:
    """True where the live widget dashboard can be shown.

    In a Jupyter kernel, with ipywidgets (7.7+ or 8), anywidget and plotly >= 6
    importable, unless ``JUPYTER_DL_WIDGETS=0``; and not when the cell was sent
    by a non-interactive client (nbclient / nbconvert / papermill), unless
    ``JUPYTER_DL_WIDGETS=1``.
    """
    flag = os.environ.get(WIDGETS_ENV, "").strip().lower()
    if flag in _OFF:
        return False
    shell = _kernel_shell()
    if shell is None or not _widget_packages():
        return False
    return flag in _ON or _frontend_takes_input(shell)


def make_training_view(*, total_epochs: int | None, title: str = "", quiet: bool = False,
                       mode: str = "foreground", on_stop: Callable[[str], None] | None = None) -> Any:
    """The live view of a run: a :class:`~jupyter_dl.ui.dashboard.Dashboard` where widgets work,
    else the display-handle :class:`~jupyter_dl.ui.progress.ProgressView`; None when ``quiet``.

    ``mode``: "foreground" (the cell blocks: Stop interrupts the kernel) or "background"
    (training in a thread: Stop is a widget message). ``on_stop(reason)`` asks the run to
    stop at the next batch boundary.
    """
    if quiet:
        return None
    # Imported here: the progress view pulls in the training core (torch); the GPU monitor asks
    # widgets_available() without it.
    from .progress import ProgressView

    if widgets_available():
        try:
            from .dashboard import Dashboard

            return Dashboard(total_epochs=total_epochs, title=title, mode=mode, on_stop=on_stop)
        except Exception as exc:  # never fail a run for lack of widgets
            warnings.warn(f"jupyter_dl: the live dashboard is not available ({exc!r}); "
                          "showing the text progress instead.")
    return ProgressView(total_epochs=total_epochs)
