"""Which live view a training run gets."""
from __future__ import annotations

from typing import Any, Callable

from .progress import ProgressView


def make_training_view(*, total_epochs: int | None, title: str = "", quiet: bool = False,
                       mode: str = "foreground", on_stop: Callable[[str], None] | None = None) -> Any:
    """The progress display for a run; None when ``quiet``."""
    if quiet:
        return None
    return ProgressView(total_epochs=total_epochs)
