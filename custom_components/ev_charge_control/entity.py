"""The one entity base class: device info, unique id and availability."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from homeassistant.core import callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

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


class EvChargeEntity(CoordinatorEntity[EvChargeCoordinator[Any]]):
    """Base of every entity of the integration."""

    _attr_has_entity_name = True
    entity_description: EvChargeEntityDescription[Any]

    def __init__(
        self,
        coordinator: EvChargeCoordinator[Any],
        description: EvChargeEntityDescription[Any],
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.unique_id_prefix}_{description.key}"
        self._attr_device_info = coordinator.device_info
        # What the entity's state showed when it was last written by a read.
        self._written: tuple[object, ...] | None = None

    @property
    def available(self) -> bool:
        """Return whether the entity has something true to show."""
        if self.entity_description.always_available:
            return True
        return (
            super().available and self.coordinator.reachable and self.coordinator.data is not None
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
        """Listen to the coordinator; Home Assistant writes the first state right after."""
        await super().async_added_to_hass()
        self._written = self._shown()

    @callback
    def _handle_coordinator_update(self) -> None:
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
