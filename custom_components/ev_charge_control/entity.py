"""The one entity base class: device info, unique id and availability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from homeassistant.core import callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN
from .coordinator import EvChargeCoordinator


def whole_amperes(value: float) -> int:
    """Return a current as whole amperes; raise a translated error for a fraction."""
    if not float(value).is_integer():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="current_not_whole",
            translation_placeholders={"value": str(value)},
        )
    return int(value)


# The coordinator a description's callbacks read, so mypy checks them against the vendor's own.
# Contravariant: a description that needs only some attributes (a protocol, a union) serves
# every coordinator that has them. PEP 695 syntax cannot say so, and mypy infers subclasses of
# Home Assistant's EntityDescription invariant.
CoordinatorT_contra = TypeVar("CoordinatorT_contra", contravariant=True)


@dataclass(frozen=True, kw_only=True)
class EvChargeEntityDescription(EntityDescription, Generic[CoordinatorT_contra]):  # noqa: UP046
    """What every entity description of this integration adds to Home Assistant's."""

    exists_fn: Callable[[CoordinatorT_contra], bool] = lambda _: True
    # Entities about our own request queue stay available while the charger is not.
    always_available: bool = False


class EvChargeEntity(Entity):
    """Base of every entity of the integration.

    A coordinator entity, but not Home Assistant's ``CoordinatorEntity``: that one adds a
    listener per entity to its coordinator (a bound method, a tuple, a removal callback and a
    dict entry each). Here the coordinator holds its entities in one list behind one listener
    of its own (``EvChargeCoordinator.async_add_entity``): in a fleet of thousands of chargers
    that is about 0.7 KB less of the integration's own memory per charger (``scripts/bench``).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: EvChargeEntityDescription[Any]

    def __init__(
        self,
        coordinator: EvChargeCoordinator[Any],
        description: EvChargeEntityDescription[Any],
    ) -> None:
        self.coordinator = coordinator
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.unique_id_prefix}_{description.key}"
        # What the entity's state showed when it was last written by a read.
        self._written: tuple[object, ...] | None = None

    @property
    def device_info(self) -> DeviceInfo:
        """Return the coordinator's device (Home Assistant reads it as the entity is added)."""
        return self.coordinator.entity_device_info()

    @property
    def available(self) -> bool:
        """Return whether the entity has something true to show."""
        if self.entity_description.always_available:
            return True
        coordinator = self.coordinator
        return (
            coordinator.last_update_success
            and coordinator.reachable
            and coordinator.data is not None
        )

    def _shown(self) -> tuple[object, ...]:
        """Return what the entity's state shows: its state and every changeable attribute."""
        if not self.available:
            return (False,)
        return (
            True,
            self.state,
            self.capability_attributes,
            self.state_attributes,
            self.extra_state_attributes,
        )

    async def async_added_to_hass(self) -> None:
        """Join the coordinator's entities; Home Assistant writes the first state right after."""
        await super().async_added_to_hass()
        self.coordinator.async_add_entity(self)
        self._written = self._shown()

    async def async_will_remove_from_hass(self) -> None:
        """Leave the coordinator's entities."""
        self.coordinator.async_remove_entity(self)
        await super().async_will_remove_from_hass()

    async def async_update(self) -> None:
        """Read again (Home Assistant's update_entity action), as a coordinator entity does."""
        if self.enabled:
            await self.coordinator.async_request_refresh()

    @callback
    def handle_coordinator_update(self) -> None:
        """Write the state only when something it shows changed.

        Home Assistant would keep an unchanged state too (moving only its last_reported), but
        each write still costs it a state object and an event: with a thousand chargers,
        writing every unchanged value of every read doubles the CPU of a polling cycle (see
        the README's scale table). Freshness is shown where it matters: an entity goes
        unavailable when its reads fail, and go-e's Live data and Data age say how old the
        cloud's data is.
        """
        shown = self._shown()
        if shown != self._written:
            self._written = shown
            self.async_write_ha_state()
