"""Buttons (one-off charger commands): built from the vendors' descriptions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import CoordinatorT_contra, EvChargeEntity, EvChargeEntityDescription
from .runtime import EvChargeConfigEntry

# Commands go through each vendor's own queue, which orders and spaces them.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class EvButtonEntityDescription(
    ButtonEntityDescription, EvChargeEntityDescription[CoordinatorT_contra]
):
    """A button: what pressing it asks the charger to do."""

    press_fn: Callable[[CoordinatorT_contra], Awaitable[None]]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: EvChargeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of a config entry."""
    entry.runtime_data.async_register_platform(
        Platform.BUTTON, async_add_entities, EvButton, EvButtonEntityDescription
    )


class EvButton(EvChargeEntity, ButtonEntity):
    """A button of a charger."""

    entity_description: EvButtonEntityDescription[Any]

    async def async_press(self) -> None:
        """Ask the charger to carry out the command."""
        await self.entity_description.press_fn(self.coordinator)
