"""The entities of Easee chargers and circuits, declared."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any, Final

from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.exceptions import ServiceValidationError

from ...api.easee import OP_MODES, EaseeChargerState, EaseeCircuitSettings, EaseeWeeklyDay
from ...binary_sensor import BinarySensorDeviceClass, EvBinarySensorEntityDescription
from ...button import EvButtonEntityDescription
from ...const import DOMAIN
from ...entity import EvChargeEntityDescription, whole_amperes
from ...number import EvNumberEntityDescription
from ...sensor import EvSensorEntityDescription
from ...switch import EvSwitchEntityDescription
from ...writer import pending_options
from .coordinator import (
    CHARGING,
    DISCONNECTED,
    MAX_CURRENT,
    PARAM_CIRCUIT,
    PARAM_COMMAND,
    PARAM_DYNAMIC,
    PARAM_ENABLED,
    PARAM_MAX,
    PARAM_OVERRIDE,
    PARAM_PLAN,
    PARAM_SMART,
    PLAN_STATES,
    EaseeChargerCoordinator,
    EaseeCircuitCoordinator,
    PlanWindow,
)

MIN_CHARGING_CURRENT: Final = 6

# reasonForNoCurrent: Easee's enumeration, every code of it. A code Easee adds later shows as
# "unlisted" with its number in the "code" attribute, never as a reason it does not mean.
REASONS: Final[Mapping[int, str]] = {
    0: "no_reason",
    1: "circuit_max_too_low",
    2: "dynamic_circuit_too_low",
    3: "offline_fallback_too_low",
    4: "circuit_fuse_too_low",
    5: "waiting_in_queue",
    6: "waiting_in_fully_charged_queue",
    7: "illegal_grid_type",
    8: "no_request_from_secondary",
    9: "primary_lost_communication",
    10: "no_current_from_equalizer",
    11: "wrong_phase_configuration",
    25: "limited_by_circuit_fuse",
    26: "limited_by_circuit_max",
    27: "limited_by_dynamic_circuit",
    28: "limited_by_equalizer",
    29: "limited_by_load_balancing",
    30: "limited_by_offline_settings",
    50: "car_not_charging",
    51: "max_charger_too_low",
    52: "dynamic_charger_too_low",
    53: "charger_disabled",
    54: "waiting_for_schedule",
    55: "waiting_for_authorization",
    56: "charger_error",
    57: "erratic_ev",
    75: "limited_by_cable",
    76: "limited_by_schedule",
    77: "limited_by_max_charger",
    78: "limited_by_dynamic_charger",
    79: "limited_by_car_not_charging",
    80: "limited_by_local_adjustment",
    81: "limited_by_car",
    100: "undefined",
}
REASON_UNLISTED: Final = "unlisted"


def _state(fn: Callable[[EaseeChargerState], Any]) -> Callable[[EaseeChargerCoordinator], Any]:
    """Read a value of the newest state (None before the first one)."""

    def read(coordinator: EaseeChargerCoordinator) -> Any:
        data = coordinator.data
        return fn(data.state) if data is not None and data.state is not None else None

    return read


def _status(state: EaseeChargerState) -> str | None:
    return OP_MODES.get(state.op_mode) if state.op_mode is not None else None


def _reason(state: EaseeChargerState) -> str | None:
    code = state.reason_for_no_current
    if code is None:
        return None
    return REASONS.get(code, REASON_UNLISTED)


def _power(state: EaseeChargerState) -> float | None:
    return None if state.total_power is None else round(state.total_power * 1000)


def _limit_value(coordinator: EaseeChargerCoordinator) -> float | None:
    limit = coordinator.effective_limit()
    return None if limit is None else limit.current


def _limit_attributes(coordinator: EaseeChargerCoordinator) -> Mapping[str, Any] | None:
    limit = coordinator.effective_limit()
    if limit is None:
        return None
    return {"limited_by": limit.limited_by, "limits": dict(limit.limits)}


def _flash_attributes(coordinator: EaseeChargerCoordinator) -> Mapping[str, Any]:
    ready = coordinator.flash_ready_at(PARAM_MAX)
    queued = coordinator.queue.pending.get(PARAM_MAX)
    return {
        "stored_in_flash": True,
        "next_write_allowed": ready.isoformat() if ready else None,
        "pending_value": queued.value if queued else None,
    }


def _switch_value(parameter: str) -> Callable[[EaseeChargerCoordinator], bool | None]:
    def read(coordinator: EaseeChargerCoordinator) -> bool | None:
        value = coordinator.shown(parameter)
        return None if value is None else bool(value)

    return read


def _switch_setter(parameter: str) -> Callable[[EaseeChargerCoordinator, bool], Any]:
    async def write(coordinator: EaseeChargerCoordinator, on: bool) -> None:
        await coordinator.async_write(parameter, int(on))

    return write


def _current(parameter: str) -> Callable[[EaseeChargerCoordinator], float | None]:
    def read(coordinator: EaseeChargerCoordinator) -> float | None:
        value = coordinator.shown(parameter)
        # Currents are stored as int; only the charging plan's value is a str.
        return value if isinstance(value, int) else None

    return read


async def _set_dynamic(coordinator: EaseeChargerCoordinator, value: float) -> None:
    await coordinator.async_set_dynamic_current(whole_amperes(value))


async def _set_max(coordinator: EaseeChargerCoordinator, value: float) -> None:
    await coordinator.async_write(PARAM_MAX, whole_amperes(value))


def _command(
    name: str, parameter: str, allowed: Callable[[int | None], bool]
) -> Callable[[EaseeChargerCoordinator], Any]:
    async def press(coordinator: EaseeChargerCoordinator) -> None:
        data = coordinator.data
        op_mode = data.state.op_mode if data and data.state else None
        if not allowed(op_mode):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="command_not_now",
                translation_placeholders={
                    "command": name,
                    "status": OP_MODES.get(op_mode, "unknown")
                    if op_mode is not None
                    else "unknown",
                },
            )
        await coordinator.async_write(parameter, name)

    return press


def _phase_current(index: int) -> EvSensorEntityDescription[EaseeChargerCoordinator]:
    def read(state: EaseeChargerState) -> float | None:
        return state.in_current[index - 1]

    # A diagnostic, off by default, like go-e's per-phase readings.
    return EvSensorEntityDescription(
        key=f"current_phase_{index}",
        translation_key=f"current_phase_{index}",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=_state(read),
    )


WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekly_day(day: EaseeWeeklyDay) -> dict[str, Any]:
    # Easee keeps the weekly plan in UTC (weekdays and clock times): shown so, with the offset.
    return {
        "day": WEEKDAYS[day.day_of_week] if 0 <= day.day_of_week < 7 else day.day_of_week,
        "ranges": [
            {
                "start": window.start.replace(tzinfo=UTC).isoformat(),
                "stop": window.stop.replace(tzinfo=UTC).isoformat(),
                "current_limit": window.current_limit,
            }
            for window in day.ranges
        ],
    }


def _plan_attributes(coordinator: EaseeChargerCoordinator) -> Mapping[str, Any] | None:
    data = coordinator.data
    if data is None or data.config_at is None:
        return None
    basic, weekly = data.basic_plan, data.weekly_plan
    return {
        "repeat": basic.repeat if basic is not None and basic.enabled else None,
        "weekly_days": (
            [_weekly_day(day) for day in weekly.days if day.ranges]
            if weekly is not None and weekly.enabled
            else None
        ),
    }


def _window(fn: Callable[[PlanWindow], Any]) -> Callable[[EaseeChargerCoordinator], Any]:
    """Read a value of the plans' window running now, else the next one."""

    def read(coordinator: EaseeChargerCoordinator) -> Any:
        window = coordinator.charge_plan_window()
        return None if window is None else fn(window)

    return read


def _dynamic_limit_ends[C: (EaseeChargerCoordinator, EaseeCircuitCoordinator)](
    exists_fn: Callable[[C], bool] = lambda _: True,
) -> EvSensorEntityDescription[C]:
    """When the dynamic limit we set ends (its time to live), on a charger or a circuit."""
    return EvSensorEntityDescription(
        key="dynamic_limit_ends",
        translation_key="dynamic_limit_ends",
        device_class=SensorDeviceClass.TIMESTAMP,
        exists_fn=exists_fn,
        value_fn=lambda coordinator: coordinator.dynamic_limit_ends(),
        attributes_fn=lambda coordinator: (
            {"time_to_live": coordinator.limit_ttl()}
            if coordinator.dynamic_limit_ends() is not None
            else None
        ),
    )


def _car_connected(op_mode: int | None) -> bool:
    return op_mode is not None and op_mode not in (0, DISCONNECTED)


# Chargers and circuits alike: the write that goes out next and when. Not a diagnostic: it
# sits beside the controls, which show what the charger has while a write waits.
PENDING_COMMAND: Final[
    EvSensorEntityDescription[EaseeChargerCoordinator | EaseeCircuitCoordinator]
] = EvSensorEntityDescription(
    key="pending_command",
    translation_key="pending_command",
    device_class=SensorDeviceClass.ENUM,
    options=pending_options(
        (
            PARAM_DYNAMIC,
            PARAM_MAX,
            PARAM_ENABLED,
            PARAM_SMART,
            PARAM_COMMAND,
            PARAM_OVERRIDE,
            PARAM_PLAN,
            PARAM_CIRCUIT,
        )
    ),
    always_available=True,
    value_fn=lambda coordinator: coordinator.pending_command(),
    attributes_fn=lambda coordinator: coordinator.pending_attributes(),
)

CHARGER_SENSORS: Final[tuple[EvSensorEntityDescription[EaseeChargerCoordinator], ...]] = (
    EvSensorEntityDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=list(OP_MODES.values()),
        value_fn=_state(_status),
    ),
    EvSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_state(_power),
    ),
    EvSensorEntityDescription(
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_state(lambda s: s.session_energy),
    ),
    EvSensorEntityDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda coordinator: coordinator.lifetime_energy,
    ),
    EvSensorEntityDescription(
        key="output_current",
        translation_key="output_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=_state(lambda s: s.output_current),
    ),
    *(_phase_current(index) for index in (1, 2, 3)),
    EvSensorEntityDescription(
        key="voltage",
        translation_key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        value_fn=_state(lambda s: s.voltage),
    ),
    EvSensorEntityDescription(
        key="reason_for_no_current",
        translation_key="reason_for_no_current",
        device_class=SensorDeviceClass.ENUM,
        options=[*REASONS.values(), REASON_UNLISTED],
        value_fn=_state(_reason),
        attributes_fn=_state(lambda s: {"code": s.reason_for_no_current}),
    ),
    EvSensorEntityDescription(
        key="effective_current_limit",
        translation_key="effective_current_limit",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=_limit_value,
        attributes_fn=_limit_attributes,
    ),
    EvSensorEntityDescription(
        key="charge_plan",
        translation_key="charge_plan",
        device_class=SensorDeviceClass.ENUM,
        options=list(PLAN_STATES),
        value_fn=lambda coordinator: coordinator.charge_plans(),
        attributes_fn=_plan_attributes,
    ),
    EvSensorEntityDescription(
        key="charge_plan_start",
        translation_key="charge_plan_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_window(lambda window: window.start),
    ),
    EvSensorEntityDescription(
        key="charge_plan_end",
        translation_key="charge_plan_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_window(lambda window: window.stop),
    ),
    EvSensorEntityDescription(
        key="charge_plan_current",
        translation_key="charge_plan_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=_window(lambda window: window.current_limit),
    ),
    _dynamic_limit_ends(),
    PENDING_COMMAND,
)

CHARGER_BINARY_SENSORS: Final[
    tuple[EvBinarySensorEntityDescription[EaseeChargerCoordinator], ...]
] = (
    EvBinarySensorEntityDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=_state(lambda s: s.is_online),
    ),
    EvBinarySensorEntityDescription(
        key="cable_locked",
        translation_key="cable_locked",
        # The lock class's on is unlocked, the opposite of Easee's flag.
        device_class=BinarySensorDeviceClass.LOCK,
        is_on_fn=_state(lambda s: None if s.cable_locked is None else not s.cable_locked),
    ),
    EvBinarySensorEntityDescription(
        key="streaming",
        translation_key="streaming",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        # Off: the account's stream is down (or not for this charger), REST polls instead.
        is_on_fn=lambda coordinator: coordinator.streaming,
    ),
)

CHARGER_NUMBERS: Final[tuple[EvNumberEntityDescription[EaseeChargerCoordinator], ...]] = (
    EvNumberEntityDescription(
        key="dynamic_charger_current",
        translation_key="dynamic_charger_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=0,
        native_max_value=MAX_CURRENT,
        native_step=1,
        mode=NumberMode.SLIDER,
        value_fn=_current("dynamic_charger_current"),
        set_fn=_set_dynamic,
    ),
    EvNumberEntityDescription(
        key="max_charger_current",
        translation_key="max_charger_current",
        device_class=NumberDeviceClass.CURRENT,
        entity_category=EntityCategory.CONFIG,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=MIN_CHARGING_CURRENT,
        native_max_value=MAX_CURRENT,
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=_current(PARAM_MAX),
        set_fn=_set_max,
        attributes_fn=_flash_attributes,
    ),
)

CHARGER_SWITCHES: Final[tuple[EvSwitchEntityDescription[EaseeChargerCoordinator], ...]] = (
    EvSwitchEntityDescription(
        key="charger_enabled",
        translation_key="charger_enabled",
        entity_category=EntityCategory.CONFIG,
        is_on_fn=_switch_value(PARAM_ENABLED),
        set_fn=_switch_setter(PARAM_ENABLED),
    ),
    EvSwitchEntityDescription(
        key="smart_charging",
        translation_key="smart_charging",
        is_on_fn=_switch_value(PARAM_SMART),
        set_fn=_switch_setter(PARAM_SMART),
    ),
)

CHARGER_BUTTONS: Final[tuple[EvButtonEntityDescription[EaseeChargerCoordinator], ...]] = (
    EvButtonEntityDescription(
        key="override_schedule",
        translation_key="override_schedule",
        press_fn=_command("override_schedule", PARAM_OVERRIDE, _car_connected),
    ),
    EvButtonEntityDescription(
        key="start_charging",
        translation_key="start_charging",
        press_fn=_command("start_charging", PARAM_COMMAND, _car_connected),
    ),
    EvButtonEntityDescription(
        key="stop_charging",
        translation_key="stop_charging",
        press_fn=_command("stop_charging", PARAM_COMMAND, _car_connected),
    ),
    EvButtonEntityDescription(
        key="pause_charging",
        translation_key="pause_charging",
        press_fn=_command("pause_charging", PARAM_COMMAND, lambda mode: mode == CHARGING),
    ),
    EvButtonEntityDescription(
        key="resume_charging",
        translation_key="resume_charging",
        press_fn=_command(
            "resume_charging",
            PARAM_COMMAND,
            lambda mode: _car_connected(mode) and mode != CHARGING,
        ),
    ),
)

CHARGER_DESCRIPTIONS: Final[
    Mapping[Platform, tuple[EvChargeEntityDescription[EaseeChargerCoordinator], ...]]
] = {
    Platform.BINARY_SENSOR: CHARGER_BINARY_SENSORS,
    Platform.BUTTON: CHARGER_BUTTONS,
    Platform.NUMBER: CHARGER_NUMBERS,
    Platform.SENSOR: CHARGER_SENSORS,
    Platform.SWITCH: CHARGER_SWITCHES,
}


def _phase_number(index: int) -> EvNumberEntityDescription[EaseeCircuitCoordinator]:
    async def set_phase(coordinator: EaseeCircuitCoordinator, value: float) -> None:
        await coordinator.async_set_phase(index - 1, whole_amperes(value))

    def value(coordinator: EaseeCircuitCoordinator) -> float | None:
        phases = coordinator.shown_phases()
        return None if phases is None else phases[index - 1]

    return EvNumberEntityDescription(
        key=f"dynamic_circuit_current_phase_{index}",
        translation_key=f"dynamic_circuit_current_phase_{index}",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=0,
        native_max_value=MAX_CURRENT,
        native_step=1,
        mode=NumberMode.BOX,
        exists_fn=lambda coordinator: coordinator.master is not None,
        value_fn=value,
        max_value_fn=lambda coordinator: coordinator.phase_limit(),
        set_fn=set_phase,
    )


def _circuit_limit(
    key: str, pick: Callable[[EaseeCircuitSettings], tuple[float | None, ...]]
) -> EvSensorEntityDescription[EaseeCircuitCoordinator]:
    def settings_value(coordinator: EaseeCircuitCoordinator) -> tuple[float | None, ...] | None:
        data = coordinator.data
        return pick(data.settings) if data is not None and data.settings is not None else None

    def value(coordinator: EaseeCircuitCoordinator) -> float | None:
        phases = settings_value(coordinator)
        if phases is None:
            return None
        present = [phase for phase in phases if phase is not None]
        return min(present) if present else None

    def attributes(coordinator: EaseeCircuitCoordinator) -> Mapping[str, Any] | None:
        phases = settings_value(coordinator)
        if phases is None:
            return None
        return {f"phase_{index}": phase for index, phase in enumerate(phases, start=1)}

    return EvSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.CURRENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=value,
        attributes_fn=attributes,
    )


CIRCUIT_DESCRIPTIONS: Final[
    Mapping[Platform, tuple[EvChargeEntityDescription[EaseeCircuitCoordinator], ...]]
] = {
    Platform.NUMBER: tuple(_phase_number(index) for index in (1, 2, 3)),
    Platform.SENSOR: (
        _circuit_limit("circuit_max_current", lambda settings: settings.max_current),
        _circuit_limit(
            "circuit_offline_max_current", lambda settings: settings.offline_max_current
        ),
        _dynamic_limit_ends(lambda coordinator: coordinator.master is not None),
        PENDING_COMMAND,
    ),
}
