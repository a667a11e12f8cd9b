"""Client for the ViriCiti Smart Charging API: charger group, group limits, limit time series."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import datetime as dt
import logging
import re
import time
from typing import Final
from urllib.parse import quote

import aiohttp
from yarl import URL

from .errors import (
    ApiError,
    AuthenticationError,
    CommandRefusedError,
    EvChargeControlError,
    ExternalLimitsNotAllowedError,
    NotFoundError,
    RateLimitedError,
    parse_retry_after,
)
from .http import HttpAnswer, send
from .values import as_bool, as_finite_float, parse_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://sdk.viriciti.com"
DEFAULT_TIMEOUT: Final = 30.0
API_PREFIX: Final = "/api/v1/smartcharging"
# The document: the time series can be queried for at most 31 days at a time.
MAX_SERIES_RANGE: Final = dt.timedelta(days=31)
LIMIT_SOURCES: Final = ("external", "upcoming", "scheduled", "default")

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_MS: Final = dt.timedelta(milliseconds=1)
_MAX_RANGE_MS: Final = MAX_SERIES_RANGE // _ONE_MS
# The document writes offsets as "+00.00"; read them as "+00:00".
_ODD_OFFSET: Final = re.compile(r"([+-][0-9]{2})\.([0-9]{2})$")
# Statuses with which a POST may say the group takes no external limits (its text names them).
_EXTERNAL_REFUSALS: Final = frozenset({403, 409, 422})
_REDACTED: Final = "**REDACTED**"
_MAX_MESSAGE: Final = 200


# Lenient readers: a value of the wrong type is unknown (None), never a crash.


def _as_int(value: object) -> int | None:
    number = as_finite_float(value)
    return int(number) if number is not None and number.is_integer() else None


def _as_str(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _as_cron(value: object) -> str | None:
    """Keep a cron expression exactly as given (it is evaluated elsewhere)."""
    return value if isinstance(value, str) and value.strip() else None


def parse_time(value: object) -> dt.datetime | None:
    """Read an ISO 8601 time, also with the document's "+00.00" offsets; None when unreadable.

    The offset is kept as given. A time without one is taken as UTC (the API always sends one).
    """
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(_ODD_OFFSET.sub(r"\1:\2", value.strip()))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _object(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class ViricitiTimeframe:
    """A peak-shaving timeframe of a group: ``limit`` kW from cron ``start`` until cron ``end``.

    The cron expressions are in the group's time zone, day of week 0 = Sunday; an ``end`` of
    ``0 0 * * …`` is the midnight at the end of the day it names.
    """

    name: str
    start: str
    end: str
    limit: float | None
    active: bool


@dataclass(frozen=True, slots=True)
class ViricitiGroup:
    """A charger group: its title, default limit (kW) and active timeframes."""

    id: str
    title: str
    group_limit: float | None
    timeframes: tuple[ViricitiTimeframe, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, object], group_id: str) -> ViricitiGroup:
        """Build the group from a chargergroup answer (``group_id``: when it names none)."""
        raw = data.get("timeframes")
        timeframes = (_timeframe(item) for item in (raw if isinstance(raw, list) else []))
        own_id = _as_str(data.get("id")) or group_id
        return cls(
            id=own_id,
            title=_as_str(data.get("title")) or own_id,
            group_limit=as_finite_float(data.get("groupLimit")),
            timeframes=tuple(item for item in timeframes if item is not None),
        )

    def as_dict(self) -> dict[str, object]:
        """Return the group as a chargergroup answer holds it (``from_dict`` reads it back)."""
        return {
            "id": self.id,
            "title": self.title,
            "groupLimit": self.group_limit,
            "timeframes": [
                {
                    "name": t.name,
                    "start": t.start,
                    "end": t.end,
                    "limit": t.limit,
                    "active": t.active,
                }
                for t in self.timeframes
            ],
        }


@dataclass(frozen=True, slots=True)
class ViricitiExternalLimit:
    """A limit set through the API: ``limit`` kW from ``start`` until ``end`` (aware)."""

    limit: float
    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ViricitiScheduledLimit:
    """A limit from a timeframe (scheduled or upcoming); start and end are cron expressions.

    An upcoming drop back to the default limit comes without start and end.
    """

    limit: float
    start: str | None
    end: str | None


@dataclass(frozen=True, slots=True)
class ViricitiGroupLimit:
    """Every limit of a group now and which one is in force (``active``)."""

    active: str
    default_limit: float | None
    external: ViricitiExternalLimit | None
    scheduled: ViricitiScheduledLimit | None
    upcoming: ViricitiScheduledLimit | None

    @property
    def active_limit(self) -> float | None:
        """Return the kW of the limit in force (None when the answer does not say)."""
        limits: dict[str, float | None] = {
            "external": self.external.limit if self.external else None,
            "upcoming": self.upcoming.limit if self.upcoming else None,
            "scheduled": self.scheduled.limit if self.scheduled else None,
            "default": self.default_limit,
        }
        return limits.get(self.active)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ViricitiGroupLimit:
        """Build the limits from a grouplimit answer, ignoring unknown fields."""
        external = _external(data.get("external"))
        scheduled = _scheduled(data.get("scheduled"))
        upcoming = _scheduled(data.get("upcoming"))
        active = _as_str(data.get("activeLimit"))
        if active is None:
            # Not said: the document's order of precedence over what is there.
            present = (external, upcoming, scheduled)
            active = next(
                (name for name, item in zip(LIMIT_SOURCES, present, strict=False) if item),
                "default",
            )
        return cls(
            active=active,
            default_limit=as_finite_float(_object(data.get("default")).get("limit")),
            external=external,
            scheduled=scheduled,
            upcoming=upcoming,
        )

    def as_dict(self) -> dict[str, object]:
        """Return the limits as a grouplimit answer holds them (``from_dict`` reads them back)."""
        external = self.external
        return {
            "activeLimit": self.active,
            "default": {"limit": self.default_limit},
            "external": None
            if external is None
            else {
                "limit": external.limit,
                "start": external.start.isoformat() if external.start else None,
                "end": external.end.isoformat() if external.end else None,
            },
            "scheduled": _scheduled_as_dict(self.scheduled),
            "upcoming": _scheduled_as_dict(self.upcoming),
        }


def _scheduled_as_dict(limit: ViricitiScheduledLimit | None) -> dict[str, object] | None:
    return None if limit is None else {"limit": limit.limit, "start": limit.start, "end": limit.end}


@dataclass(frozen=True, slots=True)
class ViricitiConnectorLimit:
    """The power one connector of a charge station was allowed, in kW."""

    chargestation: str
    position: int
    limit: float | None


@dataclass(frozen=True, slots=True)
class ViricitiSample:
    """One time series sample: the group limit in force and each connector's limit."""

    time: dt.datetime
    group_limit: float | None
    limits: tuple[ViricitiConnectorLimit, ...]


def _external(value: object) -> ViricitiExternalLimit | None:
    data = _object(value)
    limit = as_finite_float(data.get("limit"))
    if limit is None:
        return None
    return ViricitiExternalLimit(limit, parse_time(data.get("start")), parse_time(data.get("end")))


def _scheduled(value: object) -> ViricitiScheduledLimit | None:
    data = _object(value)
    limit = as_finite_float(data.get("limit"))
    if limit is None:
        return None
    return ViricitiScheduledLimit(limit, _as_cron(data.get("start")), _as_cron(data.get("end")))


def _timeframe(value: object) -> ViricitiTimeframe | None:
    data = _object(value)
    start, end = _as_cron(data.get("start")), _as_cron(data.get("end"))
    if start is None or end is None:
        return None
    return ViricitiTimeframe(
        name=_as_str(data.get("name")) or "",
        start=start,
        end=end,
        limit=as_finite_float(data.get("limit")),
        # Only active timeframes are listed, so a missing flag means active.
        active=as_bool(data.get("active")) is not False,
    )


def _connector(value: object) -> ViricitiConnectorLimit | None:
    data = _object(value)
    station = _as_str(data.get("chargestation"))
    position = _as_int(data.get("position"))
    if station is None or position is None:
        return None
    return ViricitiConnectorLimit(station, position, as_finite_float(data.get("limit")))


def _sample(value: object) -> ViricitiSample | None:
    data = _object(value)
    moment = parse_time(data.get("time"))
    if moment is None:
        return None  # a sample that cannot be placed in time is of no use
    raw = data.get("limits")
    connectors = (_connector(item) for item in (raw if isinstance(raw, list) else []))
    return ViricitiSample(
        time=moment,
        group_limit=as_finite_float(data.get("groupLimit")),
        limits=tuple(item for item in connectors if item is not None),
    )


def _append_after_seam(samples: list[ViricitiSample], chunk: list[ViricitiSample]) -> None:
    """Add a later query's samples, without the ones the earlier query already gave."""
    if not samples:
        samples.extend(chunk)
        return
    last = samples[-1].time
    at_seam = {sample for sample in samples if sample.time == last}
    samples.extend(
        sample
        for sample in chunk
        if sample.time > last or (sample.time == last and sample not in at_seam)
    )


def _to_ms(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _ONE_MS


def _check_aware(name: str, moment: dt.datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone)")


def _is_system_time(clock: object) -> bool:
    # The default argument is the real time.time as bound at import; freezegun swaps the
    # module attribute, so the default is replaced by a fresh time.time() lookup per call.
    return getattr(clock, "__self__", None) is time and getattr(clock, "__name__", "") == "time"


class ViricitiClient:
    """Talks to the ViriCiti Smart Charging API for one charger group.

    The API key travels in the ``x-api-key`` header only, never in a URL, a log line or an
    exception. Errors are raised outside ``except`` blocks, so aiohttp's exceptions (which
    know the request headers) never ride along as ``__context__``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        group_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], float] = time.time,
        request_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not api_key.strip():
            raise ValueError("the ViriCiti API key must not be empty")
        if not group_id.strip() or group_id in {".", ".."}:
            raise ValueError(f"not a ViriCiti group id: {group_id!r}")
        self._session = session
        self._api_key = api_key
        self._group_id = group_id
        self._group_segment = quote(group_id, safe="")
        self._base = str(URL(base_url)).rstrip("/")
        self._clock = None if _is_system_time(clock) else clock
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)

    def __repr__(self) -> str:
        return f"ViricitiClient(base_url={self._base!r}, group_id={self._group_id!r})"

    @property
    def group_id(self) -> str:
        """Return the id of the charger group this client talks about."""
        return self._group_id

    async def get_group(self) -> ViricitiGroup:
        """Return the group's title, default limit and active timeframes."""
        path = self._path("chargergroup")
        data = self._json_object(await self._request("GET", path), f"ViriCiti GET {path}")
        return ViricitiGroup.from_dict(data, self._group_id)

    async def get_group_limit(self) -> ViricitiGroupLimit:
        """Return every limit of the group now and which one is in force."""
        path = self._path("grouplimit")
        answer = await self._request("GET", path)
        return ViricitiGroupLimit.from_dict(self._json_object(answer, f"ViriCiti GET {path}"))

    async def set_group_limit(self, limit: int, end_time: dt.datetime) -> ViricitiGroupLimit:
        """Limit the group to ``limit`` kW until ``end_time`` (aware, in the group's zone).

        Raises ValueError, before sending anything, for a limit that is not a positive integer
        or an end time that is naive or not in the future.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ValueError(f"the group limit must be a positive integer of kW, not {limit!r}")
        _check_aware("end_time", end_time)
        if end_time.timestamp() <= self._now():
            raise ValueError("end_time must be in the future")
        path = self._path("grouplimit")
        # isoformat writes a standard "+01:00" offset, never the document's "+01.00".
        body = {"groupLimit": limit, "endTime": end_time.isoformat(timespec="milliseconds")}
        answer = await self._request("POST", path, body=body)
        if not answer.body.strip():
            # Taken, but the answer says nothing: ask for the limits that are now in force.
            return await self.get_group_limit()
        return ViricitiGroupLimit.from_dict(self._json_object(answer, f"ViriCiti POST {path}"))

    async def get_power_limits(self, start: dt.datetime, end: dt.datetime) -> list[ViricitiSample]:
        """Return the group's samples between ``start`` and ``end`` (aware), oldest first.

        A range longer than 31 days is asked for in consecutive queries of at most 31 days;
        a sample at the seam of two queries is given once.
        """
        _check_aware("start", start)
        _check_aware("end", end)
        if end < start:
            raise ValueError("end must not be before start")
        path = self._path("time")
        where = f"ViriCiti GET {path}"
        first, last = _to_ms(start), _to_ms(end)
        samples: list[ViricitiSample] = []
        while True:
            until = min(last, first + _MAX_RANGE_MS)
            params = {"start": str(first), "end": str(until)}
            data = self._json(await self._request("GET", path, params=params), where)
            if not isinstance(data, list):
                raise ApiError(f"{where}: answer is not a JSON list")
            chunk = [sample for item in data if (sample := _sample(item)) is not None]
            chunk.sort(key=lambda sample: sample.time)
            _append_after_seam(samples, chunk)
            if until >= last:
                return samples
            first = until

    # Requests

    def _path(self, resource: str) -> str:
        return f"{API_PREFIX}/{resource}/{self._group_segment}"

    def _now(self) -> float:
        return time.time() if self._clock is None else self._clock()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> HttpAnswer:
        """Send a request with the key in its header; return the 2xx answer or raise."""
        url = URL(self._base + path, encoded=True)
        if params:
            url = url.with_query(params)
        headers = {"Accept": "application/json", "x-api-key": self._api_key}
        _LOGGER.debug("ViriCiti %s %s", method, path)
        where = f"ViriCiti {method} {path}"
        answer = await send(
            self._session,
            method,
            url,
            request_timeout=self._timeout,
            where=where,
            redact=self._redact,
            headers=headers,
            json=body,
        )
        if not answer.ok:
            raise self._error(answer, where, posting=method == "POST")
        return answer

    def _error(self, answer: HttpAnswer, where: str, *, posting: bool) -> EvChargeControlError:
        """Return the exception for a non-2xx answer.

        A POST's other 4xx is a refusal (``CommandRefusedError``, its status as the code): the
        group would answer the same limit the same way again. A 5xx may pass.
        """
        status = answer.status
        message = self._message(answer.body)
        quoted = f" {message!r}" if message else ""
        if (
            posting
            and status in _EXTERNAL_REFUSALS
            and message is not None
            and "external" in message.lower()
        ):
            return ExternalLimitsNotAllowedError(
                f"{where}: the group does not accept external limits (HTTP {status})"
            )
        if status in (401, 403):
            return AuthenticationError(f"{where}: API key refused (HTTP {status}){quoted}")
        if status == 404:
            return NotFoundError(f"{where}: charger group not found (HTTP 404)")
        if status == 429:
            return RateLimitedError(
                f"{where}: rate limited (HTTP 429)", self._retry_after(answer.retry_after)
            )
        if posting and answer.refused:
            return CommandRefusedError(f"{where}: refused (HTTP {status}){quoted}", status)
        return ApiError(f"{where}: HTTP {status}{quoted}")

    def _message(self, body: bytes) -> str | None:
        """Return the error text of a JSON answer (``error`` or ``message``), redacted."""
        data: object = None
        try:
            data = parse_json(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        text = _as_str(data.get("error")) or _as_str(data.get("message"))
        return self._redact(text)[:_MAX_MESSAGE] if text is not None else None

    def _retry_after(self, value: str | None) -> float | None:
        return parse_retry_after(value, self._now())

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED)

    @staticmethod
    def _json(answer: HttpAnswer, where: str) -> object:
        failure: str | None = None
        data: object = None
        try:
            data = parse_json(answer.body)
        except ValueError:
            # Neither the body (maybe a proxy page) nor the parser's message travels on.
            failure = f"answer is not JSON (HTTP {answer.status}, {len(answer.body)} bytes)"
        if failure is not None:
            raise ApiError(f"{where}: {failure}")
        return data

    def _json_object(self, answer: HttpAnswer, where: str) -> Mapping[str, object]:
        data = self._json(answer, where)
        if not isinstance(data, dict):
            raise ApiError(f"{where}: answer is not a JSON object")
        return data
