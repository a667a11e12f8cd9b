"""The one coordinator base class: the device its entities belong to, timers of its entry."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import DOMAIN

if TYPE_CHECKING:
    from .entity import EvChargeEntity


@callback
def async_device_id(hass: HomeAssistant, entry: ConfigEntry, unique_id_prefix: str) -> str | None:
    """Return the registry id of the entry's device with this identifier, if registered."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, unique_id_prefix), entry.entry_id
    )
    return None if device is None else device.id


class KeptDeviceInfo:
    """Mixed into a coordinator that keeps its device's description (its reads update it)."""

    device_info: DeviceInfo

    def entity_device_info(self) -> DeviceInfo:
        """Return the device the coordinator's entities belong to, as kept."""
        return self.device_info


class EvChargeCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A coordinator that knows the device its entities belong to."""

    config_entry: ConfigEntry
    unique_id_prefix: str
    # The subentry that holds the coordinator's device (None: the entry itself holds it).
    subentry_id: str | None = None
    # The entities showing the data, behind one listener (None: none added yet).
    _entities: list[EvChargeEntity] | None = None
    _remove_listener: CALLBACK_TYPE | None = None

    def entity_device_info(self) -> DeviceInfo:
        """Return the device the coordinator's entities belong to, read as each is added."""
        raise NotImplementedError

    @callback
    def async_add_entity(self, entity: EvChargeEntity) -> None:
        """Show the data in ``entity`` too; the first entity starts the polling."""
        if self._entities is None:
            self._entities = []
        self._entities.append(entity)
        if self._remove_listener is None:
            self._remove_listener = self.async_add_listener(self._async_update_entities)

    @callback
    def async_remove_entity(self, entity: EvChargeEntity) -> None:
        """Stop showing the data in ``entity``; with the last one the polling stops."""
        if self._entities is None or entity not in self._entities:
            return
        self._entities.remove(entity)
        if not self._entities and self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    @callback
    def _async_update_entities(self) -> None:
        for entity in tuple(self._entities or ()):
            entity.handle_coordinator_update()

    def async_run_at(
        self, at: datetime, job: Callable[[], Coroutine[Any, Any, Any]], name: str
    ) -> CALLBACK_TYPE:
        """Run ``job`` as a background task of the entry at ``at``; return the cancel callback."""

        @callback
        def _run(_: datetime) -> None:
            self.config_entry.async_create_background_task(self.hass, job(), name)

        return async_track_point_in_utc_time(self.hass, _run, at)

    @property
    def reachable(self) -> bool:
        """Tell whether the device can be reached (False: its entities are unavailable).

        A vendor may know better than the last read: Easee answering "charger disconnected".
        """
        return True

    @property
    def device_id(self) -> str | None:
        """Return the registry id of the coordinator's device (None before it is registered)."""
        return async_device_id(self.hass, self.config_entry, self.unique_id_prefix)
