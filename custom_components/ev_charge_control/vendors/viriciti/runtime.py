"""The running side of a ViriCiti config entry: one API key, its charger groups as subentries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.util import dt as dt_util

from ...api.viriciti import ViricitiClient, ViricitiGroupLimit
from ...const import CONF_BASE_URL, DOMAIN, LOGGER
from ...coordinator import EvChargeCoordinator, async_device_id
from ...issues import async_delete_legacy_issues
from ...runtime import EntitySpec, EvChargeConfigEntry, SubentryRuntime
from ...session import async_get_session
from .const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    DEFAULT_LIMIT_DURATION,
    SUBENTRY_GROUP,
)
from .coordinator import (
    STATION_GONE_AFTER,
    ViricitiGroupCoordinator,
    ViricitiGroupStore,
    ViricitiLimitCoordinator,
    ViricitiSeriesCoordinator,
    ViricitiStationCoordinator,
)
from .descriptions import GROUP_SENSORS, LIMIT_NUMBERS, LIMIT_SENSORS, power_limit_description

PLATFORMS = (Platform.NUMBER, Platform.SENSOR)


def _duration(data: Mapping[str, Any]) -> dt.timedelta:
    return dt.timedelta(minutes=data.get(CONF_DEFAULT_DURATION, DEFAULT_LIMIT_DURATION))


class ViricitiGroup:
    """One charger group (a subentry): its three coordinators, its stations and its queue."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        subentry: ConfigSubentry,
        client: ViricitiClient,
        store: ViricitiGroupStore,
        add_specs: Callable[[Platform, Iterable[EntitySpec]], None],
        owner: Callable[[set[str]], ViricitiGroup | None],
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.subentry_id = subentry.subentry_id
        self.title = subentry.title
        self.zone = group_zone(hass, subentry.data)
        self._add_specs = add_specs
        # The group a device belongs to: group ids "a" and "a_b" both prefix "viriciti_a_b_x".
        self._owner = owner
        self.store = store
        self.group = ViricitiGroupCoordinator(hass, entry, client, self.zone, store)
        self.limit = ViricitiLimitCoordinator(
            hass, entry, client, self.zone, store, self.group, _duration(subentry.data)
        )
        self.series = ViricitiSeriesCoordinator(hass, entry, client, self.zone, store)
        for coordinator in (self.group, self.limit, self.series):
            coordinator.subentry_id = self.subentry_id
        self.positions: dict[str, list[int]] = {}
        self._unsub_series: CALLBACK_TYPE | None = None
        self.series.on_new = self._add_connectors
        self.series.on_gone = self._remove_stations

    @property
    def group_id(self) -> str:
        """Return the group's id at ViriCiti."""
        return self.group.client.group_id

    @property
    def _station_prefix(self) -> str:
        """Return what a station's identifier starts with (the station's id follows)."""
        return f"{self.group.unique_id_prefix}_"

    def owns(self, identifiers: set[str]) -> bool:
        """Tell whether a device with these identifiers is the group's or one of its stations'."""
        prefix = self.group.unique_id_prefix
        return any(
            value == prefix or value.startswith(self._station_prefix) for value in identifiers
        )

    def _station_ids(self, identifiers: Iterable[str]) -> list[str]:
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
                self.group_id,
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
                station.subentry_id = self.subentry_id
                dr.async_get(self.hass).async_get_or_create(
                    config_entry_id=self.entry.entry_id,
                    config_subentry_id=self.subentry_id,
                    **station.device_info,
                )
                LOGGER.debug("ViriCiti: charge station %s found", station_id)
            known = self.positions.setdefault(station_id, [])
            for position in sorted(positions):
                known.append(position)
                specs.append((station, power_limit_description(position)))
        self._add_specs(Platform.SENSOR, specs)

    def entity_specs(self, platform: Platform) -> list[EntitySpec]:
        """Return the group's (and its stations') entities of a platform."""
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

    async def _async_first(
        self,
        coordinator: ViricitiGroupCoordinator
        | ViricitiLimitCoordinator
        | ViricitiSeriesCoordinator,
        *,
        setting_up: bool,
    ) -> None:
        """Show a coordinator's saved read when its interval has not ended, else read it.

        While the entry is set up a failure fails the set-up (a refused key asks for a new
        one, anything else retries); a group added to a running entry is read like any
        later read: its entities show the failure and it is read again at its interval.
        """
        if coordinator.async_restore():
            return
        if setting_up:
            await coordinator.async_config_entry_first_refresh()
            return
        await coordinator.async_refresh()
        if isinstance(coordinator.last_exception, ConfigEntryAuthFailed):
            self.entry.async_start_reauth(self.hass)

    async def async_start(self, *, setting_up: bool) -> None:
        """Read the group, its limit and the newest samples; name the group's device.

        A saved read is shown instead while its interval lasts.
        """
        async_delete_legacy_issues(self.hass, f"viriciti_{self.group_id}_external_limits")
        await self.store.async_load()
        await self._async_first(self.group, setting_up=setting_up)
        if self.subentry_id not in self.entry.subentries:
            return  # removed while it read: it has no place for a device any more
        group = self.group.data
        device_info = DeviceInfo(
            identifiers={(DOMAIN, self.group.unique_id_prefix)},
            manufacturer="ViriCiti",
            model="Smart Charging group",
            # Read before the group answered: the title it had when it was added.
            name=group.title if group else self.title,
        )
        for coordinator in (self.group, self.limit, self.series):
            coordinator.device_info = device_info
        dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.entry.entry_id,
            config_subentry_id=self.subentry_id,
            **device_info,
        )
        await self._async_first(self.limit, setting_up=setting_up)
        await self._async_first(self.series, setting_up=setting_up)
        # Stations of an earlier run the newest samples no longer list: their clock starts now.
        registry = dr.async_get(self.hass)
        self.series.watch(
            [
                station_id
                for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id)
                if self._owner(ours := {v for d, v in device.identifiers if d == DOMAIN}) is self
                for station_id in self._station_ids(ours)
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
        await self.series.async_stop()
        await self.limit.async_stop()

    async def async_shutdown(self) -> None:
        """Stop a group removed from the running entry: its coordinators poll no more."""
        await self.async_stop()
        coordinators: list[EvChargeCoordinator[Any]] = [self.group, self.limit, self.series]
        for coordinator in [*coordinators, *self.series.stations.values()]:
            await coordinator.async_shutdown()

    @callback
    def async_settings(self, data: Mapping[str, Any]) -> None:
        """Take a new time zone or default duration of the group (no request, no reload)."""
        self.limit.default_duration = _duration(data)
        zone = group_zone(self.hass, data)
        if zone != self.zone:
            self.zone = zone
            for coordinator in (self.group, self.limit, self.series):
                coordinator.set_zone(zone)
        # The number shows the duration as an attribute.
        self.limit.async_update_listeners()

    def diagnostics(self) -> dict[str, Any]:
        """Return the group, its limits, the newest samples and the queue."""
        group, limits, series = self.group.data, self.limit.data, self.series.data
        now = self.group.now
        return {
            "client": repr(self.group.client),
            "time_zone": str(self.zone),
            "default_duration": str(self.limit.default_duration),
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
            # When each shown read was made (a start within its interval shows a saved one).
            "read_at": {
                coordinator.read_key: _utc_text(coordinator.read_at)
                for coordinator in (self.group, self.limit, self.series)
            },
        }


class ViricitiRuntime(SubentryRuntime):
    """The running side of one ViriCiti entry (an API key): a ``ViricitiGroup`` per subentry.

    Groups added, removed or given new settings while the entry runs are followed here,
    without a reload; a new key or address sets the entry up again.
    """

    platforms = PLATFORMS
    subentry_type = SUBENTRY_GROUP

    def __init__(self, hass: HomeAssistant, entry: EvChargeConfigEntry) -> None:
        super().__init__(hass, entry)
        # By subentry id.
        self.groups: dict[str, ViricitiGroup] = {}

    def _group(self, subentry: ConfigSubentry) -> ViricitiGroup:
        group_id: str = subentry.data[CONF_GROUP_ID]
        client = ViricitiClient(
            async_get_session(self._hass),
            self._data[CONF_API_KEY],
            group_id,
            base_url=self._data[CONF_BASE_URL],
        )
        # Kept by group id: a restart, a migration or the group added again keeps its slot.
        store = ViricitiGroupStore(self._hass, group_id, self._data[CONF_BASE_URL])
        return ViricitiGroup(
            self._hass, self._entry, subentry, client, store, self.async_add_specs, self._owner
        )

    def _owner(self, identifiers: set[str]) -> ViricitiGroup | None:
        """Return the group a device belongs to (the longest id wins: "a" and "a_b" differ)."""
        owners = [group for group in self.groups.values() if group.owns(identifiers)]
        return max(owners, key=lambda group: len(group.group_id), default=None)

    def entity_specs(self, platform: Platform) -> list[EntitySpec]:
        """Return the entities of a platform, of every group."""
        return [spec for group in self.groups.values() for spec in group.entity_specs(platform)]

    def device_is_current(self, identifiers: set[str]) -> bool:
        """Tell whether the group's newest sample lists the station (a group always is)."""
        group = self._owner(identifiers)
        return group is None or group.device_is_current(identifiers)

    @callback
    def async_forget_device(self, identifiers: set[str]) -> None:
        """Forget a station the user deletes; found in a sample again, it is added again."""
        if (group := self._owner(identifiers)) is not None:
            group.async_forget_device(identifiers)

    async def async_start(self) -> None:
        """Build every group and read each one (together: the set-up waits for the slowest)."""
        for subentry_id, subentry in self.subentries(self._entry).items():
            self.groups[subentry_id] = self._group(subentry)
            self.claim(subentry)
        results = await asyncio.gather(
            *(group.async_start(setting_up=True) for group in self.groups.values()),
            return_exceptions=True,
        )
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            # A failed set-up leaves no timer behind; a refused key (the entry's) comes first.
            await self.async_stop()
            raise next(
                (err for err in failures if isinstance(err, ConfigEntryAuthFailed)), failures[0]
            )

    async def async_stop(self) -> None:
        """Cancel timers and save the queues."""
        await asyncio.gather(*(group.async_stop() for group in self.groups.values()))

    async def async_subentry_removed(self, subentry_id: str) -> None:
        """Stop a deleted group for good."""
        if (group := self.groups.pop(subentry_id, None)) is not None:
            await group.async_shutdown()

    async def async_subentry_changed(
        self, subentry: ConfigSubentry, before: Mapping[str, Any]
    ) -> None:
        """Give a group its new settings (time zone, duration): no request, no reload."""
        if (group := self.groups.get(subentry.subentry_id)) is not None:
            group.async_settings(subentry.data)

    async def async_subentry_added(self, subentry: ConfigSubentry) -> None:
        """Start a group added while the entry runs, then add its entities."""
        subentry_id = subentry.subentry_id
        group = self.groups[subentry_id] = self._group(subentry)
        await group.async_start(setting_up=False)
        if self.groups.get(subentry_id) is not group:
            # Removed while it read for the first time: the start may have armed a timer
            # after the removal stopped it.
            await group.async_shutdown()
            return
        if (newest := self.built_from(subentry_id)) is not subentry.data:
            # New settings came while it started.
            group.async_settings(newest)
        for platform in self.platforms:
            self.async_add_specs(platform, group.entity_specs(platform))

    def diagnostics(self) -> dict[str, Any]:
        """Return each group's state and queue."""
        return {"groups": [group.diagnostics() for group in self.groups.values()]}


def _describe_external(limits: ViricitiGroupLimit) -> dict[str, Any] | None:
    external = limits.external
    if external is None:
        return None
    return {
        "limit": external.limit,
        "start": external.start.isoformat() if external.start else None,
        "end": external.end.isoformat() if external.end else None,
    }


def _utc_text(timestamp: float | None) -> str | None:
    return None if timestamp is None else dt_util.utc_from_timestamp(timestamp).isoformat()


def group_zone(hass: HomeAssistant, data: Mapping[str, Any]) -> ZoneInfo:
    """Return the group's time zone: the subentry's, else Home Assistant's."""
    name = data.get(CONF_TIME_ZONE) or hass.config.time_zone
    zone = dt_util.get_time_zone(name)
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


async def async_setup_viriciti(hass: HomeAssistant, entry: EvChargeConfigEntry) -> ViricitiRuntime:
    """Build the runtime of a ViriCiti config entry (its groups start in ``async_start``)."""
    return ViricitiRuntime(hass, entry)
