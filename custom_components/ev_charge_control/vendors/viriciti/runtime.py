"""The running side of a ViriCiti config entry (one charger group)."""

from __future__ import annotations

from collections.abc import Mapping
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util

from ...api.viriciti import (
    ViricitiClient,
    ViricitiGroupLimit,
)
from ...const import CONF_BASE_URL, DOMAIN, LOGGER
from ...coordinator import async_device_id
from ...issues import async_delete_legacy_issues
from ...runtime import EntitySpec, EvChargeConfigEntry, VendorRuntime
from ...session import async_get_session
from .const import CONF_DEFAULT_DURATION, CONF_GROUP_ID, CONF_TIME_ZONE, DEFAULT_LIMIT_DURATION
from .coordinator import (
    STATION_GONE_AFTER,
    ViricitiGroupCoordinator,
    ViricitiLimitCoordinator,
    ViricitiLimitStore,
    ViricitiSeriesCoordinator,
    ViricitiStationCoordinator,
)
from .descriptions import GROUP_SENSORS, LIMIT_NUMBERS, LIMIT_SENSORS, power_limit_description


class ViricitiRuntime(VendorRuntime):
    """The running side of one ViriCiti config entry (one charger group)."""

    platforms = (Platform.NUMBER, Platform.SENSOR)

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        store: ViricitiLimitStore,
    ) -> None:
        super().__init__(dict(entry.options))
        self.hass = hass
        self.entry = entry
        self.zone = zone
        self.group = ViricitiGroupCoordinator(hass, entry, client, zone)
        duration = dt.timedelta(
            minutes=entry.options.get(CONF_DEFAULT_DURATION, DEFAULT_LIMIT_DURATION)
        )
        self.limit = ViricitiLimitCoordinator(
            hass, entry, client, zone, store, self.group, duration
        )
        self.series = ViricitiSeriesCoordinator(hass, entry, client, zone)
        self.positions: dict[str, list[int]] = {}
        self._unsub_series: CALLBACK_TYPE | None = None
        self.series.on_new = self._add_connectors
        self.series.on_gone = self._remove_stations

    @property
    def _station_prefix(self) -> str:
        """Return what a station's identifier starts with (the station's id follows)."""
        return f"{self.group.unique_id_prefix}_"

    def _station_ids(self, identifiers: set[str]) -> list[str]:
        prefix = self._station_prefix
        return [value.removeprefix(prefix) for value in identifiers if value.startswith(prefix)]

    @callback
    def _forget_station(self, station_id: str) -> None:
        self.series.forget(station_id)
        self.positions.pop(station_id, None)

    @callback
    def _remove_stations(self, gone: list[str]) -> None:
        """Remove the devices (and so the entities) of stations that have left the group."""
        registry = dr.async_get(self.hass)
        for station_id in gone:
            LOGGER.info(
                "ViriCiti %s: charge station %s has been absent from the time series for %s; "
                "removing its device",
                self.group.client.group_id,
                station_id,
                STATION_GONE_AFTER,
            )
            self._forget_station(station_id)
            device_id = async_device_id(self.hass, self.entry, self._station_prefix + station_id)
            if device_id is not None:
                registry.async_remove_device(device_id)

    def device_is_current(self, identifiers: set[str]) -> bool:
        """Tell whether the group's newest sample lists the station (the group always is)."""
        return all(self.series.is_current(station) for station in self._station_ids(identifiers))

    @callback
    def async_forget_device(self, identifiers: set[str]) -> None:
        """Forget a station the user deletes; found in a sample again, it is added again."""
        for station_id in self._station_ids(identifiers):
            self._forget_station(station_id)

    @callback
    def _add_connectors(self, new: dict[str, list[int]]) -> None:
        """Add the stations and connector positions the time series shows for the first time."""
        specs: list[EntitySpec] = []
        for station_id, positions in new.items():
            station = self.series.stations.get(station_id)
            if station is None:
                station = self.series.stations[station_id] = ViricitiStationCoordinator(
                    self.hass, self.entry, self.group, station_id
                )
                dr.async_get(self.hass).async_get_or_create(
                    config_entry_id=self.entry.entry_id, **station.device_info
                )
                LOGGER.debug("ViriCiti: charge station %s found", station_id)
            known = self.positions.setdefault(station_id, [])
            for position in sorted(positions):
                known.append(position)
                specs.append((station, power_limit_description(position)))
        self.async_add_specs(Platform.SENSOR, specs)

    def entity_specs(self, platform: Platform) -> list[EntitySpec]:
        """Return the entities of a platform."""
        if platform is Platform.NUMBER:
            return [(self.limit, description) for description in LIMIT_NUMBERS]
        if platform is not Platform.SENSOR:
            return []
        specs: list[EntitySpec] = [(self.group, d) for d in GROUP_SENSORS]
        specs += [(self.limit, d) for d in LIMIT_SENSORS]
        for station_id, positions in self.positions.items():
            station = self.series.stations[station_id]
            specs += [(station, power_limit_description(position)) for position in positions]
        return specs

    async def async_start(self) -> None:
        """Read the group, its limit and the newest samples; name the group's device."""
        await self.group.async_config_entry_first_refresh()
        group = self.group.data
        device_info = DeviceInfo(
            identifiers={(DOMAIN, self.group.unique_id_prefix)},
            manufacturer="ViriCiti",
            model="Smart Charging group",
            name=group.title,
        )
        for coordinator in (self.group, self.limit, self.series):
            coordinator.device_info = device_info
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id, **device_info
        )
        await self.limit.store.async_load()
        await self.limit.async_config_entry_first_refresh()
        await self.series.async_config_entry_first_refresh()
        # Stations of an earlier run the newest samples no longer list: their clock starts now.
        registry = dr.async_get(self.hass)
        self.series.watch(
            [
                station_id
                for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id)
                for station_id in self._station_ids(
                    {value for domain, value in device.identifiers if domain == DOMAIN}
                )
            ],
            dt_util.utcnow(),
        )
        # The series' entities listen to their stations, not to it: without a listener of
        # its own a coordinator stops polling, and new stations would never be found.
        self._unsub_series = self.series.async_add_listener(lambda: None)
        await self.limit.async_start()

    async def async_stop(self) -> None:
        """Cancel timers and save the queue."""
        if self._unsub_series is not None:
            self._unsub_series()
            self._unsub_series = None
        await self.group.async_stop()
        await self.limit.async_stop()

    def diagnostics(self) -> dict[str, Any]:
        """Return the group, its limits, the newest samples and the queue."""
        group, limits, series = self.group.data, self.limit.data, self.series.data
        now = self.group.now
        return {
            "client": repr(self.group.client),
            "time_zone": str(self.zone),
            "group": {
                "title": group.title,
                "group_limit": group.group_limit,
                "timeframes": self.group.timeframes(),
            }
            if group
            else None,
            "schedule": {
                "limit": now.limit,
                "timeframe": now.timeframe.name if now.timeframe else None,
                "next_change": now.next_change.isoformat() if now.next_change else None,
                "next_limit": now.next_limit,
            }
            if now
            else None,
            "limits": {
                "active": limits.active,
                "active_limit": limits.active_limit,
                "default": limits.default_limit,
                "external": _describe_external(limits),
            }
            if limits
            else None,
            "series": {
                "last_time": series.last_time.isoformat() if series.last_time else None,
                "group_limit": series.group_limit,
                # A list, not keyed by station: a station's id is redacted, a key would not be.
                "stations": [
                    {
                        "station_id": station,
                        "connectors": {str(pos): kw for pos, kw in limits_.items()},
                    }
                    for station, limits_ in series.stations.items()
                ],
            }
            if series
            else None,
            "commands": self.limit.queue.as_dict(),
        }


def _describe_external(limits: ViricitiGroupLimit) -> dict[str, Any] | None:
    external = limits.external
    if external is None:
        return None
    return {
        "limit": external.limit,
        "start": external.start.isoformat() if external.start else None,
        "end": external.end.isoformat() if external.end else None,
    }


def group_zone(hass: HomeAssistant, options: Mapping[str, Any]) -> ZoneInfo:
    """Return the group's time zone: the option, else Home Assistant's."""
    name = options.get(CONF_TIME_ZONE) or hass.config.time_zone
    zone = dt_util.get_time_zone(name)
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


async def async_setup_viriciti(hass: HomeAssistant, entry: EvChargeConfigEntry) -> ViricitiRuntime:
    """Build the runtime of a ViriCiti config entry."""
    async_delete_legacy_issues(hass, f"viriciti_{entry.data[CONF_GROUP_ID]}_external_limits")
    client = ViricitiClient(
        async_get_session(hass),
        entry.data[CONF_API_KEY],
        entry.data[CONF_GROUP_ID],
        base_url=entry.data[CONF_BASE_URL],
    )
    store = ViricitiLimitStore(hass, entry.data[CONF_GROUP_ID])
    return ViricitiRuntime(hass, entry, client, group_zone(hass, entry.options), store)
