"""Easee writes the cloud refuses with a 4xx: reported once, never sent again."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ev_charge_control.const import EVENT_COMMAND_RESULT
import simulators.easee
from simulators.easee import EaseeSimulator
from tests.conftest import travel
from tests.events import assert_command_results

GARAGE = "EH000001"
DYNAMIC = "number.garage_dynamic_current"
PENDING = "sensor.garage_pending_command"
DYNAMIC_PATH = f"/api/chargers/{GARAGE}/commands/set_dynamic_charger_current"
STEP = timedelta(seconds=5)


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


def statuses(sim: EaseeSimulator) -> list[int]:
    """Return the statuses of the dynamic current writes that reached the cloud."""
    return [r.status for r in sim.requests_to("POST", DYNAMIC_PATH)]


@pytest.mark.usefixtures("init_easee")
async def test_a_write_refused_with_a_400_fails_the_action_and_is_not_sent_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 400 BadRequest is no reason to send the same write in the next slots."""

    def out_of_range(name: str, value: object, *args: object, **kwargs: object) -> float:
        raise ValueError(f"{name} is not allowed here")

    monkeypatch.setattr(simulators.easee, "_in_range", out_of_range)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, DYNAMIC, 10)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders == {
        "parameter": "dynamic_charger_current",
        "code": "400",
    }
    assert statuses(easee_sim) == [400]
    assert [(e.data["result"], e.data["attempt"], e.data["will_retry"]) for e in events] == [
        ("refused", 1, False)
    ]
    assert_command_results(events)
    assert hass.states.get(PENDING).state == "none"

    # Many write slots and polls later: nothing more goes out, nothing more is said.
    await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    assert statuses(easee_sim) == [400]
    assert len(events) == 1


@pytest.mark.usefixtures("init_easee")
async def test_a_write_answered_500_is_sent_again(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The cloud's own trouble is no refusal: the write goes out again and is applied."""
    easee_sim.inject_fault("http_500", path_contains="set_dynamic_charger_current")
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, DYNAMIC, 10)
    assert statuses(easee_sim) == [500]
    await travel(hass, freezer, timedelta(minutes=3), step=STEP)
    assert statuses(easee_sim) == [500, 202]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 10
    assert [e.data["result"] for e in events][-1] == "applied"
