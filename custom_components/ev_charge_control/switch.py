"""Switches: built from the vendors' descriptions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import CoordinatorT_contra, EvChargeEntity, EvChargeEntityDescription
from .runtime import EvChargeConfigEntry

# Writes go through each vendor's own queue, which orders and spaces them.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvSwitchEntityDescription(
    SwitchEntityDescription, EvChargeEntityDescription[CoordinatorT_contra]
):
    """A switch: whether it is on and how to set it."""

    is_on_fn: Callable[[CoordinatorT_contra], bool | None]
    set_fn: Callable[[CoordinatorT_contra, bool], Awaitable[None]]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvChargeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches of a config entry."""
    entry.runtime_data.async_register_platform(
        Platform.SWITCH, async_add_entities, EvSwitch, EvSwitchEntityDescription
    )


class EvSwitch(EvChargeEntity, SwitchEntity):
    """A switch of a charger."""

    entity_description: EvSwitchEntityDescription[Any]

    @property
    def is_on(self) -> bool | None:
        """Return whether the switch is on (the requested state while a command waits)."""
        return self.entity_description.is_on_fn(self.coordinator)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Ask for the switch to turn on."""
        await self.entity_description.set_fn(self.coordinator, True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Ask for the switch to turn off."""
        await self.entity_description.set_fn(self.coordinator, False)
