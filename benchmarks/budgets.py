"""The vendors' request budgets, checked against what the simulators received."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simulators import VENDORS, Logged


def check_requests(
    logged: Mapping[str, Sequence[Logged]],
    *,
    chargers: Mapping[str, int],
    started: float,
    day_start: float,
    day_end: float,
) -> dict[str, Any]:
    """Count every vendor's requests per endpoint and key; list every budget broken.

    ``chargers``: how many chargers (or groups) each vendor's fleet holds.
    """
    return {
        key: vendor.bench.budget(logged[key], chargers[key], started, day_start, day_end)
        for key, vendor in VENDORS.items()
    }
