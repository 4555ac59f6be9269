"""The accuracy-against-labels chart: when do more labels stop helping?

Two measurements, both on labels the model had not seen when it was measured:

- suggestions: of the labels given while a suggestion was shown, the share that the suggestion got
  right, over a sliding window of :data:`WINDOW` labels, drawn at the number of labels there were;
- fine-tunes: each background run's accuracy on the labelled images it held out.

A small SVG (no plotly, no widget), so the same drawing works live, in the snapshot and in nbconvert.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

WINDOW = 24
WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 10, 10, 26
SUGGESTION_COLOUR = "#1565c0"
RUN_COLOUR = "#2e7d32"


def accuracy_series(outcomes: Sequence[Any], window: int = WINDOW) -> list[tuple[int, float]]:
    """(labels so far, share of the last ``window`` suggestions that were right), one point per window step."""
    points = []
    for end in range(window, len(outcomes) + 1, max(1, window // 2)):
        recent = outcomes[end - window:end]
        points.append((recent[-1].labels_before + 1, sum(o.right for o in recent) / window))
    return points


def accuracy_svg(outcomes: Sequence[Any], runs: Sequence[Any], window: int = WINDOW, labelled: int = 0) -> str:
    """The chart as an ``<svg>`` element (its x axis up to ``labelled``, the images labelled so far, at least);
    an empty string until there is something to draw."""
    series = accuracy_series(outcomes, window)
    runs = [run for run in runs if run.accuracy is not None]
    if not series and not runs:
        return ""
    top_x = max([x for x, _ in series] + [run.labels for run in runs] + [labelled, 1])

    def at(x: float, y: float) -> tuple[float, float]:
        return (LEFT + (WIDTH - LEFT - RIGHT) * x / top_x, TOP + (HEIGHT - TOP - BOTTOM) * (1 - y))

    parts = [f"<rect x='{LEFT}' y='{TOP}' width='{WIDTH - LEFT - RIGHT}' height='{HEIGHT - TOP - BOTTOM}' "
             "fill='none' stroke='#d0d7de'/>"]
    for share in (0.0, 0.5, 1.0):
        _, y = at(0, share)
        parts.append(f"<text x='{LEFT - 4}' y='{y + 4:.1f}' font-size='10' text-anchor='end'>{share:.0%}</text>")
    for x in (0, top_x):
        px, _ = at(x, 0)
        parts.append(f"<text x='{px:.1f}' y='{HEIGHT - BOTTOM + 12}' font-size='10' text-anchor='middle'>{x}</text>")
    parts.append(f"<text x='{(LEFT + WIDTH) / 2:.0f}' y='{HEIGHT - 3}' font-size='10' text-anchor='middle'>"
                 "labelled images</text>")
    if series:
        line = " ".join("{:.1f},{:.1f}".format(*at(x, y)) for x, y in series)
        parts.append(f"<polyline class='jdl-label-suggestions' points='{line}' fill='none' "
                     f"stroke='{SUGGESTION_COLOUR}' stroke-width='2'/>")
    for run in runs:
        x, y = at(run.labels, run.accuracy)
        parts.append(f"<circle class='jdl-label-run' cx='{x:.1f}' cy='{y:.1f}' r='4' fill='{RUN_COLOUR}'>"
                     f"<title>{html.escape(run.run)}: {run.accuracy:.1%} on held-out labels, trained on "
                     f"{run.labels}</title></circle>")
    legend = (f"<tspan fill='{SUGGESTION_COLOUR}'>\u2014 suggestions right (last {window})</tspan>"
              f"<tspan fill='{RUN_COLOUR}' dx='8'>\u25cf fine-tune, held out</tspan>")
    parts.append(f"<text x='{LEFT + 4}' y='{TOP + 12}' font-size='10'>{legend}</text>")
    return (f"<svg class='jdl-label-chart' xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
            f"viewBox='0 0 {WIDTH} {HEIGHT}' role='img' aria-label='accuracy against labelled images'>"
            + "".join(parts) + "</svg>")
