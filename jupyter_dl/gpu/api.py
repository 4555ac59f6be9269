"""The Python API behind ``%gpu``: :func:`gpu_monitor` and :func:`stop_gpu_monitor`.

``%gpu --interval 0.5 --history 120`` is exactly ``gpu_monitor(interval=0.5, history=120)``.
Never imports torch: the sampler reads torch's memory numbers only when torch is already in use.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

from ..checks import check_seconds

# The sampler's floor (faster readings cost more than they show) and the ten minutes it keeps.
from ..monitor.sampler import HISTORY_SECONDS as MAX_HISTORY
from ..monitor.sampler import MIN_INTERVAL

MIN_HISTORY = 10.0


def _current_sample(sampler: Any):
    """A fresh reading: the running sampler's latest one, else one taken now."""
    latest = sampler.latest if sampler.running else None
    if latest is not None and time.time() - latest.time <= 2 * sampler.interval + 1:
        return latest
    return sampler.sample_now()


def gpu_monitor(interval: float = 1.0, once: bool = False, history: float = 300.0):
    """Show what the GPUs (or, without one, the CPU and RAM) are doing.

    Live (default): a widget with a card per GPU (utilisation, memory used/total, temperature,
    power, this kernel's share), torch's own memory numbers when torch uses a device, CPU and RAM
    cards, and a chart of the last ``history`` seconds, updated every ``interval`` seconds. It stops
    when its output is cleared or closed, its widget closes, ``.stop()`` is called, or a newer
    monitor starts; returns the :class:`~jupyter_dl.gpu.widget.GpuMonitor`.

    ``once=True``, or where widgets cannot show (terminal IPython, nbconvert, ``JUPYTER_DL_WIDGETS=0``):
    one static table of the current numbers (HTML and text); returns None.
    """
    interval = check_seconds("--interval", interval, minimum=MIN_INTERVAL, example="0.5")
    history = check_seconds("--history", history, minimum=MIN_HISTORY, maximum=MAX_HISTORY, example="300")
    from ..monitor.sampler import get_sampler
    from ..ui import frontend
    from . import cards as gpu_cards

    sampler = get_sampler()
    if once or not frontend.widgets_available():
        note = "" if once else "a static reading: live updates need a Jupyter widget front end"
        gpu_cards.show_static(_current_sample(sampler), note=note)
        return None
    from .widget import GpuMonitor

    try:
        monitor = GpuMonitor(interval=interval, history_seconds=history, sampler=sampler)
    except Exception as exc:  # never fail for lack of widgets: the table says the same, once
        warnings.warn(f"jupyter_dl: the live GPU monitor is not available ({exc!r}); showing a static table.",
                      stacklevel=2)
        gpu_cards.show_static(_current_sample(sampler))
        return None
    return monitor.start()


def stop_gpu_monitor() -> bool:
    """Stop this kernel's live monitor (``%gpu --stop``); False when none was running."""
    from .widget import stop_active

    return stop_active("stopped by %gpu --stop")
