"""The live ``%label`` view: a keyboard-first page grid over a :class:`~.session.LabelSession`.

From the top: a header (what is labelled, what is left, which model suggests), the class buttons
(click = the key with that number) with a field to add a class, the action buttons (each names its
key), the grid (:mod:`.label_grid`), a status line (the last change, a refusal, the background model),
the accuracy-against-labels chart (:mod:`.chart`) and the background fine-tune's own live view.

Python and the page do the same things: :meth:`Labeller.label`, ``.accept()``, ``.skip()``,
``.undo()``, ``.turn_page()``, ``.add_class()`` (inherited) redraw the widget too. Bad input from the
page is shown in the status line (it never raises into the kernel's log); from Python it raises.

DOM hooks: ``.jdl-labeller`` holding ``.jdl-label-header``, ``.jdl-label-class`` buttons,
``.jdl-label-accept`` / ``-skip`` / ``-undo`` / ``-next`` / ``-retrain`` buttons, ``.jdl-label-new``
(the new class field), ``.jdl-label-status``, ``.jdl-label-chart-box``, and once a background fine-tune has
started, ``.jdl-label-run-output`` (its live view; see :class:`RunOutput`).
"""
from __future__ import annotations

import html
import threading
import warnings
from typing import Any

from ..data.thumbnails import thumbnails
from ..errors import UserInputError
from ..ui.output import display_widget, enable_colab_widgets
from ..ui.snapshot import LIVE_CLASS, SnapshotKeeper, live_style, new_token, placeholder_bundle, snapshot_html
from .chart import accuracy_svg
from .label_grid import LabelGrid
from .session import LabelSession, key_names
from .views import cell_lines, header_text, page_catalog, summary_html

SNAPSHOT_NOTE = "Snapshot of a live %label output (the kernel is gone): run the cell again to go on labelling."


class RunOutput:
    """Where the background fine-tune shows its live view: an ``ipywidgets.Output`` added to the labeller
    when the first run starts (a context manager, as the Output is).

    Not among the labeller's children from the start: classic Notebook 6 with Colab's ipywidgets 7.7.1
    (widgetsnbextension 3.6.10) cannot create an Output widget's model, and one child that cannot be
    created stops the whole box from rendering. Added later, only the run's view is missing there.
    """

    def __init__(self, labeller: Labeller) -> None:
        self.labeller = labeller
        self.widget: Any = None

    def __enter__(self) -> Any:
        if self.widget is None:
            import ipywidgets as widgets

            self.widget = widgets.Output(layout=widgets.Layout(width="100%"))
            self.widget.add_class("jdl-label-run-output")
            self.labeller.widget.children = (*self.labeller.widget.children, self.widget)
        return self.widget.__enter__()

    def __exit__(self, *exc: Any) -> None:
        # Never the Output's own handling of an error (in a kernel it swallows it and shows a traceback): the
        # error goes on, and the Retrainer says a refusal in the status line, the page any other error.
        self.widget.__exit__(None, None, None)


class Labeller(LabelSession):
    """A live labeller; see the module docstring. ``retrain_every``/``retrain_options``: the background
    fine-tunes (:class:`~.retrain.Retrainer`); ``size``: thumbnail side; ``show=False``: build, do not display."""

    def __init__(self, pool: Any, *, thumb_size: int = 128, retrain_every: int = 50,
                 retrain_options: dict | None = None, show: bool = True, **options: Any) -> None:
        import ipywidgets as widgets

        from .retrain import Retrainer

        super().__init__(pool, **options)
        enable_colab_widgets()
        self.closed = False
        self.thumb_size = thumb_size
        self._drawn_page: list[int] = []
        self._draw_lock = threading.RLock()
        self.message = ""                         # the status line's last sentence
        token = new_token()
        self.snapshot = SnapshotKeeper(lambda: {"text/html": snapshot_html(self.summary_html(), token, SNAPSHOT_NOTE),
                                                "text/plain": header_text(self)})
        self._placeholder = placeholder_bundle(token, f"jupyter_dl labeller: {pool.description}")

        self.header = widgets.HTML()
        self.header.add_class("jdl-label-header")
        self.class_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.new_class = widgets.Text(placeholder="new class", layout=widgets.Layout(width="140px"))
        self.new_class.add_class("jdl-label-new")
        add = self._button("+ class", "add the class typed in the field", "jdl-label-add", self._add_from_field)
        actions = [self._button("Accept page (a)", "label every open image with its suggestion, then the next page",
                                "jdl-label-accept", lambda: self.accept()),
                   self._button("Skip (x)", "leave the image under the cursor for later", "jdl-label-skip",
                                lambda: self.skip(self._cursor())),
                   self._button("Undo (u)", "take the last labels back", "jdl-label-undo", self.undo,
                                "Nothing to undo."),
                   self._button("Next page (Enter)", "show the next page", "jdl-label-next", self._next_page),
                   self._button("Fine-tune now", "start a background fine-tune on the labels so far",
                                "jdl-label-retrain", lambda: self.retrainer.start())]
        self.grid = LabelGrid(thumb_size=thumb_size, layout=widgets.Layout(width="100%"))
        self.grid.on_action(self._on_key)
        self.status = widgets.HTML()
        self.status.add_class("jdl-label-status")
        self.chart = widgets.HTML()
        self.chart.add_class("jdl-label-chart-box")
        self.run_output = RunOutput(self)
        self.retrainer = Retrainer(self, every=retrain_every, output=self.run_output, **(retrain_options or {}))
        style = widgets.HTML(live_style(token), layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([style, self.header, self.class_box,
                                    widgets.HBox([*actions, self.new_class, add]), self.grid, self.status,
                                    self.chart], layout=widgets.Layout(width="100%"))
        self.widget.add_class("jdl-labeller")
        self.widget.add_class(LIVE_CLASS)
        self._handle: Any = None
        self.on_change(self.render)
        self.render()
        if show:
            self.show()

    # ------------------------------------------------------------------ showing
    def show(self) -> None:
        """Display the widget, and after it the snapshot that stands in for it where it cannot show."""
        self._handle = display_widget(self.widget, f"jupyter_dl labeller: {self.pool.description} "
                                                   "(needs a Jupyter widget front end)")
        self.snapshot.show(self._placeholder)

    def render(self) -> None:
        """Redraw what changed: the page's images only when the page did, captions and counts always."""
        if self.closed:
            return
        with self._draw_lock, self.lock:
            self.header.value = f"<b>%label</b> {html.escape(header_text(self))}"
            if [b.description for b in self.class_box.children] != self._class_button_names():
                self.class_box.children = [self._class_button(i, name) for i, name in enumerate(self.classes)]
            self.grid.key_map = [[key, name] for key, name in self.key_classes()]
            if self.page != self._drawn_page:
                self._draw_page()
            self.grid.cells = [dict(key=key, **cell_lines(self, key)) for key in self.page]
            # Only a new page moves the cursor here. After a key the page has moved it on already, and
            # may be keys ahead of this kernel: a cursor sent from here would arrive late and pull it back.
            if self.grid.cursor not in self.page:
                self.grid.cursor = next(iter(self.open_on_page()), self.page[0] if self.page else -1)
            status = self.retrainer.status
            self.status.value = " \u00b7 ".join(html.escape(part) for part in (self.message, status) if part)
            self.chart.value = accuracy_svg(self.outcomes, self.retrainer.points, labelled=self.n_labelled)
        self.snapshot.changed()

    def _draw_page(self) -> None:
        catalog, items = page_catalog(self.pool, self.page)
        thumbs = thumbnails(catalog, items, size=self.thumb_size)
        from ..browser.grid import data_uri

        self.grid.images = [dict(key=item.key, src=data_uri(jpeg), title=str(item.path))
                            for item, jpeg in zip(items, thumbs)]
        self._drawn_page = list(self.page)

    def summary_html(self) -> str:
        """The static view: header, counts per class and the chart (the snapshot, and after close)."""
        with self.lock:
            return summary_html(self, accuracy_svg(self.outcomes, self.retrainer.points, labelled=self.n_labelled))

    def close(self) -> None:
        """Close the widgets and leave the static summary (it survives saving and needs no kernel)."""
        if self.closed:
            return
        self.closed = True
        bundle = {"text/html": self.summary_html(), "text/plain": header_text(self)}
        if self._handle is not None:
            self._handle.update(bundle, raw=True)
        self.snapshot.close(final={"text/plain": ""})
        self.widget.close()

    def __repr__(self) -> str:
        return f"<Labeller {header_text(self)}; .label(key, cls), .accept(), .undo(), .close()>"

    def label(self, key: int, label: str | int) -> Any:
        """Give image ``key`` the class ``label`` (see LabelSession.label); a cursor on it moves to the next
        open image (from Python and the class buttons; a key press moves the page's own cursor)."""
        change = super().label(key, label)
        if self.grid.cursor == key:
            self.grid.cursor = self._next_open(key)
        return change

    def _next_open(self, key: int) -> int:
        """The first image after ``key`` on the page (wrapping) that is still open, else ``key``."""
        page, still_open = self.page, set(self.open_on_page())
        if key not in page:
            return key
        start = page.index(key)
        return next((k for k in page[start + 1:] + page[:start] if k in still_open), key)

    # ------------------------------------------------------------------ from the page
    def _on_key(self, action: str, key: int, label: str) -> None:
        handlers = {"label": lambda: LabelSession.label(self, key, label), "skip": lambda: self.skip(key),
                    "accept": lambda: self.accept(), "undo": self.undo, "next": self._next_page}
        self._from_page(handlers[action], nothing="Nothing to undo." if action == "undo" else "")

    def _from_page(self, action: Any, nothing: str = "") -> None:
        """Run a click's or key's ``action``; its change's summary (or ``nothing``) or refusal goes to the status."""
        try:
            result = action()
        except UserInputError as exc:
            self.message = str(exc)
        except Exception as exc:  # noqa: BLE001 - a click's error would otherwise reach only the kernel's log
            self.message = f"Something went wrong: {exc!r}"
            warnings.warn(f"jupyter_dl labeller: {exc!r}", stacklevel=2)
        else:
            self.message = getattr(result, "summary", None) or (nothing if result is None else "")
        self.render()

    def _next_page(self) -> list[int]:
        page = self.turn_page()
        self.changed()
        return page

    def _add_from_field(self) -> None:
        name = self.new_class.value.strip()

        def add() -> str:
            added = self.add_class(name)
            self.new_class.value = ""
            return added

        self._from_page(add)

    def _cursor(self) -> int:
        return int(self.grid.cursor)

    # ------------------------------------------------------------------ buttons
    def _button(self, text: str, tip: str, css: str, action: Any, nothing: str = "") -> Any:
        import ipywidgets as widgets

        button = widgets.Button(description=text, tooltip=tip, layout=widgets.Layout(width="auto"))
        button.add_class(css)
        button.on_click(lambda _b: self._from_page(action, nothing))
        return button

    def _class_button_names(self) -> list[str]:
        return key_names(self.key_classes(), self.classes)

    def _class_button(self, index: int, name: str) -> Any:
        return self._button(self._class_button_names()[index], f"label the image under the cursor {name!r}",
                            "jdl-label-class", lambda: self.label(self._cursor(), name))
