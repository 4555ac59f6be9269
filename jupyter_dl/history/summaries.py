"""Run logs on disk -> one summary per run, and finding runs by name.

Every training run writes ``<runs_dir>/<stamp>-<name>/log.jsonl`` (see
:mod:`jupyter_dl.train.runlog`). :func:`summarize_run` reads one back (also a run that was
stopped, interrupted or failed, or whose log ends early: a run still going, or a kernel that died
mid-write); :func:`load_runs` reads every run of a folder, newest first; :func:`resolve_runs` finds
runs by their folder name, or any unique prefix or part of it (``"20261127-0001"``,
``"lite0-pets"``), or a path to a run folder. The best value is :mod:`jupyter_dl.train.records`' rule.
Whether a run has a model (``model.jdl``: ``load_learner`` takes the run) and can be resumed
(``resume.pt``, and epochs left) is read from the files in its folder.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from ..checks import check_count
from ..errors import UserInputError
from ..paths import runs_dir
from ..train.records import find_best, monitored_column
from ..train.runlog import LOG_NAME, MODEL_NAME, STATE_NAME, read_run


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
    unreadable: str | None
    try:
        log = read_run(run_dir)
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
                                             else monitored_column(epochs))
    shown = metric or monitor
    checkpoints = [e for e in events if e.get("event") == "checkpoint" and e.get("monitor") == shown
                   and isinstance(e.get("value"), (int, float))]
    best: float | None
    if checkpoints:
        best, best_epoch = float(checkpoints[-1]["value"]), checkpoints[-1].get("epoch")
    else:
        found = find_best(epochs, shown)
        best, best_epoch = (found.value, found.epoch) if found is not None else (None, None)

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
        "model": run_dir / MODEL_NAME if (run_dir / MODEL_NAME).is_file() else None,
        "resumable": (run_dir / STATE_NAME).is_file() and status not in ("finished", "unreadable"),
        "config": config,
        "history": epochs,
    }


def runs_root(root: str | Path | None) -> Path:
    """``root`` as a Path (``~`` expanded), else :func:`jupyter_dl.paths.runs_dir`."""
    return Path(root).expanduser() if root is not None else runs_dir()


def load_runs(root: str | Path | None = None, metric: str | None = None) -> list[dict]:
    """Summaries of every run under ``root`` (default :func:`jupyter_dl.paths.runs_dir`), newest first."""
    base = runs_root(root)
    if not base.is_dir():
        return []
    found = [summarize_run(p, metric) for p in base.iterdir() if (p / LOG_NAME).is_file()]
    found.sort(key=lambda r: (r["started"] or 0.0, r["name"]), reverse=True)
    return found


def listing(names: Iterable[str], limit: int = 6) -> str:
    """The first ``limit`` names joined with commas, then "and N more" for the rest."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def no_runs_error(base: Path) -> UserInputError:
    """The error for a runs folder ``base`` without runs (returned, for the caller to raise)."""
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
                                 f"({listing(r['name'] for r in hits)}): give more of the name.")
    if not available:
        raise no_runs_error(base)
    names = [r["name"] for r in available]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
    suggestion = f"close names: {listing(close)}" if close else f"the newest are: {listing(names, 5)}"
    raise UserInputError(f"No run matches {name!r} in {base}; {suggestion} (see %runs).")


def resolve_runs(names: Iterable[str], root: str | Path | None = None, last: int | None = None,
                 metric: str | None = None) -> list[dict]:
    """The summaries of the named runs (exact folder name, else a unique prefix, else a unique part of it,
    or a path to a run folder), then the ``last`` newest, in that order and without repeats.

    An unknown or ambiguous name raises :class:`UserInputError` listing the candidates.
    """
    if last is not None:
        check_count("last", last, unit="runs")
    base = runs_root(root)
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
            raise no_runs_error(base)
        chosen.extend(available[:last])
    unique: dict[Path, dict] = {}
    for run in chosen:
        unique.setdefault(Path(run["path"]).resolve(), run)
    return list(unique.values())
