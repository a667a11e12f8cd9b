"""Client for the go-e grid-operator cloud API (``/api_status`` and ``/api_command``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
import re
from typing import Final

import aiohttp
from yarl import URL

from .errors import (
    ApiError,
    AuthenticationError,
    ChargerUnreachableError,
    CommandRefusedError,
    RateLimitedError,
)
from .http import HttpAnswer, send
from .values import as_bool, as_finite_float, parse_json

DEFAULT_BASE_URL: Final = "https://api-grid-operator.go-e.co"
DEFAULT_TIMEOUT: Final = 15.0

CAR_STATES: Final = ("idle", "charging", "wait_car", "finished")
MIN_CURRENT: Final = 6
MAX_CURRENT: Final = 32

COMMAND_PARAMETERS: Final = ("set_current", "set_allow")

_SERIAL_RE: Final = re.compile(r"^[0-9]{1,6}$")  # \d would take any script's digits
_TOKEN_RE: Final = re.compile(r"^[A-Za-z0-9]{32}$")
_AUTH_ERRORS: Final = frozenset({"no token", "wrong token"})
# A command without a parameter: the same request hears it again.
_NO_PAYLOAD: Final = "no payload"
_REDACTED: Final = "**REDACTED**"


def normalize_serial(value: str) -> str:
    """Return the serial as the API wants it (6 digits, zero padded) or raise ValueError."""
    compact = "".join(value.split())
    if not _SERIAL_RE.fullmatch(compact):
        raise ValueError("a go-e serial is a number of at most 6 digits")
    return compact.zfill(6)


def is_valid_grid_token(value: str) -> bool:
    """Tell whether a grid token has the documented shape (32 letters or digits)."""
    return _TOKEN_RE.fullmatch(value) is not None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _phases(value: object) -> tuple[float | None, float | None, float | None]:
    data = value if isinstance(value, Mapping) else {}
    return (
        as_finite_float(data.get("phase_1")),
        as_finite_float(data.get("phase_2")),
        as_finite_float(data.get("phase_3")),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GoeStatus:
    """One status object of a charger; missing or malformed optional fields are None."""

    serial: str | None
    data_is_live: bool | None
    data_age_seconds: int | None
    car_state: str | None
    set_current: int | None
    max_allowed_current: int | None
    charging_enabled: bool | None
    error_state: bool | None
    phase_count: int | None
    phase_charging: int | None
    currents: tuple[float | None, float | None, float | None]
    voltages: tuple[float | None, float | None, float | None]
    next_charge_seconds_left: int | None
    next_charge_duration: int | None
    kwh_total: int | None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GoeStatus:
        """Build a status from the API's JSON object, ignoring fields we do not know."""
        planned = data.get("next_planned_charge")
        planned_map = planned if isinstance(planned, Mapping) else {}
        car_state = data.get("car_state")
        serial = data.get("serial")
        return cls(
            serial=serial if isinstance(serial, str) else None,
            data_is_live=as_bool(data.get("data_is_live")),
            data_age_seconds=_as_int(data.get("data_age_seconds")),
            car_state=car_state if isinstance(car_state, str) else None,
            set_current=_as_int(data.get("set_current")),
            max_allowed_current=_as_int(data.get("max_allowed_current")),
            charging_enabled=as_bool(data.get("charging_enabled")),
            error_state=as_bool(data.get("error_state")),
            phase_count=_as_int(data.get("phase_count")),
            phase_charging=_as_int(data.get("phase_charging")),
            currents=_phases(data.get("currents")),
            voltages=_phases(data.get("voltages")),
            next_charge_seconds_left=_as_int(planned_map.get("seconds_left")),
            next_charge_duration=_as_int(planned_map.get("estimated_duration")),
            kwh_total=_as_int(data.get("kwh_total")),
        )

    def as_dict(self) -> dict[str, object]:
        """Return the status in the API's own JSON shape (``from_dict`` reads it back)."""
        return {
            "serial": self.serial,
            "data_is_live": self.data_is_live,
            "data_age_seconds": self.data_age_seconds,
            "car_state": self.car_state,
            "set_current": self.set_current,
            "max_allowed_current": self.max_allowed_current,
            "charging_enabled": self.charging_enabled,
            "error_state": self.error_state,
            "phase_count": self.phase_count,
            "phase_charging": self.phase_charging,
            "currents": {f"phase_{n}": value for n, value in enumerate(self.currents, 1)},
            "voltages": {f"phase_{n}": value for n, value in enumerate(self.voltages, 1)},
            "next_planned_charge": {
                "seconds_left": self.next_charge_seconds_left,
                "estimated_duration": self.next_charge_duration,
            },
            "kwh_total": self.kwh_total,
        }

    def value_of(self, parameter: str) -> int | None:
        """Return the status value a command parameter sets (for verifying commands)."""
        if parameter == "set_current":
            return self.set_current
        if parameter != "set_allow" or self.charging_enabled is None:
            return None
        return int(self.charging_enabled)


@cache
def _client_timeout(total: float) -> aiohttp.ClientTimeout:
    """Return the timeout of that length: one (frozen) object shared by a fleet's clients."""
    return aiohttp.ClientTimeout(total=total)


class GoeClient:
    """Talks to the grid-operator API for one charger.

    The grid token travels in the query string, so no URL, response object or
    aiohttp exception text is ever put into an exception message or a log line.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        serial: str,
        grid_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self.serial = serial
        self._grid_token = grid_token
        self._base_url = URL(base_url)
        self._timeout = _client_timeout(request_timeout)

    def __repr__(self) -> str:
        return f"GoeClient(serial={self.serial!r}, base_url={str(self._base_url)!r})"

    def with_token(self, grid_token: str) -> GoeClient:
        """Return a client of the same charger and address that sends another grid token."""
        return GoeClient(
            self._session,
            self.serial,
            grid_token,
            base_url=str(self._base_url),
            request_timeout=self._timeout.total or DEFAULT_TIMEOUT,
        )

    async def status(self, *, wait: bool = False) -> GoeStatus:
        """Read the charger's status; ``wait`` asks the cloud to ping the charger first."""
        params = {"wait": "1"} if wait else {}
        data = await self._request("api_status", params, command=False)
        return self._parse_status(data)

    async def command(self, parameter: str, value: int) -> GoeStatus | None:
        """Send one command; return the status when the API answers with a status object."""
        if parameter not in COMMAND_PARAMETERS:
            raise ValueError(f"go-e has no command {parameter!r}")
        data = await self._request("api_command", {parameter: str(value)}, command=True)
        if data.get("success") is True and "payload" in data:
            return None
        return self._parse_status(data)

    def _parse_status(self, data: Mapping[str, object]) -> GoeStatus:
        if "car_state" not in data and "set_current" not in data:
            raise ApiError(f"go-e charger {self.serial}: unexpected answer without status fields")
        return GoeStatus.from_dict(data)

    def _redact(self, text: str) -> str:
        return text.replace(self._grid_token, _REDACTED) if self._grid_token else text

    async def _request(
        self, endpoint: str, extra: Mapping[str, str], *, command: bool
    ) -> dict[str, object]:
        """Send one request; return its JSON object or raise.

        A command the cloud refuses raises ``CommandRefusedError``: "no payload", another error
        the document does not name in a 2xx or 4xx answer, or any other 4xx answer. Sending it
        again hears the same; the cloud's own trouble (5xx) and a rate limit may pass.
        """
        url = (self._base_url / endpoint).with_query(
            {"serial": self.serial, "gridtoken": self._grid_token, **extra}
        )
        where = f"go-e {endpoint} for charger {self.serial}"
        answer = await send(
            self._session,
            "GET",
            url,
            request_timeout=self._timeout,
            where=where,
            redact=self._redact,
        )
        http_status, body = answer.status, answer.body
        # Raised outside the except block, so the parser's error is not its __context__.
        failure: str | None = None
        data: object = None
        try:
            data = parse_json(body)
        except ValueError:
            # The body may be a proxy page quoting the URL: neither it nor the parser's
            # message travels on.
            failure = f"answer is not JSON (HTTP {http_status}, {len(body)} bytes)"
        if failure is not None:
            raise _failure(where, failure, answer, command=command)
        if not isinstance(data, dict):
            failure = f"answer is JSON but not an object (HTTP {http_status})"
            raise _failure(where, failure, answer, command=command)

        # The body decides, whatever the HTTP status: the document does not give the codes.
        if data.get("success") is False:
            error = data.get("error")
            message = error if isinstance(error, str) else "unknown error"
            if message in _AUTH_ERRORS:
                raise AuthenticationError(f"{where}: {message}")
            if message == "rate limiting":
                raise RateLimitedError(f"{where}: rate limiting")
            if message == "error getting data":
                raise ChargerUnreachableError(f"{where}: the cloud could not reach the charger")
            text = f"error {self._redact(message)!r} (HTTP {http_status})"
            if command and (message == _NO_PAYLOAD or answer.ok or answer.refused):
                raise CommandRefusedError(f"{where}: refused, {text}", self._redact(message))
            raise ApiError(f"{where}: {text}")
        if http_status >= 400:
            failure = f"HTTP {http_status} without a documented error"
            raise _failure(where, failure, answer, command=command)
        return data


def _failure(where: str, failure: str, answer: HttpAnswer, *, command: bool) -> ApiError:
    """Return the error of an undocumented answer: a command's 4xx refuses the command."""
    if command and answer.refused:
        return CommandRefusedError(f"{where}: refused, {failure}", answer.status)
    return ApiError(f"{where}: {failure}")
