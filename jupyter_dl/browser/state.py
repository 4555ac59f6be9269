"""What the data browser shows, without any widget: filters, order, paging, selection.

:class:`BrowserState` holds a catalog (and, for a learner, its predictions), the
current :class:`Query` and page, and the selection; every widget of the browser
and the static fallback read it, and the tests drive it directly. Nothing here
imports ipywidgets or plotly.

In mistakes mode the ground truth is the catalog's *current* label: the model's
predictions are fixed when the learner is interpreted, but a relabel changes what
is true, so the confusion matrix and the right/wrong filters follow the edits.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..checks import check_count
from ..errors import UserInputError

SPLITS = ("all", "train", "valid")
OUTCOMES = ("all", "wrong", "right")
RARE_CLASS = "rare class"       # the status filter made from the health report's class imbalance
HEALTH_STATUSES = ("unreadable", "duplicate", "near duplicate", "small", "extreme aspect", RARE_CLASS)
LABEL_ISSUES = "likely mislabelled"   # the status filter made from find_label_issues, most likely wrong first


@dataclass(frozen=True)
class Query:
    """The active filters; ``None`` / "all" / "" means "no filter"."""

    label: str | None = None          # the (actual) class
    split: str = "all"                # all, train, valid
    status: str | None = None         # a health status (see HEALTH_STATUSES) or LABEL_ISSUES
    search: str = ""                  # part of the file name, any case
    predicted: str | None = None      # mistakes mode: the predicted class
    outcome: str = "all"              # mistakes mode: all, wrong, right

    def describe(self) -> str:
        """E.g. "class cat · valid · 'img_1'" ("all images" when nothing is filtered)."""
        parts = []
        if self.label is not None:
            parts.append(f"actual {self.label}" if self.predicted is not None else f"class {self.label}")
        if self.predicted is not None:
            parts.append(f"predicted {self.predicted}")
        if self.outcome != "all":
            parts.append(self.outcome)
        if self.split != "all":
            parts.append(self.split)
        if self.status is not None:
            parts.append(self.status)
        if self.search:
            parts.append(repr(self.search))
        return " \u00b7 ".join(parts) if parts else "all images"


def check_page_size(page_size: Any) -> int:
    """Thumbnails per page: 1 to 500."""
    return check_count("--page-size", page_size, maximum=500, example=48)


def item_name(item: Any) -> str:
    """What the grid and the search call an item: its file name, else "item N" (in-memory data sets)."""
    if item.path is not None:
        return item.path.name
    return f"item {item.index if item.index is not None else item.key}"


@dataclass
class Page:
    """One page of the matches (see :meth:`BrowserState.current_page`)."""

    number: int            # 0-based
    count: int             # pages in all (at least 1)
    items: list            # CatalogItems on this page
    total: int             # items matching the query

    @property
    def label(self) -> str:
        """What the pager says, e.g. "page 2 of 5" (1-based)."""
        return f"page {self.number + 1} of {self.count}"


@dataclass
class BrowserState:
    """Catalog + filters + page + selection. Thread-safe enough for one UI thread and the health thread."""

    catalog: Any
    page_size: int = 48
    predictions: dict[int, Any] | None = None     # key -> interpretation Prediction (mistakes mode)
    model_classes: list[str] | None = None        # the classes the model predicts (mistakes mode)
    subset: str = "validation"                    # what the predictions are of: "validation" or "test" images
    statuses: dict[str, set[int]] = field(default_factory=dict)   # health status -> item keys
    issues: dict[int, Any] | None = None          # key -> LabelIssue, once find_label_issues has run
    query: Query = field(default_factory=Query)
    page: int = 0
    selected: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page_size = check_page_size(self.page_size)
        self._lock = threading.RLock()
        self._matches: list | None = None
        self._by_key: dict[int, Any] | None = None

    # ------------------------------------------------------------------ the data
    @property
    def mistakes_mode(self) -> bool:
        """True when browsing a learner's predictions, not just a data set."""
        return self.predictions is not None

    def items(self) -> list:
        """The catalog's items as they are now (the editor keeps the catalog up to date)."""
        return list(self.catalog.items)

    def item(self, key: int) -> Any | None:
        """The item with key ``key`` as it is now; None when there is none (e.g. removed)."""
        return self._index().get(key)

    def _index(self) -> dict[int, Any]:
        with self._lock:
            if self._by_key is None:
                self._by_key = {item.key: item for item in self.catalog.items}
            return self._by_key

    def live_keys(self) -> set[int]:
        """The keys of the catalog's items now (removed ones gone)."""
        return set(self._index())

    def classes(self) -> list[str]:
        """Every class: the catalog's (incl. ones made by a relabel) and, for a learner, the model's."""
        names = list(self.catalog.classes)
        for name in self.model_classes or ():
            if name not in names:
                names.append(name)
        for item in self.catalog.items:
            if item.label not in names:
                names.append(item.label)
        return names

    def counts(self, split: str = "all") -> dict[str, int]:
        """Images per class (every class, zeros included), for one split or all."""
        counts = {name: 0 for name in self.classes()}
        for item in self.catalog.items:
            if split == "all" or item.split == split:
                counts[item.label] = counts.get(item.label, 0) + 1
        return counts

    def set_statuses(self, statuses: dict[str, set[int]]) -> None:
        """Replace the health findings (status -> item keys) the status filter uses."""
        with self._lock:
            self.statuses = {name: set(keys) for name, keys in statuses.items()}
            self._matches = None

    def set_issues(self, issues: Iterable[Any]) -> None:
        """Keep the label issues (LabelIssues of this catalog's keys) the "likely mislabelled" filter shows."""
        with self._lock:
            self.issues = {issue.key: issue for issue in issues}
            self._matches = None

    def open_issue(self, item: Any) -> Any | None:
        """``item``'s LabelIssue while it still has the label that was flagged; None once relabelled (or never
        flagged). An undo that gives the label back opens the issue again."""
        issue = (self.issues or {}).get(item.key)
        return issue if issue is not None and item.label == issue.given else None

    def open_issues(self) -> list:
        """The LabelIssues still open (see :meth:`open_issue`), in catalog order; empty before any were found."""
        return [issue for issue in (self.open_issue(item) for item in self.catalog.items) if issue is not None]

    def invalidate(self) -> None:
        """The catalog changed (relabel, remove, undo): recompute matches, drop vanished selections."""
        with self._lock:
            self._matches = None
            self._by_key = None
            self.selected &= self.live_keys()

    # ------------------------------------------------------------------ filtering
    def set_query(self, query: Query | None = None, **changes: Any) -> Query:
        """Apply a new query (or change some of its fields); back to the first page."""
        new = replace(query if query is not None else self.query, **changes)
        _check_query(new)
        with self._lock:
            self.query = new
            self.page = 0
            self._matches = None
        return new

    def matches(self) -> list:
        """The items that pass the query, in display order (mistakes mode: highest loss first)."""
        with self._lock:
            if self._matches is None:
                self._matches = self._filter(self.query)
            return list(self._matches)

    def keys(self) -> list[int]:
        """The keys of :meth:`matches`, in display order."""
        return [item.key for item in self.matches()]

    def _filter(self, query: Query) -> list:
        items = self.items()
        if query.label is not None:
            items = [item for item in items if item.label == query.label]
        if query.split != "all":
            items = [item for item in items if item.split == query.split]
        if query.status == LABEL_ISSUES:
            items = [item for item in items if self.open_issue(item) is not None]
        elif query.status is not None:
            if query.status == RARE_CLASS:
                rare = set(self.statuses.get(RARE_CLASS, ()))
                items = [item for item in items if item.key in rare]
            else:
                keys = self.statuses.get(query.status, set())
                items = [item for item in items if item.key in keys]
        if query.search:
            needle = query.search.lower()
            items = [item for item in items if needle in item_name(item).lower()]
        predictions = self.predictions
        if predictions is not None:
            items = [item for item in items if item.key in predictions]
            if query.predicted is not None:
                items = [item for item in items if predictions[item.key].predicted == query.predicted]
            if query.outcome != "all":
                wrong = query.outcome == "wrong"
                items = [item for item in items if self.is_wrong(item) == wrong]
            items.sort(key=lambda item: -predictions[item.key].loss)
        if query.status == LABEL_ISSUES:   # most likely wrong first, whatever the mode
            issues = self.issues or {}
            items.sort(key=lambda item: issues[item.key].score)
        return items

    def is_wrong(self, item: Any) -> bool:
        """Mistakes mode: the model's prediction differs from the item's current label."""
        prediction = (self.predictions or {}).get(item.key)
        return prediction is not None and prediction.predicted != item.label

    # ------------------------------------------------------------------ paging
    def page_count(self) -> int:
        """Pages of matches, at least 1 (no match: one empty page)."""
        return max(1, math.ceil(len(self.matches()) / self.page_size))

    def go_to(self, page: int) -> int:
        """Show page ``page`` (0-based), clamped to the pages there are."""
        with self._lock:
            self.page = min(max(0, int(page)), self.page_count() - 1)
            return self.page

    def current_page(self) -> Page:
        """The :class:`Page` shown now (``page`` clamped first: the matches may have shrunk)."""
        with self._lock:
            matches = self.matches()
            count = max(1, math.ceil(len(matches) / self.page_size))
            self.page = min(self.page, count - 1)
            start = self.page * self.page_size
            return Page(self.page, count, matches[start:start + self.page_size], len(matches))

    def page_items(self, page: int) -> list:
        """The items of page ``page`` (empty past the end): what prefetching warms up."""
        matches = self.matches()
        start = page * self.page_size
        return matches[start:start + self.page_size] if page >= 0 else []

    # ------------------------------------------------------------------ selection
    def select(self, keys: Iterable[int], on: bool = True) -> None:
        """Add ``keys`` to the selection (``on=False``: take them out); keys not in the catalog are ignored."""
        live = self.live_keys()
        keys = {int(k) for k in keys} & live
        with self._lock:
            if on:
                self.selected |= keys
            else:
                self.selected -= keys

    def clear_selection(self) -> None:
        """Select nothing, on every page."""
        with self._lock:
            self.selected.clear()

    def selected_keys(self) -> list[int]:
        """The selection in catalog order."""
        order = {item.key: i for i, item in enumerate(self.catalog.items)}
        return sorted((k for k in self.selected if k in order), key=order.__getitem__)

    # ------------------------------------------------------------------ mistakes
    def confusion(self) -> tuple[list[str], list[str], list[list[int]]]:
        """(actual classes, predicted classes, counts[actual][predicted]) over the items that have a prediction."""
        predicted_axis = list(self.model_classes or self.catalog.classes)
        actual_axis = self.classes()
        row = {name: i for i, name in enumerate(actual_axis)}
        col = {name: i for i, name in enumerate(predicted_axis)}
        matrix = [[0] * len(predicted_axis) for _ in actual_axis]
        for item in self.catalog.items:
            prediction = (self.predictions or {}).get(item.key)
            if prediction is not None and prediction.predicted in col:
                matrix[row[item.label]][col[prediction.predicted]] += 1
        return actual_axis, predicted_axis, matrix

    def most_confused(self, limit: int = 10) -> list[tuple[str, str, int]]:
        """(actual, predicted, count) of the wrong cells, most first (ties by name)."""
        actual_axis, predicted_axis, matrix = self.confusion()
        pairs = [(a, p, matrix[i][j]) for i, a in enumerate(actual_axis) for j, p in enumerate(predicted_axis)
                 if a != p and matrix[i][j]]
        pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
        return pairs[:limit]

    def per_class(self) -> list[dict]:
        """Precision, recall, F1 and support per class, from the current labels."""
        actual_axis, predicted_axis, matrix = self.confusion()
        rows = []
        for name in predicted_axis:
            i = actual_axis.index(name) if name in actual_axis else None
            j = predicted_axis.index(name)
            true_pos = matrix[i][j] if i is not None else 0
            support = sum(matrix[i]) if i is not None else 0
            predicted = sum(row[j] for row in matrix)
            precision = true_pos / predicted if predicted else 0.0
            recall = true_pos / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append(dict(cls=name, precision=precision, recall=recall, f1=f1, support=support))
        return rows

    def accuracy(self) -> float | None:
        """Share of the predicted items whose prediction is their current label; None when none is predicted."""
        judged = [item for item in self.catalog.items if item.key in (self.predictions or {})]
        if not judged:
            return None
        return sum(not self.is_wrong(item) for item in judged) / len(judged)


def _check_query(query: Query) -> None:
    if query.split not in SPLITS:
        raise UserInputError(f"--split must be one of {', '.join(SPLITS)}, not {query.split!r}.")
    if query.outcome not in OUTCOMES:
        raise UserInputError(f"The result filter must be one of {', '.join(OUTCOMES)}, not {query.outcome!r}.")
    if query.status is not None and query.status not in (*HEALTH_STATUSES, LABEL_ISSUES):
        raise UserInputError(f"--status must be one of {', '.join((*HEALTH_STATUSES, LABEL_ISSUES))}, "
                             f"not {query.status!r}.")


def check_label(state: BrowserState, label: str | None, option: str = "--class") -> str | None:
    """``label`` if it is one of the data set's classes, else one sentence naming them."""
    if label is None:
        return None
    classes = state.classes()
    if label not in classes:
        shown = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
        raise UserInputError(f"{option} {label!r} is not a class of this data set: use one of {shown}.")
    return label


def statuses_from_report(report: Any, catalog: Any) -> dict[str, set[int]]:
    """The health report's filters, plus the items of under-represented classes as "rare class"."""
    statuses = {name: set(keys) for name, keys in report.filters().items()}
    rare = set((report.imbalance or {}).keys())
    statuses[RARE_CLASS] = {item.key for item in catalog.items if item.label in rare}
    return statuses


def health_counts(report: Any, statuses: dict[str, set[int]]) -> list[tuple[str, int, str]]:
    """(status, count, text) per health finding, in the header's order; zero counts included."""
    imbalance = report.imbalance or {}
    rows = [
        ("unreadable", len(statuses.get("unreadable", ())), "unreadable"),
        ("duplicate", len(statuses.get("duplicate", ())), "exact duplicates"),
        ("near duplicate", len(statuses.get("near duplicate", ())), "near duplicates"),
        ("small", len(statuses.get("small", ())), "very small"),
        ("extreme aspect", len(statuses.get("extreme aspect", ())), "extreme aspect"),
        (RARE_CLASS, len(imbalance), "rare classes" if len(imbalance) != 1 else "rare class"),
    ]
    return rows


def decode_warnings_line(report: Any, catalog: Any) -> str:
    """"3 images gave decoder warnings: a.png (UserWarning: ...), ..." from a health report ("" if none)."""
    from ..data.decode_warnings import summary

    warned = getattr(report, "decode_warnings", None) or {}
    names = {item.key: item.path for item in catalog.items} if warned else {}
    return summary([(Path(names.get(key) or f"item {key}"), text) for key, text in warned.items()])
