"""The ViriCiti Smart Charging simulator, exercised over real HTTP on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
import http.client
import json
import os
from pathlib import Path
import select
import signal
import socket
import subprocess
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from simulators.__main__ import build_parser, main
from simulators.viriciti import (
    DEMO_GROUP,
    DEMO_KEY,
    HISTORY_SECONDS,
    ViricitiSimulator,
    ViricitiTimeframeSim,
    add_demo,
    allocate,
    check_cron,
    limit_time,
    make_demands,
    make_timeframe,
    parse_end_time,
    parse_group_spec,
    parse_key_spec,
    parse_station_spec,
    parse_timeframe_spec,
    series_time,
    zone_of,
)
from simulators.viriciti_vendor import (
    build_simulator as build_viriciti_simulator,
    serve as serve_viriciti,
)
from tests.conftest import RUNTIME_SECRETS

KEY = "vc-test-key-4f1d9a7c2b6e"
OTHER_KEY = "vc-other-key-8e2c5b1a9d3f"
GROUP = "ViriCitiGroup"
OTHER_GROUP = "OtherGroup"
AMS = ZoneInfo("Europe/Amsterdam")
PREFIX = "/api/v1/smartcharging"
REPO = Path(__file__).resolve().parents[2]
DAY = 86400.0
EVERY_DAY = "0,1,2,3,4,5,6"
EVENING = {
    "name": "16:00-00:00",
    "start": f"0 16 * * {EVERY_DAY}",
    "end": f"0 0 * * {EVERY_DAY}",
    "limit": 200,
}
NIGHT = {
    "name": "00:00-08:00",
    "start": f"0 0 * * {EVERY_DAY}",
    "end": f"0 8 * * {EVERY_DAY}",
    "limit": 100,
}

# The Home Assistant test plugin blocks sockets; the simulator needs real ones on 127.0.0.1.
pytestmark = pytest.mark.usefixtures("socket_enabled")


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    """Return the unix time of a wall-clock time in Amsterdam."""
    return datetime(year, month, day, hour, minute, second, tzinfo=AMS).timestamp()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """Return the unix time of a UTC time."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


# Monday 2026-03-23 12:00 in Amsterdam (CET); the DST change is on Sunday 2026-03-29.
START = ams(2026, 3, 23, 12)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


type SimFactory = Callable[..., Awaitable[ViricitiSimulator]]


@pytest.fixture
async def make_sim(clock: FakeClock) -> AsyncIterator[SimFactory]:
    """Start simulators with the document's group in Amsterdam and the test key."""
    started: list[ViricitiSimulator] = []
    RUNTIME_SECRETS.update((KEY, OTHER_KEY))

    async def make(**options: Any) -> ViricitiSimulator:
        simulator = ViricitiSimulator(clock=clock, latency_scale=0, **options)
        simulator.add_group(
            GROUP,
            "ViriCiti Group",
            time_zone="Europe/Amsterdam",
            default_limit=400,
            timeframes=[EVENING, NIGHT],
            accepts_external_limits=True,
        )
        simulator.add_station(GROUP, "charger_1", [100, 100])
        simulator.add_station(GROUP, "charger_2", [50, 0])
        simulator.add_group(OTHER_GROUP, time_zone="UTC", default_limit=50)
        simulator.add_api_key(KEY, [GROUP])
        await simulator.start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        await simulator.stop()


@pytest.fixture
async def sim(make_sim: SimFactory) -> ViricitiSimulator:
    return await make_sim()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


_UNSET: Any = object()


class Api:
    """Small helper around the HTTP calls the tests make."""

    def __init__(self, sim: ViricitiSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        body: Any = _UNSET,
        *,
        data: str | None = None,
        key: str | None = KEY,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers = {"x-api-key": key} if key else {}
        async with self.session.request(
            method,
            f"{self.sim.base_url}{path}",
            json=None if body is _UNSET else body,
            data=data,
            params=params,
            headers=headers,
        ) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None

    async def limit(self, group: str = GROUP) -> dict[str, Any]:
        code, body = await self.call("GET", f"{PREFIX}/grouplimit/{group}")
        assert code == 200, body
        answer: dict[str, Any] = body
        return answer

    async def post_limit(self, body: Any, group: str = GROUP) -> tuple[int, Any]:
        return await self.call("POST", f"{PREFIX}/grouplimit/{group}", body)

    async def series(self, start: float, end: float, group: str = GROUP) -> tuple[int, Any]:
        params = {"start": str(round(start * 1000)), "end": str(round(end * 1000))}
        return await self.call("GET", f"{PREFIX}/time/{group}", params=params)


@pytest.fixture
def api(sim: ViricitiSimulator, session: aiohttp.ClientSession) -> Api:
    return Api(sim, session)


# --- charger group info -------------------------------------------------------------------------


async def test_charger_group_info_lists_active_timeframes(api: Api, sim: ViricitiSimulator) -> None:
    sim.add_timeframe(GROUP, "off", "0 12 * * 1", "0 13 * * 1", 50, active=False)
    code, body = await api.call("GET", f"{PREFIX}/chargergroup/{GROUP}")
    assert code == 200
    assert body == {
        "title": "ViriCiti Group",
        "id": GROUP,
        "groupLimit": 400,
        "timeframes": [{"active": True, **EVENING}, {"active": True, **NIGHT}],
    }
    assert list(body["timeframes"][0]) == ["active", "start", "end", "limit", "name"]
    # The inactive timeframe is stored but neither shown nor applied.
    assert len(sim.group(GROUP).timeframes) == 3
    assert sim.active_limit(GROUP, ams(2026, 3, 23, 12, 30)) == ("default", 400)


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "path", "status", "body", "result"),
    [
        (None, f"{PREFIX}/grouplimit/{GROUP}", 401, {"error": "Missing API key"}, "missing_key"),
        ("", f"{PREFIX}/grouplimit/{GROUP}", 401, {"error": "Missing API key"}, "missing_key"),
        ("nope", f"{PREFIX}/grouplimit/{GROUP}", 401, {"error": "Invalid API key"}, "invalid_key"),
        (None, "/api/v1/unknown", 401, {"error": "Missing API key"}, "missing_key"),
        (
            KEY,
            f"{PREFIX}/grouplimit/{OTHER_GROUP}",
            403,
            {"error": "API key has no access to this charger group"},
            "no_access",
        ),
        (
            KEY,
            f"{PREFIX}/chargergroup/Nope",
            404,
            {"error": "Charger group not found"},
            "group_not_found",
        ),
        (KEY, "/api/v1/unknown", 404, {"error": "Not Found"}, "not_found"),
        (KEY, f"{PREFIX}/time", 404, {"error": "Not Found"}, "not_found"),
    ],
)
async def test_key_and_group_checks(
    api: Api,
    sim: ViricitiSimulator,
    key: str | None,
    path: str,
    status: int,
    body: dict[str, str],
    result: str,
) -> None:
    assert await api.call("GET", path, key=key) == (status, body)
    assert sim.requests[-1].result == result
    assert sim.requests[-1].key_sent is bool(key)


async def test_wrong_method(api: Api, sim: ViricitiSimulator) -> None:
    code, body = await api.call("DELETE", f"{PREFIX}/grouplimit/{GROUP}")
    assert (code, body) == (405, {"error": "Method Not Allowed"})
    assert sim.requests[-1].result == "method_not_allowed"


async def test_keys_for_every_group_grants_and_revocation(api: Api, sim: ViricitiSimulator) -> None:
    sim.add_api_key(OTHER_KEY)  # every group, also later ones
    sim.add_group("Later")
    for group in (GROUP, OTHER_GROUP, "Later"):
        code, _ = await api.call("GET", f"{PREFIX}/chargergroup/{group}", key=OTHER_KEY)
        assert code == 200
    sim.grant(OTHER_KEY, GROUP)  # no change for an all-groups key
    assert sim.api_keys[OTHER_KEY] is None
    sim.grant(KEY, OTHER_GROUP)
    assert (await api.call("GET", f"{PREFIX}/chargergroup/{OTHER_GROUP}"))[0] == 200
    sim.revoke_api_key(KEY)
    assert (await api.call("GET", f"{PREFIX}/chargergroup/{GROUP}"))[0] == 401


async def test_api_key_in_the_query_works_but_is_flagged(
    api: Api, sim: ViricitiSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    code, body = await api.call(
        "GET", f"{PREFIX}/grouplimit/{GROUP}", key=None, params={"apiKey": KEY, "x": "1"}
    )
    assert code == 200
    assert body["activeLimit"] == "default"
    [logged] = sim.requests
    assert logged.key_in_query
    assert logged.key_sent
    assert logged.query == {"x": "1"}
    assert "API key in the query string" in caplog.text
    # Both: the header counts, the query is still flagged.
    await api.call("GET", f"{PREFIX}/grouplimit/{GROUP}", params={"apiKey": "wrong"})
    assert sim.requests[-1].status == 200
    assert sim.requests[-1].key_in_query
    await api.call("GET", f"{PREFIX}/grouplimit/{GROUP}")
    assert not sim.requests[-1].key_in_query


async def test_request_log_never_holds_the_key(
    api: Api, sim: ViricitiSimulator, session: aiohttp.ClientSession
) -> None:
    await api.call("GET", f"{PREFIX}/chargergroup/{GROUP}", key=None, params={"apiKey": KEY})
    await api.post_limit({"groupLimit": 300, "endTime": "2026-03-23T13:00:00+01:00"})
    await api.call("GET", f"{PREFIX}/grouplimit/{GROUP}", key="wrong-key-123")
    async with session.get(f"{sim.base_url}/_sim/requests") as resp:
        logged = await resp.text()
    assert KEY not in logged
    assert KEY not in repr(sim.requests)
    entries = json.loads(logged)
    assert [(e["method"], e["status"], e["key_in_query"]) for e in entries] == [
        ("GET", 200, True),
        ("POST", 200, False),
        ("GET", 401, False),
    ]
    assert entries[1]["body"] == {"groupLimit": 300, "endTime": "2026-03-23T13:00:00+01:00"}
    assert sim.requests_to("POST", f"{PREFIX}/grouplimit/{GROUP}") == [sim.requests[1]]


# --- the limit hierarchy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "answer"),
    [
        (ams(2026, 3, 23, 12), {"activeLimit": "default"}),
        (ams(2026, 3, 23, 15, 44, 59), {"activeLimit": "default"}),
        (
            ams(2026, 3, 23, 15, 45),
            {"activeLimit": "upcoming", "upcoming": EVENING},
        ),
        (ams(2026, 3, 23, 16), {"activeLimit": "scheduled", "scheduled": EVENING}),
        (ams(2026, 3, 23, 23, 44), {"activeLimit": "scheduled", "scheduled": EVENING}),
        (
            ams(2026, 3, 23, 23, 45),
            {"activeLimit": "upcoming", "scheduled": EVENING, "upcoming": NIGHT},
        ),
        (ams(2026, 3, 24, 0), {"activeLimit": "scheduled", "scheduled": NIGHT}),
        # A rise is never anticipated.
        (ams(2026, 3, 24, 7, 59), {"activeLimit": "scheduled", "scheduled": NIGHT}),
        (ams(2026, 3, 24, 8), {"activeLimit": "default"}),
    ],
)
async def test_group_limit_through_a_day(
    api: Api, clock: FakeClock, moment: float, answer: dict[str, Any]
) -> None:
    clock.now = moment
    expected: dict[str, Any] = {"activeLimit": answer["activeLimit"], "default": {"limit": 400}}
    for name in ("scheduled", "upcoming"):
        if name in answer:
            timeframe = answer[name]
            expected[name] = {k: timeframe[k] for k in ("limit", "start", "end")}
    body = await api.limit()
    assert body == expected
    assert list(body) == list(expected)


WEEK_TIMEFRAMES = [
    # Saturday 00:00 until the midnight that ends Sunday (day 0).
    {"name": "weekend", "start": "0 0 * * 6", "end": "0 0 * * 0", "limit": 150},
    # Friday 16:00 until the midnight that ends Friday, not a week later.
    {"name": "friday", "start": "0 16 * * 5", "end": "0 0 * * 5", "limit": 250},
    {"name": "sunday", "start": "0 8 * * 0", "end": "0 12 * * 0", "limit": 100},
    {"name": "nights", "start": "0 22 * * 1,2,3,4", "end": "0 6 * * 2,3,4,5", "limit": 300},
]


def expected_normal(moment: float) -> tuple[int, str | None]:
    """The week's limit at a moment, worked out from Amsterdam wall-clock time by hand."""
    local = datetime.fromtimestamp(moment, AMS)
    weekday, hour = local.weekday(), local.hour  # Monday = 0 here
    running: list[tuple[int, str]] = []
    if weekday in (5, 6):
        running.append((150, "weekend"))
    if weekday == 4 and hour >= 16:
        running.append((250, "friday"))
    if weekday == 6 and 8 <= hour < 12:
        running.append((100, "sunday"))
    if (weekday in (0, 1, 2, 3) and hour >= 22) or (weekday in (1, 2, 3, 4) and hour < 6):
        running.append((300, "nights"))
    return min(running) if running else (400, None)


@pytest.mark.parametrize(
    "monday", [ams(2026, 3, 23), ams(2026, 10, 19)], ids=["march_dst", "october_dst"]
)
def test_a_week_of_timeframes(clock: FakeClock, monday: float) -> None:
    """Every quarter hour of a week that holds a DST change, against a hand-made schedule."""
    clock.now = monday - 3600
    sim = ViricitiSimulator(clock=clock, latency_scale=0)
    sim.add_group(GROUP, time_zone="Europe/Amsterdam", timeframes=WEEK_TIMEFRAMES)
    names = {tf["name"]: tf for tf in WEEK_TIMEFRAMES}
    moment = monday
    end = monday + 7 * DAY + 3600
    seen: set[str] = set()
    while moment < end:
        now_limit, now_name = expected_normal(moment)
        next_limit, next_name = expected_normal(moment + 900)
        state = sim.state(GROUP, moment)
        assert state.scheduled == (None if now_name is None else make_timeframe(names[now_name]))
        if next_limit < now_limit:
            assert (state.source, state.limit) == ("upcoming", next_limit), moment
            expected = None if next_name is None else make_timeframe(names[next_name])
            assert state.upcoming == (next_limit, expected)
        else:
            assert (state.source, state.limit) == (
                "default" if now_name is None else "scheduled",
                now_limit,
            ), datetime.fromtimestamp(moment, AMS)
            assert state.upcoming is None
        seen.add(state.source)
        moment += 900
    assert seen == {"default", "scheduled", "upcoming"}


def test_midnight_end_and_sunday_zero(clock: FakeClock) -> None:
    sim = ViricitiSimulator(clock=clock, lookahead=0)  # the timeframes alone
    sim.add_group(GROUP, time_zone="Europe/Amsterdam", timeframes=WEEK_TIMEFRAMES[1:3])
    # 2026-03-27 is a Friday, 2026-03-29 a Sunday.
    assert sim.active_limit(GROUP, ams(2026, 3, 27, 15, 59)) == ("default", 400)
    assert sim.active_limit(GROUP, ams(2026, 3, 27, 16)) == ("scheduled", 250)
    assert sim.active_limit(GROUP, ams(2026, 3, 27, 23, 59, 59)) == ("scheduled", 250)
    assert sim.active_limit(GROUP, ams(2026, 3, 28, 0)) == ("default", 400)
    assert sim.active_limit(GROUP, ams(2026, 3, 28, 16)) == ("default", 400)
    assert sim.active_limit(GROUP, ams(2026, 3, 29, 8)) == ("scheduled", 100)
    assert sim.active_limit(GROUP, ams(2026, 3, 30, 8)) == ("default", 400)
    # Day 7 is Sunday too, and the end of a Monday-only day is Tuesday 00:00.
    sim.set_timeframes(
        GROUP,
        [
            {"name": "seven", "start": "0 9 * * 7", "end": "0 10 * * 7", "limit": 90},
            {"name": "monday", "start": "0 0 * * 1", "end": "0 0 * * 1", "limit": 80},
        ],
    )
    assert sim.active_limit(GROUP, ams(2026, 3, 29, 9, 30)) == ("scheduled", 90)
    assert sim.active_limit(GROUP, ams(2026, 3, 30, 0)) == ("scheduled", 80)
    assert sim.active_limit(GROUP, ams(2026, 3, 30, 23, 59)) == ("scheduled", 80)
    assert sim.active_limit(GROUP, ams(2026, 3, 31, 0)) == ("default", 400)


@pytest.mark.parametrize(
    ("moment", "source", "limit"),
    [
        # Spring forward: 02:00 CET becomes 03:00 CEST; the night runs 00:00-08:00 local.
        (utc(2026, 3, 28, 22, 59), "upcoming", 100),
        (utc(2026, 3, 28, 23, 0), "scheduled", 100),
        (utc(2026, 3, 29, 5, 59), "scheduled", 100),
        (utc(2026, 3, 29, 6, 0), "default", 400),
        (utc(2026, 3, 29, 13, 45), "upcoming", 200),
        (utc(2026, 3, 29, 14, 0), "scheduled", 200),
        (utc(2026, 3, 29, 21, 59), "upcoming", 100),
        # Fall back: 03:00 CEST becomes 02:00 CET; the night is nine hours long.
        (utc(2026, 10, 24, 22, 0), "scheduled", 100),
        (utc(2026, 10, 25, 6, 59), "scheduled", 100),
        (utc(2026, 10, 25, 7, 0), "default", 400),
        (utc(2026, 10, 25, 14, 45), "upcoming", 200),
        (utc(2026, 10, 25, 15, 0), "scheduled", 200),
    ],
)
async def test_dst_changes_in_amsterdam(
    sim: ViricitiSimulator, moment: float, source: str, limit: int
) -> None:
    assert sim.active_limit(GROUP, moment) == (source, limit)


def test_a_start_in_the_skipped_hour_begins_when_it_is_over(clock: FakeClock) -> None:
    sim = ViricitiSimulator(clock=clock, lookahead=0)
    sim.add_group(GROUP, time_zone="Europe/Amsterdam")
    sim.add_timeframe(GROUP, "small hours", "30 2 * * *", "0 5 * * *", 10)
    assert sim.active_limit(GROUP, ams(2026, 3, 28, 2, 30)) == ("scheduled", 10)
    assert sim.active_limit(GROUP, utc(2026, 3, 29, 0, 59)) == ("default", 400)
    assert sim.active_limit(GROUP, utc(2026, 3, 29, 1, 0)) == ("scheduled", 10)  # 03:00 CEST


def test_overlapping_timeframes_lowest_wins_and_upcoming_to_default(clock: FakeClock) -> None:
    sim = ViricitiSimulator(clock=clock)
    sim.add_group(GROUP, time_zone="UTC", default_limit=400)
    sim.add_timeframe(GROUP, "boost", "0 12 * * *", "0 13 * * *", 500)
    sim.add_timeframe(GROUP, "low", "30 12 * * *", "45 12 * * *", 300)
    noon = utc(2026, 3, 23, 12)
    assert sim.active_limit(GROUP, noon) == ("scheduled", 500)
    assert sim.state(GROUP, noon + 15 * 60).upcoming == (300, make_timeframe(
        {"name": "low", "start": "30 12 * * *", "end": "45 12 * * *", "limit": 300}
    ))  # fmt: skip
    assert sim.active_limit(GROUP, noon + 30 * 60) == ("scheduled", 300)
    # The end of the boost: back to a lower default, anticipated without cron times.
    assert sim.group_limit_answer(GROUP, noon + 45 * 60) == {
        "activeLimit": "upcoming",
        "default": {"limit": 400},
        "scheduled": {"limit": 500, "start": "0 12 * * *", "end": "0 13 * * *"},
        "upcoming": {"limit": 400},
    }
    assert sim.active_limit(GROUP, noon + 3600) == ("default", 400)


def test_lookahead_is_configurable(clock: FakeClock) -> None:
    sim = ViricitiSimulator(clock=clock, lookahead=0)
    sim.add_group(GROUP, time_zone="Europe/Amsterdam", timeframes=[EVENING])
    assert sim.active_limit(GROUP, ams(2026, 3, 23, 15, 59)) == ("default", 400)
    sim.lookahead = 3600
    assert sim.active_limit(GROUP, ams(2026, 3, 23, 15)) == ("upcoming", 200)


def test_time_zone_change_moves_the_timeframes(clock: FakeClock) -> None:
    sim = ViricitiSimulator(clock=clock)
    sim.add_group(GROUP, time_zone="Europe/Amsterdam", timeframes=[EVENING])
    moment = utc(2026, 3, 23, 15, 45)  # 16:45 in Amsterdam
    assert sim.active_limit(GROUP, moment) == ("scheduled", 200)
    sim.set_time_zone(GROUP, "UTC")
    assert sim.active_limit(GROUP, moment) == ("upcoming", 200)
    sim.set_default_limit(GROUP, 150)
    assert sim.active_limit(GROUP, utc(2026, 3, 23, 12)) == ("default", 150)
    # A timeframe above the default is still scheduled.
    assert sim.active_limit(GROUP, utc(2026, 3, 23, 16)) == ("scheduled", 200)


# --- external limits ----------------------------------------------------------------------------


async def test_post_sets_an_external_limit_until_it_expires(
    api: Api, sim: ViricitiSimulator, clock: FakeClock
) -> None:
    clock.now = ams(2026, 3, 23, 16, 20, 0) + 0.25
    code, body = await api.post_limit(
        {"groupLimit": 450, "endTime": "2026-03-23T17:20:00.000+01.00"}
    )
    assert code == 200
    external = {
        "limit": 450,
        "start": "2026-03-23T16:20:00.250+01.00",
        "end": "2026-03-23T17:20:00.000+01.00",
    }
    assert body == {
        "activeLimit": "external",
        "default": {"limit": 400},
        "external": external,
        "scheduled": {k: EVENING[k] for k in ("limit", "start", "end")},
    }
    assert await api.limit() == body
    clock.now = ams(2026, 3, 23, 17, 19, 59)
    assert (await api.limit())["activeLimit"] == "external"
    clock.now = ams(2026, 3, 23, 17, 20)
    limit = await api.limit()
    assert limit["activeLimit"] == "scheduled"
    assert "external" not in limit


@pytest.mark.parametrize(
    ("end_time", "written"),
    [
        ("2026-03-23T14:00:00Z", "2026-03-23T15:00:00.000+01.00"),
        ("2026-03-23T15:00:00+01:00", "2026-03-23T15:00:00.000+01.00"),
        ("2026-03-23T15:00:00.5+0100", "2026-03-23T15:00:00.500+01.00"),
        ("2026-03-23T09:00:00-05.00", "2026-03-23T15:00:00.000+01.00"),
        # Without an offset: in the group's zone.
        ("2026-03-23T15:00:00", "2026-03-23T15:00:00.000+01.00"),
        ("2026-04-01T15:00:00", "2026-04-01T15:00:00.000+02.00"),
    ],
)
async def test_post_end_time_formats(api: Api, end_time: str, written: str) -> None:
    code, body = await api.post_limit({"groupLimit": 300.0, "endTime": end_time})
    assert code == 200, body
    assert body["external"] == {
        "limit": 300,
        "start": "2026-03-23T12:00:00.000+01.00",
        "end": written,
    }


async def test_standard_offsets_can_be_chosen(make_sim: SimFactory) -> None:
    sim = await make_sim(odd_offsets=False)
    sim.set_external_limit(GROUP, 300, datetime(2026, 3, 23, 13, tzinfo=AMS))
    assert sim.group_limit_answer(GROUP)["external"] == {
        "limit": 300,
        "start": "2026-03-23T12:00:00.000+01:00",
        "end": "2026-03-23T13:00:00.000+01:00",
    }


@pytest.mark.parametrize(
    ("body", "data", "message"),
    [
        (_UNSET, None, "the body must be a JSON object"),
        (_UNSET, "{broken", "the body must be a JSON object"),
        ([1], None, "the body must be a JSON object"),
        ({"endTime": "2026-03-23T13:00:00Z"}, None, "groupLimit must be a positive integer"),
        ({"groupLimit": 0, "endTime": "2026-03-23T13:00:00Z"}, None, "positive integer"),
        ({"groupLimit": -5, "endTime": "2026-03-23T13:00:00Z"}, None, "positive integer"),
        ({"groupLimit": 1.5, "endTime": "2026-03-23T13:00:00Z"}, None, "positive integer"),
        ({"groupLimit": "450", "endTime": "2026-03-23T13:00:00Z"}, None, "positive integer"),
        ({"groupLimit": True, "endTime": "2026-03-23T13:00:00Z"}, None, "positive integer"),
        (None, '{"groupLimit": Infinity, "endTime": "x"}', "positive integer"),
        ({"groupLimit": 450}, None, "endTime must be an ISO 8601 time"),
        ({"groupLimit": 450, "endTime": 1774270800}, None, "ISO 8601"),
        ({"groupLimit": 450, "endTime": "tomorrow"}, None, "ISO 8601"),
        ({"groupLimit": 450, "endTime": "2026-03-23T11:00:00Z"}, None, "in the future"),
        ({"groupLimit": 450, "endTime": "2026-03-23T12:00:00+01:00"}, None, "in the future"),
    ],
)
async def test_post_validation(
    api: Api, sim: ViricitiSimulator, body: Any, data: str | None, message: str
) -> None:
    code, answer = await api.call("POST", f"{PREFIX}/grouplimit/{GROUP}", body, data=data)
    assert code == 400
    assert set(answer) == {"error"}
    assert message in answer["error"]
    assert sim.requests[-1].result == "bad_request"
    assert sim.group(GROUP).external is None


async def test_post_to_a_group_without_external_limits(api: Api, sim: ViricitiSimulator) -> None:
    sim.set_accepts_external_limits(GROUP, False)
    good = {"groupLimit": 300, "endTime": "2026-03-23T13:00:00+01:00"}
    assert await api.post_limit(good) == (
        403,
        {"error": "External limits are not allowed for this charger group"},
    )
    assert sim.requests[-1].result == "external_not_allowed"
    # Bad input is named first.
    assert (await api.post_limit({"groupLimit": 0, "endTime": good["endTime"]}))[0] == 400
    assert sim.group(GROUP).external is None


async def test_posts_too_often_are_refused_when_asked(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sim = await make_sim(min_post_interval=300)
    api = Api(sim, session)
    body = {"groupLimit": 300, "endTime": "2026-03-24T00:00:00+01:00"}
    assert (await api.post_limit(body))[0] == 200
    clock.advance(100.5)
    async with session.post(
        f"{sim.base_url}{PREFIX}/grouplimit/{GROUP}", json=body, headers={"x-api-key": KEY}
    ) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "200"
        assert await resp.json() == {"error": "Too Many Requests"}
    assert sim.requests[-1].result == "too_often"
    clock.advance(199.5)
    assert (await api.post_limit({**body, "groupLimit": 250}))[0] == 200
    external = sim.group(GROUP).external
    assert external is not None
    assert external.limit == 250


def test_external_limits_through_python(sim: ViricitiSimulator, clock: FakeClock) -> None:
    sim.set_external_limit(GROUP, 120, clock.now + 600)
    assert sim.active_limit(GROUP) == ("external", 120)
    sim.clear_external_limit(GROUP)
    assert sim.active_limit(GROUP) == ("default", 400)
    for limit, end in ((0, clock.now + 60), (1.5, clock.now + 60), (True, clock.now + 60)):
        with pytest.raises(ValueError, match="positive integer"):
            sim.set_external_limit(GROUP, limit, end)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="future"):
        sim.set_external_limit(GROUP, 100, clock.now)


# --- time series --------------------------------------------------------------------------------


def charger_limits(sample: dict[str, Any]) -> list[tuple[str, int, float]]:
    return [(x["chargestation"], x["position"], x["limit"]) for x in sample["limits"]]


async def test_time_series_samples_changes_and_every_five_minutes(
    api: Api, sim: ViricitiSimulator, clock: FakeClock
) -> None:
    clock.now = ams(2026, 3, 23, 16, 10)
    code, samples = await api.series(START, clock.now)
    assert code == 200
    times = [s["time"] for s in samples]
    # 12:00 CET is 11:00 UTC: a sample every 5 minutes, none missing, none twice.
    assert times[0] == "2026-03-23T11:00:00.000Z"
    assert times[-1] == "2026-03-23T15:10:00.000Z"
    assert len(times) == len(set(times)) == 4 * 12 + 10 // 5 + 1
    first = samples[0]
    assert list(first) == ["limits", "groupLimit", "time"]
    assert list(first["limits"][0]) == ["limit", "chargestation", "position"]
    assert first["groupLimit"] == 400
    assert charger_limits(first) == [
        ("charger_1", 1, 100),
        ("charger_1", 2, 100),
        ("charger_2", 1, 50),
        ("charger_2", 2, 0),
    ]
    by_time = {s["time"]: s for s in samples}
    assert by_time["2026-03-23T14:40:00.000Z"]["groupLimit"] == 400
    assert by_time["2026-03-23T14:45:00.000Z"]["groupLimit"] == 200  # upcoming
    assert charger_limits(by_time["2026-03-23T14:45:00.000Z"]) == [
        ("charger_1", 1, 75),
        ("charger_1", 2, 75),
        ("charger_2", 1, 50),
        ("charger_2", 2, 0),
    ]
    # A change between the periodic samples gets a sample at its moment.
    clock.now = ams(2026, 3, 23, 16, 12, 30)
    sim.set_demand(GROUP, "charger_2", 2, 40)
    sim.set_demand(GROUP, "charger_2", 2, 30)  # same instant: only the last state counts
    clock.now = ams(2026, 3, 23, 16, 20)
    code, samples = await api.series(ams(2026, 3, 23, 16, 10), clock.now)
    assert [(s["time"], s["groupLimit"]) for s in samples] == [
        ("2026-03-23T15:10:00.000Z", 200),
        ("2026-03-23T15:12:30.000Z", 200),
        ("2026-03-23T15:15:00.000Z", 200),
        ("2026-03-23T15:20:00.000Z", 200),
    ]
    assert charger_limits(samples[1]) == [
        ("charger_1", 1, 60),
        ("charger_1", 2, 60),
        ("charger_2", 1, 50),
        ("charger_2", 2, 30),
    ]


async def test_time_series_over_the_dst_change(
    api: Api, sim: ViricitiSimulator, clock: FakeClock
) -> None:
    sim.sample_interval = 3600
    clock.now = utc(2026, 3, 29, 12)
    code, samples = await api.series(utc(2026, 3, 28, 12), clock.now)
    assert code == 200
    changes = [
        (s["time"], s["groupLimit"])
        for previous, s in zip([None, *samples], samples, strict=False)
        if previous is None or previous["groupLimit"] != s["groupLimit"]
    ]
    assert changes == [
        ("2026-03-28T12:00:00.000Z", 400),
        ("2026-03-28T14:45:00.000Z", 200),  # 15:45 CET: upcoming
        ("2026-03-28T22:45:00.000Z", 100),  # 23:45 CET: upcoming
        ("2026-03-29T06:00:00.000Z", 400),  # 08:00 CEST
    ]


async def test_time_series_records_external_limits_and_stations(
    api: Api, sim: ViricitiSimulator, clock: FakeClock
) -> None:
    clock.advance(60)
    await api.post_limit({"groupLimit": 10, "endTime": "2026-03-23T12:03:30+01:00"})
    clock.advance(60)
    sim.add_station(GROUP, "charger_3", {2: 20, 1: 0})
    clock.advance(60)
    sim.remove_station(GROUP, "charger_1")
    clock.advance(600)
    code, samples = await api.series(START, clock.now)
    assert code == 200
    summary = [
        (s["time"][11:19], s["groupLimit"], [(c, p, kw) for c, p, kw in charger_limits(s) if kw])
        for s in samples
    ]
    assert summary == [
        ("11:00:00", 400, [("charger_1", 1, 100), ("charger_1", 2, 100), ("charger_2", 1, 50)]),
        ("11:01:00", 10, [("charger_1", 1, 3.3), ("charger_1", 2, 3.4), ("charger_2", 1, 3.3)]),
        ("11:02:00", 10, [("charger_1", 1, 2.5), ("charger_1", 2, 2.5), ("charger_2", 1, 2.5),
                          ("charger_3", 2, 2.5)]),
        ("11:03:00", 10, [("charger_2", 1, 5), ("charger_3", 2, 5)]),
        ("11:03:30", 400, [("charger_2", 1, 50), ("charger_3", 2, 20)]),
        ("11:05:00", 400, [("charger_2", 1, 50), ("charger_3", 2, 20)]),
        ("11:10:00", 400, [("charger_2", 1, 50), ("charger_3", 2, 20)]),
    ]  # fmt: skip
    assert [(c, p) for c, p, _ in charger_limits(samples[2])][-2:] == [
        ("charger_3", 1),
        ("charger_3", 2),
    ]


async def test_time_series_range_rules(api: Api, sim: ViricitiSimulator, clock: FakeClock) -> None:
    clock.now = START + 40 * DAY
    code, samples = await api.series(START + 9 * DAY, START + 40 * DAY)
    assert code == 200
    assert len(samples) == 31 * 288 + 1  # both ends included
    code, body = await api.series(START + 9 * DAY - 0.001, START + 40 * DAY)
    assert (code, body) == (
        400,
        {"error": "the time series can be queried for a max period of 31 days"},
    )
    # Only what was recorded: nothing before the group existed, nothing after now.
    code, samples = await api.series(START - DAY, START + DAY)
    assert samples[0]["time"] == "2026-03-23T11:00:00.000Z"
    code, samples = await api.series(clock.now, clock.now + 30 * DAY)
    assert len(samples) == 1
    assert await api.series(START + DAY, START) == (
        400,
        {"error": "end must not be before start"},
    )


@pytest.mark.parametrize(
    "params",
    [{}, {"start": "1"}, {"start": "x", "end": "2"}, {"start": "1.5", "end": "2"}],
)
async def test_time_series_needs_millisecond_parameters(api: Api, params: dict[str, str]) -> None:
    assert await api.call("GET", f"{PREFIX}/time/{GROUP}", params=params) == (
        400,
        {"error": "start and end must be Unix timestamps in milliseconds"},
    )


def test_history_is_kept_for_a_hundred_days(sim: ViricitiSimulator, clock: FakeClock) -> None:
    clock.advance(250 * DAY)
    samples = sim.samples(GROUP)
    assert samples[0].time >= clock.now - HISTORY_SECONDS
    assert len(samples) == HISTORY_SECONDS // 300
    clock.advance(DAY)
    assert sim.samples(GROUP)[0].time >= clock.now - HISTORY_SECONDS


def test_a_clock_going_back_adds_nothing_before_the_last_sample(
    sim: ViricitiSimulator, clock: FakeClock
) -> None:
    clock.advance(600)
    count = len(sim.samples(GROUP))
    clock.advance(-300)
    sim.set_demand(GROUP, "charger_2", 2, 10)
    # The change lands on the newest sample's moment and replaces it.
    samples = sim.samples(GROUP)
    assert len(samples) == count
    assert samples[-1].time == START + 600
    assert samples[-1].limits[-1] == ("charger_2", 2, 10)
    clock.advance(400)
    sim.set_demand(GROUP, "charger_2", 2, 20)
    assert [s.time for s in sim.samples(GROUP)][-2:] == [START + 600, START + 700]


def test_allocation_shares_the_limit() -> None:
    assert allocate(100, [0, 0]) == [0, 0]
    assert allocate(100, [30, 100, 100]) == [30, 35, 35]
    # Floored to 0.1 kW; what is left goes to the last: never more than the limit.
    assert allocate(10, [5, 5, 5]) == [3.3, 3.3, 3.4]
    assert allocate(10, [5, 4, 5]) == [3.3, 3.3, 3.4]
    assert allocate(500, [50, 0, 20]) == [50, 0, 20]


# --- faults -------------------------------------------------------------------------------------


async def test_fault_http_500_non_json_and_wrong_shape(
    api: Api, sim: ViricitiSimulator, session: aiohttp.ClientSession
) -> None:
    sim.inject_fault("http_500")
    sim.inject_fault("non_json", path_contains="/chargergroup/")
    sim.inject_fault("wrong_shape", path_contains="/time/")
    sim.inject_fault("wrong_shape", path_contains="/grouplimit/")
    url = f"{sim.base_url}{PREFIX}"
    async with session.get(f"{url}/grouplimit/{GROUP}") as resp:
        assert resp.status == 500
        assert resp.content_type == "text/html"
    async with session.get(f"{url}/chargergroup/{GROUP}") as resp:
        assert (resp.status, await resp.text()) == (200, "<html>oops</html>")
    assert await api.series(START, START) == (200, {"unexpected": True})
    assert await api.limit() == [1]  # type: ignore[comparison-overlap]
    assert [r.result for r in sim.requests] == [
        "http_500",
        "non_json",
        "wrong_shape",
        "wrong_shape",
    ]
    assert (await api.limit())["activeLimit"] == "default"


async def test_fault_http_429_drop_and_delay(
    api: Api, sim: ViricitiSimulator, session: aiohttp.ClientSession
) -> None:
    sim.inject_fault("http_429", retry_after=17)
    async with session.get(f"{sim.base_url}{PREFIX}/grouplimit/{GROUP}") as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "17"
    # Two: aiohttp sends a GET once more when the connection drops.
    sim.inject_fault("drop", count=2)
    with pytest.raises(aiohttp.ClientError):
        await api.limit()
    assert sim.requests[-1].status == 0
    assert sim.requests[-1].result == "drop"
    sim.inject_fault("delay", delay=0.05, count=2)
    started = time.monotonic()
    await api.limit()
    await api.limit()
    assert time.monotonic() - started >= 0.1
    sim.inject_fault("http_500", path_contains="/time/")
    assert (await api.limit())["activeLimit"] == "default"  # not for this path
    sim.clear_faults()
    assert (await api.series(START, START))[0] == 200


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("nope", {}),
        ("drop", {"count": 0}),
        ("delay", {"delay": -1}),
        ("http_429", {"retry_after": -1}),
    ],
)
def test_inject_fault_rejects_bad_arguments(kind: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        ViricitiSimulator().inject_fault(kind, **options)


async def test_default_clock_follows_freezegun(
    freezer: FrozenDateTimeFactory, session: aiohttp.ClientSession
) -> None:
    freezer.move_to("2026-03-23 11:00:00+00:00")
    sim = ViricitiSimulator(latency_scale=0)
    add_demo(sim)
    await sim.start()
    try:
        RUNTIME_SECRETS.add(DEMO_KEY)
        async with session.get(
            f"{sim.base_url}{PREFIX}/grouplimit/{DEMO_GROUP}", headers={"x-api-key": DEMO_KEY}
        ) as resp:
            assert (await resp.json())["activeLimit"] == "default"
        freezer.move_to("2026-03-23 15:00:00+00:00")
        assert sim.active_limit(DEMO_GROUP) == ("scheduled", 200)
        assert sim.samples(DEMO_GROUP)[-1].time == utc(2026, 3, 23, 15)
    finally:
        await sim.stop()


async def test_latency(clock: FakeClock, session: aiohttp.ClientSession) -> None:
    sim = ViricitiSimulator(clock=clock, latency_scale=0.1)
    await sim.start()
    try:
        started = time.monotonic()
        async with session.get(f"{sim.base_url}{PREFIX}/grouplimit/{GROUP}") as resp:
            assert resp.status == 401
        assert 0.02 <= time.monotonic() - started < 1.0
    finally:
        await sim.stop()


# --- admin endpoints ----------------------------------------------------------------------------


async def test_admin_groups_and_updates(
    api: Api, sim: ViricitiSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.base_url}/_sim/groups"
    async with session.get(url) as resp:
        groups = await resp.json()
    assert set(groups) == {GROUP, OTHER_GROUP}
    assert groups[GROUP]["stations"] == {
        "charger_1": {"1": 100, "2": 100},
        "charger_2": {"1": 50, "2": 0},
    }
    assert groups[GROUP]["limit"] == {"activeLimit": "default", "default": {"limit": 400}}
    update = {
        "title": "Renamed",
        "time_zone": "UTC",
        "default_limit": 350,
        "accepts_external_limits": False,
        "timeframes": [{"name": "x", "start": "0 9 * * *", "end": "0 17 * * *", "limit": 70}],
    }
    async with session.post(f"{url}/{GROUP}", json=update) as resp:
        assert resp.status == 200
        described = await resp.json()
    assert described["title"] == "Renamed"
    assert described["timeframes"] == [{**update["timeframes"][0], "active": True}]  # type: ignore[index]
    assert sim.active_limit(GROUP) == ("scheduled", 70)
    for body, status, message in [
        ({"colour": "red"}, 400, "unknown group fields: colour"),
        ({"title": ""}, 400, "title"),
        ({"time_zone": 1}, 400, "time_zone must be a string"),
        ({"time_zone": "Mars/Base"}, 400, "unknown time zone"),
        ({"default_limit": 0}, 400, "positive"),
        ({"timeframes": "x"}, 400, "timeframes must be a list"),
        ({"accepts_external_limits": "yes"}, 400, "true or false"),
        ([1], 400, "JSON object"),
    ]:
        async with session.post(f"{url}/{GROUP}", json=body) as resp:
            assert resp.status == status
            assert message in (await resp.json())["error"]
    async with session.post(f"{url}/{GROUP}", data="{") as resp:
        assert (resp.status, (await resp.json())["error"]) == (400, "body must be JSON")
    async with session.post(f"{url}/Nope", json={}) as resp:
        assert resp.status == 404


async def test_admin_stations(sim: ViricitiSimulator, session: aiohttp.ClientSession) -> None:
    url = f"{sim.base_url}/_sim/groups/{GROUP}/stations"
    async with session.post(f"{url}/charger_9", json={"demands": [11, 22, 0]}) as resp:
        assert resp.status == 200
        assert (await resp.json())["stations"]["charger_9"] == {"1": 11, "2": 22, "3": 0}
    async with session.post(f"{url}/charger_9", json={"demands": {"2": 5}}) as resp:
        assert (await resp.json())["stations"]["charger_9"] == {"2": 5}
    bodies: list[dict[str, Any]] = [
        {},
        {"demands": []},
        {"demands": "x"},
        {"demands": [-1]},
        {"demands": {"a": 1}},
    ]
    for body in bodies:
        async with session.post(f"{url}/charger_9", json=body) as resp:
            assert resp.status == 400, body
    async with session.delete(f"{url}/charger_9") as resp:
        assert resp.status == 200
        assert "charger_9" not in (await resp.json())["stations"]
    async with session.delete(f"{url}/charger_9") as resp:
        assert resp.status == 404
    async with session.delete(f"{sim.base_url}/_sim/groups/Nope/stations/x") as resp:
        assert resp.status == 404
    async with session.post(f"{sim.base_url}/_sim/groups/Nope/stations/x", json={}) as resp:
        assert resp.status == 404


async def test_admin_external_limits(
    sim: ViricitiSimulator, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    url = f"{sim.base_url}/_sim/groups/{GROUP}/external"
    async with session.post(url, json={"limit": 90, "end": clock.now + 60}) as resp:
        assert resp.status == 200
        assert (await resp.json())["external"]["limit"] == 90
    async with session.post(url, json={"limit": 80, "end": "2026-03-23T13:00:00+01.00"}) as resp:
        assert (await resp.json())["external"]["end"] == "2026-03-23T13:00:00.000+01.00"
    for body in ({"limit": 80}, {"limit": 80, "end": True}, {"limit": "80", "end": 2e9}):
        async with session.post(url, json=body) as resp:
            assert resp.status == 400, body
    async with session.delete(url) as resp:
        assert (await resp.json())["activeLimit"] == "default"
    for method in ("POST", "DELETE"):
        async with session.request(method, f"{sim.base_url}/_sim/groups/Nope/external") as resp:
            assert resp.status == 404


async def test_admin_faults(
    api: Api, sim: ViricitiSimulator, session: aiohttp.ClientSession
) -> None:
    url = f"{sim.base_url}/_sim/faults"
    body = {"kind": "http_429", "path_contains": "/grouplimit/", "count": 2, "retry_after": 5}
    async with session.post(url, json=body) as resp:
        assert await resp.json() == {"success": True}
    assert (await api.call("GET", f"{PREFIX}/grouplimit/{GROUP}"))[0] == 429
    async with session.delete(url) as resp:
        assert await resp.json() == {"success": True}
    assert (await api.call("GET", f"{PREFIX}/grouplimit/{GROUP}"))[0] == 200
    for bad in (
        {"kind": "drop", "x": 1},
        {"kind": 1},
        {"kind": "drop", "path_contains": 1},
        {"kind": "drop", "count": 1.5},
        {"kind": "drop", "count": True},
        {"kind": "delay", "delay": "1"},
        {"kind": "nope"},
    ):
        async with session.post(url, json=bad) as resp:
            assert resp.status == 400, bad
            assert (await resp.json())["success"] is False


# --- setup checks and formats -------------------------------------------------------------------


def test_setup_rejects_bad_input(clock: FakeClock) -> None:
    sim = ViricitiSimulator(clock=clock)
    group = sim.add_group(GROUP)
    assert (group.title, group.time_zone, group.default_limit) == (GROUP, "UTC", 400)
    checks: list[tuple[Callable[[], object], type[Exception], str]] = [
        (lambda: sim.add_group("bad id"), ValueError, "group id"),
        (lambda: sim.add_group(GROUP), ValueError, "exists"),
        (lambda: sim.add_group("X", time_zone="Nowhere/City"), ValueError, "time zone"),
        (lambda: sim.add_group("X", default_limit=0), ValueError, "positive"),
        (lambda: sim.add_group("X", default_limit=math_inf()), ValueError, "positive"),
        (lambda: sim.add_group("X", default_limit="1"), TypeError, "number"),  # type: ignore[arg-type]
        (lambda: sim.add_api_key(""), ValueError, "API key"),
        (lambda: sim.add_api_key(" k"), ValueError, "API key"),
        (lambda: sim.add_station(GROUP, ""), ValueError, "needs an id"),
        (lambda: sim.add_station(GROUP, "s", []), ValueError, "at least one"),
        (lambda: sim.add_station(GROUP, "s", [True]), TypeError, "number"),
        (lambda: sim.add_station(GROUP, "s", {0: 1}), ValueError, "start at 1"),
        (lambda: sim.add_station(GROUP, "s", "12"), TypeError, "list"),  # type: ignore[arg-type]
        (lambda: sim.remove_station(GROUP, "s"), KeyError, "s"),
        (lambda: sim.update_group(GROUP, timeframes=[1]), TypeError, "object"),
        (lambda: ViricitiSimulator(lookahead=-1), ValueError, "lookahead"),
        (lambda: ViricitiSimulator(sample_interval=0), ValueError, "sample_interval"),
    ]
    for call, error, message in checks:
        with pytest.raises(error, match=message):
            call()
    sim.add_station(GROUP, "s", [1, 2])
    with pytest.raises(KeyError):
        sim.set_demand(GROUP, "s", 3, 10)
    with pytest.raises(ValueError, match="finite"):
        sim.set_demand(GROUP, "s", 1, -1)


def math_inf() -> float:
    return float("inf")


@pytest.mark.parametrize(
    ("timeframe", "error", "message"),
    [
        ({"start": "0 16 * * *", "end": "0 0 * * *"}, TypeError, "number"),
        ({"start": "0 16 * *", "end": "0 0 * * *", "limit": 1}, ValueError, "bad cron"),
        ({"start": "0 16 * * *", "end": "0 0 31 2 *", "limit": 1}, ValueError, "bad cron"),
        ({"start": 1, "end": "0 0 * * *", "limit": 1}, TypeError, "string"),
        ({"start": "0 0 * * 8", "end": "0 0 * * *", "limit": 1}, ValueError, "bad cron"),
        ({"start": "0 1 * * *", "end": "0 2 * * *", "limit": 1, "x": 1}, ValueError, "unknown"),
        ({"start": "0 1 * * *", "end": "0 2 * * *", "limit": 1, "name": 1}, TypeError, "name"),
        ({"start": "0 1 * * *", "end": "0 2 * * *", "limit": 1, "active": 1}, TypeError, "active"),
        ("x", TypeError, "object"),
    ],
)
def test_bad_timeframes(timeframe: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make_timeframe(timeframe)


def test_timeframe_objects_and_crons() -> None:
    timeframe = ViricitiTimeframeSim("n", "0 1 * * *", "0 2 * * *", 5, active=False)
    assert make_timeframe(timeframe) == timeframe
    assert check_cron("0 0 29 2 *") == "0 0 29 2 *"
    assert make_demands([1, 2.5]) == {1: 1.0, 2: 2.5}
    assert make_demands({"3": 1, 1: 0}) == {1: 0.0, 3: 1.0}


def test_formats() -> None:
    moment = utc(2021, 2, 10, 16, 20) + 0.0004
    assert series_time(moment) == "2021-02-10T16:20:00.000Z"
    assert limit_time(moment, ZoneInfo("UTC")) == "2021-02-10T16:20:00.000+00.00"
    assert limit_time(moment, AMS, odd=False) == "2021-02-10T17:20:00.000+01:00"
    assert limit_time(moment, ZoneInfo("America/St_Johns")) == "2021-02-10T12:50:00.000-03.30"
    assert parse_end_time("2021-02-10T16:20:00.000+00.00", AMS) == utc(2021, 2, 10, 16, 20)
    assert parse_end_time(" 2021-02-10T17:20 ", AMS) == utc(2021, 2, 10, 16, 20)
    with pytest.raises(ValueError):  # noqa: PT011 - the parser's own message
        parse_end_time("16:20 tomorrow", AMS)
    assert zone_of("Europe/Amsterdam") == AMS


async def test_start_twice_and_busy_port(sim: ViricitiSimulator) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        await sim.start()
    port = int(sim.base_url.rsplit(":", 1)[1])
    other = ViricitiSimulator()
    with pytest.raises(OSError):  # noqa: PT011 - the address is taken
        await other.start(port=port)
    await other.stop()  # not started: nothing to do


def test_demo() -> None:
    sim = ViricitiSimulator()
    add_demo(sim)
    group = sim.group(DEMO_GROUP)
    assert (group.title, group.time_zone, group.default_limit) == ("Depot", "Europe/Amsterdam", 400)
    assert group.accepts_external_limits
    assert [(tf.name, tf.limit) for tf in group.timeframes] == [
        ("16:00-00:00", 200),
        ("00:00-08:00", 100),
    ]
    assert [len(s.demands) for s in group.stations.values()] == [2, 2, 2]
    assert sim.api_keys == {DEMO_KEY: {DEMO_GROUP}}


# --- command line -------------------------------------------------------------------------------


def test_parse_specs() -> None:
    assert parse_key_spec("k") == ("k", None)
    assert parse_key_spec("k:a,b,") == ("k", ["a", "b"])
    assert parse_group_spec("G") == ("G", {})
    assert parse_group_spec("G:title=Main depot,tz=Europe/Amsterdam,default=350.5,external") == (
        "G",
        {
            "title": "Main depot",
            "time_zone": "Europe/Amsterdam",
            "default_limit": 350.5,
            "accepts_external_limits": True,
        },
    )
    assert parse_group_spec("G:external=no,default=300") == (
        "G",
        {"accepts_external_limits": False, "default_limit": 300},
    )
    assert parse_timeframe_spec("G:200:0 16 * * 0-6:0 0 * * 0-6:16:00-00:00") == (
        "G",
        {
            "name": "16:00-00:00",
            "start": "0 16 * * 0-6",
            "end": "0 0 * * 0-6",
            "limit": 200,
            "active": True,
        },
    )
    assert parse_timeframe_spec("G:50:0 1 * * *:0 2 * * *")[1]["name"] == "0 1 * * * - 0 2 * * *"
    assert parse_station_spec("G:s") == ("G", "s", [0.0, 0.0])
    assert parse_station_spec("G:s:50,0,7.5") == ("G", "s", [50.0, 0.0, 7.5])
    for parse, spec, message in [
        (parse_key_spec, "", "KEY"),
        (parse_key_spec, "k:", "at least one group"),
        (parse_group_spec, ":x", "ID"),
        (parse_group_spec, "G:title", "needs a value"),
        (parse_group_spec, "G:tz=Nowhere/X", "time zone"),
        (parse_group_spec, "G:default=lots", "number"),
        (parse_group_spec, "G:default=0", "positive"),
        (parse_group_spec, "G:external=maybe", "true or false"),
        (parse_group_spec, "G:colour=red", "unknown group option"),
        (parse_timeframe_spec, "G:200:0 16 * * *", "GROUP:LIMIT"),
        (parse_timeframe_spec, "G:x:0 16 * * *:0 0 * * *", "number"),
        (parse_timeframe_spec, "G:200:0 16 * *:0 0 * * *", "bad cron"),
        (parse_station_spec, "G", "GROUP:STATION"),
        (parse_station_spec, "G:s:x", "number"),
        (parse_station_spec, "G:s:-1", "finite"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse(spec)


def viriciti_args(*argv: str) -> Any:
    return build_parser().parse_args(["viriciti", *argv])


def test_build_viriciti_simulator() -> None:
    args = viriciti_args(
        "--demo",
        "--group", "North:title=North depot,tz=Europe/Amsterdam,default=300,external",
        "--group", "South",
        "--timeframe", "North:150:0 18 * * 1-5:0 22 * * 1-5:evening",
        "--station", "North:bus_1:80,80",
        "--key", "north-key:North",
        "--key", "all-key",
        "--latency-scale", "0.5",
        "--lookahead", "600",
        "--sample-interval", "60",
        "--min-post-interval", "300",
        "--standard-offsets",
    )  # fmt: skip
    sim = build_viriciti_simulator(args)
    # --demo keeps a spare group for the user to add, with a key of its own.
    assert sorted(sim.groups) == [DEMO_GROUP, "North", "South", "Workshop"]
    assert sim.api_keys["spare-viriciti-key-0123456789"] == {"Workshop"}
    north = sim.group("North")
    assert (north.title, north.default_limit, north.accepts_external_limits) == (
        "North depot",
        300,
        True,
    )
    assert north.timeframes[0].name == "evening"
    assert list(north.stations) == ["bus_1"]
    assert sim.api_keys["north-key"] == {"North"}
    assert sim.api_keys["all-key"] is None
    assert (sim.latency_scale, sim.lookahead, sim.sample_interval) == (0.5, 600, 60)
    assert (sim.min_post_interval, sim.odd_offsets) == (300, False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--demo or at least one --group"),
        (["--group", "G"], "--demo or at least one --key"),
        (["--demo", "--group", "Depot"], "group Depot exists"),
        (["--demo", "--timeframe", "X:1:0 1 * * *:0 2 * * *"], "timeframe for unknown group X"),
        (["--demo", "--station", "X:s"], "station s in unknown group X"),
        (["--demo", "--key", "k:X"], "key for unknown group X"),
        (["--demo", "--key", " k"], "API key"),
        (["--demo", "--group", "G:tz=Nope/Nope"], "unknown time zone"),
    ],
)
def test_main_rejects_bad_command_lines(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["viriciti", *argv])
    assert exc_info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_documents_the_specs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["viriciti", "--help"])
    assert exc_info.value.code == 0
    out = capsys.readouterr().out
    for text in ("--key KEY[:GROUP,GROUP,...]", "GROUP:LIMIT:START:END", "--demo loads", DEMO_KEY):
        assert text in out


async def _wait_for_line(capsys: pytest.CaptureFixture[str]) -> str:
    output = ""
    for _ in range(500):
        output += capsys.readouterr().out
        if output.endswith("\n"):
            return output
        await asyncio.sleep(0.01)
    raise AssertionError("the simulator never said it was ready")


async def test_serve_viriciti_until_sigint(
    capsys: pytest.CaptureFixture[str], session: aiohttp.ClientSession
) -> None:
    RUNTIME_SECRETS.add(KEY)
    args = viriciti_args("--port", "0", "--latency-scale", "0", "--demo", "--key", KEY)
    task = asyncio.create_task(serve_viriciti(args))
    line = await _wait_for_line(capsys)
    assert line.startswith("ViriCiti simulator on http://127.0.0.1:")
    assert line.endswith(" with 2 groups\n")  # the demo's and the spare
    url = line.split()[3]
    async with session.get(
        f"{url}{PREFIX}/chargergroup/{DEMO_GROUP}", headers={"x-api-key": KEY}
    ) as resp:
        assert (await resp.json())["title"] == "Depot"
    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(task, timeout=5)


async def test_serve_viriciti_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    args = viriciti_args("--port", "0", "--group", "A", "--group", "B", "--key", "k")
    stop = asyncio.Event()
    task = asyncio.create_task(serve_viriciti(args, stop))
    assert (await _wait_for_line(capsys)).endswith(" with 2 groups\n")
    stop.set()
    await asyncio.wait_for(task, timeout=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the simulator never said it was ready"
    return proc.stdout.readline()


def _get_over_http(port: int, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"x-api-key": DEMO_KEY})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_command_line_runs_until_signalled(signum: signal.Signals) -> None:
    RUNTIME_SECRETS.add(DEMO_KEY)
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "simulators", "viriciti", "--demo", "--port", str(port),
         "--latency-scale", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = _read_line(proc, timeout=30)
        assert line == f"ViriCiti simulator on http://127.0.0.1:{port} with 2 groups\n"
        code, body = _get_over_http(port, f"{PREFIX}/grouplimit/{DEMO_GROUP}")
        assert code == 200
        assert body["default"] == {"limit": 400}
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_week_helper_sanity() -> None:
    # The hand-made schedule itself: Sunday 2026-03-29 09:00 is both weekend and morning.
    assert expected_normal(ams(2026, 3, 29, 9)) == (100, "sunday")
    assert expected_normal(ams(2026, 3, 27, 23)) == (250, "friday")
    assert expected_normal(ams(2026, 3, 30, 0)) == (400, None)
