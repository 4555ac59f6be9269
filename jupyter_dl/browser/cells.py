"""What one grid cell says about its item: caption lines, a look and (likely mislabelled) a suggestion button.

:func:`cell_view` is shared by the widget and the static view; :func:`grid_cell` is what the widget's grid gets.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .state import HEALTH_STATUSES, LABEL_ISSUES, RARE_CLASS, BrowserState, item_name


@dataclass(frozen=True)
class CellView:
    """What one grid cell shows: a tooltip, caption lines and a look (``.jdl-cell-<kind>``, none for "")."""

    title: str          # tooltip: the path (or item name)
    lines: list[str]    # first line bold: the label (browse), "actual → predicted" (mistakes) or
                        # "given → suggested (score)" (likely mislabelled)
    kind: str           # "", "wrong", "right", "flagged"
    suggestion: str | None = None   # likely mislabelled: the label one click gives it


def flags(state: BrowserState, key: int) -> list[str]:
    """The health findings of one item, e.g. ["duplicate", "small"] (not "rare class": that is per class)."""
    return [name for name in HEALTH_STATUSES if name != RARE_CLASS and key in state.statuses.get(name, ())]


def cell_view(state: BrowserState, item: Any) -> CellView:
    """``item``'s cell: "given → suggested (score)" where find_label_issues flagged it (in mistakes mode only under
    the "likely mislabelled" filter), "actual → predicted" where the model judged it, else its label and health
    findings."""
    name = item_name(item)
    title = str(item.path) if item.path is not None else name
    found = flags(state, item.key)
    prediction = (state.predictions or {}).get(item.key)
    issue = state.open_issue(item)
    if issue is not None and (prediction is None or state.query.status == LABEL_ISSUES):
        lines = [f"{issue.given} \u2192 {issue.suggested} ({issue.score:.2f})", name]
        return CellView(title, lines + ([", ".join(found)] if found else []), "wrong", suggestion=issue.suggested)
    if prediction is not None:
        wrong = prediction.predicted != item.label
        first = f"{item.label} \u2192 {prediction.predicted}" if wrong else f"{item.label} \u2713"
        lines = [first, f"{prediction.confidence:.0%} \u00b7 loss {prediction.loss:.2f}", name]
        return CellView(title, lines, "wrong" if wrong else "right")
    lines = [item.label, name]
    if found:
        lines.append(", ".join(found))
    return CellView(title, lines, "flagged" if found else "")


def grid_cell(state: BrowserState, item: Any, src: str, editable: bool) -> dict:
    """What the grid draws for ``item`` (``src``: its thumbnail's data URI): key, src, title, lines and kind, and
    for a likely mislabelled item of an ``editable`` data set the text of its one-click suggestion button."""
    view = cell_view(state, item)
    cell: dict[str, Any] = {"key": item.key, "src": src, "title": view.title, "lines": view.lines, "kind": view.kind}
    if view.suggestion is not None and editable:
        cell.update(action=f"\u2192 {view.suggestion}",
                    action_title=f"relabel to {view.suggestion} (Undo takes it back)")
    return cell
