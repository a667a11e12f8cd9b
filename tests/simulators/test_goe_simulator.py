"""The go-e grid-operator cloud simulator, exercised over real HTTP on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator
import http.client
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

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from simulators.__main__ import build_parser, main
from simulators.goe import GoeChargerSim, GoeSimulator
from simulators.goe_vendor import (
    build_simulator as build_goe_simulator,
    parse_charger_spec,
    serve as serve_goe,
)

SERIAL = "000001"
OTHER = "000002"
TOKEN = "abcdefghijklmnopqrstuvwxyz012345"
OTHER_TOKEN = "ZYXWVUTSRQPONMLKJIHGFEDCBA987654"
START = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[2]

# The Home Assistant test plugin blocks sockets; the simulator needs real ones on 127.0.0.1.
pytestmark = pytest.mark.usefixtures("socket_enabled")

STATUS_KEYS = [
    "serial",
    "data_is_live",
    "data_age_seconds",
    "car_state",
    "set_current",
    "max_allowed_current",
    "charging_enabled",
    "error_state",
    "phase_count",
    "phase_charging",
    "currents",
    "voltages",
    "next_planned_charge",
    "kwh_total",
]


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


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[GoeSimulator]:
    simulator = GoeSimulator(clock=clock, latency_scale=0)
    simulator.add_charger(SERIAL, TOKEN)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def roomy(sim: GoeSimulator) -> GoeSimulator:
    """The simulator without rate limits, for tests about charger behaviour."""
    sim.status_burst = 1000
    sim.command_interval = 0
    return sim


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


class Api:
    """Small helper around the HTTP calls the tests make."""

    def __init__(self, sim: GoeSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.session.get(f"{self.sim.base_url}{path}", params=params) as resp:
            return resp.status, await resp.json(content_type=None)

    async def status(self, serial: str = SERIAL, token: str = TOKEN, **params: str) -> Any:
        code, body = await self.get("/api_status", serial=serial, gridtoken=token, **params)
        assert code == 200, body
        return body

    async def command(self, serial: str = SERIAL, token: str = TOKEN, **params: str) -> Any:
        code, body = await self.get("/api_command", serial=serial, gridtoken=token, **params)
        assert code == 200, body
        return body

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        async with self.session.post(f"{self.sim.base_url}{path}", json=body) as resp:
            return resp.status, await resp.json()

    async def post_raw(self, path: str, data: str) -> tuple[int, Any]:
        async with self.session.post(f"{self.sim.base_url}{path}", data=data) as resp:
            return resp.status, await resp.json()


@pytest.fixture
def api(sim: GoeSimulator, session: aiohttp.ClientSession) -> Api:
    return Api(sim, session)


def error(message: str) -> dict[str, object]:
    return {"success": False, "error": message}


# --- status ---------------------------------------------------------------------------------


async def test_status_has_the_documented_fields_and_types(
    api: Api, session: aiohttp.ClientSession, sim: GoeSimulator
) -> None:
    async with session.get(
        f"{sim.base_url}/api_status", params={"serial": SERIAL, "gridtoken": TOKEN}
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        body = await resp.json()

    assert list(body) == STATUS_KEYS
    assert body == {
        "serial": "000001",
        "data_is_live": True,
        "data_age_seconds": 0,
        "car_state": "idle",
        "set_current": 16,
        "max_allowed_current": 32,
        "charging_enabled": True,
        "error_state": False,
        "phase_count": 3,
        "phase_charging": 3,
        "currents": {"phase_1": 0.0, "phase_2": 0.0, "phase_3": 0.0},
        "voltages": {"phase_1": 230.0, "phase_2": 230.0, "phase_3": 230.0},
        "next_planned_charge": {"seconds_left": 0, "estimated_duration": 0},
        "kwh_total": 0,
    }
    assert all(type(v) is float for v in (*body["currents"].values(), *body["voltages"].values()))
    assert type(body["data_age_seconds"]) is int
    assert type(body["kwh_total"]) is int
    assert type(body["error_state"]) is bool


async def test_status_reports_planned_charge_and_extra_fields(sim: GoeSimulator, api: Api) -> None:
    sim.add_charger(
        OTHER,
        OTHER_TOKEN,
        next_charge_seconds_left=3600,
        next_charge_duration=7200,
        kwh_total=1024.7,
        extra_fields={"firmware": "041.0", "error_state": 0},
    )
    body = await api.status(OTHER, OTHER_TOKEN)
    assert body["next_planned_charge"] == {"seconds_left": 3600, "estimated_duration": 7200}
    assert body["kwh_total"] == 1024
    assert body["firmware"] == "041.0"
    # extra_fields may also override a documented field, e.g. error_state as uint8_t
    assert body["error_state"] == 0
    assert type(body["error_state"]) is int


async def test_status_ignores_command_parameters(roomy: GoeSimulator, api: Api) -> None:
    body = await api.status(set_current="10")
    assert body["set_current"] == 16
    assert roomy.chargers[SERIAL].set_current == 16
    assert roomy.command_requests() == []


# --- error answers --------------------------------------------------------------------------

ERROR_CASES: list[tuple[str, str, dict[str, str], int, dict[str, object], str, int]] = [
    # id, path, params, requests before, charger state, error, default HTTP status
    ("status_no_token", "/api_status", {"serial": SERIAL}, 0, {}, "no token", 400),
    ("status_empty_token", "/api_status", {"serial": SERIAL, "gridtoken": ""}, 0, {}, "no token", 400),
    ("command_no_token", "/api_command", {"serial": SERIAL, "set_current": "10"}, 0, {}, "no token", 400),
    ("no_serial", "/api_status", {"gridtoken": TOKEN}, 0, {}, "wrong token", 401),
    ("unknown_serial", "/api_status", {"serial": "999999", "gridtoken": TOKEN}, 0, {}, "wrong token", 401),
    ("other_token", "/api_status", {"serial": SERIAL, "gridtoken": OTHER_TOKEN}, 0, {}, "wrong token", 401),
    ("command_wrong_token", "/api_command", {"serial": SERIAL, "gridtoken": OTHER_TOKEN, "set_allow": "1"}, 0, {}, "wrong token", 401),
    ("status_rate", "/api_status", {"serial": SERIAL, "gridtoken": TOKEN}, 2, {}, "rate limiting", 429),
    ("command_rate", "/api_command", {"serial": SERIAL, "gridtoken": TOKEN, "set_allow": "1"}, 1, {}, "rate limiting", 429),
    ("no_payload", "/api_command", {"serial": SERIAL, "gridtoken": TOKEN}, 0, {}, "no payload", 400),
    ("both_payloads", "/api_command", {"serial": SERIAL, "gridtoken": TOKEN, "set_current": "10", "set_allow": "1"}, 0, {}, "invalid payload", 400),
    ("status_no_data", "/api_status", {"serial": SERIAL, "gridtoken": TOKEN}, 0, {"has_reported": False}, "error getting data", 502),
    ("command_no_data", "/api_command", {"serial": SERIAL, "gridtoken": TOKEN, "set_current": "10"}, 0, {"has_reported": False}, "error getting data", 502),
]  # fmt: skip


@pytest.mark.parametrize("error_http_status", [None, 200, 500])
@pytest.mark.parametrize(
    ("path", "params", "before", "state", "message", "default_status"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
async def test_error_answers(
    sim: GoeSimulator,
    api: Api,
    error_http_status: int | None,
    path: str,
    params: dict[str, str],
    before: int,
    state: dict[str, object],
    message: str,
    default_status: int,
) -> None:
    sim.error_http_status = error_http_status
    for name, value in state.items():
        setattr(sim.chargers[SERIAL], name, value)
    for _ in range(before):
        await api.get(path, **params)

    code, body = await api.get(path, **params)

    assert body == error(message)
    assert code == (error_http_status or default_status)
    assert sim.requests[-1].result == message
    assert sim.requests[-1].http_status == code
    assert sim.chargers[SERIAL].set_current == 16


# --- rate limits ----------------------------------------------------------------------------


async def test_status_budget_is_a_bucket_of_two_refilled_every_15_minutes(
    sim: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    assert (await api.status())["serial"] == SERIAL
    await api.status()
    assert await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN) == (
        429,
        error("rate limiting"),
    )
    # Answers "rate limiting" spend nothing: half way there it is still half a request.
    clock.advance(450)
    assert (await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN))[0] == 429
    clock.advance(450)
    await api.status()
    assert (await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN))[0] == 429
    # A long pause fills the bucket only up to its capacity.
    clock.advance(24 * 3600)
    await api.status()
    await api.status()
    assert (await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN))[0] == 429
    assert [r.result for r in sim.status_requests()] == [
        "ok", "ok", "rate limiting", "rate limiting", "ok", "rate limiting", "ok", "ok", "rate limiting",
    ]  # fmt: skip


async def test_status_budget_is_per_charger_and_only_for_valid_credentials(
    sim: GoeSimulator, api: Api
) -> None:
    sim.add_charger(OTHER, OTHER_TOKEN)
    for _ in range(3):
        assert (await api.get("/api_status", serial=SERIAL, gridtoken=OTHER_TOKEN))[0] == 401
        assert (await api.get("/api_status", serial=SERIAL))[0] == 400
    await api.status()
    await api.status()
    await api.status(OTHER, OTHER_TOKEN)
    await api.status(OTHER, OTHER_TOKEN)
    assert (await api.get("/api_status", serial=OTHER, gridtoken=OTHER_TOKEN))[0] == 429


async def test_failed_status_requests_still_count(sim: GoeSimulator, api: Api) -> None:
    sim.chargers[SERIAL].has_reported = False
    for _ in range(2):
        assert (await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN))[1] == error(
            "error getting data"
        )
    sim.chargers[SERIAL].has_reported = True
    assert (await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN))[1] == error(
        "rate limiting"
    )


async def test_commands_are_spaced_15_minutes_apart(
    sim: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    await api.command(set_current="10")
    clock.advance(899)
    assert (await api.get("/api_command", serial=SERIAL, gridtoken=TOKEN, set_current="12"))[
        1
    ] == error("rate limiting")
    # The refused request did not restart the 15 minutes.
    clock.advance(1)
    await api.command(set_current="12")
    assert sim.chargers[SERIAL].set_current == 12
    assert [r.result for r in sim.command_requests(SERIAL)] == ["ok", "rate limiting", "ok"]


async def test_failed_commands_still_count(sim: GoeSimulator, api: Api, clock: FakeClock) -> None:
    assert (await api.get("/api_command", serial=SERIAL, gridtoken=TOKEN))[1] == error("no payload")
    clock.advance(60)
    assert (await api.get("/api_command", serial=SERIAL, gridtoken=TOKEN, set_allow="0"))[
        1
    ] == error("rate limiting")
    assert sim.chargers[SERIAL].charging_enabled is True


# --- commands -------------------------------------------------------------------------------


async def test_command_is_applied_and_reported_at_once(
    sim: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    clock.advance(200)
    assert (await api.status())["data_age_seconds"] == 200

    assert await api.command(set_current="10") == {"success": True, "payload": "set_current=10"}

    body = await api.status()
    assert body["set_current"] == 10
    assert body["data_age_seconds"] == 0
    assert body["data_is_live"] is True
    request = sim.command_requests(SERIAL)[0]
    assert request.params == {"serial": SERIAL, "set_current": "10"}
    assert request.token_ok is True
    assert request.time == START + 200


@pytest.mark.parametrize("value", ["5", "33", "0", "16.5", "abc", "", " 16", "+16", "1_6", "100"])
async def test_refused_current_is_answered_like_success_but_not_applied(
    sim: GoeSimulator, api: Api, clock: FakeClock, value: str
) -> None:
    clock.advance(120)
    assert await api.command(set_current=value) == {
        "success": True,
        "payload": f"set_current={value}",
    }
    body = await api.status()
    assert body["set_current"] == 16
    assert body["data_age_seconds"] == 120


async def test_current_above_the_chargers_maximum_is_not_applied(
    sim: GoeSimulator, api: Api
) -> None:
    sim.chargers[SERIAL].max_allowed_current = 20
    assert await api.command(set_current="25") == {"success": True, "payload": "set_current=25"}
    assert (await api.status())["set_current"] == 16


@pytest.mark.parametrize("value", ["2", "true", ""])
async def test_refused_allow_is_not_applied(sim: GoeSimulator, api: Api, value: str) -> None:
    assert await api.command(set_allow=value) == {"success": True, "payload": f"set_allow={value}"}
    assert (await api.status())["charging_enabled"] is True


async def test_command_answer_can_be_the_status_object(sim: GoeSimulator, api: Api) -> None:
    sim.command_answer = "status"
    body = await api.command(set_current="12")
    assert list(body) == STATUS_KEYS
    assert body["set_current"] == 12
    assert body["data_age_seconds"] == 0


async def test_refused_command_in_status_shape_shows_the_old_value(
    sim: GoeSimulator, api: Api
) -> None:
    sim.command_answer = "status"
    assert (await api.command(set_current="40"))["set_current"] == 16


async def test_command_to_an_offline_charger_is_not_applied(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    roomy.chargers[SERIAL].online = False
    assert await api.command(set_current="10") == {"success": True, "payload": "set_current=10"}
    roomy.chargers[SERIAL].online = True
    assert (await api.status())["set_current"] == 16


# --- charging -------------------------------------------------------------------------------


async def test_charging_draws_set_current_and_counts_energy(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    charger = roomy.chargers[SERIAL]
    charger.car_connected = True
    body = await api.status()
    assert body["car_state"] == "charging"
    assert body["currents"] == {"phase_1": 16.0, "phase_2": 16.0, "phase_3": 16.0}
    assert body["phase_charging"] == 3

    clock.advance(3600)
    assert charger.kwh_total == pytest.approx(3 * 230 * 16 / 1000)
    assert (await api.status())["kwh_total"] == 11

    await api.command(set_current="10")
    assert (await api.status())["currents"]["phase_1"] == 10.0
    clock.advance(3600)
    assert charger.kwh_total == pytest.approx(3 * 230 * (16 + 10) / 1000)


async def test_disallowing_stops_charging(roomy: GoeSimulator, api: Api, clock: FakeClock) -> None:
    charger = roomy.chargers[SERIAL]
    charger.car_connected = True
    await api.command(set_allow="0")

    body = await api.status()
    assert body["car_state"] == "wait_car"
    assert body["charging_enabled"] is False
    assert body["currents"] == {"phase_1": 0.0, "phase_2": 0.0, "phase_3": 0.0}
    clock.advance(3600)
    assert charger.kwh_total == 0.0

    await api.command(set_allow="1")
    assert (await api.status())["car_state"] == "charging"


@pytest.mark.parametrize(
    ("state", "car_state"),
    [
        ({}, "idle"),
        ({"car_connected": True}, "charging"),
        ({"car_connected": True, "car_wants_energy": False}, "finished"),
        ({"car_connected": True, "error_state": True}, "wait_car"),
        ({"car_connected": True, "charging_enabled": False}, "wait_car"),
    ],
)
async def test_car_state(
    sim: GoeSimulator, api: Api, state: dict[str, object], car_state: str
) -> None:
    sim.add_charger(OTHER, OTHER_TOKEN, **state)
    body = await api.status(OTHER, OTHER_TOKEN)
    assert body["car_state"] == car_state
    charging = car_state == "charging"
    assert body["currents"]["phase_1"] == (16.0 if charging else 0.0)


async def test_single_phase_charger(roomy: GoeSimulator, api: Api, clock: FakeClock) -> None:
    charger = roomy.add_charger(OTHER, OTHER_TOKEN, phase_count=1, voltage=240, car_connected=True)
    body = await api.status(OTHER, OTHER_TOKEN)
    assert body["phase_count"] == 1
    assert body["phase_charging"] == 1
    assert body["currents"] == {"phase_1": 16.0, "phase_2": 0.0, "phase_3": 0.0}
    assert body["voltages"] == {"phase_1": 240.0, "phase_2": 0.0, "phase_3": 0.0}
    clock.advance(1800)
    assert charger.kwh_total == pytest.approx(240 * 16 / 1000 / 2)


async def test_state_changes_take_effect_from_now(roomy: GoeSimulator, clock: FakeClock) -> None:
    charger = roomy.chargers[SERIAL]
    charger.car_connected = True
    clock.advance(1800)
    charger.set_current = 8  # the first half hour still counts at 16 A
    clock.advance(1800)
    assert charger.kwh_total == pytest.approx(3 * 230 * (16 + 8) / 2 / 1000)
    charger.kwh_total = 100.0  # a new meter reading replaces, it does not add
    clock.advance(3600)
    assert charger.kwh_total == pytest.approx(100 + 3 * 230 * 8 / 1000)


# --- data age, wait=1 and offline chargers --------------------------------------------------


async def test_online_charger_reports_every_report_interval(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    clock.advance(59)
    assert (await api.status())["data_is_live"] is True
    clock.advance(240)
    body = await api.status()
    assert (body["data_age_seconds"], body["data_is_live"]) == (299, False)
    clock.advance(1)
    assert (await api.status())["data_age_seconds"] == 0
    clock.advance(65)
    assert (await api.status())["data_age_seconds"] == 65

    body = await api.status(wait="1")
    assert (body["data_age_seconds"], body["data_is_live"]) == (0, True)
    # The ping's report restarts the cadence.
    clock.advance(300)
    assert (await api.status())["data_age_seconds"] == 0


async def test_wait_does_not_ping_a_live_charger(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    clock.advance(30)
    assert (await api.status(wait="1"))["data_age_seconds"] == 30
    assert (await api.status(wait="0"))["data_age_seconds"] == 30


async def test_new_report_interval_starts_with_a_report(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    charger = roomy.chargers[SERIAL]
    clock.advance(100)
    charger.report_interval = 60
    assert (await api.status())["data_age_seconds"] == 0
    clock.advance(59)
    assert (await api.status())["data_age_seconds"] == 59
    clock.advance(1)
    assert (await api.status())["data_age_seconds"] == 0
    charger.report_interval = 0  # reports continuously
    clock.advance(17)
    assert (await api.status())["data_age_seconds"] == 0


async def test_offline_charger_serves_its_last_report(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    charger = roomy.chargers[SERIAL]
    charger.car_connected = True
    clock.advance(100)
    charger.online = False
    charger.car_connected = False  # nobody in the cloud can see this
    clock.advance(500)

    body = await api.status()
    assert (body["data_age_seconds"], body["data_is_live"]) == (600, False)
    assert body["car_state"] == "charging"
    body = await api.status(wait="1")
    assert (body["data_age_seconds"], body["car_state"]) == (600, "charging")

    charger.online = True
    body = await api.status()
    assert (body["data_age_seconds"], body["car_state"]) == (0, "idle")


async def test_charger_added_offline(roomy: GoeSimulator, api: Api, clock: FakeClock) -> None:
    roomy.add_charger(OTHER, OTHER_TOKEN, online=False, set_current=8)
    clock.advance(3600)
    body = await api.status(OTHER, OTHER_TOKEN, wait="1")
    assert (body["data_age_seconds"], body["set_current"]) == (3600, 8)


async def test_charger_that_never_reported_starts_fresh(
    roomy: GoeSimulator, api: Api, clock: FakeClock
) -> None:
    charger = roomy.add_charger(OTHER, OTHER_TOKEN, has_reported=False)
    assert (await api.get("/api_status", serial=OTHER, gridtoken=OTHER_TOKEN))[1] == error(
        "error getting data"
    )
    clock.advance(1000)
    charger.has_reported = True
    assert (await api.status(OTHER, OTHER_TOKEN))["data_age_seconds"] == 0


async def test_answer_times_follow_the_doc(
    clock: FakeClock, session: aiohttp.ClientSession
) -> None:
    sim = GoeSimulator(clock=clock, latency_scale=0.02, status_burst=10)
    sim.add_charger(SERIAL, TOKEN)
    sim.add_charger(OTHER, OTHER_TOKEN, online=False)
    await sim.start()
    api = Api(sim, session)
    clock.advance(120)
    try:
        for serial, token, wait, expected in [
            (SERIAL, TOKEN, "0", 0.3),
            (SERIAL, TOKEN, "1", 0.3 + 1.5),  # ping answered
            (OTHER, OTHER_TOKEN, "1", 0.3 + 3.0),  # ping timed out
        ]:
            started = time.monotonic()
            await api.status(serial, token, wait=wait)
            elapsed = time.monotonic() - started
            assert expected * 0.02 <= elapsed < expected * 0.02 + 0.5
    finally:
        await sim.stop()


async def test_default_clock_follows_freezegun(
    freezer: FrozenDateTimeFactory, session: aiohttp.ClientSession
) -> None:
    sim = GoeSimulator(latency_scale=0)
    sim.add_charger(SERIAL, TOKEN, report_interval=3600)
    await sim.start()
    try:
        freezer.tick(120)
        assert (await Api(sim, session).status())["data_age_seconds"] == 120
    finally:
        await sim.stop()


# --- injected faults ------------------------------------------------------------------------


async def test_fault_http_500(sim: GoeSimulator, session: aiohttp.ClientSession) -> None:
    sim.inject_fault("http_500")
    async with session.get(
        f"{sim.base_url}/api_status", params={"serial": SERIAL, "gridtoken": TOKEN}
    ) as resp:
        assert resp.status == 500
        assert resp.content_type == "text/html"
        assert "500" in await resp.text()
    assert sim.requests[-1].result == "http_500"


async def test_fault_non_json(sim: GoeSimulator, session: aiohttp.ClientSession) -> None:
    sim.inject_fault("non_json")
    async with session.get(
        f"{sim.base_url}/api_command",
        params={"serial": SERIAL, "gridtoken": TOKEN, "set_current": "10"},
    ) as resp:
        assert resp.status == 200
        assert await resp.text() == "<html>oops</html>"
        with pytest.raises(aiohttp.ContentTypeError):
            await resp.json()
    assert sim.chargers[SERIAL].set_current == 16


async def test_fault_drop(sim: GoeSimulator, api: Api) -> None:
    # aiohttp retries an idempotent request once on a dropped connection: two drops get through.
    sim.inject_fault("drop", count=2)
    with pytest.raises(aiohttp.ClientError):
        await api.status()
    assert [(r.result, r.http_status) for r in sim.requests] == [("drop", 0), ("drop", 0)]


async def test_single_drop_is_retried_by_aiohttp(sim: GoeSimulator, api: Api) -> None:
    sim.inject_fault("drop")
    assert (await api.status())["serial"] == SERIAL
    assert [r.result for r in sim.requests] == ["drop", "ok"]


@pytest.mark.parametrize(
    ("kind", "message", "http_status"),
    [("error_getting_data", "error getting data", 502), ("rate_limiting", "rate limiting", 429)],
)
async def test_fault_documented_errors(
    sim: GoeSimulator, api: Api, kind: str, message: str, http_status: int
) -> None:
    sim.inject_fault(kind, count=2)
    for _ in range(2):
        code, body = await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN)
        assert (code, body) == (http_status, error(message))
    await api.status()
    assert [r.result for r in sim.requests] == [kind, kind, "ok"]


async def test_fault_delay(sim: GoeSimulator, api: Api) -> None:
    sim.inject_fault("delay", delay=0.05)
    started = time.monotonic()
    await api.status()
    assert time.monotonic() - started >= 0.05
    assert sim.requests[-1].result == "ok"


async def test_faults_target_a_serial_and_spend_no_budget(sim: GoeSimulator, api: Api) -> None:
    sim.add_charger(OTHER, OTHER_TOKEN)
    sim.inject_fault("http_500", serial=OTHER, count=3)
    await api.status()  # not the targeted charger
    for _ in range(3):
        assert (await api.session.get(
            f"{sim.base_url}/api_status", params={"serial": OTHER, "gridtoken": OTHER_TOKEN}
        )).status == 500  # fmt: skip
    await api.status(OTHER, OTHER_TOKEN)
    await api.status(OTHER, OTHER_TOKEN)


async def test_clear_faults(sim: GoeSimulator, api: Api) -> None:
    sim.inject_fault("http_500", count=5)
    sim.clear_faults()
    await api.status()


@pytest.mark.parametrize(
    ("kind", "count", "delay"), [("explode", 1, 0.0), ("drop", 0, 0.0), ("delay", 1, -1.0)]
)
def test_inject_fault_rejects_bad_arguments(kind: str, count: int, delay: float) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        GoeSimulator().inject_fault(kind, count=count, delay=delay)


# --- secrets --------------------------------------------------------------------------------


async def test_token_never_logged(
    sim: GoeSimulator, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await api.status()
    await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN[:-1] + "X")
    await api.command(set_current="10")
    sim.inject_fault("http_500")
    await api.session.get(
        f"{sim.base_url}/api_status", params={"serial": SERIAL, "gridtoken": TOKEN}
    )

    assert [r.token_ok for r in sim.requests] == [True, False, True, True]
    assert all("gridtoken" not in r.params for r in sim.requests)
    assert TOKEN not in repr(sim.requests)
    assert TOKEN[:-1] not in caplog.text
    for path in ("/_sim/requests", "/_sim/chargers"):
        async with api.session.get(f"{sim.base_url}{path}") as resp:
            assert TOKEN[:-1] not in await resp.text()


# --- admin endpoints ------------------------------------------------------------------------


async def test_admin_request_log(sim: GoeSimulator, api: Api) -> None:
    await api.status()
    code, body = await api.get("/_sim/requests")
    assert code == 200
    assert body == [
        {
            "time": START,
            "endpoint": "api_status",
            "serial": SERIAL,
            "params": {"serial": SERIAL},
            "token_ok": True,
            "result": "ok",
            "http_status": 200,
        }
    ]


async def test_admin_chargers_and_update(roomy: GoeSimulator, api: Api) -> None:
    code, body = await api.get("/_sim/chargers")
    assert code == 200
    assert body[SERIAL]["car_state"] == "idle"
    assert "token" not in body[SERIAL]
    assert body[SERIAL]["set_current"] == 16

    code, body = await api.post(
        f"/_sim/chargers/{SERIAL}",
        {"car_connected": True, "voltage": 231, "extra_fields": {"x": 1}},
    )
    assert code == 200
    assert body["car_state"] == "charging"
    assert body["voltage"] == 231.0
    status = await api.status()
    assert status["currents"]["phase_1"] == 16.0
    assert status["voltages"]["phase_1"] == 231.0
    assert status["x"] == 1


async def test_admin_can_change_the_token(roomy: GoeSimulator, api: Api) -> None:
    assert (await api.post(f"/_sim/chargers/{SERIAL}", {"token": OTHER_TOKEN}))[0] == 200
    assert (await api.get("/api_status", serial=SERIAL, gridtoken=TOKEN))[1] == error("wrong token")
    await api.status(SERIAL, OTHER_TOKEN)


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"nope": 1},
        {"serial": "000003"},
        {"car_connected": 1},
        {"set_current": True},
        {"set_current": 10.5},
        {"set_current": "10"},
        {"voltage": "230"},
        {"kwh_total": -1},
        {"phase_count": 4},
        {"phase_count": 0},
        {"token": "short"},
        {"token": 5},
        {"extra_fields": [1]},
    ],
)
async def test_admin_update_rejects_bad_bodies(sim: GoeSimulator, api: Api, body: object) -> None:
    code, answer = await api.post(f"/_sim/chargers/{SERIAL}", body)
    assert code == 400
    assert answer["success"] is False
    assert answer["error"]
    assert sim.chargers[SERIAL] == GoeChargerSim(SERIAL, TOKEN)


async def test_admin_update_rejects_non_json_and_unknown_serial(api: Api) -> None:
    assert (await api.post_raw(f"/_sim/chargers/{SERIAL}", "{oops"))[0] == 400
    assert await api.post("/_sim/chargers/999999", {"car_connected": True}) == (
        404,
        error("unknown serial"),
    )


async def test_admin_faults(sim: GoeSimulator, api: Api) -> None:
    assert await api.post("/_sim/faults", {"kind": "http_500", "serial": SERIAL, "count": 2}) == (
        200,
        {"success": True},
    )
    assert (await api.session.get(
        f"{sim.base_url}/api_status", params={"serial": SERIAL, "gridtoken": TOKEN}
    )).status == 500  # fmt: skip
    assert await api.session.delete(f"{sim.base_url}/_sim/faults")
    await api.status()
    assert (await api.post("/_sim/faults", {"kind": "delay", "delay": 0}))[0] == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"kind": 1},
        {"kind": "meteor"},
        {"kind": "drop", "serial": 1},
        {"kind": "drop", "count": "2"},
        {"kind": "drop", "count": True},
        {"kind": "drop", "count": 0},
        {"kind": "delay", "delay": "1"},
        {"kind": "delay", "delay": False},
        {"kind": "delay", "delay": -1},
        {"kind": "drop", "when": "now"},
        "drop",
    ],
)
async def test_admin_faults_reject_bad_bodies(sim: GoeSimulator, api: Api, body: object) -> None:
    code, answer = await api.post("/_sim/faults", body)
    assert code == 400
    assert answer["success"] is False
    await api.status()  # no fault was added


async def test_admin_command_answer(roomy: GoeSimulator, api: Api) -> None:
    ok = (200, {"success": True})
    assert await api.post("/_sim/command_answer", {"shape": "status"}) == ok
    assert (await api.command(set_current="10"))["set_current"] == 10
    assert await api.post("/_sim/command_answer", {"shape": "payload"}) == ok
    assert await api.command(set_current="11") == {"success": True, "payload": "set_current=11"}

    assert (await api.post("/_sim/command_answer", {"shape": "xml"}))[0] == 400
    assert (await api.post_raw("/_sim/command_answer", "status"))[0] == 400
    assert await api.command(set_current="12") == {"success": True, "payload": "set_current=12"}


# --- setup and lifecycle --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "token", "state"),
    [
        ("1", TOKEN, {}),
        ("0000001", TOKEN, {}),
        (SERIAL, "short", {}),
        (SERIAL, TOKEN + "!", {}),
        (SERIAL, TOKEN, {"phase_count": 5}),
        (SERIAL, TOKEN, {"colour": "red"}),
    ],
)
def test_add_charger_rejects_bad_input(serial: str, token: str, state: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        GoeSimulator().add_charger(serial, token, **state)


def test_add_charger_rejects_bad_types() -> None:
    with pytest.raises(TypeError):
        GoeSimulator().add_charger(SERIAL, TOKEN, online="yes")


def test_unattached_charger_is_plain_state() -> None:
    charger = GoeChargerSim(SERIAL, TOKEN, car_connected=True)
    charger.set_current = 10
    assert charger.kwh_total == 0.0
    assert charger.status()["currents"] == {"phase_1": 10.0, "phase_2": 10.0, "phase_3": 10.0}
    assert charger.state()["car_state"] == "charging"


def test_offline_charger_cannot_report(clock: FakeClock) -> None:
    charger = GoeSimulator(clock=clock).add_charger(SERIAL, TOKEN, online=False)
    clock.advance(100)
    charger.report_now()
    assert charger.data_age(clock()) == 100


async def test_start_and_stop(clock: FakeClock) -> None:
    sim = GoeSimulator(clock=clock)
    await sim.stop()  # stopping a simulator that never ran is harmless
    url = await sim.start()
    assert url == sim.base_url
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        await sim.start()
    port = int(url.rsplit(":", 1)[1])
    other = GoeSimulator(clock=clock)
    with pytest.raises(OSError):  # noqa: PT011
        await other.start(port=port)
    await sim.stop()
    # Both can start again: nothing was left bound.
    assert await other.start(port=port) == url
    await other.stop()


# --- command line ---------------------------------------------------------------------------


def test_parse_charger_spec() -> None:
    assert parse_charger_spec(f"{SERIAL}:{TOKEN}") == (SERIAL, TOKEN, {})
    assert parse_charger_spec(
        f"{OTHER}:{TOKEN}:car_connected=true,set_current=10,voltage=231.5,online=Off"
    ) == (
        OTHER,
        TOKEN,
        {"car_connected": True, "set_current": 10, "voltage": 231.5, "online": False},
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SERIAL, "SERIAL:TOKEN"),
        (f"{SERIAL}:{TOKEN}:a=1:b=2", "SERIAL:TOKEN"),
        (f"1:{TOKEN}", "6 digits"),
        (f"{SERIAL}:short", "32 alphanumeric"),
        (f"{SERIAL}:{TOKEN}:car_connected", "key=value"),
        (f"{SERIAL}:{TOKEN}:car_connected=maybe", "true or false"),
        (f"{SERIAL}:{TOKEN}:set_current=ten", "number"),
        (f"{SERIAL}:{TOKEN}:set_current=10.5", "number"),
        (f"{SERIAL}:{TOKEN}:phase_count=4", "1, 2 or 3"),
        (f"{SERIAL}:{TOKEN}:colour=red", "cannot be set"),
        (f"{SERIAL}:{TOKEN}:token={OTHER_TOKEN}", "cannot be set"),
        (f"{SERIAL}:{TOKEN}:extra_fields=1", "cannot be set"),
    ],
)
def test_parse_charger_spec_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_charger_spec(spec)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required"),
        (["goe"], "--charger"),
        (["goe", "--charger", "000001:nope"], "32 alphanumeric"),
        (["goe", "--charger", f"{SERIAL}:{TOKEN}", "--charger", f"{SERIAL}:{OTHER_TOKEN}"], "more than once"),
        (["goe", "--charger", f"{SERIAL}:{TOKEN}", "--command-answer", "xml"], "invalid choice"),
    ],
)  # fmt: skip
def test_main_rejects_bad_command_lines(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(argv)
    assert exc_info.value.code == 2
    assert message in capsys.readouterr().err


def test_build_goe_simulator() -> None:
    args = build_parser().parse_args(
        [
            "goe",
            "--charger", f"{SERIAL}:{TOKEN}",
            "--charger", f"{OTHER}:{OTHER_TOKEN}:car_connected=true,set_current=10",
            "--latency-scale", "0.5",
            "--command-answer", "status",
        ]
    )  # fmt: skip
    sim = build_goe_simulator(args)
    assert sim.latency_scale == 0.5
    assert sim.command_answer == "status"
    assert sorted(sim.chargers) == [SERIAL, OTHER]
    assert sim.chargers[OTHER].car_state == "charging"
    assert sim.chargers[OTHER].set_current == 10


async def _wait_for_line(capsys: pytest.CaptureFixture[str]) -> str:
    output = ""
    for _ in range(500):
        output += capsys.readouterr().out
        if output.endswith("\n"):
            return output
        await asyncio.sleep(0.01)
    raise AssertionError("the simulator never said it was ready")


async def test_serve_goe_until_sigint(
    capsys: pytest.CaptureFixture[str], session: aiohttp.ClientSession
) -> None:
    args = build_parser().parse_args(
        ["goe", "--port", "0", "--latency-scale", "0", "--charger", f"{SERIAL}:{TOKEN}"]
    )
    task = asyncio.create_task(serve_goe(args))
    line = await _wait_for_line(capsys)
    assert line.startswith("go-e simulator on http://127.0.0.1:")
    assert line.endswith(" with 1 chargers\n")
    assert TOKEN not in line
    url = line.split()[3]
    async with session.get(
        f"{url}/api_status", params={"serial": SERIAL, "gridtoken": TOKEN}
    ) as resp:
        assert resp.status == 200

    os.kill(os.getpid(), signal.SIGINT)
    await asyncio.wait_for(task, timeout=5)


async def test_serve_goe_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["goe", "--port", "0", "--charger", f"{SERIAL}:{TOKEN}"])
    stop = asyncio.Event()
    task = asyncio.create_task(serve_goe(args, stop))
    await _wait_for_line(capsys)
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


def _status_over_http(port: int) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", f"/api_status?serial={SERIAL}&gridtoken={TOKEN}")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_command_line_runs_until_signalled(signum: signal.Signals) -> None:
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "simulators", "goe", "--port", str(port), "--latency-scale", "0",
         "--charger", f"{SERIAL}:{TOKEN}"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = _read_line(proc, timeout=30)
        assert line == f"go-e simulator on http://127.0.0.1:{port} with 1 chargers\n"
        code, body = _status_over_http(port)
        assert code == 200
        assert b'"serial": "000001"' in body
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
