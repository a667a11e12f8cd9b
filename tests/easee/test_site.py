"""Easee sites as the real cloud gives them: masters from the site, one state read per site."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from datetime import timedelta
import math
from pathlib import Path
import re
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.api.easee import EaseeClient
from custom_components.ev_charge_control.api.errors import NotFoundError
from custom_components.ev_charge_control.const import DOMAIN
from simulators.easee import EaseeSimulator
from tests.conftest import RUNTIME_SECRETS, find_device, setup_entry, travel
from tests.easee.conftest import CHARGERS, EASEE_PASSWORD, EASEE_USERNAME, USER_ID

README = Path(__file__).parents[2] / "README.md"


def _number(entity_registry: er.EntityRegistry, circuit: int) -> str | None:
    return entity_registry.async_get_entity_id(
        "number", DOMAIN, f"easee_circuit_{circuit}_dynamic_circuit_current_phase_1"
    )


def _gets(sim: EaseeSimulator, path: str) -> int:
    return len(sim.requests_to("GET", path))


async def test_the_list_names_no_master_the_site_does(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The chargers list says backPlate null; the site's circuits name each master."""
    easee_sim.add_empty_back_plate(11)  # a back plate with no charger: id null
    await setup_entry(hass, easee_entry)
    assert easee_entry.state is ConfigEntryState.LOADED
    chargers = easee_sim.requests_to("GET", "/api/chargers")
    assert chargers
    runtime = easee_entry.runtime_data
    assert {c: runtime.circuits[c].master.charger_id for c in (11, 12, 21)} == {  # type: ignore[attr-defined, union-attr]
        11: "EH000001",
        12: "EH000003",
        21: "EH000004",
    }
    # Named by the site's back plates (not only by the chargers' configs).
    assert runtime.circuits[11].circuit.master_id == "EH000001"  # type: ignore[attr-defined]
    assert _number(entity_registry, 11) is not None
    await hass.services.async_call(
        DOMAIN,
        "set_dynamic_circuit_current",
        {
            ATTR_DEVICE_ID: find_device(hass, "easee_circuit_11").id,  # type: ignore[union-attr]
            "phase_1": 10,
            "phase_2": 12,
            "phase_3": 14,
        },
        blocking=True,
    )
    assert easee_sim.circuit(11).dynamic_current == (10, 12, 14)


async def test_a_config_names_the_master_the_site_does_not(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A circuit whose back plates name no listed master: the config's localNodeType 1 does."""
    easee_sim.add_circuit(2, 22, panel_name="B")
    easee_sim.add_charger("EH000006", 22, name="Yard 1")
    easee_sim.add_charger("EH000007", 22, name="Yard 2", extra_config={"localNodeType": 1})
    await setup_entry(hass, easee_entry)
    circuit = easee_entry.runtime_data.circuits[22]  # type: ignore[attr-defined]
    assert circuit.circuit.master_id is None
    assert circuit.master.charger_id == "EH000007"
    assert _number(entity_registry, 22) is not None


async def test_a_site_is_read_with_one_request_per_interval(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """Every charger of a site gets its state and config from one request per state interval."""
    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=30))
    assert _gets(easee_sim, "/api/sites/1/state") == 6
    assert _gets(easee_sim, "/api/sites/2/state") == 6
    for charger in CHARGERS:
        assert _gets(easee_sim, f"/api/chargers/{charger}/state") == 0
        assert _gets(easee_sim, f"/api/chargers/{charger}/config") == 0
    # Both come through: the power from the state, the maximum current from the config.
    assert hass.states.get("sensor.garage_power").state not in (STATE_UNAVAILABLE, "unknown")
    easee_sim.charger("EH000002").max_charger_current = 20
    await travel(hass, freezer, timedelta(minutes=1))
    assert hass.states.get("number.driveway_max_current").state == "20"


async def test_a_failed_site_read_makes_its_chargers_unavailable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """A failed site read fails the site's chargers, as a failed state read did; others stay."""
    easee_sim.inject_fault("http_500", path_contains="/api/sites/1/state")
    await travel(hass, freezer, timedelta(minutes=1))
    assert hass.states.get("sensor.garage_status").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.carport_status").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.office_1_status").state == "charging"
    await travel(hass, freezer, timedelta(minutes=1))
    assert hass.states.get("sensor.garage_status").state == "charging"


async def test_a_charger_on_no_readable_site_is_read_on_its_own(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Chargers the account lists but whose site it does not: state and config one by one."""
    with patch.object(EaseeClient, "get_site_names", return_value={1: "Home"}):
        await setup_entry(hass, easee_entry)
        await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=30))
    assert _gets(easee_sim, "/api/sites/2/state") == 0
    assert _gets(easee_sim, "/api/sites/1/state") == 6
    for charger in ("EH000004", "EH000005"):
        assert _gets(easee_sim, f"/api/chargers/{charger}/state") == 6
        assert _gets(easee_sim, f"/api/chargers/{charger}/config") == 1
    assert _gets(easee_sim, "/api/chargers/EH000001/state") == 0
    assert hass.states.get("sensor.office_1_status").state == "charging"


async def test_the_site_details_are_read_at_most_five_times_an_hour(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """A site that answers 404 at every poll asks for the structure each time: it waits."""
    with patch.object(EaseeClient, "get_site_state", side_effect=NotFoundError("gone")):
        await travel(hass, freezer, timedelta(hours=2), step=timedelta(minutes=1))
    reads = [r.time for r in easee_sim.requests_to("GET", "/api/sites/1")]
    assert all(r.status == 200 for r in easee_sim.requests_to("GET", "/api/sites/1"))
    for start in reads:
        assert len([t for t in reads if start <= t < start + 3600]) <= 5
    # It is read again when it may: not never.
    assert len(reads) >= 8


async def test_a_retried_set_up_waits_for_the_sites_limit(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A set-up that keeps failing after the site read does not read the site at each retry."""
    easee_sim.inject_fault("http_500", path_contains="/api/sites/2", count=1000)
    await setup_entry(hass, easee_entry)
    assert easee_entry.state is ConfigEntryState.SETUP_RETRY
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(seconds=10))
    assert 1 < _gets(easee_sim, "/api/sites/1") <= 5
    assert easee_entry.state is ConfigEntryState.SETUP_RETRY
    assert "10 times an hour" in str(easee_entry.reason)


# What a site costs


@pytest.fixture
async def ten_on_a_site(socket_enabled: None) -> AsyncGenerator[EaseeSimulator]:
    """Start a simulator whose account has ten chargers on one circuit of one site."""
    sim = EaseeSimulator(latency_scale=0)
    sim.hub.enabled = False  # read by REST, as while the stream is down
    sim.add_account(EASEE_USERNAME, EASEE_PASSWORD, user_id=USER_ID)
    sim.add_site(USER_ID, 1, "Depot")
    sim.add_circuit(1, 11, rated_current=63, max_current=63)
    for index in range(10):
        sim.add_charger(f"EH{index + 1:06d}", 11, name=f"Bay {index + 1}", master=index == 0)
    await sim.start()
    yield sim
    await sim.stop()
    RUNTIME_SECRETS.update(sim.issued_secrets())


def _readme_figures() -> tuple[int, int]:
    """Return the README's hourly cost of a 10-charger site: before and after."""
    text = README.read_text(encoding="utf-8")
    match = re.search(
        r"before: about (\d+) requests an hour.*?after: about (\d+) requests an hour", text, re.S
    )
    assert match is not None, "the README tells what an Easee site costs"
    return int(match[1]), int(match[2])


async def test_a_site_of_ten_chargers_costs_what_the_readme_says(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ten_on_a_site: EaseeSimulator,
) -> None:
    """One simulated hour, ten chargers on one site: the requests the README counts."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=str(USER_ID),
        data={
            "vendor": "easee",
            "username": EASEE_USERNAME,
            "password": EASEE_PASSWORD,
            "base_url": ten_on_a_site.base_url,
        },
    )
    await setup_entry(hass, entry)
    await travel(hass, freezer, timedelta(minutes=59), step=timedelta(minutes=1))
    sim = ten_on_a_site

    by_kind: Counter[str] = Counter()
    for request in sim.requests:
        path = request.path
        if path == "/api/sites/1/state":
            by_kind["site state"] += 1
        elif path.endswith(("/state", "/config")):
            by_kind["charger state or config"] += 1
        elif path.startswith("/api/chargers/") and request.method == "GET":
            by_kind["charge plan"] += 1
        elif path.endswith("/settings"):
            by_kind["circuit settings"] += 1
        elif path in ("/api/chargers", "/api/accounts/products", "/api/sites/1"):
            by_kind["structure"] += 1
        else:
            by_kind[path] += 1
    plans = by_kind.pop("charge plan")
    assert by_kind == {
        "site state": 60,
        "circuit settings": 4,
        "structure": 3,
        "/api/accounts/login": 1,
        # Easee's access tokens live an hour: one refresh shortly before the hour is up.
        "/api/accounts/refresh_token": 1,
    }
    # Both plans (basic and weekly) of each charger every 15 minutes.
    assert plans == 10 * 4 * 2

    before, after = _readme_figures()
    # The structure (3 requests every 6 hours) is half a request an hour, the token refresh one;
    # the login is once.
    hourly = 60 + 4 + 0.5 + 1
    assert after == math.ceil(hourly + plans)
    # Before: a state read per charger per minute, config and plan per charger per 15 minutes.
    assert before == math.ceil(10 * 60 + 10 * 4 * 2 + 4 + 0.5 + 1)


async def test_a_circuit_comes_back_with_its_master_after_an_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A circuit's stored limits are kept through an outage; its master says it is reachable.

    Before, a failed settings read made the circuit unavailable until the next one, 15 minutes
    later: up to 15 minutes after the chargers were back (the chaos soak's cloud outage).
    """
    await setup_entry(hass, easee_entry)
    circuit = "sensor.home_circuit_1_max_current"
    shown = hass.states.get(circuit).state
    now = dt_util.utcnow().timestamp()
    # Down from minute 10 to 35: the settings reads at 15 and 30 minutes fail.
    easee_sim.add_outage(now + 600, now + 2100)
    await travel(hass, freezer, timedelta(minutes=31), step=timedelta(seconds=30))
    assert any(r.path.endswith("/settings") and r.status == 503 for r in easee_sim.requests)
    assert hass.states.get(circuit).state == STATE_UNAVAILABLE  # its master is
    # Back at 35: the master's next read, not the settings' at 45, brings the circuit back.
    await travel(hass, freezer, timedelta(minutes=6), step=timedelta(seconds=30))
    assert hass.states.get("sensor.garage_status").state != STATE_UNAVAILABLE
    assert hass.states.get(circuit).state == shown
