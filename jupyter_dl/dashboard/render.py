"""What the training views say, as HTML and text: status, progress line, epoch table, final result.

Shared by the widget dashboard (:mod:`.widget`) and the display-handle progress view
(:mod:`.progress`), so both say the same words. The final result is styled inline: it stays in the
saved notebook and viewers without the notebook's CSS show it too.

DOM hooks (stable class names, for people and browser tests): ``.jdl-title``, ``.jdl-status``
(also ``.jdl-status-<starting|running|finished|stopped|interrupted|failed>``), ``progress.jdl-progress``
and ``.jdl-progress-text``, ``.jdl-monitor`` (the resource strip), ``.jdl-advice`` (the data-wait
sentence), ``table.jdl-table`` (``tr.jdl-best`` = the best epoch); after the run ``.jdl-result``
holding those and ``.jupyter-dl-summary``.
"""
from __future__ import annotations

import html
import re
from typing import Any

from ..ui.formatting import format_duration, one_line

# Static-HTML colours of the status kinds (no page CSS there).
STATUS_COLORS = {"running": "#1565c0", "starting": "#1565c0", "finished": "#2e7d32",
                 "stopped": "#b26a00", "interrupted": "#b26a00", "failed": "#c62828"}
STRIP_STYLE = ("font-family:var(--jp-code-font-family, monospace);font-size:0.92em;"
               "color:var(--jp-ui-font-color2, #57606a);margin:2px 0 0 0")
# Table headers as fastai shows them; the records keep their own keys.
_HEADERS = {"seconds": "time"}
_BEST_MARK = " <span class='jdl-best-mark' title='best epoch (its weights are kept)'>\u2605</span>"


def status_kind(text: str) -> str:
    """The kind of a status line ("stopped by user at ..." -> "stopped"), for its colour and class."""
    word = (text or "").split(" ", 1)[0].rstrip(":").lower()
    return word if word in STATUS_COLORS else ("stopped" if word == "stopping" else "running")


def final_status_text(status: str, live: str = "", stop_clicked: bool = False) -> str:
    """The status line for a run that ended with ``status`` (keeps "at epoch i, batch j" from ``live``)."""
    match = re.search(r" at (epoch \d+, batch \d+)", live or "")
    where = f" at {match.group(1)}" if match else ""
    if status == "finished":
        return "finished"
    if status == "stopped" or (status == "interrupted" and stop_clicked):
        return "stopped by user" + where
    if status == "interrupted":
        return "interrupted" + where
    if status == "failed":
        return one_line(live) if (live or "").startswith("failed") else "failed"
    return status or live or "ended"


# ---------------------------------------------------------------------- the epoch table
def column_header(column: str) -> str:
    """The table header of a record key ("seconds" reads "time", as in fastai)."""
    return _HEADERS.get(column, column)


def cell_text(column: str, value: Any) -> str:
    """One table cell: durations as mm:ss, floats with 4 decimals, nothing for None."""
    if column == "seconds" and isinstance(value, (int, float)):
        return format_duration(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def table_header_text(columns: list[str]) -> str:
    """The text table's header line (right-aligned columns)."""
    return "  ".join(f"{column_header(c):>11}" for c in columns)


def table_row_text(columns: list[str], row: dict) -> str:
    """One text table row."""
    return "  ".join(f"{cell_text(c, row.get(c)):>11}" for c in columns)


def table_text(columns: list[str], rows: list[dict], best: int | None = None) -> str:
    """The epoch table as text; the best epoch's row ends with ``*best`` (when there are several)."""
    if not columns:
        return ""
    lines = [table_header_text(columns)]
    for row in rows:
        mark = "  *best" if best is not None and row.get("epoch") == best and len(rows) > 1 else ""
        lines.append(table_row_text(columns, row) + mark)
    return "\n".join(lines)


def table_html(columns: list[str], rows: list[dict], best: int | None = None, inline: bool = False) -> str:
    """The epoch table as ``table.jdl-table`` (``inline``: styled for a page without our CSS)."""
    if not columns:
        return ""
    cell = " style='text-align:right;padding:2px 10px;border-bottom:1px solid #eaeef2'" if inline else ""
    head = "".join(f"<th{cell}>{html.escape(column_header(c))}</th>" for c in columns)
    body = []
    for row in rows:
        is_best = best is not None and row.get("epoch") == best and len(rows) > 1
        style = " style='font-weight:600;background:rgba(46,125,50,0.08)'" if inline and is_best else ""
        cells = []
        for c in columns:
            text = html.escape(cell_text(c, row.get(c)))
            if c == "epoch" and is_best:
                text += _BEST_MARK
            cells.append(f"<td{cell}>{text}</td>")
        body.append(f"<tr class='{'jdl-best' if is_best else ''}'{style}>{''.join(cells)}</tr>")
    table_style = (" style='border-collapse:collapse;font-family:monospace;font-size:12px;margin:4px 0'"
                   if inline else "")
    return (f"<table class='jdl-table'{table_style}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


# ---------------------------------------------------------------------- the lines above and below the plot
def header_html(title: str, status: str) -> str:
    """Title and status badge."""
    kind = status_kind(status)
    return (
        "<div class='jdl-head'>"
        f"<span class='jdl-title'>{html.escape(title)}</span>"
        f"<span class='jdl-status jdl-status-{kind}' title='{html.escape(status, quote=True)}'>"
        f"{html.escape(status)}</span></div>"
    )


def progress_html(fraction: float, text: str) -> str:
    """The progress bar and its line ("frozen · epoch 1/3 · batch 4/20 · 00:03<00:12 · ...")."""
    return (
        "<div class='jdl-progress-row'>"
        f"<progress class='jdl-progress' value='{fraction * 100:.1f}' max='100'></progress>"
        f"<span class='jdl-progress-text'>{html.escape(text)}</span></div>"
    )


def strip_html(line: str, tip: str = "") -> str:
    """The resource strip (``.jdl-monitor``); ``tip`` becomes its tooltip."""
    title = f" title='{html.escape(tip, quote=True)}'" if tip else ""
    return f"<div class='jdl-monitor'{title} style='{STRIP_STYLE}'>{html.escape(line)}</div>"


def advice_html(text: str) -> str:
    """The data-wait sentence (``.jdl-advice``)."""
    return ("<div class='jdl-advice' style='margin:4px 0 2px 0;padding:2px 8px;"
            "border-left:3px solid var(--jp-warn-color1, #b26a00);color:var(--jp-ui-font-color1, #1f2328)'>"
            f"{html.escape(text)}</div>")


def result_bundle(*, title: str, status: str, progress: str, columns: list[str], rows: list[dict],
                  best: int | None, resources: str = "", advice: str = "", summary: str = "") -> dict:
    """What stays under the figure after the run (``.jdl-result``): HTML and text."""
    kind = status_kind(status)
    color = STATUS_COLORS.get(kind, "#57606a")
    result_html = (
        "<div class='jdl-result' style='font-size:13px;margin:2px 0 4px 0'>"
        "<div class='jdl-head' style='display:flex;align-items:center;gap:10px;flex-wrap:wrap'>"
        f"<b class='jdl-title'>{html.escape(title)}</b>"
        f"<span class='jdl-status jdl-status-{kind}' style='color:{color};border:1px solid {color};"
        f"border-radius:999px;padding:0 9px'>{html.escape(status)}</span>"
        f"<span class='jdl-progress-text' style='color:#57606a;font-family:monospace'>"
        f"{html.escape(progress)}</span></div>"
        f"{table_html(columns, rows, best, inline=True)}"
        + (strip_html(resources) if resources else "")
        + (advice_html(advice) if advice else "")
        + (f"<div class='jdl-summary jupyter-dl-summary' style='margin-top:4px'><b>jupyter_dl</b> · "
           f"{html.escape(summary)}</div>" if summary else "")
        + "</div>"
    )
    text = "\n".join(p for p in (f"{title}: {status} · {progress}", table_text(columns, rows, best),
                                 resources, advice, summary) if p)
    return {"text/html": result_html, "text/plain": text}
