"""The Easee actions: dynamic circuit currents and charge plans."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ...actions import action_error, device_identifiers, loaded_runtimes
from ...api.easee import EaseeBasicChargePlan
from ...const import DOMAIN, HA_2026_9
from ...entity import whole_amperes
from .coordinator import EaseeChargerCoordinator, EaseeCircuitCoordinator
from .runtime import EaseeRuntime

if TYPE_CHECKING and HA_2026_9:
    # As in config_flow: probatio's types, voluptuous's name at run time.
    import probatio as vol
else:
    import voluptuous as vol

SERVICE_SET_DYNAMIC_CIRCUIT_CURRENT: Final = "set_dynamic_circuit_current"
SERVICE_SET_CHARGE_PLAN: Final = "set_charge_plan"
SERVICE_CLEAR_CHARGE_PLAN: Final = "clear_charge_plan"

ATTR_PHASES: Final = ("phase_1", "phase_2", "phase_3")
ATTR_TIME_TO_LIVE: Final = "time_to_live"
ATTR_START: Final = "start"
ATTR_STOP: Final = "stop"
ATTR_REPEAT: Final = "repeat"
ATTR_MAX_CURRENT: Final = "max_current"

MAX_TTL_MINUTES: Final = 1440
MAX_CIRCUIT_CURRENT: Final = 80
MIN_PLAN_CURRENT: Final = 6
MAX_PLAN_CURRENT: Final = 32

_AMPS = vol.All(vol.Coerce(float), vol.Range(min=0, max=MAX_CIRCUIT_CURRENT))

SET_DYNAMIC_CIRCUIT_CURRENT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required("phase_1"): _AMPS,
        vol.Required("phase_2"): _AMPS,
        vol.Required("phase_3"): _AMPS,
        vol.Optional(ATTR_TIME_TO_LIVE, default=0): vol.All(
            vol.Coerce(int), vol.Range(min=0, max=MAX_TTL_MINUTES)
        ),
    }
)
SET_CHARGE_PLAN_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_START): cv.time,
        vol.Required(ATTR_STOP): cv.time,
        vol.Optional(ATTR_REPEAT, default=True): cv.boolean,
        vol.Optional(ATTR_MAX_CURRENT): vol.All(
            vol.Coerce(float), vol.Range(min=MIN_PLAN_CURRENT, max=MAX_PLAN_CURRENT)
        ),
    }
)
CLEAR_CHARGE_PLAN_SCHEMA: Final = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})


def _charger(hass: HomeAssistant, device_id: str) -> EaseeChargerCoordinator:
    identifiers = device_identifiers(hass, device_id)
    for runtime in loaded_runtimes(hass, EaseeRuntime):
        for charger in runtime.chargers.values():
            if charger.unique_id_prefix in identifiers:
                return charger
    raise action_error("not_an_easee_charger")


def _circuit(hass: HomeAssistant, device_id: str) -> EaseeCircuitCoordinator:
    identifiers = device_identifiers(hass, device_id)
    for runtime in loaded_runtimes(hass, EaseeRuntime):
        for circuit in runtime.circuits.values():
            if circuit.unique_id_prefix in identifiers:
                return circuit
        for charger in runtime.chargers.values():
            # A charger stands for its circuit.
            if (
                charger.unique_id_prefix in identifiers
                and charger.circuit is not None
                and (on := runtime.circuits.get(charger.circuit.id)) is not None
            ):
                return on
    raise action_error("not_an_easee_circuit")


async def _async_set_dynamic_circuit_current(call: ServiceCall) -> None:
    circuit = _circuit(call.hass, call.data[ATTR_DEVICE_ID])
    if circuit.master is None:
        raise action_error("circuit_without_master")
    phases = [whole_amperes(call.data[phase]) for phase in ATTR_PHASES]
    limit = circuit.phase_limit()
    if any(phase > limit for phase in phases):
        raise action_error("current_above_circuit_max", limit=f"{limit:g}")
    await circuit.async_set_phases(
        (phases[0], phases[1], phases[2]), int(call.data[ATTR_TIME_TO_LIVE])
    )


def _window(start: time, stop: time, now: datetime) -> tuple[datetime, datetime]:
    """Return the window running now, else the next one, as UTC instants.

    The clock times are the home's; a stop before the start means the next day. A window
    running now counts: "22:00 to 06:00" asked at 04:00 charges now until 06:00.
    """
    local = dt_util.as_local(now)
    windows = [
        (
            datetime.combine(day, start, local.tzinfo),
            datetime.combine(day + timedelta(days=int(stop <= start)), stop, local.tzinfo),
        )
        for day in (local.date() + timedelta(days=days) for days in (-1, 0, 1))
    ]
    # Tomorrow's window always ends after now.
    begin, end = next(window for window in windows if window[1] > local)
    return dt_util.as_utc(begin), dt_util.as_utc(end)


async def _async_set_charge_plan(call: ServiceCall) -> None:
    charger = _charger(call.hass, call.data[ATTR_DEVICE_ID])
    start: time = call.data[ATTR_START].replace(microsecond=0)
    stop: time = call.data[ATTR_STOP].replace(microsecond=0)
    if start == stop:
        raise action_error("plan_empty")
    begin, end = _window(start, stop, dt_util.utcnow())
    plan = EaseeBasicChargePlan(
        # As easee_hass does: the charger's id names its plan.
        id=charger.charger_id,
        start=begin,
        stop=end,
        # repeat false: the cloud ends the plan after its window.
        repeat=call.data[ATTR_REPEAT],
        enabled=True,
        # Without a maximum, all the charger can give.
        current_limit=call.data.get(ATTR_MAX_CURRENT, MAX_PLAN_CURRENT),
    )
    await charger.async_set_charge_plan(plan)


async def _async_clear_charge_plan(call: ServiceCall) -> None:
    charger = _charger(call.hass, call.data[ATTR_DEVICE_ID])
    await charger.async_set_charge_plan(None)


@callback
def async_register_actions(hass: HomeAssistant) -> None:
    """Register the Easee actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_DYNAMIC_CIRCUIT_CURRENT,
        _async_set_dynamic_circuit_current,
        schema=SET_DYNAMIC_CIRCUIT_CURRENT_SCHEMA,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_CHARGE_PLAN, _async_set_charge_plan, schema=SET_CHARGE_PLAN_SCHEMA
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_CLEAR_CHARGE_PLAN,
        _async_clear_charge_plan,
        schema=CLEAR_CHARGE_PLAN_SCHEMA,
    )
