"""Reading loosely typed JSON values from the vendors' answers: None for what does not fit."""

from __future__ import annotations

import json
import math


def parse_json(text: bytes | str) -> object:
    """Read a JSON document; raise ValueError for one that is not JSON or too deep to read.

    The parser raises RecursionError for an answer nested deeper than Python's stack (a few
    thousand ``[``): for a client that is an unreadable answer like any other.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def as_finite_float(value: object) -> float | None:
    """Return a number (or a numeric string) as a float; None for NaN, infinity or no number."""
    if isinstance(value, bool):
        return None
    number: float | None = None
    if isinstance(value, float):
        number = value
    elif isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:  # JSON has no limit on digits; a float has
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    # json.loads reads NaN and Infinity; neither is a current, an energy or a limit.
    return number if number is not None and math.isfinite(number) else None


def as_bool(value: object) -> bool | None:
    """Accept JSON booleans and the 0/1 form vendors also send (go-e's document: uint8_t)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None
