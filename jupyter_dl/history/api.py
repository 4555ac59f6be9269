"""The Python API behind ``%runs``: list past runs, and overlay their curves so settings can be compared.

:func:`runs` shows every run's summary (newest first) as a table; :func:`compare_runs` overlays
the chosen runs' per-epoch curves in one plotly figure; :func:`show_runs` is what the magic shows.
The summaries come from :mod:`.summaries` (run logs on disk, so all of it works after a kernel
restart); the table and figure from :mod:`.views`. ``jupyter_dl.runs()`` is :func:`runs`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserInputError
from .summaries import listing, load_runs, resolve_runs, runs_root
from .views import LOSSES, compare_figure, show_compare, show_runs_table

__all__ = ["runs", "compare_runs", "show_runs"]


def runs(*names: str, metric: str | None = None, last: int | None = None,
         root: str | Path | None = None, show: bool = True) -> list[dict]:
    """List the recorded runs, newest first, as a table (HTML in a notebook, text elsewhere).

    ``names``: only these runs (folder names, unique prefixes or parts of them); ``last``: only the
    ``last`` newest; neither: every run under ``root`` (default: ``JUPYTER_DL_RUNS`` or ``./runs``).
    ``metric``: the column the "best" value is taken from (default: each run's monitored metric,
    the first metric it was trained with, else ``valid_loss``).

    Returns one dict per run: name, path, started (unix seconds), date, data, arch, call, epochs
    (completed), planned_epochs, metric, best, best_epoch, seconds (wall time), status ("finished",
    "stopped", "interrupted", "failed", "incomplete" or "unreadable"), error, stopped_at, model (the
    path of the run's best weights, which ``load_learner`` reads, or None), resumable (True when
    ``finetune(..., resume=name)`` can go on with it), config and history (the per-epoch records).
    """
    base = runs_root(root)
    if names or last is not None:
        found = resolve_runs(names, base, last=last, metric=metric)
    else:
        found = load_runs(base, metric)
    if show:
        show_runs_table(found, base)
    return RunList(found)


def compare_runs(*names: str, metric: str | None = "valid_loss", last: int | None = None,
                 root: str | Path | None = None, show: bool = True):
    """Overlay the chosen runs' per-epoch curves in one plotly figure, one colour per run; display and return it.

    ``metric``: "valid_loss" (default) or "loss" draw the valid loss (solid) and the train loss (dashed);
    any other logged column ("train_loss", "accuracy", ...) draws that column alone. ``names`` as in
    :func:`runs`; ``last=N`` adds the N newest runs. As a notebook cell's last expression the returned
    figure shows a second time: assign it (``fig = compare_runs(...)``) or end the line with ``;``.
    """
    chosen = resolve_runs(names, root, last=last)
    metric = _check_metric(chosen, metric)
    fig = compare_figure(chosen, metric)
    if show:
        show_compare(fig, chosen, metric)
    return fig


def _check_metric(chosen: list[dict], metric: str | None) -> str:
    if not chosen:
        raise UserInputError("Name the runs to compare (see %runs for their names), or pass last=N "
                             "(--last N) for the newest N.")
    metric = metric or "valid_loss"
    columns = sorted({k for r in chosen for row in r["history"] for k, v in row.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)} - {"epoch", "seconds"})
    if metric not in LOSSES and metric not in columns:
        what = f"the logged columns are: {', '.join(columns)}" if columns else "they have no epochs logged yet"
        raise UserInputError(f"No epoch of {listing(r['name'] for r in chosen)} has {metric!r}; {what}.")
    return metric


def show_runs(*names: str, metric: str | None = None, last: int | None = None,
              root: str | Path | None = None) -> None:
    """What ``%runs`` shows: with no names and no ``last``, the table of every run; otherwise the table
    of the chosen runs and the figure overlaying their curves (``metric`` as in :func:`compare_runs`,
    checked before anything is shown)."""
    base = runs_root(root)
    if not names and last is None:
        show_runs_table(load_runs(base, metric), base)
        return
    chosen = resolve_runs(names, base, last=last, metric=metric)
    checked = _check_metric(chosen, metric)
    show_runs_table(chosen, base)
    show_compare(compare_figure(chosen, checked), chosen, checked)


class RunList(list):
    """The list :func:`runs` returns; in IPython's Out[] a one-line summary (the table is already shown)."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        names = [r["name"] for r in self]
        printer.text(f"<{len(self)} run{'' if len(self) == 1 else 's'}"
                     + (f": {listing(names, 3)}>" if names else ">"))
