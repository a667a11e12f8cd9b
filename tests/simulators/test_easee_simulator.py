"""The Easee cloud simulator, exercised over real HTTP on 127.0.0.1."""

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time as dt_time, timedelta
import http.client
import json
import logging
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
from simulators.easee import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    EaseeChargerSim,
    EaseeCircuitSim,
    EaseeSimulator,
    add_demo_fleet,
)
from simulators.easee_vendor import (
    build_simulator as build_easee_simulator,
    parse_account_spec,
    parse_charger_spec as parse_easee_charger_spec,
    parse_circuit_spec,
    parse_site_spec,
    serve as serve_easee,
)
from tests.conftest import RUNTIME_SECRETS
from tests.easee.bans import ANSWERS, BAN_FORMS

USER = "driver@example.org"
PASSWORD = "s1mulat0r-Secret!"
NEW_PASSWORD = "An0ther-s1m-Secret!"
OTHER_USER = "neighbour@example.org"
OTHER_PASSWORD = "n3ighbour-Secret!"
USER_ID = 42
OTHER_USER_ID = 43
SITE = 7
CIRCUIT = 70
CHARGER = "EH000001"
SECOND = "EH000002"
# 2026-01-15 10:00 UTC, 11:00 in Oslo.
START = datetime(2026, 1, 15, 10, 0, tzinfo=UTC).timestamp()
OSLO = ZoneInfo("Europe/Oslo")
KW_PER_AMP = 3 * 230 / 1000  # three phases at 230 V
REPO = Path(__file__).resolve().parents[2]

# The Home Assistant test plugin blocks sockets; the simulator needs real ones on 127.0.0.1.
pytestmark = pytest.mark.usefixtures("socket_enabled")

STATE_KEYS = {
    "chargerOpMode",
    "totalPower",
    "sessionEnergy",
    "lifetimeEnergy",
    "dynamicChargerCurrent",
    "dynamicCircuitCurrentP1",
    "dynamicCircuitCurrentP2",
    "dynamicCircuitCurrentP3",
    "outputCurrent",
    "inCurrentT2",
    "inCurrentT3",
    "inCurrentT4",
    "inCurrentT5",
    "voltage",
    "cableLocked",
    "isOnline",
    "reasonForNoCurrent",
    "smartCharging",
    "latestPulse",
    "chargerFirmware",
}
CONFIG_KEYS = {
    "isEnabled",
    "maxChargerCurrent",
    "circuitMaxCurrentP1",
    "circuitMaxCurrentP2",
    "circuitMaxCurrentP3",
    "phaseMode",
    "smartButtonEnabled",
    "ledStripBrightness",
    "authorizationRequired",
}
CHARGER_KEYS = [
    "id",
    "name",
    "color",
    "createdOn",
    "updatedOn",
    "backPlate",
    "levelOfAccess",
    "productCode",
    "userRole",
]
BAD_REQUEST_KEYS = {"errorCode", "errorCodeName", "title"}
UNAUTHORIZED = {"title": "Unauthorized", "status": 401}
NOT_FOUND = {"title": "Not Found", "status": 404}
TOO_MANY = {"title": "Too Many Requests", "status": 429}
BLOCKED = {"title": "Too many requests", "status": 403}
START_ISO = "2026-01-15T10:00:00Z"


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


type SimFactory = Callable[..., Awaitable[EaseeSimulator]]


@pytest.fixture
async def make_sim(clock: FakeClock) -> AsyncIterator[SimFactory]:
    """Start simulators with one account, site, circuit and master charger."""
    started: list[EaseeSimulator] = []

    async def make(**options: Any) -> EaseeSimulator:
        # These tests travel days on one login: tokens that live a day unless a test says
        # otherwise (the real lifetime, an hour, is the default: test_default_token_lifetime).
        options.setdefault("access_token_lifetime", 86400)
        simulator = EaseeSimulator(clock=clock, latency_scale=0, **options)
        simulator.add_account(USER, PASSWORD, user_id=USER_ID, account_id=4200)
        simulator.add_site(USER_ID, SITE, "Home")
        simulator.add_circuit(SITE, CIRCUIT, max_current=32, offline_max_current=16)
        simulator.add_charger(CHARGER, CIRCUIT, master=True, name="Garage")
        await simulator.start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        await simulator.stop()
        # The log guard in tests/conftest.py checks that no issued token was logged.
        RUNTIME_SECRETS.update(simulator.issued_secrets())


@pytest.fixture
async def sim(make_sim: SimFactory) -> EaseeSimulator:
    return await make_sim()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


_UNSET: Any = object()


class Api:
    """Small helper around the HTTP calls the tests make."""

    def __init__(self, sim: EaseeSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.token: str | None = None
        self.refresh: str | None = None

    async def call(
        self,
        method: str,
        path: str,
        body: Any = _UNSET,
        *,
        data: str | None = None,
        token: str | None = _UNSET,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        token = self.token if token is _UNSET else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
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

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any = _UNSET) -> tuple[int, Any]:
        return await self.call("POST", path, body)

    async def ok(self, path: str, **params: str) -> Any:
        code, body = await self.get(path, **params)
        assert code == 200, body
        return body

    async def login(self, user: str = USER, password: str = PASSWORD) -> dict[str, Any]:
        code, body = await self.call(
            "POST", "/api/accounts/login", {"userName": user, "password": password}, token=None
        )
        assert code == 200, body
        self.token, self.refresh = body["accessToken"], body["refreshToken"]
        tokens: dict[str, Any] = body
        return tokens

    async def state(self, charger: str = CHARGER) -> dict[str, Any]:
        body: dict[str, Any] = await self.ok(f"/api/chargers/{charger}/state")
        return body

    async def command(self, command: str, charger: str = CHARGER) -> dict[str, Any]:
        code, body = await self.post(f"/api/chargers/{charger}/commands/{command}")
        assert code == 202, body
        answer: dict[str, Any] = body
        return answer


@pytest.fixture
def api(sim: EaseeSimulator, session: aiohttp.ClientSession) -> Api:
    return Api(sim, session)


@pytest.fixture
async def authed(api: Api) -> Api:
    await api.login()
    return api


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def oslo_plan(
    start: str,
    stop: str | None,
    amps: float = 32,
    *,
    repeat: bool = True,
    day: date = date(2026, 1, 15),
) -> dict[str, Any]:
    """Return a basic plan from Oslo clock times on ``day`` (a stop before the start: next day)."""
    begin = datetime.combine(day, dt_time.fromisoformat(start), OSLO)
    plan: dict[str, Any] = {
        "chargeStartTime": begin.isoformat(),
        "repeat": repeat,
        "isEnabled": True,
        "chargingCurrentLimit": amps,
    }
    if stop is not None:
        end = datetime.combine(day, dt_time.fromisoformat(stop), OSLO)
        plan["chargeStopTime"] = (end if end > begin else end + timedelta(days=1)).isoformat()
    return plan


# --- login and tokens -----------------------------------------------------------------------


async def test_login_answers_tokens_and_jwt_claims(api: Api) -> None:
    body = await api.login()
    assert set(body) == {"accessToken", "expiresIn", "accessClaims", "tokenType", "refreshToken"}
    assert body["expiresIn"] == 86400
    assert body["accessClaims"] == ["User"]
    assert body["tokenType"] == "Bearer"
    header, _payload, signature = body["accessToken"].split(".")
    assert "=" not in body["accessToken"]
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) == {
        "alg": "HS256",
        "typ": "JWT",
    }
    assert signature
    payload = claims(body["accessToken"])
    assert payload["AccountId"] == 4200
    assert payload["UserId"] == str(USER_ID)  # a string, as in today's real tokens
    assert payload["unique_name"] == USER
    assert payload["role"] == ["User"]
    assert payload["iat"] == payload["nbf"] == int(START)
    assert payload["exp"] == int(START) + 86400
    assert body["expiresIn"] == 86400
    assert body["refreshToken"] != body["accessToken"]
    assert await api.ok("/api/chargers")


async def test_default_token_lifetime(make_sim: SimFactory, session: aiohttp.ClientSession) -> None:
    """Like Easee's: an access token lives an hour, and says so in expiresIn and exp."""
    assert EaseeSimulator().access_token_lifetime == 3600
    sim = await make_sim(access_token_lifetime=EaseeSimulator().access_token_lifetime)
    body = await Api(sim, session).login()
    assert body["expiresIn"] == 3600
    assert claims(body["accessToken"])["exp"] == int(START) + 3600


async def test_login_tokens_are_unique_and_user_name_case_insensitive(
    api: Api, sim: EaseeSimulator
) -> None:
    first = await api.login(USER.upper())
    second = await api.login()
    assert first["accessToken"] != second["accessToken"]
    assert first["refreshToken"] != second["refreshToken"]
    assert sim.issued_secrets() >= {first["accessToken"], second["refreshToken"]}
    assert len(sim.issued_secrets()) == 4


async def test_account_without_user_id_claim(api: Api, sim: EaseeSimulator) -> None:
    account = sim.add_account(OTHER_USER, OTHER_PASSWORD, user_id=OTHER_USER_ID)
    account.user_id_claim = False
    assert account.account_id == OTHER_USER_ID
    assert PASSWORD not in repr(sim.accounts)
    payload = claims((await api.login(OTHER_USER, OTHER_PASSWORD))["accessToken"])
    assert "UserId" not in payload
    assert payload["AccountId"] == OTHER_USER_ID
    assert payload["unique_name"] == OTHER_USER


@pytest.mark.parametrize(
    ("user", "password"), [(USER, "wrong"), ("nobody@example.org", PASSWORD), (USER, "")]
)
async def test_login_with_bad_credentials(
    api: Api, sim: EaseeSimulator, user: str, password: str
) -> None:
    code, body = await api.post("/api/accounts/login", {"userName": user, "password": password})
    assert code == 400
    assert body == {
        "errorCode": 100,
        "errorCodeName": "InvalidUserPassword",
        "title": "Invalid username or password",
    }
    assert sim.requests[-1].result == "invalid_credentials"


@pytest.mark.parametrize(
    "body",
    [None, [USER, PASSWORD], {"userName": USER}, {"password": PASSWORD}, {"userName": 1, "password": PASSWORD}],
)  # fmt: skip
async def test_login_with_bad_body(api: Api, body: Any) -> None:
    code, answer = await api.post("/api/accounts/login", body)
    assert code == 400
    assert answer["errorCode"] == 400
    assert answer["errorCodeName"] == "BadRequest"
    assert answer["title"]


async def test_login_with_non_json_body(api: Api, sim: EaseeSimulator) -> None:
    code, answer = await api.call("POST", "/api/accounts/login", data=f'{{"password": "{PASSWORD}"')
    assert code == 400
    assert answer["errorCodeName"] == "BadRequest"
    assert sim.requests[-1].body is None


async def test_refresh_rotates_both_tokens(api: Api, clock: FakeClock) -> None:
    first = await api.login()
    clock.advance(600)
    code, second = await api.post(
        "/api/accounts/refresh_token",
        {"accessToken": first["accessToken"], "refreshToken": first["refreshToken"]},
    )
    assert code == 200
    assert set(second) == set(first)
    assert second["accessToken"] != first["accessToken"]
    assert second["refreshToken"] != first["refreshToken"]
    assert claims(second["accessToken"])["iat"] == int(START) + 600

    # The old refresh token is used up; the old access token works until it expires.
    code, body = await api.post(
        "/api/accounts/refresh_token",
        {"accessToken": first["accessToken"], "refreshToken": first["refreshToken"]},
    )
    assert code == 400
    assert body == {
        "errorCode": 101,
        "errorCodeName": "InvalidRefreshToken",
        "title": "Invalid refresh token",
    }
    assert (await api.call("GET", "/api/chargers", token=first["accessToken"]))[0] == 200
    assert (await api.call("GET", "/api/chargers", token=second["accessToken"]))[0] == 200
    clock.advance(86400 - 600)
    assert await api.call("GET", "/api/chargers", token=first["accessToken"]) == (401, UNAUTHORIZED)
    assert (await api.call("GET", "/api/chargers", token=second["accessToken"]))[0] == 200

    # An expired access token still goes with its refresh token.
    clock.advance(86400)
    code, third = await api.post(
        "/api/accounts/refresh_token",
        {"accessToken": second["accessToken"], "refreshToken": second["refreshToken"]},
    )
    assert code == 200
    assert (await api.call("GET", "/api/chargers", token=third["accessToken"]))[0] == 200


async def test_refresh_rejects_bad_requests(api: Api, sim: EaseeSimulator) -> None:
    mine = await api.login()
    sim.add_account(OTHER_USER, OTHER_PASSWORD, user_id=OTHER_USER_ID)
    theirs = await api.login(OTHER_USER, OTHER_PASSWORD)
    for body in [
        None,
        {"accessToken": mine["accessToken"]},
        {"accessToken": 1, "refreshToken": "x"},
    ]:
        code, answer = await api.post("/api/accounts/refresh_token", body)
        assert (code, answer["errorCode"]) == (400, 400)
    for access, refresh in [
        (mine["accessToken"], "unknown"),
        ("not-a-token", mine["refreshToken"]),
        (theirs["accessToken"], mine["refreshToken"]),
    ]:
        code, answer = await api.post(
            "/api/accounts/refresh_token", {"accessToken": access, "refreshToken": refresh}
        )
        assert (code, answer["errorCode"]) == (400, 101)
    assert sim.requests[-1].result == "invalid_refresh_token"
    # None of the refused attempts used the refresh token up.
    code, _ = await api.post(
        "/api/accounts/refresh_token",
        {"accessToken": mine["accessToken"], "refreshToken": mine["refreshToken"]},
    )
    assert code == 200


async def test_access_token_expires_at_exp(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sim = await make_sim(access_token_lifetime=3600)
    api = Api(sim, session)
    body = await api.login()
    assert body["expiresIn"] == 3600
    assert claims(body["accessToken"])["exp"] == int(START) + 3600
    clock.advance(3599.9)
    assert (await api.get("/api/chargers"))[0] == 200
    clock.advance(0.1)
    assert await api.get("/api/chargers") == (401, UNAUTHORIZED)
    assert sim.requests[-1].result == "unauthorized"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "bearer"])
async def test_requests_without_a_valid_token_are_unauthorized(
    sim: EaseeSimulator, session: aiohttp.ClientSession, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for path in (
        "/api/chargers",
        f"/api/chargers/{CHARGER}/state",
        "/state/x/observations",
        "/api/unknown",
    ):
        async with session.get(f"{sim.base_url}{path}", headers=headers) as resp:
            assert resp.status == 401
            assert await resp.json() == UNAUTHORIZED


async def test_bearer_scheme_is_case_insensitive(api: Api, session: aiohttp.ClientSession) -> None:
    await api.login()
    async with session.get(
        f"{api.sim.base_url}/api/chargers", headers={"Authorization": f"bearer {api.token}"}
    ) as resp:
        assert resp.status == 200


async def test_invalidate_tokens_of_one_account(api: Api, sim: EaseeSimulator) -> None:
    mine = await api.login()
    sim.add_account(OTHER_USER, OTHER_PASSWORD, user_id=OTHER_USER_ID)
    theirs = await api.login(OTHER_USER, OTHER_PASSWORD)
    sim.invalidate_tokens(USER_ID)
    assert await api.call("GET", "/api/chargers", token=mine["accessToken"]) == (401, UNAUTHORIZED)
    code, body = await api.post(
        "/api/accounts/refresh_token",
        {"accessToken": mine["accessToken"], "refreshToken": mine["refreshToken"]},
    )
    assert (code, body["errorCode"]) == (400, 101)
    assert await api.call("GET", "/api/chargers", token=theirs["accessToken"]) == (200, [])
    sim.invalidate_tokens()
    assert (await api.call("GET", "/api/chargers", token=theirs["accessToken"]))[0] == 401
    # A new login works, and invalidated tokens stay in issued_secrets for the log guard.
    await api.login()
    assert mine["accessToken"] in sim.issued_secrets()


async def test_change_password(api: Api, sim: EaseeSimulator) -> None:
    await api.login()
    sim.change_password(USER.upper(), NEW_PASSWORD)
    code, body = await api.post("/api/accounts/login", {"userName": USER, "password": PASSWORD})
    assert (code, body["errorCode"]) == (400, 100)
    assert (await api.get("/api/chargers"))[0] == 200  # issued tokens keep working
    await api.login(USER, NEW_PASSWORD)
    with pytest.raises(KeyError):
        sim.change_password("nobody@example.org", NEW_PASSWORD)
    with pytest.raises(ValueError):  # noqa: PT011
        sim.change_password(USER, "")


# --- reads ----------------------------------------------------------------------------------


async def test_chargers_list_shows_master_and_secondary(authed: Api, sim: EaseeSimulator) -> None:
    sim.add_charger(SECOND, CIRCUIT, product_code=100)
    sim.add_circuit(SITE, 71)
    sim.add_charger("EH000003", 71)  # a circuit whose master this account cannot see
    body = await authed.ok("/api/chargers")
    assert [c["id"] for c in body] == [CHARGER, SECOND, "EH000003"]
    assert all(list(c) == CHARGER_KEYS for c in body)
    first, second, _ = body
    assert first["name"] == "Garage"
    assert second["name"] == SECOND
    assert first["createdOn"] == first["updatedOn"] == START_ISO
    assert (first["levelOfAccess"], first["userRole"], first["color"]) == (1, 1, None)
    assert (first["productCode"], second["productCode"]) == (1, 100)
    # As on real accounts, the list tells nothing of back plates: only the site's circuits do.
    assert all(c["backPlate"] is None for c in body)
    site = await authed.ok(f"/api/sites/{SITE}", detailed="true")
    plates = {c["id"]: c["backPlate"] for circuit in site["circuits"] for c in circuit["chargers"]}
    assert plates[CHARGER]["id"] == plates[CHARGER]["masterBackPlateId"]
    assert plates[SECOND]["id"] != plates[SECOND]["masterBackPlateId"]
    assert plates[SECOND]["masterBackPlateId"] == plates[CHARGER]["id"]
    ids = {plate["id"] for plate in plates.values()}
    assert plates["EH000003"]["masterBackPlateId"] not in ids


async def test_a_back_plate_without_a_charger(authed: Api, sim: EaseeSimulator) -> None:
    """A circuit may list a back plate with nothing mounted: id null, its own plate."""
    sim.add_empty_back_plate(CIRCUIT)
    site = await authed.ok(f"/api/sites/{SITE}", detailed="true")
    (circuit,) = site["circuits"]
    assert [c["id"] for c in circuit["chargers"]] == [CHARGER, None]
    empty = circuit["chargers"][1]
    assert empty["backPlate"]["id"] != empty["backPlate"]["masterBackPlateId"]
    assert (await authed.ok("/api/chargers"))[0]["id"] == CHARGER
    with pytest.raises(ValueError, match="no circuit"):
        sim.add_empty_back_plate(999)


async def test_site_state(authed: Api, sim: EaseeSimulator) -> None:
    """Every charger of the site with its state and config, in the shape Easee answers."""
    sim.add_charger(SECOND, CIRCUIT)
    body = await authed.ok(f"/api/sites/{SITE}/state")
    assert list(body) == ["site", "circuitStates"]
    assert body["site"]["id"] == SITE
    (circuit_state,) = body["circuitStates"]
    assert circuit_state["circuit"]["id"] == CIRCUIT
    assert circuit_state["circuit"]["masterBackplate"] is None
    assert [c["backPlate"] is not None for c in circuit_state["circuit"]["chargers"]] == [True] * 2
    states = circuit_state["chargerStates"]
    assert [s["chargerID"] for s in states] == [CHARGER, SECOND]
    assert states[0]["chargerState"] == sim.state_of(sim.charger(CHARGER))
    assert states[0]["chargerConfig"] == sim.config_of(sim.charger(CHARGER))
    assert [s["chargerConfig"]["localNodeType"] for s in states] == [1, 2]


async def test_the_site_details_answer_ten_times_an_hour(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    """Easee's limit on a site's details: the 11th in an hour is a 429; an hour later, fine."""
    for _ in range(10):
        await authed.ok(f"/api/sites/{SITE}", detailed="true")
        clock.advance(60)
    code, _ = await authed.get(f"/api/sites/{SITE}", detailed="true")
    assert code == 429
    assert sim.requests[-1].result == "site_rate_limited"
    # The site's state is not limited so.
    await authed.ok(f"/api/sites/{SITE}/state")
    clock.advance(3600 - 600)
    await authed.ok(f"/api/sites/{SITE}", detailed="true")


async def test_other_accounts_see_nothing_of_ours(api: Api, sim: EaseeSimulator) -> None:
    sim.add_account(OTHER_USER, OTHER_PASSWORD, user_id=OTHER_USER_ID)
    sim.add_site(OTHER_USER_ID, 8, "Cabin")
    await api.login(OTHER_USER, OTHER_PASSWORD)
    assert await api.ok("/api/chargers") == []
    assert [s["id"] for s in await api.ok("/api/accounts/products")] == [8]
    for path in (
        f"/api/sites/{SITE}",
        f"/api/chargers/{CHARGER}/state",
        f"/api/chargers/{CHARGER}/config",
        f"/api/sites/{SITE}/circuits/{CIRCUIT}/settings",
        f"/state/{CHARGER}/observations",
    ):
        assert await api.get(path) == (404, NOT_FOUND), path
    assert await api.post(f"/api/chargers/{CHARGER}/commands/reboot") == (404, NOT_FOUND)


async def test_products(authed: Api, sim: EaseeSimulator) -> None:
    sim.add_charger(SECOND, CIRCUIT)
    sim.add_circuit(SITE, 71, panel_name="B", rated_current=25)
    body = await authed.ok("/api/accounts/products")
    assert len(body) == 1
    site = body[0]
    assert list(site) == ["id", "siteKey", "name", "levelOfAccess", "circuits"]
    assert (site["id"], site["name"], site["levelOfAccess"]) == (SITE, "Home", 1)
    assert site["siteKey"]
    first, second = site["circuits"]
    assert first == {
        "id": CIRCUIT,
        "siteId": SITE,
        "circuitPanelId": 1,
        "panelName": "1",
        "ratedCurrent": 32.0,
        "fuse": 32.0,
        "chargers": first["chargers"],
        "masterBackplate": None,
        "useDynamicMaster": False,
        "parentCircuitId": None,
    }
    assert [c["id"] for c in first["chargers"]] == [CHARGER, SECOND]
    assert list(first["chargers"][0]) == CHARGER_KEYS
    assert (second["circuitPanelId"], second["panelName"], second["ratedCurrent"]) == (2, "B", 25)
    assert second["chargers"] == []


async def test_site(authed: Api, sim: EaseeSimulator) -> None:
    detailed = await authed.ok(f"/api/sites/{SITE}", detailed="true")
    assert detailed["circuits"][0]["id"] == CIRCUIT
    assert detailed["ratedCurrent"] == sim.sites[SITE].rated_current
    assert isinstance(detailed["address"], dict)
    plain = await authed.ok(f"/api/sites/{SITE}")
    assert "circuits" not in plain
    assert {k: v for k, v in detailed.items() if k != "circuits"} == plain
    assert "circuits" not in await authed.ok(f"/api/sites/{SITE}", detailed="false")
    assert await authed.get("/api/sites/999") == (404, NOT_FOUND)
    assert await authed.get("/api/sites/abc") == (404, NOT_FOUND)


async def test_state_shape(authed: Api, sim: EaseeSimulator) -> None:
    body = await authed.state()
    assert set(body) >= STATE_KEYS
    assert body["chargerOpMode"] == 1
    assert body["outputCurrent"] == 0.0
    assert body["totalPower"] == 0.0
    assert body["dynamicChargerCurrent"] == 32.0
    # No dynamic circuit limit set: an Easee Home reads 40 A whatever the circuit's max.
    assert [body[f"dynamicCircuitCurrentP{p}"] for p in (1, 2, 3)] == [40.0] * 3
    assert body["voltage"] == 230.0
    assert body["isOnline"] is True
    assert body["cableLocked"] is False
    assert body["reasonForNoCurrent"] is None
    assert body["smartCharging"] is False
    assert body["latestPulse"] == START_ISO
    assert body["chargerFirmware"] == 310
    assert body["lifetimeEnergy"] == 0.0
    assert body["sessionEnergy"] == 0.0
    assert body == sim.charger(CHARGER).state()


async def test_state_extra_fields_and_cable(authed: Api, sim: EaseeSimulator) -> None:
    charger = sim.charger(CHARGER)
    charger.extra_state = {"wiFiRSSI": -71, "custom": "x"}
    charger.extra_config = {"wiFiSSID": "Home"}
    charger.cable_locked = True
    charger.firmware = 328
    body = await authed.state()
    assert (body["wiFiRSSI"], body["custom"], body["cableLocked"]) == (-71, "x", True)
    assert body["chargerFirmware"] == 328
    assert (await authed.ok(f"/api/chargers/{CHARGER}/config"))["wiFiSSID"] == "Home"


async def test_config_shape(authed: Api, sim: EaseeSimulator) -> None:
    sim.add_charger(SECOND, CIRCUIT)
    body = await authed.ok(f"/api/chargers/{CHARGER}/config")
    assert set(body) >= CONFIG_KEYS
    assert body["isEnabled"] is True
    assert body["maxChargerCurrent"] == 32.0
    assert [body[f"circuitMaxCurrentP{p}"] for p in (1, 2, 3)] == [32.0] * 3
    assert body["phaseMode"] == 2
    assert body["ledStripBrightness"] == 50
    assert body["localNodeType"] == 1
    assert body == sim.charger(CHARGER).config()
    assert (await authed.ok(f"/api/chargers/{SECOND}/config"))["localNodeType"] == 2


async def test_circuit_settings(authed: Api, sim: EaseeSimulator) -> None:
    assert await authed.ok(f"/api/sites/{SITE}/circuits/{CIRCUIT}/settings") == {
        "maxCircuitCurrentP1": 32.0,
        "maxCircuitCurrentP2": 32.0,
        "maxCircuitCurrentP3": 32.0,
        "offlineMaxCircuitCurrentP1": 16.0,
        "offlineMaxCircuitCurrentP2": 16.0,
        "offlineMaxCircuitCurrentP3": 16.0,
        "enableIdleCurrent": False,
    }
    sim.add_site(USER_ID, 9, "Office")
    sim.add_circuit(9, 90)
    assert await authed.get(f"/api/sites/9/circuits/{CIRCUIT}/settings") == (404, NOT_FOUND)
    assert await authed.get(f"/api/sites/{SITE}/circuits/999/settings") == (404, NOT_FOUND)
    assert (await authed.get("/api/sites/9/circuits/90/settings"))[0] == 200


async def test_observations(authed: Api, sim: EaseeSimulator) -> None:
    sim.connect_car(CHARGER)
    sim.charger(CHARGER).max_charger_current = 20
    body = await authed.ok(f"/state/{CHARGER}/observations", ids="109,120,999,47,109")
    assert body == {
        "observations": [
            {"id": 109, "value": 3, "dataType": 4, "timestamp": START_ISO},
            {
                "id": 120,
                "value": pytest.approx(20 * KW_PER_AMP),
                "dataType": 3,
                "timestamp": START_ISO,
            },
            {"id": 47, "value": 20.0, "dataType": 3, "timestamp": START_ISO},
        ]
    }
    every = await authed.ok(f"/state/{CHARGER}/observations")
    assert sorted(o["id"] for o in every["observations"]) == [
        47,
        48,
        109,
        111,
        112,
        113,
        120,
        121,
        124,
    ]
    assert (await authed.ok(f"/state/{CHARGER}/observations", ids=""))["observations"] == []
    code, answer = await authed.get(f"/state/{CHARGER}/observations", ids="109,abc")
    assert (code, answer["errorCode"]) == (400, 400)
    assert await authed.get("/state/EH999999/observations") == (404, NOT_FOUND)


async def test_hourly_usage(authed: Api, sim: EaseeSimulator, clock: FakeClock) -> None:
    sim.connect_car(CHARGER)
    clock.advance(1800)
    sim.charger(CHARGER).max_charger_current = 10
    clock.advance(3600)  # 10:00-10:30 at 32 A, 10:30-11:30 at 10 A
    sim.disconnect_car(CHARGER)
    clock.advance(7200)
    path = f"/api/chargers/{CHARGER}/usage/hourly"
    body = await authed.ok(f"{path}/2026-01-15T00:00:00Z/2026-01-16T00:00:00Z")
    assert body == [
        {"date": "2026-01-15T10:00:00Z", "totalEnergy": pytest.approx(0.5 * 32 * KW_PER_AMP + 0.5 * 10 * KW_PER_AMP)},
        {"date": "2026-01-15T11:00:00Z", "totalEnergy": pytest.approx(0.5 * 10 * KW_PER_AMP)},
    ]  # fmt: skip
    # The range starts at the whole hour of its start and ends before its end; offsets count.
    assert len(await authed.ok(f"{path}/2026-01-15T10:59:00/2026-01-15T11:00:00")) == 1
    assert len(await authed.ok(f"{path}/2026-01-15T12:30:00+01:00/2026-01-15T13:00:00+01:00")) == 1
    assert await authed.ok(f"{path}/2026-01-15T12:00:00Z/2026-01-16T00:00:00Z") == []


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01T00:00:00Z", "2026-02-01T00:00:01Z"),  # 31 days and a second
        ("2026-01-15T00:00:00Z", "2026-01-14T00:00:00Z"),
        ("yesterday", "2026-01-14T00:00:00Z"),
        ("2026-01-14T00:00:00Z", "tomorrow"),
    ],
)
async def test_hourly_usage_rejects_bad_ranges(authed: Api, start: str, end: str) -> None:
    code, body = await authed.get(f"/api/chargers/{CHARGER}/usage/hourly/{start}/{end}")
    assert code == 400
    assert set(body) == BAD_REQUEST_KEYS


async def test_hourly_usage_allows_31_days(authed: Api) -> None:
    path = f"/api/chargers/{CHARGER}/usage/hourly/2026-01-01T00:00:00Z/2026-02-01T00:00:00Z"
    assert await authed.ok(path) == []


async def test_unknown_routes_and_methods(authed: Api, sim: EaseeSimulator) -> None:
    assert await authed.get("/api/nothing") == (404, NOT_FOUND)
    assert await authed.get("/api/chargers/EH999999/state") == (404, NOT_FOUND)
    assert await authed.call("DELETE", "/api/chargers") == (
        405,
        {"title": "Method Not Allowed", "status": 405},
    )
    assert await authed.call("GET", "/api/accounts/login", token=None) == (
        405,
        {"title": "Method Not Allowed", "status": 405},
    )
    assert sim.requests[-1].result == "method_not_allowed"


async def test_removed_charger_disappears(authed: Api, sim: EaseeSimulator) -> None:
    sim.add_charger(SECOND, CIRCUIT)
    sim.remove_charger(CHARGER)
    assert [c["id"] for c in await authed.ok("/api/chargers")] == [SECOND]
    products = await authed.ok("/api/accounts/products")
    assert [c["id"] for c in products[0]["circuits"][0]["chargers"]] == [SECOND]
    site = await authed.ok(f"/api/sites/{SITE}", detailed="true")
    assert [c["id"] for c in site["circuits"][0]["chargers"]] == [SECOND]
    assert await authed.get(f"/api/chargers/{CHARGER}/state") == (404, NOT_FOUND)
    with pytest.raises(KeyError):
        sim.charger(CHARGER)


# --- charger settings -----------------------------------------------------------------------


async def test_settings_are_applied_and_answered_per_setting(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    clock.advance(60)
    code, body = await authed.post(
        f"/api/chargers/{CHARGER}/settings",
        {
            "enabled": False,
            "maxChargerCurrent": 16,
            "smartCharging": True,
            "phaseMode": 1,
            "ledStripBrightness": 20,
            "dynamicChargerCurrent": 10.5,
            "somethingElse": "ignored",
        },
    )
    assert code == 202
    assert len(body) == 6
    assert {item["device"] for item in body} == {CHARGER}
    assert len({item["commandId"] for item in body}) == 6
    assert all(isinstance(item["ticks"], int) and item["ticks"] > 0 for item in body)
    charger = sim.charger(CHARGER)
    assert (charger.enabled, charger.max_charger_current, charger.smart_charging) == (
        False,
        16,
        True,
    )
    assert (charger.phase_mode, charger.led_strip_brightness) == (1, 20)
    assert (charger.dynamic_charger_current, charger.dynamic_charger_expires) == (10.5, None)
    config = await authed.ok(f"/api/chargers/{CHARGER}/config")
    assert (config["isEnabled"], config["maxChargerCurrent"], config["phaseMode"]) == (False, 16, 1)
    assert config["limitToSinglePhaseCharging"] is True
    assert (await authed.state())["smartCharging"] is True
    assert (await authed.ok("/api/chargers"))[0]["updatedOn"] == "2026-01-15T10:01:00Z"
    request = sim.requests_to("POST", f"/api/chargers/{CHARGER}/settings")[0]
    assert request.body is not None
    assert request.status == 202


async def test_deprecated_dynamic_current_setting_drops_the_time_to_live(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    charger = sim.charger(CHARGER)
    await authed.post(
        f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 8, "minutes": 5}
    )
    await authed.post(f"/api/chargers/{CHARGER}/settings", {"dynamicChargerCurrent": 12})
    clock.advance(3600)
    assert charger.dynamic_charger_current == 12
    # Other settings leave a time to live alone.
    await authed.post(
        f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 8, "minutes": 5}
    )
    await authed.post(f"/api/chargers/{CHARGER}/settings", {"maxChargerCurrent": 20})
    assert charger.dynamic_charger_expires == clock.now + 300


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"unknown": 1},
        [1],
        "text",
        {"enabled": "true"},
        {"enabled": 1},
        {"maxChargerCurrent": 33},
        {"maxChargerCurrent": -1},
        {"maxChargerCurrent": "16"},
        {"maxChargerCurrent": True},
        {"smartCharging": None},
        {"phaseMode": 0},
        {"phaseMode": 4},
        {"phaseMode": 2.0},
        {"ledStripBrightness": 101},
        {"dynamicChargerCurrent": 32.5},
        {"enabled": True, "maxChargerCurrent": 40},
    ],
)
async def test_bad_settings_are_refused(authed: Api, sim: EaseeSimulator, body: Any) -> None:
    before = sim.charger(CHARGER).describe()
    code, answer = await authed.post(f"/api/chargers/{CHARGER}/settings", body)
    assert code == 400
    assert answer["errorCode"] == 400
    assert answer["errorCodeName"] == "BadRequest"
    assert sim.charger(CHARGER).describe() == before
    assert sim.requests[-1].result == "bad_request"


async def test_settings_without_a_body_and_with_broken_json(authed: Api) -> None:
    assert (await authed.post(f"/api/chargers/{CHARGER}/settings"))[0] == 400
    code, _ = await authed.call("POST", f"/api/chargers/{CHARGER}/settings", data="{oops")
    assert code == 400


# --- dynamic charger current ----------------------------------------------------------------


async def test_dynamic_charger_current_with_time_to_live(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.connect_car(CHARGER)
    code, body = await authed.post(
        f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 10, "minutes": 30}
    )
    assert code == 202
    assert body["device"] == CHARGER
    assert body["ticks"] > 0
    assert isinstance(body["commandId"], int)
    charger = sim.charger(CHARGER)
    assert charger.dynamic_charger_expires == START + 1800
    state = await authed.state()
    assert (
        state["dynamicChargerCurrent"],
        state["outputCurrent"],
        state["reasonForNoCurrent"],
    ) == (10, 10, 78)
    clock.advance(1799)
    assert (await authed.state())["outputCurrent"] == 10
    clock.advance(3601)
    state = await authed.state()
    assert (state["dynamicChargerCurrent"], state["outputCurrent"]) == (32, 32)
    assert charger.dynamic_charger_expires is None
    # Energy: 30 minutes at 10 A, then 60 minutes at 32 A.
    assert charger.lifetime_energy == pytest.approx((0.5 * 10 + 32) * KW_PER_AMP)


async def test_dynamic_charger_current_expiry_is_seen_without_a_request(
    sim: EaseeSimulator, clock: FakeClock
) -> None:
    charger = sim.charger(CHARGER)
    charger.dynamic_charger_current = 8
    charger.dynamic_charger_expires = START + 60
    clock.advance(60)
    assert charger.dynamic_charger_current == 32
    assert charger.dynamic_charger_expires is None


async def test_dynamic_charger_current_without_minutes_stays(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    for body in ({"amps": 7.5}, {"amps": 0, "minutes": 0}):
        code, _ = await authed.post(
            f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", body
        )
        assert code == 202
        clock.advance(20 * 3600)
        assert sim.charger(CHARGER).dynamic_charger_current == body["amps"]


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"amps": 33},
        {"amps": -1},
        {"amps": "10"},
        {"amps": True},
        {"amps": 10, "minutes": -1},
        {"amps": 10, "minutes": 1.5},
        {"amps": 10, "minutes": "5"},
        [10, 5],
    ],
)
async def test_bad_dynamic_charger_current_is_refused(
    authed: Api, sim: EaseeSimulator, body: Any
) -> None:
    code, answer = await authed.post(
        f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", body
    )
    assert (code, answer["errorCode"]) == (400, 400)
    assert sim.charger(CHARGER).dynamic_charger_current == 32


# --- commands -------------------------------------------------------------------------------


async def test_pause_resume_stop_start_toggle(authed: Api, sim: EaseeSimulator) -> None:
    sim.connect_car(CHARGER)
    charger = sim.charger(CHARGER)
    steps = [
        ("pause_charging", True, True),
        ("pause_charging", False, True),  # nothing to do
        ("resume_charging", True, False),
        ("resume_charging", False, False),
        ("stop_charging", True, True),
        ("stop_charging", False, True),
        ("start_charging", True, False),
        ("start_charging", False, False),
        ("toggle_charging", True, True),
        ("toggle_charging", True, False),
    ]
    for command, does_something, paused in steps:
        body = await authed.command(command)
        assert body["device"] == CHARGER
        assert (body["ticks"] > 0) == does_something, command
        assert charger.paused is paused, command
    charger.paused = True
    state = await authed.state()
    assert (state["chargerOpMode"], state["outputCurrent"], state["reasonForNoCurrent"]) == (
        2,
        0,
        52,
    )


async def test_commands_without_a_car_do_nothing(authed: Api, sim: EaseeSimulator) -> None:
    for command in ("pause_charging", "stop_charging", "toggle_charging", "override_schedule"):
        assert (await authed.command(command))["ticks"] == 0
    assert sim.charger(CHARGER).paused is False


async def test_unknown_command(authed: Api) -> None:
    assert await authed.post(f"/api/chargers/{CHARGER}/commands/self_destruct") == (404, NOT_FOUND)


async def test_reboot_acts_like_a_power_loss(authed: Api, sim: EaseeSimulator) -> None:
    sim.connect_car(CHARGER)
    charger, circuit = sim.charger(CHARGER), sim.circuit(CIRCUIT)
    charger.dynamic_charger_current = 10
    charger.paused = True
    circuit.dynamic_current = (20.0, 20.0, 20.0)
    body = await authed.command("reboot")
    assert body["ticks"] > 0
    assert (charger.dynamic_charger_current, charger.paused) == (32, False)
    assert circuit.dynamic_current is None
    assert charger.car_connected is True


async def test_offline_charger_receives_nothing(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.connect_car(CHARGER)
    charger = sim.charger(CHARGER)
    clock.advance(100)
    charger.is_online = False
    clock.advance(100)
    disconnected = {
        "errorCode": 410,
        "errorCodeName": "ChargerDisconnected",
        "title": "Charger is not connected",
        "status": 400,
    }
    for path, body in (
        (f"/api/chargers/{CHARGER}/settings", {"maxChargerCurrent": 10}),
        (f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 10}),
        (f"/api/chargers/{CHARGER}/commands/pause_charging", None),
        (f"/api/chargers/{CHARGER}/commands/reboot", None),
        (
            f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
            {"phase1": 9, "phase2": 9, "phase3": 9},
        ),
    ):
        assert await authed.post(path, body) == (400, disconnected), path
        assert sim.requests[-1].result == "offline"
    assert sim.circuit(CIRCUIT).dynamic_current is None
    assert (charger.max_charger_current, charger.dynamic_charger_current, charger.paused) == (
        32,
        32,
        False,
    )
    state = await authed.state()
    assert (state["chargerOpMode"], state["isOnline"], state["outputCurrent"]) == (0, False, 0)
    assert state["reasonForNoCurrent"] is None
    assert state["latestPulse"] == "2026-01-15T10:01:40Z"
    charger.is_online = True
    assert (await authed.state())["latestPulse"] == "2026-01-15T10:03:20Z"


# --- charge plans ---------------------------------------------------------------------------

BASIC = f"/api/chargers/{CHARGER}/basic_charge_plan"
WEEKLY = f"/api/chargers/{CHARGER}/weekly_charge_plan"


def output(state: dict[str, Any]) -> tuple[Any, Any]:
    return state["outputCurrent"], state["reasonForNoCurrent"]


async def test_no_plan_reads_404_and_the_old_schedule_paths_are_gone(authed: Api) -> None:
    assert await authed.get(BASIC) == (404, NOT_FOUND)
    assert await authed.get(WEEKLY) == (404, NOT_FOUND)
    assert await authed.call("DELETE", BASIC) == (404, NOT_FOUND)
    old = f"/api/chargers/{CHARGER}/schedules/daily"
    assert await authed.get(old) == (404, NOT_FOUND)
    for path in (old, f"{old}/enable", f"{old}/disable"):
        assert await authed.post(path, {}) == (404, NOT_FOUND)


async def test_set_basic_plan_keeps_it_in_utc(authed: Api, sim: EaseeSimulator) -> None:
    plan = {**oslo_plan("12:00", "14:00", 16), "extra": "ignored"}
    assert plan["chargeStartTime"] == "2026-01-15T12:00:00+01:00"
    assert await authed.post(BASIC, plan) == (200, None)
    expected = {
        "id": CHARGER,
        "chargeStartTime": "2026-01-15T11:00:00Z",
        "chargeStopTime": "2026-01-15T13:00:00Z",
        "repeat": True,
        "isEnabled": True,
        "chargingCurrentLimit": 16.0,
    }
    assert sim.charger(CHARGER).basic_charge_plan == expected
    assert await authed.ok(BASIC) == expected
    # The public clients' defaults: enabled, repeating, 32 A; an id sent is kept.
    await authed.post(BASIC, {"id": 7, "chargeStartTime": "2026-01-15T20:00:00Z"})
    assert await authed.ok(BASIC) == {
        "id": 7,
        "chargeStartTime": "2026-01-15T20:00:00Z",
        "chargeStopTime": None,
        "repeat": True,
        "isEnabled": True,
        "chargingCurrentLimit": 32.0,
    }


@pytest.mark.parametrize(
    "plan",
    [
        None,
        [],
        {"chargeStopTime": "2026-01-15T13:00:00Z"},
        {"chargeStartTime": "tonight"},
        {"chargeStartTime": 1768471200},
        {"chargeStartTime": "2026-01-15T13:00:00Z", "chargeStopTime": "2026-01-15T13:00:00Z"},
        {"chargeStartTime": "2026-01-15T13:00:00Z", "chargeStopTime": "2026-01-15T12:00:00Z"},
        {"chargeStartTime": "2026-01-15T13:00:00Z", "repeat": "yes"},
        {"chargeStartTime": "2026-01-15T13:00:00Z", "isEnabled": 1},
        {"chargeStartTime": "2026-01-15T13:00:00Z", "chargingCurrentLimit": 33},
        {"chargeStartTime": "2026-01-15T13:00:00Z", "chargingCurrentLimit": "16"},
    ],
)
async def test_bad_basic_plans_are_refused(authed: Api, sim: EaseeSimulator, plan: Any) -> None:
    code, body = await authed.post(BASIC, plan)
    assert (code, body["errorCode"]) == (400, 400)
    assert sim.charger(CHARGER).basic_charge_plan is None


def week(*days: tuple[int, list[tuple[str, str, float]]], enabled: bool = True) -> dict[str, Any]:
    return {
        "isEnabled": enabled,
        "days": [
            {
                "dayOfWeek": day,
                "ranges": [
                    {"startTime": start, "stopTime": stop, "chargingCurrentLimit": amps}
                    for start, stop, amps in ranges
                ],
            }
            for day, ranges in days
        ],
    }


async def test_set_weekly_plan_and_delete_both(authed: Api, sim: EaseeSimulator) -> None:
    plan = week((3, [("11:00Z", "13:00", 16)]), (4, []))
    assert await authed.post(WEEKLY, plan) == (200, None)
    expected = week((3, [("11:00Z", "13:00Z", 16.0)]), (4, []))
    assert await authed.ok(WEEKLY) == expected
    await authed.post(BASIC, oslo_plan("12:00", "14:00", 16))
    assert await authed.call("DELETE", WEEKLY) == (200, None)
    assert await authed.get(WEEKLY) == (404, NOT_FOUND)
    assert await authed.call("DELETE", BASIC) == (200, None)
    assert await authed.get(BASIC) == (404, NOT_FOUND)
    assert sim.charger(CHARGER).basic_charge_plan is None


@pytest.mark.parametrize(
    "plan",
    [
        None,
        {"days": []},
        {"isEnabled": True},
        {"isEnabled": "yes", "days": []},
        {"isEnabled": True, "days": {}},
        {"isEnabled": True, "days": ["monday"]},
        {"isEnabled": True, "days": [{"dayOfWeek": 7, "ranges": []}]},
        {"isEnabled": True, "days": [{"dayOfWeek": 1}]},
        {"isEnabled": True, "days": [{"dayOfWeek": 1, "ranges": []}, {"dayOfWeek": 1, "ranges": []}]},
        week((1, [("24:00Z", "06:00Z", 16)])),
        week((1, [("12:60Z", "14:00Z", 16)])),
        week((1, [("12:00:00Z", "14:00Z", 16)])),
        week((1, [("12:00Z", "14:00Z", 33)])),
        {"isEnabled": True, "days": [{"dayOfWeek": 1, "ranges": ["12:00Z"]}]},
    ],
)  # fmt: skip
async def test_bad_weekly_plans_are_refused(authed: Api, sim: EaseeSimulator, plan: Any) -> None:
    code, body = await authed.post(WEEKLY, plan)
    assert (code, body["errorCode"]) == (400, 400)
    assert sim.charger(CHARGER).weekly_charge_plan is None


async def test_a_basic_plan_posted_back_disabled_stops_holding_the_car(
    authed: Api, sim: EaseeSimulator
) -> None:
    await authed.post(BASIC, oslo_plan("12:00", "14:00", 16))
    sim.connect_car(CHARGER)
    state = await authed.state()
    assert (*output(state), state["chargerOpMode"]) == (0, 54, 6)
    plan = await authed.ok(BASIC)
    await authed.post(BASIC, {**plan, "isEnabled": False})
    assert output(await authed.state()) == (32, 0)


async def test_a_daily_basic_plan_repeats_its_window(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.connect_car(CHARGER)
    await authed.post(BASIC, oslo_plan("22:00", "06:00", 10))
    charger = sim.charger(CHARGER)
    # (hours after 11:00 Oslo time, output, reason)
    for hours, amps, reason in [
        (0, 0, 54),  # 11:00, before the first start
        (11, 10, 76),  # 22:00
        (13, 10, 76),  # 00:00, over midnight
        (18.99, 10, 76),
        (19, 0, 54),  # 06:00
        (35, 10, 76),  # 22:00 the next day
    ]:
        clock.now = START + hours * 3600
        assert (charger.output_current, charger.reason_for_no_current) == (amps, reason), hours
    # Energy follows the windows: the first night's 8 h at 10 A.
    assert charger.lifetime_energy == pytest.approx(8 * 10 * KW_PER_AMP)


async def test_a_one_off_basic_plan_ends_for_good(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.connect_car(CHARGER)
    await authed.post(BASIC, oslo_plan("12:00", "14:00", 16, repeat=False))
    charger = sim.charger(CHARGER)
    for hours, amps, reason in [(0, 0, 54), (1, 16, 76), (3, 32, 0), (25, 32, 0)]:
        clock.now = START + hours * 3600
        assert (charger.output_current, charger.reason_for_no_current) == (amps, reason), hours


async def test_a_weekly_plan_by_utc_weekday(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    # START is Thursday (3) 10:00 UTC; Thursday 22:00Z to Friday 02:00Z, and Friday 11:00Z-13:00Z.
    sim.connect_car(CHARGER)
    await authed.post(
        WEEKLY, week((3, [("22:00Z", "02:00Z", 20)]), (4, [("11:00Z", "13:00Z", 10)]))
    )
    charger = sim.charger(CHARGER)
    for hours, amps, reason in [
        (0, 0, 54),  # Thursday 10:00
        (12, 20, 76),  # Thursday 22:00
        (15.99, 20, 76),  # Friday 01:59, over midnight
        (16, 0, 54),  # Friday 02:00
        (25, 10, 76),  # Friday 11:00
        (27, 0, 54),  # Friday 13:00
        (7 * 24 + 12, 20, 76),  # next Thursday 22:00
    ]:
        clock.now = START + hours * 3600
        assert (charger.output_current, charger.reason_for_no_current) == (amps, reason), hours
    # With both plans on, the lower wins.
    clock.now = START + 12 * 3600
    await authed.login()
    await authed.post(BASIC, oslo_plan("22:00", "06:00", 13))
    assert output(await authed.state()) == (13, 76)
    await authed.post(WEEKLY, {**(await authed.ok(WEEKLY)), "isEnabled": False})
    await authed.call("DELETE", BASIC)
    assert output(await authed.state()) == (32, 0)


async def test_daily_plan_over_a_dst_change(sim: EaseeSimulator, clock: FakeClock) -> None:
    # 2026-03-29: Oslo moves from UTC+1 to UTC+2 at 02:00 local time.
    sim.plan_time_zone = ZoneInfo("Europe/Oslo")
    clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC).timestamp()
    charger = sim.charger(CHARGER)
    charger.basic_charge_plan = oslo_plan("01:00", "04:00", 16, day=date(2026, 3, 28))
    charger.car_connected = True
    clock.now = datetime(2026, 3, 29, 12, 0, tzinfo=UTC).timestamp()
    # 01:00-04:00 local is two real hours that night.
    assert charger.session_energy == pytest.approx(2 * 16 * KW_PER_AMP)


async def test_plan_with_low_amps_and_without_a_stop(sim: EaseeSimulator) -> None:
    charger = sim.charger(CHARGER)
    charger.car_connected = True
    charger.basic_charge_plan = oslo_plan("10:00", "12:00", 5)
    assert (charger.output_current, charger.reason_for_no_current, charger.op_mode) == (0, 76, 2)
    charger.basic_charge_plan = oslo_plan("10:00", None, 20)  # started, never stops
    assert (charger.output_current, charger.reason_for_no_current) == (20, 76)
    charger.basic_charge_plan = None
    charger.weekly_charge_plan = week()  # a week without a window: never charges
    assert (charger.output_current, charger.reason_for_no_current) == (0, 54)


async def test_override_schedule_lasts_until_the_car_leaves(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.connect_car(CHARGER)
    await authed.post(BASIC, oslo_plan("12:00", "14:00", 16))
    assert (await authed.state())["outputCurrent"] == 0
    body = await authed.command("override_schedule")
    assert body["ticks"] > 0
    assert sim.charger(CHARGER).schedule_overridden is True
    assert (await authed.state())["outputCurrent"] == 32
    assert (await authed.command("override_schedule"))["ticks"] == 0  # already overridden
    clock.advance(3600)  # into the window: the plan stays ignored
    assert (await authed.state())["outputCurrent"] == 32
    sim.disconnect_car(CHARGER)
    assert sim.charger(CHARGER).schedule_overridden is False
    clock.advance(7200)  # outside the window again
    sim.connect_car(CHARGER)
    assert (await authed.state())["reasonForNoCurrent"] == 54


# --- lowest limit wins ----------------------------------------------------------------------

# (charger fields, circuit fields, plan, output current, reasonForNoCurrent, op mode)
LIMIT_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None, float, int, int]] = [
    ("nothing_binds", {}, {}, None, 32, 0, 3),
    ("car", {"car_max_current": 20}, {}, None, 20, 0, 3),
    ("charger_max", {"max_charger_current": 16}, {}, None, 16, 77, 3),
    ("dynamic_charger", {"dynamic_charger_current": 10}, {}, None, 10, 78, 3),
    ("circuit_max", {}, {"max_current": 20}, None, 20, 26, 3),
    ("dynamic_circuit", {}, {"dynamic_current": (12.0, 12.0, 12.0)}, None, 12, 27, 3),
    ("dynamic_circuit_above_max", {}, {"max_current": 20, "dynamic_current": 25}, None, 20, 26, 3),
    ("plan_inside", {}, {}, oslo_plan("10:00", "12:00", 8), 8, 76, 3),
    ("plan_outside", {}, {}, oslo_plan("12:00", "14:00", 16), 0, 54, 6),
    ("lowest_of_many", {"max_charger_current": 16, "dynamic_charger_current": 14}, {"max_current": 15}, oslo_plan("10:00", "12:00", 13), 13, 76, 3),
    ("car_too_low", {"car_max_current": 5}, {}, None, 0, 50, 2),
    ("charger_max_too_low", {"max_charger_current": 5.9}, {}, None, 0, 51, 2),
    ("dynamic_charger_zero", {"dynamic_charger_current": 0}, {}, None, 0, 52, 2),
    ("circuit_max_too_low", {}, {"max_current": 4}, None, 0, 1, 2),
    ("dynamic_circuit_too_low", {}, {"dynamic_current": 3}, None, 0, 2, 2),
    ("one_phase_of_the_circuit", {}, {"dynamic_current": (32.0, 32.0, 11.0)}, None, 11, 27, 3),
    ("single_phase_car_ignores_l2_l3", {"phases": 1}, {"dynamic_current": (32.0, 8.0, 8.0)}, None, 32, 0, 3),
    ("phase_mode_1", {"phase_mode": 1}, {"max_current": (16.0, 32.0, 32.0)}, None, 16, 26, 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("charger_fields", "circuit_fields", "plan", "output", "reason", "op_mode"),
    [case[1:] for case in LIMIT_CASES],
    ids=[case[0] for case in LIMIT_CASES],
)
async def test_lowest_limit_wins(
    authed: Api,
    sim: EaseeSimulator,
    clock: FakeClock,
    charger_fields: dict[str, Any],
    circuit_fields: dict[str, Any],
    plan: dict[str, Any] | None,
    output: float,
    reason: int,
    op_mode: int,
) -> None:
    sim.connect_car(CHARGER)
    charger, circuit = sim.charger(CHARGER), sim.circuit(CIRCUIT)
    for name, value in charger_fields.items():
        setattr(charger, name, value)
    for name, value in circuit_fields.items():
        setattr(circuit, name, value)
    if plan is not None:
        charger.basic_charge_plan = plan
    state = await authed.state()
    assert state["outputCurrent"] == output
    assert state["reasonForNoCurrent"] == reason
    assert state["chargerOpMode"] == op_mode
    phases = 1 if charger_fields.get("phases") == 1 or charger_fields.get("phase_mode") == 1 else 3
    assert state["totalPower"] == pytest.approx(output * 230 * phases / 1000)
    assert [state[f"inCurrentT{t}"] for t in (3, 4, 5)] == [output] * phases + [0.0] * (3 - phases)
    assert state["inCurrentT2"] == 0.0
    assert (charger.output_current, charger.reason_for_no_current, charger.op_mode) == (
        output,
        reason,
        op_mode,
    )
    clock.advance(3600)
    assert charger.session_energy == pytest.approx(output * 230 * phases / 1000)


@pytest.mark.parametrize(
    ("fields", "op_mode", "reason"),
    [
        ({"is_online": False}, 0, None),
        ({"car_connected": False}, 1, None),
        ({"error": True}, 5, 56),
        ({"car_wants_energy": False}, 4, 50),
        ({"enabled": False}, 2, 53),
        ({"paused": True}, 2, 52),
    ],
)
async def test_chargers_that_do_not_ask_for_current(
    authed: Api, sim: EaseeSimulator, fields: dict[str, Any], op_mode: int, reason: int | None
) -> None:
    sim.connect_car(CHARGER)
    for name, value in fields.items():
        setattr(sim.charger(CHARGER), name, value)
    state = await authed.state()
    assert (state["chargerOpMode"], state["reasonForNoCurrent"], state["outputCurrent"]) == (
        op_mode,
        reason,
        0,
    )
    assert state["totalPower"] == 0


async def test_circuit_is_shared_between_charging_chargers(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.add_charger(SECOND, CIRCUIT, car_connected=True)
    sim.connect_car(CHARGER)
    for charger_id in (CHARGER, SECOND):
        state = await authed.state(charger_id)
        assert (state["outputCurrent"], state["reasonForNoCurrent"]) == (16, 29)
    # A limit of its own lower than the share does not give the rest to the other.
    sim.charger(SECOND).max_charger_current = 10
    assert sim.charger(SECOND).output_current == 10
    assert sim.charger(CHARGER).output_current == 16
    # A charger its own limits keep below 6 A leaves the circuit to the others.
    sim.charger(SECOND).max_charger_current = 0
    assert (sim.charger(CHARGER).output_current, sim.charger(CHARGER).reason_for_no_current) == (
        32,
        0,
    )
    sim.charger(SECOND).max_charger_current = 32
    await authed.command("pause_charging", SECOND)
    assert (await authed.state())["outputCurrent"] == 32
    await authed.command("resume_charging", SECOND)
    # A dynamic circuit current is shared as well; too little for two queues both.
    sim.circuit(CIRCUIT).dynamic_current = (20.0, 20.0, 20.0)
    assert sim.charger(CHARGER).output_current == 10
    sim.circuit(CIRCUIT).dynamic_current = (10.0, 10.0, 10.0)
    for charger_id in (CHARGER, SECOND):
        state = await authed.state(charger_id)
        assert (state["outputCurrent"], state["reasonForNoCurrent"], state["chargerOpMode"]) == (
            0,
            5,
            2,
        )
    sim.circuit(CIRCUIT).dynamic_current = (0.0, 0.0, 0.0)
    assert sim.charger(CHARGER).reason_for_no_current == 2
    # Reported by every charger of the circuit.
    assert (await authed.state(SECOND))["dynamicCircuitCurrentP1"] == 0
    sim.circuit(CIRCUIT).dynamic_current = None
    clock.advance(3600)
    assert sim.charger(CHARGER).session_energy == pytest.approx(16 * KW_PER_AMP)


async def test_plan_outside_its_window_leaves_the_circuit_to_the_other_charger(
    authed: Api, sim: EaseeSimulator
) -> None:
    sim.add_charger(
        SECOND, CIRCUIT, car_connected=True, basic_charge_plan=oslo_plan("12:00", "14:00", 16)
    )
    sim.connect_car(CHARGER)
    assert (await authed.state())["outputCurrent"] == 32
    assert (await authed.state(SECOND))["reasonForNoCurrent"] == 54


# --- volatile values ------------------------------------------------------------------------


async def test_car_connect_starts_a_new_session(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    charger = sim.charger(CHARGER)
    sim.connect_car(CHARGER)
    clock.advance(3600)
    assert charger.session_energy == pytest.approx(32 * KW_PER_AMP)
    await authed.post(
        f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 8, "minutes": 600}
    )
    charger.paused = True
    sim.connect_car(CHARGER)  # already connected: nothing happens
    assert (charger.dynamic_charger_current, charger.paused) == (8, True)
    sim.disconnect_car(CHARGER)
    assert charger.session_energy == pytest.approx(32 * KW_PER_AMP)  # the last session stays
    sim.connect_car(CHARGER)
    assert charger.dynamic_charger_current == 32
    assert charger.dynamic_charger_expires is None
    assert charger.paused is False
    assert charger.session_energy == 0.0
    assert charger.lifetime_energy == pytest.approx(32 * KW_PER_AMP)
    state = await authed.state()
    assert (state["dynamicChargerCurrent"], state["outputCurrent"]) == (32, 32)


async def test_power_loss_of_a_secondary_charger(authed: Api, sim: EaseeSimulator) -> None:
    sim.add_charger(SECOND, CIRCUIT, car_connected=True, dynamic_charger_current=10, paused=True)
    circuit = sim.circuit(CIRCUIT)
    circuit.dynamic_current = (20.0, 20.0, 20.0)
    sim.power_loss(SECOND)
    second = sim.charger(SECOND)
    assert (second.dynamic_charger_current, second.paused, second.car_connected) == (
        32,
        False,
        True,
    )
    assert circuit.dynamic_current == (20.0, 20.0, 20.0)


async def test_power_loss_of_the_master_resets_the_circuit(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.connect_car(CHARGER)
    code, _ = await authed.post(
        f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
        {"phase1": 10, "phase2": 10, "phase3": 10, "timeToLive": 60},
    )
    assert code == 202
    sim.power_loss(CHARGER)
    circuit = sim.circuit(CIRCUIT)
    assert (circuit.dynamic_current, circuit.dynamic_expires) == (None, None)
    state = await authed.state()
    # No dynamic limit set: an Easee Home reads 40 A, not the circuit's 32 A.
    assert [state[f"dynamicCircuitCurrentP{p}"] for p in (1, 2, 3)] == [40.0] * 3
    clock.advance(7200)
    assert circuit.dynamic_current is None  # no time to live left to run out


# --- circuit writes -------------------------------------------------------------------------


async def test_circuit_dynamic_current_falls_back_to_the_offline_limit(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    sim.add_charger(SECOND, CIRCUIT)
    sim.connect_car(CHARGER)
    code, body = await authed.post(
        f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
        {"phase1": 20, "phase2": 21, "phase3": 22.5, "timeToLive": 10},
    )
    assert code == 202
    assert len(body) == 1
    assert body[0]["device"] == CHARGER
    assert body[0]["ticks"] > 0
    circuit = sim.circuit(CIRCUIT)
    assert circuit.dynamic_current == (20.0, 21.0, 22.5)
    assert circuit.dynamic_expires == START + 600
    for charger_id in (CHARGER, SECOND):
        state = await authed.state(charger_id)
        assert [state[f"dynamicCircuitCurrentP{p}"] for p in (1, 2, 3)] == [20, 21, 22.5]
    assert (await authed.state())["outputCurrent"] == 20
    clock.advance(600)
    state = await authed.state()
    assert [state[f"dynamicCircuitCurrentP{p}"] for p in (1, 2, 3)] == [16.0] * 3
    assert (state["outputCurrent"], state["reasonForNoCurrent"]) == (16, 27)
    assert circuit.dynamic_is_fallback is True
    assert sim.charger(CHARGER).lifetime_energy == pytest.approx(10 / 60 * 20 * KW_PER_AMP)
    # An offline limit too low to charge with has its own reason.
    circuit.offline_max_current = (4.0, 4.0, 4.0)
    await authed.post(
        f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
        {"phase1": 20, "phase2": 20, "phase3": 20, "timeToLive": 1},
    )
    assert circuit.dynamic_is_fallback is False
    clock.advance(60)
    state = await authed.state()
    assert (state["outputCurrent"], state["reasonForNoCurrent"]) == (0, 3)
    # Without a time to live it stays.
    await authed.post(
        f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
        {"phase1": 12, "phase2": 12, "phase3": 12},
    )
    clock.advance(86400)
    assert circuit.dynamic_current == (12.0, 12.0, 12.0)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"phase1": 10, "phase2": 10},
        {"phase1": 10, "phase2": 10, "phase3": 41},
        {"phase1": -1, "phase2": 10, "phase3": 10},
        {"phase1": "10", "phase2": 10, "phase3": 10},
        {"phase1": 10, "phase2": 10, "phase3": 10, "timeToLive": -1},
        {"phase1": 10, "phase2": 10, "phase3": 10, "timeToLive": 0.5},
    ],
)
async def test_bad_circuit_dynamic_current_is_refused(
    authed: Api, sim: EaseeSimulator, body: Any
) -> None:
    code, answer = await authed.post(f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent", body)
    assert (code, answer["errorCode"]) == (400, 400)
    assert sim.circuit(CIRCUIT).dynamic_current is None


async def test_circuit_settings_write(authed: Api, sim: EaseeSimulator) -> None:
    sim.connect_car(CHARGER)
    path = f"/api/sites/{SITE}/circuits/{CIRCUIT}/settings"
    code, body = await authed.post(
        path,
        {"maxCircuitCurrentP2": 20, "offlineMaxCircuitCurrentP3": 8, "enableIdleCurrent": True},
    )
    assert code == 202
    assert [item["device"] for item in body] == [CHARGER]
    circuit = sim.circuit(CIRCUIT)
    assert circuit.max_current == (32.0, 20.0, 32.0)
    assert circuit.offline_max_current == (16.0, 16.0, 8.0)
    assert circuit.enable_idle_current is True
    settings = await authed.ok(path)
    assert (settings["maxCircuitCurrentP2"], settings["offlineMaxCircuitCurrentP3"]) == (20, 8)
    assert (await authed.ok(f"/api/chargers/{CHARGER}/config"))["circuitMaxCurrentP2"] == 20
    state = await authed.state()
    assert (state["outputCurrent"], state["reasonForNoCurrent"]) == (20, 26)
    code, body = await authed.post(path, {"maxCircuitCurrentP1": 25})
    assert code == 202
    assert circuit.max_current == (25.0, 20.0, 32.0)


async def test_circuit_without_master_answers_no_device(authed: Api, sim: EaseeSimulator) -> None:
    sim.add_circuit(SITE, 71)
    assert await authed.post(
        f"/api/sites/{SITE}/circuits/71/settings", {"enableIdleCurrent": True}
    ) == (202, [])
    body = {"phase1": 10, "phase2": 10, "phase3": 10}
    assert await authed.post(f"/api/sites/{SITE}/circuits/71/dynamicCurrent", body) == (202, [])


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"unknown": 1},
        {"maxCircuitCurrentP1": 33},  # above the rated current
        {"maxCircuitCurrentP1": -1},
        {"offlineMaxCircuitCurrentP2": "8"},
        {"enableIdleCurrent": 1},
        {"maxCircuitCurrentP1": 20, "enableIdleCurrent": "no"},
    ],
)
async def test_bad_circuit_settings_are_refused(
    authed: Api, sim: EaseeSimulator, body: Any
) -> None:
    code, answer = await authed.post(f"/api/sites/{SITE}/circuits/{CIRCUIT}/settings", body)
    assert (code, answer["errorCode"]) == (400, 400)
    assert sim.circuit(CIRCUIT).settings()["maxCircuitCurrentP1"] == 32


# --- energy and clocks ----------------------------------------------------------------------


async def test_energy_integrates_over_the_clock(
    authed: Api, sim: EaseeSimulator, clock: FakeClock
) -> None:
    charger = sim.charger(CHARGER)
    charger.lifetime_energy = 1000.0
    sim.connect_car(CHARGER)
    clock.advance(1800)
    charger.voltage = 240
    clock.advance(1800)
    expected = 1000 + (0.5 * 230 + 0.5 * 240) * 3 * 32 / 1000
    assert charger.lifetime_energy == pytest.approx(expected)
    state = await authed.state()
    assert state["lifetimeEnergy"] == pytest.approx(expected)
    assert state["sessionEnergy"] == pytest.approx(expected - 1000)
    assert state["totalPower"] == pytest.approx(32 * 240 * 3 / 1000)
    assert charger.total_power == pytest.approx(32 * 240 * 3 / 1000)
    charger.lifetime_energy = 5.0  # a new meter reading replaces, it does not add
    clock.advance(3600)
    assert charger.lifetime_energy == pytest.approx(5 + 32 * 240 * 3 / 1000)


async def test_a_clock_going_back_changes_nothing(sim: EaseeSimulator, clock: FakeClock) -> None:
    charger = sim.charger(CHARGER)
    sim.connect_car(CHARGER)
    clock.advance(3600)
    energy = charger.lifetime_energy
    clock.advance(-1800)
    assert charger.lifetime_energy == energy
    clock.advance(3600)  # 30 minutes after the furthest point
    assert charger.lifetime_energy == pytest.approx(energy + 0.5 * 32 * KW_PER_AMP)


async def test_default_clock_follows_freezegun(
    freezer: FrozenDateTimeFactory, session: aiohttp.ClientSession
) -> None:
    sim = EaseeSimulator(latency_scale=0, access_token_lifetime=600)
    sim.add_account(USER, PASSWORD, user_id=USER_ID)
    sim.add_site(USER_ID, SITE, "Home")
    sim.add_circuit(SITE, CIRCUIT)
    charger = sim.add_charger(CHARGER, CIRCUIT, car_connected=True)
    await sim.start()
    try:
        api = Api(sim, session)
        await api.login()
        freezer.tick(600)
        assert await api.get("/api/chargers") == (401, UNAUTHORIZED)
        assert charger.lifetime_energy == pytest.approx(32 * KW_PER_AMP / 6)
    finally:
        await sim.stop()
        RUNTIME_SECRETS.update(sim.issued_secrets())


async def test_latency(clock: FakeClock, session: aiohttp.ClientSession) -> None:
    sim = EaseeSimulator(clock=clock, latency_scale=0.1)
    await sim.start()
    try:
        started = time.monotonic()
        code, _ = await Api(sim, session).call("GET", "/api/chargers", token=None)
        assert code == 401
        assert 0.02 <= time.monotonic() - started < 1.0
    finally:
        await sim.stop()


# --- rate limits ----------------------------------------------------------------------------


async def test_sliding_window_answers_429_with_retry_after(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sim = await make_sim(max_requests=4, window=60)
    api = Api(sim, session)
    await api.login()  # the login counts too
    for _ in range(3):
        clock.advance(10)
        assert (await api.get("/api/chargers"))[0] == 200
    async with session.get(
        f"{sim.base_url}/api/chargers", headers={"Authorization": f"Bearer {api.token}"}
    ) as resp:
        assert resp.status == 429
        # The login at START leaves the window at START + 60; now is START + 30.
        assert resp.headers["Retry-After"] == "30"
        assert await resp.json() == TOO_MANY
    assert sim.requests[-1].result == "rate_limited"
    clock.advance(30)
    assert (await api.get("/api/chargers"))[0] == 200
    assert sim.blocked_until is None


async def test_requests_during_retry_after_are_strikes_and_block(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sim = await make_sim(max_requests=2, window=60, block_after_strikes=2, block_seconds=1000)
    api = Api(sim, session)
    await api.login()
    await api.get("/api/chargers")
    assert (await api.get("/api/chargers"))[0] == 429
    clock.advance(20)
    for _ in range(2):
        code, body = await api.get("/api/chargers")
        assert (code, body) == (429, TOO_MANY)
    assert [r.result for r in sim.requests[-3:]] == ["rate_limited", "strike", "strike"]
    code, body = await api.get("/api/chargers")
    assert (code, body) == (403, BLOCKED)
    assert sim.blocked_until == clock.now + 1000
    # Every request of the IP is refused now, logins too, and the admin endpoints still work.
    clock.advance(999)
    assert await api.call(
        "POST", "/api/accounts/login", {"userName": USER, "password": PASSWORD}, token=None
    ) == (403, BLOCKED)
    assert (await api.get("/_sim/chargers"))[0] == 200
    assert sim.requests[-1].result == "blocked"
    clock.advance(1)
    assert sim.blocked_until is None
    # The block is over and its history forgotten.
    assert (await api.get("/api/chargers"))[0] == 200
    assert (await api.get("/api/chargers"))[0] == 200


async def test_too_many_requests_in_one_window_block(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sim = await make_sim(max_requests=2, window=60, block_after_strikes=100, block_threshold=5)
    api = Api(sim, session)
    await api.login()
    codes = [(await api.get("/api/chargers"))[0] for _ in range(5)]
    assert codes == [200, 429, 429, 429, 403]
    assert sim.blocked_until == START + 86400
    sim.unblock()
    assert sim.blocked_until is None
    assert (await api.get("/api/chargers"))[0] == 200


async def raw_get(
    sim: EaseeSimulator, session: aiohttp.ClientSession, token: str | None
) -> tuple[int, dict[str, Any]]:
    """GET /api/chargers; return the status and the answer as the fixture records one."""
    async with session.get(
        f"{sim.base_url}/api/chargers", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        text = await resp.text()
        if resp.content_type == "application/json":
            return resp.status, {"status": resp.status, "json": json.loads(text)}
        return resp.status, {"status": resp.status, "text": text}


@pytest.mark.parametrize("form", [*BAN_FORMS, "permission_403"])
async def test_fault_ban_forms_answer_as_easee(
    authed: Api, sim: EaseeSimulator, session: aiohttp.ClientSession, form: str
) -> None:
    """Each ban fault (and the per-resource 403) answers as Easee does, and blocks nothing."""
    sim.inject_fault(form)
    assert await raw_get(sim, session, authed.token) == (ANSWERS[form]["status"], ANSWERS[form])
    assert sim.requests[-1].result == form
    assert sim.blocked_until is None
    assert (await authed.get("/api/chargers"))[0] == 200


@pytest.mark.parametrize("form", BAN_FORMS)
async def test_the_block_answers_in_its_form(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock, form: str
) -> None:
    """The real block answers in the form asked for; the 429 form restarts with each request."""
    sim = await make_sim(
        max_requests=2,
        window=60,
        block_after_strikes=100,
        block_threshold=3,
        block_seconds=1000,
        block_form=form,
    )
    api = Api(sim, session)
    await api.login()
    await api.get("/api/chargers")
    assert (await api.get("/api/chargers"))[0] == 429
    assert await raw_get(sim, session, api.token) == (ANSWERS[form]["status"], ANSWERS[form])
    assert sim.blocked_until == clock.now + 1000
    clock.advance(999)
    assert await raw_get(sim, session, api.token) == (ANSWERS[form]["status"], ANSWERS[form])
    assert sim.requests[-1].result == "blocked"
    if form == "blocked_429":
        # "24 hours from the last request received": the request above started them again.
        assert sim.blocked_until == clock.now + 1000
        clock.advance(1000)
    else:
        clock.advance(1)
    assert sim.blocked_until is None
    assert (await api.get("/api/chargers"))[0] == 200


async def test_unknown_command_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="command answer"):
        EaseeSimulator(command_answer="teapot")


async def test_an_unset_dynamic_circuit_current_reads_80_a_on_a_charge(
    authed: Api, sim: EaseeSimulator
) -> None:
    sim.charger(CHARGER).product_code = 100
    state = await authed.state()
    assert [state[f"dynamicCircuitCurrentP{p}"] for p in (1, 2, 3)] == [80.0] * 3
    code, _ = await authed.post(
        f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
        {"phase1": 10, "phase2": 11, "phase3": 12},
    )
    assert code == 202
    state = await authed.state()
    assert [state[f"dynamicCircuitCurrentP{p}"] for p in (1, 2, 3)] == [10.0, 11.0, 12.0]


@pytest.mark.parametrize(
    ("it_grid", "phases", "terminals", "output_phase", "grid_type"),
    [
        (False, 3, [0.0, 16.0, 16.0, 16.0], 30, 1),
        (True, 3, [16.0, 16.0, 16.0, 0.0], 22, 4),
        (True, 1, [16.0, 0.0, 0.0, 0.0], 11, 4),
        (False, 1, [0.0, 16.0, 0.0, 0.0], 10, 1),
    ],
)
async def test_phase_currents_follow_the_grid_type(
    authed: Api,
    sim: EaseeSimulator,
    it_grid: bool,
    phases: int,
    terminals: list[float],
    output_phase: int,
    grid_type: int,
) -> None:
    """On IT grids the phases are T2-T4; on TN grids T3-T5 (T2 is the neutral)."""
    sim.connect_car(CHARGER)
    charger = sim.charger(CHARGER)
    charger.it_grid, charger.phases, charger.max_charger_current = it_grid, phases, 16
    state = await authed.state()
    assert [state[f"inCurrentT{t}"] for t in (2, 3, 4, 5)] == terminals
    assert state["outputPhase"] == output_phase
    config = await authed.ok(f"/api/chargers/{CHARGER}/config")
    assert config["detectedPowerGridType"] == grid_type


async def test_command_answer_forms(authed: Api, sim: EaseeSimulator) -> None:
    """Every write answers in the chosen form; a refusal carries nothing out."""
    sim.connect_car(CHARGER)
    charger = sim.charger(CHARGER)
    command = f"/api/chargers/{CHARGER}/commands/pause_charging"
    assert (await authed.post(command))[0] == 202

    sim.command_answer = "200_empty"
    charger.paused = False
    assert await authed.post(command) == (200, None)
    assert charger.paused is True

    sim.command_answer = "200_accepted"
    code, body = await authed.post(
        f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 12}
    )
    assert (code, body["wasAccepted"], body["resultCode"]) == (200, True, 0)
    assert set(body) == {"id", "wasAccepted", "resultCode"}
    assert charger.dynamic_charger_current == 12

    sim.command_answer = "200_refused"
    writes: list[tuple[str, Any]] = [
        (f"/api/chargers/{CHARGER}/commands/resume_charging", None),
        (f"/api/chargers/{CHARGER}/settings", {"maxChargerCurrent": 10}),
        (f"/api/chargers/{CHARGER}/commands/set_dynamic_charger_current", {"amps": 8}),
        (
            f"/api/sites/{SITE}/circuits/{CIRCUIT}/dynamicCurrent",
            {"phase1": 9, "phase2": 9, "phase3": 9},
        ),
        (f"/api/sites/{SITE}/circuits/{CIRCUIT}/settings", {"maxCircuitCurrentP1": 20}),
    ]
    for path, body in writes:
        code, answer = await authed.post(path, body)
        assert (code, answer["wasAccepted"], answer["resultCode"]) == (200, False, 3), path
        assert sim.requests[-1].result == "refused"
    assert (charger.paused, charger.max_charger_current, charger.dynamic_charger_current) == (
        True,
        32,
        12,
    )
    assert sim.circuit(CIRCUIT).dynamic_current is None
    assert sim.circuit(CIRCUIT).max_current == (32, 32, 32)


async def test_admin_command_answer(api: Api, sim: EaseeSimulator) -> None:
    for form in ("200_empty", "200_accepted", "200_refused", "202"):
        assert await api.post("/_sim/command_answer", {"form": form}) == (200, {"success": True})
        assert sim.command_answer == form
    for body in ({"form": "xml"}, {"form": 202}, [1]):
        assert (await api.post("/_sim/command_answer", body))[0] == 400
    assert sim.command_answer == "202"


async def test_unknown_block_form_is_refused() -> None:
    with pytest.raises(ValueError, match="block form"):
        EaseeSimulator(block_form="teapot")


async def test_logins_are_limited_separately(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    sim = await make_sim(max_logins=2)
    api = Api(sim, session)
    await api.login()
    clock.advance(600)
    await api.login()
    clock.advance(600)
    async with session.post(
        f"{sim.base_url}/api/accounts/login", json={"userName": USER, "password": PASSWORD}
    ) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == str(3600 - 1200)
    assert sim.requests[-1].result == "login_rate_limited"
    # Other requests go on; another login is a strike.
    assert (await api.get("/api/chargers"))[0] == 200
    code, _ = await api.call(
        "POST", "/api/accounts/login", {"userName": USER, "password": "wrong"}, token=None
    )
    assert code == 429
    assert sim.requests[-1].result == "strike"
    clock.advance(2400)
    await api.login()


async def test_rate_limit_counts_failed_logins(
    make_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(max_logins=1)
    api = Api(sim, session)
    body = {"userName": USER, "password": "wrong"}
    assert (await api.call("POST", "/api/accounts/login", body, token=None))[0] == 400
    assert (await api.call("POST", "/api/accounts/login", body, token=None))[0] == 429


# --- faults ---------------------------------------------------------------------------------


async def test_fault_http_500(
    authed: Api, sim: EaseeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.inject_fault("http_500")
    async with session.get(f"{sim.base_url}/api/chargers") as resp:
        assert resp.status == 500
        assert resp.content_type == "text/html"
    assert sim.requests[-1].result == "http_500"
    assert (await authed.get("/api/chargers"))[0] == 200


async def test_fault_non_json(
    authed: Api, sim: EaseeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.inject_fault("non_json")
    async with session.get(
        f"{sim.base_url}/api/chargers", headers={"Authorization": f"Bearer {authed.token}"}
    ) as resp:
        assert resp.status == 200
        assert await resp.text() == "<html>oops</html>"


async def test_fault_drop(authed: Api, sim: EaseeSimulator) -> None:
    sim.inject_fault("drop", path_contains="/commands/")
    with pytest.raises(aiohttp.ClientError):
        await authed.post(f"/api/chargers/{CHARGER}/commands/reboot")
    assert sim.requests[-1].status == 0
    assert sim.requests[-1].result == "drop"


async def test_fault_http_429_and_blocked_403_are_no_real_limits(
    authed: Api, sim: EaseeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.inject_fault("http_429", retry_after=120)
    async with session.get(f"{sim.base_url}/api/chargers") as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "120"
        assert await resp.json() == TOO_MANY
    sim.inject_fault("blocked_403", count=2)
    for _ in range(2):
        assert await authed.get("/api/chargers") == (403, BLOCKED)
    assert (await authed.get("/api/chargers"))[0] == 200
    assert sim.blocked_until is None
    assert [r.result for r in sim.requests[-4:]] == ["http_429", "blocked_403", "blocked_403", "ok"]


async def test_fault_wrong_shape(authed: Api, sim: EaseeSimulator) -> None:
    sim.inject_fault("wrong_shape", count=2)
    assert await authed.get("/api/chargers") == (200, {"unexpected": True})
    code, body = await authed.get(f"/api/chargers/{CHARGER}/state")
    assert code == 200
    assert isinstance(body, list)
    sim.inject_fault("wrong_shape")
    # The command is not carried out.
    assert (await authed.post(f"/api/chargers/{CHARGER}/settings", {"enabled": False}))[0] == 200
    assert sim.charger(CHARGER).enabled is True


async def test_fault_delay(authed: Api, sim: EaseeSimulator) -> None:
    sim.inject_fault("delay", delay=0.05)
    started = time.monotonic()
    assert (await authed.get("/api/chargers"))[0] == 200
    assert time.monotonic() - started >= 0.05
    assert sim.requests[-1].result == "ok"


async def test_faults_target_paths_and_can_be_cleared(authed: Api, sim: EaseeSimulator) -> None:
    sim.inject_fault("blocked_403", path_contains="/state", count=5)
    assert (await authed.get("/api/chargers"))[0] == 200
    assert (await authed.get(f"/api/chargers/{CHARGER}/state"))[0] == 403
    sim.clear_faults()
    assert (await authed.get(f"/api/chargers/{CHARGER}/state"))[0] == 200


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("meteor", {}),
        ("drop", {"count": 0}),
        ("delay", {"delay": -1}),
        ("http_429", {"retry_after": -1}),
    ],
)
def test_inject_fault_rejects_bad_arguments(kind: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        EaseeSimulator().inject_fault(kind, **options)


# --- secrets --------------------------------------------------------------------------------


async def test_request_log_never_holds_passwords_or_tokens(
    api: Api, sim: EaseeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = await api.login()
    await api.call(
        "POST", "/api/accounts/login", {"userName": USER, "password": PASSWORD + "x"}, token=None
    )
    await api.call("POST", "/api/accounts/login", {"password": PASSWORD}, token=None)
    await api.post(
        "/api/accounts/refresh_token",
        {"accessToken": tokens["accessToken"], "refreshToken": tokens["refreshToken"]},
    )
    await api.get("/api/chargers")
    sim.inject_fault("http_500")
    async with api.session.post(
        f"{sim.base_url}/api/accounts/login", json={"userName": USER, "password": PASSWORD}
    ) as resp:
        assert resp.status == 500

    logins = sim.requests_to("POST", "/api/accounts/login")
    assert [r.body for r in logins] == [
        {"userName": USER},
        {"userName": USER},
        None,
        {"userName": USER},
    ]
    assert sim.requests_to("POST", "/api/accounts/refresh_token")[0].body is None
    secrets = [PASSWORD, *sim.issued_secrets()]
    assert len(secrets) == 5
    async with api.session.get(f"{sim.base_url}/_sim/requests") as resp:
        admin_log = await resp.text()
    for secret in secrets:
        assert secret not in repr(sim.requests)
        assert secret not in caplog.text
        assert secret not in admin_log
    assert "/api/accounts/login" in caplog.text


# --- admin endpoints ------------------------------------------------------------------------


async def test_admin_request_log(authed: Api, sim: EaseeSimulator) -> None:
    await authed.get(f"/api/chargers/{CHARGER}/state", foo="bar")
    await authed.get("/_sim/chargers")  # not logged
    code, body = await authed.get("/_sim/requests")
    assert code == 200
    assert body[-1] == {
        "time": START,
        "method": "GET",
        "path": f"/api/chargers/{CHARGER}/state",
        "query": {"foo": "bar"},
        "body": None,
        "status": 200,
        "result": "ok",
        # Whatever the client called itself (this test's client: aiohttp's default).
        "user_agent": body[-1]["user_agent"],
        # Only chaos loses answers (tests/simulators/test_chaos.py).
        "answer_lost": False,
    }
    assert body[-1]["user_agent"]
    assert len(body) == 2


async def test_admin_chargers_update_and_actions(api: Api, sim: EaseeSimulator) -> None:
    code, body = await api.get("/_sim/chargers")
    assert code == 200
    assert body[CHARGER]["op_mode"] == 1
    assert body[CHARGER]["master"] is True
    code, body = await api.post(
        f"/_sim/chargers/{CHARGER}",
        {"car_connected": True, "max_charger_current": 20, "voltage": 231},
    )
    assert code == 200
    assert (body["output_current"], body["reason_for_no_current"], body["op_mode"]) == (20, 77, 3)
    assert body["total_power"] == pytest.approx(20 * 231 * 3 / 1000)
    code, body = await api.post(f"/_sim/chargers/{CHARGER}/disconnect_car")
    assert (code, body["car_connected"]) == (200, False)
    code, body = await api.post(f"/_sim/chargers/{CHARGER}/connect_car")
    assert (code, body["car_connected"]) == (200, True)
    sim.charger(CHARGER).dynamic_charger_current = 7
    code, body = await api.post(f"/_sim/chargers/{CHARGER}/power_loss")
    assert (code, body["dynamic_charger_current"]) == (200, 32)
    assert await api.post("/_sim/chargers/EH999999", {"paused": True}) == (
        404,
        {"success": False, "error": "unknown charger"},
    )
    assert (await api.post("/_sim/chargers/EH999999/power_loss"))[0] == 404
    assert (await api.post(f"/_sim/chargers/{CHARGER}/explode"))[0] == 404


@pytest.mark.parametrize(
    "body",
    [
        [1],
        {"nope": 1},
        {"id": "EH000009"},
        {"master": False},
        {"car_connected": 1},
        {"max_charger_current": 33},
        {"max_charger_current": "16"},
        {"phases": 4},
        {"phase_mode": 1.0},
        {"name": ""},
        {"color": "red"},
        {"basic_charge_plan": {"isEnabled": True}},
        {"weekly_charge_plan": {"days": []}},
        {"extra_state": [1]},
        {"voltage": float("inf")},
    ],
)
async def test_admin_update_rejects_bad_bodies(api: Api, sim: EaseeSimulator, body: Any) -> None:
    before = sim.charger(CHARGER).describe()
    code, answer = await api.call("POST", f"/_sim/chargers/{CHARGER}", data=json.dumps(body))
    assert code == 400
    assert answer["success"] is False
    assert sim.charger(CHARGER).describe() == before


async def test_admin_update_accepts_optional_fields(api: Api, sim: EaseeSimulator) -> None:
    code, body = await api.post(
        f"/_sim/chargers/{CHARGER}",
        {
            "color": None,
            "dynamic_charger_expires": None,
            "basic_charge_plan": None,
            "weekly_charge_plan": None,
            "extra_state": {},
        },
    )
    assert code == 200
    code, body = await api.post(
        f"/_sim/chargers/{CHARGER}",
        {
            "color": 3,
            "basic_charge_plan": oslo_plan("01:00", "02:00", 10),
            "weekly_charge_plan": {"isEnabled": False, "days": []},
        },
    )
    assert (body["color"], body["basic_charge_plan"]["chargeStartTime"]) == (
        3,
        "2026-01-15T00:00:00Z",
    )
    assert body["weekly_charge_plan"] == {"isEnabled": False, "days": []}
    assert (await api.call("POST", f"/_sim/chargers/{CHARGER}", data="{oops"))[0] == 400


async def test_admin_faults(authed: Api, sim: EaseeSimulator) -> None:
    ok = (200, {"success": True})
    assert (
        await authed.post(
            "/_sim/faults",
            {
                "kind": "http_429",
                "path_contains": "/state",
                "count": 2,
                "retry_after": 5,
                "delay": 0,
            },
        )
        == ok
    )
    assert (await authed.get(f"/api/chargers/{CHARGER}/state"))[0] == 429
    assert await authed.call("DELETE", "/_sim/faults") == ok
    assert (await authed.get(f"/api/chargers/{CHARGER}/state"))[0] == 200
    assert await authed.post("/_sim/faults", {"kind": "delay"}) == ok


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": 1},
        {"kind": "meteor"},
        {"kind": "drop", "path_contains": 1},
        {"kind": "drop", "count": "2"},
        {"kind": "drop", "count": True},
        {"kind": "drop", "count": 0},
        {"kind": "delay", "delay": "1"},
        {"kind": "http_429", "retry_after": 1.5},
        {"kind": "drop", "when": "now"},
        "drop",
    ],
)
async def test_admin_faults_reject_bad_bodies(authed: Api, body: Any) -> None:
    code, answer = await authed.post("/_sim/faults", body)
    assert code == 400
    assert answer["success"] is False
    assert (await authed.get("/api/chargers"))[0] == 200  # no fault was added


async def test_admin_invalidate_tokens_and_unblock(
    make_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    sim = await make_sim(max_requests=1, block_after_strikes=0)
    api = Api(sim, session)
    await api.login()
    assert (await api.get("/api/chargers"))[0] == 429
    assert (await api.get("/api/chargers"))[0] == 403
    assert await api.post("/_sim/unblock") == (200, {"success": True})
    assert (await api.get("/api/chargers"))[0] == 200

    sim.max_requests = 100
    for body in ({"user_id": OTHER_USER_ID}, {"user_id": True}, {"user_id": "42"}, [1]):
        code, _ = await api.post("/_sim/invalidate_tokens", body)
        assert code == (200 if body == {"user_id": OTHER_USER_ID} else 400)
    assert (await api.call("POST", "/_sim/invalidate_tokens", data="{oops"))[0] == 400
    assert (await api.get("/api/chargers"))[0] == 200
    assert await api.post("/_sim/invalidate_tokens", {"user_id": USER_ID}) == (
        200,
        {"success": True},
    )
    assert (await api.get("/api/chargers"))[0] == 401
    await api.login()
    assert (await api.post("/_sim/invalidate_tokens"))[0] == 200
    assert (await api.get("/api/chargers"))[0] == 401


# --- setup and lifecycle --------------------------------------------------------------------


def test_setup_rejects_bad_input(clock: FakeClock) -> None:
    sim = EaseeSimulator(clock=clock)
    sim.add_account(USER, PASSWORD, user_id=USER_ID)
    call: Callable[[], object]
    for call in (
        lambda: sim.add_account(USER.upper(), PASSWORD, user_id=1),
        lambda: sim.add_account(OTHER_USER, OTHER_PASSWORD, user_id=USER_ID),
        lambda: sim.add_account("", OTHER_PASSWORD, user_id=1),
        lambda: sim.add_account(OTHER_USER, "", user_id=1),
        lambda: sim.add_site(999, SITE, "Home"),
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            call()
    sim.add_site(USER_ID, SITE, "Home")
    for call in (
        lambda: sim.add_site(USER_ID, SITE, "Again"),
        lambda: sim.add_circuit(999, CIRCUIT),
        lambda: sim.add_circuit(SITE, 71, max_current=-1),
        lambda: sim.add_circuit(SITE, 71, rated_current=True),
    ):
        with pytest.raises((ValueError, TypeError)):
            call()
    sim.add_circuit(SITE, CIRCUIT)
    sim.add_charger(CHARGER, CIRCUIT, master=True)
    for call in (
        lambda: sim.add_circuit(SITE, CIRCUIT),
        lambda: sim.add_charger("EH-1", CIRCUIT),
        lambda: sim.add_charger("", CIRCUIT),
        lambda: sim.add_charger(CHARGER, CIRCUIT),
        lambda: sim.add_charger(SECOND, 999),
        lambda: sim.add_charger(SECOND, CIRCUIT, master=True),
        lambda: sim.add_charger(SECOND, CIRCUIT, colour="red"),
        lambda: sim.add_charger(SECOND, CIRCUIT, phases=0),
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            call()
    with pytest.raises(TypeError):
        sim.add_charger(SECOND, CIRCUIT, car_connected="yes")
    assert list(sim.chargers) == [CHARGER]


def test_objects_outside_a_simulator_are_plain_state() -> None:
    charger = EaseeChargerSim(CHARGER, CIRCUIT, car_connected=True)
    charger.car_connected = False
    charger.dynamic_charger_current = 10
    assert charger.dynamic_charger_current == 10
    with pytest.raises(RuntimeError):
        _ = charger.output_current
    with pytest.raises(RuntimeError):
        charger.state()
    circuit = EaseeCircuitSim(CIRCUIT, SITE)
    circuit.max_current = 20  # type: ignore[assignment]
    circuit.offline_max_current = [10, 11, 12]  # type: ignore[assignment]
    circuit.dynamic_current = None
    assert circuit.max_current == (20.0, 20.0, 20.0)
    assert circuit.offline_max_current == (10.0, 11.0, 12.0)
    assert circuit.limits(3) == (20.0, None)


def test_demo_fleet(clock: FakeClock) -> None:
    sim = EaseeSimulator(clock=clock)
    add_demo_fleet(sim)
    account = sim.accounts[DEMO_USERNAME]
    assert (account.user_id, account.password) == (1001, DEMO_PASSWORD)
    assert sim.sites[1].name == "Home"
    assert sim.circuit(10).max_current == (32.0, 32.0, 32.0)
    first, second = sim.charger("EH000001"), sim.charger("EH000002")
    assert (first.master, first.op_mode, first.output_current) == (True, 3, 32)
    assert (second.master, second.op_mode, second.circuit_id) == (False, 1, 10)


async def test_start_and_stop(clock: FakeClock) -> None:
    sim = EaseeSimulator(clock=clock)
    await sim.stop()  # stopping a simulator that never ran is harmless
    url = await sim.start()
    assert url == sim.base_url
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        await sim.start()
    port = int(url.rsplit(":", 1)[1])
    other = EaseeSimulator(clock=clock)
    with pytest.raises(OSError):  # noqa: PT011
        await other.start(port=port)
    await sim.stop()
    assert await other.start(port=port) == url
    await other.stop()


# --- command line ---------------------------------------------------------------------------


def test_parse_account_spec() -> None:
    assert parse_account_spec(f"{USER}:{PASSWORD}:42") == (USER, PASSWORD, 42)
    assert parse_account_spec("a@b:pass:with:colons:7") == ("a@b", "pass:with:colons", 7)
    for spec, message in [
        (USER, "USER:PASSWORD:USERID"),
        (f"{USER}:42", "USER:PASSWORD:USERID"),
        (f":{PASSWORD}:42", "USER:PASSWORD:USERID"),
        (f"{USER}::42", "USER:PASSWORD:USERID"),
        (f"{USER}:{PASSWORD}:x", "integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_account_spec(spec)


def test_parse_site_spec() -> None:
    assert parse_site_spec("7:Home") == (7, "Home", None)
    assert parse_site_spec("8:Summer house:43") == (8, "Summer house", 43)
    for spec in ("7", "7:", "x:Home", "7:Home:x", "7:a:b:c"):
        with pytest.raises(ValueError):  # noqa: PT011
            parse_site_spec(spec)


def test_parse_circuit_spec() -> None:
    assert parse_circuit_spec("70:7") == (70, 7, {})
    assert parse_circuit_spec("70:7:max=25,offline=10,rated=40,panel=B") == (
        70,
        7,
        {
            "max_current": 25.0,
            "offline_max_current": 10.0,
            "rated_current": 40.0,
            "panel_name": "B",
        },
    )
    for spec, message in [
        ("70", "CIRCUITID:SITEID"),
        ("70:7:max=1:x", "CIRCUITID:SITEID"),
        ("70:7:fuse=3", "unknown circuit option"),
        ("70:7:max", "needs a value"),
        ("70:7:max=lots", "number"),
        ("70:7:=3", "key=value"),
        ("x:7", "integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_circuit_spec(spec)


def test_parse_easee_charger_spec() -> None:
    assert parse_easee_charger_spec("EH000001:70") == ("EH000001", 70, {})
    assert parse_easee_charger_spec(
        "EH000001:70:master,car,name=Garage,online=off,max_charger_current=16,phases=1,paused=yes"
    ) == (
        "EH000001",
        70,
        {
            "car_connected": True,
            "name": "Garage",
            "is_online": False,
            "max_charger_current": 16.0,
            "phases": 1,
            "paused": True,
            "master": True,
        },
    )
    assert parse_easee_charger_spec("EH1:70:master=false,color=3")[2] == {"color": 3}
    for spec, message in [
        ("EH000001", "ID:CIRCUITID"),
        (":70", "ID:CIRCUITID"),
        ("EH000001:70:car:x", "ID:CIRCUITID"),
        ("EH000001:x", "integer"),
        ("EH000001:70:car=maybe", "true or false"),
        ("EH000001:70:master=maybe", "true or false"),
        ("EH000001:70:name", "needs a value"),
        ("EH000001:70:name=", "non-empty"),
        ("EH000001:70:phases=three", "number"),
        ("EH000001:70:phases=1.5", "number"),
        ("EH000001:70:phases=4", "between"),
        ("EH000001:70:colour=red", "cannot be set"),
        ("EH000001:70:charge_plan=x", "cannot be set"),
        ("EH000001:70:extra_state=x", "cannot be set"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_easee_charger_spec(spec)


def easee_args(*argv: str) -> Any:
    return build_parser().parse_args(["easee", *argv])


def test_build_easee_simulator() -> None:
    args = easee_args(
        "--demo",
        "--account", f"{USER}:{PASSWORD}:{USER_ID}",
        "--site", "7:Cabin:42",
        "--site", "8:Shed",
        "--circuit", "70:7:max=20,offline=8",
        "--circuit", "80:8",
        "--charger", "EH000003:70:master,car,name=Cabin",
        "--charger", "EH000004:80",
        "--latency-scale", "0.5",
        "--max-requests", "50",
        "--window", "60",
        "--max-logins", "3",
        "--token-lifetime", "600",
    )  # fmt: skip
    sim = build_easee_simulator(args)
    assert sim.latency_scale == 0.5
    assert (sim.max_requests, sim.window, sim.max_logins, sim.access_token_lifetime) == (
        50,
        60,
        3,
        600,
    )
    # --demo keeps a spare account for the user to add: its site, circuit and charger.
    assert sorted(sim.chargers) == ["EH000001", "EH000002", "EH000003", "EH000004", "EH000010"]
    assert sim.sites[2].user_id == 1002
    assert sim.sites[7].user_id == USER_ID
    assert sim.sites[8].user_id == 1001  # the first account: the demo's
    assert sim.circuit(70).max_current == (20.0, 20.0, 20.0)
    cabin = sim.charger("EH000003")
    assert (cabin.name, cabin.master, cabin.car_connected, cabin.output_current) == (
        "Cabin",
        True,
        True,
        20,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "--demo or at least one --account"),
        (["--site", "7:Home"], "--demo or at least one --account"),
        (["--account", "nope"], "USER:PASSWORD:USERID"),
        (["--demo", "--site", "1:Again"], "site 1 exists"),
        (["--demo", "--site", "7:Home:99"], "no account with user id 99"),
        (["--demo", "--circuit", "70:7"], "no site 7"),
        (["--demo", "--charger", "EH000009:70"], "no circuit 70"),
        (["--demo", "--charger", "EH000009:10:master"], "already has a master"),
        (["--demo", "--charger", "EH000009:10:phases=9"], "between"),
    ],
)
def test_main_rejects_bad_command_lines(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["easee", *argv])
    assert exc_info.value.code == 2
    assert message in capsys.readouterr().err


def test_site_without_any_account() -> None:
    with pytest.raises(ValueError, match="no account"):
        build_easee_simulator(easee_args("--site", "7:Home"))


def test_help_documents_the_specs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["easee", "--help"])
    assert exc_info.value.code == 0
    out = capsys.readouterr().out
    for text in (
        "--account USER:PASSWORD:USERID",
        "SITEID:NAME[:USERID]",
        "max_charger_current",
        "--demo loads",
    ):
        assert text in out


async def _wait_for_line(capsys: pytest.CaptureFixture[str]) -> str:
    output = ""
    for _ in range(500):
        output += capsys.readouterr().out
        if output.endswith("\n"):
            return output
        await asyncio.sleep(0.01)
    raise AssertionError("the simulator never said it was ready")


async def test_serve_easee_until_sigint(
    capsys: pytest.CaptureFixture[str], session: aiohttp.ClientSession
) -> None:
    args = easee_args("--port", "0", "--latency-scale", "0", "--demo")
    task = asyncio.create_task(serve_easee(args))
    line = await _wait_for_line(capsys)
    assert line.startswith("Easee simulator on http://127.0.0.1:")
    assert line.endswith(" with 3 chargers\n")  # the demo's two and the spare
    assert DEMO_PASSWORD not in line
    url = line.split()[3]
    async with session.post(
        f"{url}/api/accounts/login", json={"userName": DEMO_USERNAME, "password": DEMO_PASSWORD}
    ) as resp:
        assert resp.status == 200
        RUNTIME_SECRETS.add((await resp.json())["accessToken"])

    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(task, timeout=5)


async def test_serve_easee_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    args = easee_args("--port", "0", "--account", f"{USER}:{PASSWORD}:{USER_ID}")
    stop = asyncio.Event()
    task = asyncio.create_task(serve_easee(args, stop))
    assert (await _wait_for_line(capsys)).endswith(" with 0 chargers\n")
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


def _login_over_http(port: int) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(
            "POST",
            "/api/accounts/login",
            body=json.dumps({"userName": DEMO_USERNAME, "password": DEMO_PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_command_line_runs_until_signalled(signum: signal.Signals) -> None:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "simulators", "easee", "--demo", "--port", str(port),
         "--latency-scale", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = _read_line(proc, timeout=30)
        assert line == f"Easee simulator on http://127.0.0.1:{port} with 3 chargers\n"
        code, body = _login_over_http(port)
        assert code == 200
        assert claims(body["accessToken"])["UserId"] == "1001"
        RUNTIME_SECRETS.update((body["accessToken"], body["refreshToken"]))
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


@pytest.mark.parametrize("form", BAN_FORMS)
async def test_a_ban_of_one_account_refuses_its_requests_in_its_form(
    make_sim: SimFactory, session: aiohttp.ClientSession, clock: FakeClock, form: str
) -> None:
    """``ban``: the account's requests (tokens and login) answer as the form; others go on."""
    sim = await make_sim()
    sim.add_account(OTHER_USER, OTHER_PASSWORD, user_id=OTHER_USER_ID)
    mine, other = Api(sim, session), Api(sim, session)
    await mine.login()
    await other.login(OTHER_USER, OTHER_PASSWORD)
    sim.ban(form, 600, user_id=USER_ID)
    assert await raw_get(sim, session, mine.token) == (ANSWERS[form]["status"], ANSWERS[form])
    assert sim.requests[-1].result == "banned"
    login = {"userName": USER, "password": PASSWORD}
    async with session.post(f"{sim.base_url}/api/accounts/login", json=login) as resp:
        assert resp.status == ANSWERS[form]["status"]
    assert (await other.get("/api/chargers"))[0] == 200
    clock.advance(599)
    assert (await raw_get(sim, session, mine.token))[0] == ANSWERS[form]["status"]
    clock.advance(2)
    # The 429 form counts its 24 hours (here 600 s) from the last request it refused.
    expected = ANSWERS[form]["status"] if form == "blocked_429" else 200
    assert (await raw_get(sim, session, mine.token))[0] == expected


async def test_a_ban_of_every_account_and_its_checks(
    sim: EaseeSimulator, authed: Api, clock: FakeClock
) -> None:
    sim.ban("blocked_403", 60)
    assert (await authed.get("/api/chargers"))[0] == 403
    sim.unblock()
    assert (await authed.get("/api/chargers"))[0] == 200
    with pytest.raises(ValueError, match="unknown ban form"):
        sim.ban("teapot", 60)
    with pytest.raises(ValueError, match="must last"):
        sim.ban("blocked_403", 0)
