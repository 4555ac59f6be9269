"""The browser without widgets: one HTML + text display that needs no kernel.

Shown where widgets cannot be (terminal IPython, nbconvert / nbclient,
``JUPYTER_DL_WIDGETS=0``) and left in the output when a live browser is closed:
the data set, images per class, the health counts, the first page of thumbnails
(``<img>`` with data URIs, so it survives saving and viewers) and, for a
learner, the accuracy, the confusion matrix, the per-class table and the top
losses (the first page is sorted by loss).

DOM hooks: ``.jdl-browse-static`` holds ``.jdl-browse-head``, ``table.jdl-class-counts``,
``.jdl-health``, ``table.jdl-confusion``, ``table.jdl-per-class`` and ``.jdl-static-grid``
(``figure.jdl-cell`` > ``img.jdl-thumb``).
"""
from __future__ import annotations

import html
from typing import Any

from .cells import cell_view
from .grid import data_uri
from .state import BrowserState, health_counts, item_name

_TABLE = "border-collapse:collapse;font-size:12px;margin:4px 12px 6px 0"
_TD = "padding:1px 8px;border-bottom:1px solid #eaeef2;text-align:right"
_TH = _TD + ";font-weight:600;color:#57606a"
_KIND_BORDER = {"wrong": "#d32f2f", "right": "#81c784", "flagged": "#f0b429", "": "#d8dee4"}


def _table(header: list[str], rows: list[list[Any]], css_class: str) -> str:
    head = "".join(f"<th style='{_TH}'>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='{_TD}'>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table class='{css_class}' style='{_TABLE}'><tr>{head}</tr>{body}</table>"


def _text_table(header: list[str], rows: list[list[Any]]) -> str:
    cols = [header] + [[str(v) for v in row] for row in rows]
    widths = [max(len(str(row[i])) for row in cols) for i in range(len(header))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(row, widths)) for row in cols)


def health_line(report: Any, statuses: dict[str, set[int]]) -> str:
    """"Health: 1 unreadable · 2 exact duplicates · ..." (non-zero findings), or that all is well."""
    found = [f"{count} {text}" for _, count, text in health_counts(report, statuses) if count]
    non_images = len(getattr(report, "non_images", ()) or ())
    if non_images:
        found.append(f"{non_images} non-image files (skipped by %finetune)")
    return "Health: " + (" \u00b7 ".join(found) if found else "no problems found") + "."


def class_rows(state: BrowserState) -> list[list[Any]]:
    """[class, train, valid, images] per class, every class (zeros included)."""
    train, valid = state.counts("train"), state.counts("valid")
    return [[name, train[name], valid.get(name, 0), train[name] + valid.get(name, 0)] for name in train]


def static_bundle(state: BrowserState, *, report: Any = None, thumbs: list[bytes] | None = None,
                  size: int = 96, note: str = "") -> dict:
    """{"text/html", "text/plain"} for the browser's state (first page of ``state.matches()``).

    ``thumbs``: JPEG bytes of the page's items (made here with :func:`thumbnails` when None).
    """
    page = state.current_page()
    if thumbs is None:
        from ..data.thumbnails import thumbnails

        thumbs = thumbnails(state.catalog, page.items, size=size)
    catalog = state.catalog
    parts_html = [f"<div class='jdl-browse-head'><b>jupyter_dl</b> \u00b7 {html.escape(catalog.description)}"
                  + (f" <span style='color:#57606a'>({html.escape(note)})</span>" if note else "") + "</div>"]
    parts_text = [f"jupyter_dl \u00b7 {catalog.description}" + (f" ({note})" if note else "")]

    rows = class_rows(state)
    parts_html.append(_table(["class", "train", "valid", "images"], rows, "jdl-class-counts"))
    parts_text.append(_text_table(["class", "train", "valid", "images"], rows))

    if report is not None:
        line = health_line(report, state.statuses)
        parts_html.append(f"<div class='jdl-health' style='margin:2px 0 6px 0'>{html.escape(line)}</div>")
        parts_text.append(line)

    if state.mistakes_mode:
        mistakes_html, mistakes_text = _mistakes(state)
        parts_html.append(mistakes_html)
        parts_text.append(mistakes_text)

    cells = []
    for item, jpeg in zip(page.items, thumbs):
        view = cell_view(state, item)
        border = _KIND_BORDER.get(view.kind, _KIND_BORDER[""])
        caption = "".join(f"<div style='{'font-weight:600' if i == 0 else 'color:#57606a'};white-space:nowrap;"
                          f"overflow:hidden;text-overflow:ellipsis'>{html.escape(line)}</div>"
                          for i, line in enumerate(view.lines))
        cells.append(
            f"<figure class='jdl-cell' style='margin:0;padding:3px;border:2px solid {border};border-radius:4px;"
            f"width:{size + 10}px;font-size:11px;text-align:center;box-sizing:border-box'>"
            f"<img class='jdl-thumb' src='{data_uri(jpeg)}' alt='{html.escape(view.title)}' "
            f"title='{html.escape(view.title)}' style='width:{size}px;height:{size}px;object-fit:contain'>"
            f"<figcaption>{caption}</figcaption></figure>")
    shown = f"{'Top losses' if state.mistakes_mode else 'First images'}: {len(page.items)} of {page.total}"
    parts_html.append(f"<div style='margin:6px 0 2px 0;color:#57606a'>{html.escape(shown)}</div>"
                      "<div class='jdl-static-grid' style='display:flex;flex-wrap:wrap;gap:6px'>"
                      + "".join(cells) + "</div>")
    parts_text.append(shown + ": " + ", ".join(f"{item_name(item)} ({item.label})"
                                               for item in page.items[:8]) + (" ..." if len(page.items) > 8 else ""))
    return {"text/html": "<div class='jdl-browse-static' style='font-size:13px'>" + "".join(parts_html) + "</div>",
            "text/plain": "\n".join(parts_text)}


def _mistakes(state: BrowserState) -> tuple[str, str]:
    actual, predicted, matrix = state.confusion()
    accuracy = state.accuracy()
    head = (f"Validation accuracy {accuracy:.4f} on {sum(map(sum, matrix))} images"
            if accuracy is not None else "No validation predictions")
    confusion_rows = [[name, *row] for name, row in zip(actual, matrix) if any(row) or name in predicted]
    header = ["actual \\ predicted", *predicted]
    per_class = [[r["cls"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["support"]]
                 for r in state.per_class()]
    pairs = state.most_confused(5)
    pairs_text = ("Most confused: " + ", ".join(f"{a} \u2192 {p} ({n})" for a, p, n in pairs)) if pairs else \
        "No mistakes."
    html_text = (f"<div class='jdl-accuracy' style='margin:4px 0'><b>{html.escape(head)}</b> \u00b7 "
                 f"{html.escape(pairs_text)}</div>"
                 "<div style='display:flex;flex-wrap:wrap;align-items:flex-start'>"
                 + _table(header, confusion_rows, "jdl-confusion")
                 + _table(["class", "precision", "recall", "F1", "support"], per_class, "jdl-per-class")
                 + "</div>")
    text = "\n".join([head + ". " + pairs_text, _text_table(header, confusion_rows),
                      _text_table(["class", "precision", "recall", "F1", "support"], per_class)])
    return html_text, text
