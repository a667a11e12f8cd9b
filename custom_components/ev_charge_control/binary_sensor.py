"""Binary sensors: built from the vendors' descriptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import HA_2026_10
from .entity import CoordinatorT_contra, EvChargeEntity, EvChargeEntityDescription
from .runtime import EvChargeConfigEntry

if TYPE_CHECKING and HA_2026_10:
    # Defined in .const since Home Assistant 2026.10 (and no longer exported beside the
    # entity); 2026.8 and 2026.9 have it only in the package, where 2026.10 still has it too.
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
else:
    from homeassistant.components.binary_sensor import BinarySensorDeviceClass

__all__ = ["BinarySensorDeviceClass", "EvBinarySensorEntityDescription"]

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvBinarySensorEntityDescription(
    BinarySensorEntityDescription, EvChargeEntityDescription[CoordinatorT_contra]
):
    """A binary sensor: whether it is on, read from the coordinator."""

    is_on_fn: Callable[[CoordinatorT_contra], bool | None]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvChargeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of a config entry."""
    entry.runtime_data.async_register_platform(
        Platform.BINARY_SENSOR, async_add_entities, EvBinarySensor, EvBinarySensorEntityDescription
    )


class EvBinarySensor(EvChargeEntity, BinarySensorEntity):
    """A binary sensor of a charger."""

    entity_description: EvBinarySensorEntityDescription[Any]

    @property
    def is_on(self) -> bool | None:
        """Return whether the binary sensor is on."""
        return self.entity_description.is_on_fn(self.coordinator)
