"""What one grid cell says about its item: caption lines and a look (shared by widget and static view)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .state import HEALTH_STATUSES, RARE_CLASS, BrowserState, item_name


@dataclass(frozen=True)
class CellView:
    """What one grid cell shows: a tooltip, caption lines and a look (``.jdl-cell-<kind>``, none for "")."""

    title: str          # tooltip: the path (or item name)
    lines: list[str]    # first line bold: the label (browse) or "actual → predicted" (mistakes)
    kind: str           # "", "wrong", "right", "flagged"


def flags(state: BrowserState, key: int) -> list[str]:
    """The health findings of one item, e.g. ["duplicate", "small"] (not "rare class": that is per class)."""
    return [name for name in HEALTH_STATUSES if name != RARE_CLASS and key in state.statuses.get(name, ())]


def cell_view(state: BrowserState, item: Any) -> CellView:
    """``item``'s cell: "actual → predicted" where the model judged it, else its label and health findings."""
    name = item_name(item)
    title = str(item.path) if item.path is not None else name
    found = flags(state, item.key)
    prediction = (state.predictions or {}).get(item.key)
    if prediction is not None:
        wrong = prediction.predicted != item.label
        first = f"{item.label} \u2192 {prediction.predicted}" if wrong else f"{item.label} \u2713"
        lines = [first, f"{prediction.confidence:.0%} \u00b7 loss {prediction.loss:.2f}", name]
        return CellView(title, lines, "wrong" if wrong else "right")
    lines = [item.label, name]
    if found:
        lines.append(", ".join(found))
    return CellView(title, lines, "flagged" if found else "")
