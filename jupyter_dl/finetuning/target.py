"""The notebook variable a run fills (``learn``, or ``--as NAME``), and what it held before.

``%finetune`` stores the new learner before training, so that an error or an interrupt mid-run
never loses weights that were trained. But a run that ends before its first epoch completes has
trained nothing: then the variable gets its previous value back (often a learner trained
minutes earlier), and one sentence says so.
"""
from __future__ import annotations

from typing import Any

from ..ui.formatting import one_line

_MISSING = object()


class Target:
    """A variable in ``namespace``: the learner goes in with :meth:`store`, and :meth:`put_back` undoes it."""

    def __init__(self, namespace: dict[str, Any], name: str) -> None:
        self.namespace = namespace
        self.name = name
        self.previous = namespace.get(name, _MISSING)

    def store(self, learner: Any) -> None:
        """Put ``learner`` in the variable."""
        self.namespace[self.name] = learner

    def put_back(self, learner: Any) -> str | None:
        """Give the variable its previous value again, unless it no longer holds ``learner``; the sentence."""
        if self.namespace.get(self.name, _MISSING) is not learner:
            return None  # the user has put something else there meanwhile: leave it
        if self.previous is _MISSING:
            del self.namespace[self.name]
            return f"No epoch finished, so `{self.name}` was not created."
        self.namespace[self.name] = self.previous
        shown = one_line(repr(self.previous), 100)
        return f"No epoch finished, so `{self.name}` holds its previous value again: {shown}."

    @staticmethod
    def failure_clause(name: str, what: str, *, put_back: bool) -> str:
        """How an error's sentence ends: what the user still has after ``what`` failed."""
        if put_back:
            return f"no epoch finished, so `{name}` gets its previous value back"
        return f"`{name}` keeps the weights it had before the {what} and is still usable"
