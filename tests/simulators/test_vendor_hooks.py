"""Each vendor's hooks for the benchmark and the demo check, without Home Assistant running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import make_mocked_request
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.helpers.entity_platform import MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY
import pytest

from custom_components.ev_charge_control.const import CONF_BASE_URL
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    SUBENTRY_CHARGER,
)
from custom_components.ev_charge_control.vendors.viriciti.const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
)
from simulators import VENDORS, DemoProbe
from simulators.easee import EaseeRequest, EaseeSimulator
from simulators.easee_vendor import check_command as check_easee_command
from simulators.goe import GoeRequest, GoeSimulator
from simulators.goe_vendor import chargers_per_entry, check_command as check_goe_command
from simulators.viriciti import ViricitiRequest, ViricitiSimulator
from simulators.viriciti_vendor import check_limit

URL = "http://127.0.0.1:1"


def _clock() -> float:
    return 1_800_000_000.0


# --- the benchmark ----------------------------------------------------------------------------


def test_go_e_bench_fleet_entries_and_log() -> None:
    bench = VENDORS["goe"].bench
    farm = bench.farm(_clock, 4)
    assert isinstance(farm.server, GoeSimulator)
    chargers = farm.server.chargers
    assert sorted(chargers) == ["000001", "000002", "000003", "000004"]
    # Every third charger has a car charging.
    assert [c.car_state == "charging" for c in chargers.values()] == [True, False, False, True]
    farm.server.requests.append(GoeRequest(5.0, "api_status", None, {}, True, "ok", 200))
    assert farm.log() == [(5.0, "api_status", "", 200, "ok")]

    assert bench.command_key(make_mocked_request("GET", "/api_command?serial=000002")) == "000002"
    assert bench.command_key(make_mocked_request("GET", "/api_status?serial=000002")) is None

    # One entry (version 2), each charger a subentry as the "Add charger" flow makes it.
    (entry,) = bench.entries(2, URL)
    assert (entry.version, entry.unique_id, entry.data) == (2, None, {CONF_BASE_URL: URL})
    first, second = entry.subentries
    assert (first.subentry_type, first.unique_id) == (SUBENTRY_CHARGER, "000001")
    assert first.data == {CONF_SERIAL: "000001", CONF_GRID_TOKEN: chargers["000001"].token}
    assert second.unique_id == "000002"
    assert bench.entries(0, URL) == []
    # Or one entry per charger, each with its one subentry.
    assert bench.scaled is not None
    per_charger = bench.scaled.layouts["entry_per_charger"].entries(2, URL)
    assert [[s.unique_id for s in e.subentries] for e in per_charger] == [["000001"], ["000002"]]
    assert bench.latency(4, 2) == [
        ("000001", "goe_000001_charging_current", 10),
        ("000002", "goe_000002_charging_current", 10),
    ]


def test_go_e_bench_entries_stay_within_home_assistants_entity_limit() -> None:
    """Home Assistant adds at most 10,000 enabled entities to a config entry: 1,111 chargers."""
    assert chargers_per_entry() == MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY // 9 == 1111
    entries = VENDORS["goe"].bench.entries(5000, URL)
    assert [len(entry.subentries) for entry in entries] == [1000] * 5
    assert [len(entry.subentries) for entry in VENDORS["goe"].bench.entries(1111, URL)] == [1111]
    assert [len(entry.subentries) for entry in VENDORS["goe"].bench.entries(1112, URL)] == [556] * 2


def test_easee_bench_account_circuits_of_five_and_endpoints() -> None:
    bench = VENDORS["easee"].bench
    farm = bench.farm(_clock, 7)
    sim = farm.server
    assert isinstance(sim, EaseeSimulator)
    assert sorted(sim.circuits) == [100, 101]
    assert list(sim.sites) == [1]
    assert sim.chargers["EHB00001"].master
    assert not sim.chargers["EHB00002"].master
    assert sim.chargers["EHB00006"].master  # the first of the second circuit

    for method, path in [
        ("GET", "/api/chargers/EHB00001/state"),
        ("POST", "/api/chargers/EHB00001/commands/set_dynamic_charger_current"),
        ("GET", "/api/sites/1/circuits/100/settings"),
        ("POST", "/api/sites/1/circuits/100/settings"),
        ("GET", "/api/sites/1"),
        ("GET", "/api/sites/1/state"),
        ("GET", "/state/EHB00001/observations"),
        ("POST", "/api/accounts/login"),
    ]:
        sim.requests.append(EaseeRequest(1.0, method, path, {}, None, 200, "ok"))
    assert [row[1:3] for row in farm.log()] == [
        ("state", "EHB00001"),
        ("write:commands/set_dynamic_charger_current", "EHB00001"),
        ("circuit_settings", "circuit_100"),
        ("circuit_write:settings", "circuit_100"),
        ("sites", "site_1"),
        ("site_state", "site_1"),
        ("observations", "EHB00001"),
        ("accounts_login", "account"),
    ]

    post = "/api/chargers/EHB00001/settings"
    assert bench.command_key(make_mocked_request("POST", post)) == "EHB00001"
    assert bench.command_key(make_mocked_request("GET", post)) is None
    circuit = "/api/sites/1/circuits/100/settings"
    assert bench.command_key(make_mocked_request("POST", circuit)) == "circuit_100"
    assert bench.command_key(make_mocked_request("POST", "/api/accounts/login")) is None

    assert bench.entries(0, URL) == []
    (entry,) = bench.entries(7, URL)
    assert entry.data == {
        CONF_USERNAME: "bench@example.com",
        CONF_PASSWORD: "Bench-Pa55w0rd!",
        CONF_BASE_URL: URL,
    }
    # A few chargers only: writes share the account's budget.
    assert len(bench.latency(50, 200)) == 10


def test_viriciti_bench_groups_and_endpoints() -> None:
    bench = VENDORS["viriciti"].bench
    farm = bench.farm(_clock, 2)
    sim = farm.server
    assert isinstance(sim, ViricitiSimulator)
    assert sorted(sim.groups) == ["bench-001", "bench-002"]

    for method, path in [
        ("GET", "/v1/chargergroup/bench-001"),
        ("POST", "/v1/grouplimit/bench-002"),
        ("GET", "/v1/unknown"),
    ]:
        sim.requests.append(
            ViricitiRequest(
                1.0, method, path, {}, None, 200, "ok", key_sent=True, key_in_query=False
            )
        )
    assert [row[1:3] for row in farm.log()] == [
        ("chargergroup", "bench-001"),
        ("grouplimit_post", "bench-002"),
        ("/v1/unknown", ""),
    ]
    assert bench.command_key(make_mocked_request("POST", "/v1/grouplimit/bench-002")) == "bench-002"
    assert bench.command_key(make_mocked_request("GET", "/v1/grouplimit/bench-002")) is None

    (entry, _) = bench.entries(2, URL)
    assert entry.data[CONF_API_KEY] == "vc-bench-key-0123456789abcdef"
    assert entry.data[CONF_GROUP_ID] == "bench-001"
    assert entry.options == {CONF_TIME_ZONE: "Europe/Amsterdam", CONF_DEFAULT_DURATION: 60}
    assert bench.latency(2, 200) == [
        ("bench-001", "viriciti_bench-001_external_group_limit", 200),
        ("bench-002", "viriciti_bench-002_external_group_limit", 200),
    ]


# --- the demo check ---------------------------------------------------------------------------


class CheckFailedError(Exception):
    """What the fake probe raises for a failed check."""


class FakeProbe:
    """A demo whose simulator answers from `answers` (path -> JSON)."""

    domain = "ev_charge_control"

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict[str, object]]] = []
        self.said: list[str] = []

    def entity_id(self, unique_id: str) -> str:
        return f"number.{unique_id}"

    def device_id(self, identifier: str) -> str:
        return f"device-{identifier}"

    async def call_service(self, domain: str, service: str, data: dict[str, object]) -> None:
        self.calls.append((domain, service, data))

    async def sim_objects(self, path: str, what: str) -> list[dict[str, object]]:
        answer = self.answers[path]
        assert isinstance(answer, list)
        return answer

    async def sim_object(self, path: str, what: str) -> dict[str, object]:
        answer = self.answers[path]
        assert isinstance(answer, dict)
        return answer

    def as_object(self, value: object, what: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise CheckFailedError(f"{what} is no object")
        return value

    async def wait_for[T](self, what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
        if (answer := await probe()) is None:
            raise CheckFailedError(what)
        return answer

    def error(self, message: str) -> Exception:
        return CheckFailedError(message)

    def say(self, text: str) -> None:
        self.said.append(text)


def _run(check: Callable[[DemoProbe], Awaitable[None]], probe: FakeProbe) -> None:
    asyncio.run(check(probe))


GOE_SENT = {
    "endpoint": "api_command",
    "serial": "000001",
    "params": {"set_current": "10"},
    "result": "ok",
}


def test_go_e_check_passes_when_the_current_reached_the_cloud() -> None:
    probe = FakeProbe(
        {"/_sim/requests": [GOE_SENT], "/_sim/chargers": {"000001": {"set_current": 10}}}
    )
    _run(check_goe_command, probe)
    assert probe.calls == [
        ("number", "set_value", {"entity_id": "number.goe_000001_charging_current", "value": 10})
    ]
    assert probe.said == [
        "ok: go-e: number.goe_000001_charging_current -> 10 A reached the simulator "
        "(set_current=10)"
    ]


@pytest.mark.parametrize(
    ("requests", "current", "message"),
    [
        ([], 10, "never received set_current=10 for 000001"),
        ([{**GOE_SENT, "result": "rate limiting"}], 10, "refused the command"),
        ([GOE_SENT], 16, "has set_current=16 after the command"),
    ],
)
def test_go_e_check_fails_naming_what_went_wrong(
    requests: list[dict[str, object]], current: int, message: str
) -> None:
    probe = FakeProbe(
        {"/_sim/requests": requests, "/_sim/chargers": {"000001": {"set_current": current}}}
    )
    with pytest.raises(CheckFailedError, match=message):
        _run(check_goe_command, probe)


EASEE_POST = {
    "method": "POST",
    "path": "/api/chargers/EH000001/commands/set_dynamic_charger_current",
    "body": {"amps": 10},
}


def test_easee_check_passes_when_the_dynamic_current_reached_the_cloud() -> None:
    probe = FakeProbe(
        {
            "/_sim/chargers": {"EH000001": {"dynamic_charger_current": 10}},
            "/_sim/requests": [EASEE_POST],
        }
    )
    _run(check_easee_command, probe)
    assert probe.said == [
        "ok: Easee: number.easee_EH000001_dynamic_charger_current -> 10 A reached the "
        "simulator ({'amps': 10})"
    ]


@pytest.mark.parametrize(
    ("current", "requests", "message"),
    [
        (32, [EASEE_POST], "never got a dynamic charger current of 10 A"),
        (10, [], "logged no set_dynamic_charger_current request"),
    ],
)
def test_easee_check_fails_naming_what_went_wrong(
    current: int, requests: list[dict[str, object]], message: str
) -> None:
    probe = FakeProbe(
        {
            "/_sim/chargers": {"EH000001": {"dynamic_charger_current": current}},
            "/_sim/requests": requests,
        }
    )
    with pytest.raises(CheckFailedError, match=message):
        _run(check_easee_command, probe)


VIRICITI_POST = {"method": "POST", "path": "/v1/grouplimit/Depot", "status": 200}


def test_viriciti_check_passes_when_the_group_limit_reached_the_api() -> None:
    probe = FakeProbe(
        {"/_sim/requests": [VIRICITI_POST], "/_sim/groups": {"Depot": {"external": 150}}}
    )
    _run(check_limit, probe)
    assert probe.calls == [
        (
            "ev_charge_control",
            "set_group_limit",
            {"device_id": "device-viriciti_Depot", "limit": 150, "duration": {"hours": 1}},
        )
    ]
    assert probe.said == ["ok: ViriCiti: group limit 150 kW reached the simulator (150)"]


@pytest.mark.parametrize(
    ("requests", "external", "message"),
    [
        ([], 150, "never received a group limit POST"),
        ([{**VIRICITI_POST, "status": 429}], 150, "refused the group limit"),
        ([VIRICITI_POST], None, "has no external limit after the POST"),
    ],
)
def test_viriciti_check_fails_naming_what_went_wrong(
    requests: list[dict[str, object]], external: int | None, message: str
) -> None:
    probe = FakeProbe(
        {"/_sim/requests": requests, "/_sim/groups": {"Depot": {"external": external}}}
    )
    with pytest.raises(CheckFailedError, match=message):
        _run(check_limit, probe)
