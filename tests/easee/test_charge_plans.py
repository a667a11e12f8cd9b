"""Easee charge plans: the basic and the weekly plan as the cloud keeps them, end to end."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_charge_control.api.easee import (
    EaseeBasicChargePlan,
    EaseeWeeklyChargePlan,
    EaseeWeeklyDay,
    EaseeWeeklyRange,
)
from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT
from custom_components.ev_charge_control.vendors.easee.coordinator import plan_limit
from simulators.easee import EaseeSimulator
from tests.conftest import setup_entry, travel
from tests.easee.conftest import USER_ID
from tests.easee.plans import BASIC_DAILY, BASIC_ONE_OFF, WEEKLY
from tests.easee.test_writes import (
    GARAGE,
    LIMIT,
    PENDING,
    PLAN_PATH,
    POLL,
    STEP,
    WEEKLY_PATH,
    action,
    attributes,
    device_id,
    state,
    writes,
)

MINUTE = timedelta(minutes=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def limit(hass: HomeAssistant) -> tuple[str, str]:
    return state(hass, LIMIT), attributes(hass, LIMIT)["limited_by"]


# What a plan allows, worked out from the plans alone (the home is US/Pacific in tests).

DAILY = EaseeBasicChargePlan(
    id=1,
    # Set in summer as 22:00-06:00 at home (PDT, UTC-7).
    start=at("2026-07-01T05:00:00"),
    stop=at("2026-07-01T13:00:00"),
    repeat=True,
    enabled=True,
    current_limit=16,
)
WEEK = EaseeWeeklyChargePlan(
    enabled=True,
    days=(
        # Saturday 22:00Z to Sunday 02:00Z; Sunday has no window.
        EaseeWeeklyDay(5, (EaseeWeeklyRange(time(22), time(2), 20),)),
        EaseeWeeklyDay(6, ()),
    ),
)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # In November (PST, UTC-8) the window is still 22:00-06:00 at home: 06:00Z-14:00Z.
        ("2026-11-21T05:30:00", 0.0),  # 21:30 at home, though 05:30Z was inside in July
        ("2026-11-21T06:00:00", 16.0),
        ("2026-11-21T13:59:00", 16.0),
        ("2026-11-21T14:00:00", 0.0),
    ],
)
@pytest.mark.usefixtures("hass")
def test_a_daily_plan_keeps_its_clock_time_at_home(now: str, expected: float) -> None:
    """A repeating basic plan repeats the home's clock times, across a DST change."""
    assert plan_limit(DAILY, None, at(now)) == expected


@pytest.mark.usefixtures("hass")
def test_a_one_off_plan_only_in_its_window() -> None:
    """Before its window it holds the car back, in it it allows its current, after it nothing."""
    plan = EaseeBasicChargePlan(
        1, at("2026-11-21T13:30:00"), at("2026-11-21T15:00:00"), False, True, 10
    )
    assert plan_limit(plan, None, at("2026-11-21T13:29:00")) == 0.0
    assert plan_limit(plan, None, at("2026-11-21T13:30:00")) == 10.0
    assert plan_limit(plan, None, at("2026-11-21T15:00:00")) is None
    assert plan_limit(plan, None, at("2026-11-22T14:00:00")) is None  # not the next day
    # Without a stop it allows its current from its start on; switched off it holds nothing.
    open_end = EaseeBasicChargePlan(1, at("2026-11-21T13:30:00"), None, True, True, None)
    assert plan_limit(open_end, None, at("2026-11-21T13:00:00")) == 0.0
    assert plan_limit(open_end, None, at("2026-11-25T13:00:00")) == 32.0
    off = EaseeBasicChargePlan(1, at("2026-11-21T13:30:00"), None, True, False, None)
    assert plan_limit(off, None, at("2026-11-21T13:00:00")) is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-21T21:59:00", 0.0),  # Saturday
        ("2026-11-21T22:00:00", 20.0),
        ("2026-11-22T01:59:00", 20.0),  # Sunday, over midnight
        ("2026-11-22T02:00:00", 0.0),
        ("2026-11-23T01:00:00", 0.0),  # Monday: Sunday had no window
        ("2026-11-28T23:00:00", 20.0),  # the next Saturday
    ],
)
def test_a_weekly_plan_by_utc_weekday(now: str, expected: float) -> None:
    """Weekly ranges are UTC clock times of UTC weekdays (0 = Monday), over midnight too."""
    assert plan_limit(None, WEEK, at(now)) == expected


@pytest.mark.usefixtures("hass")
def test_with_both_plans_the_lower_wins() -> None:
    """Both plans on: the lower of the two, as with every Easee limit; none on: None."""
    morning = EaseeWeeklyChargePlan(
        True, (EaseeWeeklyDay(5, (EaseeWeeklyRange(time(6), time(10), 20),)),)
    )
    assert plan_limit(DAILY, morning, at("2026-11-21T07:00:00")) == 16.0  # weekly 20
    assert plan_limit(DAILY, morning, at("2026-11-21T11:00:00")) == 0.0  # daily 16
    assert plan_limit(DAILY, WEEK, at("2026-11-21T15:00:00")) == 0.0  # both outside
    week_off = EaseeWeeklyChargePlan(False, WEEK.days)
    assert plan_limit(None, week_off, at("2026-11-21T22:30:00")) is None


# End to end: plans set in the Easee app (the simulator), read every 15 minutes.


async def test_effective_limit_under_a_daily_plan_from_the_app(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """12:00Z is inside the app's 06:00Z-14:00Z window at 16 A; after 14:00Z it allows nothing."""
    easee_sim.charger(GARAGE).basic_charge_plan = BASIC_DAILY
    await setup_entry(hass, easee_entry)
    assert limit(hass) == ("16.0", "charge_plan")
    assert easee_sim.charger(GARAGE).output_current == 16

    await travel(hass, freezer, timedelta(hours=2, minutes=2), step=MINUTE)
    assert limit(hass) == ("0.0", "charge_plan")
    assert state(hass, "sensor.garage_limit_reason") == "waiting_for_schedule"


@pytest.mark.day_long
async def test_effective_limit_of_a_one_off_plan_before_in_and_after(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A one-off 13:30Z-15:00Z plan: 0 A before, 10 A in its window, no limit after."""
    easee_sim.charger(GARAGE).basic_charge_plan = BASIC_ONE_OFF
    await setup_entry(hass, easee_entry)
    assert limit(hass) == ("0.0", "charge_plan")

    await travel(hass, freezer, timedelta(hours=1, minutes=32), step=MINUTE)
    assert limit(hass) == ("10.0", "charge_plan")
    assert easee_sim.charger(GARAGE).output_current == 10

    await travel(hass, freezer, timedelta(hours=1, minutes=30), step=MINUTE)
    assert "charge_plan" not in attributes(hass, LIMIT)["limits"]
    assert easee_sim.charger(GARAGE).output_current == 32


async def test_effective_limit_under_a_weekly_plan_from_the_app(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Saturday 12:00Z is in the weekly 11:00Z-13:00Z range at 10 A; after it, nothing."""
    easee_sim.charger(GARAGE).weekly_charge_plan = WEEKLY
    await setup_entry(hass, easee_entry)
    assert limit(hass) == ("10.0", "charge_plan")
    assert easee_sim.charger(GARAGE).output_current == 10

    await travel(hass, freezer, timedelta(hours=1, minutes=2), step=MINUTE)
    assert limit(hass) == ("0.0", "charge_plan")
    assert easee_sim.charger(GARAGE).output_current == 0


async def test_clear_turns_off_the_plans_set_in_the_app(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Both plans are read again, posted back switched off (kept, not deleted), then confirmed."""
    charger = easee_sim.charger(GARAGE)
    charger.basic_charge_plan = BASIC_DAILY
    charger.weekly_charge_plan = WEEKLY
    await setup_entry(hass, easee_entry)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)

    await action(hass, "clear_charge_plan", {ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}")})
    assert writes(easee_sim) == [
        (PLAN_PATH, {**BASIC_DAILY, "isEnabled": False}),
        (WEEKLY_PATH, {**WEEKLY, "isEnabled": False}),
    ]
    assert charger.output_current == 32
    await travel(hass, freezer, POLL, step=STEP)
    assert [(e.data["parameter"], e.data["result"]) for e in events] == [("charge_plan", "applied")]
    assert "charge_plan" not in attributes(hass, LIMIT)["limits"]


async def test_clear_is_not_applied_while_a_plan_still_runs(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A weekly plan switched on again before the next read: not 'applied', sent once more."""
    charger = easee_sim.charger(GARAGE)
    charger.weekly_charge_plan = WEEKLY
    await setup_entry(hass, easee_entry)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)

    await action(hass, "clear_charge_plan", {ATTR_DEVICE_ID: device_id(hass, f"easee_{GARAGE}")})
    assert writes(easee_sim) == [(WEEKLY_PATH, {**WEEKLY, "isEnabled": False})]
    charger.weekly_charge_plan = WEEKLY  # someone switches it on again in the app
    await travel(hass, freezer, POLL, step=STEP)
    results = [(e.data["parameter"], e.data["result"], e.data["will_retry"]) for e in events]
    assert results == [("charge_plan", "failed", True)]
    assert limit(hass) == ("10.0", "charge_plan")

    await travel(hass, freezer, POLL, step=STEP)
    assert writes(easee_sim)[1:] == [(WEEKLY_PATH, {**WEEKLY, "isEnabled": False})]
    assert charger.weekly_charge_plan == {**WEEKLY, "isEnabled": False}


async def test_old_saved_plan_data_still_loads(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """one_off_plans of an older version is ignored; its daily-schedule request is dropped."""
    old_request = '{"enabled":true,"periods":[],"timezone":"UTC"}'
    hass_storage[f"{DOMAIN}.easee_{USER_ID}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.easee_{USER_ID}",
        "data": {
            "one_off_plans": {f"easee_{GARAGE}": 1.0},
            "queues": {
                f"easee_{GARAGE}": {
                    "last_sent": None,
                    "pending": [
                        {"parameter": "charge_plan", "value": old_request, "requested_at": 1.0}
                    ],
                    "awaiting": [],
                }
            },
        },
    }
    await setup_entry(hass, easee_entry)
    assert state(hass, PENDING) == "none"
    assert writes(easee_sim) == []


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
async def test_diagnostics_show_both_plans(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The dump shows the basic and the weekly plan as read; a charger without plans, none."""
    easee_sim.charger(GARAGE).basic_charge_plan = BASIC_ONE_OFF  # its id is the serial
    easee_sim.charger(GARAGE).weekly_charge_plan = WEEKLY
    await setup_entry(hass, easee_entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, easee_entry)
    chargers = {c["charger"]["name"]: c for c in diagnostics["runtime"]["chargers"]}
    plans = chargers["Garage"]["plan"]
    # In Easee's shape, the times in UTC; the serial the plan is named by is hidden.
    assert plans["basic"] == {
        "id": "**REDACTED**",
        "chargeStartTime": "2026-11-21T13:30:00Z",
        "chargeStopTime": "2026-11-21T15:00:00Z",
        "repeat": False,
        "isEnabled": True,
        "chargingCurrentLimit": 10.0,
    }
    assert plans["weekly"] == WEEKLY
    assert chargers["Driveway"]["plan"] == {"basic": None, "weekly": None}
