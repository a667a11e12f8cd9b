"""The one entity base class: device info, unique id and availability."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN


def whole_amperes(value: float) -> int:
    """Return a current as whole amperes; raise a translated error for a fraction."""
    if not float(value).is_integer():
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="current_not_whole",
            translation_placeholders={"value": str(value)},
        )
    return int(value)


class EvChargeCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A coordinator that knows the device its entities belong to."""

    config_entry: ConfigEntry
    device_info: DeviceInfo
    unique_id_prefix: str

    def async_run_at(
        self, at: datetime, job: Callable[[], Coroutine[Any, Any, Any]], name: str
    ) -> CALLBACK_TYPE:
        """Run ``job`` as a background task of the entry at ``at``; return the cancel callback."""

        @callback
        def _run(_: datetime) -> None:
            self.config_entry.async_create_background_task(self.hass, job(), name)

        return async_track_point_in_utc_time(self.hass, _run, at)


@dataclass(frozen=True, kw_only=True)
class EvChargeEntityDescription(EntityDescription):
    """What every entity description of this integration adds to Home Assistant's."""

    exists_fn: Callable[[Any], bool] = lambda _: True
    # Entities about our own request queue stay available while the charger is not.
    always_available: bool = False


class EvChargeEntity(CoordinatorEntity[EvChargeCoordinator[Any]]):
    """Base of every entity of the integration."""

    _attr_has_entity_name = True
    entity_description: EvChargeEntityDescription

    def __init__(
        self,
        coordinator: EvChargeCoordinator[Any],
        description: EvChargeEntityDescription,
    ) -> None:
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.unique_id_prefix}_{description.key}"
        self._attr_device_info = coordinator.device_info

    @property
    def available(self) -> bool:
        """Return whether the entity has something true to show."""
        if self.entity_description.always_available:
            return True
        return super().available and self.coordinator.data is not None
