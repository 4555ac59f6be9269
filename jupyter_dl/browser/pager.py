"""The browser's pager: Prev, "page 2 of 5", Next, and how many images match the filters.

DOM hooks: ``.jdl-pager`` holds ``button.jdl-prev``, ``.jdl-page-label``, ``button.jdl-next`` and
``.jdl-match-count``.
"""
from __future__ import annotations

import html
from typing import Any, Callable

from .state import Page


class Pager:
    """The pager's widgets; ``on_step(-1)`` / ``on_step(+1)`` when Prev / Next is clicked."""

    def __init__(self, on_step: Callable[[int], Any]) -> None:
        import ipywidgets as widgets

        self.prev_button = _button("Prev", "chevron-left", "previous page", "jdl-prev", lambda: on_step(-1))
        self.next_button = _button("Next", "chevron-right", "next page", "jdl-next", lambda: on_step(+1))
        self.page_label = widgets.HTML()
        self.page_label.add_class("jdl-page-label")
        self.match_count = widgets.HTML()
        self.match_count.add_class("jdl-match-count")
        self.widget = widgets.HBox([self.prev_button, self.page_label, self.next_button, self.match_count],
                                   layout=widgets.Layout(align_items="center"))
        self.widget.add_class("jdl-pager")

    def show(self, page: Page, of: int, query: str) -> None:
        """Show ``page`` (its number, the buttons that apply) and "N of ``of`` images · ``query``"."""
        self.page_label.value = f"<span>{page.label}</span>"
        self.prev_button.disabled = page.number == 0
        self.next_button.disabled = page.number >= page.count - 1
        self.match_count.value = (f"<span style='color:var(--jp-ui-font-color2,#57606a)'>{page.total} of "
                                  f"{of} images \u00b7 {html.escape(query)}</span>")


def _button(text: str, icon: str, tip: str, css: str, action: Callable[[], Any]) -> Any:
    import ipywidgets as widgets

    button = widgets.Button(description=text, icon=icon, tooltip=tip, layout=widgets.Layout(width="auto"))
    button.add_class(css)
    button.on_click(lambda _b: action())
    return button
