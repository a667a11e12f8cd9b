"""A go-e entry follows its chargers while it runs: added, removed, given a new address."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, DOMAIN
from custom_components.ev_charge_control.issues import issue_id
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    SUBENTRY_CHARGER,
)
from custom_components.ev_charge_control.vendors.goe.runtime import GoeRuntime
from simulators.goe import GoeSimulator
from tests.conftest import find_device, secret, setup_entry, travel
from tests.goe.fixtures import GOE_SERIAL, GOE_TOKEN, goe_fleet_entry, only_charger

QUARTER = timedelta(minutes=15)
MANY = 50


def _token(index: int) -> str:
    return secret(f"Fl33tT0ken{index:022d}")


def _serial(index: int) -> str:
    return f"{100000 + index:06d}"


def _charger(index: int) -> ConfigSubentry:
    serial = _serial(index)
    return ConfigSubentry(
        data=MappingProxyType({CONF_SERIAL: serial, CONF_GRID_TOKEN: _token(index)}),
        subentry_type=SUBENTRY_CHARGER,
        title=f"go-e {serial}",
        unique_id=serial,
    )


async def test_chargers_added_while_running_start_once_without_a_reload(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Fifty chargers added at once (each change its own listener task): each starts once."""
    runtime = init_goe.runtime_data
    assert isinstance(runtime, GoeRuntime)
    for index in range(MANY):
        goe_sim.add_charger(_serial(index), _token(index), car_connected=False)
    for index in range(MANY):
        hass.config_entries.async_add_subentry(init_goe, _charger(index))
    await hass.async_block_till_done()

    assert init_goe.state is ConfigEntryState.LOADED
    assert init_goe.runtime_data is runtime  # not set up again
    assert len(runtime.coordinators) == MANY + 1
    # One first read each, and the first charger was not read again.
    assert len(goe_sim.status_requests(GOE_SERIAL)) == 1
    for index in range(MANY):
        assert len(goe_sim.status_requests(_serial(index))) == 1
    state = hass.states.get(f"sensor.go_echarger_{_serial(7)}_power")
    assert state is not None
    assert state.state != STATE_UNAVAILABLE
    device = find_device(hass, f"goe_{_serial(7)}")
    assert device is not None
    assert device.config_subentry_id == next(
        s.subentry_id for s in init_goe.subentries.values() if s.unique_id == _serial(7)
    )


async def test_a_deleted_charger_stops_and_takes_its_device_and_issues(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    device_registry: dr.DeviceRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Deleting a charger: no read or command any more, its device and repair issues are gone.

    Its waiting command is dropped, also when the charger is added again.
    """
    goe_sim.add_charger(_serial(1), _token(1), car_connected=False)
    hass.config_entries.async_add_subentry(init_goe, _charger(1))
    await hass.async_block_till_done()
    # Two commands: the first takes the slot, the second waits for the next one.
    for value in (10, 12):
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": "number.go_echarger_000123_charge_current", "value": value},
            blocking=True,
        )
    await hass.async_block_till_done()
    assert len(goe_sim.command_requests(GOE_SERIAL)) == 1
    subentry = only_charger_of(init_goe, GOE_SERIAL)
    repair = issue_id("command_failed", init_goe, subentry.subentry_id, "set_current")
    ir.async_create_issue(
        hass,
        DOMAIN,
        repair,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="command_failed",
    )

    assert hass.config_entries.async_remove_subentry(init_goe, subentry.subentry_id)
    await hass.async_block_till_done()

    assert find_device(hass, f"goe_{GOE_SERIAL}") is None
    assert hass.states.get("sensor.go_echarger_000123_power") is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, repair) is None
    reads = len(goe_sim.status_requests(GOE_SERIAL))
    await travel(hass, freezer, QUARTER * 4, step=QUARTER)
    assert len(goe_sim.status_requests(GOE_SERIAL)) == reads
    assert len(goe_sim.command_requests(GOE_SERIAL)) == 1
    # The other charger reads on.
    assert len(goe_sim.status_requests(_serial(1))) > 1

    # Added again: nothing waits any more.
    hass.config_entries.async_add_subentry(init_goe, ConfigSubentry(**_again(subentry)))
    await hass.async_block_till_done()
    pending = hass.states.get("sensor.go_echarger_000123_pending_command")
    assert pending is not None
    assert pending.state == "none"
    await travel(hass, freezer, QUARTER * 2, step=QUARTER)
    assert len(goe_sim.command_requests(GOE_SERIAL)) == 1


async def test_a_charger_added_then_deleted_at_once_is_not_left_running(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A charger deleted before its start finished: no coordinator, no entity, no timer."""
    goe_sim.add_charger(_serial(2), _token(2), car_connected=False)
    charger = _charger(2)
    hass.config_entries.async_add_subentry(init_goe, charger)
    hass.config_entries.async_remove_subentry(init_goe, charger.subentry_id)
    await hass.async_block_till_done()
    runtime = init_goe.runtime_data
    assert isinstance(runtime, GoeRuntime)
    assert charger.subentry_id not in runtime.coordinators
    assert hass.states.get(f"sensor.go_echarger_{_serial(2)}_power") is None
    reads = len(goe_sim.status_requests(_serial(2)))
    await travel(hass, freezer, QUARTER * 4, step=QUARTER)
    assert len(goe_sim.status_requests(_serial(2))) == reads


async def test_a_new_address_sets_the_entry_up_again(
    hass: HomeAssistant, init_goe: MockConfigEntry, goe_sim: GoeSimulator
) -> None:
    """The entry's API address reaches every charger: a change of it reloads the entry."""
    runtime = init_goe.runtime_data
    hass.config_entries.async_update_entry(
        init_goe, data={**init_goe.data, CONF_BASE_URL: goe_sim.base_url + "/"}
    )
    await hass.async_block_till_done()
    assert init_goe.state is ConfigEntryState.LOADED
    assert init_goe.runtime_data is not runtime
    # The reload reused the status read a moment ago: no second read.
    assert len(goe_sim.status_requests(GOE_SERIAL)) == 1
    assert only_charger(init_goe).unique_id == GOE_SERIAL


def _again(subentry: ConfigSubentry) -> dict[str, object]:
    return {
        "data": subentry.data,
        "subentry_type": subentry.subentry_type,
        "title": subentry.title,
        "unique_id": subentry.unique_id,
    }


def only_charger_of(entry: MockConfigEntry, serial: str) -> ConfigSubentry:
    """Return the charger subentry of ``serial``."""
    (subentry,) = (s for s in entry.subentries.values() if s.unique_id == serial)
    return subentry


async def test_a_deleted_entry_drops_its_chargers_waiting_commands(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The README promises it: deleting the entry drops what waits; adding it back sends none."""
    for value in (10, 12):
        await hass.services.async_call(
            "number",
            "set_value",
            {"entity_id": "number.go_echarger_000123_charge_current", "value": value},
            blocking=True,
        )
    await hass.async_block_till_done()
    assert await hass.config_entries.async_remove(init_goe.entry_id)
    await hass.async_block_till_done()

    again = goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN))
    await setup_entry(hass, again)
    pending = hass.states.get("sensor.go_echarger_000123_pending_command")
    assert pending is not None
    assert pending.state == "none"
    await travel(hass, freezer, QUARTER * 2, step=QUARTER)
    assert len(goe_sim.command_requests(GOE_SERIAL)) == 1
