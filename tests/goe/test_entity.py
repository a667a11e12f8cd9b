"""The one entity base class: the coordinator holds its entities behind one listener."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.vendors.goe.runtime import GoeRuntime
from simulators.goe import GoeSimulator
from tests.conftest import travel

POWER = "sensor.go_echarger_000123_power"


async def test_one_listener_per_coordinator_whatever_its_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goe_sim: GoeSimulator,
    init_goe: MockConfigEntry,
) -> None:
    """Every entity of a charger updates through one listener; the last one gone removes it.

    Home Assistant's coordinator entity adds a listener each (nine per go-e charger): in a
    fleet of thousands that is memory the benchmark counts against the integration.
    """
    runtime = init_goe.runtime_data
    assert isinstance(runtime, GoeRuntime)
    (coordinator,) = runtime.coordinators.values()
    registry = er.async_get(hass)
    enabled = [
        e
        for e in er.async_entries_for_config_entry(registry, init_goe.entry_id)
        if e.disabled_by is None
    ]
    assert len(enabled) > 1
    assert len(coordinator._listeners) == 1
    assert coordinator._entities is not None
    assert len(coordinator._entities) == len(enabled)

    # Each entity still shows a new read.
    goe_sim.chargers["000123"].car_connected = False
    await travel(hass, freezer, timedelta(minutes=15))
    assert hass.states.get(POWER).state == "0"

    # An entity removed leaves the list; the listener stays for the others.
    registry.async_remove(POWER)
    await hass.async_block_till_done()
    assert len(coordinator._entities) == len(enabled) - 1
    assert len(coordinator._listeners) == 1

    # With the last entity gone, nothing listens.
    for entry in enabled:
        if entry.entity_id != POWER:
            registry.async_remove(entry.entity_id)
    await hass.async_block_till_done()
    assert coordinator._entities == []
    assert coordinator._listeners == {}
