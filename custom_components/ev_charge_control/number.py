"""Numbers (current limits): built from the vendors' descriptions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.components.number import NumberEntity, NumberEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import CoordinatorT_contra, EvChargeEntity, EvChargeEntityDescription
from .runtime import EvChargeConfigEntry

# Writes go through each vendor's own queue, which orders and spaces them.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvNumberEntityDescription(
    NumberEntityDescription, EvChargeEntityDescription[CoordinatorT_contra]
):
    """A number: its value, its upper bound and how to set it."""

    value_fn: Callable[[CoordinatorT_contra], float | None]
    max_value_fn: Callable[[CoordinatorT_contra], float] | None = None
    set_fn: Callable[[CoordinatorT_contra, float], Awaitable[None]]
    attributes_fn: Callable[[CoordinatorT_contra], Mapping[str, Any] | None] = lambda _: None


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvChargeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers of a config entry."""
    entry.runtime_data.async_register_platform(
        Platform.NUMBER, async_add_entities, EvNumber, EvNumberEntityDescription
    )


class EvNumber(EvChargeEntity, NumberEntity):
    """A number of a charger."""

    entity_description: EvNumberEntityDescription[Any]

    @property
    def native_value(self) -> float | None:
        """Return the value (the requested one while a command waits)."""
        return self.entity_description.value_fn(self.coordinator)

    @property
    def native_max_value(self) -> float:
        """Return the highest value the charger accepts now."""
        if self.entity_description.max_value_fn is None:
            return super().native_max_value
        return self.entity_description.max_value_fn(self.coordinator)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return what waits to be written, when the vendor makes writes wait."""
        return self.entity_description.attributes_fn(self.coordinator)

    async def async_set_native_value(self, value: float) -> None:
        """Ask for a new value."""
        await self.entity_description.set_fn(self.coordinator, value)
