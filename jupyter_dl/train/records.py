"""Epoch records and the one rule for "better" and "best" (torch-free: %runs reads logs without torch).

An epoch record is the dict the Trainer (and the fastai bridge, and ``live()``) emits at EPOCH_END
and writes to the run log: ``epoch``, ``phase``, ``train_loss``, ``valid_loss``, one key per metric,
``seconds``, ``lr`` and the data-wait timings. Every place that asks "is this metric better when
higher?" or "which epoch is best?" asks here: the best-weights tracker, the live views, the run
summaries of ``%runs`` and ``compare_runs``, and the integrations' summary line.

- :func:`higher_is_better`: losses, error rates, perplexity and mae/mse/rmse-style errors go down;
  every other metric (accuracy, f1, ...) goes up.
- :func:`monitored_column`: what a run is judged by: its first metric, else the validation loss.
- :func:`find_best`: the first epoch with the best value of that column (ties keep the earliest,
  as the best-weights tracker does, since it keeps a new copy only on a strict improvement).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .timing import TIMING_KEYS

VALID_LOSS = "valid_loss"
# The keys of an epoch record that are not metrics (neither monitored nor drawn as metric curves).
NOT_METRICS = frozenset({"epoch", "phase", "train_loss", VALID_LOSS, "seconds", "lr", "time", *TIMING_KEYS})

# A column is lower-is-better when its name contains one of these words ...
_LOWER_WORDS = ("loss", "error", "perplexity")
# ... or has one of these as a whole word ("valid_mae", "rmse"), not inside another word ("nmse" aside).
_LOWER_TOKENS = frozenset({"mae", "mse", "rmse", "msle", "nll", "wer", "cer"})


class Best(NamedTuple):
    """The best epoch of a run by one column: which column, the epoch number, its value."""

    monitor: str
    epoch: Any
    value: float


def higher_is_better(column: str) -> bool:
    """Is a larger value of ``column`` better? (accuracy, f1: yes; any loss, error_rate, perplexity, mse: no)"""
    name = column.lower()
    if any(word in name for word in _LOWER_WORDS):
        return False
    return not _LOWER_TOKENS.intersection(re.split(r"[^a-z0-9]+", name))


def number(value: Any) -> float | None:
    """``value`` as a finite float (numpy and torch scalars too); None for anything else, bools included."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def is_better(value: Any, best: float | None, higher: bool) -> bool:
    """Is ``value`` a strict improvement on ``best`` (None: nothing yet)? NaN, inf and non-numbers never are."""
    value = number(value)
    if value is None:
        return False
    if best is None:
        return True
    return value > best if higher else value < best


def metric_columns(record: Mapping[str, Any]) -> list[str]:
    """The metric columns of one epoch record, in order (numeric values only)."""
    return [key for key, value in record.items() if key not in NOT_METRICS and number(value) is not None]


def monitored_column(records: Iterable[Mapping[str, Any]]) -> str:
    """The column a run is judged by: the first metric of its first record, else the validation loss."""
    for record in records:
        metrics = metric_columns(record)
        return metrics[0] if metrics else VALID_LOSS
    return VALID_LOSS


def find_best(records: Iterable[Mapping[str, Any]], monitor: str | None = None) -> Best | None:
    """The best epoch by ``monitor`` (default :func:`monitored_column`); None when no record has a value."""
    records = list(records)
    column = monitor or monitored_column(records)
    higher = higher_is_better(column)
    best: Best | None = None
    for record in records:
        if is_better(record.get(column), best.value if best else None, higher):
            best = Best(column, record.get("epoch"), float(record[column]))
    return best
