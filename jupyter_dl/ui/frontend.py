"""Where the code runs and what that front end can show: the one place that decides.

Every view asks here, never checks on its own: :func:`in_kernel` (display handles update in
place), :func:`widgets_available` (jupyter_dl's anywidgets render), :func:`figure_widgets_available`
(plotly's ``FigureWidget`` renders too), :func:`frontend` (Colab, VS Code or a Jupyter page) and, for
the rare caller that needs the shell itself, :func:`kernel_shell`. Imports nothing heavy at import time.
"""
from __future__ import annotations

import os
import sys
from typing import Any

# JUPYTER_DL_WIDGETS=0 turns the widget views off (the display-handle views are used);
# =1 uses them even where the front end looks like it cannot show widgets (see widgets_available).
WIDGETS_ENV = "JUPYTER_DL_WIDGETS"
_OFF = ("0", "false", "no", "off")
_ON = ("1", "true", "yes", "on")


def kernel_shell() -> Any:
    """The IPython shell when running in a Jupyter kernel (ipykernel, also Colab's subclass), else None."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    shell = get_ipython()
    # By class name, subclasses included (Colab's shell subclasses ipykernel's), without importing ipykernel.
    if shell is not None and any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
        return shell
    return None


def in_kernel() -> bool:
    """True inside a Jupyter kernel (display handles update in place there)."""
    return kernel_shell() is not None


def frontend_takes_input(shell: Any) -> bool:
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


COLAB, VSCODE, JUPYTER = "colab", "vscode", "jupyter"


def frontend() -> str | None:
    """Which page shows this kernel's output: "colab", "vscode", "jupyter" (JupyterLab, Notebook 7 or 6,
    Paperspace, ...; the kernel cannot tell those apart: the page's own code does), or None outside a kernel.

    Colab's kernel imports ``google.colab``; VS Code starts kernels with ``VSCODE_PID`` set (plotly's
    renderer choice reads the same variable).
    """
    if kernel_shell() is None:
        return None
    if "google.colab" in sys.modules:
        return COLAB
    if os.environ.get("VSCODE_PID"):
        return VSCODE
    return JUPYTER


def widget_packages() -> bool:
    """ipywidgets (7.7+ or 8) and anywidget importable: what every live widget of jupyter_dl is built on."""
    try:
        import anywidget  # noqa: F401
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def plotly_figure_widgets() -> bool:
    """plotly >= 6, whose ``FigureWidget`` is an anywidget (plotly 5's needs a front-end extension of its own)."""
    try:
        import plotly
    except ImportError:
        return False
    try:
        return int(str(plotly.__version__).split(".")[0]) >= 6
    except ValueError:
        return False


def widgets_available() -> bool:
    """True where jupyter_dl's live widgets (anywidgets: the Stop control, the browser's grid, ...) render.

    In a Jupyter kernel, with ipywidgets and anywidget importable, unless ``JUPYTER_DL_WIDGETS=0``; not in
    VS Code (its widget manager does not load anywidget's module: anywidget #684) and not when the cell was
    sent by a non-interactive client (nbclient / nbconvert / papermill), unless ``JUPYTER_DL_WIDGETS=1``.
    """
    flag = os.environ.get(WIDGETS_ENV, "").strip().lower()
    if flag in _OFF:
        return False
    shell = kernel_shell()
    if shell is None or not widget_packages():
        return False
    if flag in _ON:
        return True
    return frontend() != VSCODE and frontend_takes_input(shell)


def figure_widgets_available() -> bool:
    """True where live plotly figures (``FigureWidget``) render too: :func:`widgets_available` and plotly >= 6.

    Where this is False but :func:`widgets_available` is True (plotly 5, e.g. Colab's pinned stack), views
    draw their charts as SVG or a static plotly figure instead.
    """
    return widgets_available() and plotly_figure_widgets()
