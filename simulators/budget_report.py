"""The benchmark's budget report: a vendor's request log counted against its limits.

Each vendor's `budget` hook (in `simulators/<vendor>_vendor.py`) builds one from what its
simulator received during a `scripts/bench` run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any, Final

DAY: Final = 86400.0
# Our clock and the simulator's are the same; a little room for float sums.
SLACK: Final = 1e-3

type Logged = Sequence[Any]  # (time, endpoint, key, HTTP status, result)


def by_key(logged: Iterable[Logged], endpoint: str) -> dict[str, list[float]]:
    """Return the times of one endpoint's requests, sorted, per key."""
    times: defaultdict[str, list[float]] = defaultdict(list)
    for moment, name, key, *_ in logged:
        if name == endpoint:
            times[key].append(float(moment))
    return {key: sorted(values) for key, values in times.items()}


def min_gap(times: Sequence[float]) -> float | None:
    """Return the shortest time between two requests (None: fewer than two)."""
    gaps = [later - earlier for earlier, later in pairwise(times)]
    return min(gaps) if gaps else None


def bucket_overdrawn(
    times: Sequence[float], capacity: float, interval: float, full_at: float
) -> bool:
    """Return whether the requests overdraw a token bucket (one token back per interval)."""
    tokens, at = capacity, full_at
    for moment in times:
        tokens = min(capacity, tokens + max(0.0, moment - at) / interval)
        at = max(at, moment)
        if tokens < 1 - SLACK:
            return True
        tokens -= 1
    return False


def max_in_window(times: Sequence[float], window: float) -> int:
    """Return the most requests within any window of that length."""
    most, first = 0, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - window:
            first += 1
        most = max(most, last - first + 1)
    return most


class Report:
    """One vendor's requests per endpoint and key, and every budget they broke."""

    def __init__(self, logged: Sequence[Logged], day_start: float, day_end: float) -> None:
        self.logged = logged
        self.day_start = day_start
        self.day_end = day_end
        self.days = max(1e-9, (day_end - day_start) / DAY)
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.violations: list[str] = []

    def endpoint(
        self, name: str, keys: int, interval: float | None, extra: float = 0.0, note: str = ""
    ) -> dict[str, list[float]]:
        """Count one endpoint per key in the travelled day, against one read per ``interval``.

        ``extra``: reads allowed on top (a burst, a read at set-up, reads when a limit changes).
        """
        times = by_key(self.logged, name)
        counts = [
            sum(1 for moment in values if self.day_start <= moment <= self.day_end)
            for values in times.values()
        ]
        counts += [0] * max(0, keys - len(counts))
        most = max(counts, default=0)
        self.endpoints[name] = {
            "total": sum(len(values) for values in times.values()),
            "per_key_per_day_mean": sum(counts) / max(1, keys) / self.days,
            "per_key_per_day_max": most / self.days,
            # The burst counts once per run: over a short run it is a bigger share of a day.
            "budget_per_key_per_day": None
            if interval is None
            else DAY / interval + extra / self.days,
            "note": note,
        }
        if interval is not None:
            allowed = self.days * DAY / interval + extra
            if most > allowed + SLACK:
                self.violations.append(
                    f"{name}: {most} requests for one key in the travelled day, "
                    f"allowed {allowed:.1f}"
                )
        return times

    def rate_limited(self, statuses: Iterable[int], results: Iterable[str]) -> int:
        """Count the answers that refused a request for its rate; any is a violation."""
        refusals = sum(
            1
            for moment, _name, _key, status, result in self.logged
            if status in statuses or result in results
        )
        if refusals:
            self.violations.append(f"{refusals} rate-limit answers from the simulator")
        return refusals

    def at_most(self, what: str, count: int, limit: float) -> None:
        """Note a violation when count is above limit."""
        if count > limit + SLACK:
            self.violations.append(f"{what}: {count}, allowed {limit:.0f}")

    def as_dict(self, **extra: object) -> dict[str, Any]:
        """Return the report as results.json keeps it."""
        return {"endpoints": self.endpoints, "violations": self.violations, **extra}
