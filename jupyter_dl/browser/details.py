"""The large view of one item: a bigger image, where it is, how big, its label and (for a learner) the model's answer.

DOM hooks: ``.jdl-details`` (hidden until a thumbnail is clicked) holds
``img`` (the ipywidgets Image), ``.jdl-details-info`` (a table: path, pixels,
file size, label, split, findings, a likely wrong label; prediction, confidence and
``.jdl-probabilities`` for a learner) and ``button.jdl-details-close``.
"""
from __future__ import annotations

import html
from typing import Any, Callable

from .cells import flags
from .state import BrowserState, item_name

LARGE_SIZE = 384     # pixels of the large view's longer side
TOP_PROBABILITIES = 5


def pixel_size(catalog: Any, item: Any) -> str:
    """"640 × 480" from the file's header (nothing decoded), or why it cannot be read."""
    try:
        if item.path is not None:
            from PIL import Image

            with Image.open(item.path) as image:
                width, height = image.size
        else:
            width, height = catalog.open_image(item).size
    except Exception as exc:  # any unreadable file: say why, one line
        return f"unreadable ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    return f"{width} \u00d7 {height}"


def file_size(item: Any) -> str:
    """"12.3 kB" (decimal units, as file managers show them), or "missing" / "in memory"."""
    if item.path is None:
        return "in memory"
    try:
        size = item.path.stat().st_size
    except OSError:
        return "missing"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _row(name: str, value: str, raw: bool = False) -> str:
    shown = value if raw else html.escape(value)
    return (f"<tr><th style='text-align:left;padding:1px 10px 1px 0;color:var(--jp-ui-font-color2,#57606a);"
            f"font-weight:600;vertical-align:top'>{html.escape(name)}</th>"
            f"<td style='word-break:break-all'>{shown}</td></tr>")


def probability_bars(classes: list[str], probabilities: list[float], actual: str, n: int = TOP_PROBABILITIES) -> str:
    """The ``n`` most probable classes as small HTML bars (the actual class marked)."""
    ranked = sorted(zip(classes, probabilities), key=lambda pair: -pair[1])[:n]
    rows = []
    for name, p in ranked:
        color = "var(--jp-success-color1,#2e7d32)" if name == actual else "var(--jp-brand-color1,#1565c0)"
        rows.append(
            "<div style='display:flex;align-items:center;gap:6px;font-size:12px'>"
            "<span style='width:90px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap'>"
            f"{html.escape(name)}</span>"
            f"<span style='display:inline-block;height:9px;width:{max(1, round(120 * p))}px;background:{color}'></span>"
            f"<span>{p:.1%}</span></div>")
    return "<div class='jdl-probabilities'>" + "".join(rows) + "</div>"


def details_html(state: BrowserState, item: Any, *, classes: list[str] | None = None,
                 reasons: dict[int, str] | None = None) -> str:
    """The information table of the large view."""
    catalog = state.catalog
    rows = [
        _row("file", str(item.path) if item.path is not None else item_name(item)),
        _row("pixels", pixel_size(catalog, item)),
        _row("file size", file_size(item)),
        _row("label", item.label),
        _row("split", item.split),
    ]
    if item.row is not None:
        rows.append(_row("table row", str(item.row)))
    found = flags(state, item.key)
    if found:
        reason = (reasons or {}).get(item.key)
        rows.append(_row("health", ", ".join(found) + (f": {reason}" if reason else "")))
    issue = state.open_issue(item)
    if issue is not None:
        rows.append(_row("likely mislabelled", f"{issue.given} \u2192 {issue.suggested} (score {issue.score:.2f})"))
    prediction = (state.predictions or {}).get(item.key)
    if prediction is not None:
        verdict = "right" if prediction.predicted == item.label else "wrong"
        rows.append(_row("prediction", f"{prediction.predicted} ({verdict})"))
        rows.append(_row("confidence", f"{prediction.confidence:.1%} \u00b7 loss {prediction.loss:.3f}"))
        if classes and len(prediction.probabilities) == len(classes):
            rows.append(_row("top classes", probability_bars(classes, prediction.probabilities, item.label), raw=True))
    return ("<table class='jdl-details-info' style='font-size:12px;border-collapse:collapse'>"
            + "".join(rows) + "</table>")


class DetailsPanel:
    """The large view beside the grid (ipywidgets); ``show(item)`` fills and reveals it, ``hide()`` closes it."""

    def __init__(self, state: BrowserState, *, image_for: Callable[[Any], bytes],
                 classes: list[str] | None = None, on_close: Callable[[], None] | None = None) -> None:
        import ipywidgets as widgets

        self.state = state
        self.image_for = image_for
        self.classes = classes
        self.reasons: dict[int, str] = {}
        self.key: int | None = None
        self.image = widgets.Image(format="jpeg", layout=widgets.Layout(max_width="100%", object_fit="contain"))
        self.info = widgets.HTML()
        self.close_button = widgets.Button(description="Close", icon="times", tooltip="close the large view",
                                           layout=widgets.Layout(width="auto"))
        self.close_button.add_class("jdl-details-close")
        self.close_button.on_click(lambda _b: self.hide(notify=True))
        self._on_close = on_close
        self.title = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox([self.title, self.close_button],
                                                 layout=widgets.Layout(justify_content="space-between")),
                                    self.image, self.info],
                                   layout=widgets.Layout(width=f"{LARGE_SIZE + 24}px", display="none",
                                                         padding="4px 8px", flex="0 0 auto"))
        self.widget.add_class("jdl-details")

    def show(self, item: Any) -> None:
        """Fill the large view with ``item`` and reveal it."""
        self.key = item.key
        self.title.value = f"<b>{html.escape(item_name(item))}</b>"
        self.image.value = self.image_for(item)
        self.info.value = details_html(self.state, item, classes=self.classes, reasons=self.reasons)
        self.widget.layout.display = "flex"

    def refresh(self) -> None:
        """After an edit: show the item's new label/path, or close when it is gone."""
        if self.key is None:
            return
        item = self.state.item(self.key)
        if item is None:
            self.hide()
        else:
            self.show(item)

    def hide(self, notify: bool = False) -> None:
        """Close the large view; ``notify`` also calls ``on_close`` (as the Close button does)."""
        self.key = None
        self.widget.layout.display = "none"
        if notify and self._on_close is not None:
            self._on_close()
