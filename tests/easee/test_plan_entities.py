"""What a user sees of Easee's charge plans and of the time to live of a dynamic limit."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_DEVICE_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.api.easee import (
    EaseeBasicChargePlan,
    EaseeWeeklyChargePlan,
    EaseeWeeklyDay,
    EaseeWeeklyRange,
)
from custom_components.ev_charge_control.vendors.easee.const import (
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_KEEP_DYNAMIC_LIMITS,
)
from custom_components.ev_charge_control.vendors.easee.coordinator import (
    PlanWindow,
    plan_window,
)
from simulators.easee import EaseeSimulator
from tests.conftest import travel
from tests.easee.plans import WEEKLY
from tests.easee.test_writes import (
    DYNAMIC,
    GARAGE,
    PENDING,
    PHASES,
    POLL,
    STEP,
    action,
    attributes,
    device_id,
    set_number,
    state,
    with_options,
)

PLAN = "sensor.garage_charge_plan"
PLAN_START = "sensor.garage_plan_start"
PLAN_END = "sensor.garage_plan_end"
PLAN_CURRENT = "sensor.garage_plan_current"
ENDS = "sensor.garage_dynamic_limit_ends"
CIRCUIT_ENDS = "sensor.home_circuit_1_dynamic_limit_ends"
HALF_MINUTE = timedelta(seconds=30)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def window(hass: HomeAssistant) -> tuple[str, str, str, str]:
    """Return the plan sensors: which plans, window start and end, the window's current."""
    return (
        state(hass, PLAN),
        state(hass, PLAN_START),
        state(hass, PLAN_END),
        state(hass, PLAN_CURRENT),
    )


# The window shown, worked out from the plans alone (the home is US/Pacific in tests).


@pytest.mark.usefixtures("hass")
def test_a_daily_window_rolls_on_to_the_next_day() -> None:
    """22:00-06:00 at home: the window running now, and after it tomorrow night's."""
    daily = EaseeBasicChargePlan(
        1, at("2026-11-20T06:00:00"), at("2026-11-20T14:00:00"), True, True, 16
    )
    assert plan_window(daily, None, at("2026-11-21T12:00:00")) == PlanWindow(
        at("2026-11-21T06:00:00"), at("2026-11-21T14:00:00"), 16, "basic"
    )
    assert plan_window(daily, None, at("2026-11-21T14:00:00")) == PlanWindow(
        at("2026-11-22T06:00:00"), at("2026-11-22T14:00:00"), 16, "basic"
    )


@pytest.mark.usefixtures("hass")
def test_a_one_off_window_until_its_stop_then_none() -> None:
    """A one-off plan shows its window before and in it; after it, nothing comes next."""
    once = EaseeBasicChargePlan(
        1, at("2026-11-21T13:30:00"), at("2026-11-21T15:00:00"), False, True, None
    )
    expected = PlanWindow(at("2026-11-21T13:30:00"), at("2026-11-21T15:00:00"), 32.0, "basic")
    assert plan_window(once, None, at("2026-11-21T12:00:00")) == expected
    assert plan_window(once, None, at("2026-11-21T14:00:00")) == expected
    assert plan_window(once, None, at("2026-11-21T15:00:00")) is None
    # Without a stop: open from its start on; switched off: no window.
    open_end = EaseeBasicChargePlan(1, at("2026-11-21T13:30:00"), None, True, True, 10)
    assert plan_window(open_end, None, at("2026-11-25T00:00:00")) == PlanWindow(
        at("2026-11-21T13:30:00"), None, 10, "basic"
    )
    off = EaseeBasicChargePlan(1, at("2026-11-21T13:30:00"), None, True, False, 10)
    assert plan_window(off, None, at("2026-11-21T12:00:00")) is None


def test_the_weekly_window_over_midnight_and_next_week() -> None:
    """UTC weekdays (0 = Monday): a range running over midnight, then the next week's."""
    week = EaseeWeeklyChargePlan(
        True, (EaseeWeeklyDay(5, (EaseeWeeklyRange(time(22), time(2), 20),)),)
    )
    saturday = PlanWindow(at("2026-11-21T22:00:00"), at("2026-11-22T02:00:00"), 20, "weekly")
    assert plan_window(None, week, at("2026-11-21T12:00:00")) == saturday
    assert plan_window(None, week, at("2026-11-22T01:00:00")) == saturday  # Sunday, still in
    assert plan_window(None, week, at("2026-11-22T02:00:00")) == PlanWindow(
        at("2026-11-28T22:00:00"), at("2026-11-29T02:00:00"), 20, "weekly"
    )
    assert plan_window(None, EaseeWeeklyChargePlan(True, ()), at("2026-11-21T12:00:00")) is None


@pytest.mark.usefixtures("hass")
def test_with_both_plans_the_window_that_starts_first() -> None:
    """The basic window runs now (06:00Z-14:00Z); the weekly one starts at 22:00Z."""
    daily = EaseeBasicChargePlan(
        1, at("2026-11-20T06:00:00"), at("2026-11-20T14:00:00"), True, True, 16
    )
    week = EaseeWeeklyChargePlan(
        True, (EaseeWeeklyDay(5, (EaseeWeeklyRange(time(22), time(2), 20),)),)
    )
    assert plan_window(daily, week, at("2026-11-21T12:00:00")).plan == "basic"  # type: ignore[union-attr]
    assert plan_window(daily, week, at("2026-11-21T15:00:00")).plan == "weekly"  # type: ignore[union-attr]


# End to end


@pytest.mark.usefixtures("init_easee")
async def test_a_plan_set_by_the_action_shows_after_the_read_and_goes_when_cleared(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """The sensors show what the charger's plan is, as read; not what is asked for."""
    assert window(hass) == ("off", STATE_UNKNOWN, STATE_UNKNOWN, STATE_UNKNOWN)
    assert attributes(hass, PLAN)["repeat"] is None
    garage = device_id(hass, f"easee_{GARAGE}")
    # 04:00 at home: tonight's 22:00-06:00 window (06:00Z-14:00Z) is the one running now.
    await action(
        hass,
        "set_charge_plan",
        {ATTR_DEVICE_ID: garage, "start": "22:00", "stop": "06:00", "max_current": 16},
    )
    assert state(hass, PLAN) == "off"  # sent, not read yet
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {"charge_plan": "plan"}

    await travel(hass, freezer, POLL, step=STEP)
    assert window(hass) == (
        "basic",
        "2026-11-21T06:00:00+00:00",
        "2026-11-21T14:00:00+00:00",
        "16.0",
    )
    assert attributes(hass, PLAN)["repeat"] is True
    assert attributes(hass, PLAN)["weekly_days"] is None
    assert attributes(hass, PLAN_CURRENT)["unit_of_measurement"] == "A"

    await action(hass, "clear_charge_plan", {ATTR_DEVICE_ID: garage})
    await travel(hass, freezer, POLL, step=STEP)
    assert window(hass) == ("off", STATE_UNKNOWN, STATE_UNKNOWN, STATE_UNKNOWN)
    assert attributes(hass, PLAN)["repeat"] is None


async def test_a_weekly_plan_from_the_app_shows_its_days(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """Saturday 12:00Z: the 11:00Z-13:00Z range at 10 A runs; every day with ranges is listed."""
    easee_sim.charger(GARAGE).weekly_charge_plan = WEEKLY
    await with_options(hass, easee_entry)
    assert window(hass) == (
        "weekly",
        "2026-11-21T11:00:00+00:00",
        "2026-11-21T13:00:00+00:00",
        "10.0",
    )
    assert attributes(hass, PLAN)["weekly_days"] == [
        {
            "day": "monday",
            "ranges": [{"start": "06:00:00+00:00", "stop": "14:00:00+00:00", "current_limit": 16}],
        },
        {
            "day": "saturday",
            "ranges": [
                {"start": "11:00:00+00:00", "stop": "13:00:00+00:00", "current_limit": 10},
                {"start": "22:00:00+00:00", "stop": "02:00:00+00:00", "current_limit": 20},
            ],
        },
    ]
    assert state(hass, "sensor.driveway_charge_plan") == "off"


async def test_the_time_to_live_of_the_dynamic_charger_current(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Sent with 15 minutes to live: it ends at 12:15Z, and is gone once Easee dropped it."""
    await with_options(hass, easee_entry, **{CONF_DYNAMIC_CURRENT_TTL: 15})
    assert state(hass, ENDS) == STATE_UNKNOWN
    await set_number(hass, DYNAMIC, 10)
    assert state(hass, ENDS) == "2026-11-21T12:15:00+00:00"
    assert attributes(hass, ENDS)["time_to_live"] == 15

    await travel(hass, freezer, timedelta(minutes=14), step=HALF_MINUTE)
    assert state(hass, ENDS) == "2026-11-21T12:15:00+00:00"
    await travel(hass, freezer, timedelta(minutes=2), step=HALF_MINUTE)
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 32
    assert state(hass, ENDS) == STATE_UNKNOWN
    assert "time_to_live" not in attributes(hass, ENDS)


async def test_a_dynamic_current_without_time_to_live_has_no_end(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_entry: MockConfigEntry
) -> None:
    """Without a time to live the limit holds until reset: no end is shown."""
    await with_options(hass, easee_entry)
    await set_number(hass, DYNAMIC, 10)
    assert state(hass, ENDS) == STATE_UNKNOWN
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, DYNAMIC) == "10"
    assert state(hass, ENDS) == STATE_UNKNOWN


async def test_the_end_goes_when_a_car_resets_the_limit_early(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A car plugged in again resets the dynamic current: its end is no longer shown."""
    await with_options(hass, easee_entry, **{CONF_DYNAMIC_CURRENT_TTL: 60})
    await set_number(hass, DYNAMIC, 10)
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, ENDS) == "2026-11-21T13:00:00+00:00"

    easee_sim.disconnect_car(GARAGE)
    easee_sim.connect_car(GARAGE)
    await travel(hass, freezer, POLL, step=STEP)
    assert state(hass, DYNAMIC) == "32"
    assert state(hass, ENDS) == STATE_UNKNOWN


async def test_a_kept_limit_set_back_ends_a_time_to_live_after_it_went_out(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Easee counts the time to live from each write: the one that set it back, too."""
    await with_options(
        hass, easee_entry, **{CONF_KEEP_DYNAMIC_LIMITS: True, CONF_DYNAMIC_CURRENT_TTL: 60}
    )
    await set_number(hass, DYNAMIC, 10)
    await travel(hass, freezer, timedelta(minutes=10), step=STEP)
    easee_sim.disconnect_car(GARAGE)
    easee_sim.connect_car(GARAGE)
    # One read sees the reset and sets 10 A back, the next shows it.
    await travel(hass, freezer, POLL * 2, step=STEP)
    assert state(hass, DYNAMIC) == "10"
    ends = datetime.fromisoformat(state(hass, ENDS))
    assert at("2026-11-21T13:10:00") < ends <= at("2026-11-21T13:12:00")


@pytest.mark.usefixtures("init_easee")
async def test_the_time_to_live_of_the_dynamic_circuit_current(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The action's 30 minutes show on the circuit; after them Easee falls back, the end goes."""
    assert state(hass, CIRCUIT_ENDS) == STATE_UNKNOWN
    await action(
        hass,
        "set_dynamic_circuit_current",
        {
            ATTR_DEVICE_ID: device_id(hass, "easee_circuit_11"),
            "phase_1": 20,
            "phase_2": 20,
            "phase_3": 20,
            "time_to_live": 30,
        },
    )
    assert state(hass, CIRCUIT_ENDS) == "2026-11-21T12:30:00+00:00"
    assert attributes(hass, CIRCUIT_ENDS)["time_to_live"] == 30
    assert state(hass, ENDS) == STATE_UNKNOWN  # the charger's own limit has none

    await travel(hass, freezer, timedelta(minutes=31), step=HALF_MINUTE)
    assert easee_sim.circuit(11).dynamic_current == (16, 16, 16)
    assert [state(hass, entity_id) for entity_id in PHASES] == ["16", "16", "16"]
    assert state(hass, CIRCUIT_ENDS) == STATE_UNKNOWN
