"""Easee's controls show what the charger and circuit have; a waiting write shows beside them."""

from __future__ import annotations

from collections import deque
from datetime import timedelta
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.ev_charge_control.vendors.easee.account import (
    DATA_EASEE_ACCOUNTS,
    WINDOW_LIMIT,
    WINDOW_SECONDS,
)
from simulators.easee import EaseeSimulator
from tests.conftest import travel
from tests.easee.conftest import USER_ID

GARAGE = "EH000001"
DYNAMIC = "number.garage_dynamic_current"
MAXIMUM = "number.garage_max_current"
SMART = "switch.garage_smart_charging"
PENDING = "sensor.garage_pending_command"
PHASE_2 = "number.home_circuit_1_phase_2_limit"
CIRCUIT_PENDING = "sensor.home_circuit_1_pending_command"


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


@pytest.mark.usefixtures("init_easee")
async def test_a_write_waiting_for_the_budget_shows_beside_the_control(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The account's window is full: the numbers and the switch keep what the charger has.

    The Pending command sensors show the waiting values; once the window lets the writes go
    and a read confirms them, the controls show them.
    """
    for entity_id in (DYNAMIC, MAXIMUM, SMART, PHASE_2):
        assert state(hass, entity_id) != "unavailable"
    # Every place of the window taken a moment ago: nothing may go for 5 minutes.
    account = hass.data[DATA_EASEE_ACCOUNTS][str(USER_ID)]
    account.window.sent = deque([time.time()] * WINDOW_LIMIT)
    sent = len(easee_sim.requests)

    await set_number(hass, DYNAMIC, 10)
    await set_number(hass, MAXIMUM, 16)
    await set_number(hass, PHASE_2, 20)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: SMART}, blocking=True
    )
    await travel(hass, freezer, timedelta(seconds=30))

    assert len(easee_sim.requests) == sent
    assert [state(hass, entity_id) for entity_id in (DYNAMIC, MAXIMUM, SMART, PHASE_2)] == [
        "32",
        "32",
        "off",
        "32",
    ]
    queued = hass.states.get(PENDING)
    assert queued is not None
    assert queued.state in ("dynamic_charger_current", "max_charger_current", "smart_charging")
    assert queued.attributes["queued"] == {
        "dynamic_charger_current": 10,
        "max_charger_current": 16,
        "smart_charging": 1,
    }
    circuit = hass.states.get(CIRCUIT_PENDING)
    assert circuit is not None
    assert circuit.state == "dynamic_circuit_current"
    assert circuit.attributes["value"] == "32/20/32 A"

    # The window frees up: the writes go, the next read confirms them.
    await travel(hass, freezer, timedelta(seconds=WINDOW_SECONDS), step=timedelta(seconds=5))
    charger = easee_sim.charger(GARAGE)
    assert (charger.dynamic_charger_current, charger.max_charger_current) == (10, 16)
    assert charger.smart_charging is True
    assert easee_sim.circuit(11).dynamic_current == (32, 20, 32)
    await travel(hass, freezer, timedelta(seconds=65), step=timedelta(seconds=5))
    assert [state(hass, entity_id) for entity_id in (DYNAMIC, MAXIMUM, SMART, PHASE_2)] == [
        "10",
        "16",
        "on",
        "20",
    ]
    assert state(hass, PENDING) == "none"
    assert state(hass, CIRCUIT_PENDING) == "none"


@pytest.mark.usefixtures("init_easee")
async def test_the_pending_command_sits_beside_the_controls(hass: HomeAssistant) -> None:
    """Not hidden among the diagnostics: it says why a control does not show its new value yet."""
    registry = er.async_get(hass)
    for entity_id in (PENDING, CIRCUIT_PENDING):
        entry = registry.async_get(entity_id)
        assert entry is not None
        assert entry.entity_category is None
