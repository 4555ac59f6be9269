"""The sentences every run ends with, whoever trained it (``%finetune``, fastai, your own loop).

"Finished 4 epochs in 00:12." / "Stopped at epoch 2, batch 13 after 1 full epochs." / "Failed after
2 epochs: ...", then "Last epoch: valid_loss 0.2100, accuracy 0.9500." The best epoch is
:mod:`jupyter_dl.train.records`' rule.
"""
from __future__ import annotations

from ..train.records import NOT_METRICS, VALID_LOSS, find_best
from ..ui.formatting import format_duration


def ended_sentence(status: str, history: list[dict], *, stopped_at: str | None = None,
                   error: str | None = None) -> str:
    """How the run ended, without the final stop: "Finished 3 epochs in 00:06", "Stopped at ... after 2 full epochs"."""
    n = len(history)
    epochs = f"{n} epoch{'s' if n != 1 else ''}"
    if status == "finished":
        seconds = sum(row.get("seconds") or 0.0 for row in history)
        return f"Finished {epochs} in {format_duration(seconds)}"
    if status in ("stopped", "interrupted"):
        return f"{status.capitalize()}{' at ' + stopped_at if stopped_at else ''} after {n} full epochs"
    if status == "failed":
        return f"Failed after {epochs}{': ' + error if error else ''}"
    return f"Ended ({status}) after {epochs}"


def last_epoch_numbers(record: dict) -> str:
    """"valid_loss 0.2100, accuracy 0.9500": an epoch record's validation loss and metrics."""
    return ", ".join(f"{k} {v:.4f}" for k, v in record.items()
                     if isinstance(v, float) and (k not in NOT_METRICS or k == VALID_LOSS))


def summary_line(status: str, history: list[dict], *, what: str = "",
                 stopped_at: str | None = None, error: str | None = None) -> str:
    """E.g. "Finished 4 epochs in 00:12. Last epoch: valid_loss 0.21, accuracy 0.95. Best accuracy 0.95 at epoch 4."."""
    parts = [ended_sentence(status, history, stopped_at=stopped_at, error=error)
             + (f" ({what})" if what else "") + "."]
    if history:
        numbers = last_epoch_numbers(history[-1])
        if numbers:
            parts.append(f"Last epoch: {numbers}.")
    best = find_best(history)
    if best is not None and len(history) > 1:
        parts.append(f"Best {best.monitor} {best.value:.4f} at epoch {best.epoch}.")
    return " ".join(parts)
