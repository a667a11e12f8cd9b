"""Sensors: built from the vendors' descriptions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .entity import CoordinatorT_contra, EvChargeEntity, EvChargeEntityDescription
from .runtime import EvChargeConfigEntry
from .writer import QueuedWriter, pending_options

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvSensorEntityDescription(
    SensorEntityDescription, EvChargeEntityDescription[CoordinatorT_contra]
):
    """A sensor: its value (and extra attributes) read from the coordinator."""

    value_fn: Callable[[CoordinatorT_contra], StateType | datetime]
    attributes_fn: Callable[[CoordinatorT_contra], Mapping[str, Any] | None] = lambda _: None


class QueuedCoordinator(Protocol):
    """A coordinator whose writes wait for a vendor's write slot (go-e chargers, ViriCiti groups)."""

    @property
    def writer(self) -> QueuedWriter[Any]:
        """Return the writer that queues the coordinator's commands."""


def queue_sensors(
    parameters: Iterable[str],
) -> tuple[EvSensorEntityDescription[QueuedCoordinator], ...]:
    """Return what shows a vendor's write slot and what waits for it (its ``parameters``)."""
    return (
        EvSensorEntityDescription(
            key="next_command_slot",
            translation_key="next_command_slot",
            device_class=SensorDeviceClass.TIMESTAMP,
            entity_category=EntityCategory.DIAGNOSTIC,
            always_available=True,
            value_fn=lambda coordinator: coordinator.writer.next_command_slot(),
        ),
        EvSensorEntityDescription(
            key="pending_command",
            translation_key="pending_command",
            device_class=SensorDeviceClass.ENUM,
            options=pending_options(parameters),
            entity_category=EntityCategory.DIAGNOSTIC,
            always_available=True,
            value_fn=lambda coordinator: coordinator.writer.pending_command(),
            attributes_fn=lambda coordinator: coordinator.writer.pending_attributes(),
        ),
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvChargeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of a config entry."""
    entry.runtime_data.async_register_platform(
        Platform.SENSOR, async_add_entities, EvSensor, EvSensorEntityDescription
    )


class EvSensor(EvChargeEntity, SensorEntity):
    """A sensor of a charger."""

    entity_description: EvSensorEntityDescription[Any]
    # Long lists (ViriCiti's timeframes) belong in the state, not in every recorded row.
    _unrecorded_attributes = frozenset({"timeframes"})

    @property
    def native_value(self) -> StateType | datetime:
        """Return the sensor's value."""
        return self.entity_description.value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return the sensor's extra attributes."""
        return self.entity_description.attributes_fn(self.coordinator)
