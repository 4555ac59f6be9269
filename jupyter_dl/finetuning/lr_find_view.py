"""The LR finder's result as people read it: loss against learning rate (log x), suggestions marked.

A plotly figure in a kernel (it stays in the saved notebook) and one sentence everywhere.
"""
from __future__ import annotations

import html
import math
from typing import Any

from ..ui import frontend
from ..ui.output import show_text


def lr_find_figure(result: Any) -> Any:
    """A plotly figure: loss against learning rate (log x), every suggestion a vertical line."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=list(result.lrs), y=list(result.losses), mode="lines", name="loss"))
    marked = [(name, value) for name, value in result.suggestions.items() if value is not None]
    for row, (name, value) in enumerate(sorted(marked, key=lambda pair: pair[1])):
        fig.add_vline(x=value, line_dash="dot" if name != "valley" else "solid")
        # Its own label, not add_vline's: on a log axis plotly puts those at 10**x (plotly.py #2580).
        # Annotations on a log axis take log10(x); the rows keep close suggestions' labels apart.
        fig.add_annotation(x=math.log10(value), y=1 - 0.08 * row, xref="x", yref="paper", text=f"{name} {value:.1e}",
                           showarrow=False, xanchor="left", yanchor="top", xshift=3, font=dict(size=11),
                           bgcolor="rgba(255,255,255,0.7)")
    fig.update_layout(xaxis_type="log", xaxis_title="learning rate", yaxis_title="loss (smoothed)",
                      title=f"LR finder: suggested {result.suggested:.1e} (valley)", height=360,
                      margin=dict(l=50, r=20, t=50, b=40))
    return fig


def show_lr_find(result: Any, quiet: bool = False) -> None:
    """Show the sweep (the figure unless ``quiet``) and the sentence with every suggestion."""
    suggestions = ", ".join(f"{k} {v:.2e}" for k, v in result.suggestions.items() if v is not None)
    text = f"LR finder suggests {result.suggested:.2e} (valley). All suggestions: {suggestions}."
    if frontend.in_kernel() and not quiet:
        from IPython.display import display

        display(lr_find_figure(result))
    show_text(text, f"<div class='jupyter-dl-lr-find'>{html.escape(text)}</div>")
