"""The browser's "likely mislabelled" line: find the labels most likely wrong, show them, fix each in one click.

A button runs :func:`~jupyter_dl.labelling.issues.find_label_issues` on the data set as it is now (the
line counts the images while they are embedded; embeddings are cached, so a second run takes a moment),
then the grid shows the flagged images, most likely wrong first, each captioned "given → suggested
(score)" with a button that gives it the suggested label (through the cleaning editor: Undo as usual).
A count button ("12 likely mislabelled") filters to them again later; it follows the edits.

It runs in the kernel while the button is held, not in a thread: the data set must not change under
it (a relabel during embedding would move a file it is reading), and the line's updates still reach the
page while it runs.

DOM hooks: ``.jdl-issues`` holds ``button.jdl-find-issues``, ``button.jdl-issues-filter`` (hidden until
something is found) and ``.jdl-issues-text``.
"""
from __future__ import annotations

import html
import time
from typing import Any

from ..errors import UserInputError
from .state import LABEL_ISSUES

PROGRESS_EVERY = 0.25   # seconds between updates of the line while embedding


class IssuesLine:
    """The line's widgets; ``actions`` is the browser (``find_label_issues(**options)``, ``filter(**query)``,
    ``accept_suggestion(key)``, ``state`` and ``toolbar``)."""

    def __init__(self, actions: Any) -> None:
        import ipywidgets as widgets

        self.actions = actions
        self._last_progress = 0.0
        self.find_button = widgets.Button(
            description="Find likely mislabelled", icon="search", layout=widgets.Layout(width="auto", height="26px"),
            tooltip="predict every image with models that never saw it (k-fold linear heads on cached "
                    "embeddings) and show those predicted as another class than their label")
        self.find_button.add_class("jdl-find-issues")
        self.find_button.on_click(lambda _b: self.find())
        self.count_button = widgets.Button(button_style="warning", tooltip="show the likely mislabelled images",
                                           layout=widgets.Layout(width="auto", height="26px", display="none"))
        self.count_button.add_class("jdl-issues-filter")
        self.count_button.on_click(lambda _b: self.show_them())
        self.text = widgets.HTML(value="")
        self.text.add_class("jdl-issues-text")
        self.widget = widgets.HBox([self.find_button, self.count_button, self.text],
                                   layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        self.widget.add_class("jdl-issues")

    # ------------------------------------------------------------------ clicks
    def find(self) -> None:
        """The button: find the issues, then show them (or say why it could not, in the line)."""
        try:
            issues = self.actions.find_label_issues()
        except Exception as exc:  # a click must never leave a traceback in the output
            self.text.value = _coloured(str(exc), "var(--jp-error-color1,#c62828)")
            return
        if issues:
            self.show_them()

    def show_them(self) -> None:
        """The count button (and a run that found some): filter the grid to the likely mislabelled images."""
        try:
            self.actions.filter(status=LABEL_ISSUES)
        except Exception as exc:  # a click must never leave a traceback in the output
            self.actions.toolbar.say(str(exc), error=True)

    def accept(self, key: int) -> None:
        """A cell's suggestion button: relabel the item to its suggestion (the toolbar says what happened)."""
        try:
            self.actions.accept_suggestion(key)
        except (UserInputError, OSError) as exc:
            self.actions.toolbar.say(str(exc), error=True)

    # ------------------------------------------------------------------ what the line says
    def running(self) -> None:
        """Called as a run starts: the button waits, the line says so."""
        self.find_button.disabled = True
        self.text.value = _coloured("finding likely mislabelled images\u2026")

    def progress(self, done: int, total: int) -> None:
        """``find_label_issues``' progress hook: count the embedded images (a few updates a second)."""
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_EVERY and done < total:
            return
        self._last_progress = now
        self.text.value = _coloured(f"embedding {done}/{total} images\u2026")

    def refresh(self) -> None:
        """Show the count of open issues (after a run, a failed one, or an edit)."""
        self.find_button.disabled = False
        issues = self.actions.state.issues
        if issues is None:
            self.text.value = ""
            return
        self.find_button.description = "Find again"
        count = len(self.actions.state.open_issues())
        self.count_button.description = f"{count} likely mislabelled"
        self.count_button.layout.display = "" if count else "none"
        self.text.value = _coloured("none left \u2713" if issues and not count else
                                    "none found \u2713" if not count else "")


def _coloured(text: str, color: str = "var(--jp-ui-font-color2,#57606a)") -> str:
    return f"<span style='color:{color}'>{html.escape(text)}</span>"
