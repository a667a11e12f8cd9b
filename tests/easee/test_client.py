"""The Easee client over real HTTP against a stand-in cloud: requests, parsing, auth, errors."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator, Awaitable, Callable
import dataclasses
from dataclasses import dataclass, field
import datetime as dt
import json
import logging
from pathlib import Path
import secrets
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.ev_charge_control.api.easee import (
    COMMANDS,
    OP_MODES,
    RENEWAL_RETRY_FIRST,
    RENEWAL_RETRY_MAX,
    EaseeBasicChargePlan,
    EaseeCharger,
    EaseeChargerConfig,
    EaseeChargerReading,
    EaseeChargerState,
    EaseeCircuit,
    EaseeCircuitSettings,
    EaseeClient,
    EaseeSite,
    EaseeTokens,
    EaseeWeeklyChargePlan,
    EaseeWeeklyDay,
    EaseeWeeklyRange,
    RenewalPausedError,
    account_id,
    is_it_grid,
)
from custom_components.ev_charge_control.api.errors import (
    AccountBlockedError,
    ApiError,
    AuthenticationError,
    ChargerOfflineError,
    CommandRefusedError,
    EvChargeControlError,
    NotFoundError,
    NotSentError,
    PermissionDeniedError,
    RateLimitedError,
)
from custom_components.ev_charge_control.session import async_get_session
from tests.conftest import RUNTIME_SECRETS
from tests.easee.conftest import EASEE_PASSWORD, EASEE_USERNAME
from tests.easee.plans import (
    BASIC_DAILY,
    BASIC_ONE_OFF,
    BASIC_START_ONLY,
    NOT_FOUND as PLANS_NOT_FOUND,
    WEEKLY,
)
from tests.leaks import assert_no_secrets, free_port

from .bans import ANSWERS, BAN_FORMS, answer_body

pytestmark = pytest.mark.usefixtures("socket_enabled")

LOGIN = "/api/accounts/login"
REFRESH = "/api/accounts/refresh_token"
NOW = 1_800_000_000.0
CHARGER_ID = "EH000001"

UNAUTHORIZED = {"title": "Unauthorized", "status": 401}
NOT_FOUND = {"title": "Not Found", "status": 404}

MASTER = {
    "id": "EH000001",
    "name": "Garage",
    "color": None,
    "createdOn": "2025-01-01T00:00:00Z",
    "updatedOn": "2025-01-02T00:00:00Z",
    "backPlate": {"id": "BP1", "masterBackPlateId": "BP1"},
    "levelOfAccess": 1,
    "productCode": 1,
    "userRole": 1,
}
FOLLOWER = {
    "id": "EH000002",
    "name": "Drive",
    "backPlate": {"id": "BP2", "masterBackPlateId": "BP1"},
    "productCode": 100,
    "somethingNew": {"a": 1},
}
SPARSE_CHARGER = {"id": "EH000003"}

STATE = {
    "chargerOpMode": 3,
    "totalPower": 11.04,
    "sessionEnergy": 5.5,
    "lifetimeEnergy": 1234.5,
    "dynamicChargerCurrent": 16,
    "dynamicCircuitCurrentP1": 20,
    "dynamicCircuitCurrentP2": 20.5,
    "dynamicCircuitCurrentP3": 21,
    "outputCurrent": 15.9,
    "inCurrentT2": 0.1,
    "inCurrentT3": 16.1,
    "inCurrentT4": 16.2,
    "inCurrentT5": 16.3,
    "voltage": 230.4,
    "cableLocked": True,
    "isOnline": True,
    "reasonForNoCurrent": 52,
    "smartCharging": False,
    "latestPulse": "2026-11-21T12:00:00Z",
    "chargerFirmware": 302,
    "wiFiRSSI": -60,
    "ledMode": 18,
    "cableRating": 32,
    "outputPhase": 30,
    "energyPerHour": 1.2,
}
STATE_PARSED = EaseeChargerState(
    op_mode=3,
    total_power=11.04,
    session_energy=5.5,
    lifetime_energy=1234.5,
    dynamic_charger_current=16.0,
    dynamic_circuit_current=(20.0, 20.5, 21.0),
    output_current=15.9,
    in_current=(16.1, 16.2, 16.3),
    voltage=230.4,
    cable_locked=True,
    is_online=True,
    reason_for_no_current=52,
    smart_charging=False,
    latest_pulse=dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC),
    firmware=302,
)
CONFIG = {
    "isEnabled": True,
    "maxChargerCurrent": 32,
    "circuitMaxCurrentP1": 25,
    "circuitMaxCurrentP2": 25,
    "circuitMaxCurrentP3": 25.5,
    "phaseMode": 2,
    "smartButtonEnabled": False,
    "ledStripBrightness": 50,
    "authorizationRequired": False,
    "wiFiSSID": "home",
}
SITE = {
    "id": 10,
    "siteKey": "AB12-CD34",
    "name": "Home",
    "levelOfAccess": 1,
    "ratedCurrent": 40,
    "address": {"street": "Main street 1"},
    "circuits": [
        {
            "id": 100,
            "siteId": 10,
            "circuitPanelId": 1,
            "panelName": "1",
            "ratedCurrent": 25,
            "fuse": 25,
            "chargers": [MASTER, FOLLOWER],
        },
        # No siteId (taken from the site), no rated current, a bare charger id.
        {"id": 101, "panelName": "Barn", "chargers": ["EH000003"]},
        {"id": 102, "chargers": []},
    ],
}
CIRCUIT_SETTINGS = {
    "maxCircuitCurrentP1": 25,
    "maxCircuitCurrentP2": 25,
    "maxCircuitCurrentP3": 25,
    "offlineMaxCircuitCurrentP1": 10,
    "offlineMaxCircuitCurrentP2": 10.5,
    "offlineMaxCircuitCurrentP3": "eleven",
    "enableIdleCurrent": False,
}
COMMAND_ANSWER = {"device": CHARGER_ID, "commandId": 48, "ticks": 638000000000000000}


def b64url(data: bytes) -> str:
    """Encode like a JWT does: base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(payload: object) -> str:
    """Return an HS256-shaped JWT with the given payload and a random signature."""
    header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    return f"{header}.{b64url(json.dumps(payload).encode())}.{b64url(secrets.token_bytes(32))}"


def assert_no_secret(err: BaseException) -> None:
    """Fail when the password or any token issued shows in the exception or its chain."""
    assert RUNTIME_SECRETS, "the stand-in cloud issued no token yet"
    # Raised outside any except block: nothing aiohttp knew rides along.
    assert_no_secrets(err, EASEE_PASSWORD, *RUNTIME_SECRETS, unchained=True)


@dataclass
class Reply:
    """A canned answer: JSON (or raw bytes) with a status and headers."""

    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.StreamResponse:
        """Build the aiohttp response."""
        if isinstance(self.body, bytes):
            return web.Response(status=self.status, body=self.body, headers=self.headers)
        if self.status == 204:
            return web.Response(status=204, headers=self.headers)
        return web.json_response(self.body, status=self.status, headers=self.headers)


type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request as the stand-in cloud received it."""

    method: str
    path: str  # still percent-encoded
    query: dict[str, str]
    body: object
    auth: str | None
    user_agent: str | None = None


class FakeEasee:
    """A small stand-in for the Easee cloud: issues JWTs, checks bearers, records requests."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.events: list[str] = []
        self.answers: dict[tuple[str, str], Reply | Handler] = {}
        self.api_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.accept_any_token = True  # False: every bearer gets 401
        self.user_id: object = 4242
        self.expires_in: object = 86400
        # The access token's exp claim, in seconds from its issue (None: no exp claim).
        self.exp_in: int | None = 86400
        self.login_reply: Reply | None = None
        self.refresh_reply: Reply | None = None
        # Hold the refresh answer until this many 401s were served (a storm).
        self.hold_refresh_until: int = 0
        self.unauthorized = 0
        self._storm = asyncio.Event()
        # Hold the first 401 answer until this event is set (holding tells it arrived).
        self.hold_first_401: asyncio.Event | None = None
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self._server: TestServer | None = None

    @property
    def base_url(self) -> str:
        """Return where the stand-in listens."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    async def start(self) -> None:
        """Listen on 127.0.0.1, without an access log (it would write the bearer)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server(access_log=None, shutdown_timeout=1.0)

    async def stop(self) -> None:
        """Let held answers go and close."""
        self.release.set()
        self._storm.set()
        if self.hold_first_401 is not None:
            self.hold_first_401.set()
        assert self._server is not None
        await self._server.close()

    def issue(self, *, api_ok: bool = True) -> tuple[str, str]:
        """Make a new token pair (secret for the rest of the test)."""
        now = int(NOW)
        claims: dict[str, object] = {
            "AccountId": 7,
            "unique_name": EASEE_USERNAME,
            "role": ["User"],
            "nbf": now,
            "iat": now,
        }
        if self.exp_in is not None:
            claims["exp"] = now + self.exp_in
        if self.user_id is not None:
            claims["UserId"] = self.user_id
        access = make_jwt(claims)
        refresh = f"refresh-{secrets.token_urlsafe(24)}"
        RUNTIME_SECRETS.update((access, refresh))
        if api_ok:
            self.api_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return access, refresh

    def token_body(self, access: str, refresh: str) -> dict[str, object]:
        """Return a login/refresh answer for a token pair."""
        return {
            "accessToken": access,
            "expiresIn": self.expires_in,
            "accessClaims": ["User"],
            "tokenType": "Bearer",
            "refreshToken": refresh,
        }

    def paths(self) -> list[str]:
        """Return 'METHOD path' of every request so far."""
        return [f"{seen.method} {seen.path}" for seen in self.requests]

    def count(self, path: str) -> int:
        """Return how many requests went to a path."""
        return sum(seen.path == path for seen in self.requests)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        seen = Seen(
            method=request.method,
            path=request.rel_url.raw_path,
            query=dict(request.query),
            body=json.loads(raw) if raw else None,
            auth=request.headers.get("Authorization"),
            user_agent=request.headers.get("User-Agent"),
        )
        self.requests.append(seen)
        self.events.append(f"request {seen.method} {seen.path}")
        if seen.path == LOGIN:
            return self._login(seen).response()
        if seen.path == REFRESH:
            if self.hold_refresh_until:
                await self._storm.wait()
            return self._refresh(seen).response()
        bearer = (seen.auth or "").removeprefix("Bearer ")
        if not self.accept_any_token or bearer not in self.api_tokens:
            self.unauthorized += 1
            if self.unauthorized >= self.hold_refresh_until:
                self._storm.set()
            if self.hold_first_401 is not None and self.unauthorized == 1:
                self.holding.set()
                await self.hold_first_401.wait()
            return Reply(401, UNAUTHORIZED).response()
        answer = self.answers.get((seen.method, seen.path), Reply(404, NOT_FOUND))
        if isinstance(answer, Reply):
            return answer.response()
        return await answer(request)

    def _login(self, seen: Seen) -> Reply:
        if self.login_reply is not None:
            return self.login_reply
        body = seen.body if isinstance(seen.body, dict) else {}
        if body.get("userName") != EASEE_USERNAME or body.get("password") != EASEE_PASSWORD:
            return Reply(
                400,
                {
                    "errorCode": 100,
                    "errorCodeName": "InvalidUserPassword",
                    "title": "Invalid username or password",
                },
            )
        return Reply(200, self.token_body(*self.issue()))

    def _refresh(self, seen: Seen) -> Reply:
        if self.refresh_reply is not None:
            return self.refresh_reply
        body = seen.body if isinstance(seen.body, dict) else {}
        refresh = body.get("refreshToken")
        if refresh not in self.refresh_tokens or not isinstance(body.get("accessToken"), str):
            return Reply(
                400,
                {"errorCode": 101, "errorCodeName": "InvalidRefreshToken", "title": "Invalid"},
            )
        self.refresh_tokens.discard(refresh)
        return Reply(200, self.token_body(*self.issue()))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def cloud() -> AsyncGenerator[FakeEasee]:
    """Start the stand-in cloud on 127.0.0.1."""
    fake = FakeEasee()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return the integration's aiohttp session."""
    return async_get_session(hass)


@pytest.fixture
def clock() -> Clock:
    """Return a hand-moved clock."""
    return Clock()


@pytest.fixture
def saved() -> list[EaseeTokens]:
    """Collect what on_tokens is called with."""
    return []


@pytest.fixture
def gate_calls() -> list[str]:
    """Collect the kinds request_gate is called with."""
    return []


type MakeClient = Callable[..., EaseeClient]


@pytest.fixture
def make_client(
    cloud: FakeEasee,
    session: aiohttp.ClientSession,
    clock: Clock,
    saved: list[EaseeTokens],
    gate_calls: list[str],
) -> MakeClient:
    """Return a factory of clients for the stand-in cloud (injected clock, recording hooks)."""

    def gate(kind: str) -> None:
        gate_calls.append(kind)
        # Into the cloud's event list too, to check it comes before each request.
        cloud.events.append(f"gate {kind}")

    def make(**kwargs: Any) -> EaseeClient:
        options: dict[str, Any] = {
            "base_url": cloud.base_url,
            "clock": clock,
            "on_tokens": saved.append,
            "request_gate": gate,
            **kwargs,
        }
        password = options.pop("password", EASEE_PASSWORD)
        return EaseeClient(session, EASEE_USERNAME, password, **options)

    return make


@pytest.fixture
def tokens(cloud: FakeEasee) -> EaseeTokens:
    """Return valid tokens the cloud issued earlier (an hour left)."""
    access, refresh = cloud.issue()
    return EaseeTokens(access, refresh, NOW + 3600)


@pytest.fixture
def client(make_client: MakeClient, tokens: EaseeTokens) -> EaseeClient:
    """Return a client that already holds valid tokens."""
    return make_client(tokens=tokens)


# Login and tokens


async def test_login(
    cloud: FakeEasee,
    make_client: MakeClient,
    saved: list[EaseeTokens],
    gate_calls: list[str],
) -> None:
    """Login posts user name and password and keeps (and hands out) the tokens."""
    client = make_client()
    assert client.tokens is None
    tokens = await client.login()
    [seen] = cloud.requests
    assert (seen.method, seen.path, seen.query) == ("POST", LOGIN, {})
    assert seen.body == {"userName": EASEE_USERNAME, "password": EASEE_PASSWORD}
    assert seen.auth is None
    assert tokens.access_token in cloud.api_tokens
    assert tokens.refresh_token in cloud.refresh_tokens
    assert tokens.expires_at == NOW + 86400
    assert client.tokens == tokens
    assert saved == [tokens]
    assert gate_calls == ["auth"]


async def test_login_always_logs_in(
    cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens
) -> None:
    """login() logs in even when the client holds good tokens."""
    new = await client.login()
    assert new != tokens
    assert cloud.paths() == [f"POST {LOGIN}"]


@pytest.mark.parametrize(
    ("expires_in", "exp_in", "expected"),
    [
        (3600, 3600, NOW + 3600),
        (90.5, 3600, NOW + 90.5),
        ("7200", 3600, NOW + 7200),
        (0, 1800, int(NOW) + 1800),
        # No expiresIn: the token's own exp claim says when it ends.
        (None, 1800, int(NOW) + 1800),
        (None, 7200, int(NOW) + 7200),
        # Neither: an hour, what the cloud gives today.
        (None, None, NOW + 3600),
    ],
)
async def test_login_expiry(
    cloud: FakeEasee,
    make_client: MakeClient,
    expires_in: object,
    exp_in: int | None,
    expected: float,
) -> None:
    """expiresIn counts from the clock; without it the JWT's exp claim is the end."""
    cloud.expires_in = expires_in
    cloud.exp_in = exp_in
    assert (await make_client().login()).expires_at == expected


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(None, id="invalid_user_password"),
        pytest.param(Reply(401, UNAUTHORIZED), id="http_401"),
        pytest.param(Reply(400, {"errorCode": 100, "title": "x"}), id="error_code_only"),
    ],
)
async def test_login_refused_latches(
    cloud: FakeEasee, make_client: MakeClient, saved: list[EaseeTokens], reply: Reply | None
) -> None:
    """Refused credentials raise AuthenticationError, and then nothing more is ever sent."""
    cloud.login_reply = reply
    cloud.issue()  # something to look for in the exception
    client = make_client(password="wrong-password")
    with pytest.raises(AuthenticationError) as err:
        await client.login()
    assert_no_secret(err.value)
    assert "wrong-password" not in str(err.value)
    assert cloud.count(LOGIN) == 1
    with pytest.raises(AuthenticationError):
        await client.get_chargers()
    with pytest.raises(AuthenticationError):
        await client.login()
    assert cloud.count(LOGIN) == 1
    assert len(cloud.requests) == 1
    assert saved == []


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        pytest.param(
            Reply(400, {"errorCode": 400, "errorCodeName": "BadRequest", "title": EASEE_PASSWORD}),
            ApiError,
            "HTTP 400$",
            id="bad_request",
        ),
        pytest.param(
            Reply(400, b"<html>" + EASEE_PASSWORD.encode()), ApiError, "HTTP 400$", id="html"
        ),
        pytest.param(
            Reply(429, {"title": "Too Many Requests"}, {"Retry-After": "30"}),
            RateLimitedError,
            "rate limited",
            id="rate_limited",
        ),
        *(
            pytest.param(
                Reply(ANSWERS[form]["status"], answer_body(form)),
                AccountBlockedError,
                "blocked",
                id=form,
            )
            for form in BAN_FORMS
        ),
        pytest.param(Reply(400, [EASEE_PASSWORD]), ApiError, "HTTP 400$", id="400_list"),
        pytest.param(Reply(500, {"title": EASEE_PASSWORD}), ApiError, "HTTP 500$", id="http_500"),
        pytest.param(
            Reply(200, b"not json " + EASEE_PASSWORD.encode()), ApiError, "not JSON", id="non_json"
        ),
        pytest.param(Reply(200, [1, 2]), ApiError, "without tokens", id="list"),
        pytest.param(
            Reply(200, {"accessToken": "only-access-token", "expiresIn": 60}),
            ApiError,
            "without tokens",
            id="no_refresh_token",
        ),
    ],
)
async def test_login_failures_do_not_latch(
    cloud: FakeEasee,
    make_client: MakeClient,
    clock: Clock,
    reply: Reply,
    error: type[Exception],
    message: str,
) -> None:
    """A login that fails for another reason says so without quoting the answer; no latch."""
    RUNTIME_SECRETS.add("only-access-token")
    cloud.login_reply = reply
    client = make_client()
    with pytest.raises(error, match=message) as err:
        await client.get_chargers()
    assert not isinstance(err.value, AuthenticationError)
    assert_no_secret(err.value)
    assert cloud.paths() == [f"POST {LOGIN}"]
    # The next attempt logs in again (a failed one waits its back-off first).
    if isinstance(err.value, ApiError):
        clock.now += RENEWAL_RETRY_FIRST
    cloud.login_reply = None
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    assert await client.get_chargers() == []
    assert cloud.paths()[1:] == [f"POST {LOGIN}", "GET /api/chargers"]


async def test_first_request_logs_in(
    cloud: FakeEasee, make_client: MakeClient, saved: list[EaseeTokens], gate_calls: list[str]
) -> None:
    """Without tokens the client logs in first, then sends the bearer it got."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [SPARSE_CHARGER])
    client = make_client()
    assert len(await client.get_chargers()) == 1
    assert cloud.paths() == [f"POST {LOGIN}", "GET /api/chargers"]
    [tokens] = saved
    assert cloud.requests[1].auth == f"Bearer {tokens.access_token}"
    assert gate_calls == ["auth", "read"]


async def test_concurrent_first_requests_log_in_once(
    cloud: FakeEasee, make_client: MakeClient
) -> None:
    """Ten calls at once without tokens share one login."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    client = make_client()
    await asyncio.gather(*(client.get_chargers() for _ in range(10)))
    assert cloud.count(LOGIN) == 1
    assert cloud.count("/api/chargers") == 10


async def test_user_agent_on_every_request(
    cloud: FakeEasee, make_client: MakeClient, tokens: EaseeTokens, clock: Clock
) -> None:
    """Easee asks for a User-Agent naming the integration: login, refresh and reads carry it."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    client = make_client(user_agent="ev_charge_control/1.2.3")
    await client.login()
    await client.get_chargers()
    clock.now = client.tokens.expires_at if client.tokens else NOW
    await client.get_chargers()
    assert cloud.paths() == [
        f"POST {LOGIN}",
        "GET /api/chargers",
        f"POST {REFRESH}",
        "GET /api/chargers",
    ]
    assert {seen.user_agent for seen in cloud.requests} == {"ev_charge_control/1.2.3"}


async def test_refresh_before_expiry(
    cloud: FakeEasee,
    make_client: MakeClient,
    tokens: EaseeTokens,
    clock: Clock,
    saved: list[EaseeTokens],
    gate_calls: list[str],
) -> None:
    """Tokens with a minute or less left are refreshed before the request, not after a 401."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    client = make_client(tokens=tokens)
    clock.now = tokens.expires_at - 61
    await client.get_chargers()
    assert cloud.paths() == ["GET /api/chargers"]
    assert cloud.requests[0].auth == f"Bearer {tokens.access_token}"

    clock.now = tokens.expires_at - 60
    await client.get_chargers()
    assert cloud.paths()[1:] == [f"POST {REFRESH}", "GET /api/chargers"]
    assert cloud.requests[1].body == {
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
    }
    assert cloud.requests[1].auth is None
    [new] = saved
    assert client.tokens == new
    assert new.expires_at == clock.now + 86400
    assert new.access_token != tokens.access_token
    assert new.refresh_token != tokens.refresh_token
    assert cloud.requests[2].auth == f"Bearer {new.access_token}"
    assert gate_calls == ["read", "auth", "read"]

    # The new tokens last: no more refreshes until they are close to their end.
    await client.get_chargers()
    assert cloud.count(REFRESH) == 1


async def test_expired_tokens_refused_refresh_logs_in(
    cloud: FakeEasee,
    make_client: MakeClient,
    tokens: EaseeTokens,
    clock: Clock,
    saved: list[EaseeTokens],
) -> None:
    """Expired tokens whose refresh token the cloud refuses lead to a login."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    cloud.refresh_tokens.clear()
    clock.now = tokens.expires_at + 10
    client = make_client(tokens=tokens)
    await client.get_chargers()
    assert cloud.paths() == [f"POST {REFRESH}", f"POST {LOGIN}", "GET /api/chargers"]
    [new] = saved
    assert cloud.requests[2].auth == f"Bearer {new.access_token}"


async def test_concurrent_expiring_refresh_once(
    cloud: FakeEasee, make_client: MakeClient, tokens: EaseeTokens, clock: Clock
) -> None:
    """Ten calls at once with expiring tokens share one refresh."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    clock.now = tokens.expires_at - 5
    client = make_client(tokens=tokens)
    await asyncio.gather(*(client.get_chargers() for _ in range(10)))
    assert cloud.count(REFRESH) == 1
    assert cloud.count(LOGIN) == 0


async def test_default_clock_follows_freezegun(
    cloud: FakeEasee,
    session: aiohttp.ClientSession,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without an injected clock the client reads time.time() at each call (freezegun moves it)."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    freezer.move_to("2026-11-21 12:00:00+00:00")
    start = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC).timestamp()
    access, refresh = cloud.issue()
    client = EaseeClient(
        session,
        EASEE_USERNAME,
        EASEE_PASSWORD,
        base_url=cloud.base_url,
        tokens=EaseeTokens(access, refresh, start + 600),
    )
    await client.get_chargers()
    assert cloud.count(REFRESH) == 0
    freezer.tick(dt.timedelta(seconds=541))
    await client.get_chargers()
    assert cloud.count(REFRESH) == 1
    assert client.tokens is not None
    assert client.tokens.expires_at == start + 541 + 86400


# The 401 path


async def test_401_refreshes_and_retries(
    cloud: FakeEasee,
    client: EaseeClient,
    tokens: EaseeTokens,
    saved: list[EaseeTokens],
    gate_calls: list[str],
) -> None:
    """A token the cloud stopped taking is refreshed once and the request sent again."""
    cloud.api_tokens.discard(tokens.access_token)
    cloud.answers["GET", "/api/chargers"] = Reply(200, [MASTER])
    assert [charger.id for charger in await client.get_chargers()] == [CHARGER_ID]
    assert cloud.paths() == ["GET /api/chargers", f"POST {REFRESH}", "GET /api/chargers"]
    [new] = saved
    assert cloud.requests[0].auth == f"Bearer {tokens.access_token}"
    assert cloud.requests[2].auth == f"Bearer {new.access_token}"
    assert gate_calls == ["read", "auth", "read"]
    assert cloud.events == [
        "gate read",
        "request GET /api/chargers",
        "gate auth",
        f"request POST {REFRESH}",
        "gate read",
        "request GET /api/chargers",
    ]


async def test_401_refresh_refused_logs_in(
    cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens, saved: list[EaseeTokens]
) -> None:
    """When the refresh token is refused too, the client logs in and retries."""
    cloud.api_tokens.discard(tokens.access_token)
    cloud.refresh_tokens.clear()
    cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/commands/reboot"] = Reply(
        202, COMMAND_ANSWER
    )
    assert await client.command(CHARGER_ID, "reboot") == COMMAND_ANSWER["ticks"]
    assert cloud.paths() == [
        f"POST /api/chargers/{CHARGER_ID}/commands/reboot",
        f"POST {REFRESH}",
        f"POST {LOGIN}",
        f"POST /api/chargers/{CHARGER_ID}/commands/reboot",
    ]
    [new] = saved
    assert cloud.requests[3].auth == f"Bearer {new.access_token}"


async def test_401_refresh_answered_401_logs_in(
    cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens
) -> None:
    """A refresh answered 401 (not 400) is a refusal too."""
    cloud.api_tokens.discard(tokens.access_token)
    cloud.refresh_reply = Reply(401, UNAUTHORIZED)
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    await client.get_chargers()
    assert cloud.count(REFRESH) == 1
    assert cloud.count(LOGIN) == 1


async def test_401_after_refresh_logs_in(
    cloud: FakeEasee, client: EaseeClient, saved: list[EaseeTokens]
) -> None:
    """A refreshed token that is refused as well leads to one login, then success."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    cloud.accept_any_token = False
    original_login = cloud._login

    def login_and_accept(seen: Seen) -> Reply:
        cloud.accept_any_token = True
        return original_login(seen)

    cloud._login = login_and_accept  # type: ignore[method-assign]
    await client.get_chargers()
    assert cloud.paths() == [
        "GET /api/chargers",
        f"POST {REFRESH}",
        "GET /api/chargers",
        f"POST {LOGIN}",
        "GET /api/chargers",
    ]
    assert len(saved) == 2


async def test_401_after_login_latches(
    cloud: FakeEasee, client: EaseeClient, saved: list[EaseeTokens], gate_calls: list[str]
) -> None:
    """Refused after refresh and after login: AuthenticationError, then no request at all."""
    cloud.accept_any_token = False
    with pytest.raises(AuthenticationError) as err:
        await client.get_state(CHARGER_ID)
    assert_no_secret(err.value)
    assert cloud.paths() == [
        f"GET /api/chargers/{CHARGER_ID}/state",
        f"POST {REFRESH}",
        f"GET /api/chargers/{CHARGER_ID}/state",
        f"POST {LOGIN}",
        f"GET /api/chargers/{CHARGER_ID}/state",
    ]
    assert len(saved) == 2
    sent = len(cloud.requests)
    for call in (
        client.get_chargers(),
        client.login(),
        client.command(CHARGER_ID, "start_charging"),
        client.get_weekly_charge_plan(CHARGER_ID),
    ):
        with pytest.raises(AuthenticationError):
            await call
    assert len(cloud.requests) == sent
    assert len(gate_calls) == sent


async def test_401_after_own_login_latches_without_second_login(
    cloud: FakeEasee, client: EaseeClient
) -> None:
    """A call that already logged in (refresh refused) does not log in again on the next 401."""
    cloud.accept_any_token = False
    cloud.refresh_tokens.clear()
    with pytest.raises(AuthenticationError):
        await client.get_chargers()
    assert cloud.paths() == [
        "GET /api/chargers",
        f"POST {REFRESH}",
        f"POST {LOGIN}",
        "GET /api/chargers",
    ]


async def test_401_on_fresh_login_token_refreshes_then_latches(
    cloud: FakeEasee, make_client: MakeClient
) -> None:
    """A call that logged in first and is refused gets one refresh, then gives up."""
    cloud.accept_any_token = False
    client = make_client()
    with pytest.raises(AuthenticationError):
        await client.get_chargers()
    assert cloud.paths() == [
        f"POST {LOGIN}",
        "GET /api/chargers",
        f"POST {REFRESH}",
        "GET /api/chargers",
    ]


async def test_401_on_token_of_another_login_latches(
    cloud: FakeEasee, client: EaseeClient, saved: list[EaseeTokens]
) -> None:
    """Retried with the token another call's login just got and refused: no second login."""
    cloud.accept_any_token = False
    cloud.hold_first_401 = asyncio.Event()
    call = asyncio.create_task(client.get_chargers())
    await cloud.holding.wait()
    new = await client.login()
    cloud.hold_first_401.set()
    with pytest.raises(AuthenticationError) as err:
        await call
    assert_no_secret(err.value)
    assert cloud.paths() == ["GET /api/chargers", f"POST {LOGIN}", "GET /api/chargers"]
    assert cloud.requests[2].auth == f"Bearer {new.access_token}"
    assert saved == [new]


async def test_401_then_login_refused_latches(
    cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens
) -> None:
    """Refresh refused and password changed: AuthenticationError from the login."""
    cloud.api_tokens.discard(tokens.access_token)
    cloud.refresh_tokens.clear()
    cloud.login_reply = Reply(400, {"errorCode": 100, "errorCodeName": "InvalidUserPassword"})
    with pytest.raises(AuthenticationError, match="password refused") as err:
        await client.get_chargers()
    assert_no_secret(err.value)
    with pytest.raises(AuthenticationError):
        await client.get_chargers()
    assert cloud.paths() == ["GET /api/chargers", f"POST {REFRESH}", f"POST {LOGIN}"]


async def test_401_storm_refreshes_once(
    cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens, saved: list[EaseeTokens]
) -> None:
    """Ten calls that all get a 401 at once share one refresh and all succeed."""
    cloud.api_tokens.discard(tokens.access_token)
    cloud.hold_refresh_until = 10
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    await asyncio.gather(*(client.get_chargers() for _ in range(10)))
    assert cloud.unauthorized == 10
    assert cloud.count(REFRESH) == 1
    assert cloud.count(LOGIN) == 0
    assert cloud.count("/api/chargers") == 20
    [new] = saved
    assert [seen.auth for seen in cloud.requests[-10:]] == [f"Bearer {new.access_token}"] * 10


async def test_401_storm_refresh_refused_logs_in_once(
    cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens
) -> None:
    """Ten 401s at once with a dead refresh token: one refresh, one login, all succeed."""
    cloud.api_tokens.discard(tokens.access_token)
    cloud.refresh_tokens.clear()
    cloud.hold_refresh_until = 10
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    await asyncio.gather(*(client.get_chargers() for _ in range(10)))
    assert cloud.count(REFRESH) == 1
    assert cloud.count(LOGIN) == 1
    assert cloud.count("/api/chargers") == 20


async def test_401_storm_nothing_accepted(cloud: FakeEasee, client: EaseeClient) -> None:
    """Ten calls refused whatever the token: one refresh, one login, ten AuthenticationErrors."""
    cloud.accept_any_token = False
    cloud.hold_refresh_until = 10
    results = await asyncio.gather(
        *(client.get_chargers() for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(result, AuthenticationError) for result in results)
    assert cloud.count(REFRESH) == 1
    assert cloud.count(LOGIN) == 1
    # Each call tries at most three times; many stop earlier once the client is latched.
    assert 10 < cloud.count("/api/chargers") <= 30
    for result in results:
        assert isinstance(result, BaseException)
        assert_no_secret(result)


# Request gate


async def test_gate_called_before_every_request(cloud: FakeEasee, make_client: MakeClient) -> None:
    """The gate hears of each request, with its kind, before it leaves."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/settings"] = Reply(202, [])
    client = make_client()
    await client.get_chargers()
    await client.update_settings(CHARGER_ID, enabled=True)
    assert cloud.events == [
        "gate auth",
        f"request POST {LOGIN}",
        "gate read",
        "request GET /api/chargers",
        "gate write",
        f"request POST /api/chargers/{CHARGER_ID}/settings",
    ]


class BudgetSpentError(Exception):
    """What an integration's budget might raise."""


@pytest.mark.parametrize("refused_kind", ["auth", "read", "write"])
async def test_gate_exception_propagates_and_nothing_is_sent(
    cloud: FakeEasee, make_client: MakeClient, refused_kind: str
) -> None:
    """When the gate raises, its exception reaches the caller unchanged and nothing is sent."""
    spent = BudgetSpentError("budget spent")
    sent_before: list[int] = []

    def gate(kind: str) -> None:
        if kind == refused_kind:
            sent_before.append(len(cloud.requests))
            raise spent

    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/commands/reboot"] = Reply(
        202, COMMAND_ANSWER
    )
    client = make_client(request_gate=gate)

    async def read_then_write() -> None:
        await client.get_chargers()
        await client.command(CHARGER_ID, "reboot")

    with pytest.raises(BudgetSpentError) as err:
        await read_then_write()
    assert err.value is spent
    expected = {
        "auth": [],
        "read": [f"POST {LOGIN}"],
        "write": [f"POST {LOGIN}", "GET /api/chargers"],
    }
    assert cloud.paths() == expected[refused_kind]
    assert sent_before == [len(expected[refused_kind])]


# Reads


async def test_get_chargers(cloud: FakeEasee, client: EaseeClient, tokens: EaseeTokens) -> None:
    """The account's chargers, with the master of the circuit recognised."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [MASTER, FOLLOWER, SPARSE_CHARGER])
    chargers = await client.get_chargers()
    assert chargers == [
        EaseeCharger("EH000001", "Garage", 1, "BP1", "BP1"),
        EaseeCharger("EH000002", "Drive", 100, "BP2", "BP1"),
        EaseeCharger("EH000003", "EH000003", None, None, None),
    ]
    assert [charger.is_master for charger in chargers] == [True, False, False]
    [seen] = cloud.requests
    assert (seen.method, seen.path, seen.query, seen.body) == ("GET", "/api/chargers", {}, None)
    assert seen.auth == f"Bearer {tokens.access_token}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"id": CHARGER_ID}, "not a JSON list"),
        ([MASTER, {"name": "no id"}], "without an id"),
        ([MASTER, {"id": 12}], "without an id"),
        (["EH000001"], "without an id"),
    ],
)
async def test_get_chargers_wrong_shape(
    cloud: FakeEasee, client: EaseeClient, body: object, message: str
) -> None:
    """A charger list the client cannot read is an ApiError."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, body)
    with pytest.raises(ApiError, match=message) as err:
        await client.get_chargers()
    assert "GET /api/chargers" in str(err.value)
    assert_no_secret(err.value)


async def test_get_site_ids(cloud: FakeEasee, client: EaseeClient) -> None:
    """The ids of the account's sites (products)."""
    cloud.answers["GET", "/api/accounts/products"] = Reply(200, [SITE, {"id": "11"}])
    assert await client.get_site_ids() == [10, 11]
    assert cloud.paths() == ["GET /api/accounts/products"]
    cloud.answers["GET", "/api/accounts/products"] = Reply(200, [SITE, {"name": "no id"}])
    with pytest.raises(ApiError, match="a site without an id"):
        await client.get_site_ids()
    cloud.answers["GET", "/api/accounts/products"] = Reply(200, [SITE, 11])
    with pytest.raises(ApiError, match="a site without an id"):
        await client.get_site_ids()


async def test_get_site_names(cloud: FakeEasee, client: EaseeClient) -> None:
    """The account's sites by name, in one request (a site without a name is named by its id)."""
    cloud.answers["GET", "/api/accounts/products"] = Reply(200, [SITE, {"id": 11, "name": " "}])
    assert await client.get_site_names() == {10: SITE["name"], 11: "11"}
    assert cloud.paths() == ["GET /api/accounts/products"]


async def test_get_site(cloud: FakeEasee, client: EaseeClient) -> None:
    """A site in detail: circuits with their chargers, gaps filled from the site."""
    cloud.answers["GET", "/api/sites/10"] = Reply(200, SITE)
    site = await client.get_site(10)
    assert site == EaseeSite(
        id=10,
        name="Home",
        circuits=(
            EaseeCircuit(100, 10, "1", 25.0, ("EH000001", "EH000002"), master_id="EH000001"),
            EaseeCircuit(101, 10, "Barn", None, ("EH000003",)),
            EaseeCircuit(102, 10, "102", None, ()),
        ),
    )
    [seen] = cloud.requests
    assert (seen.method, seen.path, seen.query) == ("GET", "/api/sites/10", {"detailed": "true"})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": 10}, EaseeSite(10, "10", ())),
        ({"id": 10, "name": "Home", "circuits": None}, EaseeSite(10, "Home", ())),
    ],
)
async def test_get_site_sparse(
    cloud: FakeEasee, client: EaseeClient, body: object, expected: EaseeSite
) -> None:
    """A site without circuits or name still reads."""
    cloud.answers["GET", "/api/sites/10"] = Reply(200, body)
    assert await client.get_site(10) == expected


def _fixture(name: str) -> Any:
    return json.loads((Path(__file__).parents[1] / "fixtures" / name).read_text(encoding="utf-8"))


async def test_real_chargers_list_names_no_master(cloud: FakeEasee, client: EaseeClient) -> None:
    """A real account's list answers backPlate null: nobody is a master by it."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, _fixture("easee_chargers.json"))
    chargers = await client.get_chargers()
    assert [(c.id, c.back_plate_id, c.is_master) for c in chargers] == [
        ("EH100001", None, False),
        ("EH100002", None, False),
    ]


async def test_real_site_names_the_master_and_skips_an_empty_back_plate(
    cloud: FakeEasee, client: EaseeClient
) -> None:
    """The site's circuits carry the back plates: the master is there; id null is skipped."""
    cloud.answers["GET", "/api/sites/97531"] = Reply(200, _fixture("easee_site_detailed.json"))
    site = await client.get_site(97531)
    assert site == EaseeSite(
        id=97531,
        name="Farm",
        circuits=(
            EaseeCircuit(
                48213, 97531, "Stable", 25.0, ("EH100002", "EH100001"), master_id="EH100001"
            ),
        ),
    )


async def test_real_site_state(cloud: FakeEasee, client: EaseeClient) -> None:
    """One answer, every charger of the site: its state and its config, typed."""
    cloud.answers["GET", "/api/sites/97531/state"] = Reply(200, _fixture("easee_site_state.json"))
    site_state = await client.get_site_state(97531)
    assert cloud.paths() == ["GET /api/sites/97531/state"]
    assert site_state.site_id == 97531
    assert list(site_state.chargers) == ["EH100001", "EH100002"]
    master, secondary = site_state.chargers.values()
    assert master.state is not None
    assert secondary.state is not None
    assert (master.state.op_mode, master.state.total_power, master.state.firmware) == (3, 11.1, 312)
    assert master.state.dynamic_circuit_current == (40.0, 40.0, 40.0)
    assert secondary.state.reason_for_no_current is None  # null in the answer
    assert master.config is not None
    assert secondary.config is not None
    assert (master.config.local_node_type, master.config.is_master) == (1, True)
    assert (secondary.config.local_node_type, secondary.config.is_master) == (2, False)
    assert (master.config.max_charger_current, secondary.config.max_charger_current) == (32, 16)
    assert master.config.circuit_max_current == (25.0, 25.0, 25.0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {}),
        ({"circuitStates": None}, {}),
        # No charger id (an empty back plate), not an object: skipped; no state: None.
        (
            {
                "circuitStates": [
                    {"chargerStates": [{"chargerID": None}, 7, {"chargerID": "EH1"}]},
                    "x",
                ]
            },
            {"EH1": EaseeChargerReading(None, None)},
        ),
    ],
)
async def test_site_state_sparse(
    cloud: FakeEasee, client: EaseeClient, body: object, expected: object
) -> None:
    """A site state with gaps still reads; what is missing is None."""
    cloud.answers["GET", "/api/sites/1/state"] = Reply(200, body)
    assert (await client.get_site_state(1)).chargers == expected


async def test_site_state_not_an_object(cloud: FakeEasee, client: EaseeClient) -> None:
    """A site state that is no JSON object is an ApiError."""
    cloud.answers["GET", "/api/sites/1/state"] = Reply(200, [])
    with pytest.raises(ApiError, match="not a JSON object"):
        await client.get_site_state(1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([SITE], "not a JSON object"),
        ({"name": "Home"}, "without an id"),
        ({"id": 10, "circuits": [{"panelName": "1"}]}, "without an id"),
        ({"id": 10, "circuits": ["x"]}, "without an id"),
        # A back plate without a charger (id null) is skipped; a charger that is not one is not.
        ({"id": 10, "circuits": [{"id": 1, "chargers": [12]}]}, "without an id"),
    ],
)
async def test_get_site_wrong_shape(
    cloud: FakeEasee, client: EaseeClient, body: object, message: str
) -> None:
    """A site answer the client cannot read is an ApiError naming the call."""
    cloud.answers["GET", "/api/sites/10"] = Reply(200, body)
    with pytest.raises(ApiError, match=message) as err:
        await client.get_site(10)
    assert "GET /api/sites/10" in str(err.value)


async def test_get_state(cloud: FakeEasee, client: EaseeClient) -> None:
    """The live state reads every field the integration uses, ignoring the others."""
    cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/state"] = Reply(200, STATE)
    state = await client.get_state(CHARGER_ID)
    assert state == STATE_PARSED
    assert type(state.dynamic_charger_current) is float
    assert type(state.op_mode) is int
    assert state.latest_pulse is not None
    assert state.latest_pulse.tzinfo is dt.UTC
    assert OP_MODES[3] == "charging"
    assert cloud.paths() == [f"GET /api/chargers/{CHARGER_ID}/state"]


async def test_get_state_sparse(cloud: FakeEasee, client: EaseeClient) -> None:
    """Missing fields are unknown (None), never zero."""
    cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/state"] = Reply(200, {"chargerOpMode": 1})
    state = await client.get_state(CHARGER_ID)
    assert state == EaseeChargerState(
        op_mode=1,
        total_power=None,
        session_energy=None,
        lifetime_energy=None,
        dynamic_charger_current=None,
        dynamic_circuit_current=(None, None, None),
        output_current=None,
        in_current=(None, None, None),
        voltage=None,
        cable_locked=None,
        is_online=None,
        reason_for_no_current=None,
        smart_charging=None,
        latest_pulse=None,
        firmware=None,
    )


@pytest.mark.parametrize(
    ("field_name", "value", "attribute", "expected"),
    [
        ("chargerOpMode", "3", "op_mode", 3),
        ("chargerOpMode", 3.0, "op_mode", 3),
        ("chargerOpMode", 3.5, "op_mode", None),
        ("chargerOpMode", True, "op_mode", None),
        ("chargerOpMode", "three", "op_mode", None),
        ("chargerOpMode", [3], "op_mode", None),
        ("totalPower", "7.2", "total_power", 7.2),
        ("totalPower", "lots", "total_power", None),
        ("totalPower", "NaN", "total_power", None),
        ("totalPower", True, "total_power", None),
        ("totalPower", None, "total_power", None),
        ("voltage", {"v": 230}, "voltage", None),
        ("cableLocked", 1, "cable_locked", True),
        ("cableLocked", 0, "cable_locked", False),
        ("cableLocked", 2, "cable_locked", None),
        ("cableLocked", "true", "cable_locked", None),
        ("reasonForNoCurrent", None, "reason_for_no_current", None),
        ("inCurrentT4", "x", "in_current", (16.1, None, 16.3)),
        ("dynamicCircuitCurrentP1", None, "dynamic_circuit_current", (None, 20.5, 21.0)),
        ("latestPulse", "2026-11-21T14:00:00+02:00", "latest_pulse", STATE_PARSED.latest_pulse),
        ("latestPulse", "2026-11-21T12:00:00", "latest_pulse", STATE_PARSED.latest_pulse),
        (
            "latestPulse",
            "2026-11-21T12:00:00.1234567Z",
            "latest_pulse",
            dt.datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=dt.UTC),
        ),
        ("latestPulse", "yesterday", "latest_pulse", None),
        ("latestPulse", 1_790_000_000, "latest_pulse", None),
        ("chargerFirmware", "302", "firmware", 302),
    ],
)
def test_state_lenient_fields(
    field_name: str, value: object, attribute: str, expected: object
) -> None:
    """A field of the wrong type is unknown; the rest of the state still reads."""
    state = EaseeChargerState.from_dict({**STATE, field_name: value})
    assert getattr(state, attribute) == expected
    if attribute == "latest_pulse" and expected is not None:
        assert state.latest_pulse is not None
        assert state.latest_pulse.tzinfo is dt.UTC
    assert state.lifetime_energy == 1234.5


async def test_get_config(cloud: FakeEasee, client: EaseeClient) -> None:
    """The stored configuration, extra fields ignored."""
    cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/config"] = Reply(200, CONFIG)
    assert await client.get_config(CHARGER_ID) == EaseeChargerConfig(
        is_enabled=True,
        max_charger_current=32.0,
        circuit_max_current=(25.0, 25.0, 25.5),
        phase_mode=2,
        smart_button_enabled=False,
    )
    assert cloud.paths() == [f"GET /api/chargers/{CHARGER_ID}/config"]
    sparse = EaseeChargerConfig.from_dict({"isEnabled": "yes", "phaseMode": 3})
    assert sparse == EaseeChargerConfig(None, None, (None, None, None), 3, None)


async def test_get_circuit_settings(cloud: FakeEasee, client: EaseeClient) -> None:
    """A circuit's limits per phase; an unreadable one is None."""
    cloud.answers["GET", "/api/sites/10/circuits/100/settings"] = Reply(200, CIRCUIT_SETTINGS)
    assert await client.get_circuit_settings(10, 100) == EaseeCircuitSettings(
        max_current=(25.0, 25.0, 25.0), offline_max_current=(10.0, 10.5, None)
    )
    assert cloud.paths() == ["GET /api/sites/10/circuits/100/settings"]


BASIC_PATH = f"/api/chargers/{CHARGER_ID}/basic_charge_plan"
WEEKLY_PATH = f"/api/chargers/{CHARGER_ID}/weekly_charge_plan"
UTC = dt.UTC


async def test_get_basic_charge_plan(cloud: FakeEasee, client: EaseeClient) -> None:
    """The real shapes: UTC instants with Z or an offset (and milliseconds), an id, no stop."""
    cloud.answers["GET", BASIC_PATH] = Reply(200, BASIC_DAILY)
    assert await client.get_basic_charge_plan(CHARGER_ID) == EaseeBasicChargePlan(
        id=4021,
        start=dt.datetime(2026, 11, 20, 6, tzinfo=UTC),
        stop=dt.datetime(2026, 11, 20, 14, tzinfo=UTC),
        repeat=True,
        enabled=True,
        current_limit=16.0,
    )
    cloud.answers["GET", BASIC_PATH] = Reply(200, BASIC_ONE_OFF)
    assert await client.get_basic_charge_plan(CHARGER_ID) == EaseeBasicChargePlan(
        id="EH000001",
        start=dt.datetime(2026, 11, 21, 13, 30, tzinfo=UTC),
        stop=dt.datetime(2026, 11, 21, 15, tzinfo=UTC),
        repeat=False,
        enabled=True,
        current_limit=10.0,
    )
    cloud.answers["GET", BASIC_PATH] = Reply(200, BASIC_START_ONLY)
    plan = await client.get_basic_charge_plan(CHARGER_ID)
    assert plan is not None
    assert (plan.stop, plan.enabled, plan.current_limit) == (None, False, 32.0)
    assert cloud.paths() == [f"GET {BASIC_PATH}"] * 3


async def test_get_weekly_charge_plan(cloud: FakeEasee, client: EaseeClient) -> None:
    """Days 0 (Monday) to 6 with HH:MMZ ranges; a day without ranges stays, empty."""
    cloud.answers["GET", WEEKLY_PATH] = Reply(200, WEEKLY)
    assert await client.get_weekly_charge_plan(CHARGER_ID) == EaseeWeeklyChargePlan(
        enabled=True,
        days=(
            EaseeWeeklyDay(0, (EaseeWeeklyRange(dt.time(6), dt.time(14), 16.0),)),
            EaseeWeeklyDay(
                5,
                (
                    EaseeWeeklyRange(dt.time(11), dt.time(13), 10.0),
                    EaseeWeeklyRange(dt.time(22), dt.time(2), 20.0),
                ),
            ),
            EaseeWeeklyDay(6, ()),
        ),
    )
    # pyeasee met plain HH:MM as well (UTC too), and a range without a limit.
    cloud.answers["GET", WEEKLY_PATH] = Reply(
        200,
        {
            "isEnabled": False,
            "days": [{"dayOfWeek": 2, "ranges": [{"startTime": "07:30", "stopTime": "24:00Z"}]}],
        },
    )
    assert await client.get_weekly_charge_plan(CHARGER_ID) == EaseeWeeklyChargePlan(
        enabled=False,
        days=(EaseeWeeklyDay(2, (EaseeWeeklyRange(dt.time(7, 30), dt.time(0), None),)),),
    )


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(PLANS_NOT_FOUND["status"], PLANS_NOT_FOUND["json"]), id="404"),
        pytest.param(Reply(204), id="204"),
        pytest.param(Reply(200, b""), id="200_empty"),
    ],
)
@pytest.mark.parametrize("kind", ["basic", "weekly"])
async def test_no_charge_plan(
    cloud: FakeEasee, client: EaseeClient, reply: Reply, kind: str
) -> None:
    """A charger without a plan reads as None (Easee answers 404)."""
    if kind == "basic":
        cloud.answers["GET", BASIC_PATH] = reply
        assert await client.get_basic_charge_plan(CHARGER_ID) is None
    else:
        cloud.answers["GET", WEEKLY_PATH] = reply
        assert await client.get_weekly_charge_plan(CHARGER_ID) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"chargeStartTime": None},
        {"chargeStartTime": "tonight"},
        {"chargeStopTime": "2026-13-01T00:00:00Z"},
        {"chargeStopTime": 1700000000},
        {"repeat": None},
        {"repeat": "yes"},
        {"isEnabled": None},
    ],
)
async def test_malformed_basic_charge_plan(
    cloud: FakeEasee, client: EaseeClient, changes: dict[str, object]
) -> None:
    """A plan whose times, repeat or switch cannot be read fails the read: nothing is guessed."""
    body = {key: value for key, value in {**BASIC_DAILY, **changes}.items() if value is not None}
    cloud.answers["GET", BASIC_PATH] = Reply(200, body)
    with pytest.raises(ApiError, match="basic_charge_plan: a plan without readable"):
        await client.get_basic_charge_plan(CHARGER_ID)


@pytest.mark.parametrize(
    "body",
    [
        {"days": []},
        {"isEnabled": True, "days": "every day"},
        {"isEnabled": True, "days": [{"dayOfWeek": 7, "ranges": []}]},
        {"isEnabled": True, "days": [{"ranges": []}]},
        {"isEnabled": True, "days": [{"dayOfWeek": 1, "ranges": [{"startTime": "06:00Z"}]}]},
        {
            "isEnabled": True,
            "days": [{"dayOfWeek": 1, "ranges": [{"startTime": "25:00Z", "stopTime": "06:00Z"}]}],
        },
        {"isEnabled": True, "days": [{"dayOfWeek": 1, "ranges": ["06:00-08:00"]}]},
        {"isEnabled": True, "days": ["monday"]},
    ],
)
async def test_malformed_weekly_charge_plan(
    cloud: FakeEasee, client: EaseeClient, body: object
) -> None:
    """A day or range that cannot be read fails the read rather than vanishing from the plan."""
    cloud.answers["GET", WEEKLY_PATH] = Reply(200, body)
    with pytest.raises(ApiError, match="weekly_charge_plan: a plan without isEnabled"):
        await client.get_weekly_charge_plan(CHARGER_ID)


async def test_get_charge_plan_errors(cloud: FakeEasee, client: EaseeClient) -> None:
    """Other failures of a plan read are not mistaken for 'no plan'."""
    cloud.answers["GET", BASIC_PATH] = Reply(500, {"title": "boom"})
    with pytest.raises(ApiError, match="HTTP 500"):
        await client.get_basic_charge_plan(CHARGER_ID)
    cloud.answers["GET", WEEKLY_PATH] = Reply(200, [WEEKLY])
    with pytest.raises(ApiError, match="not a JSON object"):
        await client.get_weekly_charge_plan(CHARGER_ID)


# Writes


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"amps": 16}, {"amps": 16, "minutes": 0}),
        ({"amps": 6.5, "minutes": 30}, {"amps": 6.5, "minutes": 30}),
        ({"amps": 0}, {"amps": 0, "minutes": 0}),
    ],
)
async def test_set_dynamic_charger_current(
    cloud: FakeEasee,
    client: EaseeClient,
    tokens: EaseeTokens,
    gate_calls: list[str],
    kwargs: dict[str, Any],
    body: dict[str, Any],
) -> None:
    """The dynamic charger current goes out as a command with its time to live."""
    path = f"/api/chargers/{CHARGER_ID}/commands/set_dynamic_charger_current"
    cloud.answers["POST", path] = Reply(202, COMMAND_ANSWER)
    assert await client.set_dynamic_charger_current(CHARGER_ID, **kwargs) is None
    [seen] = cloud.requests
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", path, {}, body)
    assert seen.auth == f"Bearer {tokens.access_token}"
    assert gate_calls == ["write"]


async def test_set_dynamic_circuit_current(cloud: FakeEasee, client: EaseeClient) -> None:
    """The circuit's dynamic current per phase, with its time to live."""
    path = "/api/sites/10/circuits/100/dynamicCurrent"
    cloud.answers["POST", path] = Reply(202, [{"device": CHARGER_ID, "commandId": 1, "ticks": 1}])
    await client.set_dynamic_circuit_current(10, 100, 16, 16.5, 0, time_to_live=15)
    await client.set_dynamic_circuit_current(10, 100, 10, 10, 10)
    assert [seen.body for seen in cloud.requests] == [
        {"phase1": 16, "phase2": 16.5, "phase3": 0, "timeToLive": 15},
        {"phase1": 10, "phase2": 10, "phase3": 10, "timeToLive": 0},
    ]
    assert cloud.paths() == [f"POST {path}"] * 2


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"enabled": False}, {"enabled": False}),
        ({"max_charger_current": 20}, {"maxChargerCurrent": 20}),
        ({"smart_charging": True, "phase_mode": 3}, {"smartCharging": True, "phaseMode": 3}),
        (
            {
                "enabled": True,
                "max_charger_current": 16.5,
                "smart_charging": False,
                "phase_mode": 1,
            },
            {"enabled": True, "maxChargerCurrent": 16.5, "smartCharging": False, "phaseMode": 1},
        ),
    ],
)
async def test_update_settings(
    cloud: FakeEasee, client: EaseeClient, kwargs: dict[str, Any], body: dict[str, Any]
) -> None:
    """Only the settings given are sent."""
    path = f"/api/chargers/{CHARGER_ID}/settings"
    cloud.answers["POST", path] = Reply(202, [{"device": CHARGER_ID, "commandId": 1, "ticks": 9}])
    await client.update_settings(CHARGER_ID, **kwargs)
    [seen] = cloud.requests
    assert (seen.method, seen.path, seen.body) == ("POST", path, body)


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_command(cloud: FakeEasee, client: EaseeClient, command: str) -> None:
    """Each command is a POST without a body; its ticks come back."""
    path = f"/api/chargers/{CHARGER_ID}/commands/{command}"
    cloud.answers["POST", path] = Reply(202, COMMAND_ANSWER)
    assert await client.command(CHARGER_ID, command) == COMMAND_ANSWER["ticks"]
    [seen] = cloud.requests
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", path, {}, None)


COMMAND_ANSWERS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "easee_command_answers.json").read_text(
        encoding="utf-8"
    )
)


def command_reply(form: str) -> Reply:
    """Return a recorded command answer as the stand-in cloud sends it."""
    answer = COMMAND_ANSWERS[form]
    body = answer["json"] if "json" in answer else answer["text"].encode()
    return Reply(answer["status"], body)


@pytest.mark.parametrize(
    ("form", "ticks"),
    [
        ("accepted_202", 638676288000000000),
        ("accepted_202_list", 638676288010000000),
        ("nothing_to_do_202", 0),
        ("empty_200", None),
        ("accepted_200", None),
    ],
)
async def test_command_answers_that_accept(
    cloud: FakeEasee, client: EaseeClient, form: str, ticks: int | None
) -> None:
    """Each form Easee accepts a command in is an acceptance: ticks, 0 (nothing to do) or None."""
    path = f"/api/chargers/{CHARGER_ID}/commands/resume_charging"
    cloud.answers["POST", path] = command_reply(form)
    assert await client.command(CHARGER_ID, "resume_charging") == ticks
    assert cloud.paths() == [f"POST {path}"]


WRITES: list[tuple[str, Callable[[EaseeClient], Awaitable[object]]]] = [
    (
        f"/api/chargers/{CHARGER_ID}/commands/resume_charging",
        lambda c: c.command(CHARGER_ID, "resume_charging"),
    ),
    (
        f"/api/chargers/{CHARGER_ID}/commands/set_dynamic_charger_current",
        lambda c: c.set_dynamic_charger_current(CHARGER_ID, 10),
    ),
    (f"/api/chargers/{CHARGER_ID}/settings", lambda c: c.update_settings(CHARGER_ID, enabled=True)),
    (
        "/api/sites/10/circuits/100/dynamicCurrent",
        lambda c: c.set_dynamic_circuit_current(10, 100, 16, 16, 16),
    ),
]


@pytest.mark.parametrize("form", ["accepted_202_list", "empty_200", "accepted_200"])
@pytest.mark.parametrize(("path", "write"), WRITES)
async def test_every_write_accepts_every_form(
    cloud: FakeEasee,
    client: EaseeClient,
    form: str,
    path: str,
    write: Callable[[EaseeClient], Awaitable[object]],
) -> None:
    """Settings and limits read their answer as commands do."""
    cloud.answers["POST", path] = command_reply(form)
    await write(client)
    assert cloud.paths() == [f"POST {path}"]


@pytest.mark.parametrize(("path", "write"), WRITES)
async def test_a_write_the_charger_refuses(
    cloud: FakeEasee,
    client: EaseeClient,
    path: str,
    write: Callable[[EaseeClient], Awaitable[object]],
) -> None:
    """200 with wasAccepted false is the charger's refusal, with its result code."""
    cloud.answers["POST", path] = command_reply("refused_200")
    with pytest.raises(CommandRefusedError, match="refused it") as err:
        await write(client)
    assert err.value.result_code == 3
    assert cloud.paths() == [f"POST {path}"]


@pytest.mark.parametrize(("path", "write"), WRITES)
async def test_a_write_for_an_offline_charger(
    cloud: FakeEasee,
    client: EaseeClient,
    path: str,
    write: Callable[[EaseeClient], Awaitable[object]],
) -> None:
    """400 with errorCode 410 (ChargerDisconnected): the charger is offline, not a bad request."""
    cloud.answers["POST", path] = command_reply("charger_disconnected_400")
    with pytest.raises(ChargerOfflineError, match="offline"):
        await write(client)
    # Either half says it: the code alone, or the name alone.
    body = dict(COMMAND_ANSWERS["charger_disconnected_400"]["json"])
    for only in ({"errorCode": 410}, {"errorCodeName": "ChargerDisconnected"}):
        cloud.answers["POST", path] = Reply(
            400, {**body, "errorCode": 0, "errorCodeName": "", **only}
        )
        with pytest.raises(ChargerOfflineError):
            await write(client)
    # Any other 400 stays a plain API error.
    cloud.answers["POST", path] = Reply(
        400, {**body, "errorCode": 400, "errorCodeName": "BadRequest"}
    )
    with pytest.raises(ApiError) as other:
        await write(client)
    assert not isinstance(other.value, ChargerOfflineError)


async def test_an_unreadable_acceptance_is_still_one(cloud: FakeEasee, client: EaseeClient) -> None:
    """A 2xx without ticks or wasAccepted is taken (sending it again would do it twice)."""
    path = f"/api/chargers/{CHARGER_ID}/commands/stop_charging"
    for body in ({"device": CHARGER_ID}, [], b"OK", {"wasAccepted": "maybe"}):
        cloud.answers["POST", path] = Reply(202, body)
        assert await client.command(CHARGER_ID, "stop_charging") is None


IT_STATE = {
    **STATE,
    "inCurrentT2": 10.0,
    "inCurrentT3": 11.0,
    "inCurrentT4": 12.0,
    "inCurrentT5": 0.0,
}


@pytest.mark.parametrize(
    ("output_phase", "it_grid", "expected"),
    [
        (30, None, (11.0, 12.0, 0.0)),  # 3 phases on TN: T3-T5
        (22, None, (10.0, 11.0, 12.0)),  # P2_T2_T3_T4_IT
        (11, None, (10.0, 11.0, 12.0)),  # P1_T2_T3_IT
        (10, None, (11.0, 12.0, 0.0)),  # P1_T2_T3_TN
        (0, None, (11.0, 12.0, 0.0)),  # not charging, grid unknown: TN
        (0, True, (10.0, 11.0, 12.0)),  # the config says IT
        (10, True, (10.0, 11.0, 12.0)),  # ... and wins over a TN outputPhase
        (22, False, (11.0, 12.0, 0.0)),
    ],
)
def test_phase_currents_follow_the_grid(
    output_phase: int, it_grid: bool | None, expected: tuple[float, float, float]
) -> None:
    """On IT grids the phase currents are T2-T4, elsewhere T3-T5."""
    state = EaseeChargerState.from_dict({**IT_STATE, "outputPhase": output_phase}, it_grid=it_grid)
    assert state.in_current == expected


@pytest.mark.parametrize(
    ("grid_type", "expected"),
    [
        (1, False),
        (2, False),
        (3, False),
        (30, False),
        (4, True),
        (5, True),
        (32, True),
        (52, True),
        (0, None),
        (-1, None),
        (50, None),
        (None, None),
        ("4", True),
        ("IT", None),
    ],
)
def test_grid_types(grid_type: object, expected: bool | None) -> None:
    """detectedPowerGridType as the public clients name Easee's list."""
    assert is_it_grid(grid_type) is expected


async def test_the_config_tells_the_state_its_grid(cloud: FakeEasee, client: EaseeClient) -> None:
    """Once a config said IT, the charger's states read T2-T4, charging or not."""
    cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/state"] = Reply(
        200, {**IT_STATE, "outputPhase": 0}
    )
    cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/config"] = Reply(
        200, {**CONFIG, "detectedPowerGridType": 4}
    )
    assert (await client.get_state(CHARGER_ID)).in_current == (11.0, 12.0, 0.0)
    await client.get_config(CHARGER_ID)
    assert (await client.get_state(CHARGER_ID)).in_current == (10.0, 11.0, 12.0)


async def test_set_basic_charge_plan(cloud: FakeEasee, client: EaseeClient) -> None:
    """The whole plan goes out with its instants in UTC (Z); what it lacks is left out."""
    cloud.answers["POST", BASIC_PATH] = Reply(200, b"")
    oslo = dt.timezone(dt.timedelta(hours=1))
    await client.set_basic_charge_plan(
        CHARGER_ID,
        EaseeBasicChargePlan(
            id=CHARGER_ID,
            start=dt.datetime(2026, 11, 21, 22, tzinfo=oslo),
            stop=dt.datetime(2026, 11, 22, 6, tzinfo=oslo),
            repeat=False,
            enabled=True,
            current_limit=16,
        ),
    )
    await client.set_basic_charge_plan(
        CHARGER_ID,
        EaseeBasicChargePlan(
            id=None,
            start=dt.datetime(2026, 11, 21, 21, tzinfo=UTC),
            stop=None,
            repeat=True,
            enabled=False,
            current_limit=None,
        ),
    )
    assert cloud.paths() == [f"POST {BASIC_PATH}"] * 2
    assert [seen.body for seen in cloud.requests] == [
        {
            "id": CHARGER_ID,
            "chargeStartTime": "2026-11-21T21:00:00Z",
            "chargeStopTime": "2026-11-22T05:00:00Z",
            "repeat": False,
            "isEnabled": True,
            "chargingCurrentLimit": 16,
        },
        {"chargeStartTime": "2026-11-21T21:00:00Z", "repeat": True, "isEnabled": False},
    ]


async def test_a_basic_plan_read_posts_back_unchanged(
    cloud: FakeEasee, client: EaseeClient
) -> None:
    """Read, switched off and posted back, a plan keeps everything else as the cloud had it."""
    cloud.answers["GET", BASIC_PATH] = Reply(200, BASIC_DAILY)
    cloud.answers["POST", BASIC_PATH] = Reply(200, b"")
    plan = await client.get_basic_charge_plan(CHARGER_ID)
    assert plan is not None
    await client.set_basic_charge_plan(CHARGER_ID, dataclasses.replace(plan, enabled=False))
    assert cloud.requests[-1].body == {**BASIC_DAILY, "isEnabled": False}


async def test_set_basic_charge_plan_refuses_nonsense(
    cloud: FakeEasee, client: EaseeClient
) -> None:
    """A stop not after the start, or a current below 0, is refused before anything is sent."""
    start = dt.datetime(2026, 11, 21, 21, tzinfo=UTC)
    for stop, limit in ((start, 16.0), (start + dt.timedelta(hours=1), -1.0)):
        plan = EaseeBasicChargePlan(None, start, stop, True, True, limit)
        with pytest.raises(ValueError, match=r"stop after it starts|finite number"):
            await client.set_basic_charge_plan(CHARGER_ID, plan)
    assert cloud.requests == []


async def test_weekly_charge_plan_posts_back_unchanged(
    cloud: FakeEasee, client: EaseeClient
) -> None:
    """The weekly plan read and posted back is the same week, in the same HH:MMZ form."""
    cloud.answers["GET", WEEKLY_PATH] = Reply(200, WEEKLY)
    cloud.answers["POST", WEEKLY_PATH] = Reply(200, b"")
    plan = await client.get_weekly_charge_plan(CHARGER_ID)
    assert plan is not None
    await client.set_weekly_charge_plan(CHARGER_ID, dataclasses.replace(plan, enabled=False))
    assert cloud.paths()[-1] == f"POST {WEEKLY_PATH}"
    assert cloud.requests[-1].body == {**WEEKLY, "isEnabled": False}


async def test_delete_basic_charge_plan(cloud: FakeEasee, client: EaseeClient) -> None:
    """DELETE removes the plan; without one Easee answers 404, a NotFoundError."""
    cloud.answers["DELETE", BASIC_PATH] = Reply(200, b"")
    await client.delete_basic_charge_plan(CHARGER_ID)
    assert cloud.paths() == [f"DELETE {BASIC_PATH}"]
    cloud.answers["DELETE", BASIC_PATH] = Reply(404, PLANS_NOT_FOUND["json"])
    with pytest.raises(NotFoundError):
        await client.delete_basic_charge_plan(CHARGER_ID)


async def test_charger_id_is_one_path_segment(cloud: FakeEasee, client: EaseeClient) -> None:
    """An odd charger id stays inside its path segment."""
    cloud.answers["GET", "/api/chargers/EH%2F1%3Fx/state"] = Reply(200, STATE)
    assert await client.get_state("EH/1?x") == STATE_PARSED
    assert cloud.paths() == ["GET /api/chargers/EH%2F1%3Fx/state"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.command(CHARGER_ID, "explode"), "no command 'explode'"),
        (lambda c: c.set_dynamic_charger_current(CHARGER_ID, 16, minutes=-1), "minutes"),
        (lambda c: c.set_dynamic_charger_current(CHARGER_ID, -1), "amperes"),
        (lambda c: c.set_dynamic_charger_current(CHARGER_ID, float("nan")), "amperes"),
        (lambda c: c.set_dynamic_circuit_current(10, 1, 10, 10, 10, -5), "time_to_live"),
        (lambda c: c.set_dynamic_circuit_current(10, 1, 10, float("inf"), 10), "amperes"),
        (lambda c: c.update_settings(CHARGER_ID), "at least one"),
        (lambda c: c.update_settings(CHARGER_ID, max_charger_current=-2), "amperes"),
        (lambda c: c.get_state(""), "not an Easee id"),
        (lambda c: c.get_config(".."), "not an Easee id"),
    ],
)
async def test_bad_arguments_are_not_sent(
    cloud: FakeEasee,
    make_client: MakeClient,
    gate_calls: list[str],
    call: Callable[[EaseeClient], Awaitable[object]],
    message: str,
) -> None:
    """Arguments the cloud would refuse are a ValueError before anything is sent."""
    client = make_client()
    with pytest.raises(ValueError, match=message):
        await call(client)
    assert cloud.requests == []
    assert gate_calls == []


# Errors


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        # NOW + 90 s as an HTTP date.
        ("Fri, 15 Jan 2027 08:01:30 GMT", 90.0),
        ("Fri, 15 Jan 2027 08:01:30 -0000", 90.0),
        ("Fri, 15 Jan 2027 07:00:00 GMT", 0.0),
        ("-5", None),
        ("soon", None),
        (None, None),
    ],
)
async def test_rate_limited(
    cloud: FakeEasee, client: EaseeClient, retry_after: str | None, expected: float | None
) -> None:
    """429 is RateLimitedError with Retry-After in seconds (None when missing or unreadable)."""
    assert dt.datetime.fromtimestamp(NOW, dt.UTC) == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    cloud.answers["GET", "/api/chargers"] = Reply(
        429, {"title": "Too Many Requests", "status": 429}, headers
    )
    with pytest.raises(RateLimitedError, match=r"HTTP 429") as err:
        await client.get_chargers()
    assert type(err.value) is RateLimitedError
    assert err.value.retry_after == expected
    assert_no_secret(err.value)
    assert len(cloud.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        *(
            pytest.param(Reply(ANSWERS[form]["status"], answer_body(form)), id=form)
            for form in BAN_FORMS
        ),
        pytest.param(Reply(403, {"title": "TOO MANY REQUESTS for this IP"}), id="upper_case"),
        pytest.param(Reply(403, b""), id="403_empty"),
        pytest.param(Reply(403, b"<html>403 Forbidden</html>"), id="403_html"),
        pytest.param(Reply(403, {"message": "Forbidden", "errorCode": None}), id="null_code"),
    ],
)
@pytest.mark.parametrize("kind", ["read", "write"])
async def test_blocked(cloud: FakeEasee, client: EaseeClient, reply: Reply, kind: str) -> None:
    """Each of Easee's ban answers is AccountBlockedError (a RateLimitedError), no retry_after.

    A 429 saying the IP is blocked for 24 hours is a ban, not a rate limit of a minute, even
    with a Retry-After; a 403 without an Easee errorCode is the firewall's ban.
    """
    reply.headers["Retry-After"] = "60"
    if kind == "read":
        cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/state"] = reply
        call = client.get_state(CHARGER_ID)
    else:
        cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/commands/reboot"] = reply
        call = client.command(CHARGER_ID, "reboot")
    with pytest.raises(AccountBlockedError, match=f"HTTP {reply.status}") as err:
        await call
    assert isinstance(err.value, RateLimitedError)
    assert err.value.retry_after is None
    assert_no_secret(err.value)
    assert len(cloud.requests) == 1


@pytest.mark.parametrize("kind", ["read", "write"])
async def test_403_with_error_code_is_no_ban(
    cloud: FakeEasee, client: EaseeClient, kind: str
) -> None:
    """A 403 carrying an Easee errorCode refuses that one resource: its own error, no ban."""
    reply = Reply(403, answer_body("permission_403"))
    if kind == "read":
        cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/state"] = reply
        call = client.get_state(CHARGER_ID)
    else:
        cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/commands/reboot"] = reply
        call = client.command(CHARGER_ID, "reboot")
    with pytest.raises(PermissionDeniedError, match="HTTP 403, errorCode 403") as err:
        await call
    assert isinstance(err.value, ApiError)
    assert not isinstance(err.value, RateLimitedError)
    assert_no_secret(err.value)
    assert len(cloud.requests) == 1


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (Reply(403, answer_body("permission_403")), PermissionDeniedError, "HTTP 403"),
        (Reply(404, NOT_FOUND), NotFoundError, "not found"),
        (Reply(500, {"title": "Internal error"}), ApiError, "HTTP 500 'Internal error'"),
        (Reply(502, b"<html>bad gateway</html>"), ApiError, r"HTTP 502$"),
        (Reply(200, b"<html>hi</html>"), ApiError, r"not JSON \(HTTP 200, 15 bytes\)"),
        (Reply(200, [STATE]), ApiError, "not a JSON object"),
        (Reply(200, "state"), ApiError, "not a JSON object"),
        (Reply(204), ApiError, "not JSON"),
        (Reply(302, {}, {"Location": "/api/chargers"}), ApiError, "HTTP 302"),
    ],
)
async def test_error_answers(
    cloud: FakeEasee,
    client: EaseeClient,
    reply: Reply,
    error: type[ApiError],
    message: str,
) -> None:
    """Each kind of bad answer maps to its exception, naming the call."""
    cloud.answers["GET", f"/api/chargers/{CHARGER_ID}/state"] = reply
    with pytest.raises(ApiError, match=message) as err:
        await client.get_state(CHARGER_ID)
    assert type(err.value) is error
    assert not isinstance(err.value, AccountBlockedError)
    assert f"GET /api/chargers/{CHARGER_ID}/state" in str(err.value)
    assert_no_secret(err.value)
    # Nothing is retried behind the caller's back (and a redirect is not followed).
    assert len(cloud.requests) == 1


async def test_400_on_write_quotes_the_title(cloud: FakeEasee, client: EaseeClient) -> None:
    """A refused write says what the cloud objected to; tokens it echoes are redacted."""
    path = f"/api/chargers/{CHARGER_ID}/settings"

    async def echo(request: web.Request) -> web.StreamResponse:
        title = f"maxChargerCurrent out of range ({request.headers['Authorization']})"
        return web.json_response(
            {"errorCode": 400, "errorCodeName": "BadRequest", "title": title}, status=400
        )

    cloud.answers["POST", path] = echo
    with pytest.raises(ApiError, match="maxChargerCurrent out of range") as err:
        await client.update_settings(CHARGER_ID, max_charger_current=40)
    # Refused: the same write would hear the same again.
    assert type(err.value) is CommandRefusedError
    assert err.value.result_code == 400
    assert "HTTP 400" in str(err.value)
    assert "**REDACTED**" in str(err.value)
    assert_no_secret(err.value)


async def test_title_is_shortened(cloud: FakeEasee, client: EaseeClient) -> None:
    """A very long title does not flood the message."""
    cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/settings"] = Reply(
        400, {"title": "x" * 5000}
    )
    with pytest.raises(ApiError) as err:
        await client.update_settings(CHARGER_ID, enabled=True)
    assert len(str(err.value)) < 300


async def test_dropped_connection(cloud: FakeEasee, client: EaseeClient) -> None:
    """A connection lost before the answer is an ApiError; the request is not re-sent."""

    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/commands/reboot"] = drop
    with pytest.raises(ApiError, match=r"connection failed \(ServerDisconnectedError") as err:
        await client.command(CHARGER_ID, "reboot")
    assert_no_secret(err.value)
    assert len(cloud.requests) == 1


async def test_closed_port(make_client: MakeClient, tokens: EaseeTokens) -> None:
    """Nothing listening: a NotSentError (Easee saw nothing) naming the connection failure."""
    client = make_client(tokens=tokens, base_url=f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(NotSentError, match=r"no connection \(ClientConnectorError") as err:
        await client.get_chargers()
    assert_no_secret(err.value)


@pytest.mark.real_time
async def test_timeout(cloud: FakeEasee, make_client: MakeClient, tokens: EaseeTokens) -> None:
    """A cloud that does not answer in time fails the request instead of hanging."""

    async def hang(request: web.Request) -> web.StreamResponse:
        await cloud.release.wait()
        return web.json_response([])

    cloud.answers["GET", "/api/chargers"] = hang
    client = make_client(tokens=tokens, request_timeout=0.2)
    with pytest.raises(ApiError, match="no answer in time") as err:
        await client.get_chargers()
    assert_no_secret(err.value)


async def test_logs_name_method_and_path_only(
    cloud: FakeEasee, client: EaseeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug lines say what was requested; no secret ever (the autouse guard checks)."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ev_charge_control.api.easee")
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    cloud.accept_any_token = False
    cloud.refresh_tokens.clear()
    with pytest.raises(AuthenticationError):
        await client.get_chargers()
    assert "Easee GET /api/chargers" in caplog.text
    assert f"Easee POST {LOGIN}" in caplog.text
    for secret in (EASEE_PASSWORD, *RUNTIME_SECRETS):
        assert secret not in caplog.text


def test_exceptions_tree() -> None:
    """The new errors sit where callers expect them."""
    assert issubclass(AccountBlockedError, RateLimitedError)
    assert issubclass(NotFoundError, ApiError)
    assert issubclass(PermissionDeniedError, ApiError)
    assert not issubclass(PermissionDeniedError, RateLimitedError)
    assert issubclass(AccountBlockedError, EvChargeControlError)
    assert AccountBlockedError("blocked").retry_after is None


# Account id and tokens


@pytest.mark.parametrize(
    ("token", "username", "expected"),
    [
        (make_jwt({"UserId": 4242, "AccountId": 7}), "Owner@Example.com", "4242"),
        (make_jwt({"UserId": "4242"}), "Owner@Example.com", "4242"),
        (make_jwt({"AccountId": 7}), " Owner@Example.COM ", "owner@example.com"),
        (make_jwt({"UserId": None}), "Owner@Example.com", "owner@example.com"),
        (make_jwt({"UserId": True}), "Owner@Example.com", "owner@example.com"),
        (make_jwt({"UserId": ""}), "Owner@Example.com", "owner@example.com"),
        (make_jwt([4242]), "Owner@Example.com", "owner@example.com"),
        ("not-a-jwt", "Owner@Example.com", "owner@example.com"),
        ("a.b", "Owner@Example.com", "owner@example.com"),
        ("a.!!!.c", "Owner@Example.com", "owner@example.com"),
        ("a.ä.c", "Owner@Example.com", "owner@example.com"),
        (f"a.{b64url(b'not json')}.c", "Owner@Example.com", "owner@example.com"),
        (f"a.{b64url(bytes([255, 254]))}.c", "Owner@Example.com", "owner@example.com"),
        ("", "Owner@Example.com", "owner@example.com"),
    ],
)
def test_account_id(token: str, username: str, expected: str) -> None:
    """The account is the JWT's UserId when it has one, else the lower-cased user name."""
    assert account_id(token, username) == expected


async def test_account_id_of_issued_token(cloud: FakeEasee, make_client: MakeClient) -> None:
    """The token a login gives names the account by its UserId."""
    tokens = await make_client().login()
    assert account_id(tokens.access_token, EASEE_USERNAME) == "4242"


def test_tokens_round_trip_and_repr() -> None:
    """Saved tokens read back; their repr hides them."""
    tokens = EaseeTokens("access-secret", "refresh-secret", NOW)
    RUNTIME_SECRETS.update(("access-secret", "refresh-secret"))
    data = tokens.as_dict()
    assert data == {
        "access_token": "access-secret",
        "refresh_token": "refresh-secret",
        "expires_at": NOW,
    }
    assert EaseeTokens.from_dict(json.loads(json.dumps(data))) == tokens
    assert EaseeTokens.from_dict({**data, "expires_at": 1}) == EaseeTokens(
        "access-secret", "refresh-secret", 1.0
    )
    for text in (repr(tokens), str(tokens)):
        assert "access-secret" not in text
        assert "refresh-secret" not in text
        assert str(NOW) in text


@pytest.mark.parametrize(
    "change",
    [
        {"access_token": None},
        {"access_token": ""},
        {"refresh_token": 5},
        {"expires_at": "1800000000"},
        {"expires_at": None},
        {"expires_at": True},
        {"expires_at": float("inf")},
    ],
)
def test_tokens_from_malformed(change: dict[str, object]) -> None:
    """Malformed saved tokens are None (the client logs in again)."""
    data: dict[str, object] = {"access_token": "a", "refresh_token": "r", "expires_at": NOW}
    assert EaseeTokens.from_dict({**data, **change}) is None
    assert EaseeTokens.from_dict({}) is None


async def test_client_repr_hides_credentials(make_client: MakeClient) -> None:
    """The client's repr names the cloud, never the password."""
    text = repr(make_client())
    assert EASEE_PASSWORD not in text
    assert "127.0.0.1" in text


# A request that never reached Easee costs nothing


class CountingGate:
    """A budget that counts every request and takes back those the client gives back."""

    def __init__(self) -> None:
        self.counted: list[str] = []

    def __call__(self, kind: str) -> Callable[[], None]:
        self.counted.append(kind)
        index = len(self.counted) - 1

        def never_left() -> None:
            self.counted[index] = f"{kind} given back"

        return never_left


@pytest.mark.parametrize("has_tokens", [False, True])
async def test_no_connection_gives_every_count_back(
    make_client: MakeClient, tokens: EaseeTokens, clock: Clock, has_tokens: bool
) -> None:
    """Nothing listening: login, refresh, read and write each give their count back."""
    gate = CountingGate()
    expiring = EaseeTokens(tokens.access_token, tokens.refresh_token, NOW + 30)
    client = make_client(
        request_gate=gate,
        tokens=expiring if has_tokens else None,
        base_url=f"http://127.0.0.1:{free_port()}/",
    )
    with pytest.raises(NotSentError):
        await client.get_chargers()
    # The renewal's failure waits its back-off: then a valid token reads, and writes.
    clock.now += 10
    with pytest.raises(NotSentError):
        await client.get_chargers()
    with pytest.raises(NotSentError):
        await client.command(CHARGER_ID, "reboot")
    renewal = "auth given back"
    if has_tokens:
        assert gate.counted == [renewal, "read given back", "write given back"]
    else:
        # No token to use while the login waits: nothing more was counted or sent.
        assert gate.counted == [renewal]


async def test_a_request_easee_may_have_seen_keeps_its_count(
    cloud: FakeEasee, make_client: MakeClient, tokens: EaseeTokens
) -> None:
    """A dropped connection or a 5xx: Easee may have counted the request, so it counts."""
    gate = CountingGate()

    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    cloud.answers["POST", f"/api/chargers/{CHARGER_ID}/commands/reboot"] = drop
    cloud.answers["GET", "/api/chargers"] = Reply(500, {"title": "oops"})
    client = make_client(request_gate=gate, tokens=tokens)
    with pytest.raises(ApiError) as err:
        await client.command(CHARGER_ID, "reboot")
    assert not isinstance(err.value, NotSentError)
    with pytest.raises(ApiError, match="HTTP 500"):
        await client.get_chargers()
    assert gate.counted == ["write", "read"]


@pytest.mark.real_time
async def test_a_timeout_keeps_its_count(
    cloud: FakeEasee, make_client: MakeClient, tokens: EaseeTokens
) -> None:
    """No answer in time: the request left, so it counts."""
    gate = CountingGate()

    async def hang(request: web.Request) -> web.StreamResponse:
        await cloud.release.wait()
        return web.json_response([])

    cloud.answers["GET", "/api/chargers"] = hang
    client = make_client(request_gate=gate, tokens=tokens, request_timeout=0.2)
    with pytest.raises(ApiError, match="no answer in time"):
        await client.get_chargers()
    assert gate.counted == ["read"]


# A failed token renewal backs off


def renewal_times(cloud: FakeEasee, times: list[float], path: str) -> list[float]:
    """Return the moments (as the test's clock had them) at which ``path`` was asked."""
    return [moment for moment, seen in zip(times, cloud.requests, strict=True) if seen.path == path]


@pytest.mark.parametrize("renewal", ["refresh", "login"])
async def test_a_failed_renewal_backs_off_through_an_outage(
    cloud: FakeEasee, make_client: MakeClient, clock: Clock, tokens: EaseeTokens, renewal: str
) -> None:
    """30 minutes of 5xx on renewals, a read every 10 s: a handful of renewals, then recovery.

    Tries after 1, 2, 4, 8 minutes, then every 15 (the old token serves while it is valid).
    """
    path = REFRESH if renewal == "refresh" else LOGIN
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    cloud.refresh_reply = Reply(503, {"title": "Service Unavailable"})
    cloud.login_reply = Reply(503, {"title": "Service Unavailable"})
    # The token ends 30 s after the outage begins; without one, the client logs in.
    expiring = EaseeTokens(tokens.access_token, tokens.refresh_token, NOW + 30)
    client = make_client(tokens=expiring if renewal == "refresh" else None)
    times: list[float] = []
    failures: list[type[Exception]] = []
    start = clock.now
    while clock.now < start + 1800:
        before = len(cloud.requests)
        try:
            await client.get_chargers()
        except ApiError as err:
            failures.append(type(err))
        times += [clock.now] * (len(cloud.requests) - before)
        clock.now += 10
    tried = [moment - start for moment in renewal_times(cloud, times, path)]
    expected = [0.0]
    delay = RENEWAL_RETRY_FIRST
    while expected[-1] + delay < 1800:
        expected.append(expected[-1] + delay)
        delay = min(RENEWAL_RETRY_MAX, delay * 2)
    assert tried == expected == [0.0, 60.0, 180.0, 420.0, 900.0, 1800.0][: len(tried)]
    assert len(tried) == 5
    # No request without a token went out; while waiting, nothing was sent at all.
    assert RenewalPausedError in failures
    assert cloud.paths().count("GET /api/chargers") == (2 if renewal == "refresh" else 0)

    # The outage ends: the next renewal (15 minutes after the last) goes through.
    cloud.refresh_reply = cloud.login_reply = None
    clock.now = start + 900 + RENEWAL_RETRY_MAX
    assert await client.get_chargers() == []
    assert cloud.paths()[-2:] == [f"POST {path}", "GET /api/chargers"]
    # ... and the back-off starts over at the next failure.
    cloud.refresh_reply = Reply(503, {"title": "Service Unavailable"})
    cloud.login_reply = Reply(503, {"title": "Service Unavailable"})
    assert client.tokens is not None
    clock.now = client.tokens.expires_at
    with pytest.raises(ApiError, match="HTTP 503"):
        await client.get_chargers()
    clock.now += RENEWAL_RETRY_FIRST - 1
    with pytest.raises(RenewalPausedError):
        await client.get_chargers()
    clock.now += 1
    with pytest.raises(ApiError, match="HTTP 503"):
        await client.get_chargers()


async def test_a_refused_refresh_is_no_failure(
    cloud: FakeEasee, make_client: MakeClient, clock: Clock, tokens: EaseeTokens
) -> None:
    """Easee refusing the refresh token (400) is answered by a login at once, not a wait."""
    cloud.answers["GET", "/api/chargers"] = Reply(200, [])
    expiring = EaseeTokens(tokens.access_token, "refresh-unknown", NOW + 30)
    RUNTIME_SECRETS.add("refresh-unknown")
    client = make_client(tokens=expiring)
    assert await client.get_chargers() == []
    assert cloud.paths() == [f"POST {REFRESH}", f"POST {LOGIN}", "GET /api/chargers"]
