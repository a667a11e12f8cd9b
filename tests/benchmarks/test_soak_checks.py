"""The soak's own checks catch what they are for (each fed a case that must count)."""

from __future__ import annotations

import logging

from benchmarks.soakrun import (
    Commands,
    LogWatch,
    Plan,
    _ban_requests,
    _for_budget,
    _steady_rise,
    _without_setups,
    leaked,
)


def test_requests_after_a_ban_answered_count() -> None:
    """The first request a ban refuses tells us; each later one is a violation."""
    log = [
        [100.0, "state", "EH1", 200, "ok"],
        [200.0, "state", "EH1", 403, "banned"],
        [200.0, "config", "EH1", 403, "banned"],  # already on its way
        [260.0, "state", "EH1", 403, "banned"],
    ]
    assert _ban_requests(log) == 1
    assert _ban_requests(log[:3]) == 0


def test_a_ban_answer_nobody_heard_tells_nothing() -> None:
    """Requests after a ban's lost answer count only once an answer was heard.

    The soak's quick day met it: chaos lost the answer to the write that met the ban, and
    the client, knowing nothing of it, wrote again a minute later.
    """
    log = [
        [100.0, "circuit_write", "circuit_1", 403, "banned:answer_lost"],
        [160.0, "write", "EH1", 0, "chaos:timeout_unsent"],
        [220.0, "write", "EH2", 403, "banned"],
        [280.0, "write", "EH2", 403, "banned:answer_lost"],
        [340.0, "state", "EH1", 403, "banned"],
    ]
    assert _ban_requests(log[:3]) == 0
    assert _ban_requests(log) == 2


def test_the_soaks_faults_are_no_rate_limit_answers_for_budgets() -> None:
    log = [
        [100.0, "state", "EH1", 429, "chaos:http_429"],
        [200.0, "state", "EH1", 429, "rate_limited"],
        [300.0, "state", "EH1", 403, "banned"],
    ]
    assert [status for _, _, _, status, _ in _for_budget(log)] == [0, 429, 0]
    assert _without_setups(log, [95.0]) == log[1:]


def test_secrets_and_serials_are_found() -> None:
    assert leaked("token=abc123secret", {"abc123secret"}) == {"abc123secret"}
    assert leaked("serial 000001 here", {"000001"}) == {"000001"}
    # Digits inside a longer number are a timestamp's, not the serial.
    assert leaked("at 17000001.5", {"000001"}) == set()
    assert leaked("Bearer eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0", set()) == {"a JSON web token"}


def _boom() -> None:
    raise ValueError("boom")


def test_the_log_watch_counts_leaks_and_unhandled_exceptions() -> None:
    watch = LogWatch({"s3cret"})
    logger = logging.getLogger("soak.test")
    logger.addHandler(watch)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("sent with %s", "s3cret")
        logger.error("Task exception was never retrieved")
        try:
            _boom()
        except ValueError:
            logger.exception("oops")
    finally:
        logger.removeHandler(watch)
    assert sum(watch.leaks.values()) == 1
    assert len(watch.unhandled) == 2


def test_commands_end_by_an_event_or_a_newer_value() -> None:
    commands = Commands()
    commands.ask("number.a", "dev", 10)
    commands.ask("number.a", "dev", 12)  # replaces 10
    commands.ask("number.b", "dev", 16)
    commands.ask("number.c", "dev2", 20)
    commands.result({"device_id": "dev", "requested": 12, "result": "applied"})
    commands.result({"device_id": "dev", "requested": 16, "result": "failed", "will_retry": True})
    commands.result({"device_id": "dev2", "requested": [20, 8, 8], "result": "failed"})
    assert commands.applied == 1
    assert commands.failed == 1
    assert commands.superseded == 1
    assert commands.retries == 1
    assert commands.pending == {"number.b": 16}  # neither applied nor reported


def test_a_steady_rise_of_memory_is_flagged() -> None:
    rising = [(h * 3600.0, 100_000 + h * 2000) for h in range(24)]
    flat = [(h * 3600.0, 100_000 + (h % 2) * 500) for h in range(24)]
    assert _steady_rise(rising)["steady_rise"]
    assert not _steady_rise(flat)["steady_rise"]


def test_the_day_keeps_its_moments_when_shortened() -> None:
    day, quick = Plan.of(24), Plan.of(2)
    assert day.offline_for == 3600
    assert day.outage_for == 1800
    assert len(day.reloads) == 5
    assert len(day.bans) == 3
    assert quick.outage_at < quick.bans[0] < quick.seconds
