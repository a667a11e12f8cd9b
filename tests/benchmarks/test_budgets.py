"""The benchmark's budget checks: a request log beyond a vendor's budget must fail the run."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.budgets import check_requests
from benchmarks.scale import problems, targets

START = 1_800_000_000.0
DAY = 86_400.0
QUARTER = 900.0


def _check(
    goe: list[tuple[Any, ...]] | None = None,
    easee: list[tuple[Any, ...]] | None = None,
    viriciti: list[tuple[Any, ...]] | None = None,
) -> dict[str, Any]:
    return check_requests(
        {"goe": goe or [], "easee": easee or [], "viriciti": viriciti or []},
        chargers={"goe": 2, "easee": 1, "viriciti": 1},
        started=START,
        day_start=START,
        day_end=START + DAY,
    )


def _status_reads(serial: str, times: list[float]) -> list[tuple[Any, ...]]:
    return [(START + moment, "api_status", serial, 200, "ok") for moment in times]


def test_go_e_reads_every_fifteen_minutes_keep_the_budget() -> None:
    """A burst of two at the start and then one read per quarter is what the budget allows."""
    reads = _status_reads("000001", [0.0, 1.0, *(QUARTER * n for n in range(2, 96))])
    report = _check(goe=reads)["goe"]
    assert report["violations"] == []
    assert report["endpoints"]["api_status"]["per_key_per_day_max"] == 96


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        (_status_reads("000001", [0.0, 1.0, 2.0]), "beyond the token bucket"),
        (
            [
                (START, "api_command", "000001", 200, "ok"),
                (START + 600, "api_command", "000001", 200, "ok"),
            ],
            "two commands 600 s apart",
        ),
        ([(START, "api_status", "000001", 200, "rate limiting")], "rate-limit answers"),
        ([(START, "api_status", "000001", 429, "")], "rate-limit answers"),
    ],
    ids=["third read at once", "commands too close", "rate limiting answer", "HTTP 429"],
)
def test_go_e_beyond_the_budget_is_a_violation(log: list[tuple[Any, ...]], expected: str) -> None:
    """Each way of breaking go-e's limits is named, and only the charger that broke them."""
    violations = _check(goe=log)["goe"]["violations"]
    assert len(violations) == 1
    assert expected in violations[0]


def test_easee_too_many_requests_in_five_minutes() -> None:
    """101 requests of one account within 5 minutes break the integration's promise of 100."""
    log = [(START + moment, "state", f"EH{moment:04d}", 200, "ok") for moment in range(101)]
    violations = _check(easee=log)["easee"]["violations"]
    assert any("in 5 minutes: 101, allowed 100" in violation for violation in violations)


def test_easee_state_twice_within_its_interval() -> None:
    """A charger's state read twice within the state interval is a violation."""
    log = [(START, "state", "EH0001", 200, "ok"), (START + 30, "state", "EH0001", 200, "ok")]
    violations = _check(easee=log)["easee"]["violations"]
    assert violations == ["Easee EH0001: state read twice within 30 s"]


def test_easee_site_state_twice_within_its_interval() -> None:
    """A site's state (all its chargers) read twice within the state interval is a violation."""
    log = [
        (START, "site_state", "site_1", 200, "ok"),
        (START + 59, "site_state", "site_1", 200, "ok"),
        (START + 30, "site_state", "site_2", 200, "ok"),
    ]
    violations = _check(easee=log)["easee"]["violations"]
    assert violations == ["Easee site_1: site_state read twice within 59 s"]


def test_easee_site_details_over_ten_times_an_hour() -> None:
    """Easee allows a site's details about 10 times an hour: an 11th within the hour breaks it."""
    log = [(START + 300 * index, "sites", "site_1", 200, "ok") for index in range(11)]
    too_many = "Easee site_1: details read over 10 times in an hour"
    assert too_many not in _check(easee=log[:10])["easee"]["violations"]
    assert too_many in _check(easee=log)["easee"]["violations"]
    # Spread over more than an hour, 11 are within Easee's limit (if not within our own).
    later = [*log[:10], (START + 3600 + 1, "sites", "site_1", 200, "ok")]
    assert too_many not in _check(easee=later)["easee"]["violations"]


def test_viriciti_two_limits_within_five_minutes() -> None:
    """Two external limits 200 s apart break the 5-minute spacing."""
    log = [
        (START, "grouplimit_post", "depot", 200, "ok"),
        (START + 200, "grouplimit_post", "depot", 200, "ok"),
    ]
    violations = _check(viriciti=log)["viriciti"]["violations"]
    assert violations == ["ViriCiti depot: two limits 200 s apart"]


def _result(
    requests: dict[str, Any],
    *,
    kb: float = 120.0,
    cpu: float = 1.0,
    chargers: int = 5000,
    layout: str | None = None,
) -> dict[str, Any]:
    return {
        "scenario": {"goe": chargers, "layout": layout},
        "requests": requests,
        "setup": {
            "goe": {
                "wall_s": 30.0,
                "kb_per_charger": kb,
                "own_kb_per_charger": 4.0,
                "without_state": 0,
                "entries_not_loaded": [],
            }
        },
        "goe_cycles": [{"cpu_s": cpu, "writes_unchanged": 0}],
        "day": {"writes_unchanged": 0},
        "latency_ms": {"goe": {"p99": 10.0}},
        "loop_errors": [],
    }


def test_a_violation_fails_the_run_and_the_targets() -> None:
    """The run's problems list every violation; the targets say which one missed."""
    broken = _check(goe=_status_reads("000001", [0.0, 1.0, 2.0]))
    result = _result(broken, kb=131.0)
    assert problems(result) == [
        "goe: go-e 000001: status reads beyond the token bucket",
    ]
    checked = targets([result])
    assert checked["requests_within_budgets"]["holds"] is False
    assert checked["at_most_130_kb_per_charger"]["holds"] is False
    assert checked["read_at_most_0_3_ms_cpu"] == {"value": 0.2, "holds": True}
    assert checked["own_at_most_5_kb_per_charger"]["holds"] is True

    assert problems(_result(_check())) == []
    assert targets([_result(_check())])["requests_within_budgets"]["holds"] is True


def test_targets_are_measured_on_the_vendors_own_layout() -> None:
    """A larger fleet in another layout (one entry per charger) is for comparison only."""
    own = _result(_check(), cpu=1.0, chargers=5000)
    other = _result(_check(), cpu=9.0, chargers=6000, layout="entry_per_charger")
    checked = targets([own, other])
    assert checked["measured_on_goe_chargers"] == 5000
    assert checked["read_at_most_0_3_ms_cpu"]["holds"] is True
    # Too slow a read misses it.
    assert targets([_result(_check(), cpu=1.6)])["read_at_most_0_3_ms_cpu"]["holds"] is False
    # Below the target's size, the scale targets do not apply.
    assert targets([_result(_check(), chargers=1000)])["setup_under_60_s"]["holds"] is None


def test_entities_home_assistant_refused_fail_the_run() -> None:
    """Beyond 10,000 enabled entities in one config entry Home Assistant adds no more."""
    result = _result(_check())
    result["warnings"] = {
        "WARNING homeassistant.components.sensor: Reached the maximum of %s enabled entities "
        "for config entry %s; not adding more entities": 1
    }
    (problem,) = problems(result)
    assert problem.startswith("Home Assistant refused entities: ")
