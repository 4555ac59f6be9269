"""Putting things into a cell's output the same way everywhere: widgets, text lines, plotly figures.

Light on purpose (no torch; plotly only inside :func:`plotly_bundle`): every view imports it.

- :func:`display_widget`: a widget's bundle carries a text/plain line, so front ends without
  widgets (nbconvert, terminals) say what would have been there, and, on Colab, the metadata its
  custom widget manager needs for third-party widgets.
- :func:`show_text` / :func:`show_summary_text`: HTML + text in a kernel, the text on stdout elsewhere.
- :func:`plotly_bundle`: a figure that shows in every front end and in the saved notebook.
"""
from __future__ import annotations

import html
import sys
from typing import Any

from . import frontend

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PLOTLY_MIME = "application/vnd.plotly.v1+json"

_colab_enabled = False


def widget_metadata() -> dict:
    """Colab's custom widget manager wants its URL in the output metadata (as anywidget does)."""
    try:
        from anywidget._util import get_repr_metadata

        return get_repr_metadata() or {}
    except Exception:
        return {}


def enable_colab_widgets() -> None:
    """On Colab, turn on the custom widget manager (third-party widgets need it); once."""
    global _colab_enabled
    if _colab_enabled or "google.colab" not in sys.modules:
        return
    try:
        from google.colab import output

        output.enable_custom_widget_manager()
        _colab_enabled = True
    except Exception:
        pass


def widget_bundle(widget: Any, text: str, **more: str) -> dict[str, Any]:
    """The mime bundle that shows ``widget``, with ``text`` (and ``more`` mimetypes) for other viewers."""
    return {"text/plain": text, **more,
            WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}


def display_widget(widget: Any, text: str, **more: str):
    """Display ``widget`` in the current output; returns the display handle (to replace it later)."""
    from IPython.display import display

    enable_colab_widgets()
    return display(widget_bundle(widget, text, **more), raw=True, display_id=True, metadata=widget_metadata())


def show_text(text: str, html_text: str) -> None:
    """Show ``html_text`` (with ``text`` as its plain alternative) in a kernel; print ``text`` elsewhere."""
    if frontend.in_kernel():
        from IPython.display import display

        display({"text/plain": text, "text/html": html_text}, raw=True)
    else:
        print(text, file=sys.stdout)


def show_summary_text(text: str) -> None:
    """One jupyter_dl line (a run's summary, a note such as a smaller batch size) under the output."""
    show_text(text, f"<div class='jupyter-dl-summary'><b>jupyter_dl</b> · {html.escape(text)}</div>")


def plotly_bundle(figure: dict, text: str, *, css_class: str = "", default_height: str = "100%") -> dict:
    """A display bundle that shows a plotly ``figure`` (a plain {"data", "layout", "config"} dict) everywhere.

    Plotly's own mimetype (JupyterLab, Notebook 7, VS Code, Colab), HTML that loads plotly.js from its
    CDN (nbconvert, GitHub-like viewers; without the network it stays blank), and ``text``.
    """
    import plotly.io as pio

    try:
        html_div = pio.to_html(figure, include_plotlyjs="cdn", full_html=False, config=figure.get("config"),
                               validate=False, default_height=default_height)
    except Exception:  # a figure plotly cannot render as HTML still shows through its mimetype
        html_div = ""
    if css_class:
        html_div = f"<div class='{css_class}'>{html_div}</div>"
    return {PLOTLY_MIME: figure, "text/html": html_div, "text/plain": text}
