"""Easee chargers and circuits: what they report, and the writes that wait for their turn."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time as clock_time, timedelta
import json
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import STATE_OFF, STATE_ON, UnitOfElectricCurrent
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from ...api.easee import (
    EaseeBasicChargePlan,
    EaseeCharger,
    EaseeChargerConfig,
    EaseeChargerReading,
    EaseeChargerState,
    EaseeCircuit,
    EaseeCircuitSettings,
    EaseeSite,
    EaseeWeeklyChargePlan,
)
from ...api.easee_stream import EaseeCommandResponse, EaseeObservation
from ...api.errors import (
    AnswerLostError,
    ApiError,
    ChargerOfflineError,
    CommandRefusedError,
    EvChargeControlError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from ...budget import CommandQueue, OverBudgetError, QueuedCommand, SentCommand
from ...const import DOMAIN, LOGGER
from ...coordinator import EvChargeCoordinator, KeptDeviceInfo, async_device_id
from ...errors import read_failure
from ...events import CommandResult, CommandValue
from ...runtime import EvChargeConfigEntry
from ...writer import NotSent, QueuedWriter, Refusal, ResultValue, WriterHooks
from .const import CONF_DYNAMIC_CURRENT_TTL, CONF_KEEP_DYNAMIC_LIMITS

if TYPE_CHECKING:
    from .runtime import EaseeRuntime

CONFIG_INTERVAL: Final = timedelta(minutes=15)
# 12 writes a minute per charger at most.
WRITE_SPACING: Final = 5.0
MAX_WRITE_ATTEMPTS: Final = 3
# A write is answered 202 ("queued for the charger"); a read this soon after it may not show it.
VERIFY_SETTLE: Final = 10.0
MAX_CURRENT: Final = 32

PARAM_DYNAMIC: Final = "dynamic_charger_current"
PARAM_MAX: Final = "max_charger_current"
PARAM_ENABLED: Final = "enabled"
PARAM_SMART: Final = "smart_charging"
# start/stop/pause/resume: only the newest request goes out.
PARAM_COMMAND: Final = "command"
PARAM_OVERRIDE: Final = "override_schedule"
PARAM_PLAN: Final = "charge_plan"
PARAM_CIRCUIT: Final = "dynamic_circuit_current"

FLASH_PARAMS: Final = frozenset({PARAM_MAX})
STATE_PARAMS: Final = frozenset({PARAM_DYNAMIC, PARAM_SMART})
CONFIG_PARAMS: Final = frozenset({PARAM_MAX, PARAM_ENABLED, PARAM_PLAN})
# Nothing in a read shows that these happened.
UNVERIFIED_PARAMS: Final = frozenset({PARAM_COMMAND, PARAM_OVERRIDE})
# Requests of one plan read (basic and weekly) and of one config read (config and plans).
PLAN_READS: Final = 2
CONFIG_READS: Final = 1 + PLAN_READS
# A plan value that means "no plan".
NO_PLAN: Final = ""
# Which charge plans are on, as the charge plan sensor shows it.
PLAN_OFF: Final = "off"
PLAN_BASIC: Final = "basic"
PLAN_WEEKLY: Final = "weekly"
PLAN_BOTH: Final = "basic_and_weekly"
PLAN_STATES: Final = (PLAN_OFF, PLAN_BASIC, PLAN_WEEKLY, PLAN_BOTH)

# The binding limit, in the order ties are named: a dynamic limit nobody set reports the
# fixed limit behind it (the circuit's max, 32 A), so on a tie the fixed one is named.
LIMIT_NAMES: Final = (
    "circuit_max",
    "max_charger",
    "dynamic_circuit",
    "dynamic_charger",
    "charge_plan",
)
DISCONNECTED: Final = 1
# The observations the stream sends (Easee's ids), and the state field each one is.
_STREAM_STATE: Final = {
    109: "op_mode",
    120: "total_power",
    121: "session_energy",
    124: "lifetime_energy",
    48: "dynamic_charger_current",
}
_STREAM_CIRCUIT: Final = {111: 0, 112: 1, 113: 2}
_STREAM_MAX_CURRENT: Final = 47
# Commands whose charger's answer (CommandResponse) is awaited, by their ticks: at most this many.
_MAX_ANSWERS_AWAITED: Final = 20
CHARGING: Final = 3

type EaseeValue = int | str
type Phases3 = tuple[int, int, int]


def _now() -> float:
    return time.time()


def _utc(timestamp: float) -> datetime:
    return dt_util.utc_from_timestamp(timestamp)


def _amps(value: float | None) -> int | None:
    return None if value is None else round(value)


def _load_value(value: object) -> EaseeValue | None:
    if isinstance(value, str) or type(value) is int:
        return value
    return None


def _int_value(value: object) -> EaseeValue | None:
    return value if type(value) is int else None


def _load_phases(value: object) -> Phases3 | None:
    if isinstance(value, list | tuple) and len(value) == 3 and all(type(v) is int for v in value):
        return (value[0], value[1], value[2])
    return None


def _write_priority(command: QueuedCommand[EaseeValue]) -> int:
    """Order writes: stopping first, limits next, starting last (never too much current)."""
    if command.parameter == PARAM_ENABLED and command.value == 0:
        return 0
    if command.parameter == PARAM_COMMAND and command.value in ("stop_charging", "pause_charging"):
        return 0
    if command.parameter in (PARAM_DYNAMIC, PARAM_MAX):
        return 1
    return 2


def _basic_value(plan: EaseeBasicChargePlan) -> str:
    # The plan's id and the cloud's way of writing an instant or an amount (16 or 16.0,
    # "Z" or "+00:00") say nothing about what the plan does.
    body = {
        "start": plan.start.astimezone(UTC).isoformat(),
        "stop": plan.stop.astimezone(UTC).isoformat() if plan.stop is not None else None,
        "repeat": plan.repeat,
        "limit": None if plan.current_limit is None else float(plan.current_limit),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def plan_value(
    basic: EaseeBasicChargePlan | None, weekly: EaseeWeeklyChargePlan | None = None
) -> str:
    """Return the plans in force as the queue's value: NO_PLAN when none is on.

    A basic plan we set is confirmed by a read that shows it; "no plan" only by a read that
    shows neither the basic nor the weekly plan on.
    """
    if basic is not None and basic.enabled:
        return _basic_value(basic)
    if weekly is not None and weekly.enabled:
        return json.dumps({"weekly": weekly.as_body()}, sort_keys=True, separators=(",", ":"))
    return NO_PLAN


def plan_from_value(value: str, plan_id: str) -> EaseeBasicChargePlan | None:
    """Turn a queue value back into the basic plan to send; None when it is not one."""
    try:
        body = json.loads(value)
        start = datetime.fromisoformat(body["start"])
        stop = None if body["stop"] is None else datetime.fromisoformat(body["stop"])
        repeat, limit = body["repeat"], body["limit"]
    except ValueError, TypeError, KeyError:
        return None  # e.g. a request of the old daily schedule, saved before an update
    if not isinstance(repeat, bool) or not isinstance(limit, int | float | None):
        return None
    return EaseeBasicChargePlan(
        id=plan_id, start=start, stop=stop, repeat=repeat, enabled=True, current_limit=limit
    )


def _in_window(clock: clock_time, start: clock_time, stop: clock_time) -> bool:
    if start < stop:
        return start <= clock < stop
    return clock >= start or clock < stop  # over midnight (equal: the whole day)


def basic_plan_limit(plan: EaseeBasicChargePlan | None, now: datetime) -> float | None:
    """Return the current a basic plan allows at ``now`` (None: it limits nothing)."""
    if plan is None or not plan.enabled:
        return None
    allowed = float(MAX_CURRENT) if plan.current_limit is None else plan.current_limit
    if now < plan.start:
        return 0.0  # waiting for its (first) start
    if plan.stop is None:
        return allowed  # started, and nothing in the plan ends the charge
    if not plan.repeat:
        # The cloud ends a one-off plan itself: after its stop it holds nothing back.
        return allowed if now < plan.stop else None
    # A daily plan repeats the clock times the user chose. The cloud stores instants in UTC,
    # but the Easee app shows and sets them in local time, so "22:00" means 22:00 at home in
    # winter and in summer: the window follows the home's time zone, not UTC.
    start = dt_util.as_local(plan.start).time().replace(tzinfo=None)
    stop = dt_util.as_local(plan.stop).time().replace(tzinfo=None)
    clock = dt_util.as_local(now).time().replace(tzinfo=None)
    return allowed if _in_window(clock, start, stop) else 0.0


def weekly_plan_limit(plan: EaseeWeeklyChargePlan | None, now: datetime) -> float | None:
    """Return the current a weekly plan allows at ``now`` (None: it limits nothing).

    Its days and "HH:MMZ" clock times are UTC; a range whose stop is not after its start runs
    over midnight into the next day.
    """
    if plan is None or not plan.enabled:
        return None
    utc = now.astimezone(UTC)
    clock, today = utc.time().replace(tzinfo=None), utc.weekday()  # Monday is 0, as Easee's
    yesterday = (today - 1) % 7
    allowed: list[float] = []
    for day in plan.days:
        for window in day.ranges:
            over_midnight = window.stop <= window.start
            inside = (
                day.day_of_week == today
                and clock >= window.start
                and (over_midnight or clock < window.stop)
            ) or (day.day_of_week == yesterday and over_midnight and clock < window.stop)
            if inside:
                allowed.append(
                    float(MAX_CURRENT) if window.current_limit is None else window.current_limit
                )
    return max(allowed) if allowed else 0.0


def plan_limit(
    basic: EaseeBasicChargePlan | None, weekly: EaseeWeeklyChargePlan | None, now: datetime
) -> float | None:
    """Return the current the charge plans allow at ``now`` (None: no plan limits anything).

    With both plans on, the lower wins, as with every other Easee limit.
    """
    limits = [
        limit
        for limit in (basic_plan_limit(basic, now), weekly_plan_limit(weekly, now))
        if limit is not None
    ]
    return min(limits) if limits else None


@dataclass(frozen=True, slots=True)
class PlanWindow:
    """A charge plan's window running now, else its next one, and the current it allows."""

    start: datetime
    stop: datetime | None  # None: the plan never ends the charge
    current_limit: float
    plan: str  # PLAN_BASIC or PLAN_WEEKLY


def _basic_window(plan: EaseeBasicChargePlan | None, now: datetime) -> PlanWindow | None:
    if plan is None or not plan.enabled:
        return None
    allowed = float(MAX_CURRENT) if plan.current_limit is None else plan.current_limit
    if plan.stop is None or now < plan.start:
        return PlanWindow(plan.start, plan.stop, allowed, PLAN_BASIC)
    if not plan.repeat:
        # The cloud ends a one-off plan after its window: nothing comes next.
        return PlanWindow(plan.start, plan.stop, allowed, PLAN_BASIC) if now < plan.stop else None
    # The home's clock times, as basic_plan_limit reads them (a stop not after the start
    # means the next day).
    start = dt_util.as_local(plan.start).time()
    stop = dt_util.as_local(plan.stop).time()
    local = dt_util.as_local(now)
    for days in (-1, 0, 1):
        day = local.date() + timedelta(days=days)
        begin = datetime.combine(day, start, local.tzinfo)
        end = datetime.combine(day + timedelta(days=int(stop <= start)), stop, local.tzinfo)
        if end > local:
            return PlanWindow(dt_util.as_utc(begin), dt_util.as_utc(end), allowed, PLAN_BASIC)
    return None  # pragma: no cover - tomorrow's window always ends after now


def _weekly_window(plan: EaseeWeeklyChargePlan | None, now: datetime) -> PlanWindow | None:
    if plan is None or not plan.enabled:
        return None
    utc = now.astimezone(UTC)
    windows: list[PlanWindow] = []
    # From yesterday (a range over midnight may still run) to the same weekday next week.
    for days in range(-1, 8):
        day = utc.date() + timedelta(days=days)
        for plan_day in plan.days:
            if plan_day.day_of_week != day.weekday():
                continue
            for window in plan_day.ranges:
                over_midnight = timedelta(days=int(window.stop <= window.start))
                end = datetime.combine(day + over_midnight, window.stop, UTC)
                if end > utc:
                    allowed = (
                        float(MAX_CURRENT) if window.current_limit is None else window.current_limit
                    )
                    begin = datetime.combine(day, window.start, UTC)
                    windows.append(PlanWindow(begin, end, allowed, PLAN_WEEKLY))
    return min(windows, key=lambda window: window.start) if windows else None


def plan_window(
    basic: EaseeBasicChargePlan | None, weekly: EaseeWeeklyChargePlan | None, now: datetime
) -> PlanWindow | None:
    """Return the window of the plans running now, else the one that starts first."""
    windows = [
        window
        for window in (_basic_window(basic, now), _weekly_window(weekly, now))
        if window is not None
    ]
    return min(windows, key=lambda window: window.start) if windows else None


def plans_on(basic: EaseeBasicChargePlan | None, weekly: EaseeWeeklyChargePlan | None) -> str:
    """Return which charge plans are on: one of PLAN_STATES."""
    on = (basic is not None and basic.enabled, weekly is not None and weekly.enabled)
    return {
        (False, False): PLAN_OFF,
        (True, False): PLAN_BASIC,
        (False, True): PLAN_WEEKLY,
        (True, True): PLAN_BOTH,
    }[on]


@dataclass(frozen=True, slots=True)
class EaseeChargerData:
    """The newest state, config and charge plans of a charger, and when each was read."""

    state: EaseeChargerState | None = None
    config: EaseeChargerConfig | None = None
    basic_plan: EaseeBasicChargePlan | None = None
    weekly_plan: EaseeWeeklyChargePlan | None = None
    state_at: float | None = None
    config_at: float | None = None


@dataclass(frozen=True, slots=True)
class EffectiveLimit:
    """The lowest limit in force and every limit that was compared."""

    current: float
    limited_by: str
    limits: Mapping[str, float]


def _set_limits(
    dynamic: tuple[float | None, ...], maxima: tuple[float | None, ...]
) -> tuple[float | None, ...]:
    """Drop dynamic circuit readings above their phase's max: Easee's "not set" (40/80 A)."""
    return tuple(
        None if value is not None and limit is not None and value > limit else value
        for value, limit in zip(dynamic, maxima, strict=True)
    )


def _lowest(values: tuple[float | None, ...]) -> float | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


# How a write that is dropped for good is reported: the event's result and the error's key.
_REFUSALS: Final[tuple[tuple[type[EvChargeControlError], CommandResult, str], ...]] = (
    (PermissionDeniedError, CommandResult.REFUSED, "permission_denied"),
    (CommandRefusedError, CommandResult.REFUSED, "command_refused"),
    # Easee passes nothing on to an offline charger and keeps nothing for later: sending it
    # again only hears the same 410, and a start or resume replayed hours later surprises.
    (ChargerOfflineError, CommandResult.OFFLINE, "charger_offline"),
)


class _EaseeWrites[V: CommandValue](WriterHooks[V]):
    """What chargers and circuits share: the writer's Easee hooks and kept dynamic limits."""

    hass: HomeAssistant
    config_entry: EvChargeConfigEntry
    runtime: EaseeRuntime
    queue: CommandQueue[V]
    writer: QueuedWriter[V]
    unique_id_prefix: str

    send_errors = (OverBudgetError, EvChargeControlError)

    def _save_queue(self) -> None:
        self.runtime.account.queues[self.unique_id_prefix] = self.queue.as_dict()
        self.runtime.account.async_schedule_save()

    async def async_save_queue(self) -> None:
        """Keep the queue with the account, saved soon: many writes cost one file write."""
        self._save_queue()

    def writes_paused_until(self, now: float) -> float | None:
        """Return when the account's back-off or block ends (None: it is not paused)."""
        return self.runtime.account.pause_until(now)

    async def async_send_command(self, sent: SentCommand[V]) -> None:
        """Send one write; Easee answers 202, so a later read verifies it.

        A write whose answer was lost may have reached the cloud: the next read tells, as
        for any write, whether it is applied or goes out again. Sending it again at once
        would spend an attempt, and the budget, on what is likely done.
        """
        try:
            await self._async_send(sent)
        except AnswerLostError as err:
            if sent.parameter in UNVERIFIED_PARAMS:
                raise  # no read shows a command: it is sent again, as any failed write
            self.runtime.async_handle_write_error(err)
            LOGGER.warning(
                "Easee %s: the answer to %s was lost (%s); the next read tells whether it arrived",
                self.unique_id_prefix,
                self.describe_command(sent.parameter, sent.value),
                err,
            )
            # The cloud may have taken it until now: only a read after that says anything.
            sent.sent_at = max(sent.sent_at, _now())
        else:
            self.runtime.account.async_request_succeeded()
        self._after_send(sent)

    async def _async_send(self, sent: SentCommand[V]) -> None:
        raise NotImplementedError

    def _after_send(self, sent: SentCommand[V]) -> None:
        """Bookkeeping after the cloud accepted a write."""

    def send_failed(self, sent: SentCommand[V], err: Exception) -> NotSent | Refusal:
        """Refuse for good what sending again would not help; let the account wait; retry."""
        if not isinstance(err, EvChargeControlError):
            # The account's request window is full (OverBudgetError): not the write's fault.
            return NotSent(retry_at=err.retry_at if isinstance(err, OverBudgetError) else None)
        for kind, result, key in _REFUSALS:
            if isinstance(err, kind):
                return self._refused(sent, err, result, key)
        if (retry_at := self.runtime.async_handle_write_error(err)) is not None:
            return NotSent(retry_at=retry_at)  # the account waits: not the write's fault
        return NotSent(attempt_failed=True, give_up=isinstance(err, NotFoundError))

    def _refused(
        self, sent: SentCommand[V], err: EvChargeControlError, result: CommandResult, key: str
    ) -> Refusal:
        placeholders = {"parameter": sent.parameter}
        if isinstance(err, CommandRefusedError):
            placeholders["code"] = str(err.result_code) if err.result_code is not None else "-"
        if isinstance(err, ChargerOfflineError):
            LOGGER.warning(
                "Easee %s: %s was not sent, the charger is offline: %s",
                self.unique_id_prefix,
                sent.parameter,
                err,
            )
            self._charger_went_offline()
        else:
            LOGGER.error("Easee %s: %s was refused: %s", self.unique_id_prefix, sent.parameter, err)
        return Refusal(result, key, placeholders)

    def _charger_went_offline(self) -> None:
        """Note that Easee answered "charger offline" (a charger's entities show it)."""

    def result_value(self, value: V) -> ResultValue:
        """Return a write's value as the result event carries it."""
        return ResultValue(value)

    def describe_command(self, parameter: str, value: V) -> str:
        """Return a write as parameter=value: a plan as on or off, phases as 16/16/16."""
        shown: object = value
        if parameter == PARAM_PLAN:
            shown = "off" if value == NO_PLAN else "on"
        if isinstance(shown, tuple):
            shown = "/".join(str(v) for v in shown)
        return f"{parameter}={shown}"

    def shown_value(self, value: V) -> object:
        """Return a value as the attributes show it: phases as a list, a plan as "plan"."""
        return _shown(value)

    def pending_details(self, parameter: str, value: V) -> dict[str, object]:
        """Return a waiting write's value: currents in A, switches and a plan as on or off."""
        amperes = UnitOfElectricCurrent.AMPERE
        if parameter == PARAM_PLAN:
            return {"value": STATE_OFF if value == NO_PLAN else STATE_ON}
        if parameter in (PARAM_ENABLED, PARAM_SMART):
            return {"value": STATE_ON if value else STATE_OFF}
        if isinstance(value, tuple):
            return {"value": "/".join(f"{v:g}" for v in value) + f" {amperes}"}
        if parameter in (PARAM_DYNAMIC, PARAM_MAX) and isinstance(value, int | float):
            return {"value": f"{value:g} {amperes}"}
        return {"value": value}

    def _keep(self, value: object, ttl: int) -> None:
        """Remember the dynamic limit the user set, for "keep dynamic limits"."""
        self.runtime.account.kept[self.unique_id_prefix] = {
            "value": value,
            "set_at": _now(),
            "ttl": ttl,
        }
        self.runtime.account.async_schedule_save()

    def _limit_sent(self, sent_at: float, ttl: int) -> None:
        """Note when Easee drops the dynamic limit just sent: its time to live counts from now."""
        kept = self.runtime.account.kept.get(self.unique_id_prefix)
        if kept is None:
            return
        kept["ends_at"] = sent_at + ttl * 60 if ttl else None
        kept["sent_ttl"] = ttl
        self.runtime.account.async_schedule_save()

    def _limit_ends(
        self, parameter: str, load: Callable[[object], V | None], shown: V | None
    ) -> datetime | None:
        """Return when the dynamic limit we sent ends (None: it has no end, or is gone)."""
        kept = self.runtime.account.kept.get(self.unique_id_prefix) or {}
        ends_at = kept.get("ends_at")
        if not isinstance(ends_at, int | float) or _now() >= ends_at:
            return None
        awaiting = parameter in self.queue.awaiting
        if not awaiting and shown is not None and shown != load(kept.get("value")):
            return None  # reset before its end: a car connected, the power was lost
        return _utc(round(ends_at))

    def limit_ttl(self) -> int | None:
        """Return the time to live (minutes) the dynamic limit was sent with."""
        ttl = (self.runtime.account.kept.get(self.unique_id_prefix) or {}).get("sent_ttl")
        return ttl if type(ttl) is int else None

    def _reapply_kept(
        self,
        parameter: str,
        load: Callable[[object], V | None],
        shown: V | None,
        reason: str,
    ) -> None:
        """Ask again for the kept limit when a read shows the charger reset it."""
        kept = self.runtime.account.kept.get(self.unique_id_prefix)
        if not self.config_entry.options.get(CONF_KEEP_DYNAMIC_LIMITS) or kept is None:
            return
        value = load(kept.get("value"))
        ttl, set_at = kept.get("ttl", 0), kept.get("set_at", 0.0)
        if value is None or not isinstance(ttl, int) or not isinstance(set_at, float):
            return
        if ttl and _now() >= set_at + ttl * 60:
            return  # its time to live ran out: the reset was the point
        if parameter in self.queue.pending or parameter in self.queue.awaiting:
            return
        if shown is None or shown == value:
            return
        LOGGER.info(
            "Easee %s: the %s was reset to %s A (%s); setting it back to %s A",
            self.unique_id_prefix,
            parameter.replace("_", " "),
            shown,
            reason,
            value,
        )
        self.queue.request(parameter, value, _now(), shown)
        self._save_queue()
        self.writer.schedule()

    def pending_command(self) -> str:
        """Return the parameter of the write that goes out next, or "none"."""
        return self.writer.pending_command()

    def pending_attributes(self) -> dict[str, Any]:
        """Return the next write's value and time, every waiting and every unconfirmed one."""
        return self.writer.pending_attributes()


def _shown(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str) and value.startswith("{"):
        return "plan"
    return value


class EaseeChargerCoordinator(
    _EaseeWrites[EaseeValue], KeptDeviceInfo, EvChargeCoordinator[EaseeChargerData]
):
    """One Easee charger: read by the account's poller, written through its own queue."""

    config_entry: EvChargeConfigEntry
    # Set when Easee answers a write with "charger disconnected" (410); a read that shows the
    # charger online clears it.
    charger_offline: bool = False

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        runtime: EaseeRuntime,
        charger: EaseeCharger,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"Easee {charger.id}",
            # The account's poller decides when each charger is read, within one budget.
            update_interval=None,
        )
        self.runtime = runtime
        self.charger = charger
        self.charger_id = charger.id
        self.circuit: EaseeCircuit | None = None
        self.site: EaseeSite | None = None
        self.unique_id_prefix = f"easee_{charger.id}"
        self.device_info = self._device_info()
        self.queue = CommandQueue(
            spacing=WRITE_SPACING,
            max_attempts=MAX_WRITE_ATTEMPTS,
            priority=_write_priority,
            load_value=_load_value,
        )
        if (saved := runtime.account.queues.get(self.unique_id_prefix)) is not None:
            self.queue.restore(saved, _now())
            self._forget_old_plan_requests()
        self.state_attempt: float | None = None
        self.config_attempt: float | None = None
        self.config_wanted = True
        self.lifetime_energy: float | None = None
        self.schedule_overridden = False
        self._firmware: int | None = None
        self._answers_awaited: dict[int, SentCommand[EaseeValue]] = {}
        self.writer = QueuedWriter(self, self, self.queue, f"Easee {self.unique_id_prefix}")

    def _device_info(self) -> DeviceInfo:
        info = DeviceInfo(
            identifiers={(DOMAIN, self.unique_id_prefix)},
            manufacturer="Easee",
            model=product_name(self.charger.product_code),
            model_id=None if self.charger.product_code is None else str(self.charger.product_code),
            name=self.charger.name or self.charger.id,
            serial_number=self.charger.id,
        )
        if self.circuit is not None and (
            circuit := async_device_id(
                self.hass, self.config_entry, f"easee_circuit_{self.circuit.id}"
            )
        ):
            info["via_device_id"] = circuit
        return info

    def place(self, site: EaseeSite | None, circuit: EaseeCircuit | None) -> None:
        """Tell the charger which site and circuit it belongs to."""
        self.site, self.circuit = site, circuit
        self.device_info = self._device_info()

    @property
    def is_master(self) -> bool:
        """Return whether the charger is its circuit's primary unit.

        The site's circuits say it; where they do not, the charger's config (localNodeType).
        The account's list of chargers never does (its backPlate is null).
        """
        if self.circuit is not None and self.circuit.master_id is not None:
            return self.circuit.master_id == self.charger_id
        config = self.data.config if self.data is not None else None
        if config is not None and config.local_node_type is not None:
            return config.is_master
        return self.charger.is_master

    @property
    def reachable(self) -> bool:
        """Not while Easee says the charger is offline, whatever the last read showed."""
        return not self.charger_offline

    def _charger_went_offline(self) -> None:
        self.charger_offline = True

    @property
    def options(self) -> Mapping[str, Any]:
        """Return the entry's options (state interval, keep, time to live)."""
        return self.config_entry.options

    # Reading

    @property
    def read_by_site(self) -> bool:
        """Tell whether state and config come with the site's state (not read one by one)."""
        return self.runtime.reads_site_of(self)

    def state_due(self, now: float) -> bool:
        """Tell whether the poller should read this charger now (its site's read does not)."""
        if self.read_by_site:
            return False
        return self.state_attempt is None or now - self.state_attempt >= self.runtime.state_interval

    def next_state_at(self) -> float:
        """Return when the next read is due."""
        return (self.state_attempt or 0.0) + self.runtime.state_interval

    def _config_due(self, now: float) -> bool:
        return (
            self.config_wanted
            or self.config_attempt is None
            or now - self.config_attempt >= CONFIG_INTERVAL.total_seconds()
        )

    def plan_due(self, now: float) -> bool:
        """Tell whether a charger read by its site is due for its charge plan."""
        return self._config_due(now)

    async def _async_read_plan(
        self, new: EaseeChargerData, config: EaseeChargerConfig | None
    ) -> EaseeChargerData:
        """Read both charge plans; ``config`` (read with them, or the site's) goes in too."""
        basic_plan, weekly_plan = await self._async_read_plans()
        return replace(
            new,
            config=config,
            basic_plan=basic_plan,
            weekly_plan=weekly_plan,
            config_at=_now(),
        )

    @callback
    def async_restore(self, saved: EaseeChargerData, now: float, state_window: float) -> None:
        """Show what the last run read, each part only within its interval.

        The state within ``state_window`` of its read, the config and plans within theirs.
        What is shown counts as read then: the next read comes when its interval ends. Not
        while a write waits for a read to verify it (``queue.awaiting``): that charger is
        read at once, as without saved reads.
        """
        if self.queue.awaiting:
            return
        state_at, config_at = saved.state_at, saved.config_at
        state_fresh = (
            saved.state is not None
            and state_at is not None
            and state_at <= now < state_at + state_window
        )
        config_fresh = (
            config_at is not None and config_at <= now < config_at + CONFIG_INTERVAL.total_seconds()
        )
        if not (state_fresh or config_fresh):
            return
        data = EaseeChargerData(
            state=saved.state if state_fresh else None,
            state_at=state_at if state_fresh else None,
            config=saved.config,
            basic_plan=saved.basic_plan if config_fresh else None,
            weekly_plan=saved.weekly_plan if config_fresh else None,
            config_at=config_at if config_fresh else None,
        )
        if state_fresh:
            self.state_attempt = state_at
        if config_fresh:
            self.config_attempt = config_at
            self.config_wanted = False
        if data.state is not None:
            self._track_energy(data.state)
            self._firmware = data.state.firmware
        self.async_set_updated_data(data)

    @callback
    def async_site_read(self, reading: EaseeChargerReading | None, read_at: float) -> None:
        """Take this charger's part of its site's state (None: the site's state lacks it)."""
        self.state_attempt = read_at
        if reading is None or reading.state is None:
            # Gone from its site (or moved): look at the account's structure again.
            self.runtime.structure_wanted = True
            self.async_set_update_error(
                UpdateFailed(translation_domain=DOMAIN, translation_key="not_found")
            )
            return
        old = self.data or EaseeChargerData()
        new = replace(
            old, state=reading.state, state_at=read_at, config=reading.config or old.config
        )
        # The plan is not in the site's state: its write is checked by the plan's own read.
        self._after_read(
            new, state_read=True, config_read=reading.config is not None, plan_read=False
        )
        self.async_set_updated_data(new)
        self.runtime.reads.async_read_done()

    @callback
    def async_site_read_failed(self, failure: HomeAssistantError, *, keep: bool) -> None:
        """Fail as a failed state read does; ``keep``: the account waits, values stay.

        While the stream sends the charger's values, they stay too: a failed reconcile says
        nothing about values the stream keeps fresh, and the next one is 15 minutes away.
        """
        if (keep or self.streaming) and self.data is not None and self.data.state is not None:
            LOGGER.debug(
                "Easee %s: site read failed (%s), keeping values", self.charger_id, failure
            )
            return
        self.async_set_update_error(failure)

    async def async_read_plan(self) -> None:
        """Read the charge plan of a charger read by its site (its state and config are)."""
        now = _now()
        config_attempt, self.config_attempt = self.config_attempt, now
        old = self.data or EaseeChargerData()
        try:
            new = await self._async_read_plan(old, old.config)
        except OverBudgetError:
            self.config_attempt = config_attempt  # not read is not done
            return
        except EvChargeControlError as err:
            # The site's read keeps the charger's values; only a refused login is for the user.
            failure = self.runtime.async_handle_read_error(err)
            if isinstance(failure, ConfigEntryAuthFailed):
                self.config_entry.async_start_reauth(self.hass)
            LOGGER.debug("Easee %s: reading the charge plan failed: %s", self.charger_id, err)
            return
        self.config_wanted = False
        self.runtime.account.async_request_succeeded()
        self._after_read(new, state_read=False, config_read=False, plan_read=True)
        self.async_set_updated_data(new)
        self.runtime.reads.async_read_done()

    async def _async_update_data(self) -> EaseeChargerData:
        now = _now()
        self.state_attempt = now
        old = self.data or EaseeChargerData()
        new = old
        client = self.runtime.client
        config_read = False
        config_attempt = self.config_attempt
        try:
            state = await client.get_state(self.charger_id)
            new = replace(new, state=state, state_at=_now())
            # The config and both plans together or not at all: a part read is read again.
            if self._config_due(now) and self.runtime.account.can_read(_now(), CONFIG_READS):
                self.config_attempt = now
                config = await client.get_config(self.charger_id)
                new = await self._async_read_plan(new, config)
                self.config_wanted = False
                config_read = True
        except OverBudgetError as err:
            # Not read is not done: the config is due again at the next poll.
            self.config_attempt = config_attempt
            if new.state is None:
                raise read_failure(err) from err
            LOGGER.debug("Easee %s: budget used up, keeping what was read", self.charger_id)
        except EvChargeControlError as err:
            failure = self.runtime.async_handle_read_error(err)
            # The account waiting (429, block) is not the charger's fault: keep its values.
            # Anything else without a fresh state this time makes them unavailable.
            # Nor is a failed reconcile while the stream keeps the values fresh.
            account_wait = (isinstance(err, RateLimitedError) or self.streaming) and (
                new.state is not None
            )
            fresh = new.state_at != old.state_at
            if isinstance(failure, ConfigEntryAuthFailed) or not (fresh or account_wait):
                raise failure from err
            LOGGER.debug("Easee %s: read failed (%s), keeping what was read", self.charger_id, err)
        else:
            self.runtime.account.async_request_succeeded()
        if new is not old:
            self._after_read(new, state_read=new.state_at != old.state_at, config_read=config_read)
            self.runtime.reads.async_read_done()
        return new

    def _after_read(
        self,
        data: EaseeChargerData,
        *,
        state_read: bool,
        config_read: bool,
        plan_read: bool | None = None,
    ) -> None:
        """Check waiting writes against a read (``plan_read`` None: read with the config)."""
        state = data.state
        if state is not None and state_read and state.is_online is not False:
            self.charger_offline = False
        if state is not None:
            self._track_energy(state)
            if state.op_mode == DISCONNECTED:
                self.schedule_overridden = False
            if state.firmware is not None and state.firmware != self._firmware:
                self._firmware = state.firmware
                self._update_firmware(state.firmware)
        verified = (STATE_PARAMS if state_read else frozenset()) | (
            CONFIG_PARAMS if config_read else frozenset()
        )
        if plan_read is not None:
            verified = (verified - {PARAM_PLAN}) | ({PARAM_PLAN} if plan_read else frozenset())
        read_at = (data.state_at or 0.0) if state_read else (data.config_at or 0.0)
        results = self.writer.verify(
            lambda parameter: self.value_in(data, parameter), read_at - VERIFY_SETTLE, verified
        )
        if state_read:
            self._keep_dynamic_limit(data)
        if results:
            self._save_queue()

    def _update_firmware(self, firmware: int) -> None:
        # Entities not added yet register the device with it; added ones need an update.
        self.device_info["sw_version"] = str(firmware)
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, self.unique_id_prefix), self.config_entry.entry_id
        )
        if device is not None and device.sw_version != str(firmware):
            registry.async_update_device(device.id, sw_version=str(firmware))

    def _track_energy(self, state: EaseeChargerState) -> None:
        total = state.lifetime_energy
        if total is None:
            return
        if self.lifetime_energy is not None and total < self.lifetime_energy:
            LOGGER.debug(
                "Easee %s: ignoring lifetime energy %s below %s",
                self.charger_id,
                total,
                self.lifetime_energy,
            )
            return
        self.lifetime_energy = total

    # The stream

    @property
    def streaming(self) -> bool:
        """Tell whether the account's stream is up and sends this charger's values."""
        stream = self.runtime.stream
        return stream.up and self.charger_id in stream.stream.subscribed

    @callback
    def async_stream_update(self, observation: EaseeObservation) -> None:
        """Take one streamed value: entities show it at once, a write it shows is applied."""
        old = self.data
        value = observation.value
        if old is None or old.state is None or isinstance(value, bool | str):
            return  # the first REST read brings the rest of the state
        key = observation.observation_id
        state, config = old.state, old.config
        parameter: str | None = None
        if (name := _STREAM_STATE.get(key)) is not None:
            if name == "op_mode":
                if not isinstance(value, int):
                    return
                state = replace(state, op_mode=value)
            else:
                changes: dict[str, Any] = {name: float(value)}
                state = replace(state, **changes)
            parameter = PARAM_DYNAMIC if key == 48 else None
        elif (phase := _STREAM_CIRCUIT.get(key)) is not None:
            phases = list(state.dynamic_circuit_current)
            phases[phase] = float(value)
            state = replace(state, dynamic_circuit_current=(phases[0], phases[1], phases[2]))
        elif key == _STREAM_MAX_CURRENT and config is not None:
            config = replace(config, max_charger_current=float(value))
            parameter = PARAM_MAX
        else:
            return
        new = replace(old, state=state, config=config)
        if state.op_mode == DISCONNECTED:
            self.schedule_overridden = False
        self._track_energy(state)
        if parameter is not None:
            self._stream_applied(new, parameter)
            if parameter == PARAM_DYNAMIC:
                self._keep_dynamic_limit(new)
        self.async_set_updated_data(new)

    def _stream_applied(self, data: EaseeChargerData, parameter: str) -> None:
        """Count a write as applied when the stream shows its value.

        Only that: a value the stream shows before the charger took the write says nothing
        against it (the next read decides, as for any write).
        """
        sent = self.queue.awaiting.get(parameter)
        if sent is None or self.value_in(data, parameter) != sent.value:
            return
        if self.writer.verify(lambda name: self.value_in(data, name), _now(), {parameter}):
            self._save_queue()

    @callback
    def async_command_response(self, response: EaseeCommandResponse) -> None:
        """Report a command's outcome when the charger's answer names it (by its ticks)."""
        if response.ticks is None or response.was_accepted is None:
            return
        sent = self._answers_awaited.pop(response.ticks, None)
        if sent is None:
            return
        if response.was_accepted:
            self.writer.fire(
                sent.parameter, sent.value, CommandResult.APPLIED, sent.attempt, actual=sent.value
            )
            return
        LOGGER.warning(
            "Easee %s: the charger refused %s (result code %s)",
            self.charger_id,
            self.describe_command(sent.parameter, sent.value),
            response.result_code,
        )
        self.writer.fire(sent.parameter, sent.value, CommandResult.REFUSED, sent.attempt)

    # Values

    @staticmethod
    def value_in(data: EaseeChargerData | None, parameter: str) -> EaseeValue | None:
        """Return what a read shows for a writable parameter."""
        if data is None:
            return None
        state, config = data.state, data.config
        if parameter == PARAM_DYNAMIC and state is not None:
            return _amps(state.dynamic_charger_current)
        if parameter == PARAM_SMART and state is not None and state.smart_charging is not None:
            return int(state.smart_charging)
        if parameter == PARAM_MAX and config is not None:
            return _amps(config.max_charger_current)
        if parameter == PARAM_ENABLED and config is not None and config.is_enabled is not None:
            return int(config.is_enabled)
        if parameter == PARAM_PLAN and data.config_at is not None:
            return plan_value(data.basic_plan, data.weekly_plan)
        return None

    def shown(self, parameter: str) -> EaseeValue | None:
        """Return what the charger has, as the newest read shows it.

        Not the request: a write may wait for the account's budget or its spacing, and the
        charger keeps what it has meanwhile; the Pending command sensor shows the wait.
        """
        return self.value_in(self.data, parameter)

    def effective_limit(self) -> EffectiveLimit | None:
        """Return the lowest of every limit in force, and which one it is."""
        data = self.data
        if data is None or data.state is None:
            return None
        state, config = data.state, data.config
        limits: dict[str, float | None] = {
            "dynamic_charger": state.dynamic_charger_current,
            "max_charger": config.max_charger_current if config else None,
            "dynamic_circuit": _lowest(
                _set_limits(
                    state.dynamic_circuit_current,
                    config.circuit_max_current if config else (None, None, None),
                )
            ),
            "circuit_max": _lowest(config.circuit_max_current) if config else None,
            "charge_plan": (
                None
                if self.schedule_overridden
                else plan_limit(data.basic_plan, data.weekly_plan, dt_util.utcnow())
            ),
        }
        known = {name: value for name, value in limits.items() if value is not None}
        if not known:
            return None
        lowest = min(known.values())
        binding = next(name for name in LIMIT_NAMES if known.get(name) == lowest)
        return EffectiveLimit(lowest, binding, known)

    # Writing

    def command_ready_at(self, command: QueuedCommand[EaseeValue]) -> float:
        """Return when a flash setting may be written again (0: any time)."""
        if command.parameter in FLASH_PARAMS:
            return self.runtime.account.flash_ready_at(self._flash_key(command.parameter))
        return 0.0

    def _flash_key(self, parameter: str) -> str:
        return f"{self.charger_id}:{parameter}"

    def flash_ready_at(self, parameter: str) -> datetime | None:
        """Return when a flash setting may be written again (None: now)."""
        at = self.runtime.account.flash_ready_at(self._flash_key(parameter))
        return _utc(round(at)) if at > _now() else None

    async def async_write(self, parameter: str, value: EaseeValue) -> None:
        """Ask for a value: it goes out as soon as the queue, budget and flash allow."""
        current = (
            self.value_in(self.data, parameter) if parameter not in UNVERIFIED_PARAMS else None
        )
        await self.writer.async_request(parameter, value, current)

    def _dynamic_ttl(self) -> int:
        return int(self.options.get(CONF_DYNAMIC_CURRENT_TTL, 0))

    async def async_set_dynamic_current(self, amps: int) -> None:
        """Set the dynamic charger current and remember it for "keep dynamic limits"."""
        self._keep(amps, self._dynamic_ttl())
        await self.async_write(PARAM_DYNAMIC, amps)

    def dynamic_limit_ends(self) -> datetime | None:
        """Return when the dynamic charger current we set ends (None: no end, or gone)."""
        return self._limit_ends(PARAM_DYNAMIC, _int_value, self.value_in(self.data, PARAM_DYNAMIC))

    def charge_plans(self) -> str | None:
        """Return which charge plans are on (None: not read yet)."""
        data = self.data
        if data is None or data.config_at is None:
            return None
        return plans_on(data.basic_plan, data.weekly_plan)

    def charge_plan_window(self) -> PlanWindow | None:
        """Return the plans' window running now, else the next one."""
        data = self.data
        if data is None or data.config_at is None:
            return None
        return plan_window(data.basic_plan, data.weekly_plan, dt_util.utcnow())

    async def async_set_charge_plan(self, plan: EaseeBasicChargePlan | None) -> None:
        """Set the basic charge plan, or (None) turn the basic and the weekly plan off."""
        await self.async_write(PARAM_PLAN, plan_value(plan))

    def _forget_old_plan_requests(self) -> None:
        # A plan request saved by an older version was for the daily schedule Easee does
        # not have: the cloud cannot take it, and a guess is not what the user asked for.
        for commands in (self.queue.pending, self.queue.awaiting):
            command = commands.get(PARAM_PLAN)
            if (
                command is not None
                and isinstance(command.value, str)
                and command.value != NO_PLAN
                and plan_from_value(command.value, self.charger_id) is None
            ):
                LOGGER.warning(
                    "Easee %s: dropped a charge plan request of an old form", self.charger_id
                )
                del commands[PARAM_PLAN]

    async def _async_read_plans(
        self,
    ) -> tuple[EaseeBasicChargePlan | None, EaseeWeeklyChargePlan | None]:
        """Read both charge plans (one request more per 15 minutes than the basic one alone)."""
        client = self.runtime.client
        basic = await client.get_basic_charge_plan(self.charger_id)
        return basic, await client.get_weekly_charge_plan(self.charger_id)

    async def _async_plans_off(self) -> None:
        """Turn off whichever plan is on, as a fresh read shows it.

        Easee has no call that switches a plan off: the plan is read and posted back with
        isEnabled false. Nothing is deleted, so a plan made in the Easee app can be switched
        on there again; reading first (not the read of up to 15 minutes ago) posts back what
        the user last saved, not an older version of it.
        """
        client, charger_id = self.runtime.client, self.charger_id
        basic = await client.get_basic_charge_plan(charger_id)
        if basic is not None and basic.enabled:
            await client.set_basic_charge_plan(charger_id, replace(basic, enabled=False))
        weekly = await client.get_weekly_charge_plan(charger_id)
        if weekly is not None and weekly.enabled:
            await client.set_weekly_charge_plan(charger_id, replace(weekly, enabled=False))

    def _keep_dynamic_limit(self, data: EaseeChargerData) -> None:
        if self.charger_offline:
            return  # Easee would answer 410 again: the limit goes back once it is online
        self._reapply_kept(
            PARAM_DYNAMIC,
            _int_value,
            self.value_in(data, PARAM_DYNAMIC),
            "a car connected or the power was lost",
        )

    async def _async_send(self, sent: SentCommand[EaseeValue]) -> None:
        client, charger_id, value = self.runtime.client, self.charger_id, sent.value
        if sent.parameter == PARAM_DYNAMIC and isinstance(value, int):
            await client.set_dynamic_charger_current(charger_id, value, self._dynamic_ttl())
        elif sent.parameter == PARAM_MAX and isinstance(value, int):
            await client.update_settings(charger_id, max_charger_current=value)
        elif sent.parameter == PARAM_ENABLED:
            await client.update_settings(charger_id, enabled=bool(value))
        elif sent.parameter == PARAM_SMART:
            await client.update_settings(charger_id, smart_charging=bool(value))
        elif sent.parameter == PARAM_PLAN and isinstance(value, str):
            if value == NO_PLAN:
                await self._async_plans_off()
            elif (plan := plan_from_value(value, charger_id)) is not None:
                await client.set_basic_charge_plan(charger_id, plan)
            else:
                raise ApiError(f"Easee {charger_id}: an unreadable charge plan request")
        else:  # PARAM_COMMAND and PARAM_OVERRIDE carry the command's name
            ticks = await client.command(charger_id, str(value))
            if ticks:
                # The charger answers through the stream; that answer is the outcome.
                self._answers_awaited[ticks] = sent
                while len(self._answers_awaited) > _MAX_ANSWERS_AWAITED:
                    del self._answers_awaited[next(iter(self._answers_awaited))]

    def _after_send(self, sent: SentCommand[EaseeValue]) -> None:
        if sent.parameter == PARAM_DYNAMIC:
            self._limit_sent(sent.sent_at, self._dynamic_ttl())
        if sent.parameter in FLASH_PARAMS:
            self.runtime.account.async_flash_written(self._flash_key(sent.parameter), sent.sent_at)
        if sent.parameter == PARAM_OVERRIDE:
            self.schedule_overridden = True
        if sent.parameter in UNVERIFIED_PARAMS:
            self.queue.awaiting.pop(sent.parameter, None)
        if sent.parameter in CONFIG_PARAMS:
            # The next poll reads the config too, so the value shows (or fails) soon.
            self.config_wanted = True

    async def async_stop(self) -> None:
        """Cancel the write timer."""
        self.writer.cancel()
        await self.async_shutdown()


@dataclass(frozen=True, slots=True)
class EaseeCircuitData:
    """A circuit's stored (flash) limits and when they were read."""

    settings: EaseeCircuitSettings | None = None
    settings_at: float | None = None


class EaseeCircuitCoordinator(
    _EaseeWrites[Phases3], KeptDeviceInfo, EvChargeCoordinator[EaseeCircuitData]
):
    """One circuit: its settings read every 15 minutes, its dynamic current from the master."""

    config_entry: EvChargeConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        runtime: EaseeRuntime,
        site: EaseeSite,
        circuit: EaseeCircuit,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"Easee circuit {circuit.id}",
            update_interval=None,
        )
        self.runtime = runtime
        self.unique_id_prefix = f"easee_circuit_{circuit.id}"
        self.place(site, circuit)
        self.queue = CommandQueue(
            spacing=WRITE_SPACING, max_attempts=MAX_WRITE_ATTEMPTS, load_value=_load_phases
        )
        if (saved := runtime.account.queues.get(self.unique_id_prefix)) is not None:
            self.queue.restore(saved, _now())
        self.settings_attempt: float | None = None
        self.master: EaseeChargerCoordinator | None = None
        self._unsub_master: CALLBACK_TYPE | None = None
        self.writer = QueuedWriter(self, self, self.queue, f"Easee {self.unique_id_prefix}")
        self._master_seen: float | None = None

    def place(self, site: EaseeSite, circuit: EaseeCircuit) -> None:
        """Take the circuit as the account now shows it, under its site's device."""
        self.site, self.circuit = site, circuit
        self.device_info = DeviceInfo(
            identifiers={(DOMAIN, self.unique_id_prefix)},
            manufacturer="Easee",
            model="Circuit",
            name=f"{site.name} circuit {circuit.panel_name}",
        )
        if parent := async_device_id(self.hass, self.config_entry, f"easee_site_{site.id}"):
            self.device_info["via_device_id"] = parent

    def follow(self, master: EaseeChargerCoordinator | None) -> None:
        """Take the dynamic circuit current from the circuit's master charger."""
        if self._unsub_master is not None:
            self._unsub_master()
            self._unsub_master = None
        self.master = master
        if master is not None:
            self._unsub_master = master.async_add_listener(self._master_updated)

    @callback
    def _master_updated(self) -> None:
        master = self.master
        data = master.data if master else None
        if data is not None and data.state_at is not None and data.state_at != self._master_seen:
            self._master_seen = data.state_at
            results = self.writer.verify(
                lambda _: self.shown_phases(), data.state_at - VERIFY_SETTLE
            )
            self._keep_dynamic_limit()
            if results:
                self._save_queue()
        elif data is not None and master is not None and master.streaming:
            self._stream_applied()
        self.async_update_listeners()

    def _stream_applied(self) -> None:
        """Count the write as applied when the master's stream shows its phases.

        As for a charger's writes: only that; a streamed value that differs says nothing
        against the write (the next read decides). Else a circuit's write would wait for the
        15-minute reconcile while the stream already shows it.
        """
        sent = self.queue.awaiting.get(PARAM_CIRCUIT)
        if sent is None or self.shown_phases() != sent.value:
            return
        if self.writer.verify(lambda _: self.shown_phases(), _now(), {PARAM_CIRCUIT}):
            self._save_queue()

    def settings_due(self, now: float) -> bool:
        """Tell whether the poller should read the circuit's settings now."""
        return (
            self.settings_attempt is None
            or now - self.settings_attempt >= CONFIG_INTERVAL.total_seconds()
        )

    def next_settings_at(self) -> float:
        """Return when the next settings read is due."""
        return (self.settings_attempt or 0.0) + CONFIG_INTERVAL.total_seconds()

    async def _async_update_data(self) -> EaseeCircuitData:
        attempt, self.settings_attempt = self.settings_attempt, _now()
        try:
            settings = await self.runtime.client.get_circuit_settings(self.site.id, self.circuit.id)
        except OverBudgetError as err:
            self.settings_attempt = attempt  # not read is not done
            if self.data is not None:
                return self.data
            raise read_failure(err) from err
        except EvChargeControlError as err:
            failure = self.runtime.async_handle_read_error(err)
            # The settings are the circuit's stored (flash) limits: a failed read (the cloud
            # down, a timeout) says nothing new of them, and the next is 15 minutes away.
            # They stay; the master's reads say whether the circuit can be reached.
            if (
                self.data is None
                or isinstance(failure, ConfigEntryAuthFailed)
                or isinstance(err, NotFoundError)
            ):
                raise failure from err
            LOGGER.debug("Easee %s: settings read failed (%s), kept", self.circuit.id, err)
            return self.data
        self.runtime.account.async_request_succeeded()
        self.runtime.reads.async_read_done()
        return EaseeCircuitData(settings, _now())

    @callback
    def async_restore(self, saved: EaseeCircuitData, now: float) -> None:
        """Show the settings the last run read while their interval runs; read when it ends."""
        read_at = saved.settings_at
        if saved.settings is None or read_at is None:
            return
        if not read_at <= now < read_at + CONFIG_INTERVAL.total_seconds():
            return
        self.settings_attempt = read_at
        self.async_set_updated_data(saved)

    @property
    def reachable(self) -> bool:
        """Tell whether the circuit can be reached: its master charger's reads say so."""
        master = self.master
        return master is None or (master.last_update_success and master.reachable)

    def shown_phases(self) -> Phases3 | None:
        """Return the dynamic circuit current per phase in force (whole amperes).

        With no dynamic limit set, Easee reads 40 A (Home) or 80 A (Charge) whatever the
        circuit: a reading above a phase's max means "not set", and that phase's max is what
        holds, so that is what is shown (and what the other phases get when one is set).
        """
        master = self.master
        state = master.data.state if master and master.data else None
        if state is None:
            return None
        limits = self._phase_maxima()
        phases = tuple(
            None if value is None else _amps(min(value, limit))
            for value, limit in zip(state.dynamic_circuit_current, limits, strict=True)
        )
        if phases[0] is None or phases[1] is None or phases[2] is None:
            return None
        return (phases[0], phases[1], phases[2])

    def _phase_maxima(self) -> tuple[float, float, float]:
        """Return each phase's max: the circuit's settings, else the master's config."""
        fallback = self.phase_limit()
        master = self.master
        config = master.data.config if master and master.data else None
        known = self.max_phases()
        if all(value is None for value in known) and config is not None:
            known = config.circuit_max_current
        first, second, third = (fallback if value is None else value for value in known)
        return (first, second, third)

    def expected_phases(self) -> Phases3 | None:
        """Return the per-phase values asked for, else what the master reports."""
        return self.queue.expected_value(PARAM_CIRCUIT) or self.shown_phases()

    def max_phases(self) -> tuple[float | None, float | None, float | None]:
        """Return the circuit's max current per phase."""
        if self.data is not None and self.data.settings is not None:
            return self.data.settings.max_current
        return (None, None, None)

    def phase_limit(self) -> float:
        """Return the highest dynamic current a phase may get."""
        return _lowest(self.max_phases()) or self.circuit.rated_current or 40.0

    async def async_set_phases(self, phases: Phases3, ttl: int | None = None) -> None:
        """Set the dynamic circuit current of all three phases."""
        if ttl is None:
            ttl = int(self.config_entry.options.get(CONF_DYNAMIC_CURRENT_TTL, 0))
        self._keep(list(phases), ttl)
        await self.writer.async_request(PARAM_CIRCUIT, phases, self.shown_phases())

    async def async_set_phase(self, index: int, amps: int) -> None:
        """Set one phase; the others keep what they have (or the circuit's max)."""
        current = self.expected_phases()
        limit = round(self.phase_limit())
        values = list(current) if current is not None else [limit, limit, limit]
        values[index] = amps
        await self.async_set_phases((values[0], values[1], values[2]))

    def _kept_ttl(self) -> int:
        kept = self.runtime.account.kept.get(self.unique_id_prefix) or {}
        ttl = kept.get("ttl", 0)
        return ttl if isinstance(ttl, int) else 0

    async def _async_send(self, sent: SentCommand[Phases3]) -> None:
        p1, p2, p3 = sent.value
        await self.runtime.client.set_dynamic_circuit_current(
            self.site.id, self.circuit.id, p1, p2, p3, self._kept_ttl()
        )

    def _after_send(self, sent: SentCommand[Phases3]) -> None:
        self._limit_sent(sent.sent_at, self._kept_ttl())

    def dynamic_limit_ends(self) -> datetime | None:
        """Return when the dynamic circuit current we set ends (None: no end, or gone)."""
        return self._limit_ends(PARAM_CIRCUIT, _load_phases, self.shown_phases())

    def _charger_went_offline(self) -> None:
        # Easee answers a circuit's write "charger disconnected" when its master is offline.
        if (master := self.master) is not None:
            master._charger_went_offline()  # noqa: SLF001 - the same writer family
            master.async_update_listeners()

    def _keep_dynamic_limit(self) -> None:
        self._reapply_kept(PARAM_CIRCUIT, _load_phases, self.shown_phases(), "power loss")

    async def async_stop(self) -> None:
        """Stop following the master and cancel the write timer."""
        self.follow(None)
        self.writer.cancel()
        await self.async_shutdown()


# productCode: Easee's list.
PRODUCT_NAMES: Final[Mapping[int, str]] = {
    1: "Easee Home",
    2: "Easee Lite",
    3: "Easee Max",
    4: "Easee Up",
    100: "Easee Charge",
    102: "Easee Core",
    103: "Easee Pro",
    400: "Easee One",
}


# The model of a charger whose product code is missing or not in the list (the device shows
# the code as its model id): one name, so the actions' device selectors can list every model.
UNLISTED_MODEL: Final = "Easee charger"


def product_name(code: int | None) -> str:
    """Return the model name of a product code."""
    if code is None:
        return UNLISTED_MODEL
    return PRODUCT_NAMES.get(code, UNLISTED_MODEL)
