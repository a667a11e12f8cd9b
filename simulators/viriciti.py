"""Simulator of the ViriCiti Smart Charging API (charger groups, group limits, time series).

The wire contract is `viriciti-smart-charging-api.txt` and the ViriCiti notes in the shared
vendor README. Where the document is silent, this module decides (each choice is named in a
comment or docstring):

- Timeframes are cron pairs evaluated in the group's IANA time zone (cronsim; day of week
  0 = Sunday). A timeframe runs from a `start` firing until the first `end` firing after it;
  an `end` at minute 0, hour 0 means midnight at the END of the day it names, so
  `0 16 * * 5` .. `0 0 * * 5` is Friday 16:00 to Saturday 00:00. When timeframes overlap the
  lowest limit wins.
- `upcoming` looks ahead `lookahead` seconds (15 minutes by default) for a drop of the
  scheduled-or-default limit, boundary included: from 15:45 on, a 16:00 drop is upcoming.
  When the drop is a timeframe starting, `upcoming` carries its limit, start and end; when it
  is a timeframe ending (back to a lower default), only the limit.
- The time series holds a sample at every change of the active group limit or of a
  connector's allocation, and one every `sample_interval` seconds (5 minutes, on multiples of
  it since the epoch). Allocations share the active limit among connectors with demand
  (water-filling, floored to 0.1 kW); idle connectors get 0. Queries are inclusive at both
  ends; the simulator keeps `HISTORY_SECONDS` of samples.
- Errors are JSON `{"error": text}`: 400 bad input, 401 missing or unknown key, 403 a key
  without access to the group, 403 a group that does not accept external limits (its text
  names external limits), 404 unknown group or route, 405 wrong method, 429 too many POSTs
  (only with `min_post_interval`, off by default: the document names no number).
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time as dt_time, timedelta
from itertools import takewhile
import logging
import math
import re
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from aiohttp.typedefs import Handler
from cronsim import CronSim, CronSimError

from simulators.server import (
    BAD_JSON,
    PathFaultServer,
    admin_error,
    json_object,
    parse_body,
    wall_clock,
)

_LOGGER = logging.getLogger(__name__)

API_PREFIX: Final = "/api/v1/smartcharging"
LOOKAHEAD_SECONDS: Final = 900.0  # how far `upcoming` looks for a drop
SAMPLE_INTERVAL: Final = 300.0  # a time series sample at least this often
MAX_RANGE_MS: Final = 31 * 86400 * 1000  # the document: at most 31 days per query
HISTORY_SECONDS: Final = 100 * 86400  # samples older than this are forgotten
BASE_LATENCY: Final = 0.2  # seconds per answer, scaled by latency_scale
_CHUNK_SECONDS: Final = 86400.0  # the time series is recorded a day at a time

SOURCES: Final = ("external", "upcoming", "scheduled", "default")
FAULT_KINDS: Final = frozenset({"delay", "http_500", "non_json", "drop", "http_429", "wrong_shape"})

DEMO_KEY: Final = "demo-viriciti-key-0123456789"
DEMO_GROUP: Final = "Depot"

MISSING_KEY: Final[dict[str, object]] = {"error": "Missing API key"}
INVALID_KEY: Final[dict[str, object]] = {"error": "Invalid API key"}
NO_ACCESS: Final[dict[str, object]] = {"error": "API key has no access to this charger group"}
GROUP_NOT_FOUND: Final[dict[str, object]] = {"error": "Charger group not found"}
NOT_FOUND: Final[dict[str, object]] = {"error": "Not Found"}
METHOD_NOT_ALLOWED: Final[dict[str, object]] = {"error": "Method Not Allowed"}
EXTERNAL_NOT_ALLOWED: Final[dict[str, object]] = {
    "error": "External limits are not allowed for this charger group"
}
TOO_MANY_REQUESTS: Final[dict[str, object]] = {"error": "Too Many Requests"}

GROUP_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.~-]{1,64}")
_ODD_OFFSET: Final = re.compile(r"([+-][0-9]{2})\.([0-9]{2})$")


# --- formats ------------------------------------------------------------------------------------


def _to_ms(moment: float) -> int:
    return round(moment * 1000)


def series_time(moment: float) -> str:
    """Write a time series timestamp the way the document does: `2020-07-16T16:20:05.000Z`."""
    local = datetime.fromtimestamp(_to_ms(moment) / 1000, UTC)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}Z"


def limit_time(moment: float, zone: ZoneInfo, *, odd: bool = True) -> str:
    """Write a group limit time in the group's zone: `2021-02-10T16:20:00.000+00.00`.

    The document writes the offset with a dot (`odd`); `odd=False` writes `+00:00`.
    """
    local = datetime.fromtimestamp(_to_ms(moment) / 1000, zone)
    offset = local.utcoffset() or timedelta(0)
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    separator = "." if odd else ":"
    return (
        f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}"
        f"{sign}{hours:02d}{separator}{rest:02d}"
    )


def parse_end_time(text: str, zone: ZoneInfo) -> float:
    """Read an ISO 8601 `endTime`; a `+01.00` offset is read as `+01:00`.

    A time without an offset is taken in the group's zone (the document asks for that zone).
    Raises ValueError when the text is no ISO 8601 time.
    """
    moment = datetime.fromisoformat(_ODD_OFFSET.sub(r"\1:\2", text.strip()))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def _number(value: float) -> int | float:
    """Give whole numbers as JSON integers, like the document's examples."""
    return int(value) if float(value).is_integer() else value


def zone_of(name: str) -> ZoneInfo:
    """Return the IANA zone of that name; ValueError when there is none."""
    try:
        return ZoneInfo(name)
    except ValueError, OSError, ZoneInfoNotFoundError:
        raise ValueError(f"unknown time zone: {name}") from None


# --- cron ---------------------------------------------------------------------------------------


def check_cron(expression: object) -> str:
    """Return the expression if cronsim can read it and it ever fires; else ValueError."""
    if not isinstance(expression, str):
        raise TypeError("a cron expression must be a string")
    try:
        next(CronSim(expression, datetime(2026, 1, 1, tzinfo=UTC)))
    except CronSimError as err:
        raise ValueError(f"bad cron expression {expression!r}: {err}") from None
    except StopIteration:  # pragma: no cover - cronsim refuses the days no month has
        raise ValueError(f"cron expression {expression!r} never fires") from None
    return expression


def _is_midnight(expression: str) -> bool:
    minute, hour = expression.split()[:2]
    return minute.isdigit() and hour.isdigit() and int(minute) == 0 and int(hour) == 0


def _local(moment: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(moment, zone)


def _fires_after(expression: str, zone: ZoneInfo, moment: float) -> Iterator[float]:
    """Yield the firings strictly after `moment` (cron has whole minutes)."""
    # cronsim stops only after 50 years without a firing; callers stop long before.
    for fire in CronSim(expression, _local(moment, zone)):  # pragma: no branch
        yield fire.timestamp()


def _latest_fire(expression: str, zone: ZoneInfo, moment: float) -> float | None:
    """Return the latest firing at or before `moment`, None when there is none."""
    # cronsim drops the seconds and steps one minute back before it looks. The minute is
    # added on the wall clock: 60 real seconds can land in an hour the clocks repeat.
    fire = next(
        CronSim(expression, _local(moment, zone) + timedelta(minutes=1), reverse=True), None
    )
    return None if fire is None else fire.timestamp()


def _end_after(expression: str, zone: ZoneInfo, start: float) -> float:
    """Return when a timeframe that started at `start` ends (math.inf: never)."""
    if not _is_midnight(expression):
        return next(_fires_after(expression, zone, start), math.inf)
    # "0 0 ... D" is the midnight that ends day D: the first such day on or after the start's.
    day = _local(start, zone).date()
    probe = datetime.combine(day, dt_time(0), zone) - timedelta(minutes=1)
    fire = next(CronSim(expression, probe), None)
    if fire is None:  # pragma: no cover - every checked expression fires within 50 years
        return math.inf
    return datetime.combine(fire.date() + timedelta(days=1), dt_time(0), zone).timestamp()


# --- the simulated objects ----------------------------------------------------------------------


@dataclass(frozen=True)
class ViricitiTimeframeSim:
    """A peak-shaving timeframe: `limit` kW from each `start` firing until the next `end`."""

    name: str
    start: str
    end: str
    limit: int | float
    active: bool = True

    def as_json(self) -> dict[str, object]:
        """Return the timeframe as the charger group answer lists it."""
        return {
            "active": self.active,
            "start": self.start,
            "end": self.end,
            "limit": _number(self.limit),
            "name": self.name,
        }


def make_timeframe(value: object) -> ViricitiTimeframeSim:
    """Check a timeframe (object or the API's JSON shape); ValueError or TypeError if bad."""
    if isinstance(value, ViricitiTimeframeSim):
        data: Mapping[str, object] = asdict(value)
    elif isinstance(value, Mapping):
        data = value
    else:
        raise TypeError("a timeframe must be an object")
    unknown = set(data) - {"name", "start", "end", "limit", "active"}
    if unknown:
        raise ValueError(f"unknown timeframe keys: {', '.join(sorted(unknown))}")
    name, active = data.get("name", ""), data.get("active", True)
    if not isinstance(name, str):
        raise TypeError("a timeframe name must be a string")
    if not isinstance(active, bool):
        raise TypeError("active must be true or false")
    return ViricitiTimeframeSim(
        name,
        check_cron(data.get("start")),
        check_cron(data.get("end")),
        positive_kw("limit", data.get("limit")),
        active,
    )


def positive_kw(name: str, value: object) -> int | float:
    """Return a positive finite number of kW; TypeError or ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of kW")
    return value


def _demand(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a demand must be a number of kW")
    if not math.isfinite(value) or value < 0:
        raise ValueError("a demand must be a finite number of kW >= 0")
    return float(value)


def make_demands(value: object) -> dict[int, float]:
    """Read connector demands: a list (positions 1, 2, ...) or {position: kW}."""
    if isinstance(value, Mapping):
        demands: dict[int, float] = {}
        for key, kw in value.items():
            try:
                position = int(key)
            except TypeError, ValueError:
                raise ValueError(f"a connector position must be an integer, not {key!r}") from None
            if position < 1:
                raise ValueError("connector positions start at 1")
            demands[position] = _demand(kw)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        demands = {position: _demand(kw) for position, kw in enumerate(value, 1)}
    else:
        raise TypeError("demands must be a list or an object")
    if not demands:
        raise ValueError("a charge station needs at least one connector")
    return dict(sorted(demands.items()))


@dataclass(frozen=True)
class ViricitiStationSim:
    """A charge station of a group: kW each connector position would draw (0: idle)."""

    id: str
    demands: dict[int, float]


@dataclass(frozen=True)
class ViricitiExternalSim:
    """An external limit set through the API: `limit` kW from `start` until `end`."""

    limit: int
    start: float
    end: float


@dataclass
class ViricitiGroupSim:
    """A charger group. Change it through the simulator's methods, so history is recorded."""

    id: str
    title: str
    time_zone: str
    default_limit: int | float
    timeframes: tuple[ViricitiTimeframeSim, ...] = ()
    accepts_external_limits: bool = False
    stations: dict[str, ViricitiStationSim] = field(default_factory=dict)
    external: ViricitiExternalSim | None = None
    created: float = 0.0
    last_post: float | None = None
    samples: list[ViricitiSample] = field(default_factory=list, repr=False)
    recorded_until: float = field(default=0.0, repr=False)

    @property
    def zone(self) -> ZoneInfo:
        """Return the group's time zone."""
        return ZoneInfo(self.time_zone)

    def describe(self) -> dict[str, object]:
        """Return the group's settings (for /_sim/groups)."""
        external = self.external
        return {
            "id": self.id,
            "title": self.title,
            "time_zone": self.time_zone,
            "default_limit": _number(self.default_limit),
            "accepts_external_limits": self.accepts_external_limits,
            "timeframes": [tf.as_json() for tf in self.timeframes],
            "stations": {
                station.id: {str(pos): kw for pos, kw in station.demands.items()}
                for station in self.stations.values()
            },
            "external": None if external is None else asdict(external),
        }


@dataclass(frozen=True)
class ViricitiSample:
    """One time series sample: the active group limit and each connector's allocation."""

    time: float
    group_limit: int | float
    limits: tuple[tuple[str, int, int | float], ...]  # (station, position, kW)

    def as_json(self) -> dict[str, object]:
        """Return the sample in the document's shape."""
        return {
            "limits": [
                {"limit": kw, "chargestation": station, "position": position}
                for station, position, kw in self.limits
            ],
            "groupLimit": _number(self.group_limit),
            "time": series_time(self.time),
        }


@dataclass(frozen=True)
class LimitState:
    """Every limit of a group at one moment and the one in force."""

    source: str  # one of SOURCES
    limit: int | float
    default: int | float
    external: ViricitiExternalSim | None
    scheduled: ViricitiTimeframeSim | None
    # The anticipated drop: its limit and the timeframe it comes from (None: the default).
    upcoming: tuple[int | float, ViricitiTimeframeSim | None] | None


@dataclass(frozen=True)
class _Window:
    start: float
    end: float
    timeframe: ViricitiTimeframeSim


def allocate(limit: float, demands: Sequence[float]) -> list[float]:
    """Share `limit` among connectors: each gets its demand or a fair share of what is left."""
    result = [0.0] * len(demands)
    remaining = float(limit)
    wanting = sorted((i for i, kw in enumerate(demands) if kw > 0), key=lambda i: demands[i])
    for done, index in enumerate(wanting):
        share = remaining / (len(wanting) - done)
        given = min(demands[index], share)
        # Floored to 0.1 kW, so the allocations never add up to more than the limit.
        result[index] = math.floor(given * 10 + 1e-9) / 10
        remaining -= result[index]
    return result


# --- requests and faults ------------------------------------------------------------------------


@dataclass(frozen=True)
class ViricitiRequest:
    """One request to the simulated API, as logged (never with the API key)."""

    time: float
    method: str
    path: str
    query: dict[str, str]  # without apiKey
    body: object | None
    status: int
    result: str
    key_sent: bool
    # The key came as the ?apiKey= query parameter (which ends up in logs): a client bug.
    key_in_query: bool


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        body: Mapping[str, object],
        result: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(result)
        self.status = status
        self.body = body
        self.result = result
        self.headers = dict(headers or {})


def _bad(message: str) -> _ApiError:
    return _ApiError(400, {"error": message}, "bad_request")


_GROUP_KEY: Final = "viriciti_group"
_NOW_KEY: Final = "viriciti_now"
_BODY_KEY: Final = "viriciti_body"
# Routes whose answer is a JSON array; the wrong_shape fault answers an object there.
_LIST_ROUTES: Final = frozenset({"time"})


# --- the simulator ------------------------------------------------------------------------------


class ViricitiSimulator(PathFaultServer[ViricitiRequest]):
    """The ViriCiti Smart Charging API for charger groups, as an aiohttp application."""

    fault_kinds = FAULT_KINDS
    too_many_requests_body = TOO_MANY_REQUESTS
    list_routes = _LIST_ROUTES

    def __init__(
        self,
        *,
        clock: Callable[[], float] = wall_clock,
        latency_scale: float = 1.0,
        lookahead: float = LOOKAHEAD_SECONDS,
        sample_interval: float = SAMPLE_INTERVAL,
        odd_offsets: bool = True,
        min_post_interval: float | None = None,
    ) -> None:
        if lookahead < 0:
            raise ValueError("lookahead must not be negative")
        if sample_interval <= 0:
            raise ValueError("sample_interval must be positive")
        super().__init__(clock=clock, latency_scale=latency_scale)
        self.lookahead = lookahead
        self.sample_interval = sample_interval
        self.odd_offsets = odd_offsets
        self.min_post_interval = min_post_interval
        self.groups: dict[str, ViricitiGroupSim] = {}
        # Each key and the groups it opens (None: every group, also later ones).
        self.api_keys: dict[str, set[str] | None] = {}

    # --- setup for tests and the demo -----------------------------------------------------------

    def add_api_key(self, key: str, groups: Iterable[str] | None = None) -> None:
        """Let `key` reach the given groups (None: every group, also those added later)."""
        if not key or key.strip() != key:
            raise ValueError("an API key must be non-empty, without surrounding spaces")
        self.api_keys[key] = None if groups is None else set(groups)

    def grant(self, key: str, group_id: str) -> None:
        """Give an existing key access to one more group."""
        groups = self.api_keys[key]
        if groups is not None:
            groups.add(group_id)

    def revoke_api_key(self, key: str) -> None:
        """Make a key stop working."""
        del self.api_keys[key]

    def add_group(
        self,
        group_id: str,
        title: str | None = None,
        *,
        time_zone: str = "UTC",
        default_limit: float = 400,
        timeframes: Iterable[object] = (),
        accepts_external_limits: bool = False,
    ) -> ViricitiGroupSim:
        """Create a charger group; its time series starts now."""
        if not GROUP_ID_PATTERN.fullmatch(group_id):
            raise ValueError("a group id is 1 to 64 letters, digits or -._~")
        if group_id in self.groups:
            raise ValueError(f"group {group_id} exists")
        zone_of(time_zone)
        now = self._clock()
        group = ViricitiGroupSim(
            group_id,
            title or group_id,
            time_zone,
            positive_kw("default_limit", default_limit),
            tuple(make_timeframe(tf) for tf in timeframes),
            accepts_external_limits,
            created=now,
            recorded_until=now,
        )
        self.groups[group_id] = group
        self._note_change(group, now)
        return group

    def group(self, group_id: str) -> ViricitiGroupSim:
        """Return a group by id."""
        return self.groups[group_id]

    def update_group(self, group_id: str, **changes: object) -> ViricitiGroupSim:
        """Change title, time_zone, default_limit, timeframes or accepts_external_limits."""
        checks: dict[str, Callable[[object], object]] = {
            "title": _non_empty_title,
            "time_zone": _zone_name,
            "default_limit": lambda v: positive_kw("default_limit", v),
            "timeframes": _timeframes,
            "accepts_external_limits": lambda v: _checked_bool("accepts_external_limits", v),
        }
        unknown = set(changes) - set(checks)
        if unknown:
            raise ValueError(f"unknown group fields: {', '.join(sorted(unknown))}")
        checked = {name: checks[name](value) for name, value in changes.items()}
        return self._change(group_id, lambda group: _assign(group, checked))

    def set_time_zone(self, group_id: str, time_zone: str) -> None:
        """Move the group to another IANA time zone (its cron times follow)."""
        self.update_group(group_id, time_zone=time_zone)

    def set_default_limit(self, group_id: str, limit: float) -> None:
        """Change the group's default limit (the chargergroup's groupLimit), in kW."""
        self.update_group(group_id, default_limit=limit)

    def set_timeframes(self, group_id: str, timeframes: Iterable[object]) -> None:
        """Replace the group's timeframes (objects or the API's JSON shape)."""
        self.update_group(group_id, timeframes=list(timeframes))

    def add_timeframe(
        self, group_id: str, name: str, start: str, end: str, limit: float, *, active: bool = True
    ) -> None:
        """Add one timeframe: `limit` kW from each `start` firing until the next `end`."""
        timeframe = make_timeframe(
            {"name": name, "start": start, "end": end, "limit": limit, "active": active}
        )
        self.update_group(group_id, timeframes=[*self.groups[group_id].timeframes, timeframe])

    def set_accepts_external_limits(self, group_id: str, accepts: bool) -> None:
        """Configure whether the group takes limits through POST grouplimit."""
        self.update_group(group_id, accepts_external_limits=accepts)

    def add_station(
        self,
        group_id: str,
        station_id: str,
        demands: Mapping[int, float] | Sequence[float] = (0.0, 0.0),
    ) -> ViricitiStationSim:
        """Put a charge station in the group (or replace its connectors); it shows from now."""
        if not station_id:
            raise ValueError("a charge station needs an id")
        station = ViricitiStationSim(station_id, make_demands(demands))

        def put(group: ViricitiGroupSim) -> None:
            group.stations[station_id] = station

        self._change(group_id, put)
        return station

    def remove_station(self, group_id: str, station_id: str) -> None:
        """Take a charge station out of the group; history keeps it."""
        if station_id not in self.groups[group_id].stations:
            raise KeyError(station_id)

        def drop(group: ViricitiGroupSim) -> None:
            del group.stations[station_id]

        self._change(group_id, drop)

    def set_demand(self, group_id: str, station_id: str, position: int, kw: float) -> None:
        """Set what one connector would draw (0: nothing plugged in or the car is full)."""
        station = self.groups[group_id].stations[station_id]
        if position not in station.demands:
            raise KeyError(position)
        self.add_station(group_id, station_id, {**station.demands, position: _demand(kw)})

    def set_external_limit(self, group_id: str, limit: int, end: float | datetime) -> None:
        """Set an external limit from now until `end`, as a POST would (no checks of the group)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValueError("an external limit is a positive integer")
        end_at = end.timestamp() if isinstance(end, datetime) else float(end)
        now = self._clock()
        if end_at <= now:
            raise ValueError("the end must be in the future")

        def put(group: ViricitiGroupSim) -> None:
            group.external = ViricitiExternalSim(limit, now, end_at)

        self._change(group_id, put)

    def clear_external_limit(self, group_id: str) -> None:
        """Forget the group's external limit."""

        def clear(group: ViricitiGroupSim) -> None:
            group.external = None

        self._change(group_id, clear)

    def requests_to(self, method: str, path: str) -> list[ViricitiRequest]:
        """Return the logged requests with this method and exactly this path."""
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- the model ------------------------------------------------------------------------------

    def state(self, group_id: str, at: float | None = None) -> LimitState:
        """Return every limit of the group at `at` (default: now) and the one in force."""
        group = self.groups[group_id]
        moment = self._clock() if at is None else at
        return self._state(group, self._windows(group, moment, moment + self.lookahead), moment)

    def active_limit(self, group_id: str, at: float | None = None) -> tuple[str, int | float]:
        """Return the source and kW of the limit in force at `at` (default: now)."""
        state = self.state(group_id, at)
        return state.source, state.limit

    def group_limit_answer(self, group_id: str, at: float | None = None) -> dict[str, object]:
        """Return the GET grouplimit answer for `at` (default: now)."""
        return self._limit_json(self.groups[group_id], self.state(group_id, at))

    def samples(self, group_id: str) -> list[ViricitiSample]:
        """Return the group's time series up to now."""
        group = self.groups[group_id]
        self._record(group, self._clock())
        return list(group.samples)

    def _change(self, group_id: str, apply: Callable[[ViricitiGroupSim], None]) -> ViricitiGroupSim:
        group = self.groups[group_id]
        now = self._clock()
        self._record(group, now)  # history up to now under the old settings
        apply(group)
        self._note_change(group, now)
        return group

    def _windows(self, group: ViricitiGroupSim, first: float, last: float) -> list[_Window]:
        """Return the runs of the active timeframes that overlap [first, last]."""
        zone = group.zone
        windows: list[_Window] = []
        for timeframe in group.timeframes:
            if not timeframe.active:
                continue
            latest = _latest_fire(timeframe.start, zone, first)
            starts = [] if latest is None else [latest]
            starts += takewhile(
                lambda start: start <= last, _fires_after(timeframe.start, zone, first)
            )
            for start in starts:
                end = _end_after(timeframe.end, zone, start)
                if end > first:
                    windows.append(_Window(start, end, timeframe))
        return windows

    @staticmethod
    def _normal(
        group: ViricitiGroupSim, windows: Sequence[_Window], moment: float
    ) -> tuple[int | float, ViricitiTimeframeSim | None]:
        """Return the scheduled-or-default limit at `moment` and its timeframe."""
        running = [w.timeframe for w in windows if w.start <= moment < w.end]
        if not running:
            return group.default_limit, None
        # Overlapping timeframes: the lowest limit wins (the first of equal ones).
        lowest = min(running, key=lambda timeframe: timeframe.limit)
        return lowest.limit, lowest

    def _state(
        self, group: ViricitiGroupSim, windows: Sequence[_Window], moment: float
    ) -> LimitState:
        normal, scheduled = self._normal(group, windows, moment)
        boundaries = sorted(
            {
                edge
                for w in windows
                for edge in (w.start, w.end)
                if moment < edge <= moment + self.lookahead
            }
        )
        upcoming: tuple[int | float, ViricitiTimeframeSim | None] | None = None
        for edge in boundaries:
            limit, timeframe = self._normal(group, windows, edge)
            if limit < (normal if upcoming is None else upcoming[0]):
                upcoming = (limit, timeframe)
        external = group.external
        if external is not None and not external.start <= moment < external.end:
            external = None
        if external is not None:
            source, limit = "external", external.limit
        elif upcoming is not None:
            source, limit = "upcoming", upcoming[0]
        elif scheduled is not None:
            source, limit = "scheduled", scheduled.limit
        else:
            source, limit = "default", group.default_limit
        return LimitState(source, limit, group.default_limit, external, scheduled, upcoming)

    def _sample(self, group: ViricitiGroupSim, state: LimitState, moment: float) -> ViricitiSample:
        connectors = [
            (station.id, position, kw)
            for station in group.stations.values()
            for position, kw in station.demands.items()
        ]
        shares = allocate(state.limit, [kw for _, _, kw in connectors])
        return ViricitiSample(
            moment,
            state.limit,
            tuple(
                (station, position, _number(share))
                for (station, position, _), share in zip(connectors, shares, strict=True)
            ),
        )

    def _record(self, group: ViricitiGroupSim, until: float) -> None:
        """Add the samples between the last recorded moment and `until`."""
        first = max(group.recorded_until, until - HISTORY_SECONDS)
        while first < until:
            last = min(until, first + _CHUNK_SECONDS)
            self._record_chunk(group, first, last)
            first = last
        group.recorded_until = max(group.recorded_until, until)
        horizon = until - HISTORY_SECONDS
        old = next((i for i, s in enumerate(group.samples) if s.time >= horizon), None)
        del group.samples[: len(group.samples) if old is None else old]

    def _record_chunk(self, group: ViricitiGroupSim, first: float, last: float) -> None:
        """Record the samples in (first, last]: at every change and every sample_interval."""
        windows = self._windows(group, first, last + self.lookahead)
        interval = self.sample_interval
        periodic = {
            step * interval
            for step in range(math.floor(first / interval) + 1, math.floor(last / interval) + 1)
        }
        edges = {
            edge - shift
            for w in windows
            for edge in (w.start, w.end)
            for shift in (0.0, self.lookahead)
        }
        if group.external is not None:
            edges |= {group.external.start, group.external.end}
        for moment in sorted(periodic | {e for e in edges if first < e <= last}):
            sample = self._sample(group, self._state(group, windows, moment), moment)
            previous = group.samples[-1] if group.samples else None
            if moment in periodic or previous is None or _differs(previous, sample):
                group.samples.append(sample)

    def _note_change(self, group: ViricitiGroupSim, now: float) -> None:
        """Record the group's state right after a change of its settings."""
        moment = max(now, group.recorded_until)
        sample = self._sample(group, self.state(group.id, moment), moment)
        previous = group.samples[-1] if group.samples else None
        if previous is not None and previous.time == moment:
            group.samples[-1] = sample  # only the last state of an instant counts
        elif previous is None or _differs(previous, sample):
            group.samples.append(sample)
        group.recorded_until = moment

    # --- JSON shapes ----------------------------------------------------------------------------

    def group_json(self, group: ViricitiGroupSim) -> dict[str, object]:
        """Return the chargergroup answer: only active timeframes are shown."""
        return {
            "title": group.title,
            "id": group.id,
            "groupLimit": _number(group.default_limit),
            "timeframes": [tf.as_json() for tf in group.timeframes if tf.active],
        }

    def _limit_json(self, group: ViricitiGroupSim, state: LimitState) -> dict[str, object]:
        answer: dict[str, object] = {
            "activeLimit": state.source,
            "default": {"limit": _number(state.default)},
        }
        zone = group.zone
        if state.external is not None:
            answer["external"] = {
                "limit": state.external.limit,
                "start": limit_time(state.external.start, zone, odd=self.odd_offsets),
                "end": limit_time(state.external.end, zone, odd=self.odd_offsets),
            }
        if state.scheduled is not None:
            answer["scheduled"] = _cron_limit(state.scheduled.limit, state.scheduled)
        if state.upcoming is not None:
            answer["upcoming"] = _cron_limit(*state.upcoming)
        return answer

    # --- server ---------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application: the API plus /_sim admin endpoints."""
        app = web.Application(middlewares=[self._middleware])
        get, post, delete = app.router.add_get, app.router.add_post, app.router.add_delete
        group = "{group_id}"
        get(f"{API_PREFIX}/chargergroup/{group}", self._handle_group, allow_head=False)
        get(f"{API_PREFIX}/grouplimit/{group}", self._handle_get_limit, allow_head=False)
        post(f"{API_PREFIX}/grouplimit/{group}", self._handle_post_limit)
        get(f"{API_PREFIX}/time/{group}", self._handle_time, allow_head=False, name="time")
        get("/_sim/requests", self._handle_sim_requests, allow_head=False)
        get("/_sim/groups", self._handle_sim_groups, allow_head=False)
        post("/_sim/groups/{group_id}", self._handle_sim_update_group)
        post("/_sim/groups/{group_id}/stations/{station_id}", self._handle_sim_station)
        delete("/_sim/groups/{group_id}/stations/{station_id}", self._handle_sim_remove_station)
        post("/_sim/groups/{group_id}/external", self._handle_sim_external)
        delete("/_sim/groups/{group_id}/external", self._handle_sim_clear_external)
        post("/_sim/faults", self._handle_sim_fault)
        delete("/_sim/faults", self._handle_sim_clear_faults)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            return await handler(request)
        now = self._clock()
        body = parse_body(await request.read())
        header_key = request.headers.get("x-api-key", "")
        query_key = request.query.get("apiKey", "")
        key_in_query = "apiKey" in request.query

        def log(status: int, result: str) -> None:
            self.requests.append(
                ViricitiRequest(
                    now,
                    request.method,
                    request.path,
                    {k: v for k, v in request.query.items() if k != "apiKey"},
                    None if body is BAD_JSON else body,
                    status,
                    result,
                    bool(header_key or query_key),
                    key_in_query,
                )
            )
            _LOGGER.debug(
                "%s %s -> %s (%s)%s",
                request.method,
                request.path,
                status,
                result,
                " [API key in the query string]" if key_in_query else "",
            )

        faulted = await self._play_fault(request, request.path, log)
        if faulted is not None:
            return faulted
        await self._sleep(BASE_LATENCY)

        request[_NOW_KEY] = now
        request[_BODY_KEY] = body
        try:
            request[_GROUP_KEY] = self._authorize(request, header_key or query_key)
            response = await handler(request)
        except _ApiError as err:
            log(err.status, err.result)
            return web.json_response(err.body, status=err.status, headers=err.headers)
        log(response.status, "ok")
        return response

    def _authorize(self, request: web.Request, key: str) -> ViricitiGroupSim:
        if not key:
            raise _ApiError(401, MISSING_KEY, "missing_key")
        if key not in self.api_keys:
            raise _ApiError(401, INVALID_KEY, "invalid_key")
        error = request.match_info.http_exception
        if isinstance(error, web.HTTPMethodNotAllowed):
            raise _ApiError(405, METHOD_NOT_ALLOWED, "method_not_allowed")
        if error is not None:
            raise _ApiError(404, NOT_FOUND, "not_found")
        group = self.groups.get(request.match_info["group_id"])
        if group is None:
            raise _ApiError(404, GROUP_NOT_FOUND, "group_not_found")
        allowed = self.api_keys[key]
        if allowed is not None and group.id not in allowed:
            raise _ApiError(403, NO_ACCESS, "no_access")
        return group

    # --- API handlers ---------------------------------------------------------------------------

    async def _handle_group(self, request: web.Request) -> web.Response:
        return web.json_response(self.group_json(request[_GROUP_KEY]))

    async def _handle_get_limit(self, request: web.Request) -> web.Response:
        group: ViricitiGroupSim = request[_GROUP_KEY]
        return web.json_response(self.group_limit_answer(group.id, request[_NOW_KEY]))

    async def _handle_post_limit(self, request: web.Request) -> web.Response:
        group: ViricitiGroupSim = request[_GROUP_KEY]
        now: float = request[_NOW_KEY]
        body = request[_BODY_KEY]
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        limit = body.get("groupLimit")
        # A JSON number with an integral value counts as an integer (as in JavaScript).
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not math.isfinite(limit)
            or not float(limit).is_integer()
            or limit <= 0
        ):
            raise _bad("groupLimit must be a positive integer")
        end = _end_time(body.get("endTime"), group.zone)
        if end is None:
            raise _bad("endTime must be an ISO 8601 time")
        if end <= now:
            raise _bad("endTime must be in the future")
        if not group.accepts_external_limits:
            raise _ApiError(403, EXTERNAL_NOT_ALLOWED, "external_not_allowed")
        interval = self.min_post_interval
        if interval is not None and group.last_post is not None:
            wait = group.last_post + interval - now
            if wait > 0:
                raise _too_many(wait)
        group.last_post = now
        self._record(group, now)
        group.external = ViricitiExternalSim(int(limit), now, end)
        self._note_change(group, now)
        return web.json_response(self.group_limit_answer(group.id, now))

    async def _handle_time(self, request: web.Request) -> web.Response:
        group: ViricitiGroupSim = request[_GROUP_KEY]
        start, end = _ms_param(request, "start"), _ms_param(request, "end")
        if end < start:
            raise _bad("end must not be before start")
        if end - start > MAX_RANGE_MS:
            raise _bad("the time series can be queried for a max period of 31 days")
        self._record(group, request[_NOW_KEY])
        return web.json_response(
            [s.as_json() for s in group.samples if start <= _to_ms(s.time) <= end]
        )

    # --- admin endpoints (no key: the simulator binds 127.0.0.1) --------------------------------

    async def _handle_sim_groups(self, request: web.Request) -> web.Response:
        answer = {}
        for group_id, group in self.groups.items():
            answer[group_id] = {**group.describe(), "limit": self.group_limit_answer(group_id)}
        return web.json_response(answer)

    async def _handle_sim_update_group(self, request: web.Request) -> web.Response:
        group_id = request.match_info["group_id"]
        if group_id not in self.groups:
            return admin_error("unknown group", status=404)
        try:
            group = self.update_group(group_id, **(await json_object(request)))
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        return web.json_response(group.describe())

    async def _handle_sim_station(self, request: web.Request) -> web.Response:
        group_id = request.match_info["group_id"]
        if group_id not in self.groups:
            return admin_error("unknown group", status=404)
        try:
            body = await json_object(request)
            demands = make_demands(_demands_body(body))
            self.add_station(group_id, request.match_info["station_id"], demands)
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        return web.json_response(self.groups[group_id].describe())

    async def _handle_sim_remove_station(self, request: web.Request) -> web.Response:
        group_id, station_id = request.match_info["group_id"], request.match_info["station_id"]
        group = self.groups.get(group_id)
        if group is None or station_id not in group.stations:
            return admin_error("unknown group or station", status=404)
        self.remove_station(group_id, station_id)
        return web.json_response(self.groups[group_id].describe())

    async def _handle_sim_external(self, request: web.Request) -> web.Response:
        group_id = request.match_info["group_id"]
        if group_id not in self.groups:
            return admin_error("unknown group", status=404)
        try:
            body = await json_object(request)
            end = _admin_end(body.get("end"), self.groups[group_id].zone)
            self.set_external_limit(group_id, body.get("limit"), end)  # type: ignore[arg-type]
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        return web.json_response(self.group_limit_answer(group_id))

    async def _handle_sim_clear_external(self, request: web.Request) -> web.Response:
        group_id = request.match_info["group_id"]
        if group_id not in self.groups:
            return admin_error("unknown group", status=404)
        self.clear_external_limit(group_id)
        return web.json_response(self.group_limit_answer(group_id))


def add_demo(sim: ViricitiSimulator) -> None:
    """Load the demo: group "Depot" (Europe/Amsterdam, 400 kW), two timeframes, three stations."""
    sim.add_group(
        DEMO_GROUP,
        "Depot",
        time_zone="Europe/Amsterdam",
        default_limit=400,
        accepts_external_limits=True,
        timeframes=[
            {
                "name": "16:00-00:00",
                "start": "0 16 * * 0,1,2,3,4,5,6",
                "end": "0 0 * * 0,1,2,3,4,5,6",
                "limit": 200,
            },
            {
                "name": "00:00-08:00",
                "start": "0 0 * * 0,1,2,3,4,5,6",
                "end": "0 8 * * 0,1,2,3,4,5,6",
                "limit": 100,
            },
        ],
    )
    sim.add_station(DEMO_GROUP, "charger_1", [150, 150])
    sim.add_station(DEMO_GROUP, "charger_2", [100, 0])
    sim.add_station(DEMO_GROUP, "charger_3", [50, 0])
    sim.add_api_key(DEMO_KEY, [DEMO_GROUP])


# --- command line specs (used by simulators.viriciti_vendor) ------------------------------------

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def parse_key_spec(spec: str) -> tuple[str, list[str] | None]:
    """Split "KEY[:GROUP,GROUP,...]" into the key and its groups (None: every group)."""
    key, sep, groups = spec.partition(":")
    if not key:
        raise ValueError("expected KEY or KEY:GROUP,GROUP,...")
    if not sep:
        return key, None
    names = [name for name in groups.split(",") if name]
    if not names:
        raise ValueError("expected at least one group after KEY:")
    return key, names


def parse_group_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split "ID[:title=T,tz=ZONE,default=KW,external]" into the id and add_group options."""
    group_id, sep, rest = spec.partition(":")
    if not group_id:
        raise ValueError("expected ID or ID:key=value,...")
    options: dict[str, Any] = {}
    for item in rest.split(",") if sep else []:
        name, has_value, text = item.partition("=")
        if name == "external":
            options["accepts_external_limits"] = _bool_text(name, text if has_value else None)
        elif not has_value:
            raise ValueError(f"{name or item!r} needs a value")
        elif name == "title":
            options["title"] = text
        elif name == "tz":
            options["time_zone"] = zone_of(text).key
        elif name == "default":
            options["default_limit"] = positive_kw("default", _float_text(name, text))
        else:
            raise ValueError(f"unknown group option {name!r} (use title, tz, default, external)")
    return group_id, options


def parse_timeframe_spec(spec: str) -> tuple[str, dict[str, object]]:
    """Split "GROUP:LIMIT:START:END[:NAME]" (cron START and END) into the group and timeframe."""
    parts = spec.split(":", 4)
    if len(parts) < 4 or not parts[0]:
        raise ValueError("expected GROUP:LIMIT:START:END or GROUP:LIMIT:START:END:NAME")
    group_id, limit, start, end = parts[:4]
    name = parts[4] if len(parts) == 5 else f"{start} - {end}"
    timeframe = make_timeframe(
        {"name": name, "start": start, "end": end, "limit": _float_text("limit", limit)}
    )
    return group_id, asdict(timeframe)


def parse_station_spec(spec: str) -> tuple[str, str, list[float]]:
    """Split "GROUP:STATION[:KW,KW,...]" into group, station and connector demands."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ValueError("expected GROUP:STATION or GROUP:STATION:KW,KW,...")
    texts = parts[2].split(",") if len(parts) == 3 else ["0", "0"]
    demands = [_demand(_float_text("demand", text)) for text in texts]
    return parts[0], parts[1], demands


def _float_text(name: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    return int(number) if number.is_integer() else number


def _bool_text(name: str, text: str | None) -> bool:
    if text is None or text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false")


# --- helpers ------------------------------------------------------------------------------------


def _differs(previous: ViricitiSample, sample: ViricitiSample) -> bool:
    return (previous.group_limit, previous.limits) != (sample.group_limit, sample.limits)


def _cron_limit(limit: int | float, timeframe: ViricitiTimeframeSim | None) -> dict[str, object]:
    answer: dict[str, object] = {"limit": _number(limit)}
    if timeframe is not None:
        answer["start"] = timeframe.start
        answer["end"] = timeframe.end
    return answer


def _too_many(seconds: float) -> _ApiError:
    return _ApiError(
        429, TOO_MANY_REQUESTS, "too_often", {"Retry-After": str(max(1, math.ceil(seconds)))}
    )


def _end_time(value: object, zone: ZoneInfo) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_end_time(value, zone)
    except ValueError:
        return None


def _admin_end(value: object, zone: ZoneInfo) -> float:
    if isinstance(value, str):
        return parse_end_time(value, zone)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("end must be unix seconds or an ISO 8601 time")
    return float(value)


def _demands_body(body: Mapping[str, object]) -> object:
    if set(body) != {"demands"}:
        raise ValueError('the body must be {"demands": [kW, ...]}')
    return body["demands"]


def _ms_param(request: web.Request, name: str) -> int:
    text = request.query.get(name, "")
    if not re.fullmatch(r"-?[0-9]{1,16}", text):
        raise _bad("start and end must be Unix timestamps in milliseconds")
    return int(text)


def _assign(group: ViricitiGroupSim, changes: Mapping[str, object]) -> None:
    for name, value in changes.items():
        setattr(group, name, value)


def _non_empty_title(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("title must be a non-empty string")
    return value


def _zone_name(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("time_zone must be a string")
    return zone_of(value).key


def _timeframes(value: object) -> tuple[ViricitiTimeframeSim, ...]:
    if not isinstance(value, list | tuple):
        raise TypeError("timeframes must be a list")
    return tuple(make_timeframe(item) for item in value)


def _checked_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false")
    return value
