"""Putting a widget into a cell's output the same way everywhere (dashboard, %gpu, %browse).

Light on purpose (no torch, no plotly): every view imports it. The bundle carries a text/plain
line, so front ends without widgets (nbconvert, terminals) say what would have been there, and,
on Colab, the metadata its custom widget manager needs for third-party widgets.
"""
from __future__ import annotations

import sys
from typing import Any

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

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
        from google.colab import output  # type: ignore[import-not-found]

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
