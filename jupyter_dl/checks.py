"""Checks of numeric options shared by the API and the learner (one message style for both)."""
from __future__ import annotations

from typing import Any

from .errors import UserInputError


def check_count(name: str, value: Any, *, minimum: int = 1) -> None:
    """``value`` must be a whole number >= ``minimum``; ``name`` is the option as the user typed it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
        raise UserInputError(f"{name} must be {wanted}, not {value!r}.")
