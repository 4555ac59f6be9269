"""The labelling grid: one anywidget that shows a page of thumbnails and takes the keys (see label_grid.js).

Thumbnails go to the page once per page (``images``); captions, looks and the cursor (``cells``,
``cursor``) are small and change with every label, so a key press never re-sends the images. The page
sends one message per action: ``{"action": "label", "key": k, "label": "cat"}`` (``key_map`` says which
key is which class),
``{"action": "skip", "key": k}``, ``{"action": "accept"}``, ``{"action": "undo"}``, ``{"action": "next"}``.

DOM hooks: ``.jdl-label-grid`` (focusable, holds the keys) with ``.jdl-label-keys`` (the key hints) and
``.jdl-grid`` of ``figure.jdl-cell[data-key]``; looks ``.jdl-cell-cursor``, ``.jdl-cell-labelled``,
``.jdl-cell-skipped``, ``.jdl-cell-suggested``.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..browser.grid import GRID_CSS

_HERE = Path(__file__).parent
ACTIONS = ("label", "skip", "accept", "undo", "next")

LABEL_CSS = GRID_CSS + """
.jdl-label-grid { outline: none; border: 2px solid transparent; border-radius: 6px; padding: 2px; }
.jdl-label-grid:focus { border-color: var(--jp-brand-color2, #64b5f6); }
.jdl-label-keys { font-size: 12px; color: var(--jp-ui-font-color2, #57606a); margin: 2px 4px 6px 4px; }
.jdl-cell-cursor { box-shadow: 0 0 0 3px var(--jp-brand-color1, #1565c0); }
.jdl-cell-labelled { border-color: var(--jp-success-color1, #2e7d32); background: var(--jp-layout-color2, #eef7ee); }
.jdl-cell-labelled .jdl-thumb { opacity: 0.55; }
.jdl-cell-skipped { border-style: dashed; }
.jdl-cell-skipped .jdl-thumb { opacity: 0.35; }
.jdl-cell-suggested .jdl-cell-label { color: var(--jp-brand-color1, #1565c0); }
"""


class LabelGrid(anywidget.AnyWidget):
    """A page of thumbnails to label with the keyboard (see the module docstring)."""

    _esm = _HERE / "label_grid.js"
    _css = LABEL_CSS

    images = traitlets.List(traitlets.Dict()).tag(sync=True)    # {key, src, title}: once per page
    cells = traitlets.List(traitlets.Dict()).tag(sync=True)     # {key, lines, kind, open, label}
    key_map = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)  # [key, class name] pairs; not
    # "keys": ipywidgets.Widget.keys lists the synced traits, and a trait of that name breaks the widget
    cursor = traitlets.Int(-1).tag(sync=True)                   # the item key the keys act on
    thumb_size = traitlets.Int(128).tag(sync=True)
    autofocus = traitlets.Bool(True).tag(sync=True)
    empty_text = traitlets.Unicode("Nothing left to label.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Callable[[str, int, str], None]] = []
        self.on_msg(self._on_page_message)

    def on_action(self, handler: Callable[[str, int, str], None]) -> None:
        """``handler(action, key, label)`` for every key press or click the page sends (label: "" but for "label")."""
        self._handlers.append(handler)

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if not isinstance(content, dict) or content.get("action") not in ACTIONS:
            return
        try:
            key = int(content.get("key", self.cursor))
        except (TypeError, ValueError):
            return
        label = str(content.get("label") or "")
        for handler in list(self._handlers):
            handler(str(content["action"]), key, label)
