"""Checks of numeric options, one message style for every feature: "--bs must be a positive whole number, not 0.".

``name`` is always the option as the user typed it in the magic (``--bs``), so the sentence reads
right there; the Python API raises the same :class:`~jupyter_dl.errors.UserInputError`.
"""
from __future__ import annotations

import math
from typing import Any

from .errors import UserInputError


def check_count(name: str, value: Any, *, minimum: int = 1, maximum: int | None = None, unit: str = "",
                example: int | None = None) -> int:
    """``value`` must be a whole number from ``minimum`` (to ``maximum``); returns it.

    ``name`` is the option as the user typed it; ``unit`` ("pixels") and ``example`` make the
    sentence say what is wanted: "--size must be a whole number of pixels from 32 to 512 (e.g. 128), not 8."
    """
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or (maximum is not None and value > maximum)):
        of = f" of {unit}" if unit else ""
        if maximum is not None:
            wanted = f"a whole number{of} from {minimum} to {maximum}"
        elif minimum == 1:
            wanted = f"a positive whole number{of}"
        else:
            wanted = f"a whole number{of} >= {minimum}"
        hint = f" (e.g. {example})" if example is not None else ""
        raise UserInputError(f"{name} must be {wanted}{hint}, not {value!r}.")
    return value


def check_seconds(option: str, value: Any, *, minimum: float, maximum: float | None = None,
                  example: str) -> float:
    """``value`` as seconds (the magic passes the text as typed) within the limits, else one sentence.

    ``example`` is a good value to suggest (``"0.5"``).
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"{option} takes a number of seconds (e.g. {example}), not {value!r}.") from None
    if not math.isfinite(number) or number < minimum or (maximum is not None and number > maximum):
        limits = f"at least {minimum:g}" + (f" and at most {maximum:g}" if maximum is not None else "")
        raise UserInputError(f"{option} must be {limits} seconds (e.g. {example}), not {value}.")
    return number
