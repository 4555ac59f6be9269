"""The browser's filter bar: class (or actual class), predicted class, right/wrong, split, health status,
file name (the status also "likely mislabelled" once find_label_issues has run), and Reset.

It only collects what the person picks and shows ``state.query``: a change calls
``on_filter(field=value)``, and the browser filters (:meth:`~jupyter_dl.browser.widget.Browser.filter`).
The dropdowns count their classes and findings (:meth:`FilterBar.fill_options`).

DOM hooks: ``.jdl-filters`` holds ``.jdl-filter-class``, ``.jdl-filter-predicted``,
``.jdl-filter-outcome``, ``.jdl-filter-split``, ``.jdl-filter-status``, ``.jdl-search`` and
``button.jdl-reset``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .state import LABEL_ISSUES, OUTCOMES, SPLITS, BrowserState, health_counts

ALL = ""   # the "no filter" choice of the dropdowns (None is not a value ipywidgets keeps)


class FilterBar:
    """The filter widgets over a :class:`BrowserState`; ``classes`` (a learner's) turns on mistakes mode."""

    def __init__(self, state: BrowserState, *, classes: list[str] | None,
                 on_filter: Callable[..., Any]) -> None:
        import ipywidgets as widgets

        self.state = state
        self.classes = classes
        self.on_filter = on_filter
        self._quiet = False          # set while the code (not the person) changes the widgets
        mistakes = classes is not None
        self.class_filter = widgets.Dropdown(description="actual" if mistakes else "class",
                                             layout=widgets.Layout(width="220px"),
                                             style={"description_width": "44px"})
        self.class_filter.add_class("jdl-filter-class")
        self.split_filter = widgets.ToggleButtons(options=list(SPLITS), value=state.query.split,
                                                  style={"button_width": "58px"},
                                                  layout=widgets.Layout(display="none" if mistakes else ""))
        self.split_filter.add_class("jdl-filter-split")
        self.status_filter = widgets.Dropdown(options=[("any status", ALL)], value=ALL, description="status",
                                              layout=widgets.Layout(width="230px"),
                                              style={"description_width": "44px"})
        self.status_filter.add_class("jdl-filter-status")
        self.search = widgets.Text(placeholder="file name contains\u2026 (Enter)", continuous_update=False,
                                   layout=widgets.Layout(width="210px"))
        self.search.add_class("jdl-search")
        self.predicted_filter = widgets.Dropdown(
            options=[("any", ALL)], value=ALL, description="predicted",
            layout=widgets.Layout(width="230px", display="" if mistakes else "none"),
            style={"description_width": "62px"})
        self.predicted_filter.add_class("jdl-filter-predicted")
        self.outcome_filter = widgets.ToggleButtons(options=list(OUTCOMES), value="all",
                                                    style={"button_width": "64px"},
                                                    layout=widgets.Layout(display="" if mistakes else "none"))
        self.outcome_filter.add_class("jdl-filter-outcome")
        reset = widgets.Button(description="Reset", icon="filter", tooltip="show everything again",
                               layout=widgets.Layout(width="auto"))
        reset.add_class("jdl-reset")
        reset.on_click(lambda _b: on_filter(label=None, split="all", status=None, search="", predicted=None,
                                            outcome="all"))
        self.fill_options(None)
        watch = [(self.class_filter, "label"), (self.split_filter, "split"), (self.status_filter, "status"),
                 (self.search, "search"), (self.predicted_filter, "predicted"), (self.outcome_filter, "outcome")]
        for widget, field in watch:
            widget.observe(lambda change, f=field: self._changed(f, change["new"]), names="value")
        self.widget = widgets.HBox([self.class_filter, self.predicted_filter, self.outcome_filter,
                                    self.split_filter, self.status_filter, self.search, reset],
                                   layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.widget.add_class("jdl-filters")

    def fill_options(self, health: Any) -> None:
        """Recount the choices: classes, predicted classes, (once ``health`` is known) its findings and (once
        found) the likely mislabelled images."""
        mistakes = self.classes is not None
        counts = self.state.counts("valid" if mistakes else "all")
        self._set_options(self.class_filter, [("all classes", ALL)] + [(f"{name} ({n})", name)
                                                                      for name, n in counts.items()])
        if mistakes:
            predicted = dict.fromkeys(self.classes or [], 0)
            for item in self.state.catalog.items:
                prediction = (self.state.predictions or {}).get(item.key)
                if prediction is not None and prediction.predicted in predicted:
                    predicted[prediction.predicted] += 1
            self._set_options(self.predicted_filter,
                              [("any", ALL)] + [(f"{name} ({n})", name) for name, n in predicted.items()])
        statuses = [("any status", ALL)]
        if health is not None:
            statuses += [(f"{text} ({count})", status) for status, count, text in
                         health_counts(health, self.state.statuses) if count]
        if self.state.issues is not None:
            statuses.append((f"{LABEL_ISSUES} ({len(self.state.open_issues())})", LABEL_ISSUES))
        self._set_options(self.status_filter, statuses)
        self.sync()  # keep showing a filter whose class has just emptied

    def sync(self) -> None:
        """Make the widgets show ``state.query`` (without them filtering again)."""
        query = self.state.query
        quiet, self._quiet = self._quiet, True
        try:
            for dropdown, value in ((self.class_filter, query.label), (self.status_filter, query.status),
                                    (self.predicted_filter, query.predicted)):
                values = [v for _, v in dropdown.options]
                if (value or ALL) not in values:  # e.g. a status before the health check has counted it
                    dropdown.options = list(dropdown.options) + [(value, value)]
                dropdown.value = value or ALL
            self.split_filter.value = query.split
            self.outcome_filter.value = query.outcome
            self.search.value = query.search
        finally:
            self._quiet = quiet

    def _set_options(self, dropdown: Any, options: list[tuple[str, str]]) -> None:
        if list(dropdown.options) == options:
            return
        quiet, self._quiet = self._quiet, True
        try:
            current = dropdown.value
            dropdown.options = options
            values = [value for _, value in options]
            dropdown.value = current if current in values else ALL
        finally:
            self._quiet = quiet

    def _changed(self, field: str, value: Any) -> None:
        if self._quiet:
            return
        if field in ("label", "status", "predicted"):
            value = value or None
        elif field == "search":
            value = (value or "").strip()
        self.on_filter(**{field: value})
