"""Past runs: list the run logs on disk and overlay their curves, so settings can be compared.

Every training run writes ``<runs_dir>/<stamp>-<name>/log.jsonl`` (see
:mod:`jupyter_dl.train.runlog`). :func:`runs` reads them back into one summary
per run (newest first) and shows them as a table; :func:`compare_runs` overlays
the chosen runs' per-epoch curves in one plotly figure. Both work after a kernel
restart, on runs that were stopped, interrupted or failed, and on runs whose log
ends early (a run still going, or a kernel that died mid-write).

Runs are named by their folder name, or any unique prefix or part of it
(``"20261127-0001"``, ``"lite0-pets"``), or a path to a run folder.

The package re-exports :func:`runs` and :func:`compare_runs` (``jupyter_dl.runs()``).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import UserInputError
from .paths import runs_dir

__all__ = ["runs", "compare_runs", "show_runs", "load_runs", "summarize_run", "resolve_runs", "higher_is_better"]

LOG_NAME = "log.jsonl"  # the same as jupyter_dl.train.runlog.LOG_NAME (not imported: that imports torch)
LOSSES = ("valid_loss", "loss")  # compare_runs(metric=...) values that overlay train and valid loss


def higher_is_better(metric: str) -> bool:
    """Direction of a logged column: losses and error rates go down, other metrics (accuracy, f1) go up."""
    name = metric.lower()
    return not (name.endswith("loss") or "error" in name or name in ("mae", "mse", "rmse"))


def _read(run_dir: Path) -> dict:
    from .train.runlog import (
        read_run,  # imports torch (jupyter_dl.train's __init__); only when runs are read
    )

    return read_run(run_dir)


def _best(epochs: list[dict], metric: str) -> tuple[float | None, int | None]:
    """The best value of ``metric`` over the epoch records and its epoch, by the metric's direction."""
    points = [(r[metric], r.get("epoch")) for r in epochs if isinstance(r.get(metric), (int, float))
              and not isinstance(r.get(metric), bool)]
    if not points:
        return None, None
    pick = max if higher_is_better(metric) else min
    value, epoch = pick(points, key=lambda p: p[0])
    return float(value), epoch


def _date(seconds: float | None) -> str:
    try:
        return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else ""
    except (OverflowError, OSError, ValueError):  # a corrupt time in the log
        return ""


def summarize_run(run_dir: str | Path, metric: str | None = None) -> dict:
    """One run's summary from its log (see :func:`runs` for the keys).

    The status is the last ``fit_end``'s, unless the log goes on after it (a new
    phase started) or fewer epochs ran than were planned, or there is none:
    then "incomplete" (still running, or the kernel died). A log that cannot be
    read at all is listed as "unreadable".
    """
    run_dir = Path(run_dir)
    try:
        log = _read(run_dir)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log, unreadable = {"config": {}, "epochs": [], "events": []}, f"{type(exc).__name__}: {exc}"
    else:
        unreadable = None
    config, epochs, events = log["config"], log["epochs"], log["events"]
    times = [e["time"] for e in events if isinstance(e.get("time"), (int, float))]
    kinds = [e.get("event") for e in events]

    planned = None
    if isinstance(config.get("epochs"), int):
        planned = config["epochs"]
        if config.get("call", "fine_tune") == "fine_tune" and isinstance(config.get("freeze_epochs"), int):
            planned += config["freeze_epochs"]

    ends = [i for i, k in enumerate(kinds) if k == "fit_end"]
    starts = [i for i, k in enumerate(kinds) if k == "fit_start"]
    errors = [e for e in events if e.get("event") == "error"]
    stops = [e for e in events if e.get("event") == "stop"]
    if unreadable:
        status = "unreadable"
    elif not ends or (starts and starts[-1] > ends[-1]):
        status = "incomplete"
    else:
        status = str(events[ends[-1]].get("status") or "incomplete")
        if status == "finished" and planned is not None and len(epochs) < planned:
            status = "incomplete"  # e.g. the kernel died between fine_tune's frozen and unfrozen phases
    error = unreadable or (str(errors[-1].get("message") or "") if errors and status == "failed" else None)

    # The monitored value: the trainer's own checkpoints when it kept any, else worked out from the epochs.
    monitors = [e.get("monitor") for e in events if e.get("event") in ("fit_start", "checkpoint", "fit_end")
                and e.get("monitor")]
    configured = config.get("metrics")
    monitor = monitors[-1] if monitors else (configured[0] if isinstance(configured, list) and configured
                                             else "valid_loss")
    shown = metric or monitor
    checkpoints = [e for e in events if e.get("event") == "checkpoint" and e.get("monitor") == shown
                   and isinstance(e.get("value"), (int, float))]
    if checkpoints:
        best, best_epoch = float(checkpoints[-1]["value"]), checkpoints[-1].get("epoch")
    else:
        best, best_epoch = _best(epochs, shown)

    started = times[0] if times else None
    if started is None:
        try:
            started = run_dir.stat().st_mtime
        except OSError:
            started = None
    return {
        "name": run_dir.name,
        "path": run_dir,
        "started": started,
        "date": _date(started),
        "data": "" if config.get("data") is None else str(config["data"]),
        "arch": "" if config.get("arch") is None else str(config["arch"]),
        "call": config.get("call"),
        "epochs": len(epochs),
        "planned_epochs": planned,
        "metric": shown,
        "best": best,
        "best_epoch": best_epoch,
        "seconds": (times[-1] - times[0]) if len(times) > 1 else 0.0,
        "status": status,
        "error": error,
        "stopped_at": (f"epoch {stops[-1].get('epoch')}, batch {stops[-1].get('batch')}" if stops else None),
        "config": config,
        "history": epochs,
    }


def _root(root: str | Path | None) -> Path:
    return Path(root).expanduser() if root is not None else runs_dir()


def load_runs(root: str | Path | None = None, metric: str | None = None) -> list[dict]:
    """Summaries of every run under ``root`` (default :func:`jupyter_dl.paths.runs_dir`), newest first."""
    base = _root(root)
    if not base.is_dir():
        return []
    found = [summarize_run(p, metric) for p in base.iterdir() if (p / LOG_NAME).is_file()]
    found.sort(key=lambda r: (r["started"] or 0.0, r["name"]), reverse=True)
    return found


def _listing(names: Iterable[str], limit: int = 6) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _no_runs(base: Path) -> UserInputError:
    return UserInputError(f"There are no runs in {base} yet: train one with %finetune, or give the "
                          "folder with root= (--root), or set JUPYTER_DL_RUNS.")


def _match(name: str, available: list[dict], base: Path) -> dict:
    by_name = {r["name"]: r for r in available}
    if name in by_name:
        return by_name[name]
    lowered = name.lower()
    for test in (lambda n: n.lower().startswith(lowered), lambda n: lowered in n.lower()):
        hits = [r for r in available if test(r["name"])]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise UserInputError(f"{name!r} matches {len(hits)} runs in {base} "
                                 f"({_listing(r['name'] for r in hits)}): give more of the name.")
    if not available:
        raise _no_runs(base)
    names = [r["name"] for r in available]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
    suggestion = f"close names: {_listing(close)}" if close else f"the newest are: {_listing(names, 5)}"
    raise UserInputError(f"No run matches {name!r} in {base}; {suggestion} (see %runs).")


def resolve_runs(names: Iterable[str], root: str | Path | None = None, last: int | None = None,
                 metric: str | None = None) -> list[dict]:
    """The summaries of the named runs (exact folder name, else a unique prefix, else a unique part of it,
    or a path to a run folder), then the ``last`` newest, in that order and without repeats.

    An unknown or ambiguous name raises :class:`UserInputError` listing the candidates.
    """
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise UserInputError(f"last must be a whole number of runs, 1 or more, not {last!r}.")
    base = _root(root)
    available = load_runs(base, metric)
    chosen: list[dict] = []
    for name in names:
        name = str(name)
        path = Path(name).expanduser()
        if (path / LOG_NAME).is_file() and (len(path.parts) > 1 or name not in {r["name"] for r in available}):
            run = summarize_run(path, metric)
        else:
            run = _match(name, available, base)
        chosen.append(run)
    if last is not None:
        if not available:
            raise _no_runs(base)
        chosen.extend(available[:last])
    unique: dict[Path, dict] = {}
    for run in chosen:
        unique.setdefault(Path(run["path"]).resolve(), run)
    return list(unique.values())


def runs(*names: str, metric: str | None = None, last: int | None = None,
         root: str | Path | None = None, show: bool = True) -> list[dict]:
    """List the recorded runs, newest first, as a table (HTML in a notebook, text elsewhere).

    ``names``: only these runs (folder names, unique prefixes or parts of them); ``last``: only the
    ``last`` newest; neither: every run under ``root`` (default: ``JUPYTER_DL_RUNS`` or ``./runs``).
    ``metric``: the column the "best" value is taken from (default: each run's monitored metric,
    the first metric it was trained with, else ``valid_loss``).

    Returns one dict per run: name, path, started (unix seconds), date, data, arch, call, epochs
    (completed), planned_epochs, metric, best, best_epoch, seconds (wall time), status ("finished",
    "stopped", "interrupted", "failed", "incomplete" or "unreadable"), error, stopped_at, config and
    history (the per-epoch records).
    """
    from .ui.runs import show_runs_table

    base = _root(root)
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
    from .ui.runs import compare_figure, show_compare

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
        raise UserInputError(f"No epoch of {_listing(r['name'] for r in chosen)} has {metric!r}; {what}.")
    return metric


def show_runs(*names: str, metric: str | None = None, last: int | None = None,
              root: str | Path | None = None) -> None:
    """What ``%runs`` shows: with no names and no ``last``, the table of every run; otherwise the table
    of the chosen runs and the figure overlaying their curves (``metric`` as in :func:`compare_runs`,
    checked before anything is shown)."""
    from .ui.runs import compare_figure, show_compare, show_runs_table

    base = _root(root)
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
                     + (f": {_listing(names, 3)}>" if names else ">"))
