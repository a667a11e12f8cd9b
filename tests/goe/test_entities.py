"""Every go-e entity, as Home Assistant shows it, and the device they belong to."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.ev_charge_control.const import DOMAIN
from simulators.goe import GoeSimulator
from tests.conftest import GOE_SERIAL, setup_entry


@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH]
)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    platform: Platform,
) -> None:
    """Names, units, classes, categories and values of every entity stay as designed."""
    goe_sim.chargers[GOE_SERIAL].next_charge_seconds_left = 3600
    goe_sim.chargers[GOE_SERIAL].next_charge_duration = 5400
    with patch("custom_components.ev_charge_control.vendors.goe.GoeRuntime.platforms", (platform,)):
        await setup_entry(hass, goe_entry)
    await snapshot_platform(hass, entity_registry, snapshot, goe_entry.entry_id)


async def test_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    init_goe: MockConfigEntry,
) -> None:
    """One device per charger: go-e, go-eCharger, with its serial number."""
    device = device_registry.async_get_device(identifiers={(DOMAIN, f"goe_{GOE_SERIAL}")})
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number, device.name) == (
        "go-e",
        "go-eCharger",
        GOE_SERIAL,
        f"go-eCharger {GOE_SERIAL}",
    )


@pytest.mark.default_entities
async def test_diagnostics_are_off_by_default(
    hass: HomeAssistant, entity_registry: er.EntityRegistry, init_goe: MockConfigEntry
) -> None:
    """Per-phase readings, the phases available and the data age are diagnostics to turn on."""
    entries = er.async_entries_for_config_entry(entity_registry, init_goe.entry_id)
    off = {entry.unique_id for entry in entries if entry.disabled_by is not None}
    assert off == {
        f"goe_{GOE_SERIAL}_{key}"
        for key in (
            *(f"{kind}_phase_{index}" for kind in ("current", "voltage") for index in (1, 2, 3)),
            "phases_available",
            "data_age",
        )
    }
    for entry in entries:
        if entry.unique_id in off:
            assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
            assert entry.entity_category is EntityCategory.DIAGNOSTIC
            assert hass.states.get(entry.entity_id) is None
        else:
            assert hass.states.get(entry.entity_id) is not None
    assert len(entries) - len(off) == 13
