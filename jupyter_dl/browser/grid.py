"""The data browser's thumbnail grid: one anywidget that draws a page of cells.

One widget (not one per thumbnail) so that a page change is one message: the
page's cells (a JPEG data URI, caption lines, a look) go to the page in the
``cells`` trait. The page reports back through the ``selected`` trait (the
selection, item keys over all pages), an ``{"action": "open", "key": k}``
message when a thumbnail is clicked (the kernel then shows the large view) and
an ``{"action": "accept", "key": k}`` message when a cell's suggestion button
(its ``action`` text, for a likely mislabelled item) is clicked.

DOM hooks: ``.jdl-grid`` holds ``figure.jdl-cell[data-key]`` cells, each with
``img.jdl-thumb``, ``input.jdl-select`` and ``figcaption`` (``.jdl-cell-label``,
``.jdl-cell-note``, ``button.jdl-cell-accept``); looks: ``.jdl-cell-wrong`` (red border), ``.jdl-cell-right``,
``.jdl-cell-flagged`` (a health finding), ``.jdl-cell-selected``, ``.jdl-cell-open``.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets

_HERE = Path(__file__).parent

GRID_CSS = """
.jdl-grid {
  display: grid; gap: 8px; padding: 2px;
  grid-template-columns: repeat(auto-fill, minmax(calc(var(--jdl-thumb, 128px) + 10px), 1fr));
}
.jdl-grid-empty { color: var(--jp-ui-font-color2, #57606a); padding: 18px 4px; }
.jdl-cell {
  position: relative; margin: 0; padding: 4px; border-radius: 5px; box-sizing: border-box;
  border: 2px solid var(--jp-border-color2, #d8dee4); background: var(--jp-layout-color1, #fff);
  display: flex; flex-direction: column; align-items: center; min-width: 0;
}
.jdl-cell:hover { border-color: var(--jp-brand-color2, #64b5f6); }
.jdl-cell-flagged { border-color: var(--jp-warn-color2, #f0b429); }
.jdl-cell-wrong { border-color: var(--jp-error-color1, #d32f2f); }
.jdl-cell-right { border-color: var(--jp-success-color2, #81c784); }
.jdl-cell-selected { outline: 3px solid var(--jp-brand-color1, #1565c0); outline-offset: -1px;
  background: var(--jp-layout-color2, #eef4fb); }
.jdl-cell-open { box-shadow: 0 0 0 2px var(--jp-brand-color0, #0d47a1); }
.jdl-thumb {
  width: var(--jdl-thumb, 128px); height: var(--jdl-thumb, 128px); object-fit: contain; cursor: zoom-in;
  background: var(--jp-layout-color2, #f3f4f6); border-radius: 3px;
}
/* Images smaller than their box are shown with their real pixels, not smoothed into a blur. */
.jdl-thumb, .jdl-details img { image-rendering: pixelated; }
.jdl-select { position: absolute; top: 6px; left: 6px; width: 16px; height: 16px; margin: 0; cursor: pointer; }
.jdl-cell figcaption { width: 100%; text-align: center; margin-top: 3px; line-height: 1.3; min-width: 0; }
.jdl-cell-label { font-weight: 600; font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.jdl-cell-wrong .jdl-cell-label { color: var(--jp-error-color1, #c62828); }
.jdl-cell-accept { margin-top: 3px; font-size: 11px; padding: 1px 6px; cursor: pointer; max-width: 100%;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; border-radius: 3px;
  border: 1px solid var(--jp-brand-color1, #1565c0); color: var(--jp-brand-color1, #1565c0);
  background: var(--jp-layout-color1, #fff); }
.jdl-cell-accept:hover { background: var(--jp-layout-color2, #eef4fb); }
.jdl-cell-note { font-size: 11px; color: var(--jp-ui-font-color2, #57606a); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
"""


def data_uri(jpeg: bytes) -> str:
    """``jpeg`` as a ``data:image/jpeg;base64,...`` URI (an ``<img src>`` that needs no file)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


class ThumbnailGrid(anywidget.AnyWidget):
    """A page of thumbnails with selection boxes (see the module docstring)."""

    _esm = _HERE / "grid.js"
    _css = GRID_CSS

    cells = traitlets.List(traitlets.Dict()).tag(sync=True)    # {key, src, title, lines, kind[, action, action_title]}
    selected = traitlets.List(traitlets.Int()).tag(sync=True)    # item keys, every page
    opened = traitlets.Int(-1).tag(sync=True)                    # the key in the large view (-1: none)
    thumb_size = traitlets.Int(128).tag(sync=True)               # CSS pixels
    empty_text = traitlets.Unicode("No images match these filters.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._callbacks: dict[str, list[Callable[[int], None]]] = {"open": [], "accept": []}
        self.on_msg(self._on_page_message)

    def on_open(self, callback: Callable[[int], None]) -> None:
        """``callback(key)`` when a thumbnail is clicked in the page."""
        self._callbacks["open"].append(callback)

    def on_accept(self, callback: Callable[[int], None]) -> None:
        """``callback(key)`` when a cell's suggestion button is clicked in the page."""
        self._callbacks["accept"].append(callback)

    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any = None) -> None:
        if not isinstance(content, dict) or content.get("action") not in self._callbacks:
            return
        raw = content.get("key")
        if raw is None:
            return
        try:
            key = int(raw)
        except (TypeError, ValueError):
            return
        for callback in list(self._callbacks[content["action"]]):
            callback(key)

    def shown_keys(self) -> list[int]:
        """The item keys of the page's cells, in display order."""
        return [int(cell["key"]) for cell in self.cells]
