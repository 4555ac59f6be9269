"""The browser without widgets: one HTML + text display that needs no kernel.

Shown where widgets cannot be (terminal IPython, nbconvert / nbclient,
``JUPYTER_DL_WIDGETS=0``), as the snapshot beside a live browser (:mod:`.snapshot`)
and left in the output when a live browser is closed: the data set, images per
class (a bar chart and a table), the health counts, a page of thumbnails and,
for a learner, the accuracy, the confusion matrix (shaded), the per-class table
and the top losses (the first page is sorted by loss). Pictures are ``<img>``
with data URIs (JPEG thumbnails, the chart as SVG), so they survive saving,
untrusted notebooks (whose HTML is sanitised) and viewers.

DOM hooks: ``.jdl-browse-static`` holds ``.jdl-browse-head``, ``img.jdl-class-chart``,
``table.jdl-class-counts``, ``.jdl-health``, ``table.jdl-confusion``, ``table.jdl-per-class``
and ``.jdl-static-grid`` (``figure.jdl-cell`` > ``img.jdl-thumb``).
"""
from __future__ import annotations

import html
from typing import Any, Callable

from .cells import cell_view
from .charts import class_bars
from .grid import data_uri
from .state import BrowserState, Page, health_counts, item_name
from .svg import blues, figure_svg, svg_data_uri

_TABLE = "border-collapse:collapse;font-size:12px;margin:4px 12px 6px 0"
_TD = "padding:1px 8px;border-bottom:1px solid #eaeef2;text-align:right"
_TH = _TD + ";font-weight:600;color:#57606a"
_KIND_BORDER = {"wrong": "#d32f2f", "right": "#81c784", "flagged": "#f0b429", "": "#d8dee4"}


def html_table(header: list[str], rows: list[list[Any]], css_class: str,
               shade: Callable[[int, int], str] | None = None) -> str:
    """An HTML table; ``shade(row, column)``: an extra inline style for a body cell (e.g. a background)."""
    head = "".join(f"<th style='{_TH}'>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='{_TD}{shade(r, c) if shade else ''}'>{html.escape(str(v))}</td>"
                                    for c, v in enumerate(row)) + "</tr>"
                   for r, row in enumerate(rows))
    return f"<table class='{css_class}' style='{_TABLE}'><tr>{head}</tr>{body}</table>"


def text_table(header: list[str], rows: list[list[Any]]) -> str:
    """The same table as aligned plain text."""
    cols = [header] + [[str(v) for v in row] for row in rows]
    widths = [max(len(str(row[i])) for row in cols) for i in range(len(header))]
    return "\n".join("  ".join(str(v).rjust(w) for v, w in zip(row, widths)) for row in cols)


def health_line(report: Any, statuses: dict[str, set[int]]) -> str:
    """"Health: 1 unreadable · 2 exact duplicates · ..." (non-zero findings), or that all is well."""
    found = [f"{count} {text}" for _, count, text in health_counts(report, statuses) if count]
    non_images = len(getattr(report, "non_images", ()) or ())
    if non_images:
        found.append(f"{non_images} non-image files (skipped by %finetune)")
    warned = len(getattr(report, "decode_warnings", None) or {})
    if warned:
        found.append(f"{warned} images gave decoder warnings" if warned != 1 else "1 image gave a decoder warning")
    return "Health: " + (" \u00b7 ".join(found) if found else "no problems found") + "."


def class_rows(state: BrowserState) -> list[list[Any]]:
    """[class, train, valid, images] per class, every class (zeros included)."""
    train, valid = state.counts("train"), state.counts("valid")
    return [[name, train[name], valid.get(name, 0), train[name] + valid.get(name, 0)] for name in train]


def static_bundle(state: BrowserState, *, report: Any = None, thumbs: list[bytes] | None = None,
                  size: int = 96, note: str = "", page: int | None = None, items: list | None = None) -> dict:
    """{"text/html", "text/plain"} for the browser's state: the current page of ``state.matches()``, or ``page``.

    ``items``: that page's items when the caller read them already (``thumbs`` then belong to them);
    ``thumbs``: JPEG bytes of the page's items (made here with :func:`thumbnails` when None), shown
    ``size`` pixels wide at most.
    """
    shown_page = state.current_page()
    if page is not None and (page != shown_page.number or items is not None):
        shown_page = Page(page, shown_page.count, state.page_items(page) if items is None else items,
                          shown_page.total)
    page_items = shown_page.items
    if thumbs is None:
        from ..data.thumbnails import thumbnails

        thumbs = thumbnails(state.catalog, page_items, size=size)
    catalog = state.catalog
    parts_html = [f"<div class='jdl-browse-head'><b>jupyter_dl</b> \u00b7 {html.escape(catalog.description)}"
                  + (f" <span style='color:#57606a'>({html.escape(note)})</span>" if note else "") + "</div>"]
    parts_text = [f"jupyter_dl \u00b7 {catalog.description}" + (f" ({note})" if note else "")]

    rows = class_rows(state)
    if not state.mistakes_mode:
        figure = class_bars(state.counts("train"), state.counts("valid"), active=state.query.label)
        figure["layout"]["title"]["text"] = "images per class"      # (nothing to click here)
        chart = figure_svg(figure)
        parts_html.append(f"<img class='jdl-class-chart' src='{svg_data_uri(chart)}' alt='images per class' "
                          "style='display:block;max-width:100%;margin:4px 0'>")
    parts_html.append(html_table(["class", "train", "valid", "images"], rows, "jdl-class-counts"))
    parts_text.append(text_table(["class", "train", "valid", "images"], rows))

    if report is not None:
        line = health_line(report, state.statuses)
        parts_html.append(f"<div class='jdl-health' style='margin:2px 0 6px 0'>{html.escape(line)}</div>")
        parts_text.append(line)

    if state.mistakes_mode:
        mistakes_html, mistakes_text = _mistakes(state)
        parts_html.append(mistakes_html)
        parts_text.append(mistakes_text)

    cells = []
    for item, jpeg in zip(page_items, thumbs):
        view = cell_view(state, item)
        border = _KIND_BORDER.get(view.kind, _KIND_BORDER[""])
        caption = "".join(f"<div style='{'font-weight:600' if i == 0 else 'color:#57606a'};white-space:nowrap;"
                          f"overflow:hidden;text-overflow:ellipsis'>{html.escape(line)}</div>"
                          for i, line in enumerate(view.lines))
        cells.append(
            f"<figure class='jdl-cell' style='margin:0;padding:3px;border:2px solid {border};border-radius:4px;"
            f"width:{size + 10}px;font-size:11px;text-align:center;box-sizing:border-box'>"
            f"<img class='jdl-thumb' src='{data_uri(jpeg)}' alt='{html.escape(view.title)}' "
            f"title='{html.escape(view.title)}' width='{size}' height='{size}' "
            f"style='width:{size}px;height:{size}px;object-fit:contain'>"
            f"<figcaption>{caption}</figcaption></figure>")
    what = "Top losses" if state.mistakes_mode else "First images" if shown_page.number == 0 else shown_page.label
    query = state.query.describe()
    shown = f"{what}: {len(page_items)} of {shown_page.total}" + (f" ({query})" if query != "all images" else "")
    parts_html.append(f"<div style='margin:6px 0 2px 0;color:#57606a'>{html.escape(shown)}</div>"
                      "<div class='jdl-static-grid' style='display:flex;flex-wrap:wrap;gap:6px'>"
                      + "".join(cells) + "</div>")
    parts_text.append(shown + ": " + ", ".join(f"{item_name(item)} ({item.label})"
                                               for item in page_items[:8]) + (" ..." if len(page_items) > 8 else ""))
    return {"text/html": "<div class='jdl-browse-static' style='font-size:13px'>" + "".join(parts_html) + "</div>",
            "text/plain": "\n".join(parts_text)}


def _mistakes(state: BrowserState) -> tuple[str, str]:
    actual, predicted, matrix = state.confusion()
    accuracy = state.accuracy()
    subset = state.subset
    head = (f"{subset.capitalize()} accuracy {accuracy:.4f} on {sum(map(sum, matrix))} images"
            if accuracy is not None else f"No {subset} predictions")
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
                 + html_table(header, confusion_rows, "jdl-confusion", shade=_shader(confusion_rows))
                 + html_table(["class", "precision", "recall", "F1", "support"], per_class, "jdl-per-class")
                 + "</div>")
    text = "\n".join([head + ". " + pairs_text, text_table(header, confusion_rows),
                      text_table(["class", "precision", "recall", "F1", "support"], per_class)])
    return html_text, text


def _shader(rows: list[list[Any]]) -> Callable[[int, int], str]:
    """Heatmap shading for the confusion table's count cells (column 0 holds the class names)."""
    peak = max((v for row in rows for v in row[1:]), default=0) or 1

    def shade(row: int, column: int) -> str:
        if column == 0:
            return ""
        share = rows[row][column] / peak
        return f";background-color:{blues(share)};color:{'#ffffff' if share > 0.55 else '#1f2328'}"

    return shade
