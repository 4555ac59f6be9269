"""The paragraph a run ends with: what was trained on what, how it ended, the numbers that matter.

Plain HTML + text (see :func:`jupyter_dl.ui.output.show_summary_text`), so it stays in the saved
notebook and shows without a kernel. The live views put it under their final rendering.
"""
from __future__ import annotations

from typing import Any

from ..dashboard.summary import ended_sentence, last_epoch_numbers
from ..data.decode_warnings import summary as decode_warnings_summary
from ..train.memory import CUDA_ALLOCATED
from ..ui.formatting import format_bytes
from ..ui.output import show_summary_text


def summary_text(learner: Any) -> str:
    """One paragraph about ``learner``'s last run (see the module docstring)."""
    config = learner.config
    head = (f"{config.get('arch', learner.bundle.arch)} on {config.get('data', 'data')} "
            f"({config.get('n_train', '?')} train / {config.get('n_valid', '?')} valid images, "
            f"{len(learner.classes)} classes, {learner.size}px, {config.get('device', '')})")
    # A failed run's error is on the view's status line already: the sentence only says it failed.
    parts = [f"{ended_sentence(learner.status, learner.history, stopped_at=learner.stopped_at)}: {head}."]
    if learner.history:
        parts.append(f"Last epoch: {last_epoch_numbers(learner.history[-1])}.")
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
    warned = learner.loaders.decode_warnings if learner.loaders is not None else []
    if warned:
        parts.append(decode_warnings_summary(warned))
    folder = f"; its run folder (log, best model) is {learner.run_dir}" if learner.run_dir else ""
    note = getattr(learner, "put_back_note", None)
    parts.append(note if note else f"The learner is in `{learner.name}`{folder}.")
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
    """Show :func:`summary_text` of ``learner`` as one jupyter_dl line."""
    show_summary_text(summary_text(learner))
