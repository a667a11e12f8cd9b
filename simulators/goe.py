"""Simulator of the go-e grid-operator cloud API (v1.0, 2020-06-17) for many chargers."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
import logging
import math
import re
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

from aiohttp import web

from simulators.server import (
    Fault,
    RequestLog,
    SimulatorServer,
    admin_error,
    json_object,
    wall_clock,
)

_LOGGER = logging.getLogger(__name__)

SERIAL_PATTERN = re.compile(r"[0-9]{6}")
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9]{32}")

LIVE_SECONDS = 60  # the doc: data_is_live means "less than 60 seconds old"
MIN_CURRENT = 6
MAX_CURRENT = 32
# Answer times from the doc's "Antwortzeit" table, in seconds (scaled by latency_scale).
BASE_LATENCY = 0.3
PING_LATENCY = 1.5
PING_TIMEOUT = 3.0

NO_TOKEN = "no token"  # noqa: S105 - an error message, not a secret
NO_PAYLOAD = "no payload"
# Undocumented: the doc only says both parameters together are not possible. We answer with an
# error of our own (counted against the command budget) so clients cannot rely on either winning.
INVALID_PAYLOAD = "invalid payload"
WRONG_TOKEN = "wrong token"  # noqa: S105 - an error message, not a secret
RATE_LIMITING = "rate limiting"
ERROR_GETTING_DATA = "error getting data"

# The doc gives no HTTP status codes for errors; this is a plausible cloud's choice.
DEFAULT_ERROR_HTTP_STATUS: dict[str, int] = {
    NO_TOKEN: 400,
    NO_PAYLOAD: 400,
    INVALID_PAYLOAD: 400,
    WRONG_TOKEN: 401,
    RATE_LIMITING: 429,
    ERROR_GETTING_DATA: 502,
}

FAULT_KINDS = frozenset(
    {"delay", "http_500", "non_json", "drop", "error_getting_data", "rate_limiting"}
)
_FAULT_ERRORS = {"error_getting_data": ERROR_GETTING_DATA, "rate_limiting": RATE_LIMITING}

COMMAND_PARAMS = ("set_current", "set_allow")

# A change to any of these changes the power drawn, so energy is integrated up to "now" first.
_POWER_FIELDS = frozenset(
    {
        "car_connected",
        "car_wants_energy",
        "set_current",
        "charging_enabled",
        "error_state",
        "phase_count",
        "voltage",
    }
)


# The demo fleet (`python -m simulators goe --demo`): public, made-up credentials.
DEMO_CHARGING_SERIAL = "000001"
DEMO_CHARGING_TOKEN = "DemoGoeCharging00000000000000001"  # noqa: S105 - public demo token
DEMO_IDLE_SERIAL = "000002"
DEMO_IDLE_TOKEN = "DemoGoeIdle000000000000000000002"  # noqa: S105 - public demo token
# And its fleet, for adding many chargers from one list: serials from 100001 on.
DEMO_FLEET_SIZE = 1000
DEMO_FLEET_FIRST = 100001


@dataclass
class GoeChargerSim:
    """Mutable state of one simulated charger.

    Assigning a field takes effect "now" on the simulator's clock: energy is integrated first,
    going offline freezes the last report, coming back online (or reporting for the first time,
    or getting a new report interval) makes the charger report at once. Reading kwh_total
    integrates the energy charged so far.
    """

    serial: str
    token: str
    car_connected: bool = False
    car_wants_energy: bool = True
    set_current: int = 16
    max_allowed_current: int = 32
    charging_enabled: bool = True
    error_state: bool = False
    phase_count: int = 3
    voltage: float = 230.0
    kwh_total: float = 0.0
    online: bool = True
    has_reported: bool = True
    report_interval: float = 300.0
    next_charge_seconds_left: int = 0
    next_charge_duration: int = 0
    extra_fields: dict[str, object] = field(default_factory=dict)

    # Bookkeeping, set by GoeSimulator.add_charger; None means "not attached to a clock yet".
    _clock: Callable[[], float] | None = field(default=None, init=False, repr=False, compare=False)
    _energy_at: float = field(default=0.0, init=False, repr=False, compare=False)
    _report_anchor: float = field(default=0.0, init=False, repr=False, compare=False)
    _frozen_at: float = field(default=0.0, init=False, repr=False, compare=False)
    _frozen_values: dict[str, object] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    if not TYPE_CHECKING:  # pragma: no branch
        # Hidden from mypy, which would otherwise accept any attribute name on this class.

        def __setattr__(self, name, value):
            self._set(name, value)

        def __getattribute__(self, name):
            # Reading the meter integrates the energy charged since the last access.
            if name == "kwh_total":
                object.__getattribute__(self, "_integrate")(object.__getattribute__(self, "_now")())
            return object.__getattribute__(self, name)

    def _set(self, name: str, value: object) -> None:
        clock = self.__dict__.get("_clock")
        if clock is None or name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        now = clock()
        if name in _POWER_FIELDS:
            self._integrate(now)
        if name == "online" and self.online and not value:
            self._freeze(now)
        # A charger that comes up, or gets a new report interval, reports at once.
        reports = name == "report_interval" or (
            name in ("online", "has_reported") and value and not getattr(self, name)
        )
        object.__setattr__(self, name, value)
        if name == "kwh_total":
            self._energy_at = now
        if reports:
            self._report_anchor = now

    def attach(self, clock: Callable[[], float]) -> None:
        """Start the charger's life on the given clock: it reports now."""
        now = clock()
        self._energy_at = now
        self._report_anchor = now
        self._frozen_at = now
        self._clock = clock
        self._frozen_values = self._values(now)  # what an offline-born charger last said

    @property
    def car_state(self) -> str:
        """Car state as the cloud reports it."""
        if not self.car_connected:
            return "idle"
        if not self.car_wants_energy:
            return "finished"
        if self.charging_enabled and not self.error_state:
            return "charging"
        return "wait_car"

    @property
    def power_w(self) -> float:
        """Power drawn right now, in W."""
        if self.car_state != "charging":
            return 0.0
        return self.phase_count * self.voltage * self.set_current

    def report_now(self) -> None:
        """Make the charger push a fresh status to the cloud (online chargers only)."""
        if self.online:
            self._report_anchor = self._now()

    def last_report(self, now: float) -> float:
        """Return when the cloud last received a status from this charger."""
        if not self.online:
            return self._frozen_at
        if self.report_interval <= 0:  # reports continuously
            return now
        if now <= self._report_anchor:
            return self._report_anchor
        reports = math.floor((now - self._report_anchor) / self.report_interval)
        return self._report_anchor + reports * self.report_interval

    def data_age(self, now: float) -> int:
        """Return the age in whole seconds of the status the cloud holds."""
        return int(max(0.0, now - self.last_report(now)))

    def status(self, now: float | None = None) -> dict[str, object]:
        """Return the /api_status object the cloud would answer now."""
        if now is None:
            now = self._now()
        age = self.data_age(now)
        values = self._frozen_values if not self.online else self._values(now)
        return {
            "serial": self.serial,
            "data_is_live": age < LIVE_SECONDS,
            "data_age_seconds": age,
            **values,
        }

    def state(self) -> dict[str, object]:
        """Return all public fields plus the car state, without the token."""
        self._integrate(self._now())
        result: dict[str, object] = {
            f.name: getattr(self, f.name) for f in fields(self) if f.init and f.name != "token"
        }
        result["car_state"] = self.car_state
        return result

    def _now(self) -> float:
        return self._clock() if self._clock is not None else wall_clock()

    def _integrate(self, now: float) -> None:
        if self._clock is None:  # not attached: no time has passed
            return
        hours = max(0.0, now - self._energy_at) / 3600.0
        # Through __dict__: reading self.kwh_total would come back here.
        self.__dict__["kwh_total"] += self.power_w / 1000.0 * hours
        self._energy_at = now

    def _freeze(self, now: float) -> None:
        self._frozen_at = self.last_report(now)
        self._frozen_values = self._values(now)

    def _values(self, now: float) -> dict[str, object]:
        self._integrate(now)
        charging = self.car_state == "charging"
        phases = range(1, 4)
        return {
            "car_state": self.car_state,
            "set_current": self.set_current,
            "max_allowed_current": self.max_allowed_current,
            "charging_enabled": self.charging_enabled,
            "error_state": self.error_state,
            "phase_count": self.phase_count,
            "phase_charging": self.phase_count,
            "currents": {
                f"phase_{p}": float(self.set_current) if charging and p <= self.phase_count else 0.0
                for p in phases
            },
            "voltages": {
                f"phase_{p}": float(self.voltage) if p <= self.phase_count else 0.0 for p in phases
            },
            "next_planned_charge": {
                "seconds_left": self.next_charge_seconds_left,
                "estimated_duration": self.next_charge_duration,
            },
            "kwh_total": int(self.kwh_total),
            # Later, so a test can also override documented fields (e.g. error_state as 0/1).
            **self.extra_fields,
        }


# Settable fields and their types, for the admin endpoint and the command line.
SETTABLE_FIELDS: dict[str, type] = {
    f.name: get_type_hints(GoeChargerSim)[f.name]
    for f in fields(GoeChargerSim)
    if f.init and f.name != "serial"
}
SETTABLE_FIELDS["extra_fields"] = dict  # the hint is dict[str, object], which isinstance refuses


def validate_charger_fields(updates: Mapping[str, object]) -> dict[str, object]:
    """Check names, types and ranges of charger fields; return them normalised.

    Raises TypeError or ValueError with a readable message on the first bad entry.
    """
    return {name: _checked_field(name, value) for name, value in updates.items()}


def _checked_field(name: str, value: object) -> object:
    kind = SETTABLE_FIELDS.get(name)
    if kind is None:
        raise ValueError(f"unknown charger field: {name}")
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be true or false")
        return value
    if kind is int or kind is float:
        return _checked_number(name, value, integer=kind is int)
    if kind is str:
        if not isinstance(value, str) or not TOKEN_PATTERN.fullmatch(value):
            raise ValueError(f"{name} must be 32 alphanumeric characters")
        return value
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise TypeError(f"{name} must be an object")
    return value


def _checked_number(name: str, value: object, *, integer: bool) -> int | float:
    # bool is an int to Python, but never a sensible current or energy.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number")
    if integer and not isinstance(value, int):
        raise TypeError(f"{name} must be an integer")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    if name == "phase_count" and not 1 <= value <= 3:
        raise ValueError("phase_count must be 1, 2 or 3")
    return value if integer else float(value)


@dataclass(frozen=True)
class GoeRequest:
    """One request to the simulated cloud API, as logged (never with the grid token)."""

    time: float
    endpoint: str
    serial: str | None
    params: dict[str, str]
    token_ok: bool
    result: str
    http_status: int


@dataclass
class _Bucket:
    tokens: float
    at: float


class GoeSimulator(SimulatorServer[GoeRequest]):
    """The go-e grid-operator cloud for many chargers, as an aiohttp application."""

    fault_kinds = FAULT_KINDS
    rate_limit_fault = "rate_limiting"
    fault_target = "serial"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = wall_clock,
        latency_scale: float = 1.0,
        status_burst: int = 2,
        status_interval: float = 900.0,
        command_interval: float = 900.0,
        error_http_status: int | None = None,
    ) -> None:
        super().__init__(clock=clock, latency_scale=latency_scale)
        self.status_burst = status_burst
        self.status_interval = status_interval
        self.command_interval = command_interval
        self.error_http_status = error_http_status
        self.chargers: dict[str, GoeChargerSim] = {}
        self.command_answer: Literal["payload", "status"] = "payload"
        self._status_buckets: dict[str, _Bucket] = {}
        self._last_command: dict[str, float] = {}

    # --- setup for tests and the demo -------------------------------------------------------

    def add_charger(self, serial: str, token: str, **state: Any) -> GoeChargerSim:
        """Register a charger the grid operator has access to; it reports at once."""
        if not SERIAL_PATTERN.fullmatch(serial):
            raise ValueError("serial must be 6 digits")
        if not TOKEN_PATTERN.fullmatch(token):
            raise ValueError("token must be 32 alphanumeric characters")
        charger = GoeChargerSim(serial, token)
        for name, value in validate_charger_fields(state).items():
            setattr(charger, name, value)
        charger.attach(self._clock)
        self.chargers[serial] = charger
        self._status_buckets.pop(serial, None)
        self._last_command.pop(serial, None)
        return charger

    def inject_fault(
        self, kind: str, *, serial: str | None = None, count: int = 1, delay: float = 0.0
    ) -> None:
        """Make the next `count` API requests (for `serial`, or any) fail in the given way."""
        self._queue_fault(kind, serial, count=count, delay=delay)

    def status_requests(self, serial: str | None = None) -> list[GoeRequest]:
        """Return the logged /api_status requests, optionally for one serial."""
        return self._logged("api_status", serial)

    def command_requests(self, serial: str | None = None) -> list[GoeRequest]:
        """Return the logged /api_command requests, optionally for one serial."""
        return self._logged("api_command", serial)

    def _logged(self, endpoint: str, serial: str | None) -> list[GoeRequest]:
        return [
            r
            for r in self.requests
            if r.endpoint == endpoint and (serial is None or r.serial == serial)
        ]

    # --- server -----------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """Build the aiohttp application: the cloud API plus /_sim admin endpoints."""
        app = web.Application()
        app.router.add_get("/api_status", self._handle_status, allow_head=False)
        app.router.add_get("/api_command", self._handle_command, allow_head=False)
        app.router.add_get("/_sim/requests", self._handle_sim_requests, allow_head=False)
        app.router.add_get("/_sim/chargers", self._handle_sim_chargers, allow_head=False)
        app.router.add_post("/_sim/chargers/{serial}", self._handle_sim_update_charger)
        app.router.add_post("/_sim/faults", self._handle_sim_fault)
        app.router.add_delete("/_sim/faults", self._handle_sim_clear_faults)
        app.router.add_post("/_sim/command_answer", self._handle_sim_command_answer)
        return app

    # --- the cloud API ----------------------------------------------------------------------

    async def _handle_status(self, request: web.Request) -> web.StreamResponse:
        # Section 6 of the doc sends commands to /api_status; sections 4 and 7 use /api_command.
        # We follow the latter: /api_status only ever reads, extra parameters are ignored.
        return await self._handle_api(request, "api_status")

    async def _handle_command(self, request: web.Request) -> web.StreamResponse:
        return await self._handle_api(request, "api_command")

    async def _handle_api(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        now = self._clock()
        query = request.query
        serial = query.get("serial")
        token = query.get("gridtoken", "")
        charger = self.chargers.get(serial) if serial is not None else None
        token_ok = charger is not None and token != "" and token == charger.token

        def log(http_status: int, result: str) -> None:
            params = {k: v for k, v in query.items() if k != "gridtoken"}
            self.requests.append(
                GoeRequest(now, endpoint, serial, params, token_ok, result, http_status)
            )
            _LOGGER.debug("%s serial=%s -> %s (%s)", endpoint, serial, result, http_status)

        faulted = await self._play_fault(request, serial, log)
        if faulted is not None:
            return faulted

        await self._sleep(BASE_LATENCY)
        if token == "":
            return self._error(NO_TOKEN, log)
        if charger is None or not token_ok:
            return self._error(WRONG_TOKEN, log)
        if endpoint == "api_status":
            return await self._answer_status(charger, query.get("wait") == "1", log)
        return self._answer_command(charger, query, log)

    async def _answer_status(
        self, charger: GoeChargerSim, wait: bool, log: RequestLog
    ) -> web.StreamResponse:
        if not self._take_status_budget(charger.serial):
            return self._error(RATE_LIMITING, log)
        if not charger.has_reported:
            return self._error(ERROR_GETTING_DATA, log)
        if wait and charger.data_age(self._clock()) >= LIVE_SECONDS:
            # The cloud pings the charger and waits up to 3 s for a fresh status.
            if charger.online:
                await self._sleep(PING_LATENCY)
                charger.report_now()
            else:
                await self._sleep(PING_TIMEOUT)
        log(200, "ok")
        return web.json_response(charger.status(self._clock()))

    def _answer_command(
        self,
        charger: GoeChargerSim,
        query: Mapping[str, str],
        log: RequestLog,
    ) -> web.StreamResponse:
        if not self._take_command_budget(charger.serial):
            return self._error(RATE_LIMITING, log)
        names = [name for name in COMMAND_PARAMS if name in query]
        if not names:
            return self._error(NO_PAYLOAD, log)
        if len(names) > 1:
            return self._error(INVALID_PAYLOAD, log)
        if not charger.has_reported:
            return self._error(ERROR_GETTING_DATA, log)
        name = names[0]
        value = query[name]
        # The doc: a failed command is only recognisable by the status value not changing, so
        # refused values are answered like successes.
        self._apply_command(charger, name, value)
        log(200, "ok")
        if self.command_answer == "status":
            return web.json_response(charger.status(self._clock()))
        return web.json_response({"success": True, "payload": f"{name}={value}"})

    @staticmethod
    def _apply_command(charger: GoeChargerSim, name: str, value: str) -> None:
        # An offline charger never receives the command; the cloud still says "success".
        if not charger.online:
            return
        if name == "set_current":
            # Digits only: int() would also take " 16", "+16" and "1_6".
            if not re.fullmatch(r"[0-9]{1,2}", value):
                return
            current = int(value)
            if not MIN_CURRENT <= current <= min(MAX_CURRENT, charger.max_allowed_current):
                return
            charger.set_current = current
        elif value in ("0", "1"):
            charger.charging_enabled = value == "1"
        else:
            return
        charger.report_now()

    def _take_status_budget(self, serial: str) -> bool:
        now = self._clock()
        bucket = self._status_buckets.setdefault(serial, _Bucket(self.status_burst, now))
        elapsed = max(0.0, now - bucket.at)
        bucket.tokens = min(self.status_burst, bucket.tokens + elapsed / self.status_interval)
        bucket.at = now
        if bucket.tokens < 1.0 - 1e-9:
            return False
        bucket.tokens -= 1.0
        return True

    def _take_command_budget(self, serial: str) -> bool:
        now = self._clock()
        last = self._last_command.get(serial)
        if last is not None and now - last < self.command_interval:
            return False
        self._last_command[serial] = now
        return True

    def _fault_picks(self, target: str, subject: str | None) -> bool:
        # A fault for a serial picks exactly that charger's requests.
        return target == subject

    def _vendor_fault_response(
        self, request: web.Request, fault: Fault, log: RequestLog
    ) -> web.StreamResponse | None:
        if fault.kind in _FAULT_ERRORS:
            # Logged as the fault kind, so tests can tell an injected error from a real one.
            return self._error(_FAULT_ERRORS[fault.kind], log, result=fault.kind)
        return None

    def _error(self, error: str, log: RequestLog, *, result: str | None = None) -> web.Response:
        status = (
            DEFAULT_ERROR_HTTP_STATUS[error]
            if self.error_http_status is None
            else self.error_http_status
        )
        log(status, result or error)
        return web.json_response({"success": False, "error": error}, status=status)

    # --- admin endpoints (no auth: the simulator binds 127.0.0.1) ---------------------------

    async def _handle_sim_chargers(self, request: web.Request) -> web.Response:
        return web.json_response({s: c.state() for s, c in self.chargers.items()})

    async def _handle_sim_update_charger(self, request: web.Request) -> web.Response:
        charger = self.chargers.get(request.match_info["serial"])
        if charger is None:
            return admin_error("unknown serial", status=404)
        try:
            updates = validate_charger_fields(await json_object(request))
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        for name, value in updates.items():
            setattr(charger, name, value)
        return web.json_response(charger.state())

    async def _handle_sim_command_answer(self, request: web.Request) -> web.Response:
        try:
            shape = (await json_object(request)).get("shape")
        except (TypeError, ValueError) as err:
            return admin_error(str(err))
        if shape == "payload":
            self.command_answer = "payload"
        elif shape == "status":
            self.command_answer = "status"
        else:
            return admin_error('shape must be "payload" or "status"')
        return web.json_response({"success": True})


def add_demo(sim: GoeSimulator) -> None:
    """Load the demo: charger 000001 charging a car at 16 A on three phases, 000002 idle.

    Both report every minute, so the energy meter moves while the car charges (about 11 kW).
    """
    sim.add_charger(
        DEMO_CHARGING_SERIAL,
        DEMO_CHARGING_TOKEN,
        car_connected=True,
        set_current=16,
        kwh_total=1234.0,
        report_interval=60.0,
    )
    sim.add_charger(
        DEMO_IDLE_SERIAL, DEMO_IDLE_TOKEN, set_current=16, kwh_total=321.0, report_interval=60.0
    )


def demo_fleet() -> list[tuple[str, str, str]]:
    """Return the demo fleet's chargers: serial, grid token and name of each."""
    return [
        (serial, f"DemoGoeFleet{serial}".ljust(32, "0"), f"Fleet {index + 1:04d}")
        for index in range(DEMO_FLEET_SIZE)
        for serial in (f"{DEMO_FLEET_FIRST + index:06d}",)
    ]


def add_demo_fleet(sim: GoeSimulator) -> None:
    """Load the demo fleet: every tenth charger charges a car, the rest stand idle.

    They report every minute, like the demo's own chargers, so a status read never waits for
    a ping. Each costs the simulator a few KB and no CPU until it is asked.
    """
    for index, (serial, token, _name) in enumerate(demo_fleet()):
        sim.add_charger(
            serial,
            token,
            car_connected=index % 10 == 0,
            set_current=16,
            kwh_total=float(100 + index),
            report_interval=60.0,
        )
