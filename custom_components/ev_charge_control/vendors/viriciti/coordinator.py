"""ViriCiti Smart Charging groups: coordinators and the external-limit queue.

One subentry of a config entry (an API key) is one charger group. Three coordinators read it at the cadence the issue
sets: the group (title, default limit, timeframes) every 15 minutes, the group limit every
5 minutes and the power-limit time series every 5 minutes, asking only for what is new.
Each charge station found in the time series becomes a child device of the group; one absent
from every sample for a day (and from at least an hour of samples) has left the group and its
device is removed.

External limits go through a ``CommandQueue``: the newest request wins and at most one POST
leaves per 5 minutes (the document asks not to change the limit too often); what waits and
when it goes out is shown by two diagnostic sensors, as for go-e.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
import datetime as dt
import time
from typing import Any, Final
from zoneinfo import ZoneInfo

from homeassistant.const import UnitOfPower
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import (
    ServiceValidationError,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from ...api.errors import (
    AuthenticationError,
    CommandRefusedError,
    EvChargeControlError,
    ExternalLimitsNotAllowedError,
    NotFoundError,
    RateLimitedError,
)
from ...api.viriciti import (
    ViricitiClient,
    ViricitiGroup,
    ViricitiGroupLimit,
    ViricitiSample,
)
from ...api.viriciti_schedule import Schedule, ScheduleNow
from ...budget import CommandQueue, QueuedCommand, SentCommand
from ...const import DOMAIN, LOGGER
from ...coordinator import EvChargeCoordinator
from ...errors import read_failure
from ...events import CommandResult
from ...issues import device_url, issue_id
from ...runtime import EvChargeConfigEntry
from ...writer import NotSent, QueuedWriter, Refusal, ResultValue, WriterHooks

GROUP_INTERVAL: Final = dt.timedelta(minutes=15)
LIMIT_INTERVAL: Final = dt.timedelta(minutes=5)
SERIES_INTERVAL: Final = dt.timedelta(minutes=5)
# At most one external limit per 5 minutes, and a couple of seconds for clocks that differ.
WRITE_SPACING: Final = 5 * 60 + 2
MAX_WRITE_ATTEMPTS: Final = 3
# The first time series query looks this far back (samples come at least every 5 minutes).
SERIES_LOOKBACK: Final = dt.timedelta(hours=1)
# The group limit answer names a drop this long before it comes.
UPCOMING_LOOKAHEAD: Final = dt.timedelta(minutes=15)
# A waiting limit that would end this soon after it goes out is not worth sending.
MIN_REMAINING: Final = 60.0
# A station absent from every sample for this long, and from at least this many samples in a
# row, has left the group (the API has no list of a group's stations). Measured in the series'
# own time: a day without samples (the cloud or our network down) removes nothing, and the
# count keeps one sample after a long gap from removing a station.
STATION_GONE_AFTER: Final = dt.timedelta(hours=24)
STATION_GONE_SAMPLES: Final = 12
MAX_GROUP_LIMIT: Final = 100_000  # kW: the API only asks for a positive integer
PARAMETER_LIMIT: Final = "group_limit"
STORE_VERSION: Final = 1


def _now() -> float:
    return time.time()


def _utc(timestamp: float) -> dt.datetime:
    return dt_util.utc_from_timestamp(timestamp)


@dataclass(frozen=True, slots=True)
class LimitRequest:
    """An external limit: ``limit`` kW until ``end`` (whole seconds since the epoch)."""

    limit: int
    end: int

    def describe(self, zone: ZoneInfo) -> str:
        """Return the request as the diagnostic sensor shows it."""
        return f"{self.limit} kW until {_utc(self.end).astimezone(zone).isoformat()}"


def _load_request(value: object) -> LimitRequest | None:
    """Read a saved request back; None for anything malformed."""
    if not isinstance(value, Mapping):
        return None
    limit, end = value.get("limit"), value.get("end")
    if type(limit) is int and limit > 0 and type(end) is int:
        return LimitRequest(limit, end)
    return None


def _in_force(limits: ViricitiGroupLimit | None) -> LimitRequest | None:
    """Return the external limit a group limit answer shows, as a request."""
    external = limits.external if limits else None
    if external is None or external.end is None or not float(external.limit).is_integer():
        return None
    return LimitRequest(int(external.limit), round(external.end.timestamp()))


class _ViricitiCoordinator[DataT](EvChargeCoordinator[DataT]):
    """A coordinator of one group: the client, the zone and error translation."""

    config_entry: EvChargeConfigEntry
    # The group's subentry: it holds the group's device and its stations'.
    subentry_id: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        what: str,
        interval: dt.timedelta | None,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"ViriCiti {client.group_id} {what}",
            update_interval=interval,
        )
        self.client = client
        self.zone = zone
        self.unique_id_prefix = f"viriciti_{client.group_id}"
        self.device_info = DeviceInfo(identifiers={(DOMAIN, self.unique_id_prefix)})

    @callback
    def set_zone(self, zone: ZoneInfo) -> None:
        """Take the group's new time zone (the user changed it)."""
        self.zone = zone
        self.async_update_listeners()

    async def _async_read[T](self, read: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await read()
        except EvChargeControlError as err:
            # A Retry-After puts the next read off, never sooner than the coordinator's interval.
            raise read_failure(
                err, interval=self.update_interval, not_found_key="group_not_found"
            ) from err
        return result


class ViricitiGroupCoordinator(_ViricitiCoordinator[ViricitiGroup]):
    """Reads the group every 15 minutes and keeps what its schedule says now."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
    ) -> None:
        super().__init__(hass, entry, client, zone, "group", GROUP_INTERVAL)
        self.schedule: Schedule | None = None
        self.now: ScheduleNow | None = None
        self._unsub_change: CALLBACK_TYPE | None = None

    async def _async_update_data(self) -> ViricitiGroup:
        group = await self._async_read(self.client.get_group)
        self.schedule = Schedule(group.timeframes, group.group_limit, self.zone)
        self._evaluate()
        return group

    @callback
    def set_zone(self, zone: ZoneInfo) -> None:
        """Work the schedule out again in the group's new time zone."""
        self.zone = zone
        if self.data is not None:
            self.schedule = Schedule(self.data.timeframes, self.data.group_limit, zone)
            self._evaluate()
        self.async_update_listeners()

    def _evaluate(self) -> None:
        """Work out the schedule now and wake up at its next change."""
        self._cancel_change()
        if self.schedule is None:
            return
        self.now = self.schedule.at(dt_util.utcnow())
        if self.now.next_change is not None:
            self._unsub_change = async_track_point_in_utc_time(
                self.hass, self._changed, self.now.next_change
            )

    @callback
    def _changed(self, _: dt.datetime) -> None:
        # The limit coordinator reads just after the change by itself (its "moments").
        self._unsub_change = None
        self._evaluate()
        self.async_update_listeners()

    def upcoming_drop(self) -> dt.datetime | None:
        """Return when the answer will name the next drop as 'upcoming' (None: no drop)."""
        now = self.now
        if now is None or now.next_change is None or now.next_limit is None:
            return None
        current = now.limit if now.limit is not None else self.schedule_default()
        if current is None or now.next_limit >= current:
            return None
        return now.next_change - UPCOMING_LOOKAHEAD

    def schedule_default(self) -> float | None:
        """Return the group's default limit."""
        return self.data.group_limit if self.data else None

    def timeframes(self) -> list[dict[str, Any]]:
        """Return the group's timeframes as given (an attribute, not recorded)."""
        if not self.data:
            return []
        return [
            {
                "name": tf.name,
                "start": tf.start,
                "end": tf.end,
                "limit": tf.limit,
                "active": tf.active,
            }
            for tf in self.data.timeframes
        ]

    @callback
    def _cancel_change(self) -> None:
        if self._unsub_change is not None:
            self._unsub_change()
            self._unsub_change = None

    async def async_shutdown(self) -> None:
        """Stop with the entry: Home Assistant calls this on unload and on a failed set-up.

        The change timer arms itself again at every change: left behind by a set-up that
        failed after the group read, it would live as long as Home Assistant.
        """
        await super().async_shutdown()
        self._cancel_change()

    async def async_stop(self) -> None:
        """Cancel the change timer."""
        self._cancel_change()


class ViricitiLimitStore:
    """The group's write queue, saved so that neither a reload nor a restart frees a slot."""

    def __init__(self, hass: HomeAssistant, group_id: str) -> None:
        self.queue: CommandQueue[LimitRequest] = CommandQueue(
            spacing=WRITE_SPACING, max_attempts=MAX_WRITE_ATTEMPTS, load_value=_load_request
        )
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.viriciti_{group_id}"
        )
        self._loaded = False

    async def async_load(self) -> None:
        """Load the saved queue."""
        data = await self._store.async_load() or {}
        if isinstance(commands := data.get("commands"), Mapping):
            self.queue.restore(commands, _now())
        self._loaded = True

    async def async_save(self) -> None:
        """Save now: called before every POST, so a crash cannot forget one.

        Not before the saved queue was loaded: a group whose set-up failed before would
        overwrite its waiting limit and the time of its last one with nothing.
        """
        if self._loaded:
            await self._store.async_save({"commands": self.queue.as_dict()})


class ViricitiLimitCoordinator(WriterHooks[LimitRequest], _ViricitiCoordinator[ViricitiGroupLimit]):
    """Reads the group limit every 5 minutes and posts external limits through the queue."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        store: ViricitiLimitStore,
        group: ViricitiGroupCoordinator,
        default_duration: dt.timedelta,
    ) -> None:
        super().__init__(hass, entry, client, zone, "limit", LIMIT_INTERVAL)
        self.store = store
        self.group = group
        self.default_duration = default_duration
        self.writer = QueuedWriter(self, self, store.queue, f"ViriCiti {client.group_id}")
        # A read asks whether a POST is out (its own answer verifies the limit then).
        self._send_lock = self.writer.lock
        self._unsub_moment: CALLBACK_TYPE | None = None
        self._zone_checked = False

    @property
    def queue(self) -> CommandQueue[LimitRequest]:
        """Return the group's write queue."""
        return self.store.queue

    async def _async_update_data(self) -> ViricitiGroupLimit:
        fetched_at = _now()
        limits = await self._async_read(self.client.get_group_limit)
        self._check_zone(limits)
        if not self._send_lock.locked():
            # While a POST is out, a read may show the group before it: the POST's own
            # answer verifies it instead.
            self._verify(limits, fetched_at)
        self._schedule_moment(limits)
        return limits

    @callback
    def set_zone(self, zone: ZoneInfo) -> None:
        """Check the new time zone against the next answer; show the queue in it."""
        self._zone_checked = False
        super().set_zone(zone)

    def _check_zone(self, limits: ViricitiGroupLimit) -> None:
        """Warn once when the group's own answers show another offset than the zone option."""
        external = limits.external
        if self._zone_checked or external is None or external.end is None:
            return
        self._zone_checked = True
        theirs = external.end.utcoffset()
        ours = external.end.astimezone(self.zone).utcoffset()
        if theirs != ours:
            LOGGER.warning(
                "ViriCiti %s: the group writes times with the offset %s, but the time zone "
                "option %s has %s then; timeframes may be placed wrongly. Set the group's "
                "time zone in the integration's options",
                self.client.group_id,
                theirs,
                self.zone,
                ours,
            )

    # Reading at the moments that matter

    def _schedule_moment(self, limits: ViricitiGroupLimit) -> None:
        """Read again right after the next change the regular read would see late.

        An external limit ending, a timeframe starting or ending, or a drop turning
        'upcoming' within the next interval gets one read just after it; the regular
        interval restarts from that read, so a day has only a few reads more than 288.
        """
        if self._unsub_moment is not None:
            self._unsub_moment()
            self._unsub_moment = None
        now = dt_util.utcnow()
        moments = [
            limits.external.end if limits.external else None,
            self.group.now.next_change if self.group.now else None,
            self.group.upcoming_drop(),
        ]
        due = [m for m in moments if m is not None and now < m < now + LIMIT_INTERVAL]
        if not due:
            return

        self._unsub_moment = self.async_run_at(
            min(due) + dt.timedelta(seconds=1),
            self.async_refresh,
            f"{DOMAIN} ViriCiti {self.client.group_id} read",
        )

    # Writing

    def in_force(self) -> LimitRequest | None:
        """Return the external limit in force, as the newest read shows it.

        Not the request: it may wait for its slot; the Pending command sensor shows it.
        """
        return _in_force(self.data)

    async def async_request_limit(self, limit: int, end: dt.datetime) -> None:
        """Ask for ``limit`` kW until ``end``: it goes out now when the slot is free.

        The caller validated both. Raises a translated error when the limit would end
        before its slot, or when the group refuses external limits (the request is dropped
        then, nothing would ever take it).
        """
        request = LimitRequest(limit, round(end.timestamp()))
        slot = self.queue.next_slot(_now())
        if request.end - slot <= MIN_REMAINING:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="limit_ends_before_slot",
                translation_placeholders={
                    "end_time": dt_util.as_local(end).isoformat(timespec="seconds"),
                    "slot": dt_util.as_local(_utc(slot)).isoformat(timespec="seconds"),
                },
            )
        await self.writer.async_request(PARAMETER_LIMIT, request, _in_force(self.data))

    def _title(self) -> str:
        return self.group.data.title if self.group.data else self.client.group_id

    def _verify(self, limits: ViricitiGroupLimit, data_time: float) -> None:
        in_force = _in_force(limits)
        self.writer.verify(lambda _: in_force, data_time, parameters=(PARAMETER_LIMIT,))

    # The writer's hooks

    send_errors = (EvChargeControlError, ValueError)

    async def async_send_command(self, sent: SentCommand[LimitRequest]) -> None:
        """Post the limit; the group's answer verifies it (and clears a refusal's repair)."""
        answer = await self.client.set_group_limit(
            sent.value.limit, _utc(sent.value.end).astimezone(self.zone)
        )
        ir.async_delete_issue(self.hass, DOMAIN, self._refusal_issue_id)
        self._verify(answer, float("inf"))
        self.async_set_updated_data(answer)

    async def async_save_queue(self) -> None:
        """Save the group's queue."""
        await self.store.async_save()

    def send_failed(self, sent: SentCommand[LimitRequest], err: Exception) -> NotSent | Refusal:
        """Drop a limit the group refuses (a 4xx): it is not sent again; 5xx, timeouts wait.

        A refused key waits for the user's new one, a rate limit for a whole slot.
        """
        group_id = self.client.group_id
        if isinstance(err, ExternalLimitsNotAllowedError):
            self._raise_refusal_issue()
            return Refusal(
                CommandResult.REFUSED, "external_limits_not_allowed", {"group": self._title()}
            )
        if isinstance(err, CommandRefusedError | NotFoundError):
            command = sent.value.describe(self.zone)
            LOGGER.error(
                "ViriCiti %s refused the limit %s; it is not sent again: %s",
                group_id,
                command,
                err,
            )
            if isinstance(err, NotFoundError):
                return Refusal(CommandResult.REFUSED, "group_not_found")
            return Refusal(
                CommandResult.REFUSED, "write_refused", {"command": command, "error": str(err)}
            )
        if isinstance(err, AuthenticationError):
            LOGGER.warning("ViriCiti %s: the API key was refused; the limit waits", group_id)
            self.config_entry.async_start_reauth(self.hass)
            return NotSent()
        if isinstance(err, RateLimitedError):
            LOGGER.warning(
                "ViriCiti %s: the limit was refused as too frequent; it waits for the next slot",
                group_id,
            )
            return NotSent(rate_limited=True)
        LOGGER.warning(
            "ViriCiti %s: the limit was not delivered (%s); it waits for the next slot",
            group_id,
            err,
        )
        return NotSent()

    def command_expired(self, command: QueuedCommand[LimitRequest], now: float) -> bool:
        """Tell whether the limit would end too soon after it goes out to be worth sending."""
        return command.value.end - now <= MIN_REMAINING

    def result_value(self, value: LimitRequest) -> ResultValue:
        """Return a limit as the result event carries it: kW and its end."""
        return ResultValue(value.limit, _utc(value.end))

    def describe_command(self, parameter: str, value: LimitRequest) -> str:
        """Return a limit as the sensor shows it, in the group's time zone."""
        return value.describe(self.zone)

    def shown_value(self, value: LimitRequest) -> object:
        """Return a limit as the sensor's attributes show it."""
        return value.describe(self.zone)

    def pending_details(self, parameter: str, value: LimitRequest) -> dict[str, object]:
        """Return a waiting limit as kW and its end, in the group's time zone."""
        return {
            "value": f"{value.limit} {UnitOfPower.KILO_WATT}",
            "until": _utc(value.end).astimezone(self.zone).isoformat(),
        }

    @property
    def _refusal_issue_id(self) -> str:
        return issue_id("external_limits_not_allowed", self.config_entry, self.subentry_id)

    def _raise_refusal_issue(self) -> None:
        LOGGER.warning(
            "ViriCiti %s does not accept external limits; ask ViriCiti to enable them",
            self.client.group_id,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._refusal_issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="external_limits_not_allowed",
            translation_placeholders={
                "device_url": device_url(self.hass, self.config_entry, self.unique_id_prefix)
            },
        )

    async def async_start(self) -> None:
        """Resume a waiting limit (its slot may still be taken)."""
        self.writer.schedule()

    @callback
    def _cancel_timers(self) -> None:
        self.writer.cancel()
        if self._unsub_moment is not None:
            self._unsub_moment()
        self._unsub_moment = None

    async def async_shutdown(self) -> None:
        """Stop with the entry: on unload, and on a failed set-up (a read may arm a timer)."""
        await super().async_shutdown()
        self._cancel_timers()

    async def async_stop(self) -> None:
        """Cancel the timers and save the queue."""
        self._cancel_timers()
        await self.store.async_save()


@dataclass(frozen=True, slots=True)
class ViricitiSeries:
    """The newest sample and every connector's newest limit (kW) per charge station."""

    last_time: dt.datetime | None
    group_limit: float | None
    stations: Mapping[str, Mapping[int, float | None]]


class ViricitiStationCoordinator(EvChargeCoordinator[Mapping[int, float | None]]):
    """One charge station: its connectors' limits, pushed by the time series coordinator."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        group: ViricitiGroupCoordinator,
        station: str,
    ) -> None:
        group_id = group.client.group_id
        super().__init__(hass, LOGGER, config_entry=entry, name=f"ViriCiti {group_id} {station}")
        self.station = station
        self.unique_id_prefix = f"viriciti_{group_id}_{station}"
        self.device_info = DeviceInfo(
            identifiers={(DOMAIN, self.unique_id_prefix)},
            manufacturer="ViriCiti",
            model="Charge station",
            # The group's title first: two groups may both have a "charger_1".
            name=f"{group.data.title} {station}" if group.data else station,
        )
        if parent := group.device_id:
            self.device_info["via_device_id"] = parent

    async def _async_update_data(self) -> Mapping[int, float | None]:
        # Never polled: the time series coordinator pushes each station's values.
        return self.data or {}


class ViricitiSeriesCoordinator(_ViricitiCoordinator[ViricitiSeries]):
    """Reads the power-limit time series every 5 minutes, only what is new."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
    ) -> None:
        super().__init__(hass, entry, client, zone, "time series", SERIES_INTERVAL)
        self.stations: dict[str, ViricitiStationCoordinator] = {}
        # Called with the stations and connector positions seen for the first time.
        self.on_new: Callable[[dict[str, list[int]]], None] | None = None
        # Called with the stations that have left the group (see STATION_GONE_AFTER).
        self.on_gone: Callable[[list[str]], None] | None = None
        # Each station's newest sample, and how many samples since have not listed it.
        self.last_seen: dict[str, dt.datetime] = {}
        self._missed: dict[str, int] = {}
        # The stations the newest sample lists.
        self._listed: frozenset[str] = frozenset()

    @callback
    def watch(self, station_ids: list[str], since: dt.datetime) -> None:
        """Count stations not seen yet (devices of an earlier run) as seen at ``since``."""
        for station_id in station_ids:
            if station_id not in self.last_seen:
                self.last_seen[station_id] = since
                self._missed[station_id] = 0

    @callback
    def forget(self, station_id: str) -> None:
        """Drop a station: should it come back, it is found as new."""
        self.last_seen.pop(station_id, None)
        self._missed.pop(station_id, None)
        self.stations.pop(station_id, None)
        if self.data is not None and station_id in self.data.stations:
            stations = {
                key: value for key, value in self.data.stations.items() if key != station_id
            }
            self.data = replace(self.data, stations=stations)

    def is_current(self, station_id: str) -> bool:
        """Tell whether the newest sample lists the station (True while there is no sample)."""
        if self.data is None or self.data.last_time is None:
            return True
        return station_id in self._listed

    async def _async_update_data(self) -> ViricitiSeries:
        previous = self.data
        end = dt_util.utcnow()
        start = (
            previous.last_time
            if previous is not None and previous.last_time is not None
            else end - SERIES_LOOKBACK
        )
        try:
            samples = await self._async_read(lambda: self.client.get_power_limits(start, end))
        except UpdateFailed as err:
            for station in self.stations.values():
                station.async_set_update_error(err)
            raise
        return self._merge(previous, samples)

    def _merge(
        self, previous: ViricitiSeries | None, samples: list[ViricitiSample]
    ) -> ViricitiSeries:
        last_time = previous.last_time if previous else None
        fresh = [s for s in samples if last_time is None or s.time > last_time]
        stations: dict[str, dict[int, float | None]] = {
            station: dict(limits)
            for station, limits in (previous.stations if previous else {}).items()
        }
        group_limit = previous.group_limit if previous else None
        new: dict[str, list[int]] = {}
        if fresh:
            newest = fresh[-1]
            last_time, group_limit = newest.time, newest.group_limit
            for sample in fresh:
                for connector in sample.limits:
                    positions = stations.setdefault(connector.chargestation, {})
                    if connector.position not in positions:
                        new.setdefault(connector.chargestation, []).append(connector.position)
                    positions[connector.position] = connector.limit
                self._note_listed(sample)
        gone = self._gone(last_time)
        for station_id in gone:
            stations.pop(station_id, None)
        series = ViricitiSeries(last_time, group_limit, stations)
        if new and self.on_new is not None:
            self.on_new(new)
        if gone and self.on_gone is not None:
            self.on_gone(gone)
        for station_id, limits in stations.items():
            station = self.stations.get(station_id)
            if station is not None and (station.data != limits or not station.last_update_success):
                station.async_set_updated_data(dict(limits))
        return series

    def _note_listed(self, sample: ViricitiSample) -> None:
        listed = self._listed = frozenset(connector.chargestation for connector in sample.limits)
        for station_id in listed:
            self.last_seen[station_id] = sample.time
            self._missed[station_id] = 0
        for station_id in self.last_seen.keys() - listed:
            self._missed[station_id] += 1

    def _gone(self, last_time: dt.datetime | None) -> list[str]:
        """Return the stations that have left the group; they are forgotten."""
        if last_time is None:
            return []
        gone = [
            station_id
            for station_id, seen in self.last_seen.items()
            if last_time - seen >= STATION_GONE_AFTER
            and self._missed[station_id] >= STATION_GONE_SAMPLES
        ]
        for station_id in gone:
            del self.last_seen[station_id], self._missed[station_id]
        return gone


# Entity descriptions
