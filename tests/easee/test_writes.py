"""Easee writes, end to end: what reaches the cloud, when, in which order, and what the user sees."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
import voluptuous as vol

from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT
from custom_components.ev_charge_control.vendors.easee.const import (
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_KEEP_DYNAMIC_LIMITS,
)
from simulators.easee import EaseeSimulator
from tests.conftest import find_device, setup_entry, travel
from tests.easee.conftest import state_reads
from tests.events import assert_command_results
from tests.goe import fixtures as goe_fixtures
from tests.goe.fixtures import GOE_SERIAL

GARAGE = "EH000001"
DYNAMIC = "number.garage_dynamic_current"
MAXIMUM = "number.garage_max_current"
ENABLED = "switch.garage_charger_enabled"
SMART = "switch.garage_smart_charging"
PENDING = "sensor.garage_pending_command"
LIMIT = "sensor.garage_effective_limit"
PHASES = tuple(f"number.home_circuit_1_phase_{n}_limit" for n in (1, 2, 3))
CIRCUIT_PENDING = "sensor.home_circuit_1_pending_command"

DYNAMIC_PATH = f"/api/chargers/{GARAGE}/commands/set_dynamic_charger_current"
SETTINGS_PATH = f"/api/chargers/{GARAGE}/settings"
PLAN_PATH = f"/api/chargers/{GARAGE}/basic_charge_plan"
WEEKLY_PATH = f"/api/chargers/{GARAGE}/weekly_charge_plan"
CIRCUIT_11_PATH = "/api/sites/1/circuits/11/dynamicCurrent"
AUTH_PATHS = ("/api/accounts/login", "/api/accounts/refresh_token")

# One poll (every 60 s) and a little more, in steps that let every timer fire on time.
POLL = timedelta(seconds=65)
STEP = timedelta(seconds=5)
# The write spacing of a charger or circuit, and a moment more.
SPACING = timedelta(seconds=6)

# A go-e charger beside the Easee account, for the actions that must refuse it.
goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry
init_goe = goe_fixtures.init_goe


# Helpers


async def with_options(
    hass: HomeAssistant, easee_entry: MockConfigEntry, **options: Any
) -> MockConfigEntry:
    """Set the Easee account up with options (as the options flow leaves them)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=easee_entry.title,
        unique_id=easee_entry.unique_id,
        data=dict(easee_entry.data),
        options=options,
    )
    return await setup_entry(hass, entry)


def writes(sim: EaseeSimulator) -> list[tuple[str, object]]:
    """Return every write that reached the cloud, as (path, body)."""
    return [
        (r.path, r.body) for r in sim.requests if r.method == "POST" and r.path not in AUTH_PATHS
    ]


def bodies(sim: EaseeSimulator, path: str) -> list[object]:
    """Return the bodies of the writes to one path."""
    return [r.body for r in sim.requests_to("POST", path)]


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def turn(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    """Switch a switch on or off."""
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )


async def press(hass: HomeAssistant, entity_id: str) -> None:
    """Press a button."""
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def action(hass: HomeAssistant, service: str, data: dict[str, Any]) -> None:
    """Call one of the integration's actions."""
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


def device_id(hass: HomeAssistant, identifier: str) -> str:
    """Return the device registry id of a device of the integration."""
    device = find_device(hass, identifier)
    assert device is not None
    return device.id


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def attributes(hass: HomeAssistant, entity_id: str) -> dict[str, Any]:
    """Return an entity's attributes."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return dict(current.attributes)


def at(timestamp: float) -> str:
    """Return a moment as the attributes show it."""
    return dt_util.utc_from_timestamp(round(timestamp)).isoformat()


# Every write reaches the right endpoint with the right body


@pytest.mark.usefixtures("init_easee")
async def test_dynamic_charger_current_is_sent_at_once_and_confirmed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The cloud gets 10 A at once; the number shows 10 A once the next read confirms it.

    Until then it shows the 32 A the charger was read with; the Pending command sensor
    shows the 10 A on their way.
    """
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, DYNAMIC, 10)

    assert writes(easee_sim) == [(DYNAMIC_PATH, {"amps": 10, "minutes": 0})]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 10
    assert state(hass, DYNAMIC) == "32"
    assert state(hass, PENDING) == "none"
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {"dynamic_charger_current": 10}
    assert events == []

    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, DYNAMIC) == "10"
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}
    assert [event.data for event in events] == [
        {
            "device_id": device_id(hass, f"easee_{GARAGE}"),
            "parameter": "dynamic_charger_current",
            "requested": 10,
            "result": "applied",
            "actual": 10,
            "attempt": 1,
            "will_retry": False,
        }
    ]
    assert_command_results(events)

    # Confirmed, the number follows the charger again (here: the Easee app changed it).
    easee_sim.charger(GARAGE).dynamic_charger_current = 14
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, DYNAMIC) == "14"
    assert len(writes(easee_sim)) == 1


async def test_dynamic_charger_current_carries_the_time_to_live_option(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """With a time to live set in the options, Easee drops the limit by itself after it."""
    await with_options(hass, easee_entry, **{CONF_DYNAMIC_CURRENT_TTL: 15})
    await set_number(hass, DYNAMIC, 10)

    assert bodies(easee_sim, DYNAMIC_PATH) == [{"amps": 10, "minutes": 15}]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 10
    # The circuit's phase numbers use it too.
    await set_number(hass, PHASES[0], 20)
    assert bodies(easee_sim, CIRCUIT_11_PATH) == [
        {"phase1": 20, "phase2": 32, "phase3": 32, "timeToLive": 15}
    ]

    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(seconds=30))
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32
    assert state(hass, DYNAMIC) == "32"
    assert easee_sim.circuit(11).dynamic_current == (16, 16, 16)
    assert len(bodies(easee_sim, DYNAMIC_PATH)) == 1
    assert len(bodies(easee_sim, CIRCUIT_11_PATH)) == 1


@pytest.mark.usefixtures("init_easee")
async def test_maximum_charger_current_is_a_setting(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The maximum goes to the settings endpoint; the config read after it confirms it."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, MAXIMUM, 16)

    assert writes(easee_sim) == [(SETTINGS_PATH, {"maxChargerCurrent": 16})]
    assert easee_sim.charger(GARAGE).max_charger_current == 16
    assert state(hass, MAXIMUM) == "32"  # until a read shows the new one
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {"max_charger_current": 16}

    await travel(hass, freezer, POLL, step=STEP)
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}
    assert [(e.data["parameter"], e.data["result"], e.data["actual"]) for e in events] == [
        ("max_charger_current", "applied", 16)
    ]
    assert state(hass, MAXIMUM) == "16"


@pytest.mark.usefixtures("init_easee")
async def test_charger_enabled_switch(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """Off and on again: two settings writes, and the charger stops and charges again."""
    await turn(hass, ENABLED, False)
    # The switch shows what the charger has until a read shows the change.
    assert state(hass, ENABLED) == "on"
    assert easee_sim.charger(GARAGE).enabled is False
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, ENABLED) == "off"
    assert state(hass, "sensor.garage_status") == "awaiting_start"

    await turn(hass, ENABLED, True)
    assert state(hass, ENABLED) == "off"
    assert writes(easee_sim) == [
        (SETTINGS_PATH, {"enabled": False}),
        (SETTINGS_PATH, {"enabled": True}),
    ]
    assert easee_sim.charger(GARAGE).enabled is True
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, ENABLED) == "on"
    assert state(hass, "sensor.garage_status") == "charging"


@pytest.mark.usefixtures("init_easee")
async def test_smart_charging_switch(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """Smart charging on and off goes to the settings endpoint."""
    await turn(hass, SMART, True)
    assert state(hass, SMART) == "off"
    assert easee_sim.charger(GARAGE).smart_charging is True
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, SMART) == "on"
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}

    await turn(hass, SMART, False)
    assert writes(easee_sim) == [
        (SETTINGS_PATH, {"smartCharging": True}),
        (SETTINGS_PATH, {"smartCharging": False}),
    ]
    assert easee_sim.charger(GARAGE).smart_charging is False
    assert state(hass, SMART) == "on"
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, SMART) == "off"


@pytest.mark.parametrize(
    ("button", "command", "paused_before", "paused_after"),
    [
        ("button.garage_pause_charging", "pause_charging", False, True),
        ("button.garage_stop_charging", "stop_charging", False, True),
        ("button.garage_resume_charging", "resume_charging", True, False),
        ("button.garage_start_charging", "start_charging", True, False),
    ],
)
async def test_buttons_send_their_command(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    button: str,
    command: str,
    paused_before: bool,
    paused_after: bool,
) -> None:
    """Each button posts its command, and the charger does it."""
    easee_sim.charger(GARAGE).paused = paused_before
    await setup_entry(hass, easee_entry)

    await press(hass, button)
    assert writes(easee_sim) == [(f"/api/chargers/{GARAGE}/commands/{command}", None)]
    assert easee_sim.charger(GARAGE).paused is paused_after
    # Nothing in a read shows a command, so none waits for confirmation.
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}


async def test_override_button_lifts_the_charge_plan(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """The override button posts override_schedule; the plan no longer holds the car back."""
    easee_sim.charger(GARAGE).basic_charge_plan = {
        "chargeStartTime": "2026-11-21T20:00:00Z",
        "chargeStopTime": "2026-11-21T23:00:00Z",
        "repeat": True,
        "isEnabled": True,
        "chargingCurrentLimit": 16,
    }
    await setup_entry(hass, easee_entry)
    assert easee_sim.charger(GARAGE).output_current == 0

    await press(hass, "button.garage_override_plan")
    assert writes(easee_sim) == [(f"/api/chargers/{GARAGE}/commands/override_schedule", None)]
    assert easee_sim.charger(GARAGE).schedule_overridden is True
    assert easee_sim.charger(GARAGE).output_current > 0


@pytest.mark.usefixtures("init_easee")
async def test_circuit_phase_number_keeps_the_other_phases(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """One phase changed: the circuit gets all three, the others as they were."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, PHASES[1], 20)

    assert writes(easee_sim) == [
        (CIRCUIT_11_PATH, {"phase1": 32, "phase2": 20, "phase3": 32, "timeToLive": 0})
    ]
    assert easee_sim.circuit(11).dynamic_current == (32, 20, 32)
    assert [state(hass, entity_id) for entity_id in PHASES] == ["32", "32", "32"]
    assert attributes(hass, CIRCUIT_PENDING)["awaiting_confirmation"] == {
        "dynamic_circuit_current": [32, 20, 32]
    }

    # The master's next read shows it.
    await travel(hass, freezer, POLL, step=STEP)
    assert [state(hass, entity_id) for entity_id in PHASES] == ["32", "20", "32"]
    assert attributes(hass, CIRCUIT_PENDING)["awaiting_confirmation"] == {}
    assert [(e.data["result"], e.data["actual"]) for e in events] == [("applied", [32, 20, 32])]
    assert_command_results(events)

    # A second phase builds on the first.
    await set_number(hass, PHASES[2], 16)
    # And a third within the write spacing builds on the one still on its way.
    await set_number(hass, PHASES[0], 10)
    assert (state(hass, CIRCUIT_PENDING), attributes(hass, CIRCUIT_PENDING)["value"]) == (
        "dynamic_circuit_current",
        "10/20/16 A",
    )
    # The numbers show what the circuit has; what waits is beside them.
    assert [state(hass, entity_id) for entity_id in PHASES] == ["32", "20", "32"]
    await travel(hass, freezer, SPACING, step=timedelta(seconds=1))
    assert bodies(easee_sim, CIRCUIT_11_PATH)[1:] == [
        {"phase1": 32, "phase2": 20, "phase3": 16, "timeToLive": 0},
        {"phase1": 10, "phase2": 20, "phase3": 16, "timeToLive": 0},
    ]
    assert easee_sim.circuit(11).dynamic_current == (10, 20, 16)
    await travel(hass, freezer, POLL, step=STEP)
    assert [state(hass, entity_id) for entity_id in PHASES] == ["10", "20", "16"]


@pytest.mark.usefixtures("init_easee")
async def test_set_dynamic_circuit_current_on_the_circuit(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The action with the circuit's device sets all three phases."""
    await action(
        hass,
        "set_dynamic_circuit_current",
        {
            ATTR_DEVICE_ID: device_id(hass, "easee_circuit_11"),
            "phase_1": 10,
            "phase_2": 12,
            "phase_3": 14,
        },
    )
    assert writes(easee_sim) == [
        (CIRCUIT_11_PATH, {"phase1": 10, "phase2": 12, "phase3": 14, "timeToLive": 0})
    ]
    assert easee_sim.circuit(11).dynamic_current == (10, 12, 14)
    await travel(hass, freezer, POLL, step=STEP)
    assert [state(hass, entity_id) for entity_id in PHASES] == ["10", "12", "14"]


@pytest.mark.usefixtures("init_easee")
async def test_set_dynamic_circuit_current_through_a_charger_with_time_to_live(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """A charger stands for its circuit; with a time to live Easee falls back by itself."""
    await action(
        hass,
        "set_dynamic_circuit_current",
        {
            ATTR_DEVICE_ID: device_id(hass, "easee_EH000002"),
            "phase_1": 20,
            "phase_2": 20,
            "phase_3": 20,
            "time_to_live": 30,
        },
    )
    assert writes(easee_sim) == [
        (CIRCUIT_11_PATH, {"phase1": 20, "phase2": 20, "phase3": 20, "timeToLive": 30})
    ]
    assert easee_sim.circuit(11).dynamic_current == (20, 20, 20)

    await travel(hass, freezer, timedelta(minutes=31), step=timedelta(seconds=30))
    # The circuit's offline limit (16 A) after the time to live, and no write puts 20 back.
    assert easee_sim.circuit(11).dynamic_current == (16, 16, 16)
    assert [state(hass, entity_id) for entity_id in PHASES] == ["16", "16", "16"]
    assert len(writes(easee_sim)) == 1


@pytest.mark.usefixtures("init_easee")
async def test_set_and_clear_charge_plan(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """A daily basic plan with UTC instants, confirmed by the next read; clearing switches it off."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    garage = device_id(hass, f"easee_{GARAGE}")
    # 04:00 at home (UTC-8): tonight's 22:00-06:00 window is the one running now.
    assert dt_util.now().strftime("%H:%M") == "04:00"
    await action(
        hass,
        "set_charge_plan",
        {ATTR_DEVICE_ID: garage, "start": "22:00", "stop": "06:00:00", "max_current": 16},
    )
    plan = {
        "id": GARAGE,
        "chargeStartTime": "2026-11-21T06:00:00Z",
        "chargeStopTime": "2026-11-21T14:00:00Z",
        "repeat": True,
        "isEnabled": True,
        "chargingCurrentLimit": 16,
    }
    assert writes(easee_sim) == [(PLAN_PATH, plan)]
    assert easee_sim.charger(GARAGE).basic_charge_plan == plan
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {"charge_plan": "plan"}

    await travel(hass, freezer, POLL, step=STEP)
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}
    assert [(e.data["parameter"], e.data["result"]) for e in events] == [("charge_plan", "applied")]

    await action(hass, "clear_charge_plan", {ATTR_DEVICE_ID: garage})
    # Read first, then posted back switched off; no weekly plan to switch off.
    assert [(r.method, r.path) for r in easee_sim.requests if "charge_plan" in r.path][-3:] == [
        ("GET", PLAN_PATH),
        ("POST", PLAN_PATH),
        ("GET", WEEKLY_PATH),
    ]
    assert writes(easee_sim)[1:] == [(PLAN_PATH, {**plan, "isEnabled": False})]
    await travel(hass, freezer, POLL, step=STEP)
    assert [(e.data["parameter"], e.data["result"]) for e in events][1:] == [
        ("charge_plan", "applied")
    ]


@pytest.mark.usefixtures("init_easee")
async def test_a_one_off_charge_plan_is_ended_by_the_cloud(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """repeat: false goes to Easee, which ends the plan: nothing of ours turns it off later."""
    await action(
        hass,
        "set_charge_plan",
        {
            ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"),
            "start": "22:00",
            "stop": "06:00",
            "repeat": False,
            "max_current": 16,
        },
    )
    assert bodies(easee_sim, PLAN_PATH)[0]["repeat"] is False  # type: ignore[index]
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, LIMIT) == "16.0"
    assert easee_sim.charger(GARAGE).output_current == 16

    # After 06:00 the window is over: the plan limits nothing, and no write was needed.
    await travel(hass, freezer, timedelta(hours=2, minutes=20), step=timedelta(minutes=1))
    assert "charge_plan" not in attributes(hass, LIMIT)["limits"]
    assert easee_sim.charger(GARAGE).output_current == 32
    assert len(writes(easee_sim)) == 1


@pytest.mark.usefixtures("init_easee")
async def test_a_one_off_plan_whose_window_is_over_today_runs_tomorrow(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """At 04:00 a one-off 01:00-03:00 plan means tomorrow night (as UTC instants)."""
    await action(
        hass,
        "set_charge_plan",
        {
            ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"),
            "start": "01:00",
            "stop": "03:00",
            "repeat": False,
            "max_current": 16,
        },
    )
    (body,) = bodies(easee_sim, PLAN_PATH)
    assert body["chargeStartTime"] == "2026-11-22T09:00:00Z"  # type: ignore[index]
    assert body["chargeStopTime"] == "2026-11-22T11:00:00Z"  # type: ignore[index]


@pytest.mark.usefixtures("init_easee")
async def test_a_charge_plan_without_a_maximum(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """max_current is optional: the plan then allows all the charger can give (32 A)."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await action(
        hass,
        "set_charge_plan",
        {ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"), "start": "22:00", "stop": "06:00"},
    )
    (body,) = bodies(easee_sim, PLAN_PATH)
    assert body["chargingCurrentLimit"] == 32  # type: ignore[index]

    await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    assert [(r.path, r.status) for r in easee_sim.requests_to("POST", PLAN_PATH)] == [
        (PLAN_PATH, 200)
    ]
    assert [(e.data["parameter"], e.data["result"]) for e in events] == [("charge_plan", "applied")]


# Dedupe, coalescing, flash, priority


@pytest.mark.usefixtures("init_easee")
async def test_asking_for_what_the_charger_has_sends_nothing(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """32 A, 32 A maximum, enabled, smart charging off, circuit at 32 A: nothing to send."""
    await set_number(hass, DYNAMIC, 32)
    await set_number(hass, MAXIMUM, 32)
    await turn(hass, ENABLED, True)
    await turn(hass, SMART, False)
    await set_number(hass, PHASES[0], 32)
    await travel(hass, freezer, POLL, step=STEP)

    assert writes(easee_sim) == []
    assert state(hass, PENDING) == "none"
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}
    assert state(hass, CIRCUIT_PENDING) == "none"


@pytest.mark.usefixtures("init_easee")
async def test_three_values_within_the_spacing_make_two_writes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The first goes at once; of the rest only the newest goes, 5 s after the first."""
    await set_number(hass, DYNAMIC, 10)
    await travel(hass, freezer, timedelta(seconds=1))
    await set_number(hass, DYNAMIC, 12)
    await travel(hass, freezer, timedelta(seconds=1))
    await set_number(hass, DYNAMIC, 14)

    assert bodies(easee_sim, DYNAMIC_PATH) == [{"amps": 10, "minutes": 0}]
    # The number shows what the charger was read with; the newest request waits beside it.
    assert state(hass, DYNAMIC) == "32"
    assert (state(hass, PENDING), attributes(hass, PENDING)["value"]) == (
        "dynamic_charger_current",
        "14 A",
    )
    first = easee_sim.requests_to("POST", DYNAMIC_PATH)[0].time
    assert attributes(hass, PENDING)["queued"] == {"dynamic_charger_current": 14}
    assert attributes(hass, PENDING)["next_write"] == at(first + 5)

    await travel(hass, freezer, timedelta(seconds=2))
    assert len(bodies(easee_sim, DYNAMIC_PATH)) == 1
    await travel(hass, freezer, timedelta(seconds=2), step=timedelta(seconds=1))
    sent = easee_sim.requests_to("POST", DYNAMIC_PATH)
    assert [r.body for r in sent] == [{"amps": 10, "minutes": 0}, {"amps": 14, "minutes": 0}]
    assert sent[1].time - first == pytest.approx(5, abs=1)
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 14
    assert state(hass, PENDING) == "none"

    await travel(hass, freezer, POLL, step=STEP)
    assert len(bodies(easee_sim, DYNAMIC_PATH)) == 2
    assert state(hass, DYNAMIC) == "14"


@pytest.mark.usefixtures("init_easee")
async def test_maximum_current_is_written_to_flash_once_an_hour(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """A second maximum within the hour waits for the hour, and says so."""
    await set_number(hass, MAXIMUM, 16)
    first = easee_sim.requests_to("POST", SETTINGS_PATH)[0].time
    assert attributes(hass, MAXIMUM)["stored_in_flash"] is True
    assert attributes(hass, MAXIMUM)["next_write_allowed"] == at(first + 3600)
    assert attributes(hass, MAXIMUM)["pending_value"] is None

    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(seconds=30))
    await set_number(hass, MAXIMUM, 20)
    assert bodies(easee_sim, SETTINGS_PATH) == [{"maxChargerCurrent": 16}]
    assert state(hass, MAXIMUM) == "16"  # what the charger has; 20 A waits for the hour
    flash = attributes(hass, MAXIMUM)
    assert (flash["stored_in_flash"], flash["next_write_allowed"], flash["pending_value"]) == (
        True,
        at(first + 3600),
        20,
    )
    assert (state(hass, PENDING), attributes(hass, PENDING)["value"]) == (
        "max_charger_current",
        "20 A",
    )
    assert attributes(hass, PENDING)["queued"] == {"max_charger_current": 20}
    assert attributes(hass, PENDING)["next_write"] == at(first + 3600)

    # Other writes are not held up meanwhile.
    await set_number(hass, DYNAMIC, 10)
    assert bodies(easee_sim, DYNAMIC_PATH) == [{"amps": 10, "minutes": 0}]

    await travel(hass, freezer, timedelta(minutes=49), step=timedelta(seconds=30))
    assert bodies(easee_sim, SETTINGS_PATH) == [{"maxChargerCurrent": 16}]
    assert easee_sim.charger(GARAGE).max_charger_current == 16
    assert state(hass, MAXIMUM) == "16"

    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=5))
    sent = easee_sim.requests_to("POST", SETTINGS_PATH)
    assert [r.body for r in sent] == [{"maxChargerCurrent": 16}, {"maxChargerCurrent": 20}]
    assert sent[1].time - first >= 3600
    assert easee_sim.charger(GARAGE).max_charger_current == 20
    assert attributes(hass, MAXIMUM)["pending_value"] is None
    assert attributes(hass, MAXIMUM)["next_write_allowed"] == at(sent[1].time + 3600)
    assert state(hass, PENDING) == "none"
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, MAXIMUM) == "20"


@pytest.mark.usefixtures("init_easee")
async def test_asking_for_the_flashed_maximum_again_cancels_the_wait(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """16 A written, 20 A waiting for the hour, 16 A asked again: nothing more is written."""
    await set_number(hass, MAXIMUM, 16)
    await travel(hass, freezer, POLL, step=STEP)
    await set_number(hass, MAXIMUM, 20)
    assert attributes(hass, MAXIMUM)["pending_value"] == 20
    await set_number(hass, MAXIMUM, 16)
    assert attributes(hass, MAXIMUM)["pending_value"] is None
    assert state(hass, MAXIMUM) == "16"
    assert state(hass, PENDING) == "none"

    await travel(hass, freezer, timedelta(hours=1, minutes=5), step=timedelta(minutes=1))
    assert bodies(easee_sim, SETTINGS_PATH) == [{"maxChargerCurrent": 16}]
    assert easee_sim.charger(GARAGE).max_charger_current == 16


@pytest.mark.usefixtures("init_easee")
async def test_stop_goes_before_a_higher_current(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """A stop and a higher current waiting together: the stop leaves first."""
    await set_number(hass, DYNAMIC, 10)
    await set_number(hass, DYNAMIC, 20)
    await turn(hass, ENABLED, False)
    assert (state(hass, PENDING), attributes(hass, PENDING)["value"]) == ("enabled", "off")
    assert attributes(hass, PENDING)["queued"] == {"dynamic_charger_current": 20, "enabled": 0}

    await travel(hass, freezer, timedelta(seconds=12), step=timedelta(seconds=1))
    assert writes(easee_sim) == [
        (DYNAMIC_PATH, {"amps": 10, "minutes": 0}),
        (SETTINGS_PATH, {"enabled": False}),
        (DYNAMIC_PATH, {"amps": 20, "minutes": 0}),
    ]
    assert easee_sim.charger(GARAGE).enabled is False
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 20


# Invalid input changes nothing and sends nothing


@pytest.mark.parametrize("entity_id", [DYNAMIC, MAXIMUM, PHASES[0]])
@pytest.mark.usefixtures("init_easee")
async def test_fractional_amps_are_refused(
    hass: HomeAssistant, easee_sim: EaseeSimulator, entity_id: str
) -> None:
    """10.5 A is no value an Easee takes: a clear error, nothing queued or sent."""
    with pytest.raises(ServiceValidationError) as err:
        await set_number(hass, entity_id, 10.5)
    assert err.value.translation_key == "current_not_whole"
    assert err.value.translation_placeholders == {"value": "10.5"}
    assert state(hass, entity_id) == "32"
    assert writes(easee_sim) == []
    assert state(hass, PENDING) == "none"
    assert state(hass, CIRCUIT_PENDING) == "none"


@pytest.mark.usefixtures("init_easee")
async def test_fractional_amps_are_refused_by_the_circuit_action(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """The circuit action takes whole amperes only."""
    with pytest.raises(ServiceValidationError) as err:
        await action(
            hass,
            "set_dynamic_circuit_current",
            {
                ATTR_DEVICE_ID: device_id(hass, "easee_circuit_11"),
                "phase_1": 10,
                "phase_2": 10.5,
                "phase_3": 10,
            },
        )
    assert err.value.translation_key == "current_not_whole"
    assert writes(easee_sim) == []
    assert easee_sim.circuit(11).dynamic_current is None


@pytest.mark.parametrize("device", ["easee_circuit_12", "easee_EH000003"])
@pytest.mark.usefixtures("init_easee")
async def test_circuit_current_above_the_circuit_max_is_refused(
    hass: HomeAssistant, easee_sim: EaseeSimulator, device: str
) -> None:
    """Circuit 12 has a 25 A fuse: 30 A on a phase is refused, by circuit or by charger."""
    with pytest.raises(ServiceValidationError) as err:
        await action(
            hass,
            "set_dynamic_circuit_current",
            {ATTR_DEVICE_ID: device_id(hass, device), "phase_1": 25, "phase_2": 30, "phase_3": 25},
        )
    assert err.value.translation_key == "current_above_circuit_max"
    assert err.value.translation_placeholders == {"limit": "25"}
    assert writes(easee_sim) == []
    assert easee_sim.circuit(12).dynamic_current is None
    assert state(hass, "sensor.home_circuit_2_pending_command") == "none"


@pytest.mark.usefixtures("init_easee")
async def test_circuit_phase_number_stops_at_the_circuit_max(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """The phase numbers of circuit 12 end at its 25 A."""
    entity_id = "number.home_circuit_2_phase_1_limit"
    assert attributes(hass, entity_id)["max"] == 25
    with pytest.raises(ServiceValidationError):
        await set_number(hass, entity_id, 30)
    assert writes(easee_sim) == []


@pytest.mark.usefixtures("init_easee")
async def test_a_charge_plan_that_starts_when_it_stops_is_refused(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """start == stop would be an empty (or a whole-day) window: refused."""
    with pytest.raises(ServiceValidationError) as err:
        await action(
            hass,
            "set_charge_plan",
            {ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"), "start": "22:00", "stop": "22:00"},
        )
    assert err.value.translation_key == "plan_empty"
    assert writes(easee_sim) == []
    assert easee_sim.charger(GARAGE).basic_charge_plan is None


@pytest.mark.usefixtures("init_easee", "init_goe")
async def test_actions_refuse_devices_that_are_not_easee(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """An unknown device, a go-e charger, a circuit where a charger is needed: all refused."""
    goe = device_id(hass, f"goe_{GOE_SERIAL}")
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("clear_charge_plan", {ATTR_DEVICE_ID: "no-such-device"}, "device_not_found"),
        ("clear_charge_plan", {ATTR_DEVICE_ID: goe}, "not_an_easee_charger"),
        (
            "set_charge_plan",
            {ATTR_DEVICE_ID: goe, "start": "22:00", "stop": "06:00"},
            "not_an_easee_charger",
        ),
        (
            "set_charge_plan",
            {
                ATTR_DEVICE_ID: device_id(hass, "easee_circuit_11"),
                "start": "22:00",
                "stop": "06:00",
            },
            "not_an_easee_charger",
        ),
        (
            "set_dynamic_circuit_current",
            {ATTR_DEVICE_ID: goe, "phase_1": 10, "phase_2": 10, "phase_3": 10},
            "not_an_easee_circuit",
        ),
        (
            "set_dynamic_circuit_current",
            {ATTR_DEVICE_ID: "no-such-device", "phase_1": 10, "phase_2": 10, "phase_3": 10},
            "device_not_found",
        ),
    ]
    for service, data, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await action(hass, service, data)
        assert err.value.translation_key == key, (service, data)
    assert writes(easee_sim) == []


@pytest.mark.usefixtures("init_easee")
async def test_pause_when_not_charging_is_refused(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """The Driveway has no car: pausing it makes no sense and sends nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await press(hass, "button.driveway_pause_charging")
    assert err.value.translation_key == "command_not_now"
    assert err.value.translation_placeholders == {
        "command": "pause_charging",
        "status": "disconnected",
    }
    assert writes(easee_sim) == []
    assert state(hass, "sensor.driveway_pending_command") == "none"


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("set_charge_plan", {"start": "22:00", "stop": "06:00", "max_current": 40}),
        ("set_charge_plan", {"start": "22:00", "stop": "06:00", "max_current": 5}),
        ("set_charge_plan", {"start": "25:00", "stop": "06:00"}),
        ("set_charge_plan", {"start": "22:00"}),
        ("set_dynamic_circuit_current", {"phase_1": 10, "phase_2": 10}),
        ("set_dynamic_circuit_current", {"phase_1": -1, "phase_2": 10, "phase_3": 10}),
        (
            "set_dynamic_circuit_current",
            {"phase_1": 10, "phase_2": 10, "phase_3": 10, "time_to_live": 2000},
        ),
    ],
)
@pytest.mark.usefixtures("init_easee")
async def test_schema_errors_send_nothing(
    hass: HomeAssistant, easee_sim: EaseeSimulator, service: str, data: dict[str, Any]
) -> None:
    """Out-of-range or missing fields never reach the cloud."""
    with pytest.raises(vol.Invalid):
        await action(hass, service, {ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"), **data})
    assert writes(easee_sim) == []
    assert easee_sim.charger(GARAGE).basic_charge_plan is None
    assert easee_sim.circuit(11).dynamic_current is None


# Keep dynamic limits


def _reapplied(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.levelno == logging.INFO and text in record.getMessage()
    ]


async def test_keep_dynamic_limits_sets_the_charger_current_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A car plugged in again resets Easee's dynamic current to 32 A; 10 A is set back."""
    await with_options(hass, easee_entry, **{CONF_KEEP_DYNAMIC_LIMITS: True})
    await set_number(hass, DYNAMIC, 10)
    await travel(hass, freezer, POLL, step=STEP)
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}

    easee_sim.disconnect_car(GARAGE)
    easee_sim.connect_car(GARAGE)
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32
    await travel(hass, freezer, POLL, step=STEP)

    assert bodies(easee_sim, DYNAMIC_PATH) == [{"amps": 10, "minutes": 0}] * 2
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 10
    assert len(_reapplied(caplog, "setting it back to 10 A")) == 1
    # The read after it shows the 10 A again.
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, DYNAMIC) == "10"
    assert len(bodies(easee_sim, DYNAMIC_PATH)) == 2


async def test_without_keep_dynamic_limits_the_reset_stays(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """Option off: Easee's reset to 32 A is what the charger keeps, and the number shows it."""
    await set_number(hass, DYNAMIC, 10)
    await travel(hass, freezer, POLL, step=STEP)
    easee_sim.disconnect_car(GARAGE)
    easee_sim.connect_car(GARAGE)
    await travel(hass, freezer, timedelta(minutes=3), step=STEP)

    assert bodies(easee_sim, DYNAMIC_PATH) == [{"amps": 10, "minutes": 0}]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32
    assert state(hass, DYNAMIC) == "32"
    assert _reapplied(caplog, "setting it back") == []


async def test_keep_dynamic_limits_lets_an_expired_time_to_live_go(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The limit was meant to end after 5 minutes: neither that end nor a new car brings it back."""
    await with_options(
        hass, easee_entry, **{CONF_KEEP_DYNAMIC_LIMITS: True, CONF_DYNAMIC_CURRENT_TTL: 5}
    )
    await travel(hass, freezer, timedelta(seconds=20))
    await set_number(hass, DYNAMIC, 10)
    await travel(hass, freezer, timedelta(minutes=6), step=STEP)
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32

    easee_sim.disconnect_car(GARAGE)
    easee_sim.connect_car(GARAGE)
    await travel(hass, freezer, timedelta(minutes=3), step=STEP)

    assert bodies(easee_sim, DYNAMIC_PATH) == [{"amps": 10, "minutes": 5}]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32
    assert state(hass, DYNAMIC) == "32"
    assert _reapplied(caplog, "setting it back") == []


async def test_keep_dynamic_limits_sets_the_circuit_current_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A power loss of the master resets the circuit; 32/20/32 is set back."""
    await with_options(hass, easee_entry, **{CONF_KEEP_DYNAMIC_LIMITS: True})
    await set_number(hass, PHASES[1], 20)
    await travel(hass, freezer, POLL, step=STEP)
    assert attributes(hass, CIRCUIT_PENDING)["awaiting_confirmation"] == {}

    easee_sim.power_loss(GARAGE)
    assert easee_sim.circuit(11).dynamic_current is None
    await travel(hass, freezer, POLL, step=STEP)

    body = {"phase1": 32, "phase2": 20, "phase3": 32, "timeToLive": 0}
    assert bodies(easee_sim, CIRCUIT_11_PATH) == [body, body]
    assert easee_sim.circuit(11).dynamic_current == (32, 20, 32)
    assert len(_reapplied(caplog, "dynamic circuit current was reset")) == 1
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, PHASES[1]) == "20"
    # The charger's own dynamic current was never set here: nothing to keep.
    assert bodies(easee_sim, DYNAMIC_PATH) == []


async def test_without_keep_dynamic_limits_the_circuit_reset_stays(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """Option off: after the power loss the circuit stays at its maximum."""
    await set_number(hass, PHASES[1], 20)
    await travel(hass, freezer, POLL, step=STEP)
    easee_sim.power_loss(GARAGE)
    await travel(hass, freezer, timedelta(minutes=3), step=STEP)

    assert len(bodies(easee_sim, CIRCUIT_11_PATH)) == 1
    assert easee_sim.circuit(11).dynamic_current is None
    assert state(hass, PHASES[1]) == "32"


async def test_keep_dynamic_limits_lets_an_expired_circuit_time_to_live_go(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A circuit current with a 5-minute time to live is not brought back after it ran out."""
    await with_options(hass, easee_entry, **{CONF_KEEP_DYNAMIC_LIMITS: True})
    await travel(hass, freezer, timedelta(seconds=20))
    await action(
        hass,
        "set_dynamic_circuit_current",
        {
            ATTR_DEVICE_ID: device_id(hass, "easee_circuit_11"),
            "phase_1": 20,
            "phase_2": 20,
            "phase_3": 20,
            "time_to_live": 5,
        },
    )
    await travel(hass, freezer, timedelta(minutes=6), step=STEP)
    # Easee fell back to the circuit's offline limit by itself.
    assert easee_sim.circuit(11).dynamic_current == (16, 16, 16)
    easee_sim.power_loss(GARAGE)
    await travel(hass, freezer, timedelta(minutes=3), step=STEP)

    assert len(bodies(easee_sim, CIRCUIT_11_PATH)) == 1
    assert state(hass, PHASES[0]) == "32"
    assert _reapplied(caplog, "setting it back") == []


# The effective current limit


async def _limit_after_a_read(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entity_id: str = LIMIT
) -> tuple[str, str]:
    await travel(hass, freezer, POLL, step=STEP)
    return state(hass, entity_id), attributes(hass, entity_id)["limited_by"]


@pytest.mark.usefixtures("init_easee")
async def test_effective_limit_dynamic_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """8 A dynamic charger current binds."""
    await set_number(hass, DYNAMIC, 8)
    assert await _limit_after_a_read(hass, freezer) == ("8.0", "dynamic_charger")
    assert attributes(hass, LIMIT)["limits"]["dynamic_charger"] == 8


@pytest.mark.usefixtures("init_easee")
async def test_effective_limit_max_charger(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A 10 A maximum with the dynamic current at 32 A binds."""
    await set_number(hass, MAXIMUM, 10)
    assert await _limit_after_a_read(hass, freezer) == ("10.0", "max_charger")
    assert attributes(hass, LIMIT)["limits"]["dynamic_charger"] == 32


@pytest.mark.usefixtures("init_easee")
async def test_effective_limit_leaves_out_an_unset_circuit_limit(hass: HomeAssistant) -> None:
    """Easee's 40 A "not set" reading is no limit: the circuit's own 32 A binds, and is listed."""
    limits = attributes(hass, LIMIT)["limits"]
    assert "dynamic_circuit" not in limits
    assert limits["circuit_max"] == 32
    assert attributes(hass, LIMIT)["limited_by"] == "circuit_max"


@pytest.mark.usefixtures("init_easee")
async def test_effective_limit_dynamic_circuit(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """7 A on every phase of the circuit binds."""
    await action(
        hass,
        "set_dynamic_circuit_current",
        {
            ATTR_DEVICE_ID: device_id(hass, "easee_circuit_11"),
            "phase_1": 7,
            "phase_2": 7,
            "phase_3": 7,
        },
    )
    assert await _limit_after_a_read(hass, freezer) == ("7.0", "dynamic_circuit")


async def test_effective_limit_circuit_max(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The Carport's circuit has a 25 A fuse and nothing else is lower: the circuit max binds."""
    easee_sim.connect_car("EH000003")
    await setup_entry(hass, easee_entry)
    entity_id = "sensor.carport_effective_limit"
    # Easee itself says so.
    assert state(hass, "sensor.carport_no_current_reason") == "limited_by_circuit_max"
    assert await _limit_after_a_read(hass, freezer, entity_id) == ("25.0", "circuit_max")


@pytest.mark.usefixtures("init_easee")
async def test_effective_limit_charge_plan_outside_its_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """At 04:00 a 10:00-14:00 plan allows nothing: 0 A, limited by the plan."""
    await action(
        hass,
        "set_charge_plan",
        {
            ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"),
            "start": "10:00",
            "stop": "14:00",
            "max_current": 16,
        },
    )
    assert await _limit_after_a_read(hass, freezer) == ("0.0", "charge_plan")
    assert easee_sim.charger(GARAGE).output_current == 0


@pytest.mark.usefixtures("init_easee")
async def test_effective_limit_charge_plan_inside_its_window_until_overridden(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """Inside a 12 A window the plan binds; after the override it no longer counts."""
    await action(
        hass,
        "set_charge_plan",
        {
            ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}"),
            "start": "22:00",
            "stop": "06:00",
            "max_current": 12,
        },
    )
    assert await _limit_after_a_read(hass, freezer) == ("12.0", "charge_plan")
    assert easee_sim.charger(GARAGE).output_current == 12

    await press(hass, "button.garage_override_plan")
    assert state(hass, LIMIT) == "32.0"
    assert "charge_plan" not in attributes(hass, LIMIT)["limits"]
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, LIMIT) == "32.0"
    assert "charge_plan" not in attributes(hass, LIMIT)["limits"]
    assert attributes(hass, LIMIT)["limited_by"] != "charge_plan"
    assert easee_sim.charger(GARAGE).output_current == 32


# Errors


@pytest.mark.usefixtures("init_easee")
async def test_a_write_answered_500_is_retried(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """Two 500s, then it goes through: applied on the third attempt."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.inject_fault("http_500", path_contains="set_dynamic_charger_current", count=2)
    await set_number(hass, DYNAMIC, 10)
    assert (state(hass, PENDING), attributes(hass, PENDING)["value"]) == (
        "dynamic_charger_current",
        "10 A",
    )
    assert state(hass, DYNAMIC) == "32"

    await travel(hass, freezer, timedelta(seconds=12), step=timedelta(seconds=1))
    sent = easee_sim.requests_to("POST", DYNAMIC_PATH)
    assert [r.status for r in sent] == [500, 500, 202]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 10
    await travel(hass, freezer, POLL, step=STEP)
    assert [(e.data["result"], e.data["attempt"]) for e in events] == [("applied", 3)]
    assert state(hass, DYNAMIC) == "10"


@pytest.mark.usefixtures("init_easee")
async def test_a_write_that_keeps_failing_is_given_up(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """Three 500s: three attempts, a 'failed' event, and the number shows the charger again."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.inject_fault("http_500", path_contains=f"{GARAGE}/settings", count=10)
    await set_number(hass, MAXIMUM, 16)

    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=1))
    sent = easee_sim.requests_to("POST", SETTINGS_PATH)
    assert [r.status for r in sent] == [500, 500, 500]
    assert [r.body for r in sent] == [{"maxChargerCurrent": 16}] * 3
    assert easee_sim.charger(GARAGE).max_charger_current == 32
    assert [event.data for event in events] == [
        {
            "device_id": device_id(hass, f"easee_{GARAGE}"),
            "parameter": "max_charger_current",
            "requested": 16,
            "result": "failed",
            "actual": None,
            "attempt": 3,
            "will_retry": False,
        }
    ]
    assert_command_results(events)
    assert state(hass, PENDING) == "none"
    assert state(hass, MAXIMUM) == "32"


@pytest.mark.usefixtures("init_easee")
async def test_a_write_refused_with_an_error_code_is_not_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A 403 with an Easee errorCode: a translated refusal, no retry, and no ban of the account."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.inject_fault("permission_403", path_contains="set_dynamic_charger_current")
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, DYNAMIC, 10)
    assert err.value.translation_key == "permission_denied"
    assert err.value.translation_placeholders == {"parameter": "dynamic_charger_current"}
    assert [(e.data["result"], e.data["will_retry"]) for e in events] == [("refused", False)]
    assert_command_results(events)
    assert state(hass, PENDING) == "none"

    reads = len(state_reads(easee_sim, GARAGE))
    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=5))
    assert [r.status for r in easee_sim.requests_to("POST", DYNAMIC_PATH)] == [403]
    assert easee_sim.charger(GARAGE).dynamic_charger_current != 10
    # Not a ban: the charger is read every minute as before, and no repair issue is raised.
    assert len(state_reads(easee_sim, GARAGE)) >= reads + 4
    assert [key for key in issue_registry.issues if key[0] == DOMAIN] == []


# Command answers (issue 13, point 4) and unset circuit limits (point 5)

RESUME_PATH = f"/api/chargers/{GARAGE}/commands/resume_charging"


@pytest.mark.parametrize("form", ["202", "200_empty", "200_accepted"])
async def test_a_resume_is_sent_exactly_once_whatever_the_accepting_form(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    form: str,
) -> None:
    """Each form Easee accepts in is a success: a resume sent again would reset the current."""
    easee_sim.charger(GARAGE).paused = True
    easee_sim.command_answer = form
    await setup_entry(hass, easee_entry)

    await press(hass, "button.garage_resume_charging")
    await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    assert [r.status for r in easee_sim.requests_to("POST", RESUME_PATH)] == [
        202 if form == "202" else 200
    ]
    assert easee_sim.charger(GARAGE).paused is False
    assert state(hass, PENDING) == "none"


@pytest.mark.usefixtures("init_easee")
async def test_a_command_the_charger_refuses_is_reported_not_sent_again(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """wasAccepted false: a 'refused' event, a translated error, and no second try."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.command_answer = "200_refused"
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, DYNAMIC, 10)
    assert err.value.translation_key == "command_refused"
    assert err.value.translation_placeholders == {
        "parameter": "dynamic_charger_current",
        "code": "3",
    }
    assert [(e.data["result"], e.data["will_retry"]) for e in events] == [("refused", False)]
    assert_command_results(events)
    assert state(hass, PENDING) == "none"

    await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    assert [r.status for r in easee_sim.requests_to("POST", DYNAMIC_PATH)] == [200]
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32
    assert state(hass, DYNAMIC) == "32"
    assert len(events) == 1


@pytest.mark.usefixtures("init_easee")
async def test_a_circuit_limit_the_charger_refuses(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """The circuit's writes read the answer the same way."""
    easee_sim.command_answer = "200_refused"
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, PHASES[0], 10)
    assert err.value.translation_key == "command_refused"
    assert [r.status for r in easee_sim.requests_to("POST", CIRCUIT_11_PATH)] == [200]
    assert easee_sim.circuit(11).dynamic_current is None


@pytest.mark.usefixtures("init_easee")
async def test_an_offline_charger_is_unavailable_and_the_write_is_dropped(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """400 ChargerDisconnected: an 'offline' event, a translated error, unavailable until online."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.charger(GARAGE).is_online = False
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, DYNAMIC, 10)
    assert err.value.translation_key == "charger_offline"
    assert err.value.translation_placeholders == {"parameter": "dynamic_charger_current"}
    assert [(e.data["result"], e.data["will_retry"]) for e in events] == [("offline", False)]
    assert_command_results(events)
    assert state(hass, DYNAMIC) == "unavailable"
    assert state(hass, "sensor.garage_status") == "unavailable"
    # Our own queue stays on show.
    assert state(hass, PENDING) == "none"

    # Reads that still show it offline keep it so; nothing is sent again.
    await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    assert [r.status for r in easee_sim.requests_to("POST", DYNAMIC_PATH)] == [400]
    assert state(hass, DYNAMIC) == "unavailable"
    assert len(events) == 1

    # A read that shows it online again brings it back.
    easee_sim.charger(GARAGE).is_online = True
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, DYNAMIC) == "32"
    assert state(hass, "sensor.garage_status") == "charging"
    assert [r.status for r in easee_sim.requests_to("POST", DYNAMIC_PATH)] == [400]


@pytest.mark.usefixtures("init_easee")
async def test_a_circuit_limit_with_its_master_offline(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """The circuit's master is offline: the write is dropped, and the master shows offline."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.charger(GARAGE).is_online = False
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, PHASES[0], 10)
    assert err.value.translation_key == "charger_offline"
    assert [(e.data["result"], e.data["will_retry"]) for e in events] == [("offline", False)]
    assert [r.status for r in easee_sim.requests_to("POST", CIRCUIT_11_PATH)] == [400]
    assert state(hass, DYNAMIC) == "unavailable"
    assert state(hass, "sensor.garage_status") == "unavailable"


async def test_an_unset_circuit_limit_of_a_charge_is_never_copied(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """An Easee Charge reads 80 A with no limit set: the others get the circuit's 32 A."""
    easee_sim.charger(GARAGE).product_code = 100
    await setup_entry(hass, easee_entry)
    assert easee_sim.charger(GARAGE).state()["dynamicCircuitCurrentP1"] == 80
    # Shown as the circuit's max, the limit that holds.
    assert [state(hass, entity_id) for entity_id in PHASES] == ["32", "32", "32"]

    await set_number(hass, PHASES[0], 20)
    assert writes(easee_sim) == [
        (CIRCUIT_11_PATH, {"phase1": 20, "phase2": 32, "phase3": 32, "timeToLive": 0})
    ]
