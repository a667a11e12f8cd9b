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

What each read showed is kept with the queue, with its time: a start (a restart, a reload)
within a read's interval shows it and reads when the interval is due, so restarting Home
Assistant buys no request.
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
from ...api.values import as_finite_float
from ...api.viriciti import (
    ViricitiClient,
    ViricitiGroup,
    ViricitiGroupLimit,
    ViricitiSample,
    parse_time,
)
from ...api.viriciti_schedule import Schedule, ScheduleNow
from ...budget import CommandQueue, QueuedCommand, SentCommand
from ...const import DOMAIN, LOGGER
from ...coordinator import EvChargeCoordinator, KeptDeviceInfo
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
# A read marks the group's file to be written: with the queue's next save, when Home Assistant
# stops, or this long after at the latest (a read costs no write of its own).
READ_SAVE_DELAY: Final = 3600.0


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


def _upcoming_drop(now: ScheduleNow | None, default: float | None) -> dt.datetime | None:
    """Return when the answer names the schedule's next drop as 'upcoming' (None: no drop)."""
    if now is None or now.next_change is None or now.next_limit is None:
        return None
    current = now.limit if now.limit is not None else default
    if current is None or now.next_limit >= current:
        return None
    return now.next_change - UPCOMING_LOOKAHEAD


def _in_force(limits: ViricitiGroupLimit | None) -> LimitRequest | None:
    """Return the external limit a group limit answer shows, as a request."""
    external = limits.external if limits else None
    if external is None or external.end is None or not float(external.limit).is_integer():
        return None
    return LimitRequest(int(external.limit), round(external.end.timestamp()))


class _ViricitiCoordinator[DataT](KeptDeviceInfo, EvChargeCoordinator[DataT]):
    """A coordinator of one group: the client, the zone, error translation and saved reads."""

    config_entry: EvChargeConfigEntry
    # The group's subentry: it holds the group's device and its stations'.
    subentry_id: str
    # Under which name the group's file keeps this coordinator's newest read.
    read_key: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        store: ViricitiGroupStore,
        interval: dt.timedelta,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"ViriCiti {client.group_id} {self.read_key}",
            update_interval=interval,
        )
        self.client = client
        self.zone = zone
        self.store = store
        self.interval = interval
        self.unique_id_prefix = f"viriciti_{client.group_id}"
        self.device_info = DeviceInfo(identifiers={(DOMAIN, self.unique_id_prefix)})
        # When the shown data was read (a restored read keeps its time).
        self.read_at: float | None = None
        self._unsub_due: CALLBACK_TYPE | None = None

    # Saved reads

    def _saved_form(self, data: DataT) -> dict[str, Any]:
        raise NotImplementedError

    def _load_saved(self, data: Mapping[str, Any]) -> DataT | None:
        raise NotImplementedError

    def _stale(self, data: DataT, read_at: float, now: float) -> bool:
        """Tell whether something the read could not show has happened since (read again)."""
        return False

    def _restored(self, data: DataT) -> None:
        """Take a restored read as a read's answer would be taken (before it is shown)."""

    def _remember(self, data: DataT, read_at: float) -> None:
        """Keep the read for the next start; written without a write of its own."""
        self.read_at = read_at
        self.store.remember(self.read_key, read_at, self._saved_form(data))

    def async_restore(self) -> bool:
        """Show the saved read when the next one is not due yet; False: read now.

        The next read comes when the saved one's interval ends, not a whole interval after
        the start: the data is as old as it is.
        """
        saved = self.store.saved_read(self.read_key)
        if saved is None:
            return False
        read_at, raw = saved
        now = _now()
        due = read_at + self.interval.total_seconds()
        if not read_at <= now < due:
            return False  # due, or read "later" than now: the clock went back
        try:
            data = self._load_saved(raw)
        except TypeError, ValueError, KeyError, AttributeError:
            data = None
        if data is None or self._stale(data, read_at, now):
            return False
        self.read_at = read_at
        self._restored(data)
        self.async_set_updated_data(data)
        self._unsub_due = self.async_run_at(
            _utc(due), self.async_refresh, f"{DOMAIN} {self.name} read"
        )
        return True

    @callback
    def _cancel_due(self) -> None:
        if self._unsub_due is not None:
            self._unsub_due()
            self._unsub_due = None

    async def async_shutdown(self) -> None:
        """Stop with the entry: on unload and on a failed set-up."""
        await super().async_shutdown()
        self._cancel_due()

    async def async_stop(self) -> None:
        """Cancel the timers."""
        self._cancel_due()

    @callback
    def set_zone(self, zone: ZoneInfo) -> None:
        """Take the group's new time zone (the user changed it)."""
        self.zone = zone
        self.async_update_listeners()

    async def _async_read[T](self, read: Callable[[], Awaitable[T]]) -> T:
        # The read a restored one scheduled is this one, or no longer needed.
        self._cancel_due()
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

    read_key = "group"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        store: ViricitiGroupStore,
    ) -> None:
        super().__init__(hass, entry, client, zone, store, GROUP_INTERVAL)
        self.schedule: Schedule | None = None
        self.now: ScheduleNow | None = None
        self._unsub_change: CALLBACK_TYPE | None = None

    async def _async_update_data(self) -> ViricitiGroup:
        read_at = _now()
        group = await self._async_read(self.client.get_group)
        self._restored(group)
        self._remember(group, read_at)
        return group

    def _saved_form(self, data: ViricitiGroup) -> dict[str, Any]:
        return data.as_dict()

    def _load_saved(self, data: Mapping[str, Any]) -> ViricitiGroup:
        return ViricitiGroup.from_dict(data, self.client.group_id)

    def _restored(self, data: ViricitiGroup) -> None:
        self.schedule = Schedule(data.timeframes, data.group_limit, self.zone)
        self._evaluate()

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
        return _upcoming_drop(self.now, self.schedule_default())

    def changes_between(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Tell whether the schedule changed, or a drop turned 'upcoming', in (start, end]."""
        if self.schedule is None:
            return False
        then = self.schedule.at(start)
        moments = (then.next_change, _upcoming_drop(then, self.schedule_default()))
        return any(m is not None and start < m <= end for m in moments)

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
        """Cancel the change timer and the next read's."""
        await super().async_stop()
        self._cancel_change()


class ViricitiGroupStore:
    """The group's file: its write queue and what each coordinator read last.

    Neither a reload nor a restart frees a write slot or buys a read. Reads are kept with the
    address they came from: after a move to another API, what the old one showed is not shown.
    """

    def __init__(self, hass: HomeAssistant, group_id: str, source: str) -> None:
        self.queue: CommandQueue[LimitRequest] = CommandQueue(
            spacing=WRITE_SPACING, max_attempts=MAX_WRITE_ATTEMPTS, load_value=_load_request
        )
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.viriciti_{group_id}"
        )
        self._source = source
        # By coordinator: {"read_at": seconds since the epoch, "source": address, "data": …}.
        self._reads: dict[str, dict[str, Any]] = {}
        self._loaded = False
        # A write of the reads is asked for: asking again would put it off (Store moves a
        # delayed write to the newest delay), and reads every 5 minutes would never be written.
        self._write_asked = False

    async def async_load(self) -> None:
        """Load the saved queue and reads."""
        data = await self._store.async_load() or {}
        if isinstance(commands := data.get("commands"), Mapping):
            self.queue.restore(commands, _now())
        if isinstance(reads := data.get("reads"), Mapping):
            self._reads = {
                key: dict(read)
                for key, read in reads.items()
                if isinstance(key, str) and isinstance(read, Mapping)
            }
        self._loaded = True

    def saved_read(self, key: str) -> tuple[float, Mapping[str, Any]] | None:
        """Return when a coordinator's saved read was made and what it showed, if any."""
        read = self._reads.get(key)
        if read is None or read.get("source") != self._source:
            return None
        read_at, data = read.get("read_at"), read.get("data")
        if not isinstance(read_at, int | float) or not isinstance(data, Mapping):
            return None
        return float(read_at), data

    def remember(self, key: str, read_at: float, data: dict[str, Any]) -> None:
        """Keep a coordinator's newest read, without a write of its own.

        Written with the next save, when Home Assistant stops (which unloads no entry), or
        an hour later at the latest.
        """
        if not self._loaded:
            return
        self._reads[key] = {"read_at": read_at, "source": self._source, "data": data}
        if not self._write_asked:
            self._write_asked = True
            self._store.async_delay_save(self._saved, READ_SAVE_DELAY)

    def _saved(self) -> dict[str, Any]:
        self._write_asked = False
        return {"commands": self.queue.as_dict(), "reads": self._reads}

    async def async_save(self) -> None:
        """Save now: called before every POST, so a crash cannot forget one.

        Not before the saved queue was loaded: a group whose set-up failed before would
        overwrite its waiting limit and the time of its last one with nothing.
        """
        if self._loaded:
            await self._store.async_save(self._saved())


class ViricitiLimitCoordinator(WriterHooks[LimitRequest], _ViricitiCoordinator[ViricitiGroupLimit]):
    """Reads the group limit every 5 minutes and posts external limits through the queue."""

    read_key = "limit"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        store: ViricitiGroupStore,
        group: ViricitiGroupCoordinator,
        default_duration: dt.timedelta,
    ) -> None:
        super().__init__(hass, entry, client, zone, store, LIMIT_INTERVAL)
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
        self._remember(limits, fetched_at)
        # While a POST is out, a read may show the group before it: the POST's own answer
        # verifies it instead.
        if not self._send_lock.locked() and self._verify(limits, fetched_at):
            # Saved at once, not only when Home Assistant stops: after a crash the limit
            # must not come back as still to be checked (reported twice, or sent again).
            await self.store.async_save()
        self._schedule_moment(limits)
        return limits

    def _saved_form(self, data: ViricitiGroupLimit) -> dict[str, Any]:
        return data.as_dict()

    def _load_saved(self, data: Mapping[str, Any]) -> ViricitiGroupLimit:
        return ViricitiGroupLimit.from_dict(data)

    def _stale(self, data: ViricitiGroupLimit, read_at: float, now: float) -> bool:
        """Tell whether the external limit ended, or the schedule changed, since the read."""
        then, until = _utc(read_at), _utc(now)
        end = data.external.end if data.external else None
        return (end is not None and then < end <= until) or self.group.changes_between(then, until)

    def _restored(self, data: ViricitiGroupLimit) -> None:
        self._schedule_moment(data)

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

    def _verify(self, limits: ViricitiGroupLimit, data_time: float) -> bool:
        """Check the limit sent against a read; tell whether it was checked."""
        in_force = _in_force(limits)
        return bool(
            self.writer.verify(lambda _: in_force, data_time, parameters=(PARAMETER_LIMIT,))
        )

    # The writer's hooks

    send_errors = (EvChargeControlError, ValueError)

    async def async_send_command(self, sent: SentCommand[LimitRequest]) -> None:
        """Post the limit; the group's answer verifies it (and clears a refusal's repair)."""
        answer = await self.client.set_group_limit(
            sent.value.limit, _utc(sent.value.end).astimezone(self.zone)
        )
        ir.async_delete_issue(self.hass, DOMAIN, self._refusal_issue_id)
        self._cancel_due()
        # The writer saves the queue, and with it this answer, once the POST is done.
        self._remember(answer, _now())
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
        self._cancel_due()
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


class ViricitiStationCoordinator(KeptDeviceInfo, EvChargeCoordinator[Mapping[int, float | None]]):
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

    read_key = "time series"

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: ViricitiClient,
        zone: ZoneInfo,
        store: ViricitiGroupStore,
    ) -> None:
        super().__init__(hass, entry, client, zone, store, SERIES_INTERVAL)
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
        read_at = _now()
        end = _utc(read_at)
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
        series = self._merge(previous, samples)
        self._remember(series, read_at)
        return series

    def _saved_form(self, data: ViricitiSeries) -> dict[str, Any]:
        return {
            "last_time": data.last_time.isoformat() if data.last_time else None,
            "group_limit": data.group_limit,
            "listed": sorted(self._listed),
            # Positions as lists of pairs: JSON keys are text.
            "stations": {
                station: [[position, limit] for position, limit in limits.items()]
                for station, limits in data.stations.items()
            },
        }

    def _load_saved(self, data: Mapping[str, Any]) -> ViricitiSeries | None:
        last_time = parse_time(data.get("last_time"))
        stations: dict[str, dict[int, float | None]] = {}
        saved = data.get("stations")
        for station, pairs in (saved if isinstance(saved, Mapping) else {}).items():
            if not isinstance(station, str) or not isinstance(pairs, list):
                return None
            limits = stations[station] = {}
            for position, limit in pairs:
                if type(position) is not int:
                    return None
                limits[position] = as_finite_float(limit)
        listed = data.get("listed")
        if last_time is None or not isinstance(listed, list):
            return None
        self._listed = frozenset(item for item in listed if isinstance(item, str))
        return ViricitiSeries(last_time, as_finite_float(data.get("group_limit")), stations)

    def _restored(self, data: ViricitiSeries) -> None:
        """Add the stations and push their limits, as the read that found them did."""
        new = {station: sorted(limits) for station, limits in data.stations.items()}
        self._publish(data, new, [])

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
        self._publish(series, new, gone)
        return series

    def _publish(self, series: ViricitiSeries, new: dict[str, list[int]], gone: list[str]) -> None:
        """Add what is new, remove what has gone, and push each station's limits."""
        if new and self.on_new is not None:
            self.on_new(new)
        if gone and self.on_gone is not None:
            self.on_gone(gone)
        for station_id, limits in series.stations.items():
            station = self.stations.get(station_id)
            if station is not None and (station.data != limits or not station.last_update_success):
                station.async_set_updated_data(dict(limits))

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
