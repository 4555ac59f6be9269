"""The cleaning toolbar: select, relabel, remove, undo, and one status line saying what happened.

Every action goes through :class:`jupyter_dl.data.cleaning.DatasetEditor` (files
move, tables are rewritten atomically, nothing is deleted, every change can be
undone); the toolbar only collects what the person chose. A refusal from the
editor (a :class:`~jupyter_dl.errors.UserInputError`) becomes the status line,
never a traceback. For a data set that cannot be edited the toolbar keeps the
selection buttons and says why in one line.

DOM hooks: ``.jdl-toolbar`` with ``.jdl-select-page``, ``.jdl-clear-selection``,
``.jdl-label-choice`` (a select), ``.jdl-new-label`` (a text box, shown for "new
class..."), ``.jdl-relabel``, ``.jdl-remove``, ``.jdl-undo``; ``.jdl-action-status``
(the last action or error) and ``.jdl-read-only`` (why editing is off).
"""
from __future__ import annotations

import html
from typing import Any, Callable

from ..errors import UserInputError

NEW_CLASS = "new class\u2026"


def describe_change(change: Any) -> str:
    """The editor's one sentence about a change (an undo's starts with "Undid:")."""
    return getattr(change, "summary", "") or f"{change.action} of {len(change.items)} images"


class CleaningToolbar:
    """Buttons that act on the browser's selection (see the module docstring).

    ``actions`` is the browser: ``selected_keys()``, ``select_page()``, ``clear_selection()``,
    ``classes()`` and ``after_edit(change, verb)`` (re-render after a change).
    """

    def __init__(self, actions: Any, editor: Any | None, read_only_reason: str | None = None) -> None:
        import ipywidgets as widgets

        self.actions = actions
        self.editor = editor
        self.read_only_reason = read_only_reason or "this data set cannot be edited"
        self.select_page = self._button("Select page", "check-square", "select every image on this page",
                                        "jdl-select-page", lambda: actions.select_page())
        self.clear = self._button("Clear", "square-o", "clear the selection (every page)", "jdl-clear-selection",
                                  lambda: actions.clear_selection())
        self.selection_text = widgets.HTML(value="")
        self.selection_text.add_class("jdl-selection-count")
        self.label_choice = widgets.Dropdown(options=self._label_options(), description="label",
                                             layout=widgets.Layout(width="200px"),
                                             style={"description_width": "36px"})
        self.label_choice.add_class("jdl-label-choice")
        self.new_label = widgets.Text(placeholder="new class name", continuous_update=False,
                                      layout=widgets.Layout(width="150px", display="none"))
        self.new_label.add_class("jdl-new-label")
        self.label_choice.observe(self._on_label_choice, names="value")
        self.relabel_button = self._button("Relabel", "tag", "give the selected images this label", "jdl-relabel",
                                           self.relabel)
        self.remove_button = self._button("Remove", "trash", "move the selected images to the data set's trash "
                                          "folder (undoable)", "jdl-remove", self.remove, style="danger")
        self.undo_button = self._button("Undo", "undo", "nothing to undo", "jdl-undo", self.undo)
        self.status = widgets.HTML(value="")
        self.status.add_class("jdl-action-status")
        select_row = [self.select_page, self.clear, self.selection_text]
        if editor is None:
            note = widgets.HTML(value=f"<span style='color:var(--jp-ui-font-color2,#57606a)'>Read-only: "
                                      f"{html.escape(self.read_only_reason)}.</span>")
            note.add_class("jdl-read-only")
            row = widgets.HBox(select_row + [note], layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        else:
            row = widgets.HBox(select_row + [self.label_choice, self.new_label, self.relabel_button,
                                             self.remove_button, self.undo_button],
                               layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        self.widget = widgets.VBox([row, self.status])
        self.widget.add_class("jdl-toolbar")
        self.refresh()

    @staticmethod
    def _button(text: str, icon: str, tooltip: str, css: str, action: Callable[[], Any], style: str = "") -> Any:
        import ipywidgets as widgets

        button = widgets.Button(description=text, icon=icon, tooltip=tooltip, button_style=style,
                                layout=widgets.Layout(width="auto"))
        button.add_class(css)
        button.on_click(lambda _b: action())
        return button

    # ------------------------------------------------------------------ state
    def _label_options(self) -> list[str]:
        return [*self.actions.classes(), NEW_CLASS]

    def _on_label_choice(self, change: dict) -> None:
        self.new_label.layout.display = "" if change["new"] == NEW_CLASS else "none"

    def chosen_label(self) -> str:
        """The label to give: the chosen class, or the typed name for "new class..." ("" when none)."""
        if self.label_choice.value == NEW_CLASS:
            return self.new_label.value.strip()
        return self.label_choice.value or ""

    def refresh(self) -> None:
        """Selection count, label choices (a relabel may have made a class) and the Undo button's text."""
        n = len(self.actions.selected_keys())
        self.selection_text.value = (f"<span style='color:var(--jp-ui-font-color2,#57606a)'>{n} selected</span>"
                                     if n else "")
        options = self._label_options()
        if list(self.label_choice.options) != options:
            current = self.label_choice.value
            self.label_choice.options = options
            if current in options:
                self.label_choice.value = current
        if self.editor is None:
            return
        self.relabel_button.disabled = self.remove_button.disabled = n == 0
        history = self.undoable()
        self.undo_button.disabled = not history
        self.undo_button.tooltip = f"undo: {describe_change(history[-1])}" if history else "nothing to undo"
        self.undo_button.description = f"Undo ({len(history)})" if history else "Undo"

    def undoable(self) -> list:
        """The editor's changes that an undo would revert, oldest first."""
        return self.editor.history if self.editor is not None else []

    def say(self, text: str, error: bool = False) -> None:
        """Put ``text`` in the status line (in red for an ``error``), replacing what it said."""
        color = "var(--jp-error-color1,#c62828)" if error else "var(--jp-ui-font-color1,#1f2328)"
        self.status.value = f"<span style='color:{color}'>{html.escape(text)}</span>"

    # ------------------------------------------------------------------ actions
    def _run(self, verb: str, action: Callable[[Any], Any]) -> Any:
        if self.editor is None:  # the buttons are not shown then; a call from code gets the reason
            self.say(f"Read-only: {self.read_only_reason}.", error=True)
            return None
        try:
            change = action(self.editor)
        except UserInputError as exc:
            self.say(str(exc), error=True)
            return None
        except OSError as exc:  # a file that vanished or a folder that cannot be written
            self.say(f"{verb.capitalize()} failed: {exc}", error=True)
            return None
        self.actions.after_edit(change, verb)
        if change is None:
            self.say("Nothing to undo.")
        else:
            self.say(describe_change(change))
        self.refresh()
        return change

    def relabel(self) -> Any:
        """Give the selection :meth:`chosen_label`; returns the change (None when refused: the status line says why)."""
        keys = self.actions.selected_keys()
        if not keys:
            self.say("Select images first (the box on each thumbnail, or Select page).", error=True)
            return None
        label = self.chosen_label()
        if not label:
            self.say("Type the name of the new class, then click Relabel.", error=True)
            return None
        return self._run("relabel", lambda editor: editor.relabel(keys, label))

    def remove(self) -> Any:
        """Move the selection to the trash folder; returns the change (None when refused: the status line says why)."""
        keys = self.actions.selected_keys()
        if not keys:
            self.say("Select images first (the box on each thumbnail, or Select page).", error=True)
            return None
        return self._run("remove", lambda editor: editor.remove(keys))

    def undo(self) -> Any:
        """Undo the editor's last change; returns it (None when refused or there was nothing to undo)."""
        return self._run("undo", lambda editor: editor.undo())
