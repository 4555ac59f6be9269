"""The run log: every run writes its config and events to ``<runs_dir>/<stamp>-<name>/log.jsonl``.

A run folder holds up to three files, named here: ``log.jsonl`` (this log), ``model.jdl`` (the
best weights so far, in ``learn.export()``'s format) and ``resume.pt`` (where the run stands at its
last epoch end, for ``finetune(..., resume=RUN)``); the learner writes the other two.

One JSON object per line, ``{"event": kind, "time": unix seconds, ...data}``,
flushed line by line so a crash or a kernel restart loses at most the line being
written (a torn last line is skipped when reading). The first line is the
config. Per-batch events are not logged: the per-epoch records are the history.
Trainer runs also log where the time went (``data_wait_s``, ``compute_s``,
``data_wait_share`` per epoch and per fit) and each fit's peak memory (in
``fit_end``); :func:`run_resources` sums them up for a run.
"""
from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from ..paths import runs_dir
from .events import CHECKPOINT, EPOCH_END, ERROR, FIT_END, FIT_START, STOP, Event

LOG_NAME = "log.jsonl"
MODEL_NAME = "model.jdl"      # the best weights so far: load_learner(run folder) reads it
STATE_NAME = "resume.pt"      # weights, optimizer and schedule position at the last epoch end
CONFIG = "config"
RESUME = "resume"             # a resumed run goes on in its folder: {"epoch": epochs kept, ...}
LOGGED_KINDS = (FIT_START, EPOCH_END, CHECKPOINT, STOP, ERROR, FIT_END)


def json_safe(value: Any) -> Any:
    """A JSON-serializable version of ``value``: NaN/inf -> None, tensors -> numbers/lists, paths -> str,
    exceptions -> "Type: message", anything else -> its str()."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if hasattr(value, "tolist"):  # a numpy / torch scalar or small array
        numel = getattr(value, "numel", None)
        count = numel() if callable(numel) else getattr(value, "size", 1)
        if isinstance(count, int) and count <= 1000:
            try:
                return json_safe(value.tolist())
            except Exception:
                pass
    return str(value)


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return slug[:60] or "run"


class RunLog:
    """An event subscriber that appends the run's events to ``run_dir/log.jsonl``."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / LOG_NAME
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run's lifetime: close()

    @classmethod
    def start(cls, config: dict, name_hint: str = "run", root: str | Path | None = None) -> RunLog:
        """A new run folder ``<root or runs_dir()>/<YYYYmmdd-HHMMSS>-<name_hint>`` with the config as its first line."""
        base = Path(root) if root is not None else runs_dir()
        base.mkdir(parents=True, exist_ok=True)
        stem = f"{datetime.now():%Y%m%d-%H%M%S}-{_slug(name_hint)}"
        run_dir, n = base / stem, 1
        while True:  # two runs in the same second get -2, -3...; mkdir without exist_ok claims the name
            try:
                run_dir.mkdir()
                break
            except FileExistsError:
                n += 1
                run_dir = base / f"{stem}-{n}"
        log = cls(run_dir)
        log.write(CONFIG, **config)
        return log

    def __call__(self, event: Event) -> None:
        """Log ``event`` if it is of a logged kind (FIT_END without its history, logged epoch by epoch)."""
        if event.kind in LOGGED_KINDS:
            data = dict(event.data)
            if event.kind == FIT_END:
                data.pop("history", None)  # already logged epoch by epoch
            self.write(event.kind, **data)

    def write(self, kind: str, **data: Any) -> None:
        """Append the line ``{"event": kind, "time": now, **data}`` (JSON-safe) and flush it; nothing once closed."""
        if self._file.closed:
            return
        line = {"event": kind, "time": time.time()}
        line.update(json_safe(data))
        self._file.write(json.dumps(line, allow_nan=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the log file; writes after it are dropped."""
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunLog({str(self.run_dir)!r})"


def _log_path(path: str | Path) -> Path:
    path = Path(path)
    return path / LOG_NAME if path.is_dir() else path


def read_run(path: str | Path) -> dict:
    """A run's log (its folder or its log.jsonl) as {"config", "epochs", "events"}; torn lines are skipped.

    A ``resume`` line drops the epochs logged after the one the run went on from (an epoch whose
    saved state a kill lost is trained again, and counted once).
    """
    config: dict = {}
    epochs: list[dict] = []
    events: list[dict] = []
    with open(_log_path(path), encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(entry, dict):
                continue
            events.append(entry)
            kind = entry.get("event")
            if kind == CONFIG and not config:
                config = {k: v for k, v in entry.items() if k not in ("event", "time")}
            elif kind == EPOCH_END:
                epochs.append({k: v for k, v in entry.items() if k not in ("event", "time")})
            elif kind == RESUME and isinstance(entry.get("epoch"), int):
                epochs = [e for e in epochs if not (isinstance(e.get("epoch"), int) and e["epoch"] > entry["epoch"])]
    return {"config": config, "epochs": epochs, "events": events}


def run_resources(events: list[dict]) -> dict:
    """A run's data-wait share over all its fits and its largest fit peak memory, from its fit_end lines.

    {"data_wait_share": 0..1 or None, "peak_memory": bytes or None, "peak_memory_kind", "memory_total"};
    None where the log has no such numbers (an older log, a fastai or live() run).
    """
    ends = [e for e in events if e.get("event") == FIT_END]
    wait = sum(e["data_wait_s"] for e in ends if _is_number(e.get("data_wait_s")))
    compute = sum(e["compute_s"] for e in ends if _is_number(e.get("compute_s")))
    peaks = [e for e in ends if _is_number(e.get("peak_memory"))]
    peak = max(peaks, key=lambda e: e["peak_memory"]) if peaks else {}
    return {"data_wait_share": wait / (wait + compute) if wait + compute > 0 else None,
            "peak_memory": peak.get("peak_memory"), "peak_memory_kind": peak.get("peak_memory_kind"),
            "memory_total": peak.get("memory_total")}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def list_runs(root: str | Path | None = None) -> list[dict]:
    """Summaries of the runs under ``root`` (default ``runs_dir()``), oldest first.

    Each: {"name", "path", "started" (unix seconds or None), "config", "n_epochs",
    "status" (the last fit_end's, else "incomplete"), "last" (last epoch record or None)},
    and the :func:`run_resources` keys (data_wait_share, peak_memory...).
    """
    base = Path(root) if root is not None else runs_dir()
    if not base.is_dir():
        return []
    runs = []
    for run_dir in sorted(p for p in base.iterdir() if (p / LOG_NAME).is_file()):
        run = read_run(run_dir)
        ends = [e for e in run["events"] if e.get("event") == FIT_END]
        first = run["events"][0] if run["events"] else {}
        runs.append({
            "name": run_dir.name,
            "path": run_dir,
            "started": first.get("time"),
            "config": run["config"],
            "n_epochs": len(run["epochs"]),
            "status": ends[-1].get("status") if ends else "incomplete",
            "last": run["epochs"][-1] if run["epochs"] else None,
            **run_resources(run["events"]),
        })
    runs.sort(key=lambda r: (r["started"] or 0.0, r["name"]))  # "-10" would sort before "-2" by name alone
    return runs
