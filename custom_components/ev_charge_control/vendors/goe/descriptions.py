"""go-e entities: what each sensor, number and switch reads and writes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from homeassistant.components.number import NumberDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    EntityCategory,
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.util import dt as dt_util

from ...api.goe import CAR_STATES, MIN_CURRENT, GoeStatus
from ...binary_sensor import BinarySensorDeviceClass, EvBinarySensorEntityDescription
from ...entity import EvChargeEntityDescription, whole_amperes
from ...number import EvNumberEntityDescription
from ...sensor import EvSensorEntityDescription, queue_sensors
from ...switch import EvSwitchEntityDescription
from .budget import PARAMETER_ALLOW, PARAMETER_CURRENT
from .coordinator import MAX_CURRENT_FALLBACK, GoeCoordinator


async def _async_set_current(coordinator: GoeCoordinator, value: float) -> None:
    await coordinator.async_set(PARAMETER_CURRENT, whole_amperes(value))


async def _async_set_allow(coordinator: GoeCoordinator, on: bool) -> None:
    await coordinator.async_set(PARAMETER_ALLOW, int(on))


def _status(fn: Callable[[GoeStatus], Any]) -> Callable[[GoeCoordinator], Any]:
    """Read a value of the newest status (None before the first one)."""

    def read(coordinator: GoeCoordinator) -> Any:
        return fn(coordinator.data.status) if coordinator.data else None

    return read


def _power(status: GoeStatus) -> float | None:
    pairs = [
        (volt, amp)
        for volt, amp in zip(status.voltages, status.currents, strict=True)
        if volt is not None and amp is not None
    ]
    if not pairs:
        return None
    return round(sum(volt * amp for volt, amp in pairs))


def _next_planned_charge(coordinator: GoeCoordinator) -> datetime | None:
    data = coordinator.data
    if data is None or not data.status.next_charge_seconds_left:
        return None
    return dt_util.utc_from_timestamp(round(data.data_time + data.status.next_charge_seconds_left))


def _planned_duration(coordinator: GoeCoordinator) -> int | None:
    # go-e reports a duration of 0 while nothing is planned: unknown, beside no planned start.
    if _next_planned_charge(coordinator) is None:
        return None
    return coordinator.data.status.next_charge_duration if coordinator.data else None


def _car_state(status: GoeStatus) -> str | None:
    return status.car_state if status.car_state in CAR_STATES else None


def _phase_sensors(kind: str, index: int) -> EvSensorEntityDescription[GoeCoordinator]:
    # Per-phase readings are diagnostics, off until the user turns them on (as in Home
    # Assistant's own charger integrations): power tells most, and each entity costs memory
    # and state writes on every charger.
    if kind == "current":
        return EvSensorEntityDescription(
            key=f"current_phase_{index}",
            translation_key=f"current_phase_{index}",
            entity_category=EntityCategory.DIAGNOSTIC,
            entity_registry_enabled_default=False,
            device_class=SensorDeviceClass.CURRENT,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
            suggested_display_precision=1,
            value_fn=_status(lambda s: s.currents[index - 1]),
        )
    return EvSensorEntityDescription(
        key=f"voltage_phase_{index}",
        translation_key=f"voltage_phase_{index}",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        value_fn=_status(lambda s: s.voltages[index - 1]),
    )


SENSORS: Final[tuple[EvSensorEntityDescription[GoeCoordinator], ...]] = (
    EvSensorEntityDescription(
        key="car_state",
        translation_key="car_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(CAR_STATES),
        value_fn=_status(_car_state),
    ),
    EvSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_status(_power),
    ),
    EvSensorEntityDescription(
        key="energy_total",
        translation_key="energy_total",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=1,
        value_fn=lambda coordinator: coordinator.energy_total,
    ),
    *(_phase_sensors("current", index) for index in (1, 2, 3)),
    *(_phase_sensors("voltage", index) for index in (1, 2, 3)),
    EvSensorEntityDescription(
        key="max_allowed_current",
        translation_key="max_allowed_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=0,
        # The charging current number's upper bound (its max attribute) shows it already.
        entity_registry_enabled_default=False,
        value_fn=_status(lambda s: s.max_allowed_current),
    ),
    EvSensorEntityDescription(
        key="phases_available",
        translation_key="phases_available",
        # The installation's phases: they do not change, a diagnostic to turn on when wanted.
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_status(lambda s: s.phase_count),
    ),
    EvSensorEntityDescription(
        key="phases_charging",
        translation_key="phases_charging",
        state_class=SensorStateClass.MEASUREMENT,
        # Off by default, as are the planned duration and the command slot: Home Assistant
        # takes at most 10,000 enabled entities per entry (ENABLED_PER_CHARGER below).
        entity_registry_enabled_default=False,
        value_fn=_status(lambda s: s.phase_charging),
    ),
    EvSensorEntityDescription(
        key="next_planned_charge",
        translation_key="next_planned_charge",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_planned_charge,
    ),
    EvSensorEntityDescription(
        key="planned_charge_duration",
        translation_key="planned_charge_duration",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        value_fn=_planned_duration,
    ),
    EvSensorEntityDescription(
        key="data_age",
        translation_key="data_age",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        # New with every read: off by default, so a fleet does not write (and record) it
        # for every charger every 15 minutes; "Data live" tells whether the data is current.
        entity_registry_enabled_default=False,
        value_fn=_status(lambda s: s.data_age_seconds),
    ),
    # The command that waits for go-e's slot sits beside the controls, which show what the
    # charger has: not a diagnostic here.
    # The command slot is off by default: the Pending command's attributes say when the next
    # command goes out.
    *(
        replace(description, entity_category=None)
        if description.key == "pending_command"
        else replace(description, entity_registry_enabled_default=False)
        for description in queue_sensors((PARAMETER_CURRENT, PARAMETER_ALLOW))
    ),
)

BINARY_SENSORS: Final[tuple[EvBinarySensorEntityDescription[GoeCoordinator], ...]] = (
    EvBinarySensorEntityDescription(
        key="error",
        translation_key="error",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=_status(lambda s: s.error_state),
    ),
    EvBinarySensorEntityDescription(
        key="data_live",
        translation_key="data_live",
        # go-e's data is live while the charger talks to its cloud.
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        is_on_fn=_status(lambda s: s.data_is_live),
    ),
)

NUMBERS: Final[tuple[EvNumberEntityDescription[GoeCoordinator], ...]] = (
    EvNumberEntityDescription(
        key="charging_current",
        translation_key="charging_current",
        device_class=NumberDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        native_min_value=MIN_CURRENT,
        native_max_value=MAX_CURRENT_FALLBACK,
        native_step=1,
        value_fn=lambda coordinator: coordinator.shown(PARAMETER_CURRENT),
        max_value_fn=lambda coordinator: (
            (coordinator.data and coordinator.data.status.max_allowed_current)
            or MAX_CURRENT_FALLBACK
        ),
        set_fn=_async_set_current,
    ),
)

SWITCHES: Final[tuple[EvSwitchEntityDescription[GoeCoordinator], ...]] = (
    EvSwitchEntityDescription(
        key="charging_allowed",
        translation_key="charging_allowed",
        is_on_fn=lambda coordinator: (
            None if (value := coordinator.shown(PARAMETER_ALLOW)) is None else bool(value)
        ),
        set_fn=_async_set_allow,
    ),
)

DESCRIPTIONS: Final[Mapping[Platform, tuple[EvChargeEntityDescription[GoeCoordinator], ...]]] = {
    Platform.BINARY_SENSOR: BINARY_SENSORS,
    Platform.NUMBER: NUMBERS,
    Platform.SENSOR: SENSORS,
    Platform.SWITCH: SWITCHES,
}

# The entities a charger has enabled when it is added. Home Assistant adds at most 10,000
# enabled entities to one config entry (entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY;
# only protocol integrations such as zha are exempt) and refuses the rest with a warning: a
# go-e entry holds at most 10,000 // ENABLED_PER_CHARGER chargers (1,111 at 9), and the
# forms that add chargers refuse those beyond.
ENABLED_PER_CHARGER: Final = sum(
    description.entity_registry_enabled_default
    for descriptions in DESCRIPTIONS.values()
    for description in descriptions
)
