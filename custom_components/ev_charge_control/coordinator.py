"""The one coordinator base class: the device its entities belong to, timers of its entry."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import DOMAIN


@callback
def async_device_id(hass: HomeAssistant, entry: ConfigEntry, unique_id_prefix: str) -> str | None:
    """Return the registry id of the entry's device with this identifier, if registered."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, unique_id_prefix), entry.entry_id
    )
    return None if device is None else device.id


class EvChargeCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A coordinator that knows the device its entities belong to."""

    config_entry: ConfigEntry
    device_info: DeviceInfo
    unique_id_prefix: str
    # The subentry that holds the coordinator's device (None: the entry itself holds it).
    subentry_id: str | None = None

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
