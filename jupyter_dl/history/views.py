"""Views of past runs: a table of run summaries and an overlay figure of their per-epoch curves.

Both are static (an HTML + text display bundle, a plotly figure), so they stay
in the saved notebook. The summaries come from :mod:`.summaries`.
"""
from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any

from ..train.records import find_best
from ..ui import frontend
from ..ui.formatting import format_duration, one_line
from ..ui.output import plotly_bundle, show_text

LOSSES = ("valid_loss", "loss")  # compare_runs(metric=...) values that overlay train and valid loss
COLUMNS = ("name", "date", "data", "arch", "epochs", "best", "time", "status", "model")
DATA_WIDTH = 32      # longer data paths are shortened from the left in the table
REASON_WIDTH = 60    # a failed run's error, as far as the table shows it


def _shorten_left(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _number(value: float) -> str:
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def cells(run: dict) -> dict[str, str]:
    """The table's text for one run summary."""
    done, planned = run["epochs"], run.get("planned_epochs")
    epochs = f"{done}/{planned}" if planned is not None and planned != done else str(done)
    best = ""
    if run.get("best") is not None:
        best = f"{run['metric']} {_number(run['best'])}"
        if run.get("best_epoch") is not None:
            best += f" (epoch {run['best_epoch']})"
    status = run["status"]
    if status in ("stopped", "interrupted") and run.get("stopped_at"):
        status += f" at {run['stopped_at']}"
    elif status in ("failed", "unreadable") and run.get("error"):
        status += f": {one_line(run['error'], REASON_WIDTH)}"
    model = ("saved, resumable" if run.get("resumable") else "saved") if run.get("model") else \
        ("resumable" if run.get("resumable") else "")
    return {
        "name": run["name"],
        "date": run.get("date", ""),
        "data": _shorten_left(run.get("data", ""), DATA_WIDTH),
        "arch": run.get("arch", ""),
        "epochs": epochs,
        "best": best,
        "time": format_duration(run.get("seconds") or 0.0),
        "status": status,
        "model": model,
    }


def _empty(root: str | Path) -> str:
    return (f"No runs in {root} yet: every %finetune writes one there "
            "(set JUPYTER_DL_RUNS, or pass root= / --root, to look elsewhere).")


def runs_table_text(runs: list[dict], root: str | Path) -> str:
    """The runs as an aligned text table under a one-line caption."""
    if not runs:
        return _empty(root)
    rows = [cells(r) for r in runs]
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in COLUMNS}

    def line(values: dict[str, str]) -> str:
        return "  ".join(values[c].ljust(widths[c]) for c in COLUMNS).rstrip()

    body = [line({c: c for c in COLUMNS})] + [line(row) for row in rows]
    return f"{len(runs)} run{'' if len(runs) == 1 else 's'} in {root} (newest first)\n" + "\n".join(body)


def runs_table_html(runs: list[dict], root: str | Path) -> str:
    """The runs as an HTML table (full data path and error in the cells' tooltips)."""
    if not runs:
        return f"<div class='jupyter-dl-runs'>{html.escape(_empty(root))}</div>"
    esc = html.escape
    head = "".join(f"<th style='text-align:left'>{esc(c)}</th>" for c in COLUMNS)
    body = []
    for run in runs:
        row = cells(run)
        tips = {"data": run.get("data", ""), "status": run.get("error") or "", "name": str(run.get("path", "")),
                "model": _model_tip(run)}
        tds = []
        for c in COLUMNS:
            tip = f" title='{esc(tips[c], quote=True)}'" if tips.get(c) else ""
            tds.append(f"<td style='text-align:left'{tip}>{esc(row[c])}</td>")
        body.append(f"<tr class='jupyter-dl-run-{esc(run['status'], quote=True)}'>{''.join(tds)}</tr>")
    caption = f"{len(runs)} run{'' if len(runs) == 1 else 's'} in {root} (newest first)"
    return (f"<div class='jupyter-dl-runs'><table><caption style='text-align:left'>{esc(caption)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _model_tip(run: dict) -> str:
    """The model cell's tooltip: how to load it, and how to go on with the run."""
    tips = []
    if run.get("model"):
        tips.append(f"jupyter_dl.load_learner({str(run['model'].parent)!r})")
    if run.get("resumable"):
        tips.append(f"%finetune DATA --resume {run['name']}")
    return " · ".join(tips)


def show_runs_table(runs: list[dict], root: str | Path) -> None:
    """Show the runs table (HTML in a kernel, text elsewhere)."""
    show_text(runs_table_text(runs, root), runs_table_html(runs, root))


def palette(n: int) -> list[str]:
    """``n`` distinct colours (plotly's default qualitative palette first), repeating only past 34."""
    from plotly.colors import qualitative

    colours = list(qualitative.Plotly) + [c for c in qualitative.Dark24 if c not in qualitative.Plotly]
    return [colours[i % len(colours)] for i in range(n)]


def _series(run: dict, column: str) -> tuple[list, list, list]:
    rows = [r for r in run["history"] if column in r]
    values = [r[column] if isinstance(r[column], (int, float)) else None for r in rows]  # None: a gap (NaN)
    return [r.get("epoch") for r in rows], values, [r.get("phase", "") for r in rows]


def compare_figure(runs: list[dict], metric: str = "valid_loss"):
    """One plotly figure: per run (one colour each) the valid loss solid and the train loss dashed
    (``metric`` "valid_loss" or "loss"), or ``metric``'s column; the best point of each curve starred."""
    import plotly.graph_objects as go

    losses = metric in LOSSES
    columns = [("valid_loss", "solid"), ("train_loss", "dash")] if losses else [(metric, "solid")]
    fig = go.Figure()
    missing = []
    for run, colour in zip(runs, palette(len(runs))):
        drawn = False
        for column, dash in columns:
            x, y, phases = _series(run, column)
            if not any(v is not None for v in y):
                continue
            first = not drawn
            drawn = True
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers", name=run["name"], legendgroup=run["name"], showlegend=first,
                line=dict(color=colour, dash=dash, width=2 if dash == "solid" else 1.5),
                marker=dict(size=6 if dash == "solid" else 4), customdata=phases,
                hovertemplate=(f"{html.escape(run['name'])}<br>epoch %{{x}} (%{{customdata}})<br>"
                               f"{column} %{{y:.4f}}<extra></extra>")))
            best = find_best(run["history"], column) if dash == "solid" else None
            if best is not None:
                fig.add_trace(go.Scatter(
                    x=[best.epoch], y=[best.value], mode="markers", legendgroup=run["name"], showlegend=False,
                    marker=dict(symbol="star", size=13, color=colour, line=dict(width=1, color="white")),
                    hovertemplate=(f"{html.escape(run['name'])}<br>best {column} %{{y:.4f}} at epoch "
                                   f"%{{x}}<extra></extra>")))
        if not drawn:
            missing.append(run["name"])
    title = ("valid loss (solid) and train loss (dashed) per epoch" if losses else f"{metric} per epoch")
    if missing:
        title += f"<br><sup>no {'losses' if losses else metric} logged for: {html.escape(', '.join(missing))}</sup>"
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="loss" if losses else metric, height=420,
                      hovermode="closest", legend=dict(title="run"), margin=dict(l=60, r=20, t=70, b=40))
    epochs = [e for run in runs for e in (r.get("epoch") for r in run["history"]) if isinstance(e, int)]
    span = max(epochs) - min(epochs) if epochs else 0
    fig.update_xaxes(dtick=1 if span <= 20 else None, tickformat="d")  # whole epochs, each labelled once
    return fig


def compare_text(runs: list[dict], metric: str = "valid_loss") -> str:
    """The figure's numbers as text: per run, the value of each epoch and the best."""
    column = "valid_loss" if metric in LOSSES else metric
    lines = [f"{column} per epoch" + (" (train_loss in the figure too)" if metric in LOSSES else "")]
    width = max(len(r["name"]) for r in runs)
    for run in runs:
        x, y, _ = _series(run, column)
        points = [(v, e) for v, e in zip(y, x) if v is not None]
        if not points:
            lines.append(f"{run['name'].ljust(width)}  (not logged)")
            continue
        values = " ".join(f"{e}:{_number(v)}" for v, e in points)
        best = find_best(run["history"], column)
        if best is None:  # the column has values, but none a finite number
            lines.append(f"{run['name'].ljust(width)}  {values}")
            continue
        lines.append(f"{run['name'].ljust(width)}  {values}  best {_number(best.value)} at epoch {best.epoch}")
    return "\n".join(lines)


def figure_bundle(fig: Any, text: str) -> dict:
    """``fig`` as a display bundle that stays in the saved notebook (see :func:`jupyter_dl.ui.output.plotly_bundle`)."""
    import json

    return plotly_bundle({**json.loads(fig.to_json()), "config": {"responsive": True}}, text)


def show_compare(fig: Any, runs: list[dict], metric: str = "valid_loss", kernel: bool | None = None) -> None:
    """In a kernel: the figure as :func:`figure_bundle` (it stays in the saved notebook); elsewhere: its numbers."""
    text = compare_text(runs, metric)
    if frontend.in_kernel() if kernel is None else kernel:
        from IPython.display import display

        display(figure_bundle(fig, text), raw=True)
    else:
        print(text, file=sys.stdout)
