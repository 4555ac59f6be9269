"""How numbers and text read, in one place, so every view says the same thing.

Durations read as fastai shows them (``01:05``, ``1:02:03``). Memory is counted in binary units
and labelled "GB"/"MB", as nvidia-smi's MiB figures, ``torch.cuda.memory_summary`` and most
system monitors do: a 16 GiB card reads "16.0 GB", not "17.2 GB". The JupyterLab status bar (js/)
formats the same way ("GPU 87% · 11.2/16.0 GB").
"""
from __future__ import annotations

GB = 1024 ** 3
MB = 1024 ** 2
DASH = "\u2013"  # shown for a number the device did not report


def gb(n_bytes: float) -> float:
    """Bytes in (binary) gigabytes."""
    return n_bytes / GB


def format_gb(n_bytes: float) -> str:
    """``11.2 GB``."""
    return f"{gb(n_bytes):.1f} GB"


def format_used_total(used: float, total: float) -> str:
    """``11.2/16.0 GB``: both with one decimal, the unit once."""
    return f"{gb(used):.1f}/{gb(total):.1f} GB"


def format_bytes(n_bytes: float | None) -> str:
    """A size that may be small (a process, an allocator): ``350 MB`` below 1 GB, else ``1.3 GB``."""
    if n_bytes is None:
        return DASH
    if n_bytes >= GB:
        return format_gb(n_bytes)
    return f"{n_bytes / MB:.0f} MB"


def format_percent(value: float | None) -> str:
    """``87%``, or a dash when unknown."""
    return DASH if value is None else f"{value:.0f}%"


def share(used: float, total: float) -> float | None:
    """``used`` as a percentage of ``total`` (None when the total is unknown)."""
    return 100.0 * used / total if total else None


def format_duration(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from an hour on (negative counts as zero)."""
    seconds = int(round(max(seconds, 0)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line (whitespace runs folded), cut with an ellipsis past ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


def about_seconds(seconds: float) -> str:
    """A duration in words for estimates: ``9 s``, ``2 min 5 s`` (under 10 min), ``14 min``, ``1 h 5 min``."""
    seconds = int(round(max(seconds, 0)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
