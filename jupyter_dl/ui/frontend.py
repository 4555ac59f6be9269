"""Where the code runs and what that front end can show: the one place that decides.

Every view asks here, never checks on its own: :func:`in_kernel` (display handles update in
place), :func:`widgets_available` (the live widget views can render) and, for the rare caller
that needs the shell itself, :func:`kernel_shell`. Imports nothing heavy at import time.
"""
from __future__ import annotations

import os
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


def widget_packages() -> bool:
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
    """True where the live widget views can be shown.

    In a Jupyter kernel, with ipywidgets (7.7+ or 8), anywidget and plotly >= 6
    importable, unless ``JUPYTER_DL_WIDGETS=0``; and not when the cell was sent
    by a non-interactive client (nbclient / nbconvert / papermill), unless
    ``JUPYTER_DL_WIDGETS=1``.
    """
    flag = os.environ.get(WIDGETS_ENV, "").strip().lower()
    if flag in _OFF:
        return False
    shell = kernel_shell()
    if shell is None or not widget_packages():
        return False
    return flag in _ON or frontend_takes_input(shell)
