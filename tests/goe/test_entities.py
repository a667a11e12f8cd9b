"""Every go-e entity, as Home Assistant shows it, and the device they belong to."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import Platform
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
