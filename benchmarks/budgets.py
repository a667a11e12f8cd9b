"""The vendors' request budgets, checked against what the simulators received."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any, Final

DAY: Final = 86400.0
# go-e, per charger: a status token bucket (2 at once, one per 15 minutes), commands 15 min apart.
GOE_STATUS_BURST: Final = 2
GOE_INTERVAL: Final = 900.0
# Easee, per account: the integration's own promise, at most 100 requests in any 5 minutes.
EASEE_WINDOW: Final = 300.0
EASEE_WINDOW_LIMIT: Final = 100
EASEE_CONFIG_INTERVAL: Final = 900.0
EASEE_STRUCTURE_INTERVAL: Final = 6 * 3600.0
EASEE_STRUCTURE: Final = frozenset({"chargers", "accounts_products", "sites"})
EASEE_SITE_DETAILS_PER_HOUR: Final = 10
# Both charge plans are read every 15 minutes.
EASEE_PLANS: Final = ("basic_charge_plan", "weekly_charge_plan")
# ViriCiti, per group: group every 15 min, group limit every 5 min plus a few reads at the
# moments the limit changes, time series every 5 min, an external limit at most every 5 min.
VIRICITI_GROUP_INTERVAL: Final = 900.0
VIRICITI_LIMIT_INTERVAL: Final = 300.0
VIRICITI_EXTRA_LIMIT_READS_PER_DAY: Final = 8
VIRICITI_POST_SPACING: Final = 300.0
# Our clock and the simulator's are the same; a little room for float sums.
SLACK: Final = 1e-3

type Logged = Sequence[Any]  # (time, endpoint, key, HTTP status, result)


def _by_key(logged: Iterable[Logged], endpoint: str) -> dict[str, list[float]]:
    times: defaultdict[str, list[float]] = defaultdict(list)
    for moment, name, key, *_ in logged:
        if name == endpoint:
            times[key].append(float(moment))
    return {key: sorted(values) for key, values in times.items()}


def _min_gap(times: Sequence[float]) -> float | None:
    gaps = [later - earlier for earlier, later in pairwise(times)]
    return min(gaps) if gaps else None


def _bucket_overdrawn(
    times: Sequence[float], capacity: float, interval: float, full_at: float
) -> bool:
    tokens, at = capacity, full_at
    for moment in times:
        tokens = min(capacity, tokens + max(0.0, moment - at) / interval)
        at = max(at, moment)
        if tokens < 1 - SLACK:
            return True
        tokens -= 1
    return False


def _max_in_window(times: Sequence[float], window: float) -> int:
    most, first = 0, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - window:
            first += 1
        most = max(most, last - first + 1)
    return most


class _Report:
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
        times = _by_key(self.logged, name)
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
        refusals = sum(
            1
            for moment, _name, _key, status, result in self.logged
            if status in statuses or result in results
        )
        if refusals:
            self.violations.append(f"{refusals} rate-limit answers from the simulator")
        return refusals

    def at_most(self, what: str, count: int, limit: float) -> None:
        if count > limit + SLACK:
            self.violations.append(f"{what}: {count}, allowed {limit:.0f}")

    def as_dict(self, **extra: object) -> dict[str, Any]:
        return {"endpoints": self.endpoints, "violations": self.violations, **extra}


def _goe(
    logged: Sequence[Logged], chargers: int, started: float, start: float, end: float
) -> dict[str, Any]:
    report = _Report(logged, start, end)
    status = report.endpoint("api_status", chargers, GOE_INTERVAL, GOE_STATUS_BURST)
    commands = report.endpoint("api_command", chargers, GOE_INTERVAL, 1)
    refusals = report.rate_limited((429,), ("rate limiting", "rate_limiting"))
    for serial, times in status.items():
        if _bucket_overdrawn(times, GOE_STATUS_BURST, GOE_INTERVAL, started):
            report.violations.append(f"go-e {serial}: status reads beyond the token bucket")
    for serial, times in commands.items():
        if (gap := _min_gap(times)) is not None and gap < GOE_INTERVAL - SLACK:
            report.violations.append(f"go-e {serial}: two commands {gap:.0f} s apart")
    return report.as_dict(rate_limited=refusals)


def _easee(
    logged: Sequence[Logged],
    chargers: int,
    circuits: int,
    started: float,
    start: float,
    end: float,
    state_interval: float,
) -> dict[str, Any]:
    report = _Report(logged, start, end)
    elapsed = max(0.0, end - started)
    every = sorted(float(item[0]) for item in logged)
    busiest = _max_in_window(every, EASEE_WINDOW)
    report.at_most("requests of the account in 5 minutes", busiest, EASEE_WINDOW_LIMIT)
    # Chargers of a readable site are read by their site's state, the others one by one.
    for name in ("state", "site_state"):
        keys = chargers if name == "state" else 0
        for key, times in report.endpoint(name, keys, state_interval, 1).items():
            if (gap := _min_gap(times)) is not None and gap < state_interval - SLACK:
                report.violations.append(f"Easee {key}: {name} read twice within {gap:.0f} s")
    for site, times in _by_key(logged, "sites").items():
        # Easee allows a site's details about 10 times an hour.
        if _max_in_window(times, 3600.0) > EASEE_SITE_DETAILS_PER_HOUR:
            report.violations.append(f"Easee {site}: details read over 10 times in an hour")
    for name in ("config", *EASEE_PLANS):
        for charger, times in report.endpoint(name, chargers, EASEE_CONFIG_INTERVAL, 1).items():
            report.at_most(
                f"Easee {charger} {name}", len(times), elapsed / EASEE_CONFIG_INTERVAL + 2
            )
    for circuit, times in report.endpoint(
        "circuit_settings", circuits, EASEE_CONFIG_INTERVAL, 1
    ).items():
        report.at_most(f"Easee {circuit} settings", len(times), elapsed / EASEE_CONFIG_INTERVAL + 2)
    names = {str(item[1]) for item in logged}
    for name in sorted(names & EASEE_STRUCTURE):
        for times in report.endpoint(name, 1, None, note="per account").values():
            report.at_most(f"Easee {name}", len(times), elapsed / EASEE_STRUCTURE_INTERVAL + 2)
    for name in sorted(
        names
        - EASEE_STRUCTURE
        - {"state", "site_state", "config", *EASEE_PLANS, "circuit_settings"}
    ):
        report.endpoint(name, 1, None, note="" if name.startswith("write") else "per account")
    refusals = report.rate_limited((429, 403), ())
    return report.as_dict(rate_limited=refusals, busiest_5_min=busiest)


def _viriciti(
    logged: Sequence[Logged], groups: int, started: float, start: float, end: float
) -> dict[str, Any]:
    report = _Report(logged, start, end)
    elapsed = max(0.0, end - started)
    extra = max(4.0, VIRICITI_EXTRA_LIMIT_READS_PER_DAY * report.days)
    for group, times in report.endpoint("chargergroup", groups, VIRICITI_GROUP_INTERVAL, 1).items():
        report.at_most(f"ViriCiti {group} group", len(times), elapsed / VIRICITI_GROUP_INTERVAL + 2)
    for group, times in report.endpoint(
        "grouplimit",
        groups,
        VIRICITI_LIMIT_INTERVAL,
        1 + extra,
        "plus a read when the limit changes",
    ).items():
        report.at_most(
            f"ViriCiti {group} group limit",
            len(times),
            elapsed / VIRICITI_LIMIT_INTERVAL + 2 + extra,
        )
    for group, times in report.endpoint("time", groups, VIRICITI_LIMIT_INTERVAL, 1).items():
        report.at_most(
            f"ViriCiti {group} time series", len(times), elapsed / VIRICITI_LIMIT_INTERVAL + 2
        )
    for group, times in report.endpoint(
        "grouplimit_post", groups, VIRICITI_POST_SPACING, 1
    ).items():
        if (gap := _min_gap(times)) is not None and gap < VIRICITI_POST_SPACING - SLACK:
            report.violations.append(f"ViriCiti {group}: two limits {gap:.0f} s apart")
    refusals = report.rate_limited((429,), ())
    return report.as_dict(rate_limited=refusals)


def check_requests(
    logged: Mapping[str, Sequence[Logged]],
    *,
    chargers: Mapping[str, int],
    circuits: int,
    started: float,
    day_start: float,
    day_end: float,
    easee_state_interval: float,
) -> dict[str, Any]:
    """Count every vendor's requests per endpoint and key; list every budget broken."""
    return {
        "goe": _goe(logged["goe"], chargers["goe"], started, day_start, day_end),
        "easee": _easee(
            logged["easee"],
            chargers["easee"],
            circuits,
            started,
            day_start,
            day_end,
            easee_state_interval,
        ),
        "viriciti": _viriciti(
            logged["viriciti"], chargers["viriciti"], started, day_start, day_end
        ),
    }
