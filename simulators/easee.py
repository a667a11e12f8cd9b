"""Simulator of the Easee cloud REST API (accounts, sites, circuits, chargers) for tests and demos.

The wire contract is `easee_wire.md`; everything time-dependent (token expiry, time-to-live of
dynamic currents, charge plan windows, energy) is worked out lazily from the injected clock at
each request or attribute access, so tests can travel in time without timers.
"""

import base64
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time as dt_time, timedelta
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
from typing import TYPE_CHECKING, Any, Final, NamedTuple
import uuid
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Handler

from simulators.easee_hub import HUB_PATH, EaseeHub
from simulators.server import (
    BAD_JSON,
    Fault,
    PathFaultServer,
    RequestLog,
    admin_error,
    answer_lost,
    json_object,
    parse_body,
    wall_clock,
)

_LOGGER = logging.getLogger(__name__)

CHARGER_ID_PATTERN = re.compile(r"[A-Za-z0-9]{1,20}")

MIN_CURRENT = 6.0  # below this a car does not charge
DEFAULT_CURRENT = 32.0  # dynamic charger current after a reset; a car's default maximum
MAX_CHARGER_CURRENT = 32.0
MAX_DYNAMIC_CIRCUIT_CURRENT = 40.0
# dynamicCircuitCurrentP1..P3 while no dynamic circuit limit is set: not the circuit's max.
UNSET_DYNAMIC_CIRCUIT_HOME = 40.0
UNSET_DYNAMIC_CIRCUIT_CHARGE = 80.0
CHARGE_PRODUCT_CODES = frozenset({100, 102, 103})  # Charge, Core, Pro
# detectedPowerGridType: TN 3-phase, IT 3-phase; outputPhase on an IT grid: 1 or 2 phases.
GRID_TN_3_PHASE = 1
GRID_IT_3_PHASE = 4
OUTPUT_PHASE_IT_1 = 11  # P1_T2_T3_IT
OUTPUT_PHASE_IT_2 = 22  # P2_T2_T3_T4_IT
LOGIN_WINDOW = 3600.0  # logins are counted per hour
# Easee answers a site's details about 10 times an hour per site; past that, 429.
SITE_DETAIL_LIMIT = 10
SITE_DETAIL_WINDOW = 3600.0
USAGE_MAX_SECONDS = 31 * 86400
BASE_LATENCY = 0.2  # seconds per answer, scaled by latency_scale
# .NET ticks (100 ns since 0001-01-01) of the Unix epoch, for the "ticks" of command answers.
_DOTNET_EPOCH_SECONDS = 62_135_596_800

# chargerOpMode
OP_OFFLINE = 0
OP_DISCONNECTED = 1
OP_AWAITING_START = 2
OP_CHARGING = 3
OP_COMPLETED = 4
OP_ERROR = 5
OP_READY_TO_CHARGE = 6

# reasonForNoCurrent (the subset of Easee's enumeration the simulator gives)
REASON_OK = 0
REASON_CIRCUIT_MAX_TOO_LOW = 1
REASON_DYNAMIC_CIRCUIT_TOO_LOW = 2
REASON_OFFLINE_FALLBACK_TOO_LOW = 3
REASON_WAITING_IN_QUEUE = 5
REASON_LIMITED_BY_CIRCUIT_MAX = 26
REASON_LIMITED_BY_DYNAMIC_CIRCUIT = 27
REASON_LIMITED_BY_LOAD_BALANCING = 29
REASON_CAR_NOT_CHARGING = 50
REASON_CHARGER_MAX_TOO_LOW = 51
# Pausing sets the dynamic charger current to 0 A, so a paused charger says 52 too.
REASON_DYNAMIC_CHARGER_TOO_LOW = 52
REASON_DISABLED = 53
REASON_WAITING_FOR_SCHEDULE = 54
REASON_IN_ERROR = 56
REASON_LIMITED_BY_SCHEDULE = 76
REASON_LIMITED_BY_CHARGER_MAX = 77
REASON_LIMITED_BY_DYNAMIC_CHARGER = 78

CHARGER_COMMANDS = (
    "start_charging",
    "stop_charging",
    "pause_charging",
    "resume_charging",
    "toggle_charging",
    "override_schedule",
    "reboot",
)
# commandId values are opaque to clients; these only need to be stable and distinct.
_COMMAND_IDS = {
    "start_charging": 507,
    "stop_charging": 508,
    "pause_charging": 509,
    "resume_charging": 510,
    "toggle_charging": 511,
    "override_schedule": 512,
    "reboot": 102,
    "set_dynamic_charger_current": 48,
    "circuit_settings": 22,
    "circuit_dynamic_current": 23,
}
_SETTING_COMMAND_IDS = {
    "enabled": 31,
    "maxChargerCurrent": 47,
    "dynamicChargerCurrent": 48,
    "smartCharging": 45,
    "phaseMode": 38,
    "ledStripBrightness": 24,
}
_CIRCUIT_NUMBER_KEYS = tuple(
    f"{prefix}{phase}"
    for prefix in ("maxCircuitCurrentP", "offlineMaxCircuitCurrentP")
    for phase in (1, 2, 3)
)

# Easee's ban answers, by the name of their fault (and of the simulator's own block_form).
BAN_FORMS: Final = ("blocked_403", "forbidden_403", "blocked_429")
FAULT_KINDS = frozenset(
    {"delay", "http_500", "non_json", "drop", "http_429", "wrong_shape", "permission_403"}
    | set(BAN_FORMS)
)
# Routes whose answer is a JSON array; the wrong_shape fault answers an object there.
_LIST_ROUTES = frozenset(
    {
        "chargers",
        "products",
        "usage",
        "charger_settings",
        "circuit_settings_post",
        "circuit_dynamic",
    }
)

DEMO_USERNAME = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the public demo account
DEMO_USER_ID = 1001

NOT_FOUND: dict[str, object] = {"title": "Not Found", "status": 404}
UNAUTHORIZED: dict[str, object] = {"title": "Unauthorized", "status": 401}
TOO_MANY_REQUESTS: dict[str, object] = {"title": "Too Many Requests", "status": 429}
BLOCKED: dict[str, object] = {"title": "Too many requests", "status": 403}
# Easee's firewall: a bare 403 with no Easee errorCode.
FORBIDDEN: dict[str, object] = {"message": "Forbidden"}
# A 429 that is a ban, not a rate limit: every request during it restarts the 24 hours.
BLOCKED_24H = (
    "Too many requests from third party system detected. Your IP is temporary blocked for "
    "24 hours from the last request received. Easee portal and app will work as normal but "
    "any third party integration will fail."
)
# A 403 with an Easee errorCode: this one resource is not the account's; no ban.
PERMISSION_DENIED: dict[str, object] = {
    "errorCode": 403,
    "errorCodeName": "Forbidden",
    "title": "Access denied",
    "status": 403,
}
METHOD_NOT_ALLOWED: dict[str, object] = {"title": "Method Not Allowed", "status": 405}
# A command or setting for a charger that is not connected to the cloud.
CHARGER_DISCONNECTED: dict[str, object] = {
    "errorCode": 410,
    "errorCodeName": "ChargerDisconnected",
    "title": "Charger is not connected",
    "status": 400,
}
# How writes are answered (the simulator's command_answer): 202 with {device, commandId,
# ticks} (a list for settings and circuits), 200 with an empty body, or 200 with
# {id, wasAccepted, resultCode} accepting or refusing (the charger then does nothing).
COMMAND_ANSWER_FORMS: Final = ("202", "200_empty", "200_accepted", "200_refused")
REFUSED_RESULT_CODE = 3


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ticks(moment: float) -> int:
    return round((moment + _DOTNET_EPOCH_SECONDS) * 10_000_000)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def bad_request_body(title: str) -> dict[str, object]:
    """Return Easee's body for a request it cannot understand."""
    return {"errorCode": 400, "errorCodeName": "BadRequest", "title": title}


# --- field checks -------------------------------------------------------------------------------

# Charger fields settable through add_charger(**fields), /_sim/chargers/{id} and the command line:
# kind, minimum, maximum. A kind ending in "?" also takes None.
CHARGER_FIELDS: dict[str, tuple[str, float | None, float | None]] = {
    "name": ("str", None, None),
    "product_code": ("int", 0, None),
    "car_connected": ("bool", None, None),
    "car_wants_energy": ("bool", None, None),
    "car_max_current": ("float", 0, 80),
    "enabled": ("bool", None, None),
    "paused": ("bool", None, None),
    "error": ("bool", None, None),
    "max_charger_current": ("float", 0, MAX_CHARGER_CURRENT),
    "dynamic_charger_current": ("float", 0, MAX_CHARGER_CURRENT),
    "dynamic_charger_expires": ("float?", None, None),
    "smart_charging": ("bool", None, None),
    "phase_mode": ("int", 1, 3),
    "phases": ("int", 1, 3),
    "voltage": ("float", 0, 500),
    "is_online": ("bool", None, None),
    "cable_locked": ("bool", None, None),
    "firmware": ("int", 0, None),
    "lifetime_energy": ("float", 0, None),
    "session_energy": ("float", 0, None),
    "basic_charge_plan": ("basic_plan", None, None),
    "weekly_charge_plan": ("weekly_plan", None, None),
    "schedule_overridden": ("bool", None, None),
    "led_strip_brightness": ("int", 0, 100),
    "smart_button_enabled": ("bool", None, None),
    "authorization_required": ("bool", None, None),
    "color": ("int?", None, None),
    "wifi_rssi": ("int", -127, 0),
    "it_grid": ("bool", None, None),
    "extra_state": ("dict", None, None),
    "extra_config": ("dict", None, None),
}


def validate_charger_fields(updates: Mapping[str, object]) -> dict[str, object]:
    """Check names, types and ranges of charger fields; return them normalised.

    Raises TypeError or ValueError with a readable message on the first bad entry.
    """
    return {name: _checked_field(name, value) for name, value in updates.items()}


def _checked_field(name: str, value: object) -> object:
    rule = CHARGER_FIELDS.get(name)
    if rule is None:
        raise ValueError(f"unknown charger field: {name}")
    kind, low, high = rule
    if kind == "basic_plan":
        return None if value is None else parse_basic_charge_plan(value)[1]
    if kind == "weekly_plan":
        return None if value is None else parse_weekly_charge_plan(value)[1]
    if kind == "dict":
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise TypeError(f"{name} must be an object")
        return dict(value)
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false")
        return value
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty string")
        return value
    number = _checked_number(name, value, integer=kind == "int")
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be between {low} and {high}")
    return number


def _checked_number(name: str, value: object, *, integer: bool = False) -> float:
    # bool is an int to Python, but never a sensible current or count.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number")
    if integer:
        if not isinstance(value, int):
            raise TypeError(f"{name} must be an integer")
        return value
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite")
    return float(value)


def _in_range(name: str, value: object, low: float, high: float, *, integer: bool = False) -> float:
    number = _checked_number(name, value, integer=integer)
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}")
    return number


# --- charge plans -------------------------------------------------------------------------------
# The basic plan: one window between two UTC instants, once or every day; the weekly plan: per
# UTC weekday (0 = Monday), windows between "HH:MMZ" clock times. A window whose stop is not
# after its start runs over midnight.

_WEEKLY_TIME_PATTERN = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])Z?")


def _clock_window(clock: dt_time, start: dt_time, stop: dt_time) -> bool:
    if start < stop:
        return start <= clock < stop
    return clock >= start or clock < stop


@dataclass(frozen=True)
class _BasicPlan:
    start: float
    stop: float | None
    repeat: bool
    enabled: bool
    amps: float

    def limit_at(self, moment: float, zone: ZoneInfo) -> float | None:
        """Return the current the plan allows at `moment`; None once a one-off plan is over."""
        if moment < self.start:
            return 0.0
        if self.stop is None:
            return self.amps
        if not self.repeat:
            return self.amps if moment < self.stop else None
        # Every day at the clock times the window had where the charger is.
        clock = datetime.fromtimestamp(moment, zone).time()
        start = datetime.fromtimestamp(self.start, zone).time()
        stop = datetime.fromtimestamp(self.stop, zone).time()
        return self.amps if _clock_window(clock, start, stop) else 0.0

    def next_change(self, moment: float, zone: ZoneInfo) -> float:
        """Return the first start or stop of a window after `moment` (inf: none comes)."""
        candidates = [self.start, *([self.stop] if self.stop is not None else [])]
        if self.repeat and self.stop is not None:
            day = datetime.fromtimestamp(moment, zone).date()
            for offset in (0, 1):
                for instant in (self.start, self.stop):
                    clock = datetime.fromtimestamp(instant, zone).time()
                    when = datetime.combine(day + timedelta(days=offset), clock, zone)
                    candidates.append(when.timestamp())
        return min((c for c in candidates if c > moment), default=math.inf)


@dataclass(frozen=True)
class _WeeklyRange:
    day: int
    start: dt_time
    stop: dt_time
    amps: float


@dataclass(frozen=True)
class _WeeklyPlan:
    enabled: bool
    ranges: tuple[_WeeklyRange, ...]

    def limit_at(self, moment: float) -> float:
        """Return the highest current of the ranges running at `moment`, 0 outside them."""
        now = datetime.fromtimestamp(moment, UTC)
        clock, today = now.time(), now.weekday()
        amps = [
            r.amps
            for r in self.ranges
            if (r.day == today and clock >= r.start and (r.stop <= r.start or clock < r.stop))
            or (r.day == (today - 1) % 7 and r.stop <= r.start and clock < r.stop)
        ]
        return max(amps) if amps else 0.0

    def next_change(self, moment: float) -> float:
        """Return the first start or stop of a range after `moment` (inf: no range at all)."""
        today = datetime.fromtimestamp(moment, UTC).date()
        candidates: list[float] = []
        for offset in range(-1, 8):
            day = today + timedelta(days=offset)
            for r in self.ranges:
                if r.day != day.weekday():
                    continue
                stop_day = day + timedelta(days=int(r.stop <= r.start))
                candidates.append(datetime.combine(day, r.start, UTC).timestamp())
                candidates.append(datetime.combine(stop_day, r.stop, UTC).timestamp())
        return min((c for c in candidates if c > moment), default=math.inf)


def _instant(name: str, value: object) -> float:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _utc_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).replace(tzinfo=None).isoformat() + "Z"


def parse_basic_charge_plan(
    value: object, plan_id: str | None = None
) -> tuple[_BasicPlan, dict[str, object]]:
    """Check a basic charge plan in the API's shape; return it parsed and as the cloud keeps it.

    ``isEnabled`` and ``repeat`` default to true, ``chargingCurrentLimit`` to 32 A (as the
    public clients send them), the plan's id to ``plan_id``. Raises TypeError or ValueError.
    """
    if not isinstance(value, dict):
        raise TypeError("the charge plan must be an object")
    if "chargeStartTime" not in value:
        raise ValueError("missing key: chargeStartTime")
    start = _instant("chargeStartTime", value["chargeStartTime"])
    raw_stop = value.get("chargeStopTime")
    stop = None if raw_stop is None else _instant("chargeStopTime", raw_stop)
    if stop is not None and stop <= start:
        raise ValueError("chargeStopTime must be after chargeStartTime")
    repeat = _checked_bool("repeat", value.get("repeat", True))
    enabled = _checked_bool("isEnabled", value.get("isEnabled", True))
    amps = _in_range(
        "chargingCurrentLimit",
        value.get("chargingCurrentLimit", MAX_CHARGER_CURRENT),
        0,
        MAX_CHARGER_CURRENT,
    )
    raw_id = value.get("id")
    stored: dict[str, object] = {
        "id": raw_id if isinstance(raw_id, int | str) and not isinstance(raw_id, bool) else plan_id,
        "chargeStartTime": _utc_text(start),
        "chargeStopTime": None if stop is None else _utc_text(stop),
        "repeat": repeat,
        "isEnabled": enabled,
        "chargingCurrentLimit": amps,
    }
    return _BasicPlan(start, stop, repeat, enabled, amps), stored


def _weekly_time(name: str, value: object) -> dt_time:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string HH:MMZ")
    match = _WEEKLY_TIME_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(f"{name} must be HH:MMZ")
    return dt_time(int(match[1]), int(match[2]))


def parse_weekly_charge_plan(value: object) -> tuple[_WeeklyPlan, dict[str, object]]:
    """Check a weekly charge plan in the API's shape; return it parsed and as the cloud keeps it.

    Raises TypeError or ValueError with a readable message.
    """
    if not isinstance(value, dict):
        raise TypeError("the charge plan must be an object")
    missing = [key for key in ("isEnabled", "days") if key not in value]
    if missing:
        raise ValueError(f"missing keys: {', '.join(missing)}")
    enabled = _checked_bool("isEnabled", value["isEnabled"])
    if not isinstance(value["days"], list):
        raise TypeError("days must be a list")
    ranges: list[_WeeklyRange] = []
    days: list[dict[str, object]] = []
    seen: set[int] = set()
    for raw_day in value["days"]:
        if not isinstance(raw_day, dict):
            raise TypeError("each day must be an object")
        day = int(_in_range("dayOfWeek", raw_day.get("dayOfWeek"), 0, 6, integer=True))
        if day in seen:
            raise ValueError(f"dayOfWeek {day} is given twice")
        seen.add(day)
        raw_ranges = raw_day.get("ranges")
        if not isinstance(raw_ranges, list):
            raise TypeError("ranges must be a list")
        stored_ranges: list[dict[str, object]] = []
        for raw in raw_ranges:
            if not isinstance(raw, dict):
                raise TypeError("each range must be an object")
            window = _WeeklyRange(
                day,
                _weekly_time("startTime", raw.get("startTime")),
                _weekly_time("stopTime", raw.get("stopTime")),
                _in_range(
                    "chargingCurrentLimit",
                    raw.get("chargingCurrentLimit", MAX_CHARGER_CURRENT),
                    0,
                    MAX_CHARGER_CURRENT,
                ),
            )
            ranges.append(window)
            stored_ranges.append(
                {
                    "startTime": f"{window.start:%H:%M}Z",
                    "stopTime": f"{window.stop:%H:%M}Z",
                    "chargingCurrentLimit": window.amps,
                }
            )
        days.append({"dayOfWeek": day, "ranges": stored_ranges})
    stored: dict[str, object] = {"isEnabled": enabled, "days": days}
    return _WeeklyPlan(enabled, tuple(ranges)), stored


# --- the simulated objects ----------------------------------------------------------------------

_CHARGER_LAZY = frozenset(
    {"lifetime_energy", "session_energy", "dynamic_charger_current", "dynamic_charger_expires"}
)
_CIRCUIT_LAZY = frozenset({"dynamic_current", "dynamic_expires"})


@dataclass
class EaseeAccountSim:
    """One Easee user account. The password never shows in repr."""

    username: str
    password: str = field(repr=False)
    user_id: int
    account_id: int
    # False: the access tokens carry no UserId claim (clients then fall back to the user name).
    user_id_claim: bool = True


@dataclass
class EaseeSiteSim:
    """A site of an account: an address with one or more circuits."""

    id: int
    user_id: int
    name: str
    site_key: str
    rated_current: float = 63.0
    address: dict[str, object] = field(
        default_factory=lambda: {
            "street": "Simulated Street",
            "buildingNumber": "1",
            "zip": "7030",
            "area": "Trondheim",
            "country": {"id": "NO", "name": "Norway"},
        }
    )


@dataclass
class EaseeCircuitSim:
    """A circuit (fuse) of a site, shared by its chargers.

    Setting a field takes effect "now" on the simulator's clock (energy is integrated first);
    a number given for a three-phase field means the same value on all phases. dynamic_current
    None means "not set": the circuit max applies. Reading dynamic_current applies an elapsed
    time to live first.
    """

    id: int
    site_id: int
    panel_name: str = "1"
    panel_id: int = 1
    rated_current: float = 32.0
    max_current: tuple[float, float, float] = (32.0, 32.0, 32.0)
    offline_max_current: tuple[float, float, float] = (16.0, 16.0, 16.0)
    dynamic_current: tuple[float, float, float] | None = None
    dynamic_expires: float | None = None
    # True while dynamic_current is the offline limit it fell back to after its time to live.
    dynamic_is_fallback: bool = False
    enable_idle_current: bool = False
    _sim: EaseeSimulator | None = field(default=None, init=False, repr=False, compare=False)

    if not TYPE_CHECKING:  # pragma: no branch
        # Hidden from mypy, which would otherwise accept any attribute name on this class.

        def __setattr__(self, name, value):
            self._set(name, value)

        def __getattribute__(self, name):
            if name in _CIRCUIT_LAZY:
                sim = object.__getattribute__(self, "__dict__").get("_sim")
                if sim is not None:
                    sim.catch_up()
            return object.__getattribute__(self, name)

    def _set(self, name: str, value: object) -> None:
        if name in ("max_current", "offline_max_current", "dynamic_current"):
            value = _three_phases(value)
        sim = self.__dict__.get("_sim")
        if sim is not None and not name.startswith("_"):
            sim.catch_up()
        object.__setattr__(self, name, value)
        if name == "dynamic_current":
            object.__setattr__(self, "dynamic_is_fallback", False)
        if sim is not None and not sim.busy:
            sim.hub.changed()

    def attach(self, sim: EaseeSimulator) -> None:
        """Put the circuit on the simulator's clock."""
        self._sim = sim

    def limits(self, phases: int) -> tuple[float, float | None]:
        """Return the max and the dynamic current (None: not set) over the first `phases`."""
        dynamic = self.dynamic_current
        return (
            min(self.max_current[:phases]),
            None if dynamic is None else min(dynamic[:phases]),
        )

    def settings(self) -> dict[str, object]:
        """Return the /circuits/{id}/settings answer."""
        result: dict[str, object] = {}
        for phase in range(3):
            result[f"maxCircuitCurrentP{phase + 1}"] = self.max_current[phase]
        for phase in range(3):
            result[f"offlineMaxCircuitCurrentP{phase + 1}"] = self.offline_max_current[phase]
        result["enableIdleCurrent"] = self.enable_idle_current
        return result


def _three_phases(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (float(value),) * 3
    if isinstance(value, list | tuple):
        return tuple(float(v) for v in value)
    return value


class ChargerOutput(NamedTuple):
    """What a charger does right now, as the limits decide."""

    current: float
    reason: int | None
    op_mode: int


class _Limit(NamedTuple):
    value: float
    code: int  # reasonForNoCurrent when this limit binds and the car still charges
    zero_code: int  # ... and when it takes the current below 6 A


@dataclass
class EaseeChargerSim:
    """Mutable state of one simulated charger.

    Assigning a field takes effect "now" on the simulator's clock: energy is integrated first,
    connecting a car starts a new session (dynamic charger current back to 32 A, session energy
    0, pause and schedule override lifted), disconnecting it ends the schedule override. Reading
    lifetime_energy, session_energy or the dynamic charger current first catches up with the
    clock (energy charged, time to live run out).
    """

    id: str
    circuit_id: int
    name: str = ""
    master: bool = False
    product_code: int = 1
    car_connected: bool = False
    car_wants_energy: bool = True
    car_max_current: float = DEFAULT_CURRENT
    enabled: bool = True
    paused: bool = False
    error: bool = False
    max_charger_current: float = MAX_CHARGER_CURRENT
    dynamic_charger_current: float = DEFAULT_CURRENT
    dynamic_charger_expires: float | None = None
    smart_charging: bool = False
    phase_mode: int = 2
    phases: int = 3
    voltage: float = 230.0
    is_online: bool = True
    cable_locked: bool = False
    firmware: int = 310
    lifetime_energy: float = 0.0
    session_energy: float = 0.0
    basic_charge_plan: dict[str, object] | None = None
    weekly_charge_plan: dict[str, object] | None = None
    schedule_overridden: bool = False
    led_strip_brightness: int = 50
    smart_button_enabled: bool = False
    authorization_required: bool = False
    color: int | None = None
    wifi_rssi: int = -60
    # On an IT grid the phase currents are on T2-T4 (T3-T5 on TN, where T2 is the neutral).
    it_grid: bool = False
    # Later keys of the state / config answers; they may also override documented ones.
    extra_state: dict[str, object] = field(default_factory=dict)
    extra_config: dict[str, object] = field(default_factory=dict)

    # Bookkeeping of the simulator.
    created_at: float = field(default=0.0, init=False, repr=False, compare=False)
    updated_at: float = field(default=0.0, init=False, repr=False, compare=False)
    offline_since: float = field(default=0.0, init=False, repr=False, compare=False)
    hourly_energy: dict[int, float] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _sim: EaseeSimulator | None = field(default=None, init=False, repr=False, compare=False)

    if not TYPE_CHECKING:  # pragma: no branch

        def __setattr__(self, name, value):
            self._set(name, value)

        def __getattribute__(self, name):
            if name in _CHARGER_LAZY:
                sim = object.__getattribute__(self, "__dict__").get("_sim")
                if sim is not None:
                    sim.catch_up()
            return object.__getattribute__(self, name)

    def _set(self, name: str, value: object) -> None:
        sim = self.__dict__.get("_sim")
        if sim is None or name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        now = sim.catch_up()
        old = self.__dict__.get(name)
        object.__setattr__(self, name, value)
        if name == "car_connected" and value and not old:
            self.new_session()
        elif name == "car_connected" and not value and old:
            self.schedule_overridden = False
        elif name == "is_online" and old and not value:
            self.offline_since = now
        if not sim.busy:  # catching up: the hub's next ping sends what changed
            sim.hub.changed()

    def attach(self, sim: EaseeSimulator, now: float) -> None:
        """Put the charger on the simulator's clock."""
        self.created_at = now
        self.updated_at = now
        self.offline_since = now
        self._sim = sim

    def new_session(self) -> None:
        """Reset what a car connecting resets."""
        self.dynamic_charger_current = DEFAULT_CURRENT
        self.dynamic_charger_expires = None
        self.session_energy = 0.0
        self.paused = False
        self.schedule_overridden = False

    @property
    def effective_phases(self) -> int:
        """Phases the charger uses: phase mode 1 locks it to one."""
        return 1 if self.phase_mode == 1 else self.phases

    @property
    def output_current(self) -> float:
        """Current per phase given to the car right now, in A."""
        return self._simulator().output_of(self).current

    @property
    def op_mode(self) -> int:
        """The chargerOpMode right now."""
        return self._simulator().output_of(self).op_mode

    @property
    def reason_for_no_current(self) -> int | None:
        """The reasonForNoCurrent right now."""
        return self._simulator().output_of(self).reason

    @property
    def total_power(self) -> float:
        """Power drawn right now, in kW."""
        return self.output_current * self.voltage * self.effective_phases / 1000.0

    def state(self) -> dict[str, object]:
        """Return the /api/chargers/{id}/state answer."""
        return self._simulator().state_of(self)

    def config(self) -> dict[str, object]:
        """Return the /api/chargers/{id}/config answer."""
        return self._simulator().config_of(self)

    def describe(self) -> dict[str, object]:
        """Return every settable field plus what the limits make of them (for /_sim)."""
        output = self._simulator().output_of(self)
        result: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        result.update(
            output_current=output.current,
            op_mode=output.op_mode,
            reason_for_no_current=output.reason,
            total_power=self.total_power,
        )
        return result

    def _simulator(self) -> EaseeSimulator:
        if self._sim is None:
            raise RuntimeError("the charger is not part of a simulator")
        return self._sim


# --- requests, faults, tokens, rate limits ------------------------------------------------------


@dataclass(frozen=True)
class EaseeRequest:
    """One request to the simulated cloud API, as logged (never with a password or token)."""

    time: float
    method: str
    path: str
    query: dict[str, str]
    body: object | None
    status: int
    result: str
    user_agent: str | None = None
    # Chaos lost the answer: the client never heard ``result`` (a ban it could not know of).
    answer_lost: bool = False


@dataclass
class _Token:
    user_id: int
    expires: float | None  # None: a refresh token, which does not expire


@dataclass
class _IpState:
    requests: deque[float] = field(default_factory=deque)  # every request in the window
    accepted: deque[float] = field(default_factory=deque)  # those the rate limit let through
    logins: deque[float] = field(default_factory=deque)  # logins let through, last hour
    strikes: deque[float] = field(default_factory=deque)  # requests during a Retry-After
    retry_until: float | None = None
    login_retry_until: float | None = None
    blocked_until: float | None = None


@dataclass
class _Ban:
    """A ban the simulator was told to play: its form, and until when (it may restart)."""

    form: str
    seconds: float
    until: float
    user_id: int | None  # whose requests it refuses; None: every request


@dataclass
class _Context:
    """What the middleware found out about a request, for the handler."""

    now: float
    body: object
    user: EaseeAccountSim | None
    result: str = "ok"


_CONTEXT_KEY = "easee_context"


class _ApiError(Exception):
    def __init__(self, status: int, body: object, result: str) -> None:
        super().__init__(result)
        self.status = status
        self.body = body
        self.result = result


def _bad(title: str) -> _ApiError:
    return _ApiError(400, bad_request_body(title), "bad_request")


def _not_found() -> _ApiError:
    return _ApiError(404, NOT_FOUND, "not_found")


def _prune(times: deque[float], before: float) -> None:
    while times and times[0] <= before:
        times.popleft()


# --- the simulator ------------------------------------------------------------------------------


class EaseeSimulator(PathFaultServer[EaseeRequest]):
    """The Easee cloud for accounts, sites, circuits and chargers, as an aiohttp application."""

    fault_kinds = FAULT_KINDS
    too_many_requests_body = TOO_MANY_REQUESTS
    list_routes = _LIST_ROUTES

    def __init__(
        self,
        *,
        clock: Callable[[], float] = wall_clock,
        latency_scale: float = 1.0,
        max_requests: int = 200,
        window: float = 300.0,
        max_logins: int = 10,
        block_after_strikes: int = 10,
        block_threshold: int = 400,
        block_seconds: float = 86400.0,
        block_form: str = "blocked_403",
        access_token_lifetime: int = 3600,
        command_answer: str = "202",
    ) -> None:
        super().__init__(clock=clock, latency_scale=latency_scale)
        self.max_requests = max_requests
        self.window = window
        self.max_logins = max_logins
        self.block_after_strikes = block_after_strikes
        self.block_threshold = block_threshold
        self.block_seconds = block_seconds
        if block_form not in BAN_FORMS:
            raise ValueError(f"unknown block form: {block_form}")
        # How the IP block answers (one of BAN_FORMS); "blocked_429" restarts with each request.
        self.block_form = block_form
        self.access_token_lifetime = access_token_lifetime
        if command_answer not in COMMAND_ANSWER_FORMS:
            raise ValueError(f"unknown command answer: {command_answer}")
        # How writes are answered: one of COMMAND_ANSWER_FORMS.
        self.command_answer = command_answer
        # Where the chargers are: a daily basic plan repeats its clock times in this zone.
        self.plan_time_zone = ZoneInfo("UTC")
        self.accounts: dict[str, EaseeAccountSim] = {}  # by lower-cased user name
        self.sites: dict[int, EaseeSiteSim] = {}
        self.circuits: dict[int, EaseeCircuitSim] = {}
        self.chargers: dict[str, EaseeChargerSim] = {}
        self._ips: dict[str, _IpState] = {}
        self._access_tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, _Token] = {}
        self._issued: set[str] = set()
        self._signing_key = secrets.token_bytes(32)
        self._advanced_to = clock()
        self._busy = False
        # Circuits that list a back plate with no charger mounted (id null), as real ones may.
        self.empty_back_plates: set[int] = set()
        self._site_reads: dict[int, deque[float]] = {}
        self._bans: list[_Ban] = []
        # The SignalR hub: it streams every change of the chargers to subscribed clients.
        self.hub = EaseeHub(self, clock)

    # --- setup for tests and the demo -----------------------------------------------------------

    def add_account(
        self, username: str, password: str, *, user_id: int, account_id: int | None = None
    ) -> EaseeAccountSim:
        """Create a user account; account_id defaults to the user id."""
        if not username or not password:
            raise ValueError("user name and password must not be empty")
        if username.lower() in self.accounts:
            raise ValueError(f"account {username} exists")
        if any(a.user_id == user_id for a in self.accounts.values()):
            raise ValueError(f"user id {user_id} exists")
        account = EaseeAccountSim(
            username, password, user_id, user_id if account_id is None else account_id
        )
        self.accounts[username.lower()] = account
        return account

    def add_site(self, user_id: int, site_id: int, name: str) -> EaseeSiteSim:
        """Create a site belonging to the account with this user id."""
        if not any(a.user_id == user_id for a in self.accounts.values()):
            raise ValueError(f"no account with user id {user_id}")
        if site_id in self.sites:
            raise ValueError(f"site {site_id} exists")
        site = EaseeSiteSim(site_id, user_id, name, f"SITE-{site_id:04d}")
        self.sites[site_id] = site
        return site

    def add_circuit(
        self,
        site_id: int,
        circuit_id: int,
        *,
        panel_name: str = "1",
        rated_current: float = 32,
        max_current: float = 32,
        offline_max_current: float = 16,
    ) -> EaseeCircuitSim:
        """Create a circuit of a site, with the same limits on all three phases."""
        if site_id not in self.sites:
            raise ValueError(f"no site {site_id}")
        if circuit_id in self.circuits:
            raise ValueError(f"circuit {circuit_id} exists")
        for name, value in (
            ("rated_current", rated_current),
            ("max_current", max_current),
            ("offline_max_current", offline_max_current),
        ):
            _in_range(name, value, 0, 1000)
        self.catch_up()
        panel_id = 1 + sum(1 for c in self.circuits.values() if c.site_id == site_id)
        circuit = EaseeCircuitSim(
            circuit_id,
            site_id,
            panel_name,
            panel_id,
            float(rated_current),
            (float(max_current),) * 3,
            (float(offline_max_current),) * 3,
        )
        circuit.attach(self)
        self.circuits[circuit_id] = circuit
        return circuit

    def add_charger(
        self,
        charger_id: str,
        circuit_id: int,
        *,
        name: str | None = None,
        master: bool = False,
        product_code: int = 1,
        **state: Any,
    ) -> EaseeChargerSim:
        """Install a charger on a circuit; `state` takes the fields of EaseeChargerSim."""
        if not CHARGER_ID_PATTERN.fullmatch(charger_id):
            raise ValueError("charger id must be 1 to 20 letters and digits")
        if charger_id in self.chargers:
            raise ValueError(f"charger {charger_id} exists")
        if circuit_id not in self.circuits:
            raise ValueError(f"no circuit {circuit_id}")
        if master and self.master_of(circuit_id) is not None:
            raise ValueError(f"circuit {circuit_id} already has a master charger")
        checked = validate_charger_fields(
            {"name": name or charger_id, "product_code": product_code, **state}
        )
        now = self.catch_up()
        charger = EaseeChargerSim(charger_id, circuit_id, master=master)
        for field_name, value in checked.items():
            setattr(charger, field_name, value)
        charger.attach(self, now)
        self.chargers[charger_id] = charger
        return charger

    def add_empty_back_plate(self, circuit_id: int) -> None:
        """Let a circuit list a back plate with no charger on it (``id: null``)."""
        if circuit_id not in self.circuits:
            raise ValueError(f"no circuit {circuit_id}")
        self.empty_back_plates.add(circuit_id)

    async def stop(self) -> None:
        """Close the hub's connections, then stop serving."""
        await self.hub.close()
        await super().stop()

    def remove_charger(self, charger_id: str) -> None:
        """Take a charger away: it disappears from every answer."""
        self.catch_up()
        del self.chargers[charger_id]

    def charger(self, charger_id: str) -> EaseeChargerSim:
        """Return a charger by id."""
        return self.chargers[charger_id]

    def circuit(self, circuit_id: int) -> EaseeCircuitSim:
        """Return a circuit by id."""
        return self.circuits[circuit_id]

    def master_of(self, circuit_id: int) -> EaseeChargerSim | None:
        """Return the circuit's master charger, if it has one."""
        return next(
            (c for c in self.chargers.values() if c.circuit_id == circuit_id and c.master), None
        )

    def connect_car(self, charger_id: str) -> None:
        """Plug a car in: a new session starts."""
        self.chargers[charger_id].car_connected = True

    def disconnect_car(self, charger_id: str) -> None:
        """Unplug the car."""
        self.chargers[charger_id].car_connected = False

    def power_loss(self, charger_id: str) -> None:
        """Cut the charger's power for a moment: every volatile value resets."""
        charger = self.chargers[charger_id]
        self.catch_up()
        charger.dynamic_charger_current = DEFAULT_CURRENT
        charger.dynamic_charger_expires = None
        charger.paused = False
        if charger.master:
            circuit = self.circuits[charger.circuit_id]
            circuit.dynamic_current = None
            circuit.dynamic_expires = None

    def invalidate_tokens(self, user_id: int | None = None) -> None:
        """Make every access and refresh token of the account (or of all) stop working."""
        for tokens in (self._access_tokens, self._refresh_tokens):
            for token, owner in list(tokens.items()):
                if user_id is None or owner.user_id == user_id:
                    del tokens[token]

    def change_password(self, username: str, new_password: str) -> None:
        """Give an account a new password (tokens already issued keep working)."""
        if not new_password:
            raise ValueError("the password must not be empty")
        self.accounts[username.lower()].password = new_password

    def requests_to(self, method: str, path: str) -> list[EaseeRequest]:
        """Return the logged requests with this method and exactly this path."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def issued_secrets(self) -> set[str]:
        """Return every access and refresh token ever issued."""
        return set(self._issued)

    @property
    def blocked_until(self) -> float | None:
        """Return when the (latest) IP block ends; None when no IP is blocked."""
        now = self._clock()
        ends = [
            s.blocked_until
            for s in self._ips.values()
            if s.blocked_until is not None and s.blocked_until > now
        ]
        return max(ends) if ends else None

    def unblock(self) -> None:
        """Lift every block and ban, and forget the rate-limit history."""
        self._ips.clear()
        self._bans.clear()

    def ban(self, form: str, seconds: float, *, user_id: int | None = None) -> None:
        """Ban from now on for ``seconds``, answering in one of BAN_FORMS.

        ``user_id``: only that account's requests (its tokens, its login), so that one day
        can meet every form on accounts of their own; None: every request, as Easee bans an IP.
        A "blocked_429" ban restarts with every request it refuses. Each refused request is
        logged with the result "banned".
        """
        if form not in BAN_FORMS:
            raise ValueError(f"unknown ban form: {form}")
        if seconds <= 0:
            raise ValueError("a ban must last")
        self._bans.append(_Ban(form, seconds, self._clock() + seconds, user_id))

    def _request_user(self, request: web.Request, body: object) -> int | None:
        """Return whose request it is: its login's user, refresh token's or access token's."""
        if request.path == "/api/accounts/login":
            name = body.get("userName") if isinstance(body, dict) else None
            account = self.accounts.get(name.lower()) if isinstance(name, str) else None
            return None if account is None else account.user_id
        if request.path == "/api/accounts/refresh_token":
            refresh = body.get("refreshToken") if isinstance(body, dict) else None
            owner = self._refresh_tokens.get(refresh) if isinstance(refresh, str) else None
            return None if owner is None else owner.user_id
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        owner = self._access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return None if owner is None else owner.user_id

    def _banned(self, request: web.Request, body: object, now: float) -> web.Response | None:
        """Return the ban's answer when a ban running now refuses the request."""
        for ban in self._bans:
            if now >= ban.until:
                continue
            if ban.user_id is not None and ban.user_id != self._request_user(request, body):
                continue
            if ban.form == "blocked_429":
                ban.until = now + ban.seconds
            return self._blocked_response(ban.form, "banned")
        return None

    # --- the model ------------------------------------------------------------------------------

    def catch_up(self) -> float:
        """Bring energy and expiries up to the clock's now; return now."""
        now = self._clock()
        if self._busy:
            return now
        with self._quiet():
            moment = self._advanced_to
            self._expire(moment)
            while moment < now:
                step_end = min(now, self._next_change(moment))
                self._integrate(moment, step_end)
                moment = step_end
                self._expire(moment)
            self._advanced_to = max(self._advanced_to, now)
        return now

    @property
    def busy(self) -> bool:
        """Tell whether the model is catching up with the clock."""
        return self._busy

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        # While set, attribute hooks do not catch up again (they would recurse).
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    def _expire(self, moment: float) -> None:
        for charger in self.chargers.values():
            expires = charger.dynamic_charger_expires
            if expires is not None and moment >= expires:
                charger.dynamic_charger_current = DEFAULT_CURRENT
                charger.dynamic_charger_expires = None
        for circuit in self.circuits.values():
            expires = circuit.dynamic_expires
            if expires is not None and moment >= expires:
                circuit.dynamic_current = circuit.offline_max_current
                circuit.dynamic_expires = None
                circuit.dynamic_is_fallback = True

    def _next_change(self, moment: float) -> float:
        changes = [math.inf]
        for charger in self.chargers.values():
            if charger.dynamic_charger_expires is not None:
                changes.append(charger.dynamic_charger_expires)
            basic, weekly = self._active_plans(charger)
            if basic is not None:
                changes.append(basic.next_change(moment, self.plan_time_zone))
            if weekly is not None:
                changes.append(weekly.next_change(moment))
        changes.extend(
            c.dynamic_expires for c in self.circuits.values() if c.dynamic_expires is not None
        )
        return min(c for c in changes if c > moment)

    def _integrate(self, start: float, end: float) -> None:
        outputs = self._evaluate(start)
        for charger in self.chargers.values():
            current = outputs[charger.id].current
            if current <= 0:
                continue
            kw = current * charger.voltage * charger.effective_phases / 1000.0
            moment = start
            while moment < end:
                hour = math.floor(moment / 3600) * 3600
                piece_end = min(end, hour + 3600.0)
                kwh = kw * (piece_end - moment) / 3600.0
                charger.lifetime_energy += kwh
                charger.session_energy += kwh
                charger.hourly_energy[hour] = charger.hourly_energy.get(hour, 0.0) + kwh
                moment = piece_end

    @staticmethod
    def _active_plans(charger: EaseeChargerSim) -> tuple[_BasicPlan | None, _WeeklyPlan | None]:
        """Return the basic and the weekly plan when they are on (and not overridden)."""
        if charger.schedule_overridden:
            return None, None
        basic = (
            None
            if charger.basic_charge_plan is None
            else parse_basic_charge_plan(charger.basic_charge_plan, charger.id)[0]
        )
        weekly = (
            None
            if charger.weekly_charge_plan is None
            else parse_weekly_charge_plan(charger.weekly_charge_plan)[0]
        )
        return (
            basic if basic is not None and basic.enabled else None,
            weekly if weekly is not None and weekly.enabled else None,
        )

    def _plan_limit(self, charger: EaseeChargerSim, moment: float) -> float | None:
        """Return the lower of what the plans in force allow (None: no plan holds anything)."""
        basic, weekly = self._active_plans(charger)
        limits = [
            limit
            for limit in (
                basic.limit_at(moment, self.plan_time_zone) if basic is not None else None,
                weekly.limit_at(moment) if weekly is not None else None,
            )
            if limit is not None
        ]
        return min(limits) if limits else None

    def output_of(self, charger: EaseeChargerSim) -> ChargerOutput:
        """Return what the charger does right now."""
        now = self.catch_up()
        with self._quiet():
            return self._evaluate(now)[charger.id]

    def _evaluate(self, moment: float) -> dict[str, ChargerOutput]:
        outputs: dict[str, ChargerOutput] = {}
        for circuit in self.circuits.values():
            members = [c for c in self.chargers.values() if c.circuit_id == circuit.id]
            own = {
                c.id: self._own_limits(c, moment) for c in members if self._idle_output(c) is None
            }
            # Chargers their own limits keep below 6 A leave the circuit to the others.
            sharers = sum(
                1 for limits in own.values() if min(limit.value for limit in limits) >= MIN_CURRENT
            )
            for charger in members:
                idle = self._idle_output(charger)
                if idle is not None:
                    outputs[charger.id] = idle
                    continue
                limits = [*own[charger.id], self._circuit_limit(charger, circuit, sharers)]
                # min() keeps the first of equal values: the car, then the order above.
                binding = min(limits, key=lambda limit: limit.value)
                if binding.value >= MIN_CURRENT:
                    outputs[charger.id] = ChargerOutput(binding.value, binding.code, OP_CHARGING)
                else:
                    op_mode = (
                        OP_READY_TO_CHARGE
                        if binding.zero_code == REASON_WAITING_FOR_SCHEDULE
                        else OP_AWAITING_START
                    )
                    outputs[charger.id] = ChargerOutput(0.0, binding.zero_code, op_mode)
        return outputs

    @staticmethod
    def _idle_output(charger: EaseeChargerSim) -> ChargerOutput | None:
        """Return the output of a charger that does not ask for current; None if it does."""
        if not charger.is_online:
            return ChargerOutput(0.0, None, OP_OFFLINE)
        if not charger.car_connected:
            return ChargerOutput(0.0, None, OP_DISCONNECTED)
        if charger.error:
            return ChargerOutput(0.0, REASON_IN_ERROR, OP_ERROR)
        if not charger.car_wants_energy:
            return ChargerOutput(0.0, REASON_CAR_NOT_CHARGING, OP_COMPLETED)
        if not charger.enabled:
            return ChargerOutput(0.0, REASON_DISABLED, OP_AWAITING_START)
        if charger.paused:
            return ChargerOutput(0.0, REASON_DYNAMIC_CHARGER_TOO_LOW, OP_AWAITING_START)
        return None

    def _own_limits(self, charger: EaseeChargerSim, moment: float) -> list[_Limit]:
        limits = [
            _Limit(charger.car_max_current, REASON_OK, REASON_CAR_NOT_CHARGING),
            _Limit(
                charger.max_charger_current,
                REASON_LIMITED_BY_CHARGER_MAX,
                REASON_CHARGER_MAX_TOO_LOW,
            ),
            _Limit(
                charger.dynamic_charger_current,
                REASON_LIMITED_BY_DYNAMIC_CHARGER,
                REASON_DYNAMIC_CHARGER_TOO_LOW,
            ),
        ]
        amps = self._plan_limit(charger, moment)
        if amps is not None:
            zero_code = REASON_LIMITED_BY_SCHEDULE if amps > 0 else REASON_WAITING_FOR_SCHEDULE
            limits.append(_Limit(amps, REASON_LIMITED_BY_SCHEDULE, zero_code))
        return limits

    @staticmethod
    def _circuit_limit(charger: EaseeChargerSim, circuit: EaseeCircuitSim, sharers: int) -> _Limit:
        maximum, dynamic = circuit.limits(charger.effective_phases)
        if dynamic is not None and dynamic < maximum:
            total = dynamic
            code = REASON_LIMITED_BY_DYNAMIC_CIRCUIT
            zero_code = (
                REASON_OFFLINE_FALLBACK_TOO_LOW
                if circuit.dynamic_is_fallback
                else REASON_DYNAMIC_CIRCUIT_TOO_LOW
            )
        else:
            total, code, zero_code = (
                maximum,
                REASON_LIMITED_BY_CIRCUIT_MAX,
                REASON_CIRCUIT_MAX_TOO_LOW,
            )
        if sharers > 1:
            queued = zero_code if total < MIN_CURRENT else REASON_WAITING_IN_QUEUE
            return _Limit(total / sharers, REASON_LIMITED_BY_LOAD_BALANCING, queued)
        return _Limit(total, code, zero_code)

    # --- JSON shapes ----------------------------------------------------------------------------

    def state_of(self, charger: EaseeChargerSim) -> dict[str, object]:
        """Return the /api/chargers/{id}/state answer for a charger."""
        now = self.catch_up()
        output = self.output_of(charger)
        circuit = self.circuits[charger.circuit_id]
        unset = (
            UNSET_DYNAMIC_CIRCUIT_CHARGE
            if charger.product_code in CHARGE_PRODUCT_CODES
            else UNSET_DYNAMIC_CIRCUIT_HOME
        )
        dynamic = circuit.dynamic_current or (unset, unset, unset)
        phases = charger.effective_phases
        power = output.current * charger.voltage * phases / 1000.0
        in_currents = [output.current if phase < phases else 0.0 for phase in range(3)]
        # T2..T5: the phases start at T3 on TN grids (T2 the neutral), at T2 on IT grids.
        terminals = [*in_currents, 0.0] if charger.it_grid else [0.0, *in_currents]
        if output.current <= 0:
            output_phase = 0
        elif charger.it_grid:
            output_phase = OUTPUT_PHASE_IT_1 if phases == 1 else OUTPUT_PHASE_IT_2
        else:
            output_phase = 10 * phases
        return {
            "chargerOpMode": output.op_mode,
            "totalPower": power,
            "sessionEnergy": charger.session_energy,
            "lifetimeEnergy": charger.lifetime_energy,
            "energyPerHour": power,
            "dynamicChargerCurrent": charger.dynamic_charger_current,
            "dynamicCircuitCurrentP1": dynamic[0],
            "dynamicCircuitCurrentP2": dynamic[1],
            "dynamicCircuitCurrentP3": dynamic[2],
            "outputCurrent": output.current,
            "inCurrentT2": terminals[0],
            "inCurrentT3": terminals[1],
            "inCurrentT4": terminals[2],
            "inCurrentT5": terminals[3],
            "outputPhase": output_phase,
            "voltage": charger.voltage,
            "cableLocked": charger.cable_locked,
            "cableRating": MAX_CHARGER_CURRENT,
            "isOnline": charger.is_online,
            "reasonForNoCurrent": output.reason,
            "smartCharging": charger.smart_charging,
            "latestPulse": _iso(now if charger.is_online else charger.offline_since),
            "chargerFirmware": charger.firmware,
            "latestFirmware": charger.firmware,
            "wiFiRSSI": charger.wifi_rssi,
            "ledMode": 18 if output.op_mode == OP_CHARGING else 2,
            **charger.extra_state,
        }

    def config_of(self, charger: EaseeChargerSim) -> dict[str, object]:
        """Return the /api/chargers/{id}/config answer for a charger."""
        circuit = self.circuits[charger.circuit_id]
        return {
            "isEnabled": charger.enabled,
            "lockCablePermanently": False,
            "authorizationRequired": charger.authorization_required,
            "remoteStartRequired": False,
            "smartButtonEnabled": charger.smart_button_enabled,
            "wiFiSSID": "SimulatedNet",
            "detectedPowerGridType": GRID_IT_3_PHASE if charger.it_grid else GRID_TN_3_PHASE,
            "offlineChargingMode": 0,
            "circuitMaxCurrentP1": circuit.max_current[0],
            "circuitMaxCurrentP2": circuit.max_current[1],
            "circuitMaxCurrentP3": circuit.max_current[2],
            "enableIdleCurrent": circuit.enable_idle_current,
            "limitToSinglePhaseCharging": charger.phase_mode == 1,
            "phaseMode": charger.phase_mode,
            "localNodeType": 1 if charger.master else 2,
            "localAuthorizationRequired": False,
            "ledStripBrightness": charger.led_strip_brightness,
            "maxChargerCurrent": charger.max_charger_current,
            "dynamicChargerCurrent": charger.dynamic_charger_current,
            "maxCurrentOfflineFallbackP1": circuit.offline_max_current[0],
            "maxCurrentOfflineFallbackP2": circuit.offline_max_current[1],
            "maxCurrentOfflineFallbackP3": circuit.offline_max_current[2],
            **charger.extra_config,
        }

    def _master_plate(self, circuit_id: int) -> str:
        master = self.master_of(circuit_id)
        # Without a visible master the circuit's master back plate belongs to no listed charger.
        return f"BP{master.id}" if master else f"BPCIRCUIT{circuit_id}"

    def _charger_json(
        self, charger: EaseeChargerSim, *, back_plate: bool = False
    ) -> dict[str, object]:
        # The account's list answers backPlate null; only a site's circuits show the plates.
        plate = (
            {"id": f"BP{charger.id}", "masterBackPlateId": self._master_plate(charger.circuit_id)}
            if back_plate
            else None
        )
        return {
            "id": charger.id,
            "name": charger.name,
            "color": charger.color,
            "createdOn": _iso(charger.created_at),
            "updatedOn": _iso(charger.updated_at),
            "backPlate": plate,
            "levelOfAccess": 1,
            "productCode": charger.product_code,
            "userRole": 1,
        }

    def _circuit_json(self, circuit: EaseeCircuitSim) -> dict[str, object]:
        chargers: list[dict[str, object]] = [
            self._charger_json(c, back_plate=True)
            for c in self.chargers.values()
            if c.circuit_id == circuit.id
        ]
        if circuit.id in self.empty_back_plates:
            chargers.append(
                {
                    "id": None,
                    "name": None,
                    "color": None,
                    "createdOn": None,
                    "updatedOn": None,
                    "backPlate": {
                        "id": f"BPEMPTY{circuit.id}",
                        "masterBackPlateId": self._master_plate(circuit.id),
                    },
                    "levelOfAccess": None,
                    "productCode": None,
                    "userRole": None,
                }
            )
        return {
            "id": circuit.id,
            "siteId": circuit.site_id,
            "circuitPanelId": circuit.panel_id,
            "panelName": circuit.panel_name,
            "ratedCurrent": circuit.rated_current,
            "fuse": circuit.rated_current,
            "chargers": chargers,
            "masterBackplate": None,
            "useDynamicMaster": False,
            "parentCircuitId": None,
        }

    def _site_state_json(self, site: EaseeSiteSim) -> dict[str, object]:
        circuits = [c for c in self.circuits.values() if c.site_id == site.id]
        return {
            "site": self._site_json(site, circuits=True, detailed=True),
            "circuitStates": [
                {
                    "circuit": self._circuit_json(circuit),
                    "chargerStates": [
                        {
                            "chargerID": charger.id,
                            "chargerConfig": self.config_of(charger),
                            "chargerState": self.state_of(charger),
                        }
                        for charger in self.chargers.values()
                        if charger.circuit_id == circuit.id
                    ],
                }
                for circuit in circuits
            ],
        }

    def _site_json(
        self, site: EaseeSiteSim, *, circuits: bool, detailed: bool
    ) -> dict[str, object]:
        result: dict[str, object] = {
            "id": site.id,
            "siteKey": site.site_key,
            "name": site.name,
            "levelOfAccess": 1,
        }
        if detailed:
            result["ratedCurrent"] = site.rated_current
            result["address"] = site.address
        if circuits:
            result["circuits"] = [
                self._circuit_json(c) for c in self.circuits.values() if c.site_id == site.id
            ]
        return result

    def _observations(self, charger: EaseeChargerSim) -> dict[int, tuple[object, int]]:
        state = self.state_of(charger)
        # dataType: 3 double, 4 integer (Easee's observation data types).
        return {
            109: (state["chargerOpMode"], 4),
            120: (state["totalPower"], 3),
            121: (state["sessionEnergy"], 3),
            124: (state["lifetimeEnergy"], 3),
            47: (charger.max_charger_current, 3),
            48: (state["dynamicChargerCurrent"], 3),
            111: (state["dynamicCircuitCurrentP1"], 3),
            112: (state["dynamicCircuitCurrentP2"], 3),
            113: (state["dynamicCircuitCurrentP3"], 3),
        }

    # --- the hub's view of the model ------------------------------------------------------------

    def hub_user(self, request: web.Request) -> int | None:
        """Return the user id of the request's bearer token; None when it does not work now."""
        try:
            return self._authenticate(request, self.catch_up()).user_id
        except _ApiError:
            return None

    def hub_token_valid(self, token: str) -> bool:
        """Tell whether an access token works now (not expired, not invalidated)."""
        owner = self._access_tokens.get(token)
        return owner is not None and owner.expires is not None and self._clock() < owner.expires

    def hub_banned(self, request: web.Request) -> web.StreamResponse | None:
        """Return the refusal for a banned IP or account (no stream for it either), else None."""
        now = self._clock()
        if (banned := self._banned(request, None, now)) is not None:
            return banned
        state = self._ips.get(request.remote or "unknown")
        if state is None or state.blocked_until is None or now >= state.blocked_until:
            return None
        return self._blocked_response(self.block_form, "blocked")

    def hub_owns(self, user_id: int, charger_id: str) -> bool:
        """Tell whether the charger belongs to the user."""
        charger = self.chargers.get(charger_id)
        return (
            charger is not None
            and self.sites[self.circuits[charger.circuit_id].site_id].user_id == user_id
        )

    def hub_observations(self, charger_id: str) -> dict[int, tuple[str, int]] | None:
        """Return a charger's observations as the hub sends them (values as text)."""
        charger = self.chargers.get(charger_id)
        if charger is None:
            return None
        return {
            key: (_observation_text(value), data_type)
            for key, (value, data_type) in self._observations(charger).items()
        }

    # --- tokens ---------------------------------------------------------------------------------

    def _issue_tokens(self, account: EaseeAccountSim, now: float) -> dict[str, object]:
        issued_at = int(now)
        expires = issued_at + self.access_token_lifetime
        payload: dict[str, object] = {"AccountId": account.account_id}
        if account.user_id_claim:
            # Today's tokens carry the user id as a string (older ones had a number).
            payload["UserId"] = str(account.user_id)
        payload.update(
            {
                "unique_name": account.username,
                "role": ["User"],
                "nbf": issued_at,
                "exp": expires,
                "iat": issued_at,
                "jti": uuid.uuid4().hex,  # two logins in one second still get two tokens
            }
        )
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._signing_key, f"{header}.{body}".encode(), hashlib.sha256)
        access = f"{header}.{body}.{_b64url(signature.digest())}"
        refresh = secrets.token_urlsafe(32)
        self._access_tokens[access] = _Token(account.user_id, float(expires))
        self._refresh_tokens[refresh] = _Token(account.user_id, None)
        self._issued.update((access, refresh))
        return {
            "accessToken": access,
            "expiresIn": self.access_token_lifetime,
            "accessClaims": ["User"],
            "tokenType": "Bearer",
            "refreshToken": refresh,
        }

    def _account_by_user_id(self, user_id: int) -> EaseeAccountSim:
        return next(a for a in self.accounts.values() if a.user_id == user_id)

    def _authenticate(self, request: web.Request, now: float) -> EaseeAccountSim:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        owner = self._access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if owner is None or owner.expires is None or now >= owner.expires:
            raise _ApiError(401, UNAUTHORIZED, "unauthorized")
        return self._account_by_user_id(owner.user_id)

    # --- rate limits ----------------------------------------------------------------------------

    def _rate_limit(self, ip: str, now: float, *, login: bool) -> web.Response | None:
        """Count the request; return the refusal when the IP is over a limit."""
        state = self._ips.setdefault(ip, _IpState())
        if state.blocked_until is not None:
            if now < state.blocked_until:
                if self.block_form == "blocked_429":
                    state.blocked_until = now + self.block_seconds
                return self._blocked_response(self.block_form, "blocked")
            state = self._ips[ip] = _IpState()  # the block is over: a fresh start
        _prune(state.requests, now - self.window)
        _prune(state.accepted, now - self.window)
        _prune(state.strikes, now - self.window)
        _prune(state.logins, now - LOGIN_WINDOW)
        state.requests.append(now)
        if len(state.requests) > self.block_threshold:
            return self._block(state, now)
        retry_ends = [state.retry_until]
        if login:
            retry_ends.append(state.login_retry_until)
        running = [end for end in retry_ends if end is not None and now < end]
        if running:
            state.strikes.append(now)
            if len(state.strikes) > self.block_after_strikes:
                return self._block(state, now)
            return self._too_many(max(running) - now, "strike")
        if len(state.accepted) >= self.max_requests:
            state.retry_until = (
                state.accepted[len(state.accepted) - self.max_requests] + self.window
            )
            return self._too_many(state.retry_until - now, "rate_limited")
        if login and len(state.logins) >= self.max_logins:
            state.login_retry_until = (
                state.logins[len(state.logins) - self.max_logins] + LOGIN_WINDOW
            )
            return self._too_many(state.login_retry_until - now, "login_rate_limited")
        state.accepted.append(now)
        if login:
            state.logins.append(now)
        return None

    def _block(self, state: _IpState, now: float) -> web.Response:
        state.blocked_until = now + self.block_seconds
        _LOGGER.debug("blocking the client for %s s", self.block_seconds)
        return self._blocked_response(self.block_form, "blocked")

    @staticmethod
    def _blocked_response(form: str, result: str) -> web.Response:
        """Answer as Easee does to a banned IP, in one of its BAN_FORMS."""
        if form == "blocked_429":
            response = web.Response(text=BLOCKED_24H, status=429)
        else:
            response = web.json_response(
                FORBIDDEN if form == "forbidden_403" else BLOCKED, status=403
            )
        response["easee_result"] = result
        return response

    @staticmethod
    def _too_many(seconds: float, result: str) -> web.Response:
        response = web.json_response(
            TOO_MANY_REQUESTS,
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(seconds)))},
        )
        response["easee_result"] = result
        return response

    # --- server ---------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application: the cloud API plus /_sim admin endpoints."""
        app = web.Application(middlewares=[self._middleware])
        get, post = app.router.add_get, app.router.add_post
        charger = "/api/chargers/{charger_id}"
        circuit = "/api/sites/{site_id:[0-9]+}/circuits/{circuit_id:[0-9]+}"
        post("/api/accounts/login", self._handle_login)
        post("/api/accounts/refresh_token", self._handle_refresh)
        get("/api/accounts/products", self._handle_products, allow_head=False, name="products")
        get("/api/chargers", self._handle_chargers, allow_head=False, name="chargers")
        get("/api/sites/{site_id:[0-9]+}", self._handle_site, allow_head=False)
        get("/api/sites/{site_id:[0-9]+}/state", self._handle_site_state, allow_head=False)
        get(f"{charger}/state", self._handle_state, allow_head=False)
        get(f"{charger}/config", self._handle_config, allow_head=False)
        # Both charge plans: the path's last part names the charger's field that holds it.
        plan = f"{charger}/{{plan:basic_charge_plan|weekly_charge_plan}}"
        get(plan, self._handle_plan, allow_head=False)
        get(
            f"{charger}/usage/hourly/{{start}}/{{end}}",
            self._handle_usage,
            allow_head=False,
            name="usage",
        )
        get("/state/{charger_id}/observations", self._handle_observations, allow_head=False)
        get(f"{circuit}/settings", self._handle_circuit_settings, allow_head=False)
        post(f"{charger}/settings", self._handle_charger_settings, name="charger_settings")
        post(f"{charger}/commands/set_dynamic_charger_current", self._handle_dynamic_current)
        post(f"{charger}/commands/{{command}}", self._handle_command)
        post(plan, self._handle_set_plan)
        app.router.add_delete(plan, self._handle_delete_plan)
        post(
            f"{circuit}/settings",
            self._handle_set_circuit_settings,
            name="circuit_settings_post",
        )
        post(f"{circuit}/dynamicCurrent", self._handle_circuit_dynamic, name="circuit_dynamic")
        get("/_sim/requests", self._handle_sim_requests, allow_head=False)
        get("/_sim/chargers", self._handle_sim_chargers, allow_head=False)
        post("/_sim/chargers/{charger_id}", self._handle_sim_update_charger)
        post("/_sim/chargers/{charger_id}/{action}", self._handle_sim_charger_action)
        post("/_sim/faults", self._handle_sim_fault)
        app.router.add_delete("/_sim/faults", self._handle_sim_clear_faults)
        post("/_sim/invalidate_tokens", self._handle_sim_invalidate_tokens)
        post("/_sim/unblock", self._handle_sim_unblock)
        post("/_sim/command_answer", self._handle_sim_command_answer)
        post("/_sim/stream", self._handle_sim_stream)
        self.hub.add_routes(app)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(("/_sim/", HUB_PATH)):
            return await handler(request)
        try:
            return await self._api_request(request, handler)
        finally:
            # Whatever the request changed reaches the stream's subscribers.
            self.hub.changed()

    async def _api_request(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        now = self._clock()
        body = parse_body(await request.read())
        login = request.method == "POST" and request.path == "/api/accounts/login"

        def log(status: int, result: str) -> None:
            self.requests.append(
                EaseeRequest(
                    now,
                    request.method,
                    request.path,
                    dict(request.query),
                    _loggable_body(request.path, body),
                    status,
                    result,
                    request.headers.get("User-Agent"),
                    answer_lost(request),
                )
            )
            _LOGGER.debug("%s %s -> %s (%s)", request.method, request.path, status, result)

        faulted = await self._play_fault(request, request.path, log)
        if faulted is not None:
            return faulted
        await self._sleep(BASE_LATENCY)

        refused = self._banned(request, body, now)
        if refused is None:
            refused = self._rate_limit(request.remote or "unknown", now, login=login)
        if refused is not None:
            log(refused.status, refused["easee_result"])
            return refused
        context = _Context(self.catch_up(), body, None)
        request[_CONTEXT_KEY] = context
        try:
            if request.path not in ("/api/accounts/login", "/api/accounts/refresh_token"):
                context.user = self._authenticate(request, context.now)
            _check_route(request)
            response = await handler(request)
        except _ApiError as err:
            log(err.status, err.result)
            return web.json_response(err.body, status=err.status)
        log(response.status, context.result)
        return response

    def _vendor_fault_response(
        self, request: web.Request, fault: Fault, log: RequestLog
    ) -> web.StreamResponse | None:
        if fault.kind in BAN_FORMS:
            response = self._blocked_response(fault.kind, fault.kind)
            log(response.status, fault.kind)
            return response
        if fault.kind == "permission_403":
            log(403, "permission_403")
            return web.json_response(PERMISSION_DENIED, status=403)
        return super()._vendor_fault_response(request, fault, log)

    @staticmethod
    def _fault_number(name: str, value: object, *, integer: bool) -> float:
        # Easee's own checks and words; a delay must also be finite.
        return _checked_number(name, value, integer=integer)

    # --- lookups for handlers -------------------------------------------------------------------

    @staticmethod
    def _context(request: web.Request) -> _Context:
        context: _Context = request[_CONTEXT_KEY]
        return context

    def _user(self, request: web.Request) -> EaseeAccountSim:
        user = self._context(request).user
        assert user is not None  # the middleware authenticated the request  # noqa: S101
        return user

    def _own_site(self, request: web.Request) -> EaseeSiteSim:
        site = self.sites.get(int(request.match_info["site_id"]))
        if site is None or site.user_id != self._user(request).user_id:
            raise _not_found()
        return site

    def _own_circuit(self, request: web.Request) -> EaseeCircuitSim:
        site = self._own_site(request)
        circuit = self.circuits.get(int(request.match_info["circuit_id"]))
        if circuit is None or circuit.site_id != site.id:
            raise _not_found()
        return circuit

    def _own_charger(self, request: web.Request) -> EaseeChargerSim:
        charger = self.chargers.get(request.match_info["charger_id"])
        if charger is None:
            raise _not_found()
        site = self.sites[self.circuits[charger.circuit_id].site_id]
        if site.user_id != self._user(request).user_id:
            raise _not_found()
        return charger

    def _body_object(self, request: web.Request) -> dict[str, object]:
        body = self._context(request).body
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        return body

    def _command_answer(
        self, request: web.Request, device: str, command_id: int, *, done: bool
    ) -> dict[str, object]:
        ticks = _ticks(self._context(request).now) if done else 0
        return {"device": device, "commandId": command_id, "ticks": ticks}

    def _deliverable(self, request: web.Request, charger: EaseeChargerSim) -> bool:
        """Raise Easee's 400 "ChargerDisconnected" for an offline charger; False if refused.

        With command_answer "200_refused" the charger says no: nothing is carried out.
        """
        if not charger.is_online:
            raise _ApiError(400, CHARGER_DISCONNECTED, "offline")
        if self.command_answer == "200_refused":
            self._context(request).result = "refused"
            return False
        return True

    def _write_answer(
        self, request: web.Request, answers: list[dict[str, object]], *, single: bool
    ) -> web.Response:
        """Answer a write in the form command_answer chooses (``single``: one 202 object)."""
        form = self.command_answer
        if form == "200_empty":
            return web.Response(status=200)
        if form in ("200_accepted", "200_refused"):
            accepted = form == "200_accepted"
            return web.json_response(
                {
                    "id": secrets.randbelow(10**9),
                    "wasAccepted": accepted,
                    "resultCode": 0 if accepted else REFUSED_RESULT_CODE,
                }
            )
        return web.json_response(answers[0] if single else answers, status=202)

    # --- auth handlers --------------------------------------------------------------------------

    async def _handle_login(self, request: web.Request) -> web.Response:
        body = self._context(request).body
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        username, password = body.get("userName"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise _bad("userName and password are required")
        account = self.accounts.get(username.lower())
        if account is None or not hmac.compare_digest(account.password.encode(), password.encode()):
            raise _ApiError(
                400,
                {
                    "errorCode": 100,
                    "errorCodeName": "InvalidUserPassword",
                    "title": "Invalid username or password",
                },
                "invalid_credentials",
            )
        return web.json_response(self._issue_tokens(account, self._context(request).now))

    async def _handle_refresh(self, request: web.Request) -> web.Response:
        body = self._context(request).body
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        access, refresh = body.get("accessToken"), body.get("refreshToken")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise _bad("accessToken and refreshToken are required")
        owner = self._refresh_tokens.get(refresh)
        access_owner = self._access_tokens.get(access)
        if owner is None or access_owner is None or access_owner.user_id != owner.user_id:
            raise _ApiError(
                400,
                {
                    "errorCode": 101,
                    "errorCodeName": "InvalidRefreshToken",
                    "title": "Invalid refresh token",
                },
                "invalid_refresh_token",
            )
        del self._refresh_tokens[refresh]  # a refresh token works once
        account = self._account_by_user_id(owner.user_id)
        return web.json_response(self._issue_tokens(account, self._context(request).now))

    # --- read handlers --------------------------------------------------------------------------

    def _own_chargers(self, request: web.Request) -> list[EaseeChargerSim]:
        user_id = self._user(request).user_id
        return [
            c
            for c in self.chargers.values()
            if self.sites[self.circuits[c.circuit_id].site_id].user_id == user_id
        ]

    async def _handle_chargers(self, request: web.Request) -> web.Response:
        return web.json_response([self._charger_json(c) for c in self._own_chargers(request)])

    async def _handle_products(self, request: web.Request) -> web.Response:
        user_id = self._user(request).user_id
        return web.json_response(
            [
                self._site_json(site, circuits=True, detailed=False)
                for site in self.sites.values()
                if site.user_id == user_id
            ]
        )

    async def _handle_site(self, request: web.Request) -> web.Response:
        site = self._own_site(request)
        now = self._context(request).now
        reads = self._site_reads.setdefault(site.id, deque())
        _prune(reads, now - SITE_DETAIL_WINDOW)
        if len(reads) >= SITE_DETAIL_LIMIT:
            response = self._too_many(reads[0] + SITE_DETAIL_WINDOW - now, "site_rate_limited")
            self._context(request).result = "site_rate_limited"
            return response
        reads.append(now)
        detailed = request.query.get("detailed", "").lower() == "true"
        return web.json_response(self._site_json(site, circuits=detailed, detailed=True))

    async def _handle_site_state(self, request: web.Request) -> web.Response:
        return web.json_response(self._site_state_json(self._own_site(request)))

    async def _handle_state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state_of(self._own_charger(request)))

    async def _handle_config(self, request: web.Request) -> web.Response:
        return web.json_response(self.config_of(self._own_charger(request)))

    def _own_plan(self, request: web.Request) -> tuple[EaseeChargerSim, str]:
        """Return the charger and the name of its field the plan path names."""
        return self._own_charger(request), request.match_info["plan"]

    async def _handle_plan(self, request: web.Request) -> web.Response:
        charger, name = self._own_plan(request)
        plan = getattr(charger, name)
        if plan is None:
            raise _not_found()  # Easee answers 404 to a charger without a plan
        return web.json_response(plan)

    async def _handle_observations(self, request: web.Request) -> web.Response:
        charger = self._own_charger(request)
        known = self._observations(charger)
        text = request.query.get("ids")
        if text is None:
            wanted = list(known)
        else:
            try:
                wanted = [int(part) for part in text.split(",") if part.strip()]
            except ValueError:
                raise _bad("ids must be a comma-separated list of integers") from None
        timestamp = _iso(self._context(request).now)
        observations = [
            {"id": oid, "value": known[oid][0], "dataType": known[oid][1], "timestamp": timestamp}
            for oid in dict.fromkeys(wanted)
            if oid in known
        ]
        return web.json_response({"observations": observations})

    async def _handle_usage(self, request: web.Request) -> web.Response:
        charger = self._own_charger(request)
        start = _parse_instant(request.match_info["start"])
        end = _parse_instant(request.match_info["end"])
        if end < start:
            raise _bad("the range ends before it starts")
        if end - start > USAGE_MAX_SECONDS:
            raise _bad("the range must not be longer than 31 days")
        first_hour = math.floor(start / 3600) * 3600
        return web.json_response(
            [
                {"date": _iso(hour), "totalEnergy": kwh}
                for hour, kwh in sorted(charger.hourly_energy.items())
                if first_hour <= hour < end and kwh > 0
            ]
        )

    async def _handle_circuit_settings(self, request: web.Request) -> web.Response:
        return web.json_response(self._own_circuit(request).settings())

    # --- write handlers -------------------------------------------------------------------------

    async def _handle_charger_settings(self, request: web.Request) -> web.Response:
        charger = self._own_charger(request)
        body = self._body_object(request)
        checks: dict[str, Callable[[object], object]] = {
            "enabled": lambda v: _checked_bool("enabled", v),
            "maxChargerCurrent": lambda v: _in_range(
                "maxChargerCurrent", v, 0, MAX_CHARGER_CURRENT
            ),
            "smartCharging": lambda v: _checked_bool("smartCharging", v),
            "phaseMode": lambda v: _in_range("phaseMode", v, 1, 3, integer=True),
            "ledStripBrightness": lambda v: _in_range(
                "ledStripBrightness", v, 0, 100, integer=True
            ),
            "dynamicChargerCurrent": lambda v: _in_range(
                "dynamicChargerCurrent", v, 0, MAX_CHARGER_CURRENT
            ),
        }
        try:
            changes = {key: check(body[key]) for key, check in checks.items() if key in body}
        except (TypeError, ValueError) as err:
            raise _bad(str(err)) from None
        if not changes:
            raise _bad("no settings in the body")
        done = self._deliverable(request, charger)
        if done:
            self._apply_settings(charger, changes)
        return self._write_answer(
            request,
            [
                self._command_answer(request, charger.id, _SETTING_COMMAND_IDS[key], done=done)
                for key in changes
            ],
            single=False,
        )

    def _apply_settings(self, charger: EaseeChargerSim, changes: Mapping[str, object]) -> None:
        attributes = {
            "enabled": "enabled",
            "maxChargerCurrent": "max_charger_current",
            "smartCharging": "smart_charging",
            "phaseMode": "phase_mode",
            "ledStripBrightness": "led_strip_brightness",
            "dynamicChargerCurrent": "dynamic_charger_current",
        }
        for key, value in changes.items():
            setattr(charger, attributes[key], value)
        if "dynamicChargerCurrent" in changes:
            charger.dynamic_charger_expires = None  # the deprecated way has no time to live
        charger.updated_at = self._clock()

    async def _handle_dynamic_current(self, request: web.Request) -> web.Response:
        charger = self._own_charger(request)
        body = self._body_object(request)
        try:
            amps = _in_range("amps", body.get("amps"), 0, MAX_CHARGER_CURRENT)
            minutes = _in_range("minutes", body.get("minutes", 0), 0, math.inf, integer=True)
        except (TypeError, ValueError) as err:
            raise _bad(str(err)) from None
        done = self._deliverable(request, charger)
        if done:
            now = self._context(request).now
            charger.dynamic_charger_current = amps
            charger.dynamic_charger_expires = now + minutes * 60 if minutes > 0 else None
        command_id = _COMMAND_IDS["set_dynamic_charger_current"]
        return self._write_answer(
            request, [self._command_answer(request, charger.id, command_id, done=done)], single=True
        )

    async def _handle_command(self, request: web.Request) -> web.Response:
        charger = self._own_charger(request)
        command = request.match_info["command"]
        if command not in CHARGER_COMMANDS:
            raise _not_found()
        done = self._deliverable(request, charger) and self._run_command(charger, command)
        answer = self._command_answer(request, charger.id, _COMMAND_IDS[command], done=done)
        ticks = answer["ticks"]
        if done and isinstance(ticks, int):
            # The charger's own answer comes later, through the stream.
            self.hub.spawn(
                self.hub.send_command_response(charger.id, ticks, accepted=True, result_code=0)
            )
        return self._write_answer(request, [answer], single=True)

    def _run_command(self, charger: EaseeChargerSim, command: str) -> bool:
        """Carry a command out; return False when there was nothing to do."""
        if command == "reboot":
            self.power_loss(charger.id)
            return True
        if not charger.car_connected:
            return False
        if command == "override_schedule":
            if self._active_plans(charger) == (None, None):
                return False
            charger.schedule_overridden = True
            return True
        if command == "toggle_charging":
            charger.paused = not charger.paused
            return True
        pause = command in ("stop_charging", "pause_charging")
        if charger.paused == pause:
            return False
        charger.paused = pause
        return True

    async def _handle_set_plan(self, request: web.Request) -> web.Response:
        charger, name = self._own_plan(request)
        body = self._context(request).body
        try:
            if name == "basic_charge_plan":
                stored = parse_basic_charge_plan(body, charger.id)[1]
            else:
                stored = parse_weekly_charge_plan(body)[1]
        except (TypeError, ValueError) as err:
            raise _bad(str(err)) from None
        setattr(charger, name, stored)
        return web.Response(status=200)

    async def _handle_delete_plan(self, request: web.Request) -> web.Response:
        charger, name = self._own_plan(request)
        if getattr(charger, name) is None:
            raise _not_found()
        setattr(charger, name, None)
        return web.Response(status=200)

    def _circuit_answer(
        self, request: web.Request, circuit: EaseeCircuitSim, command: str
    ) -> web.Response:
        master = self.master_of(circuit.id)
        answer = (
            []
            if master is None
            else [self._command_answer(request, master.id, _COMMAND_IDS[command], done=True)]
        )
        return self._write_answer(request, answer, single=False)

    def _circuit_deliverable(self, request: web.Request, circuit: EaseeCircuitSim) -> bool:
        """Like _deliverable, for the circuit's master (which carries a circuit's limits out)."""
        master = self.master_of(circuit.id)
        if master is not None:
            return self._deliverable(request, master)
        if self.command_answer == "200_refused":
            self._context(request).result = "refused"
            return False
        return True

    async def _handle_set_circuit_settings(self, request: web.Request) -> web.Response:
        circuit = self._own_circuit(request)
        body = self._body_object(request)
        try:
            numbers = {
                key: _in_range(key, body[key], 0, circuit.rated_current)
                for key in _CIRCUIT_NUMBER_KEYS
                if key in body
            }
            idle = (
                _checked_bool("enableIdleCurrent", body["enableIdleCurrent"])
                if "enableIdleCurrent" in body
                else None
            )
        except (TypeError, ValueError) as err:
            raise _bad(str(err)) from None
        if not numbers and idle is None:
            raise _bad("no settings in the body")
        if not self._circuit_deliverable(request, circuit):
            return self._circuit_answer(request, circuit, "circuit_settings")
        maximum, offline = list(circuit.max_current), list(circuit.offline_max_current)
        for key, value in numbers.items():
            target = offline if key.startswith("offline") else maximum
            target[int(key[-1]) - 1] = value
        circuit.max_current = (maximum[0], maximum[1], maximum[2])
        circuit.offline_max_current = (offline[0], offline[1], offline[2])
        if idle is not None:
            circuit.enable_idle_current = idle
        return self._circuit_answer(request, circuit, "circuit_settings")

    async def _handle_circuit_dynamic(self, request: web.Request) -> web.Response:
        circuit = self._own_circuit(request)
        body = self._body_object(request)
        try:
            phases = [
                _in_range(key, body.get(key), 0, MAX_DYNAMIC_CIRCUIT_CURRENT)
                for key in ("phase1", "phase2", "phase3")
            ]
            minutes = _in_range("timeToLive", body.get("timeToLive", 0), 0, math.inf, integer=True)
        except (TypeError, ValueError) as err:
            raise _bad(str(err)) from None
        if not self._circuit_deliverable(request, circuit):
            return self._circuit_answer(request, circuit, "circuit_dynamic_current")
        now = self._context(request).now
        circuit.dynamic_current = (phases[0], phases[1], phases[2])
        circuit.dynamic_expires = now + minutes * 60 if minutes > 0 else None
        return self._circuit_answer(request, circuit, "circuit_dynamic_current")

    # --- admin endpoints (no auth, no rate limit: the simulator binds 127.0.0.1) ----------------

    async def _handle_sim_chargers(self, request: web.Request) -> web.Response:
        return web.json_response({cid: c.describe() for cid, c in self.chargers.items()})

    async def _handle_sim_update_charger(self, request: web.Request) -> web.Response:
        charger = self.chargers.get(request.match_info["charger_id"])
        if charger is None:
            return admin_error("unknown charger", status=404)
        try:
            updates = validate_charger_fields(await json_object(request))
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        for name, value in updates.items():
            setattr(charger, name, value)
        return web.json_response(charger.describe())

    async def _handle_sim_charger_action(self, request: web.Request) -> web.Response:
        charger_id = request.match_info["charger_id"]
        if charger_id not in self.chargers:
            return admin_error("unknown charger", status=404)
        actions: dict[str, Callable[[str], None]] = {
            "connect_car": self.connect_car,
            "disconnect_car": self.disconnect_car,
            "power_loss": self.power_loss,
        }
        action = actions.get(request.match_info["action"])
        if action is None:
            return admin_error("unknown action", status=404)
        action(charger_id)
        return web.json_response(self.chargers[charger_id].describe())

    async def _handle_sim_invalidate_tokens(self, request: web.Request) -> web.Response:
        user_id: object = None
        if await request.read():
            try:
                user_id = (await json_object(request)).get("user_id")
            except (TypeError, ValueError) as err:
                return admin_error(str(err))
        if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
            return admin_error("user_id must be an integer")
        self.invalidate_tokens(user_id)
        return web.json_response({"success": True})

    async def _handle_sim_unblock(self, request: web.Request) -> web.Response:
        self.unblock()
        return web.json_response({"success": True})

    async def _handle_sim_command_answer(self, request: web.Request) -> web.Response:
        try:
            form = (await json_object(request)).get("form")
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        if form not in COMMAND_ANSWER_FORMS:
            return admin_error(f"form must be one of {', '.join(COMMAND_ANSWER_FORMS)}")
        self.command_answer = str(form)
        return web.json_response({"success": True})

    async def _handle_sim_stream(self, request: web.Request) -> web.Response:
        """Switch the hub on or off or half-open, drop its connections, or have it refuse tokens."""
        try:
            body = await json_object(request)
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        enabled, drop, refuse = body.get("enabled"), body.get("drop"), body.get("refuse_tokens")
        silent = body.get("silent")
        if enabled is not None and not isinstance(enabled, bool):
            return admin_error("enabled must be true or false")
        if silent is not None and not isinstance(silent, bool):
            return admin_error("silent must be true or false")
        if refuse is not None and (isinstance(refuse, bool) or not isinstance(refuse, int)):
            return admin_error("refuse_tokens must be a number")
        if enabled is not None:
            self.hub.enabled = enabled
        if isinstance(refuse, int):
            self.hub.refuse_tokens = max(0, refuse)
        if silent is not None:
            self.hub.silent = silent
        if drop is True or enabled is False:
            await self.hub.drop()
        return web.json_response(
            {
                "enabled": self.hub.enabled,
                "silent": self.hub.silent,
                "connected": self.hub.connected,
                "success": True,
            }
        )


def add_demo_fleet(sim: EaseeSimulator) -> None:
    """Load the demo: one account, site 1 "Home", circuit 10 (32 A) and two chargers."""
    sim.add_account(DEMO_USERNAME, DEMO_PASSWORD, user_id=DEMO_USER_ID)
    sim.add_site(DEMO_USER_ID, 1, "Home")
    sim.add_circuit(1, 10, max_current=32)
    sim.add_charger(
        "EH000001", 10, name="Garage", master=True, car_connected=True, lifetime_energy=1234.5
    )
    sim.add_charger("EH000002", 10, name="Driveway", lifetime_energy=321.0)


def _check_route(request: web.Request) -> None:
    error = request.match_info.http_exception
    if isinstance(error, web.HTTPMethodNotAllowed):
        raise _ApiError(405, METHOD_NOT_ALLOWED, "method_not_allowed")
    if error is not None:
        raise _not_found()


def _checked_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false")
    return value


def _loggable_body(path: str, body: object) -> object | None:
    if body is BAD_JSON:
        return None
    if path == "/api/accounts/login":
        # Only the user name: never the password.
        if isinstance(body, dict) and isinstance(body.get("userName"), str):
            return {"userName": body["userName"]}
        return None
    if path == "/api/accounts/refresh_token":
        return None  # nothing but tokens
    return body


def _observation_text(value: object) -> str:
    """Return an observation's value as the hub sends it: always text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_instant(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(f"not an ISO 8601 time: {text}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
