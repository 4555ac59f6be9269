"""A browse session without widgets: the data set, its filters, selection, health and editor.

``jupyter_dl.browse()`` returns one where widgets cannot show (terminal IPython,
nbconvert / nbclient, ``JUPYTER_DL_WIDGETS=0``): it displays the static summary,
and keeps the same Python surface as the live :class:`~jupyter_dl.browser.widget.Browser`
(which extends it): ``.catalog``, ``.interpretation``, ``.editor``, ``.health``,
``.filter(...)``, ``.selected``, ``.relabel(...)``, ``.remove(...)``, ``.undo()``,
``.find_label_issues(...)`` and ``.accept_suggestion(key)``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..checks import check_count
from ..errors import UserInputError
from .state import LABEL_ISSUES, BrowserState, check_label, statuses_from_report


def check_size(size: Any) -> int:
    """The thumbnail side: 32 to 512 pixels."""
    return check_count("--size", size, minimum=32, maximum=512, unit="pixels", example=128)


class BrowseSession:
    """Catalog (+ interpretation) + state + editor; see the module docstring."""

    def __init__(self, catalog: Any, *, interpretation: Any = None, size: int = 128, page_size: int = 48,
                 label: str | None = None, split: str = "all") -> None:
        self.catalog = catalog
        self.interpretation = interpretation
        self.size = check_size(size)
        predictions = model_classes = None
        subset = getattr(interpretation, "subset", "validation")
        if interpretation is not None:
            predictions = {p.key: p for p in interpretation.predictions}
            model_classes = list(interpretation.classes)
        self.state = BrowserState(catalog, page_size=page_size, predictions=predictions, model_classes=model_classes,
                                  subset=subset)
        check_label(self.state, label)
        self.state.set_query(label=label, split=split)
        self.editor = self._make_editor(catalog)
        self.health: Any = None          # the HealthReport once checked
        self._seen_edits = self._edits()

    @staticmethod
    def _make_editor(catalog: Any) -> Any:
        if not getattr(catalog, "editable", False):
            return None
        from ..data.cleaning import DatasetEditor

        return DatasetEditor(catalog)

    def _edits(self) -> tuple:
        """What the editor has done (its undoable changes): differs after any relabel, remove or undo."""
        history = self.editor.history if self.editor is not None else []
        return len(self.catalog.items), tuple(id(change) for change in history)

    def _catch_up(self) -> None:
        """Someone used ``.editor`` directly: show the data set as it is now."""
        edits = self._edits()
        if edits != self._seen_edits:
            self.after_edit(None, "edit")

    def __repr__(self) -> str:
        what = "mistakes" if self.interpretation is not None else "data"
        return (f"<jupyter_dl {what} browser: {self.catalog.description} \u00b7 {len(self.state.matches())} shown "
                f"({self.state.query.describe()}) \u00b7 {len(self.state.selected)} selected>")

    # ------------------------------------------------------------------ health
    def check_health(self) -> Any:
        """Run the health check now (cached per file, so a repeat is quick) and keep its findings."""
        from ..data.health import check_health

        self.set_health(check_health(self.catalog))
        return self.health

    def set_health(self, report: Any) -> None:
        """Keep ``report`` (a HealthReport) and make its findings the status filters."""
        self.health = report
        self.state.set_statuses(statuses_from_report(report, self.catalog))

    # ------------------------------------------------------------------ filtering
    def filter(self, **changes: Any) -> list[int]:
        """Change filters (label, split, status, search, predicted, outcome); the matching keys in order."""
        self._catch_up()
        if changes.get("label") is not None:
            check_label(self.state, changes["label"], option="label")
        if changes.get("predicted") is not None:
            check_label(self.state, changes["predicted"], option="predicted")
        if changes.get("status") == LABEL_ISSUES and self.state.issues is None:
            raise UserInputError("Nothing is flagged as likely mislabelled yet: run .find_label_issues() first "
                                 "(the Find likely mislabelled button).")
        self.state.set_query(**changes)
        return self.state.keys()

    def item(self, key: int) -> Any:
        """The CatalogItem with key ``key`` as it is now (its path and label follow the edits)."""
        self._catch_up()
        item = self.state.item(int(key))
        if item is None:
            raise UserInputError(f"Item {key!r} is not in this data set (it may have been removed).")
        return item

    def items(self, keys: Sequence[int] | None = None) -> list:
        """The CatalogItems of ``keys`` (default: the current matches), in that order."""
        self._catch_up()
        if keys is None:
            return self.state.matches()
        return [item for item in (self.state.item(k) for k in keys) if item is not None]

    # ------------------------------------------------------------------ label issues
    def find_label_issues(self, **options: Any) -> list:
        """Run :func:`~jupyter_dl.labelling.issues.find_label_issues` on the data set as it is now (edits
        included; embeddings are cached, so a second run is quick) and make its result the "likely mislabelled"
        filter, most likely wrong first. ``options``: find_label_issues' (method, folds, score, arch, ...).
        Returns the LabelIssues.

        Flagged are the images whose out-of-fold prediction is another class than their label (its default,
        ``top=None``): no threshold to tune, and the list grows with the noise rather than being a fixed share
        (on the digits sample as shipped 103 of 1797, 5.7 %); pass ``top=K`` for the K lowest scores instead.
        """
        from ..labelling.issues import find_label_issues

        self._catch_up()
        issues = find_label_issues(self.catalog, **options)
        self.state.set_issues(issues)
        return issues

    def accept_suggestion(self, key: int) -> Any:
        """Relabel item ``key`` to the label :meth:`find_label_issues` suggested for it (undo as usual);
        returns the editor's change. One sentence when it is not flagged, or the data set cannot be edited."""
        item = self.item(key)
        issue = self.state.open_issue(item)
        if issue is None:
            raise UserInputError(f"Item {key} is not flagged as likely mislabelled"
                                 + (" (any more)" if self.state.issues is not None else "")
                                 + ": run .find_label_issues() to see which are.")
        return self.relabel(issue.suggested, [int(key)])

    # ------------------------------------------------------------------ selection and editing
    @property
    def selected(self) -> list[int]:
        """The selected item keys, in catalog order."""
        return self.state.selected_keys()

    @selected.setter
    def selected(self, keys: Sequence[int]) -> None:
        self.state.clear_selection()
        self.state.select(keys)
        self._show_selection()

    def _show_selection(self) -> None:
        """Called after ``.selected = keys``: nothing to show without widgets (the live browser ticks its grid)."""

    def _need_editor(self) -> Any:
        if self.editor is None:
            reason = getattr(self.catalog, "read_only_reason", None) or "it is not a folder, CSV file or DataFrame"
            raise UserInputError(f"This data set cannot be edited: {reason}.")
        return self.editor

    def _keys(self, keys: Sequence[int] | None) -> list[int]:
        keys = self.selected if keys is None else [int(k) for k in keys]
        if not keys:
            raise UserInputError("No images are selected: pass keys=[...] or select some first.")
        return keys

    def relabel(self, label: str, keys: Sequence[int] | None = None) -> Any:
        """Give ``keys`` (default: the selection) the label ``label``; returns the editor's change."""
        change = self._need_editor().relabel(self._keys(keys), label)
        self.after_edit(change, "relabel")
        return change

    def remove(self, keys: Sequence[int] | None = None) -> Any:
        """Move ``keys`` (default: the selection) out of the data set (into its trash; undoable)."""
        change = self._need_editor().remove(self._keys(keys))
        self.after_edit(change, "remove")
        return change

    def undo(self) -> Any:
        """Undo the last change (None when there is nothing to undo)."""
        change = self._need_editor().undo()
        self.after_edit(change, "undo")
        return change

    def after_edit(self, change: Any, verb: str) -> None:
        """The data set changed (``verb``: relabel, remove, undo, or "edit" made through ``.editor``)."""
        self._seen_edits = self._edits()
        self.state.invalidate()
        if verb in ("relabel", "remove"):
            self.state.clear_selection()

    # ------------------------------------------------------------------ static view
    def static_bundle(self, note: str = "", page: int | None = None) -> dict:
        """The static summary as {"text/html", "text/plain"}: thumbnails at most 96 px, ``note`` after the title.

        ``page``: which page of the matches it shows (default: the current one).
        """
        from .static import static_bundle

        self._catch_up()
        return static_bundle(self.state, report=self.health, size=min(self.size, 96), note=note, page=page)

    def show(self) -> None:
        """Display the static summary of the current filter (HTML and text)."""
        from IPython.display import display

        display(self.static_bundle(), raw=True)
