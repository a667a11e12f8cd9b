"""An Easee account in Home Assistant: devices, entities, tokens and the structure over time."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
import json
from pathlib import Path
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components import ev_charge_control
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.vendors.easee.const import CONF_TOKENS
from simulators.easee import EaseeSimulator
from tests.conftest import find_device, setup_entry, snapshot_entities, travel
from tests.easee.conftest import CHARGERS, MASTERS, state_reads


def _logins(sim: EaseeSimulator) -> int:
    return len(sim.requests_to("POST", "/api/accounts/login"))


def _refreshes(sim: EaseeSimulator) -> int:
    return len(sim.requests_to("POST", "/api/accounts/refresh_token"))


@pytest.mark.parametrize(
    "platform",
    [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH],
)
async def test_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    easee_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """Names, units, classes, categories and values of every entity stay as designed."""
    with patch(
        "custom_components.ev_charge_control.vendors.easee.runtime.EaseeRuntime.platforms",
        (platform,),
    ):
        await setup_entry(hass, easee_entry)
        await snapshot_entities(hass, freezer, entity_registry, snapshot, easee_entry.entry_id)


async def test_per_phase_currents_are_off_by_default(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, easee_entry: MockConfigEntry
) -> None:
    """A charger's current per phase is a diagnostic the user turns on; the rest is on."""
    await setup_entry(hass, easee_entry)
    entries = er.async_entries_for_config_entry(entity_registry, easee_entry.entry_id)
    off = [entry for entry in entries if entry.disabled_by is not None]
    assert sorted(entry.unique_id for entry in off) == sorted(
        f"easee_{charger}_current_phase_{index}" for charger in CHARGERS for index in (1, 2, 3)
    )
    for entry in off:
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert entry.entity_category is EntityCategory.DIAGNOSTIC
        assert hass.states.get(entry.entity_id) is None
    assert all(
        hass.states.get(entry.entity_id) is not None
        for entry in entries
        if entry.disabled_by is None
    )


async def test_devices_link_chargers_to_circuits_and_sites(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, init_easee: MockConfigEntry
) -> None:
    """Two sites, three circuits, five chargers: each charger via its circuit, via its site."""
    devices = dr.async_entries_for_config_entry(device_registry, init_easee.entry_id)
    by_identifier = {next(iter(d.identifiers))[1]: d for d in devices}
    assert sorted(by_identifier) == sorted(
        [f"easee_{c}" for c in CHARGERS]
        + [f"easee_circuit_{c}" for c in (11, 12, 21)]
        + ["easee_site_1", "easee_site_2"]
    )
    circuit_of = {"EH000001": 11, "EH000002": 11, "EH000003": 12, "EH000004": 21, "EH000005": 21}
    for charger, circuit in circuit_of.items():
        device = by_identifier[f"easee_{charger}"]
        assert device.via_device_id == by_identifier[f"easee_circuit_{circuit}"].id
        assert device.serial_number == charger
        assert device.manufacturer == "Easee"
    assert by_identifier["easee_EH000001"].name == "Garage"
    assert by_identifier["easee_EH000001"].model == "Easee Home"
    assert by_identifier["easee_EH000005"].model == "Easee Lite"
    assert by_identifier["easee_EH000001"].sw_version is not None
    for circuit, site in ((11, 1), (12, 1), (21, 2)):
        device = by_identifier[f"easee_circuit_{circuit}"]
        assert device.via_device_id == by_identifier[f"easee_site_{site}"].id
    assert by_identifier["easee_circuit_11"].name == "Home circuit 1"
    assert by_identifier["easee_site_2"].name == "Office"


@pytest.mark.usefixtures("init_easee")
def test_every_request_names_the_integration(easee_sim: EaseeSimulator) -> None:
    """Easee asks clients to name themselves: every request of the entry carries the name."""
    manifest = json.loads((Path(ev_charge_control.__file__).parent / "manifest.json").read_text())
    agents = {request.user_agent for request in easee_sim.requests}
    assert agents == {f"ev_charge_control/{manifest['version']}"}


async def test_circuit_numbers_only_where_a_master_is(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_easee: MockConfigEntry
) -> None:
    """Every circuit has a master here, so each gets its three phase numbers."""
    for circuit in MASTERS:
        entity_id = entity_registry.async_get_entity_id(
            "number", DOMAIN, f"easee_circuit_{circuit}_dynamic_circuit_current_phase_1"
        )
        assert entity_id is not None
        assert hass.states.get(entity_id).state not in (STATE_UNAVAILABLE, "unknown")


async def test_tokens_are_kept_and_a_restart_does_not_log_in(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """One login at the first set-up; the tokens go into the entry and a reload reuses them."""
    assert _logins(easee_sim) == 1
    tokens = init_easee.data[CONF_TOKENS]
    assert set(tokens) == {"access_token", "refresh_token", "expires_at"}
    assert await hass.config_entries.async_reload(init_easee.entry_id)
    await hass.async_block_till_done()
    assert init_easee.state is ConfigEntryState.LOADED
    assert _logins(easee_sim) == 1


async def test_a_restart_within_six_hours_reads_no_structure(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """The chargers and sites read at set-up are saved; a reload does not ask again."""
    assert len(easee_sim.requests_to("GET", "/api/chargers")) == 1
    assert await hass.config_entries.async_reload(init_easee.entry_id)
    await hass.async_block_till_done()
    assert len(easee_sim.requests_to("GET", "/api/chargers")) == 1
    assert len(hass.states.async_entity_ids("sensor")) > 0


async def test_token_is_refreshed_before_it_expires_without_a_login(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A short-lived token is refreshed in time; nobody logs in again."""
    easee_sim.access_token_lifetime = 600
    await setup_entry(hass, easee_entry)
    first = easee_entry.data[CONF_TOKENS]["access_token"]
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(seconds=60))
    assert _logins(easee_sim) == 1
    assert _refreshes(easee_sim) >= 2
    assert easee_entry.data[CONF_TOKENS]["access_token"] != first
    assert all(r.status != 401 for r in easee_sim.requests)


async def test_a_401_storm_logs_in_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """Every token revoked: the client refreshes (refused), logs in once, and goes on."""
    easee_sim.invalidate_tokens()
    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=30))
    assert _logins(easee_sim) == 2
    assert _refreshes(easee_sim) == 1
    state = hass.states.get("sensor.garage_status")
    assert state is not None
    assert state.state != STATE_UNAVAILABLE


async def test_a_changed_password_asks_for_reauth_and_stops_logging_in(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """Tokens revoked and password changed: one login attempt, then a reauth flow; no loop."""
    easee_sim.change_password("owner@example.com", "a-new-password-1")
    easee_sim.invalidate_tokens()
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(seconds=30))
    assert _logins(easee_sim) == 2
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert hass.states.get("sensor.garage_status").state == STATE_UNAVAILABLE


@pytest.mark.day_long
async def test_a_charger_added_later_appears_after_the_structure_refresh(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """The structure is read again every 6 hours, and a new charger comes with it."""
    easee_sim.add_charger("EH000006", 12, name="Barn")
    await travel(hass, freezer, timedelta(hours=5), step=timedelta(minutes=5))
    assert hass.states.get("sensor.barn_status") is None
    assert len(easee_sim.requests_to("GET", "/api/chargers")) == 1
    await travel(hass, freezer, timedelta(hours=1, minutes=5), step=timedelta(minutes=1))
    assert len(easee_sim.requests_to("GET", "/api/chargers")) == 2
    assert hass.states.get("sensor.barn_status").state == "disconnected"
    barn = find_device(hass, "easee_EH000006")
    assert barn is not None
    circuit = find_device(hass, "easee_circuit_12")
    assert barn.via_device_id == circuit.id


async def test_a_removed_charger_goes_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """A charger the cloud no longer knows (404) makes the structure be read on demand."""
    easee_sim.remove_charger("EH000002")
    await travel(hass, freezer, timedelta(minutes=3), step=timedelta(seconds=30))
    assert len(easee_sim.requests_to("GET", "/api/chargers")) == 2
    assert find_device(hass, "easee_EH000002") is None
    assert hass.states.get("sensor.driveway_status") is None
    assert entity_registry.async_get_entity_id("sensor", DOMAIN, "easee_EH000002_status") is None
    # The others go on being read (with their site).
    before = len(easee_sim.requests_to("GET", "/api/sites/1/state"))
    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=30))
    assert len(easee_sim.requests_to("GET", "/api/sites/1/state")) > before
    assert hass.states.get("sensor.garage_status").state != STATE_UNAVAILABLE


async def test_unload_stops_all_requests(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """After unloading, the account is quiet."""
    assert await hass.config_entries.async_unload(init_easee.entry_id)
    count = len(easee_sim.requests)
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=1))
    assert len(easee_sim.requests) == count


@pytest.mark.day_long
async def test_a_failed_first_set_up_leaves_no_poller_behind(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A 429 on the first structure read: set-up retries, and one poller reads each charger."""
    easee_sim.inject_fault("http_429", path_contains="/api/chargers", retry_after=60)
    await setup_entry(hass, easee_entry)
    assert easee_entry.state is ConfigEntryState.SETUP_RETRY
    # The reason the integrations page shows is translated, not the exception's text.
    assert easee_entry.error_reason_translation_key == "rate_limited"
    (refused,) = [request for request in easee_sim.requests if request.status == 429]

    await travel(hass, freezer, timedelta(minutes=3), step=timedelta(seconds=5))
    assert easee_entry.state is ConfigEntryState.LOADED
    # The pause the cloud asked for held, for the retries of the set-up too.
    assert min(r.time for r in easee_sim.requests if r.time > refused.time) >= refused.time + 60

    await travel(hass, freezer, timedelta(hours=7), step=timedelta(minutes=1))
    interval = easee_entry.runtime_data.state_interval
    for charger in CHARGERS:
        reads = [r.time for r in state_reads(easee_sim, charger)]
        assert len(reads) > 6 * 3600 / (interval + 60)
        gaps = [later - earlier for earlier, later in pairwise(reads)]
        assert min(gaps) >= interval, f"{charger} was read twice within {interval} s"
    # One structure read at set-up, one 6 hours later: nobody else reads it.
    assert [r.status for r in easee_sim.requests_to("GET", "/api/chargers")] == [429, 200, 200]
