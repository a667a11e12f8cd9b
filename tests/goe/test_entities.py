"""Every go-e entity, as Home Assistant shows it, and the device they belong to."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    EntityCategory,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.entity_platform import MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.ev_charge_control.vendors.goe.descriptions import ENABLED_PER_CHARGER
from simulators.goe import GoeSimulator
from tests.conftest import find_device, setup_entry, snapshot_entities, travel
from tests.goe.fixtures import GOE_SERIAL


@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH]
)
async def test_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    platform: Platform,
) -> None:
    """Names, units, classes, categories and values of every entity stay as designed."""
    goe_sim.chargers[GOE_SERIAL].next_charge_seconds_left = 3600
    goe_sim.chargers[GOE_SERIAL].next_charge_duration = 5400
    with patch(
        "custom_components.ev_charge_control.vendors.goe.runtime.GoeRuntime.platforms", (platform,)
    ):
        await setup_entry(hass, goe_entry)
        await snapshot_entities(hass, freezer, entity_registry, snapshot, goe_entry.entry_id)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_no_planned_charge_has_no_duration(
    hass: HomeAssistant, goe_entry: MockConfigEntry, goe_sim: GoeSimulator
) -> None:
    """go-e reports a duration of 0 while nothing is planned: both planned sensors are unknown."""
    goe_sim.chargers[GOE_SERIAL].next_charge_seconds_left = 0
    goe_sim.chargers[GOE_SERIAL].next_charge_duration = 0
    await setup_entry(hass, goe_entry)
    for sensor in ("planned_start", "planned_duration"):
        assert hass.states.get(f"sensor.go_echarger_{GOE_SERIAL}_{sensor}").state == "unknown"


async def test_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    init_goe: MockConfigEntry,
) -> None:
    """One device per charger: go-e, go-eCharger, with its serial number."""
    device = find_device(hass, f"goe_{GOE_SERIAL}")
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number, device.name) == (
        "go-e",
        "go-eCharger",
        GOE_SERIAL,
        f"go-eCharger {GOE_SERIAL}",
    )


async def test_diagnostics_are_off_by_default(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_goe: MockConfigEntry
) -> None:
    """Per-phase readings, the phases available, the data age and the command slot are
    diagnostics to turn on; the maximum allowed current is the charging current number's upper
    bound already; the phases charging and the planned duration are off too, so that a fleet of
    1,000 chargers fits in one entry (Home Assistant: 10,000 enabled entities per entry)."""
    entries = er.async_entries_for_config_entry(entity_registry, init_goe.entry_id)
    off = {entry.unique_id for entry in entries if entry.disabled_by is not None}
    diagnostics = {
        f"goe_{GOE_SERIAL}_{key}"
        for key in (
            *(f"{kind}_phase_{index}" for kind in ("current", "voltage") for index in (1, 2, 3)),
            "phases_available",
            "data_age",
            "next_command_slot",
        )
    }
    assert off == {
        *diagnostics,
        *(
            f"goe_{GOE_SERIAL}_{key}"
            for key in ("max_allowed_current", "phases_charging", "planned_charge_duration")
        ),
    }
    for entry in entries:
        if entry.unique_id in off:
            assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
            assert (entry.entity_category is EntityCategory.DIAGNOSTIC) is (
                entry.unique_id in diagnostics
            )
            assert hass.states.get(entry.entity_id) is None
        else:
            assert hass.states.get(entry.entity_id) is not None
    assert len(entries) - len(off) == ENABLED_PER_CHARGER == 9
    assert MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY // ENABLED_PER_CHARGER >= 1_000
    number = hass.states.get(f"number.go_echarger_{GOE_SERIAL}_charge_current")
    assert number is not None
    assert number.attributes["max"] == 32


@pytest.mark.usefixtures("init_goe")
async def test_a_read_writes_only_the_states_it_changed(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A read rewrites no unchanged state: only what changed gets a new state."""
    reported: list[str] = []
    hass.bus.async_listen(
        EVENT_STATE_REPORTED,
        callback(lambda event: reported.append(event.data["entity_id"])),
        event_filter=callback(lambda _: True),
    )
    changed = async_capture_events(hass, EVENT_STATE_CHANGED)
    reads = len(goe_sim.status_requests())
    await travel(hass, freezer, timedelta(minutes=15))
    assert len(goe_sim.status_requests()) == reads + 1
    assert reported == []
    # The car charged for 15 minutes: the meter moved; nothing else did.
    assert [event.data["entity_id"] for event in changed] == [
        f"sensor.go_echarger_{GOE_SERIAL}_total_energy"
    ]
