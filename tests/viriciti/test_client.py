"""The ViriCiti client over real HTTP: against the simulator, and stand-ins for odd answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
import datetime as dt
import json
import logging
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ev_charge_control.api.errors import (
    AnswerLostError,
    ApiError,
    AuthenticationError,
    CommandRefusedError,
    ExternalLimitsNotAllowedError,
    NotFoundError,
    NotSentError,
    RateLimitedError,
)
from custom_components.ev_charge_control.api.viriciti import (
    MAX_SERIES_RANGE,
    ViricitiClient,
    ViricitiConnectorLimit,
    ViricitiExternalLimit,
    ViricitiGroup,
    ViricitiGroupLimit,
    ViricitiSample,
    ViricitiScheduledLimit,
    ViricitiTimeframe,
    parse_time,
)
from custom_components.ev_charge_control.session import async_get_session
from simulators.viriciti import ViricitiSimulator
from tests.conftest import RUNTIME_SECRETS
from tests.leaks import assert_no_secrets, free_port

# The client keeps its own clock: Home Assistant's frozen test clock would stop its timeouts.
pytestmark = [pytest.mark.usefixtures("socket_enabled"), pytest.mark.real_time]

KEY = "vc-client-key-7d3e9b2a61f4"
OTHER_KEY = "vc-client-other-5a8c1e7f2d90"
GROUP = "ViriCitiGroup"
OTHER_GROUP = "OtherGroup"
AMS = ZoneInfo("Europe/Amsterdam")
PREFIX = "/api/v1/smartcharging"
# Monday 2026-03-23 12:00 in Amsterdam (CET, +01:00).
NOW = dt.datetime(2026, 3, 23, 12, tzinfo=AMS).timestamp()
EVENING = ("16:00-00:00", "0 16 * * 0,1,2,3,4,5,6", "0 0 * * 0,1,2,3,4,5,6", 200)
NIGHT = ("00:00-08:00", "0 0 * * 0,1,2,3,4,5,6", "0 8 * * 0,1,2,3,4,5,6", 100)
MS_PER_31_DAYS = 31 * 86400 * 1000


def at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
    *,
    zone: dt.tzinfo = AMS,
) -> dt.datetime:
    """Return an aware datetime (Amsterdam unless told)."""
    return dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=zone)


def assert_no_secret(err: BaseException) -> None:
    """Fail when the key shows in the exception or its chain, or anything rides along."""
    assert_no_secrets(err, KEY, unchained=True)


class Clock:
    """A clock the test moves by hand (for the simulator and the client)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncGenerator[ViricitiSimulator]:
    """Start a simulator with the document's group in Amsterdam and a second group."""
    RUNTIME_SECRETS.update((KEY, OTHER_KEY))
    simulator = ViricitiSimulator(clock=clock, latency_scale=0)
    simulator.add_group(
        GROUP,
        "ViriCiti Group",
        time_zone="Europe/Amsterdam",
        default_limit=400,
        timeframes=[
            {"name": name, "start": start, "end": end, "limit": limit}
            for name, start, end, limit in (EVENING, NIGHT)
        ],
        accepts_external_limits=True,
    )
    simulator.add_station(GROUP, "charger_1", [100, 100])
    simulator.add_station(GROUP, "charger_2", [50, 0])
    simulator.add_group(OTHER_GROUP, time_zone="UTC", default_limit=50)
    simulator.add_api_key(KEY, [GROUP, OTHER_GROUP])
    simulator.add_api_key(OTHER_KEY, [GROUP])
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return the integration's aiohttp session (it never re-sends a request on its own)."""
    return async_get_session(hass)


type MakeClient = Callable[..., ViricitiClient]


@pytest.fixture
def make_client(sim: ViricitiSimulator, session: aiohttp.ClientSession, clock: Clock) -> MakeClient:
    """Return a factory of clients for the simulator (injected clock)."""

    def make(**kwargs: Any) -> ViricitiClient:
        options: dict[str, Any] = {"base_url": sim.base_url, "clock": clock, **kwargs}
        key = options.pop("api_key", KEY)
        group = options.pop("group_id", GROUP)
        return ViricitiClient(session, key, group, **options)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> ViricitiClient:
    return make_client()


# --- a stand-in for odd answers -----------------------------------------------------------------


@dataclass
class Reply:
    """A canned answer: JSON (or raw bytes) with a status and headers."""

    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.StreamResponse:
        if isinstance(self.body, bytes):
            return web.Response(status=self.status, body=self.body, headers=self.headers)
        return web.json_response(self.body, status=self.status, headers=self.headers)


type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str  # still percent-encoded
    query: dict[str, str]
    body: object
    key: str | None


class StandIn:
    """A small stand-in for the ViriCiti cloud: canned answers per path, records requests."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.answers: dict[tuple[str, str], Reply | Handler | list[Reply]] = {}
        self.release = asyncio.Event()
        self._server: TestServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server(access_log=None, shutdown_timeout=1.0)

    async def stop(self) -> None:
        self.release.set()
        assert self._server is not None
        await self._server.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        seen = Seen(
            request.method,
            request.rel_url.raw_path,
            dict(request.query),
            json.loads(raw) if raw else None,
            request.headers.get("x-api-key"),
        )
        self.requests.append(seen)
        answer = self.answers.get((seen.method, seen.path), Reply(404, {"error": "Not Found"}))
        if isinstance(answer, list):
            return answer.pop(0).response()
        if isinstance(answer, Reply):
            return answer.response()
        return await answer(request)


@pytest.fixture
async def cloud() -> AsyncGenerator[StandIn]:
    RUNTIME_SECRETS.update((KEY, OTHER_KEY))
    stand_in = StandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def odd_client(cloud: StandIn, session: aiohttp.ClientSession, clock: Clock) -> ViricitiClient:
    """Return a client for the stand-in."""
    return ViricitiClient(session, KEY, GROUP, base_url=cloud.base_url + "/", clock=clock)


# --- charger group ------------------------------------------------------------------------------


async def test_get_group(client: ViricitiClient, sim: ViricitiSimulator) -> None:
    """The group's title, default limit and timeframes, crons exactly as given."""
    group = await client.get_group()
    assert group == ViricitiGroup(
        id=GROUP,
        title="ViriCiti Group",
        group_limit=400,
        timeframes=(
            ViricitiTimeframe(EVENING[0], EVENING[1], EVENING[2], 200, active=True),
            ViricitiTimeframe(NIGHT[0], NIGHT[1], NIGHT[2], 100, active=True),
        ),
    )
    [request] = sim.requests
    assert (request.method, request.path, request.query) == (
        "GET",
        f"{PREFIX}/chargergroup/{GROUP}",
        {},
    )
    assert request.key_sent
    assert not request.key_in_query


async def test_key_travels_in_the_header_only(cloud: StandIn, odd_client: ViricitiClient) -> None:
    """Every request carries x-api-key; no URL ever holds the key."""
    cloud.answers["GET", f"{PREFIX}/chargergroup/{GROUP}"] = Reply(200, {})
    cloud.answers["GET", f"{PREFIX}/grouplimit/{GROUP}"] = Reply(200, {})
    cloud.answers["POST", f"{PREFIX}/grouplimit/{GROUP}"] = Reply(200, {})
    cloud.answers["GET", f"{PREFIX}/time/{GROUP}"] = Reply(200, [])
    await odd_client.get_group()
    await odd_client.get_group_limit()
    await odd_client.set_group_limit(100, at(2026, 3, 23, 13))
    await odd_client.get_power_limits(at(2026, 3, 23, 11), at(2026, 3, 23, 12))
    assert [seen.key for seen in cloud.requests] == [KEY] * 4
    for seen in cloud.requests:
        assert KEY not in seen.path
        assert KEY not in json.dumps(seen.query)
        assert "apiKey" not in seen.query


async def test_get_group_is_lenient(cloud: StandIn, odd_client: ViricitiClient) -> None:
    """Unknown fields are ignored; a timeframe without cron times is left out."""
    cloud.answers["GET", f"{PREFIX}/chargergroup/{GROUP}"] = Reply(
        200,
        {
            "groupLimit": "350",
            "somethingNew": [1],
            "timeframes": [
                {"start": " 0 1 * * 1 ", "end": "0 2 * * 1", "limit": "75.5", "x": 1},
                {"start": "0 3 * * *", "end": "0 4 * * *", "limit": None, "active": 0},
                {"start": "0 3 * * *"},
                {"start": "", "end": "0 4 * * *"},
                "nonsense",
            ],
        },
    )
    assert await odd_client.get_group() == ViricitiGroup(
        id=GROUP,
        title=GROUP,
        group_limit=350,
        timeframes=(
            ViricitiTimeframe("", " 0 1 * * 1 ", "0 2 * * 1", 75.5, active=True),
            ViricitiTimeframe("", "0 3 * * *", "0 4 * * *", None, active=False),
        ),
    )
    cloud.answers["GET", f"{PREFIX}/chargergroup/{GROUP}"] = Reply(
        200, {"id": "Other", "title": " Depot ", "groupLimit": True, "timeframes": {}}
    )
    assert await odd_client.get_group() == ViricitiGroup("Other", "Depot", None, ())


# --- group limits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "active", "limit"),
    [
        (at(2026, 3, 23, 12), "default", 400),
        (at(2026, 3, 23, 15, 45), "upcoming", 200),
        (at(2026, 3, 23, 16), "scheduled", 200),
        (at(2026, 3, 23, 23, 50), "upcoming", 100),
        (at(2026, 3, 24, 0), "scheduled", 100),
        (at(2026, 3, 24, 8), "default", 400),
        # Sunday 2026-03-29, after the change to summer time.
        (at(2026, 3, 29, 7, 59), "scheduled", 100),
        (at(2026, 3, 29, 8), "default", 400),
    ],
)
async def test_get_group_limit_follows_the_schedule(
    client: ViricitiClient, clock: Clock, moment: dt.datetime, active: str, limit: float
) -> None:
    clock.now = moment.timestamp()
    limits = await client.get_group_limit()
    assert (limits.active, limits.active_limit, limits.default_limit) == (active, limit, 400)
    assert limits.external is None


async def test_get_group_limit_fields(client: ViricitiClient, clock: Clock) -> None:
    clock.now = at(2026, 3, 23, 23, 45).timestamp()
    assert await client.get_group_limit() == ViricitiGroupLimit(
        active="upcoming",
        default_limit=400,
        external=None,
        scheduled=ViricitiScheduledLimit(200, EVENING[1], EVENING[2]),
        upcoming=ViricitiScheduledLimit(100, NIGHT[1], NIGHT[2]),
    )


async def test_the_documents_examples_parse(cloud: StandIn, odd_client: ViricitiClient) -> None:
    """Both of the document's answers, "+00.00" offsets included."""
    path = f"{PREFIX}/grouplimit/{GROUP}"
    cloud.answers["GET", path] = Reply(
        200,
        {
            "default": {"limit": 500},
            "activeLimit": "external",
            "external": {
                "limit": 450,
                "start": "2021-02-10T16:00:00.000+00.00",
                "end": "2021-02-10T16:20:00.000+00.00",
            },
        },
    )
    limits = await odd_client.get_group_limit()
    assert limits == ViricitiGroupLimit(
        active="external",
        default_limit=500,
        external=ViricitiExternalLimit(
            450, at(2021, 2, 10, 16, zone=dt.UTC), at(2021, 2, 10, 16, 20, zone=dt.UTC)
        ),
        scheduled=None,
        upcoming=None,
    )
    assert limits.active_limit == 450
    cloud.answers["GET", path] = Reply(
        200,
        {
            "activeLimit": "external",
            "default": {"limit": 500},
            "external": {
                "limit": 200,
                "start": "2021-03-09T16:20:00.000+00:00",
                "end": "2021-03-09T16:50:00.000+00:00",
            },
            "scheduled": {
                "limit": 300,
                "start": "0 16 * * 0,1,2,3,4,5,6",
                "end": "0 20 * * 0,1,2,3,4,5,6",
            },
        },
    )
    limits = await odd_client.get_group_limit()
    assert limits.scheduled == ViricitiScheduledLimit(
        300, "0 16 * * 0,1,2,3,4,5,6", "0 20 * * 0,1,2,3,4,5,6"
    )
    assert limits.external is not None
    assert limits.external.end == at(2021, 3, 9, 16, 50, zone=dt.UTC)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(
            {"default": {"limit": 400}, "upcoming": {"limit": "300"}, "scheduled": {"limit": 350}},
            ViricitiGroupLimit(
                "upcoming",
                400,
                None,
                ViricitiScheduledLimit(350, None, None),
                ViricitiScheduledLimit(300, None, None),
            ),
            id="no_active_limit_named",
        ),
        pytest.param(
            {"activeLimit": 5, "default": {"limit": 400}, "scheduled": {"limit": 350}},
            ViricitiGroupLimit(
                "scheduled", 400, None, ViricitiScheduledLimit(350, None, None), None
            ),
            id="active_limit_not_a_string",
        ),
        pytest.param(
            {"default": 400, "external": {"limit": "lots"}, "scheduled": {"start": "0 1 * * *"}},
            ViricitiGroupLimit("default", None, None, None, None),
            id="unreadable_limits",
        ),
        pytest.param(
            {
                "activeLimit": " manual ",
                "default": {"limit": 400},
                "external": {"limit": 90, "start": "yesterday", "end": 5},
            },
            ViricitiGroupLimit("manual", 400, ViricitiExternalLimit(90, None, None), None, None),
            id="unknown_source_and_times",
        ),
    ],
)
async def test_group_limit_parsing_is_lenient(
    cloud: StandIn,
    odd_client: ViricitiClient,
    answer: dict[str, Any],
    expected: ViricitiGroupLimit,
) -> None:
    cloud.answers["GET", f"{PREFIX}/grouplimit/{GROUP}"] = Reply(200, answer)
    limits = await odd_client.get_group_limit()
    assert limits == expected
    if limits.active == "manual":
        assert limits.active_limit is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-02-10T16:20:00.000+00.00", at(2021, 2, 10, 16, 20, zone=dt.UTC)),
        (
            "2026-03-23T17:20:00.000+01.00",
            at(2026, 3, 23, 17, 20, zone=dt.timezone(dt.timedelta(hours=1))),
        ),
        (
            "2026-03-23T12:20:00-05.30",
            at(2026, 3, 23, 12, 20, zone=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
        ),
        ("2020-07-16T16:20:05.000Z", at(2020, 7, 16, 16, 20, 5, zone=dt.UTC)),
        (
            " 2020-07-16T16:20:05+0200 ",
            at(2020, 7, 16, 16, 20, 5, zone=dt.timezone(dt.timedelta(hours=2))),
        ),
        ("2020-07-16T16:20:05", at(2020, 7, 16, 16, 20, 5, zone=dt.UTC)),
        ("16:20", None),
        ("", None),
        (1594916405000, None),
    ],
)
def test_parse_time(text: object, expected: dt.datetime | None) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    if parsed is not None and expected is not None:
        assert parsed.utcoffset() == expected.utcoffset()  # the offset as given


# --- setting the group limit --------------------------------------------------------------------


async def test_set_group_limit(
    client: ViricitiClient, sim: ViricitiSimulator, clock: Clock
) -> None:
    """The body holds an integer and a standard offset; the answer is the new limits."""
    clock.now = at(2026, 3, 23, 16, 20).timestamp()
    limits = await client.set_group_limit(450, at(2026, 3, 23, 17, 20))
    [request] = sim.requests
    assert request.method == "POST"
    assert request.path == f"{PREFIX}/grouplimit/{GROUP}"
    assert request.body == {"groupLimit": 450, "endTime": "2026-03-23T17:20:00.000+01:00"}
    cet = dt.timezone(dt.timedelta(hours=1))
    assert limits == ViricitiGroupLimit(
        active="external",
        default_limit=400,
        external=ViricitiExternalLimit(
            450, at(2026, 3, 23, 16, 20, zone=cet), at(2026, 3, 23, 17, 20, zone=cet)
        ),
        scheduled=ViricitiScheduledLimit(200, EVENING[1], EVENING[2]),
        upcoming=None,
    )
    # When the end is reached the schedule is back.
    clock.now = at(2026, 3, 23, 17, 20).timestamp()
    limits = await client.get_group_limit()
    assert (limits.active, limits.active_limit, limits.external) == ("scheduled", 200, None)


async def test_set_group_limit_in_summer_time(
    client: ViricitiClient, sim: ViricitiSimulator, clock: Clock
) -> None:
    clock.now = at(2026, 3, 29, 12).timestamp()
    await client.set_group_limit(300, at(2026, 3, 29, 13, 30, 15, 123456))
    assert sim.requests[-1].body == {
        "groupLimit": 300,
        "endTime": "2026-03-29T13:30:15.123+02:00",
    }
    assert sim.active_limit(GROUP) == ("external", 300)


@pytest.mark.parametrize(
    ("limit", "end", "message"),
    [
        (0, at(2026, 3, 23, 13), "positive integer"),
        (-5, at(2026, 3, 23, 13), "positive integer"),
        (1.5, at(2026, 3, 23, 13), "positive integer"),
        (True, at(2026, 3, 23, 13), "positive integer"),
        ("450", at(2026, 3, 23, 13), "positive integer"),
        (450, dt.datetime(2026, 3, 23, 13), "aware"),
        (450, at(2026, 3, 23, 12), "future"),
        (450, at(2026, 3, 23, 11), "future"),
    ],
)
async def test_set_group_limit_checks_before_sending(
    client: ViricitiClient, sim: ViricitiSimulator, limit: Any, end: dt.datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await client.set_group_limit(limit, end)
    assert sim.requests == []


async def test_group_without_external_limits(
    client: ViricitiClient, sim: ViricitiSimulator
) -> None:
    sim.set_accepts_external_limits(GROUP, False)
    with pytest.raises(ExternalLimitsNotAllowedError, match="does not accept external") as err:
        await client.set_group_limit(300, at(2026, 3, 23, 13))
    assert isinstance(err.value, ApiError)
    assert not isinstance(err.value, AuthenticationError)
    assert_no_secret(err.value)


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(409, {"error": "External limits disabled"}), ExternalLimitsNotAllowedError),
        (
            Reply(422, {"message": "group has no EXTERNAL limit support"}),
            ExternalLimitsNotAllowedError,
        ),
        (Reply(403, {"error": "Forbidden"}), AuthenticationError),
        (Reply(403, b"<html>forbidden</html>"), AuthenticationError),
        # Any other 4xx refuses the limit: the group would answer it the same way again.
        (Reply(400, {"error": "external limit must be a positive integer"}), CommandRefusedError),
        (Reply(409, {"error": "conflict"}), CommandRefusedError),
        (Reply(422, b"<html>unprocessable</html>"), CommandRefusedError),
        (Reply(404, {"error": "not found"}), NotFoundError),
        # What asking again may change: the cloud's trouble, a timeout, a rate limit.
        (Reply(500, {"error": "internal"}), ApiError),
        (Reply(503, b"<html>down</html>"), ApiError),
        (Reply(408, {"error": "request timeout"}), ApiError),
        (Reply(429, {"error": "too many"}), RateLimitedError),
    ],
)
async def test_refusals_of_a_post(
    cloud: StandIn, odd_client: ViricitiClient, reply: Reply, error: type[Exception]
) -> None:
    cloud.answers["POST", f"{PREFIX}/grouplimit/{GROUP}"] = reply
    with pytest.raises(error) as err:
        await odd_client.set_group_limit(300, at(2026, 3, 23, 13))
    assert type(err.value) is error
    assert_no_secret(err.value)


async def test_a_get_answered_400_is_no_refusal(cloud: StandIn, odd_client: ViricitiClient) -> None:
    """Only a write is refused: a read answered 400 is a failed read like any other."""
    cloud.answers["GET", f"{PREFIX}/grouplimit/{GROUP}"] = Reply(400, {"error": "bad"})
    with pytest.raises(ApiError) as err:
        await odd_client.get_group_limit()
    assert type(err.value) is ApiError


async def test_a_get_answered_403_naming_external_is_still_auth(
    cloud: StandIn, odd_client: ViricitiClient
) -> None:
    cloud.answers["GET", f"{PREFIX}/grouplimit/{GROUP}"] = Reply(403, {"error": "external"})
    with pytest.raises(AuthenticationError):
        await odd_client.get_group_limit()


async def test_an_empty_post_answer_reads_the_limits(
    cloud: StandIn, odd_client: ViricitiClient
) -> None:
    path = f"{PREFIX}/grouplimit/{GROUP}"
    cloud.answers["POST", path] = Reply(201, b"")
    cloud.answers["GET", path] = Reply(200, {"activeLimit": "external", "external": {"limit": 5}})
    limits = await odd_client.set_group_limit(5, at(2026, 3, 23, 13))
    assert limits.active_limit == 5
    assert [(seen.method, seen.path) for seen in cloud.requests] == [("POST", path), ("GET", path)]


# --- time series --------------------------------------------------------------------------------


async def test_power_limits(client: ViricitiClient, sim: ViricitiSimulator, clock: Clock) -> None:
    clock.now = at(2026, 3, 23, 12, 10).timestamp()
    samples = await client.get_power_limits(at(2026, 3, 23, 12), at(2026, 3, 23, 12, 10))
    assert [s.time for s in samples] == [
        at(2026, 3, 23, 11, minute, zone=dt.UTC) for minute in (0, 5, 10)
    ]
    assert samples[0] == ViricitiSample(
        time=at(2026, 3, 23, 11, zone=dt.UTC),
        group_limit=400,
        limits=(
            ViricitiConnectorLimit("charger_1", 1, 100),
            ViricitiConnectorLimit("charger_1", 2, 100),
            ViricitiConnectorLimit("charger_2", 1, 50),
            ViricitiConnectorLimit("charger_2", 2, 0),
        ),
    )
    [request] = sim.requests
    start_ms = round(at(2026, 3, 23, 12).timestamp() * 1000)
    assert request.query == {"start": str(start_ms), "end": str(start_ms + 600_000)}


@pytest.mark.parametrize(
    ("days", "queries"),
    [(1, 1), (31, 1), (31.5, 2), (40, 2), (62, 2), (62.01, 3), (75, 3)],
)
async def test_long_ranges_are_split_into_31_day_queries(
    client: ViricitiClient, sim: ViricitiSimulator, clock: Clock, days: float, queries: int
) -> None:
    """Consecutive queries of at most 31 days; the samples come once each, in order."""
    start = at(2026, 3, 23, 11, zone=dt.UTC)
    end = start + dt.timedelta(days=days)
    clock.now = end.timestamp()
    samples = await client.get_power_limits(start, end)
    ranges = [(int(r.query["start"]), int(r.query["end"])) for r in sim.requests]
    assert len(ranges) == queries
    assert all(0 <= last - first <= MS_PER_31_DAYS for first, last in ranges)
    assert ranges[0][0] == round(start.timestamp() * 1000)
    assert ranges[-1][1] == round(end.timestamp() * 1000)
    assert all(ranges[i][1] == ranges[i + 1][0] for i in range(len(ranges) - 1))
    times = [s.time for s in samples]
    assert times == sorted(set(times))
    expected = [s for s in sim.samples(GROUP) if start.timestamp() <= s.time <= end.timestamp()]
    assert [t.timestamp() for t in times] == [s.time for s in expected]
    assert dt.timedelta(days=31) == MAX_SERIES_RANGE


def sample(time: str, group_limit: object = 100, **extra: object) -> dict[str, object]:
    return {
        "limits": [{"limit": group_limit, "chargestation": "c1", "position": 1}],
        "groupLimit": group_limit,
        "time": time,
        **extra,
    }


async def test_seams_without_duplicates_whatever_the_server_does(
    cloud: StandIn, odd_client: ViricitiClient
) -> None:
    """A sample at the seam that both queries give is kept once; a different one stays."""
    path = f"{PREFIX}/time/{GROUP}"
    cloud.answers["GET", path] = [
        Reply(200, [sample("2026-03-01T00:00:00.000Z"), sample("2026-04-01T00:00:00.000Z")]),
        Reply(
            200,
            [
                sample("2026-04-01T00:00:00.000Z"),  # the same again
                sample("2026-04-01T00:00:00.000Z", 50),  # another at the same moment
                sample("2026-03-31T23:00:00.000Z"),  # older than the seam: given already
                sample("2026-04-02T00:00:00.000Z"),
            ],
        ),
    ]
    samples = await odd_client.get_power_limits(
        at(2026, 3, 1, zone=dt.UTC), at(2026, 4, 2, zone=dt.UTC)
    )
    assert [(s.time.isoformat(), s.group_limit) for s in samples] == [
        ("2026-03-01T00:00:00+00:00", 100),
        ("2026-04-01T00:00:00+00:00", 100),
        ("2026-04-01T00:00:00+00:00", 50),
        ("2026-04-02T00:00:00+00:00", 100),
    ]


async def test_power_limits_parsing_is_lenient(cloud: StandIn, odd_client: ViricitiClient) -> None:
    cloud.answers["GET", f"{PREFIX}/time/{GROUP}"] = Reply(
        200,
        [
            sample("2026-03-23T11:05:00.000Z", somethingNew=True),
            {
                "time": "2026-03-23T11:00:00.000+00.00",
                "groupLimit": "n/a",
                "limits": [
                    {"limit": "7.5", "chargestation": "c2", "position": "2"},
                    {"limit": None, "chargestation": "c3", "position": 1.0},
                    {"limit": 5, "chargestation": "", "position": 1},
                    {"limit": 5, "chargestation": "c4", "position": "first"},
                    "nonsense",
                ],
            },
            {"groupLimit": 100, "limits": []},
            {"time": "soon"},
            [],
        ],
    )
    samples = await odd_client.get_power_limits(
        at(2026, 3, 23, 11, zone=dt.UTC), at(2026, 3, 23, 12, zone=dt.UTC)
    )
    assert samples == [
        ViricitiSample(
            at(2026, 3, 23, 11, zone=dt.UTC),
            None,
            (ViricitiConnectorLimit("c2", 2, 7.5), ViricitiConnectorLimit("c3", 1, None)),
        ),
        ViricitiSample(
            at(2026, 3, 23, 11, 5, zone=dt.UTC), 100, (ViricitiConnectorLimit("c1", 1, 100),)
        ),
    ]
    cloud.answers["GET", f"{PREFIX}/time/{GROUP}"] = Reply(200, {"limits": []})
    with pytest.raises(ApiError, match="not a JSON list") as err:
        await odd_client.get_power_limits(
            at(2026, 3, 23, 11, zone=dt.UTC), at(2026, 3, 23, 12, zone=dt.UTC)
        )
    assert_no_secret(err.value)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (dt.datetime(2026, 3, 23), at(2026, 3, 24), "aware"),
        (at(2026, 3, 23), dt.datetime(2026, 3, 24), "aware"),
        (at(2026, 3, 24), at(2026, 3, 23), "before start"),
    ],
)
async def test_power_limits_check_the_range(
    client: ViricitiClient,
    sim: ViricitiSimulator,
    start: dt.datetime,
    end: dt.datetime,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        await client.get_power_limits(start, end)
    assert sim.requests == []


# --- errors -------------------------------------------------------------------------------------


async def test_wrong_key(make_client: MakeClient) -> None:
    RUNTIME_SECRETS.add("wrong-key-5b7f2c")
    with pytest.raises(AuthenticationError, match=r"HTTP 401\) 'Invalid API key'") as err:
        await make_client(api_key="wrong-key-5b7f2c").get_group()
    assert "wrong-key-5b7f2c" not in str(err.value)
    assert_no_secret(err.value)


async def test_key_without_access_to_the_group(make_client: MakeClient) -> None:
    with pytest.raises(AuthenticationError, match="HTTP 403") as err:
        await make_client(api_key=OTHER_KEY, group_id=OTHER_GROUP).get_group_limit()
    assert OTHER_KEY not in str(err.value)


async def test_unknown_group(make_client: MakeClient) -> None:
    with pytest.raises(NotFoundError, match="group not found") as err:
        await make_client(group_id="Nope").get_group()
    assert_no_secret(err.value)


async def test_rate_limited(client: ViricitiClient, sim: ViricitiSimulator) -> None:
    sim.inject_fault("http_429", retry_after=17)
    with pytest.raises(RateLimitedError) as err:
        await client.get_group_limit()
    assert err.value.retry_after == 17
    assert_no_secret(err.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        ("-3", None),
        ("soon", None),
        ("Mon, 23 Mar 2026 11:01:00 GMT", 60.0),
        ("Mon, 23 Mar 2026 11:01:00 -0000", 60.0),
        ("Mon, 23 Mar 2026 10:00:00 GMT", 0.0),
        (None, None),
    ],
)
async def test_retry_after(
    cloud: StandIn, odd_client: ViricitiClient, header: str | None, expected: float | None
) -> None:
    headers = {} if header is None else {"Retry-After": header}
    cloud.answers["GET", f"{PREFIX}/grouplimit/{GROUP}"] = Reply(429, {}, headers)
    with pytest.raises(RateLimitedError) as err:
        await odd_client.get_group_limit()
    assert err.value.retry_after == expected


@pytest.mark.parametrize(
    ("fault", "message", "error"),
    [
        ("http_500", "HTTP 500$", ApiError),
        ("non_json", "not JSON", ApiError),
        ("wrong_shape", "not a JSON object", ApiError),
        ("drop", "connection failed", AnswerLostError),
    ],
)
async def test_simulated_faults(
    client: ViricitiClient,
    sim: ViricitiSimulator,
    fault: str,
    message: str,
    error: type[ApiError],
) -> None:
    sim.inject_fault(fault)
    with pytest.raises(ApiError, match=message) as err:
        await client.get_group()
    assert type(err.value) is error
    assert_no_secret(err.value)
    assert len(sim.requests) == 1  # nothing sent twice


async def test_wrong_shape_of_the_time_series(
    client: ViricitiClient, sim: ViricitiSimulator
) -> None:
    sim.inject_fault("wrong_shape")
    with pytest.raises(ApiError, match="not a JSON list"):
        await client.get_power_limits(at(2026, 3, 23, 11), at(2026, 3, 23, 12))


async def test_errors_quote_the_answer_without_the_key(
    cloud: StandIn, odd_client: ViricitiClient
) -> None:
    cloud.answers["GET", f"{PREFIX}/chargergroup/{GROUP}"] = Reply(
        500, {"error": f"upstream failed for key {KEY}" + "!" * 300}
    )
    with pytest.raises(
        ApiError, match=r"HTTP 500 'upstream failed for key \*\*REDACTED\*\*"
    ) as err:
        await odd_client.get_group()
    assert len(str(err.value)) < 300
    assert_no_secret(err.value)
    cloud.answers["GET", f"{PREFIX}/chargergroup/{GROUP}"] = Reply(502, [KEY])
    with pytest.raises(ApiError, match=r"HTTP 502$") as err:
        await odd_client.get_group()
    assert_no_secret(err.value)


async def test_redirects_are_not_followed(cloud: StandIn, odd_client: ViricitiClient) -> None:
    """A redirect would carry the key's header elsewhere."""
    cloud.answers["GET", f"{PREFIX}/chargergroup/{GROUP}"] = Reply(
        302, b"", {"Location": f"{cloud.base_url}/elsewhere"}
    )
    with pytest.raises(ApiError, match="HTTP 302"):
        await odd_client.get_group()
    assert [seen.path for seen in cloud.requests] == [f"{PREFIX}/chargergroup/{GROUP}"]


async def test_timeout(cloud: StandIn, session: aiohttp.ClientSession) -> None:
    async def hang(request: web.Request) -> web.StreamResponse:
        await cloud.release.wait()
        return web.json_response({})

    cloud.answers["GET", f"{PREFIX}/grouplimit/{GROUP}"] = hang
    client = ViricitiClient(session, KEY, GROUP, base_url=cloud.base_url, request_timeout=0.2)
    with pytest.raises(ApiError, match="no answer in time") as err:
        await client.get_group_limit()
    assert_no_secret(err.value)


async def test_connection_refused(session: aiohttp.ClientSession) -> None:
    RUNTIME_SECRETS.add(KEY)
    client = ViricitiClient(session, KEY, GROUP, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(NotSentError, match="no connection") as err:
        await client.get_group()
    assert_no_secret(err.value)


async def test_group_ids_are_one_path_segment(
    cloud: StandIn, session: aiohttp.ClientSession
) -> None:
    client = ViricitiClient(session, KEY, "a/b c?", base_url=cloud.base_url)
    assert client.group_id == "a/b c?"
    with pytest.raises(NotFoundError):
        await client.get_group()
    assert cloud.requests[0].path == f"{PREFIX}/chargergroup/a%2Fb%20c%3F"


@pytest.mark.parametrize(
    ("key", "group"), [("", GROUP), ("  ", GROUP), (KEY, ""), (KEY, ".."), (KEY, ".")]
)
def test_constructor_checks(session: aiohttp.ClientSession, key: str, group: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        ViricitiClient(session, key, group)


def test_repr_has_no_key(session: aiohttp.ClientSession) -> None:
    RUNTIME_SECRETS.add(KEY)
    client = ViricitiClient(session, KEY, GROUP)
    assert repr(client) == (
        "ViricitiClient(base_url='https://sdk.viriciti.com', group_id='ViriCitiGroup')"
    )


async def test_logs_name_method_and_path_only(
    client: ViricitiClient, sim: ViricitiSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug lines say what was requested; never the key (the autouse guard checks too)."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ev_charge_control.api.viriciti")
    await client.get_power_limits(at(2026, 3, 23, 11), at(2026, 3, 23, 12))
    sim.inject_fault("http_500")
    with pytest.raises(ApiError):
        await client.get_group()
    assert f"ViriCiti GET {PREFIX}/time/{GROUP}" in caplog.text
    assert f"ViriCiti GET {PREFIX}/chargergroup/{GROUP}" in caplog.text
    assert KEY not in caplog.text
    assert "start=" not in caplog.text


async def test_default_clock_follows_freezegun(
    sim: ViricitiSimulator, session: aiohttp.ClientSession, freezer: FrozenDateTimeFactory
) -> None:
    """Without an injected clock the client reads time.time() at each call."""
    freezer.move_to("2026-03-23 11:00:00+00:00")
    client = ViricitiClient(session, KEY, GROUP, base_url=sim.base_url)
    end = at(2026, 3, 23, 12, 30)
    await client.set_group_limit(100, end)
    freezer.tick(dt.timedelta(minutes=30))
    with pytest.raises(ValueError, match="future"):
        await client.set_group_limit(100, end)
