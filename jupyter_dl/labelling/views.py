"""What the labeller says, in words and HTML, shared by the live widget, its snapshot and the no-widget view."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..data.catalog import Catalog, CatalogItem
    from ..data.label_pool import LabelPool
    from .session import LabelSession

MAX_CLASS_LIST = 12   # the header names this many classes with their counts, then "+N more"


def header_text(session: LabelSession) -> str:
    """One line: where, how many labelled per class, how many left, who suggests."""
    counts = session.counts
    shown = ", ".join(f"{name} {n}" for name, n in list(counts.items())[:MAX_CLASS_LIST])
    more = f", +{len(counts) - MAX_CLASS_LIST} more" if len(counts) > MAX_CLASS_LIST else ""
    unreadable = f" · {len(session.skipped)} unreadable (see .skipped)" if session.skipped else ""
    return (f"{source_name(session.pool)} · labelled {session.n_labelled} ({shown or 'no classes yet'}{more}) · "
            f"{session.n_unlabelled} to go · suggestions: {session.model_name}{unreadable}")


def source_name(pool: LabelPool) -> str:
    """What is being labelled, e.g. "folder data/pets" (the pool's description without its counts, which
    were true only when it opened: "folder data/pets: 12 labelled in 3 classes, ...")."""
    return pool.description.split(":", 1)[0]


def cell_lines(session: LabelSession, key: int) -> dict[str, Any]:
    """One grid cell: caption lines, look, whether it still needs a label, and its label."""
    item = session.pool.item(key)
    name = item.path.name
    if item.label is not None:
        return dict(lines=[f"{item.label} \u2713", name], kind="labelled", open=False, label=item.label)
    skipped = key in session.passed_over
    found = session.suggestion(key)
    if found is None:
        lines = ["?", name]
    else:
        lines = [f"{found.label}?", f"{found.confidence:.0%} \u00b7 {name}"]
    if skipped:
        lines.append("skipped")
    kind = "skipped" if skipped else ("suggested" if found is not None else "")
    return dict(lines=lines, kind=kind, open=True, label=None)


def page_catalog(pool: LabelPool, keys: list[int]) -> tuple[Catalog, list[CatalogItem]]:
    """A catalog and items for the thumbnail cache (which works on catalogs), for the images ``keys``."""
    from ..data.catalog import Catalog, CatalogItem

    items = [CatalogItem(key=key, path=(item := pool.item(key)).path, label=item.label or "", split="train")
             for key in keys]
    return Catalog(kind=pool.kind, root=pool.root, items=items, classes=list(pool.classes),
                   description=pool.description), items


def summary_html(session: LabelSession, chart_svg: str) -> str:
    """The static view: the header line, a table of labels per class, and the accuracy chart."""
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{n}</td></tr>"
                   for name, n in session.counts.items())
    table = (f"<table class='jdl-label-counts' style='border-collapse:collapse;margin:4px 0'>"
             f"<tr><th style='text-align:left'>class</th><th>labelled</th></tr>{rows}</table>") if rows else ""
    return (f"<div class='jdl-label-summary'><div><b>%label</b> {html.escape(header_text(session))}</div>"
            f"{table}{chart_svg}</div>")


def summary_text(session: LabelSession) -> str:
    """The plain-text view (terminal, nbconvert without widgets)."""
    lines = [f"%label {header_text(session)}"]
    lines += [f"  {name}: {n}" for name, n in session.counts.items()]
    return "\n".join(lines)
