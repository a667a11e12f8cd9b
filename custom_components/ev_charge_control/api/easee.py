"""Client for the Easee cloud REST API: tokens, chargers, sites, live state, limits, charge plans."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import datetime as dt
import logging
import math
import re
import time
from typing import Final, Literal
from urllib.parse import quote

import aiohttp
from yarl import URL

from .errors import (
    AccountBlockedError,
    ApiError,
    AuthenticationError,
    ChargerOfflineError,
    CommandRefusedError,
    EvChargeControlError,
    NotFoundError,
    NotSentError,
    PermissionDeniedError,
    RateLimitedError,
    parse_retry_after,
)
from .http import HttpAnswer, send
from .values import as_bool, as_finite_float, parse_json

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.easee.com"
DEFAULT_TIMEOUT: Final = 30.0
# Tokens this close to their end are renewed before a request instead of after its 401.
REFRESH_MARGIN: Final = 60.0
# A token renewal (refresh or login) that failed without a refusal (no answer, a 5xx) is tried
# again 1 minute later, then after 2, 4, 8 and at most every 15 minutes: an outage costs a few
# attempts, not one per read or write. Easee lets only about 10 logins an hour through.
RENEWAL_RETRY_FIRST: Final = 60.0
RENEWAL_RETRY_MAX: Final = 900.0
# Assumed when the answer has neither expiresIn nor a JWT exp claim.
DEFAULT_EXPIRES_IN: Final = 3600.0
# localNodeType of a circuit's primary (master) charger.
LOCAL_NODE_MASTER: Final = 1

OP_MODES: Final[dict[int, str]] = {
    0: "offline",
    1: "disconnected",
    2: "awaiting_start",
    3: "charging",
    4: "completed",
    5: "error",
    6: "ready_to_charge",
    7: "awaiting_authorization",
    8: "deauthorizing",
}
COMMANDS: Final = frozenset(
    {
        "start_charging",
        "stop_charging",
        "pause_charging",
        "resume_charging",
        "toggle_charging",
        "override_schedule",
        "reboot",
    }
)

type RequestKind = Literal["auth", "read", "write"]
# A budget's say before each request: it counts the request or raises. What it returns (if
# anything) gives the count back when the request never reached Easee (no connection made).
type RequestGate = Callable[[RequestKind], Callable[[], None] | None]
type Phases = tuple[float | None, float | None, float | None]

_LOGIN_PATH: Final = "/api/accounts/login"
_REFRESH_PATH: Final = "/api/accounts/refresh_token"
_CLOCK_RE: Final = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?$")
# The words of Easee's ban answers: a 403 "Too many requests", and a 429 whose body says the
# IP "is temporary blocked for 24 hours from the last request received".
_BLOCKED_MARKER: Final = b"too many requests"
_BLOCKED_429_MARKER: Final = b"blocked"
_BAD_PASSWORD_CODE: Final = 100
# A command for a charger that is not connected to the cloud: 400 with this errorCode.
_CHARGER_DISCONNECTED_CODE: Final = 410
_CHARGER_DISCONNECTED_NAME: Final = "ChargerDisconnected"
# detectedPowerGridType values of IT grids (IT 3-phase, IT 1-phase and their ground-fault
# warnings and error), as the public clients name Easee's PowerGridType list.
IT_GRID_TYPES: Final = frozenset({4, 5, 32, 33, 34, 35, 52})
# ... and the values that say nothing yet (unknown, not yet detected, no valid grid found).
_UNKNOWN_GRID_TYPES: Final = frozenset({-1, 0, 50})
# outputPhase values of IT grids (OutputPhaseType: P1_T2_T3_IT, P1_T2_T4_IT, P1_T3_T4_IT,
# P2_T2_T3_T4_IT); 0 is "unassigned" (not charging), the others are TN.
_IT_OUTPUT_PHASES: Final = frozenset({11, 13, 15, 22})
_REDACTED: Final = "**REDACTED**"
_MAX_TITLE: Final = 200


# Lenient readers: a value of the wrong type is unknown (None), never a crash.


class RenewalPausedError(NotSentError):
    """A token renewal failed a moment ago: none is tried (nothing is sent) before ``retry_at``."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
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


def _as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _as_id(value: object) -> str | None:
    text = _as_str(value)
    return text.strip() if text is not None else None


def _phases(data: Mapping[str, object], *keys: str) -> Phases:
    first, second, third = (as_finite_float(data.get(key)) for key in keys)
    return (first, second, third)


def is_it_grid(grid_type: object) -> bool | None:
    """Tell from a config's detectedPowerGridType whether the grid is IT (None: not known)."""
    code = _as_int(grid_type)
    if code is None or code in _UNKNOWN_GRID_TYPES:
        return None
    return code in IT_GRID_TYPES


def _phase_terminals(data: Mapping[str, object], it_grid: bool | None) -> tuple[str, str, str]:
    """Return the inCurrent keys of phases 1-3: T2-T4 on IT grids, T3-T5 elsewhere.

    The config's grid type decides when known; else a charging charger's outputPhase says it
    (its IT values); else TN, where T2 is the neutral.
    """
    if it_grid is None:
        it_grid = _as_int(data.get("outputPhase")) in _IT_OUTPUT_PHASES
    if it_grid:
        return ("inCurrentT2", "inCurrentT3", "inCurrentT4")
    return ("inCurrentT3", "inCurrentT4", "inCurrentT5")


def _as_utc(value: object) -> dt.datetime | None:
    """Read an ISO 8601 timestamp; one without an offset is taken as UTC (as Easee means it)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # "0001-01-01T00:00:00+01:00" is no time in UTC
        return None


def _as_clock(value: object) -> dt.time | None:
    """Read "HH:MM" or "HH:MM:SS"; "24:00" is the midnight that ends the day."""
    if not isinstance(value, str) or (match := _CLOCK_RE.fullmatch(value.strip())) is None:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if (hour, minute, second) == (24, 0, 0):
        return dt.time(0, 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return dt.time(hour, minute, second)


def _jwt_claims(token: str) -> Mapping[str, object] | None:
    """Decode a JWT's payload without checking its signature (to name the account, read its end)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims: object = parse_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        return None
    return claims if isinstance(claims, dict) else None


def account_id(access_token: str, username: str) -> str:
    """Return the account's stable id: the token's UserId claim, else the lower-cased user name."""
    claims = _jwt_claims(access_token) or {}
    user_id = claims.get("UserId")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        return str(user_id)
    if isinstance(user_id, str) and user_id.strip():
        return user_id.strip()
    return username.strip().lower()


@dataclass(frozen=True, slots=True)
class EaseeTokens:
    """An access token, the refresh token that renews it, and when the access token ends."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # unix seconds

    def as_dict(self) -> dict[str, str | float]:
        """Return the tokens as JSON-able data (``from_dict`` reads it back)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EaseeTokens | None:
        """Read tokens saved by ``as_dict``; None when anything is missing or malformed."""
        access = _as_str(data.get("access_token"))
        refresh = _as_str(data.get("refresh_token"))
        expires_at = data.get("expires_at")
        if access is None or refresh is None or isinstance(expires_at, str):
            return None
        if (expires := as_finite_float(expires_at)) is None:
            return None
        return cls(access, refresh, expires)


@dataclass(frozen=True, slots=True)
class EaseeCharger:
    """A charger of the account (``GET /api/chargers``, also the chargers of a circuit).

    The account's list answers ``backPlate: null``: only a site's circuits name the master.
    """

    id: str
    name: str
    product_code: int | None
    back_plate_id: str | None
    master_back_plate_id: str | None

    @property
    def is_master(self) -> bool:
        """Tell whether this charger is the primary one of its circuit."""
        return self.back_plate_id is not None and self.back_plate_id == self.master_back_plate_id


@dataclass(frozen=True, slots=True)
class EaseeCircuit:
    """A circuit (fuse group) of a site and the chargers on it."""

    id: int
    site_id: int
    panel_name: str
    rated_current: float | None
    charger_ids: tuple[str, ...]
    # The primary charger, as the site's back plates tell (None: the site does not say).
    master_id: str | None = None


@dataclass(frozen=True, slots=True)
class EaseeSite:
    """A site of the account with its circuits."""

    id: int
    name: str
    circuits: tuple[EaseeCircuit, ...]


@dataclass(frozen=True, slots=True)
class EaseeChargerState:
    """A charger's live state; missing or malformed fields are None."""

    op_mode: int | None
    total_power: float | None  # kW as the API gives it
    session_energy: float | None  # kWh
    lifetime_energy: float | None  # kWh
    dynamic_charger_current: float | None
    dynamic_circuit_current: Phases
    output_current: float | None
    in_current: Phases  # inCurrentT3, T4, T5; on IT grids T2, T3, T4
    voltage: float | None
    cable_locked: bool | None
    is_online: bool | None
    reason_for_no_current: int | None
    smart_charging: bool | None
    latest_pulse: dt.datetime | None  # aware, UTC
    firmware: int | None  # chargerFirmware

    @classmethod
    def from_dict(
        cls, data: Mapping[str, object], *, it_grid: bool | None = None
    ) -> EaseeChargerState:
        """Build the state from ``GET /api/chargers/{id}/state``, ignoring unknown fields.

        ``it_grid`` is what the charger's config says of its grid (``is_it_grid``); None
        leaves it to the state's own outputPhase.
        """
        return cls(
            op_mode=_as_int(data.get("chargerOpMode")),
            total_power=as_finite_float(data.get("totalPower")),
            session_energy=as_finite_float(data.get("sessionEnergy")),
            lifetime_energy=as_finite_float(data.get("lifetimeEnergy")),
            dynamic_charger_current=as_finite_float(data.get("dynamicChargerCurrent")),
            dynamic_circuit_current=_phases(
                data,
                "dynamicCircuitCurrentP1",
                "dynamicCircuitCurrentP2",
                "dynamicCircuitCurrentP3",
            ),
            output_current=as_finite_float(data.get("outputCurrent")),
            in_current=_phases(data, *_phase_terminals(data, it_grid)),
            voltage=as_finite_float(data.get("voltage")),
            cable_locked=as_bool(data.get("cableLocked")),
            is_online=as_bool(data.get("isOnline")),
            reason_for_no_current=_as_int(data.get("reasonForNoCurrent")),
            smart_charging=as_bool(data.get("smartCharging")),
            latest_pulse=_as_utc(data.get("latestPulse")),
            firmware=_as_int(data.get("chargerFirmware")),
        )


@dataclass(frozen=True, slots=True)
class EaseeChargerConfig:
    """A charger's stored configuration; missing or malformed fields are None."""

    is_enabled: bool | None
    max_charger_current: float | None
    circuit_max_current: Phases
    phase_mode: int | None
    smart_button_enabled: bool | None
    local_node_type: int | None = None  # 1: the primary (master) charger of its circuit

    @property
    def is_master(self) -> bool:
        """Tell whether the charger says it is the primary one of its circuit."""
        return self.local_node_type == LOCAL_NODE_MASTER

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EaseeChargerConfig:
        """Build the config from ``GET /api/chargers/{id}/config``, ignoring unknown fields."""
        return cls(
            is_enabled=as_bool(data.get("isEnabled")),
            max_charger_current=as_finite_float(data.get("maxChargerCurrent")),
            circuit_max_current=_phases(
                data, "circuitMaxCurrentP1", "circuitMaxCurrentP2", "circuitMaxCurrentP3"
            ),
            phase_mode=_as_int(data.get("phaseMode")),
            smart_button_enabled=as_bool(data.get("smartButtonEnabled")),
            local_node_type=_as_int(data.get("localNodeType")),
        )


@dataclass(frozen=True, slots=True)
class EaseeChargerReading:
    """One charger's state and config as the site's state gives them (None: not in it)."""

    state: EaseeChargerState | None
    config: EaseeChargerConfig | None


@dataclass(frozen=True, slots=True)
class EaseeSiteState:
    """``GET /api/sites/{id}/state``: every charger of a site read in one request."""

    site_id: int
    chargers: Mapping[str, EaseeChargerReading]


@dataclass(frozen=True, slots=True)
class EaseeCircuitSettings:
    """A circuit's non-volatile limits (per phase, A)."""

    max_current: Phases  # maxCircuitCurrentP1..3
    offline_max_current: Phases  # offlineMaxCircuitCurrentP1..3


@dataclass(frozen=True, slots=True)
class EaseeBasicChargePlan:
    """A charger's basic charge plan: one window, once (``repeat`` false) or every day.

    The cloud keeps both ends as instants in UTC; a repeating plan repeats their clock times.
    """

    id: int | str | None  # what the cloud calls the plan (the charger's id when we set it)
    start: dt.datetime  # chargeStartTime, in UTC
    stop: dt.datetime | None  # chargeStopTime (UTC); None: the plan never stops a charge
    repeat: bool
    enabled: bool
    current_limit: float | None  # chargingCurrentLimit (A); None: all the charger can give

    def as_body(self) -> dict[str, object]:
        """Return the body of ``POST /api/chargers/{id}/basic_charge_plan``."""
        body: dict[str, object] = {}
        if self.id is not None:
            body["id"] = self.id
        body["chargeStartTime"] = _utc_text(self.start)
        if self.stop is not None:
            body["chargeStopTime"] = _utc_text(self.stop)
        body["repeat"] = self.repeat
        body["isEnabled"] = self.enabled
        if self.current_limit is not None:
            body["chargingCurrentLimit"] = self.current_limit
        return body


@dataclass(frozen=True, slots=True)
class EaseeWeeklyRange:
    """One window of a weekly charge plan's day, as UTC clock times."""

    start: dt.time
    stop: dt.time  # stop <= start: runs over midnight into the next day
    current_limit: float | None


@dataclass(frozen=True, slots=True)
class EaseeWeeklyDay:
    """The windows of one weekday (``day_of_week`` 0 = Monday ... 6 = Sunday, in UTC)."""

    day_of_week: int
    ranges: tuple[EaseeWeeklyRange, ...]


@dataclass(frozen=True, slots=True)
class EaseeWeeklyChargePlan:
    """A charger's weekly charge plan (set in the Easee app)."""

    enabled: bool
    days: tuple[EaseeWeeklyDay, ...]

    def as_body(self) -> dict[str, object]:
        """Return the body of ``POST /api/chargers/{id}/weekly_charge_plan``."""
        days: list[dict[str, object]] = []
        for day in self.days:
            ranges: list[dict[str, object]] = []
            for window in day.ranges:
                item: dict[str, object] = {
                    "startTime": _utc_clock_text(window.start),
                    "stopTime": _utc_clock_text(window.stop),
                }
                if window.current_limit is not None:
                    item["chargingCurrentLimit"] = window.current_limit
                ranges.append(item)
            days.append({"dayOfWeek": day.day_of_week, "ranges": ranges})
        return {"isEnabled": self.enabled, "days": days}


def _utc_text(moment: dt.datetime) -> str:
    """Write an instant as Easee does: ISO 8601 in UTC with a Z."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"


def _utc_clock_text(clock: dt.time) -> str:
    return clock.strftime("%H:%M:%S" if clock.second else "%H:%M") + "Z"


# Parsers for the answers whose ids are required: None means the answer is malformed.


def _charger(item: object) -> EaseeCharger | None:
    if not isinstance(item, dict) or (charger_id := _as_id(item.get("id"))) is None:
        return None
    back_plate = item.get("backPlate")
    plate: Mapping[str, object] = back_plate if isinstance(back_plate, dict) else {}
    return EaseeCharger(
        id=charger_id,
        name=_as_str(item.get("name")) or charger_id,
        product_code=_as_int(item.get("productCode")),
        back_plate_id=_as_id(plate.get("id")),
        master_back_plate_id=_as_id(plate.get("masterBackPlateId")),
    )


def _circuit(item: object, site_id: int) -> EaseeCircuit | None:
    if not isinstance(item, dict) or (circuit_id := _as_int(item.get("id"))) is None:
        return None
    members = item.get("chargers")
    charger_ids: list[str] = []
    master_id: str | None = None
    for member in members if isinstance(members, list) else []:
        # The wire gives charger objects; a bare id is read too.
        charger = _charger(member)
        if charger is None and isinstance(member, dict):
            # A back plate with no charger mounted on it (id null): nothing to control there.
            continue
        member_id = charger.id if charger is not None else _as_id(member)
        if member_id is None:
            return None
        charger_ids.append(member_id)
        if charger is not None and charger.is_master:
            master_id = charger.id
    own_site = _as_int(item.get("siteId"))
    return EaseeCircuit(
        id=circuit_id,
        site_id=own_site if own_site is not None else site_id,
        panel_name=_as_str(item.get("panelName")) or str(circuit_id),
        rated_current=as_finite_float(item.get("ratedCurrent")),
        charger_ids=tuple(charger_ids),
        master_id=master_id,
    )


def _site(item: object) -> EaseeSite | None:
    if not isinstance(item, dict) or (site_id := _as_int(item.get("id"))) is None:
        return None
    raw = item.get("circuits")
    circuits = [_circuit(circuit, site_id) for circuit in (raw if isinstance(raw, list) else [])]
    if None in circuits:
        return None
    return EaseeSite(
        id=site_id,
        name=_as_str(item.get("name")) or str(site_id),
        circuits=tuple(circuit for circuit in circuits if circuit is not None),
    )


def _site_state(data: Mapping[str, object], site_id: int) -> EaseeSiteState:
    chargers: dict[str, EaseeChargerReading] = {}
    circuits = data.get("circuitStates")
    for circuit in circuits if isinstance(circuits, list) else []:
        members = circuit.get("chargerStates") if isinstance(circuit, dict) else None
        for member in members if isinstance(members, list) else []:
            if (
                not isinstance(member, dict)
                or (charger_id := _as_id(member.get("chargerID"))) is None
            ):
                continue  # a back plate without a charger, like in the site's circuits
            state, config = member.get("chargerState"), member.get("chargerConfig")
            chargers[charger_id] = EaseeChargerReading(
                EaseeChargerState.from_dict(state) if isinstance(state, dict) else None,
                EaseeChargerConfig.from_dict(config) if isinstance(config, dict) else None,
            )
    return EaseeSiteState(site_id, chargers)


def _circuit_settings(data: Mapping[str, object]) -> EaseeCircuitSettings:
    return EaseeCircuitSettings(
        max_current=_phases(
            data, "maxCircuitCurrentP1", "maxCircuitCurrentP2", "maxCircuitCurrentP3"
        ),
        offline_max_current=_phases(
            data,
            "offlineMaxCircuitCurrentP1",
            "offlineMaxCircuitCurrentP2",
            "offlineMaxCircuitCurrentP3",
        ),
    )


def _plan_id(value: object) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _as_id(value)


def _basic_plan(data: Mapping[str, object]) -> EaseeBasicChargePlan | None:
    start = _as_utc(data.get("chargeStartTime"))
    raw_stop = data.get("chargeStopTime")
    stop = None if raw_stop is None else _as_utc(raw_stop)
    repeat = as_bool(data.get("repeat"))
    enabled = as_bool(data.get("isEnabled"))
    # Guessing a missing end, repeat or switch would change the plan (and its next save).
    if start is None or (raw_stop is not None and stop is None):
        return None
    if repeat is None or enabled is None:
        return None
    return EaseeBasicChargePlan(
        id=_plan_id(data.get("id")),
        start=start,
        stop=stop,
        repeat=repeat,
        enabled=enabled,
        current_limit=as_finite_float(data.get("chargingCurrentLimit")),
    )


def _weekly_clock(value: object) -> dt.time | None:
    """Read "HH:MMZ" (UTC); pyeasee saw plain "HH:MM" too, which is UTC as well."""
    if isinstance(value, str):
        value = value.strip().removesuffix("Z").removesuffix("z")
    return _as_clock(value)


def _weekly_day(item: object) -> EaseeWeeklyDay | None:
    if not isinstance(item, dict):
        return None
    day = _as_int(item.get("dayOfWeek"))
    raw = item.get("ranges")
    if day is None or not 0 <= day <= 6 or not isinstance(raw, list | None):
        return None
    ranges: list[EaseeWeeklyRange] = []
    for window in raw or []:
        if not isinstance(window, dict):
            return None
        start = _weekly_clock(window.get("startTime"))
        stop = _weekly_clock(window.get("stopTime"))
        if start is None or stop is None:
            return None
        ranges.append(
            EaseeWeeklyRange(start, stop, as_finite_float(window.get("chargingCurrentLimit")))
        )
    return EaseeWeeklyDay(day, tuple(ranges))


def _weekly_plan(data: Mapping[str, object]) -> EaseeWeeklyChargePlan | None:
    enabled = as_bool(data.get("isEnabled"))
    raw = data.get("days")
    if enabled is None or not isinstance(raw, list | None):
        return None
    days = [_weekly_day(item) for item in raw or []]
    if None in days:
        # Dropping a day or a range would silently change the plan (and its next save).
        return None
    return EaseeWeeklyChargePlan(enabled, tuple(day for day in days if day is not None))


def _tokens_from_answer(data: object, sent_at: float) -> EaseeTokens | None:
    if not isinstance(data, dict):
        return None
    access = _as_str(data.get("accessToken"))
    refresh = _as_str(data.get("refreshToken"))
    if access is None or refresh is None:
        return None
    expires_in = as_finite_float(data.get("expiresIn"))
    if expires_in is not None and expires_in > 0:
        # Counted from when the request left: the token may be a little older than its answer.
        return EaseeTokens(access, refresh, sent_at + expires_in)
    claims = _jwt_claims(access) or {}
    if (expires_at := as_finite_float(claims.get("exp"))) is not None:
        return EaseeTokens(access, refresh, expires_at)
    return EaseeTokens(access, refresh, sent_at + DEFAULT_EXPIRES_IN)


def _is_system_time(clock: object) -> bool:
    # The default argument is the real time.time as bound at import; freezegun swaps the
    # module attribute, so the default is replaced by a fresh time.time() lookup per call.
    return getattr(clock, "__self__", None) is time and getattr(clock, "__name__", "") == "time"


def _segment(value: str) -> str:
    if not value or value in {".", ".."}:
        raise ValueError(f"not an Easee id: {value!r}")
    return quote(value, safe="")


def _charger_path(charger_id: str, *rest: str) -> str:
    return "/".join(("/api/chargers", _segment(charger_id), *rest))


def _circuit_path(site_id: int, circuit_id: int, leaf: str) -> str:
    return f"/api/sites/{int(site_id)}/circuits/{int(circuit_id)}/{leaf}"


def _check_amps(*values: float) -> None:
    for value in values:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a current must be a finite number of amperes >= 0, not {value}")


def _check_minutes(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be >= 0 minutes, not {value}")


class EaseeClient:
    """Talks to the Easee cloud for one account.

    One lock serialises login and refresh, so a burst of requests never logs in twice.
    Nothing the server says about a login or refresh reaches an exception or a log line,
    and errors are raised outside ``except`` blocks so aiohttp's exceptions (which know the
    request headers) never ride along as ``__context__``.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        tokens: EaseeTokens | None = None,
        on_tokens: Callable[[EaseeTokens], None] | None = None,
        request_gate: RequestGate | None = None,
        clock: Callable[[], float] = time.time,
        request_timeout: float = DEFAULT_TIMEOUT,
        user_agent: str | None = None,
    ) -> None:
        self._session = session
        # Easee asks clients to name themselves and their version (the caller knows both).
        self._user_agent = user_agent
        self._username = username
        self._password = password
        self._base = str(URL(base_url)).rstrip("/")
        self._tokens = tokens
        self._previous_tokens: EaseeTokens | None = None
        self._on_tokens = on_tokens
        self._request_gate = request_gate
        self._clock = None if _is_system_time(clock) else clock
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._lock = asyncio.Lock()
        # The access token the latest login gave: a 401 on it means logging in is no use.
        self._login_access: str | None = None
        self._latched = False
        # Failed renewals in a row, and when the next may be tried (None: at once).
        self._renewal_failures = 0
        self._renewal_at: float | None = None
        # What each charger's latest config said of its grid (IT or not), for its states.
        self._it_grids: dict[str, bool | None] = {}

    def __repr__(self) -> str:
        return f"EaseeClient(base_url={self._base!r})"

    @property
    def tokens(self) -> EaseeTokens | None:
        """Return the tokens in use (None before the first login)."""
        return self._tokens

    # Account

    async def login(self) -> EaseeTokens:
        """Log in with user name and password, whatever tokens the client holds."""
        async with self._lock:
            self._check_latch()
            return await self._login_locked()

    # The stream's token and errors: the same renewal and classification as REST's.

    async def stream_token(self) -> str:
        """Return an access token for the stream, renewed first when it is about to expire."""
        return (await self._access_token())[0]

    async def renew_stream_token(self, refused: str) -> str:
        """Return a fresh access token after the stream's hub refused ``refused``.

        Refreshes first and logs in only when the refresh is refused, as for a 401 on REST.
        """
        return (await self._recover(refused, False, first=True))[0]

    def answer_error(self, answer: HttpAnswer, where: str) -> EvChargeControlError:
        """Return the error for a failed answer of the stream's hub (a ban, a rate limit...)."""
        return self._error(answer, where, auth_call=False)

    # Reads

    async def get_chargers(self) -> list[EaseeCharger]:
        """Return the account's chargers."""
        where = "Easee GET /api/chargers"
        chargers: list[EaseeCharger] = []
        for item in _array(await self._read("/api/chargers"), where):
            if (charger := _charger(item)) is None:
                raise ApiError(f"{where}: a charger without an id")
            chargers.append(charger)
        return chargers

    async def get_site_ids(self) -> list[int]:
        """Return the ids of the account's sites."""
        return list(await self.get_site_names())

    async def get_site_names(self) -> dict[int, str]:
        """Return the account's sites, id to name, in the order Easee lists them (one request)."""
        where = "Easee GET /api/accounts/products"
        sites: dict[int, str] = {}
        for item in _array(await self._read("/api/accounts/products"), where):
            site_id = _as_int(item.get("id")) if isinstance(item, dict) else None
            if site_id is None or not isinstance(item, dict):
                raise ApiError(f"{where}: a site without an id")
            sites[site_id] = _as_str(item.get("name")) or str(site_id)
        return sites

    async def get_site(self, site_id: int) -> EaseeSite:
        """Return a site with its circuits and the chargers on them."""
        path = f"/api/sites/{int(site_id)}"
        where = f"Easee GET {path}"
        site = _site(_object(await self._read(path, {"detailed": "true"}), where))
        if site is None:
            raise ApiError(f"{where}: a site, circuit or charger without an id")
        return site

    async def get_site_state(self, site_id: int) -> EaseeSiteState:
        """Return the state and config of every charger of a site, in one request."""
        path = f"/api/sites/{int(site_id)}/state"
        return _site_state(_object(await self._read(path), f"Easee GET {path}"), int(site_id))

    async def get_state(self, charger_id: str) -> EaseeChargerState:
        """Return a charger's live state."""
        path = _charger_path(charger_id, "state")
        return EaseeChargerState.from_dict(
            _object(await self._read(path), f"Easee GET {path}"),
            it_grid=self._it_grids.get(charger_id),
        )

    async def get_config(self, charger_id: str) -> EaseeChargerConfig:
        """Return a charger's configuration (and note its grid type for its next states)."""
        path = _charger_path(charger_id, "config")
        data = _object(await self._read(path), f"Easee GET {path}")
        self._it_grids[charger_id] = is_it_grid(data.get("detectedPowerGridType"))
        return EaseeChargerConfig.from_dict(data)

    async def get_circuit_settings(self, site_id: int, circuit_id: int) -> EaseeCircuitSettings:
        """Return a circuit's stored limits."""
        path = _circuit_path(site_id, circuit_id, "settings")
        return _circuit_settings(_object(await self._read(path), f"Easee GET {path}"))

    async def get_basic_charge_plan(self, charger_id: str) -> EaseeBasicChargePlan | None:
        """Return a charger's basic charge plan; None when it has none (404, 204 or empty)."""
        return await self._read_plan(
            charger_id,
            "basic_charge_plan",
            _basic_plan,
            "a plan without readable times, repeat or isEnabled",
        )

    async def get_weekly_charge_plan(self, charger_id: str) -> EaseeWeeklyChargePlan | None:
        """Return a charger's weekly charge plan; None when it has none (404, 204 or empty)."""
        return await self._read_plan(
            charger_id,
            "weekly_charge_plan",
            _weekly_plan,
            "a plan without isEnabled, or a day or range unreadable",
        )

    async def _read_plan[P](
        self,
        charger_id: str,
        leaf: str,
        parse: Callable[[Mapping[str, object]], P | None],
        malformed: str,
    ) -> P | None:
        path = _charger_path(charger_id, leaf)
        where = f"Easee GET {path}"
        try:
            answer = await self._request("read", "GET", path)
        except NotFoundError:
            return None
        if answer.status == 204 or not answer.body.strip():
            return None
        if (plan := parse(_object(_json(answer, where), where))) is None:
            raise ApiError(f"{where}: {malformed}")
        return plan

    # Writes

    async def set_dynamic_charger_current(
        self, charger_id: str, amps: float, minutes: int = 0
    ) -> None:
        """Limit a charger until the next car (``minutes`` > 0: at most that long)."""
        _check_amps(amps)
        _check_minutes("minutes", minutes)
        path = _charger_path(charger_id, "commands", "set_dynamic_charger_current")
        await self._write(path, {"amps": amps, "minutes": minutes})

    async def set_dynamic_circuit_current(
        self,
        site_id: int,
        circuit_id: int,
        phase1: float,
        phase2: float,
        phase3: float,
        time_to_live: int = 0,
    ) -> None:
        """Limit a whole circuit (``time_to_live`` > 0 minutes: then its offline limit)."""
        _check_amps(phase1, phase2, phase3)
        _check_minutes("time_to_live", time_to_live)
        path = _circuit_path(site_id, circuit_id, "dynamicCurrent")
        body = {"phase1": phase1, "phase2": phase2, "phase3": phase3, "timeToLive": time_to_live}
        await self._write(path, body)

    async def update_settings(
        self,
        charger_id: str,
        *,
        enabled: bool | None = None,
        max_charger_current: float | None = None,
        smart_charging: bool | None = None,
        phase_mode: int | None = None,
    ) -> None:
        """Change charger settings; only the given ones are sent."""
        body: dict[str, object] = {}
        if enabled is not None:
            body["enabled"] = enabled
        if max_charger_current is not None:
            _check_amps(max_charger_current)
            body["maxChargerCurrent"] = max_charger_current
        if smart_charging is not None:
            body["smartCharging"] = smart_charging
        if phase_mode is not None:
            body["phaseMode"] = phase_mode
        if not body:
            raise ValueError("update_settings needs at least one setting")
        await self._write(_charger_path(charger_id, "settings"), body)

    async def command(self, charger_id: str, command: str) -> int | None:
        """Send a charger command; return its ticks (0: there was nothing to do).

        None: the cloud took it without ticks (a 200, empty or ``wasAccepted: true``).
        """
        if command not in COMMANDS:
            raise ValueError(f"Easee has no command {command!r}")
        return await self._write(_charger_path(charger_id, "commands", command))

    async def set_basic_charge_plan(self, charger_id: str, plan: EaseeBasicChargePlan) -> None:
        """Store a charger's basic charge plan (the whole plan: there is no partial update)."""
        if plan.current_limit is not None:
            _check_amps(plan.current_limit)
        if plan.stop is not None and plan.stop <= plan.start:
            raise ValueError("a charge plan must stop after it starts")
        path = _charger_path(charger_id, "basic_charge_plan")
        await self._request("write", "POST", path, body=plan.as_body())

    async def delete_basic_charge_plan(self, charger_id: str) -> None:
        """Delete a charger's basic charge plan (404: it had none)."""
        await self._request("write", "DELETE", _charger_path(charger_id, "basic_charge_plan"))

    async def set_weekly_charge_plan(self, charger_id: str, plan: EaseeWeeklyChargePlan) -> None:
        """Store a charger's weekly charge plan (the whole week)."""
        path = _charger_path(charger_id, "weekly_charge_plan")
        await self._request("write", "POST", path, body=plan.as_body())

    # Requests

    async def _write(self, path: str, body: Mapping[str, object] | None = None) -> int | None:
        """POST a write; return the ticks of its answer (None: an answer without ticks)."""
        return _answer_ticks(await self._request("write", "POST", path, body=body))

    async def _read(self, path: str, params: Mapping[str, str] | None = None) -> object:
        return _json(await self._request("read", "GET", path, params=params), f"Easee GET {path}")

    async def _request(
        self,
        kind: RequestKind,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> HttpAnswer:
        """Send an authorised request; return its 2xx answer or raise."""
        access, logged_in = await self._access_token()
        answer = await self._send(kind, method, path, token=access, params=params, body=body)
        # A 401: renew the token (refresh, then login) and retry, at most twice.
        for first in (True, False):
            if answer.status != 401:
                break
            access, logged_in = await self._recover(access, logged_in, first=first)
            answer = await self._send(kind, method, path, token=access, params=params, body=body)
        if answer.status == 401:
            self._latched = True
            raise AuthenticationError(f"Easee {method} {path}: token refused even after a login")
        if not answer.ok:
            err = self._error(answer, f"Easee {method} {path}", auth_call=False)
            if kind == "write" and type(err) is ApiError and answer.refused:
                # Any other 4xx refuses the write: the same request hears the same again.
                err = CommandRefusedError(str(err), _error_code(answer.body))
            raise err
        if kind == "write":
            _raise_if_refused(answer, f"Easee {method} {path}")
        return answer

    async def _access_token(self) -> tuple[str, bool]:
        """Return a usable access token and whether this call logged in to get it."""
        self._check_latch()
        tokens = self._tokens
        if tokens is not None and not self._expiring(tokens):
            return tokens.access_token, False
        async with self._lock:
            self._check_latch()
            tokens = self._tokens
            if tokens is not None and not self._expiring(tokens):
                return tokens.access_token, False  # another task renewed them meanwhile
            if tokens is not None and self._renewal_waits() and tokens.expires_at > self._now():
                return tokens.access_token, False  # still valid: the renewal waits its turn
            if tokens is not None and (renewed := await self._refresh_locked(tokens)):
                return renewed.access_token, False
            return (await self._login_locked()).access_token, True

    async def _recover(self, used: str, logged_in: bool, *, first: bool) -> tuple[str, bool]:
        """Pick the token to retry with after ``used`` got a 401."""
        async with self._lock:
            self._check_latch()
            tokens = self._tokens
            if tokens is not None and tokens.access_token != used:
                return tokens.access_token, logged_in  # another task renewed it meanwhile
            if first and tokens is not None:
                if renewed := await self._refresh_locked(tokens):
                    return renewed.access_token, logged_in
            elif logged_in or used == self._login_access:
                self._latched = True
                raise AuthenticationError("Easee: the token of a fresh login was refused")
            return (await self._login_locked()).access_token, True

    async def _login_locked(self) -> EaseeTokens:
        self._check_renewal_pause()
        sent_at = self._now()
        try:
            answer = await self._send(
                "auth",
                "POST",
                _LOGIN_PATH,
                body={"userName": self._username, "password": self._password},
            )
            if answer.status == 401 or (answer.status == 400 and _is_bad_password(answer.body)):
                self._latched = True
                raise AuthenticationError("Easee login: user name or password refused")
            tokens = self._read_tokens(answer, f"Easee POST {_LOGIN_PATH}", sent_at)
        except ApiError:
            self._renewal_failed()
            raise
        self._renewal_succeeded()
        self._login_access = tokens.access_token
        self._store(tokens)
        return tokens

    async def _refresh_locked(self, tokens: EaseeTokens) -> EaseeTokens | None:
        """Renew the tokens; None when the cloud refuses the refresh token."""
        self._check_renewal_pause()
        sent_at = self._now()
        try:
            answer = await self._send(
                "auth",
                "POST",
                _REFRESH_PATH,
                body={"accessToken": tokens.access_token, "refreshToken": tokens.refresh_token},
            )
            if answer.status in (400, 401):
                _LOGGER.debug("Easee refused the refresh token (HTTP %s)", answer.status)
                return None
            renewed = self._read_tokens(answer, f"Easee POST {_REFRESH_PATH}", sent_at)
        except ApiError:
            self._renewal_failed()
            raise
        self._renewal_succeeded()
        self._store(renewed)
        return renewed

    def _renewal_waits(self) -> bool:
        return self._renewal_at is not None and self._now() < self._renewal_at

    def _check_renewal_pause(self) -> None:
        """Refuse a renewal (refresh or login) while the one that failed last waits its turn."""
        if self._renewal_at is not None and self._renewal_waits():
            at = dt.datetime.fromtimestamp(self._renewal_at, dt.UTC)
            raise RenewalPausedError(
                "Easee: renewing the access token failed; next try at "
                + at.isoformat(timespec="seconds"),
                self._renewal_at,
            )

    def _renewal_failed(self) -> None:
        self._renewal_failures += 1
        delay = min(
            RENEWAL_RETRY_MAX, RENEWAL_RETRY_FIRST * 2 ** min(self._renewal_failures - 1, 10)
        )
        self._renewal_at = self._now() + delay
        _LOGGER.debug("Easee: renewing the access token failed; next try in %.0f s", delay)

    def _renewal_succeeded(self) -> None:
        self._renewal_failures = 0
        self._renewal_at = None

    def _read_tokens(self, answer: HttpAnswer, where: str, sent_at: float) -> EaseeTokens:
        if not answer.ok:
            raise self._error(answer, where, auth_call=True)
        tokens = _tokens_from_answer(_json(answer, where), sent_at)
        if tokens is None:
            raise ApiError(f"{where}: an answer without tokens")
        return tokens

    def _store(self, tokens: EaseeTokens) -> None:
        self._previous_tokens, self._tokens = self._tokens, tokens
        if self._on_tokens is not None:
            self._on_tokens(tokens)

    def _check_latch(self) -> None:
        if self._latched:
            raise AuthenticationError("Easee: credentials were refused; re-authentication needed")

    def _expiring(self, tokens: EaseeTokens) -> bool:
        return tokens.expires_at - self._now() <= REFRESH_MARGIN

    def _now(self) -> float:
        return time.time() if self._clock is None else self._clock()

    async def _send(
        self,
        kind: RequestKind,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> HttpAnswer:
        url = URL(self._base + path, encoded=True)
        if params:
            url = url.with_query(params)
        headers = {"Accept": "application/json"}
        if self._user_agent is not None:
            headers["User-Agent"] = self._user_agent
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        # The budget's last word: when it raises, nothing is sent.
        give_back = self._request_gate(kind) if self._request_gate is not None else None
        _LOGGER.debug("Easee %s %s", method, path)
        try:
            return await send(
                self._session,
                method,
                url,
                request_timeout=self._timeout,
                where=f"Easee {method} {path}",
                redact=self._redact,
                headers=headers,
                json=body,
            )
        except NotSentError:
            # Easee saw nothing, so nothing counts. A request whose fate is unknown (a
            # timeout, a dropped connection, a 5xx) is an ApiError and stays counted.
            if give_back is not None:
                give_back()
            raise

    def _error(self, answer: HttpAnswer, where: str, *, auth_call: bool) -> EvChargeControlError:
        """Return the exception for a non-2xx answer (other than a 401 on a normal call)."""
        status = answer.status
        body = answer.body.lower()
        if status == 429 and _BLOCKED_429_MARKER in body:
            return AccountBlockedError(f"{where}: IP blocked for 24 hours (HTTP 429)")
        if status == 429:
            retry_after = self._retry_after(answer.retry_after)
            return RateLimitedError(f"{where}: rate limited (HTTP 429)", retry_after)
        if status == 403 and _BLOCKED_MARKER in body:
            return AccountBlockedError(f"{where}: blocked for too many requests (HTTP 403)")
        if status == 403 and (code := _error_code(answer.body)) is not None:
            # An Easee error code: this resource is not ours to read or change; no ban.
            return PermissionDeniedError(f"{where}: access refused (HTTP 403, errorCode {code})")
        if status == 403:
            # Easee's firewall answers a banned IP with a bare {"message": "Forbidden"}.
            return AccountBlockedError(f"{where}: IP blocked by Easee's firewall (HTTP 403)")
        if status == 404:
            return NotFoundError(f"{where}: not found (HTTP 404)")
        if status == 400 and _is_charger_disconnected(answer.body):
            return ChargerOfflineError(f"{where}: the charger is offline (errorCode 410)")
        # The answer to a login or refresh may quote what was sent: none of it travels on.
        title = None if auth_call else self._title(answer.body)
        return ApiError(f"{where}: HTTP {status}" + (f" {title!r}" if title else ""))

    def _title(self, body: bytes) -> str | None:
        data: object = None
        try:
            data = parse_json(body)
        except ValueError:
            return None
        title = _as_str(data.get("title")) if isinstance(data, dict) else None
        return self._redact(title)[:_MAX_TITLE] if title is not None else None

    def _retry_after(self, value: str | None) -> float | None:
        return parse_retry_after(value, self._now())

    def _redact(self, text: str) -> str:
        secrets = [self._password]
        for tokens in (self._tokens, self._previous_tokens):
            if tokens is not None:
                secrets += [tokens.access_token, tokens.refresh_token]
        for secret in filter(None, secrets):
            text = text.replace(secret, _REDACTED)
        return text


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


def _object(data: object, where: str) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise ApiError(f"{where}: answer is not a JSON object")
    return data


def _array(data: object, where: str) -> list[object]:
    if not isinstance(data, list):
        raise ApiError(f"{where}: answer is not a JSON list")
    return data


def _error_code(body: bytes) -> int | str | None:
    """Return the Easee errorCode an error answer carries, None when it carries none."""
    data: object = None
    try:
        data = parse_json(body)
    except ValueError:
        return None
    code = data.get("errorCode") if isinstance(data, dict) else None
    return code if isinstance(code, int | str) and not isinstance(code, bool) else None


def _names_error(body: bytes, name: str, code: int) -> bool:
    """Tell whether an Easee error body names this error, by its name or by its code."""
    data: object = None
    try:
        data = parse_json(body)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    return data.get("errorCodeName") == name or _as_int(data.get("errorCode")) == code


def _is_charger_disconnected(body: bytes) -> bool:
    return _names_error(body, _CHARGER_DISCONNECTED_NAME, _CHARGER_DISCONNECTED_CODE)


def _answer_items(answer: HttpAnswer) -> list[Mapping[str, object]]:
    """Return the objects of a write's 2xx answer: one, a list of them, or none (empty)."""
    if not answer.body.strip():
        return []
    data: object = None
    try:
        data = parse_json(answer.body)
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    return [item for item in items if isinstance(item, dict)]


def _raise_if_refused(answer: HttpAnswer, where: str) -> None:
    """Raise when a write's answer says the charger refused it (``wasAccepted: false``).

    Every other 2xx answer is an acceptance: 202 ``{device, commandId, ticks}`` (or a list of
    them), 200 with an empty body, 200 ``{id, wasAccepted: true, resultCode}``.
    """
    for item in _answer_items(answer):
        if as_bool(item.get("wasAccepted")) is False:
            code = item.get("resultCode")
            result_code = (
                code if isinstance(code, int | str) and not isinstance(code, bool) else None
            )
            raise CommandRefusedError(
                f"{where}: the charger refused it (resultCode {result_code})", result_code
            )


def _answer_ticks(answer: HttpAnswer) -> int | None:
    """Return the ticks of an accepted write (the highest of a list); None when it has none."""
    ticks = [t for item in _answer_items(answer) if (t := _as_int(item.get("ticks"))) is not None]
    return max(ticks) if ticks else None


def _is_bad_password(body: bytes) -> bool:
    return _names_error(body, "InvalidUserPassword", _BAD_PASSWORD_CODE)
