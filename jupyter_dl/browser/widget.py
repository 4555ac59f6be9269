"""The data browser widget behind ``%browse``: look at a data set, find what is broken, fix it.

One :class:`Browser` shows, top to bottom: the data set and its health (checked
in a background thread; each count is a filter), the "likely mislabelled" line
(:mod:`.issues_view`: find the labels most likely wrong, fix each in one click),
images per class (a bar chart: click a bar to filter) or, for a learner, the
mistakes panel (confusion matrix, most-confused pairs, per-class table), the
filters (class, split, status, file name; predicted class and right/wrong for a
learner), the cleaning toolbar, the pager and the thumbnail grid with the large
view beside it.

The state lives in :class:`~jupyter_dl.browser.state.BrowserState`; the
widgets only show it and change it, so the same methods serve clicks in the
page, power users (``b.filter(label="cat")``, ``b.selected``, ``b.editor``) and
the tests. The next page's thumbnails are made in the background while the
current one is looked at. After the widget comes its snapshot output, what a
notebook reopened without the kernel shows (:mod:`.snapshot`).

DOM hooks: the widget ``.jdl-browser`` (also ``.jdl-live``); ``.jdl-browse-header``, ``.jdl-health``,
``.jdl-issues`` (see issues_view.py), ``.jdl-class-bars`` (bar chart: plotly, or SVG with plotly 5),
``.jdl-mistakes``, ``.jdl-filters`` (with ``.jdl-filter-class``, ``.jdl-filter-split``,
``.jdl-filter-status``, ``.jdl-search``, ``.jdl-filter-predicted``, ``.jdl-filter-outcome``,
``.jdl-reset``), ``.jdl-toolbar``,
``.jdl-pager`` (pager.py: ``.jdl-prev``, ``.jdl-page-label``, ``.jdl-next``, ``.jdl-match-count``),
``.jdl-grid`` (see grid.py) and ``.jdl-details``.
"""
from __future__ import annotations

import contextlib
import html
import threading
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..ui.output import display_widget, enable_colab_widgets
from ..ui.snapshot import LIVE_CLASS, SnapshotKeeper, live_style, new_token, placeholder_bundle
from .cells import grid_cell
from .charts import class_bars, live_chart, on_click_x, update_figure
from .details import LARGE_SIZE, DetailsPanel
from .filters import FilterBar
from .grid import ThumbnailGrid, data_uri
from .health_view import HealthLine
from .issues_view import IssuesLine
from .pager import Pager
from .session import BrowseSession
from .snapshot import draw_snapshot
from .toolbar import CleaningToolbar, describe_change

if TYPE_CHECKING:
    from .mistakes import MistakesPanel


class Browser(BrowseSession):
    """A live data (or mistakes) browser; see the module docstring.

    ``catalog``: a :class:`~jupyter_dl.data.catalog.Catalog`; ``interpretation``: an
    :class:`~jupyter_dl.browser.interpretation.Interpretation` for mistakes mode (its catalog
    is then the one browsed). ``size``: thumbnail side in pixels; ``page_size``:
    thumbnails per page. ``check_health=False`` skips the background health check
    (``health_check`` replaces :func:`~jupyter_dl.data.health.check_health`, for tests).
    ``show=False`` builds the widgets without displaying them (tests).
    """

    def __init__(self, catalog: Any, *, interpretation: Any = None, size: int = 128, page_size: int = 48,
                 label: str | None = None, split: str = "all", check_health: bool = True,
                 show: bool = True, health_check: Any = None) -> None:
        import ipywidgets as widgets

        super().__init__(catalog, interpretation=interpretation, size=size, page_size=page_size, label=label,
                         split=split)
        enable_colab_widgets()
        self.closed = False
        self.last_render_s = 0.0         # how long the last page took to show (benchmarks read it)
        self._lock = threading.RLock()
        self._prefetched: Any = None
        self._handle: Any = None
        token = new_token()
        # The output after the widget: what a reopened notebook shows without the kernel (see snapshot.py).
        self.snapshot = SnapshotKeeper(lambda: draw_snapshot(self, self._lock, token))
        self._placeholder = placeholder_bundle(
            token, f"jupyter_dl browser: {self.catalog.description} (a live view: run the cell again to browse)")

        self.header = widgets.HTML(value=self._header_html())
        self.header.add_class("jdl-browse-header")
        self.health_line = HealthLine(catalog, on_report=self._on_health, on_filter=self._filter_status,
                                      check=health_check)
        self.grid = ThumbnailGrid(thumb_size=self.size, layout=widgets.Layout(width="100%"))
        self.grid.on_open(self.open)
        self.grid.observe(self._on_grid_selection, names="selected")
        classes = list(interpretation.classes) if interpretation is not None else None
        self.details = DetailsPanel(self.state, image_for=self._large_image, classes=classes,
                                    on_close=lambda: setattr(self.grid, "opened", -1))
        self.bars: Any = None                       # the class bar chart (browsing data)
        self.mistakes: MistakesPanel | None = None  # the mistakes panel (browsing a learner)
        self.charts = widgets.Box(layout=widgets.Layout(width="100%"))
        self.filter_bar = FilterBar(self.state, classes=classes, on_filter=self._filter_from_widget)
        self.toolbar = CleaningToolbar(self, self.editor, read_only_reason=getattr(catalog, "read_only_reason", None))
        self.issues_line = IssuesLine(self)
        self.grid.on_accept(self.issues_line.accept)
        self.pager = Pager(lambda step: self.go_to(self.state.page + step))
        pager = self.pager
        self.prev_button, self.next_button = pager.prev_button, pager.next_button
        self.page_label, self.match_count = pager.page_label, pager.match_count
        body = widgets.HBox([widgets.Box([self.grid], layout=widgets.Layout(flex="1 1 auto", min_width="0")),
                             self.details.widget], layout=widgets.Layout(align_items="flex-start", width="100%"))
        # Carries the CSS that hides the snapshot while this widget is on the page.
        style = widgets.HTML(live_style(token), layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([style, self.header, self.health_line.widget, self.issues_line.widget, self.charts,
                                    self.filter_bar.widget, self.toolbar.widget, pager.widget, body],
                                   layout=widgets.Layout(width="100%"))
        self.widget.add_class("jdl-browser")
        self.widget.add_class(LIVE_CLASS)
        self.render()
        if show:   # before the health thread starts, so nothing it prints can come between widget and snapshot
            self.show()
        if check_health:
            self.health_line.start()
        else:
            self.health_line.text.value = ""
        # After the grid is on the page: plotly's FigureWidget takes a while to import in a fresh kernel.
        self._build_charts()

    def _build_charts(self) -> None:
        if self.interpretation is not None:
            from .mistakes import MistakesPanel

            self.mistakes = MistakesPanel(self.state, on_cell=self.show_cell)
            self.charts.children = [self.mistakes.widget]
        else:
            self.bars = live_chart(self._bars_figure(), "jdl-class-bars")
            on_click_x(self.bars, self._clicked_bar)
            self.charts.children = [self.bars]

    # ------------------------------------------------------------------ display
    def show(self) -> None:
        """Display the widget, and after it the snapshot that stands in for it where it cannot show."""
        self._handle = display_widget(
            self.widget, f"jupyter_dl browser: {self.catalog.description} (needs a Jupyter widget front end)")
        self.snapshot.show(self._placeholder)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + "; .selected, .editor, .filter(...), .close()>"

    def close(self) -> None:
        """Close the widgets and leave the static summary (it survives saving and needs no kernel)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        bundle = None
        try:
            bundle = self.static_bundle(note="closed browser: the first page of the last filter", page=0)
        except Exception as exc:
            warnings.warn(f"jupyter_dl: could not render the browser's summary ({exc!r}).", stacklevel=2)
        if self._handle is not None and bundle is not None:
            self._handle.update(bundle, raw=True)
        self.snapshot.close(final={"text/plain": ""} if bundle is not None else None)
        for widget in self.widget.children:
            _close_tree(widget)
        self.widget.close()

    # ------------------------------------------------------------------ rendering
    def _header_html(self) -> str:
        items = self.catalog.items
        n_train = sum(1 for item in items if item.split == "train")
        n_valid = len(items) - n_train
        subset = self.state.subset
        what = f" \u00b7 the model's mistakes on the {subset} images" if self.interpretation is not None else ""
        split = f"{self._judged_count()} scored" if subset == "test" else f"{n_train} train / {n_valid} valid"
        return (f"<div style='display:flex;gap:10px;align-items:baseline;flex-wrap:wrap'>"
                f"<b style='font-size:1.1em'>jupyter_dl \u00b7 browse</b>"
                f"<span>{html.escape(_source_name(self.catalog.description))}</span>"
                f"<span style='color:var(--jp-ui-font-color2,#57606a)'>{len(items)} images \u00b7 "
                f"{len(self.state.classes())} classes \u00b7 {split}{what}</span></div>")

    def _bars_figure(self) -> dict:
        return class_bars(self.state.counts("train"), self.state.counts("valid"), active=self.state.query.label)

    def render(self) -> None:
        """Show the current page of matches (thumbnails made or read from the cache), pager and counts."""
        from ..data.thumbnails import prefetch, thumbnails

        with self._lock:
            if self.closed:
                return
            self._catch_up()
            started = time.perf_counter()
            page = self.state.current_page()
            jpegs = thumbnails(self.catalog, page.items, size=self.size)
            editable = self.editor is not None   # read-only data: no suggestion button (.accept_suggestion says why)
            cells = [grid_cell(self.state, item, data_uri(jpeg), editable) for item, jpeg in zip(page.items, jpegs)]
            with self.grid.hold_sync():
                self.grid.cells = cells
                self.grid.selected = self.state.selected_keys()
            self.pager.show(page, self._judged_count(), self.state.query.describe())
            self.toolbar.refresh()
            self.last_render_s = time.perf_counter() - started
            following = self.state.page_items(page.number + 1)
            if following:
                self._prefetched = prefetch(self.catalog, following, size=self.size)

    def _judged_count(self) -> int:
        if self.state.predictions is None:
            return len(self.catalog.items)
        return sum(1 for item in self.catalog.items if item.key in self.state.predictions)

    def _large_image(self, item: Any) -> bytes:
        from ..data.thumbnails import thumbnail

        return thumbnail(self.catalog, item, size=LARGE_SIZE)

    # ------------------------------------------------------------------ filtering and paging
    def filter(self, **changes: Any) -> list[int]:
        """Change filters (label, split, status, search, predicted, outcome) and show their first page.

        Returns the matching keys in display order. Bad values raise UserInputError.
        """
        with self._lock:
            keys = super().filter(**changes)
            self.filter_bar.sync()
            if self.bars is not None and "label" in changes:
                update_figure(self.bars, self._bars_figure())
            if self.mistakes is not None:
                query = self.state.query
                label, predicted = query.label, query.predicted
                self.mistakes.mark((label, predicted) if label is not None and predicted is not None else None)
            self.render()
            self.snapshot.changed()
            return keys

    def _filter_from_widget(self, **change: Any) -> None:
        try:
            self.filter(**change)
        except Exception as exc:  # a click must never leave a traceback in the output
            self.toolbar.say(str(exc), error=True)

    def _filter_status(self, status: str) -> None:
        self.filter(status=status)

    def _clicked_bar(self, label: str) -> None:
        """A bar click filters to its class; a click on the active bar shows all classes again."""
        self.filter(label=None if self.state.query.label == label else label)

    def show_cell(self, actual: str, predicted: str) -> list[int]:
        """Mistakes mode: show exactly the items of one confusion-matrix cell (actual, predicted)."""
        return self.filter(label=actual, predicted=predicted, outcome="all", status=None, search="")

    def go_to(self, page: int) -> int:
        """Show page ``page`` (0-based, clamped); returns the page shown."""
        with self._lock:
            number = self.state.go_to(page)
            self.render()
            return number

    def next_page(self) -> int:
        """Show the next page (clamped at the last); returns the page shown."""
        return self.go_to(self.state.page + 1)

    def prev_page(self) -> int:
        """Show the previous page (clamped at the first); returns the page shown."""
        return self.go_to(self.state.page - 1)

    # ------------------------------------------------------------------ large view
    def open(self, key: int) -> None:
        """Show item ``key`` in the large view."""
        item = self.state.item(key)
        if item is None:
            return
        self.details.show(item)
        self.grid.opened = key

    # ------------------------------------------------------------------ selection and editing
    def selected_keys(self) -> list[int]:
        """The selected item keys (every page), in catalog order."""
        return self.state.selected_keys()

    def select_page(self) -> None:
        """Add every item of the current page to the selection."""
        self.state.select(item.key for item in self.state.current_page().items)
        self._show_selection()

    def clear_selection(self) -> None:
        """Select nothing, on every page."""
        self.state.clear_selection()
        self._show_selection()

    def _show_selection(self) -> None:
        """Tick the selection in the grid and count it in the toolbar (also after ``.selected = keys``)."""
        with self._lock:
            keys = self.state.selected_keys()
            if list(self.grid.selected) != keys:
                self.grid.selected = keys
            self.toolbar.refresh()

    def _on_grid_selection(self, change: dict) -> None:
        new = {int(k) for k in change["new"]}
        if new == self.state.selected:
            return
        self.state.clear_selection()
        self.state.select(new)
        self.toolbar.refresh()

    def classes(self) -> list[str]:
        """Every class (see :meth:`BrowserState.classes`): the toolbar's label choices."""
        return self.state.classes()

    def after_edit(self, change: Any, verb: str) -> None:
        """The editor changed the data set: re-filter, recount, redraw."""
        with self._lock:
            super().after_edit(change, verb)
            self.header.value = self._header_html()
            self.issues_line.refresh()
            self.filter_bar.fill_options(self.health)
            if self.bars is not None:
                update_figure(self.bars, self._bars_figure())
            if self.mistakes is not None:
                self.mistakes.refresh()
            self.details.refresh()
            self.render()
            self.snapshot.changed()

    def relabel(self, label: str, keys: Sequence[int] | None = None) -> Any:
        """Relabel ``keys`` (default: the selection); raises UserInputError where the toolbar would say it."""
        change = super().relabel(label, keys)
        self.toolbar.say(describe_change(change))
        self.toolbar.refresh()
        return change

    def remove(self, keys: Sequence[int] | None = None) -> Any:
        """Remove ``keys`` (default: the selection); raises UserInputError where the toolbar would say it."""
        change = super().remove(keys)
        self.toolbar.say(describe_change(change))
        self.toolbar.refresh()
        return change

    def undo(self) -> Any:
        """Undo the last change and say so in the toolbar; returns it (None when there was nothing to undo)."""
        change = super().undo()
        self.toolbar.say(describe_change(change) if change is not None else "Nothing to undo.")
        self.toolbar.refresh()
        return change

    def find_label_issues(self, **options: Any) -> list:
        """Find the likely mislabelled images (see :meth:`BrowseSession.find_label_issues`; the line counts while
        they are embedded), then offer them as the "likely mislabelled" filter; returns the LabelIssues."""
        with self._lock:
            self.issues_line.running()
            try:
                issues = super().find_label_issues(**{"quiet": True, "progress": self.issues_line.progress,
                                                      **options})
            finally:
                self.issues_line.refresh()
            self.filter_bar.fill_options(self.health)
            self.render()
            self.snapshot.changed()
            return issues

    # ------------------------------------------------------------------ health
    def _on_health(self, report: Any) -> None:
        """The background check finished (its thread): filters and cell flags get its findings."""
        with self._lock:
            if self.closed:
                return
            self.set_health(report)
            self.details.reasons = dict(getattr(report, "unreadable", {}) or {})
            self.health_line.show(report, self.state.statuses)
            self.filter_bar.fill_options(self.health)
            self.render()
            self.snapshot.changed()

    def wait_health(self, timeout: float | None = 60) -> Any:
        """Wait for the background health check; returns the report (None if it failed or timed out)."""
        self.health_line.wait(timeout)
        return self.health


def _source_name(description: str) -> str:
    """"folder data/pets" from "folder data/pets: 1797 images, 10 classes": the counts shown are live ones."""
    return description.split(": ", 1)[0]


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    with contextlib.suppress(Exception):
        widget.close()
