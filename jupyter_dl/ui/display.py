"""Static results: the final training summary and the LR-finder plot.

Both are plain display bundles (HTML + text, and a plotly figure for the LR
finder), so they stay in the saved notebook and show without a kernel.
"""
from __future__ import annotations

import html
import sys
from typing import Any

from ..train.memory import CUDA_ALLOCATED
from ..train.timing import TIMING_KEYS
from .progress import format_duration, in_kernel
from .units import format_bytes

# Epoch-record keys the summary's "Last epoch" leaves out (time, schedule, the data-wait timings).
_NOT_SHOWN = {"seconds", "lr", "train_loss", *TIMING_KEYS}


def _show(text: str, html_text: str) -> None:
    if in_kernel():
        from IPython.display import display

        display({"text/plain": text, "text/html": html_text}, raw=True)
    else:
        print(text, file=sys.stdout)


def summary_text(learner: Any) -> str:
    """One paragraph: what was trained on what, how it ended, the numbers that matter."""
    config = learner.config
    history = learner.history
    seconds = sum(row.get("seconds", 0.0) for row in history)
    head = (f"{config.get('arch', learner.bundle.arch)} on {config.get('data', 'data')} "
            f"({config.get('n_train', '?')} train / {config.get('n_valid', '?')} valid images, "
            f"{len(learner.classes)} classes, {learner.size}px, {config.get('device', '')})")
    status = learner.status
    if status == "finished":
        ended = f"Finished {len(history)} epochs in {format_duration(seconds)}"
    elif status in ("stopped", "interrupted"):
        where = learner.stopped_at
        ended = f"{status.capitalize()}{' at ' + where if where else ''} after {len(history)} full epochs"
    else:
        ended = f"Ended with status {status} after {len(history)} epochs"
    parts = [f"{ended}: {head}."]
    if history:
        last = history[-1]
        numbers = ", ".join(f"{k} {v:.4f}" for k, v in last.items()
                            if isinstance(v, float) and k not in _NOT_SHOWN)
        parts.append(f"Last epoch: {numbers}.")
    best = learner.best_description()
    if best:
        parts.append(f"Kept weights: {best}.")
    memory = peak_memory_text(getattr(learner.trainer, "peak_memory", None))
    if memory:
        parts.append(memory + ".")
    skipped = config.get("skipped") or 0
    if skipped:
        first = learner.loaders.skipped[0] if learner.loaders is not None and learner.loaders.skipped else None
        example = f" (e.g. {first[0]}: {first[1]})" if first else ""
        parts.append(f"Skipped {skipped} unreadable files{example}.")
    parts.append(f"The learner is in `{learner.name}`"
                 + (f"; run log in {learner.run_dir}" if learner.run_dir else "") + ".")
    return " ".join(parts)


def peak_memory_text(peak: dict | None) -> str:
    """"Peak GPU memory 9.8 of 16.0 GB (allocated by PyTorch)" or "Peak RAM 1.4 GB (...)"; "" if unknown.

    ``peak``: a Trainer's ``peak_memory`` / FIT_END numbers (see jupyter_dl.train.memory).
    """
    if not peak or not isinstance(peak.get("peak_memory"), int):
        return ""
    used, total = peak["peak_memory"], peak.get("memory_total")
    if peak.get("peak_memory_kind") == CUDA_ALLOCATED:
        of = f" of {format_bytes(total)}" if isinstance(total, int) and total else ""
        return f"Peak GPU memory {format_bytes(used)}{of} (allocated by PyTorch)"
    return f"Peak RAM {format_bytes(used)} (the most this process has held so far)"


def show_summary(learner: Any) -> None:
    show_summary_text(summary_text(learner))


def show_summary_text(text: str) -> None:
    _show(text, f"<div class='jupyter-dl-summary'><b>jupyter_dl</b> · {html.escape(text)}</div>")


PLOTLY_MIME = "application/vnd.plotly.v1+json"


def plotly_bundle(figure: dict, text: str, *, css_class: str = "", default_height: str = "100%") -> dict:
    """A display bundle that shows a plotly ``figure`` (a plain {"data", "layout", "config"} dict) everywhere:
    plotly's own mimetype (JupyterLab, Notebook 7, VS Code, Colab), HTML that loads plotly.js from its CDN
    (nbconvert, GitHub-like viewers; without the network it stays blank), and ``text``."""
    import plotly.io as pio

    try:
        html_div = pio.to_html(figure, include_plotlyjs="cdn", full_html=False, config=figure.get("config"),
                               validate=False, default_height=default_height)
    except Exception:  # a figure plotly cannot render as HTML still shows through its mimetype
        html_div = ""
    if css_class:
        html_div = f"<div class='{css_class}'>{html_div}</div>"
    return {PLOTLY_MIME: figure, "text/html": html_div, "text/plain": text}


def lr_find_figure(result: Any):
    """A plotly figure: loss against learning rate (log x), suggestions marked."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=list(result.lrs), y=list(result.losses), mode="lines", name="loss"))
    for name, value in result.suggestions.items():
        if value is None:
            continue
        fig.add_vline(x=value, line_dash="dot" if name != "valley" else "solid",
                      annotation_text=f"{name} {value:.1e}", annotation_position="top")
    fig.update_layout(xaxis_type="log", xaxis_title="learning rate", yaxis_title="loss (smoothed)",
                      title=f"LR finder: suggested {result.suggested:.1e} (valley)", height=360,
                      margin=dict(l=50, r=20, t=50, b=40))
    return fig


def show_lr_find(result: Any, quiet: bool = False) -> None:
    suggestions = ", ".join(f"{k} {v:.2e}" for k, v in result.suggestions.items() if v is not None)
    text = f"LR finder suggests {result.suggested:.2e} (valley). All suggestions: {suggestions}."
    if in_kernel() and not quiet:
        from IPython.display import display

        display(lr_find_figure(result))
    _show(text, f"<div class='jupyter-dl-lr-find'>{html.escape(text)}</div>")
