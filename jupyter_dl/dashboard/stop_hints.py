"""How to stop a foreground run where no button can interrupt the kernel: one sentence per front end.

The Stop control's front end (``stop_control.js``) shows these when the page has no API to interrupt
the kernel (Colab, VS Code); the view without widgets shows the same sentence under its progress line.
The kernel's interrupt stops training cleanly at the next batch in every front end.
"""
from __future__ import annotations

from ..ui.frontend import COLAB, JUPYTER, VSCODE

STOP_HINTS = {
    COLAB: "To stop: Runtime > Interrupt execution (Ctrl+M I; \u2318+M I on a Mac). "
           "Training stops at the next batch and keeps the best weights.",
    VSCODE: "To stop: the Interrupt button (\u25a0) at the top of the notebook. "
            "Training stops at the next batch and keeps the best weights.",
    JUPYTER: "To stop: interrupt the kernel (\u25a0 in the toolbar, or I I in command mode). "
             "Training stops at the next batch and keeps the best weights.",
}


def stop_hint(frontend: str | None) -> str:
    """The sentence for ``frontend`` ("colab", "vscode", "jupyter"); the Jupyter one for anything else."""
    return STOP_HINTS.get(frontend or "", STOP_HINTS[JUPYTER])
