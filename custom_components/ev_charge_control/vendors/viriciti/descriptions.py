"""ViriCiti entities: the group's sensors and the external-limit number."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
import datetime as dt
from typing import Any, Final

from homeassistant.components.number import NumberDeviceClass, NumberMode
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import UnitOfPower
from homeassistant.exceptions import (
    ServiceValidationError,
)
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from ...api.viriciti import (
    LIMIT_SOURCES,
    ViricitiGroup,
    ViricitiGroupLimit,
)
from ...api.viriciti_schedule import ScheduleNow
from ...const import DOMAIN
from ...number import EvNumberEntityDescription
from ...sensor import EvSensorEntityDescription, queue_sensors
from .coordinator import (
    MAX_GROUP_LIMIT,
    PARAMETER_LIMIT,
    ViricitiGroupCoordinator,
    ViricitiLimitCoordinator,
    ViricitiStationCoordinator,
)


def _group(fn: Callable[[ViricitiGroup], Any]) -> Callable[[ViricitiGroupCoordinator], Any]:
    def read(coordinator: ViricitiGroupCoordinator) -> Any:
        return fn(coordinator.data) if coordinator.data else None

    return read


def _limits(
    fn: Callable[[ViricitiGroupLimit], Any],
) -> Callable[[ViricitiLimitCoordinator], Any]:
    def read(coordinator: ViricitiLimitCoordinator) -> Any:
        return fn(coordinator.data) if coordinator.data else None

    return read


def _schedule(fn: Callable[[ScheduleNow], Any]) -> Callable[[ViricitiGroupCoordinator], Any]:
    def read(coordinator: ViricitiGroupCoordinator) -> Any:
        return fn(coordinator.now) if coordinator.data and coordinator.now else None

    return read


def _kw_sensor[C](
    key: str,
    value_fn: Callable[[C], StateType | dt.datetime],
    *,
    state_class: SensorStateClass | None = None,
    attributes_fn: Callable[[C], Mapping[str, Any] | None] = lambda _: None,
) -> EvSensorEntityDescription[C]:
    return EvSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=0,
        state_class=state_class,
        value_fn=value_fn,
        attributes_fn=attributes_fn,
    )


GROUP_SENSORS: Final[tuple[EvSensorEntityDescription[ViricitiGroupCoordinator], ...]] = (
    _kw_sensor("group_limit", value_fn=_group(lambda g: g.group_limit)),
    _kw_sensor(
        "scheduled_limit",
        value_fn=_schedule(lambda now: now.limit),
        attributes_fn=lambda coordinator: {
            "timeframe": coordinator.now.timeframe.name
            if coordinator.now and coordinator.now.timeframe
            else None,
            "timeframes": coordinator.timeframes(),
        },
    ),
    EvSensorEntityDescription(
        key="next_limit_change",
        translation_key="next_limit_change",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_schedule(lambda now: now.next_change),
        attributes_fn=lambda coordinator: {
            "next_limit": coordinator.now.next_limit if coordinator.now else None
        },
    ),
)

LIMIT_SENSORS: Final[tuple[EvSensorEntityDescription[ViricitiLimitCoordinator], ...]] = (
    _kw_sensor(
        "active_limit",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=_limits(lambda limits: limits.active_limit),
    ),
    EvSensorEntityDescription(
        key="active_limit_source",
        translation_key="active_limit_source",
        device_class=SensorDeviceClass.ENUM,
        options=list(LIMIT_SOURCES),
        value_fn=_limits(lambda limits: limits.active if limits.active in LIMIT_SOURCES else None),
    ),
    _kw_sensor(
        "external_limit",
        value_fn=_limits(lambda limits: limits.external.limit if limits.external else None),
    ),
    EvSensorEntityDescription(
        key="external_limit_end",
        translation_key="external_limit_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_limits(lambda limits: limits.external.end if limits.external else None),
    ),
    # The limit that waits for its slot sits beside the number, which shows the one in
    # force: not a diagnostic here.
    *(
        replace(description, entity_category=None)
        if description.key == "pending_command"
        else description
        for description in queue_sensors((PARAMETER_LIMIT,))
    ),
)


def positive_kw(value: float) -> int:
    """Return a limit as whole kW; raise a translated error unless a positive integer."""
    if not float(value).is_integer() or not 0 < value <= MAX_GROUP_LIMIT:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="group_limit_invalid",
            translation_placeholders={"value": f"{value:g}"},
        )
    return int(value)


async def _async_set_external(coordinator: ViricitiLimitCoordinator, value: float) -> None:
    end = dt_util.utcnow() + coordinator.default_duration
    await coordinator.async_request_limit(positive_kw(value), end)


LIMIT_NUMBERS: Final[tuple[EvNumberEntityDescription[ViricitiLimitCoordinator], ...]] = (
    EvNumberEntityDescription(
        key="external_group_limit",
        translation_key="external_group_limit",
        device_class=NumberDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        native_min_value=1,
        native_max_value=MAX_GROUP_LIMIT,
        native_step=1,
        mode=NumberMode.BOX,
        value_fn=lambda coordinator: (
            None if (request := coordinator.in_force()) is None else request.limit
        ),
        set_fn=_async_set_external,
        attributes_fn=lambda coordinator: {
            "end_time": None
            if (request := coordinator.in_force()) is None
            else dt_util.utc_from_timestamp(request.end).isoformat(),
            "duration_minutes": round(coordinator.default_duration.total_seconds() / 60),
        },
    ),
)


def power_limit_description(
    position: int,
) -> EvSensorEntityDescription[ViricitiStationCoordinator]:
    """Return the sensor of one connector position of a charge station."""
    return EvSensorEntityDescription(
        key=f"power_limit_{position}",
        translation_key="power_limit",
        translation_placeholders={"position": str(position)},
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=1,
        value_fn=lambda coordinator: (coordinator.data or {}).get(position),
    )
