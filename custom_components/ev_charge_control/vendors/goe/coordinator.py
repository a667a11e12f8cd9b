"""go-e grid-operator chargers: request budget, command queue and coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import Any, Final

from homeassistant.const import STATE_OFF, STATE_ON, UnitOfElectricCurrent
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey
import orjson

from ...api.errors import (
    AuthenticationError,
    CommandRefusedError,
    EvChargeControlError,
    NotSentError,
    RateLimitedError,
)
from ...api.goe import GoeClient, GoeStatus
from ...budget import (
    CommandQueue,
    OverBudgetError,
    QueuedCommand,
    SentCommand,
    TokenBucket,
    Verification,
)
from ...const import DOMAIN, LOGGER
from ...coordinator import EvChargeCoordinator
from ...errors import read_failure
from ...events import CommandResult
from ...issues import device_url, issue_id
from ...runtime import EvChargeConfigEntry
from ...writer import NotSent, QueuedWriter, Refusal, ResultValue, WriterHooks

# The documented limits, per charger: /api_status on average once per 15 minutes,
# /api_command at most once per 15 minutes.
STATUS_INTERVAL: Final = timedelta(minutes=15)
STATUS_BURST: Final = 2
# A couple of seconds on top of the documented spacing: our clock and the cloud's differ,
# and one request can travel slower than the next.
COMMAND_SPACING: Final = STATUS_INTERVAL.total_seconds() + 2
MAX_COMMAND_ATTEMPTS: Final = 3
# Give the charger a moment to apply a command before the read that verifies it.
VERIFY_DELAY: Final = 5.0
MAX_CURRENT_FALLBACK: Final = 32

STORE_VERSION: Final = 1
# Every charger's budget in one file. Before it, each charger had a file of its own
# (``LEGACY_STORE_KEY``): read once when a charger is first seen, then removed.
STORE_KEY: Final = f"{DOMAIN}.goe_budgets"
LEGACY_STORE_KEY: Final = DOMAIN + ".goe_{serial}"
DATA_GOE_BUDGETS: HassKey[GoeBudgetStore] = HassKey(f"{DOMAIN}_goe_budgets")

PARAMETER_CURRENT: Final = "set_current"
PARAMETER_ALLOW: Final = "set_allow"


def _now() -> float:
    return time.time()


def _utc(timestamp: float) -> datetime:
    return dt_util.utc_from_timestamp(timestamp)


def _command_priority(command: QueuedCommand[int]) -> int:
    """Order waiting commands: stopping (the safety action) first, then the current, then start."""
    if command.parameter == PARAMETER_ALLOW:
        return 0 if command.value == 0 else 2
    return 1


class GoeChargerBudget:
    """The request budget of one charger, shared by its config entry and config flows.

    It lives as long as Home Assistant runs and is saved (in the ``GoeBudgetStore``) before
    every request, so neither a reload, a restart nor a new config flow buys an extra request.
    """

    def __init__(self, store: GoeBudgetStore, serial: str) -> None:
        self.serial = serial
        self.status = TokenBucket.full(STATUS_BURST, STATUS_INTERVAL.total_seconds(), _now())
        self.commands: CommandQueue[int] = CommandQueue(
            spacing=COMMAND_SPACING,
            max_attempts=MAX_COMMAND_ATTEMPTS,
            priority=_command_priority,
        )
        self.last_status: GoeStatus | None = None
        self.fetched_at: float | None = None
        self._store = store

    def restore(self, data: Mapping[str, Any], now: float) -> None:
        """Load a saved state; anything malformed is left at its default."""
        if isinstance(bucket := data.get("status_bucket"), Mapping):
            self.status.restore(bucket, now)
        if isinstance(commands := data.get("commands"), Mapping):
            self.commands.restore(commands, now)
        cached = data.get("last_status")
        fetched_at = data.get("fetched_at")
        if isinstance(cached, Mapping) and isinstance(fetched_at, int | float):
            self.last_status = GoeStatus.from_dict(cached)
            self.fetched_at = float(fetched_at)

    def idle(self, now: float) -> bool:
        """Tell whether forgetting this budget would change nothing: full, no command in play."""
        return (
            self.status.is_full(now)
            and not self.commands.pending
            and not self.commands.awaiting
            and self.commands.slot_free(now)
        )

    def remember(self, status: GoeStatus, fetched_at: float) -> None:
        """Keep the newest status so a restart shows it without a request."""
        self.last_status = status
        self.fetched_at = fetched_at

    def as_dict(self) -> dict[str, Any]:
        """Return the saved form."""
        return {
            "status_bucket": self.status.as_dict(),
            "commands": self.commands.as_dict(),
            "last_status": self.last_status.as_dict() if self.last_status else None,
            "fetched_at": self.fetched_at,
        }

    async def async_save(self) -> None:
        """Save now: called before every request, so a crash cannot forget one."""
        await self._store.async_save(self)

    async def async_take_read(self, now: float) -> bool:
        """Take a status read from the budget, saved before it leaves; False when none is left."""
        if not self.status.try_take(now):
            return False
        await self.async_save()
        return True

    async def async_give_back_read(self, now: float) -> None:
        """Give back the read of a request that never reached go-e: it cost nothing."""
        self.status.give_back(now)
        await self.async_save()

    async def async_rate_limited(self, now: float) -> None:
        """Empty the bucket after a 'rate limiting' answer: no read before a whole new token."""
        self.status.drain(now)
        await self.async_save()


class GoeBudgetStore:
    """Every go-e charger's budget, in one file that many concurrent saves write once.

    A save returns when a write holding every budget as it was at the call has finished:
    the promise "saved before the request leaves" holds for each charger, while a thousand
    chargers reading in the same second cost one or two file writes, not a thousand.
    A charger without a config entry in this run keeps its saved record until the record
    says nothing any more (full budget, no command), so removing and re-adding a charger
    buys no request either.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, STORE_KEY)
        self.budgets: dict[str, GoeChargerBudget] = {}
        self._others: dict[str, GoeChargerBudget] = {}
        # Each charger's record as JSON, redone only for a charger that saved since the last
        # write: a write costs the file, not a thousand records made again.
        self._records: dict[str, orjson.Fragment] = {}
        self._dirty: set[str] = set()
        self._migrations: dict[str, asyncio.Task[None]] = {}
        self._load_lock = asyncio.Lock()
        self._loaded = False
        self._changes = 0
        self._saved = 0
        self._writing: asyncio.Task[None] | None = None

    async def _async_load(self) -> None:
        async with self._load_lock:
            if self._loaded:
                return
            data = await self._store.async_load() or {}
            chargers = data.get("chargers")
            now = _now()
            for serial, record in (chargers if isinstance(chargers, Mapping) else {}).items():
                if isinstance(serial, str) and isinstance(record, Mapping):
                    budget = GoeChargerBudget(self, serial)
                    budget.restore(record, now)
                    self._others[serial] = budget
                    self._records[serial] = orjson.Fragment(json_bytes(budget.as_dict()))
            self._loaded = True

    async def async_budget(self, serial: str) -> GoeChargerBudget:
        """Return the one budget of a charger, loading it on first use."""
        if not self._loaded:
            await self._async_load()
        if (budget := self.budgets.get(serial)) is None:
            # No await between the look-up and the insert: one budget per charger, always.
            budget = self._others.pop(serial, None)
            if budget is None:
                budget = GoeChargerBudget(self, serial)
                # Not eager: the task must be in the dict before it can end and leave it.
                self._migrations[serial] = self._hass.async_create_task(
                    self._async_migrate(budget),
                    f"{DOMAIN} go-e {serial} budget migration",
                    eager_start=False,
                )
            self.budgets[serial] = budget
        if (migration := self._migrations.get(serial)) is not None:
            await asyncio.shield(migration)
        return budget

    async def _async_migrate(self, budget: GoeChargerBudget) -> None:
        """Take over a charger's own file of an earlier version, if there is one."""
        legacy: Store[dict[str, Any]] = Store(
            self._hass, STORE_VERSION, LEGACY_STORE_KEY.format(serial=budget.serial)
        )
        try:
            if (data := await legacy.async_load()) is not None:
                budget.restore(data, _now())
                await self.async_save(budget)
                await legacy.async_remove()
        finally:
            del self._migrations[budget.serial]

    async def async_save(self, budget: GoeChargerBudget) -> None:
        """Return once ``budget``, as it is now, is in the file."""
        self._dirty.add(budget.serial)
        self._changes += 1
        wanted = self._changes
        while self._saved < wanted:
            if self._writing is None:
                # Started on the loop's next turn: saves asked for until then share it.
                self._writing = self._hass.async_create_task(
                    self._async_write(), f"{DOMAIN} go-e budgets write", eager_start=False
                )
            await asyncio.shield(self._writing)

    async def _async_write(self) -> None:
        try:
            covered = self._changes
            await self._store.async_save(self._data())
            self._saved = covered
        finally:
            self._writing = None

    def _data(self) -> dict[str, Any]:
        for serial in self._dirty:
            self._records[serial] = orjson.Fragment(json_bytes(self.budgets[serial].as_dict()))
        self._dirty.clear()
        now = _now()
        for serial, budget in list(self._others.items()):
            if budget.idle(now):
                del self._others[serial], self._records[serial]
        # A copy: the write runs in an executor thread while chargers go on saving.
        return {"chargers": dict(self._records)}


async def async_get_goe_budget(hass: HomeAssistant, serial: str) -> GoeChargerBudget:
    """Return the one budget of a charger, loading it on first use."""
    if (store := hass.data.get(DATA_GOE_BUDGETS)) is None:
        store = hass.data[DATA_GOE_BUDGETS] = GoeBudgetStore(hass)
    return await store.async_budget(serial)


@dataclass(frozen=True, slots=True)
class GoeData:
    """A status and when we received it."""

    status: GoeStatus
    fetched_at: float

    @property
    def data_time(self) -> float:
        """Return when the charger reported what the status shows."""
        return self.fetched_at - (self.status.data_age_seconds or 0)


class GoeCoordinator(WriterHooks[int], EvChargeCoordinator[GoeData]):
    """Reads one go-e charger within its budget and sends its commands through the queue."""

    config_entry: EvChargeConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        client: GoeClient,
        budget: GoeChargerBudget,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"go-e {client.serial}",
            update_interval=STATUS_INTERVAL,
        )
        self.client = client
        self.budget = budget
        self.serial = client.serial
        self.unique_id_prefix = f"goe_{self.serial}"
        self.device_info = DeviceInfo(
            identifiers={(DOMAIN, self.unique_id_prefix)},
            manufacturer="go-e",
            model="go-eCharger",
            name=f"go-eCharger {self.serial}",
            serial_number=self.serial,
        )
        self.energy_total: int | None = None
        self.writer = QueuedWriter(self, self, budget.commands, f"go-e {self.serial}")
        self._unsub_read: CALLBACK_TYPE | None = None
        self._last_read: float | None = None
        # Commands sent so far, and the number of each parameter's latest: a read verifies
        # only commands that went out before it left.
        self._sends = 0
        self._send_number: dict[str, int] = {}
        if budget.last_status is not None:
            self._track_energy(budget.last_status)

    @property
    def queue(self) -> CommandQueue[int]:
        """Return the charger's command queue."""
        return self.budget.commands

    def _cached_data(self) -> GoeData | None:
        if self.budget.last_status is None or self.budget.fetched_at is None:
            return None
        return GoeData(self.budget.last_status, self.budget.fetched_at)

    async def async_start(self) -> None:
        """Show the saved status when it is recent, else read one; resume waiting commands."""
        cached = self._cached_data()
        if cached is not None and _now() - cached.fetched_at < STATUS_INTERVAL.total_seconds():
            self._last_read = cached.fetched_at
            self.async_set_updated_data(cached)
        else:
            await self.async_refresh()
            if isinstance(self.last_exception, ConfigEntryAuthFailed):
                raise self.last_exception
        self.writer.schedule()

    async def async_stop(self) -> None:
        """Cancel the timers and save the queue."""
        self.writer.cancel()
        if self._unsub_read is not None:
            self._unsub_read()
        self._unsub_read = None
        await self.budget.async_save()

    # Reading

    async def _async_update_data(self) -> GoeData:
        if self._unsub_read is not None:
            self._unsub_read()
            self._unsub_read = None
        sends_before = self._sends
        now = _now()
        bucket = self.budget.status
        if not await self.budget.async_take_read(now):
            retry_at = bucket.next_available(now)
            self._schedule_read(retry_at)
            if (fallback := self.data or self._cached_data()) is not None:
                LOGGER.debug(
                    "go-e %s: status budget used up, next read at %s", self.serial, _utc(retry_at)
                )
                return fallback
            raise read_failure(OverBudgetError(retry_at), retry_after=retry_at - now)
        self._last_read = now
        try:
            # Only a read that verifies a command asks the cloud to ping the charger.
            status = await self.client.status(wait=bool(self.queue.awaiting))
        except RateLimitedError as err:
            await self.budget.async_rate_limited(_now())
            LOGGER.warning(
                "go-e %s: the cloud answered 'rate limiting'; the next status read waits for a new slot",
                self.serial,
            )
            if (fallback := self.data or self._cached_data()) is not None:
                return fallback
            now = _now()
            raise read_failure(
                err, retry_after=self.budget.status.next_available(now) - now
            ) from err
        except NotSentError as err:
            # No connection was made: go-e never saw the read, so its budget is whole again.
            await self.budget.async_give_back_read(_now())
            raise read_failure(err) from err
        except EvChargeControlError as err:
            raise read_failure(err) from err
        return self._accept(status, _now(), sends_before=sends_before)

    def _track_energy(self, status: GoeStatus) -> None:
        total = status.kwh_total
        if total is None:
            return
        if self.energy_total is not None and total < self.energy_total:
            # A lower lifetime total is a glitch, not a new meter: the energy dashboard
            # would count a "reset" twice.
            LOGGER.debug(
                "go-e %s: ignoring kwh_total %s below %s", self.serial, total, self.energy_total
            )
            return
        self.energy_total = total

    def _accept(
        self, status: GoeStatus, fetched_at: float, *, sends_before: int | None = None
    ) -> GoeData:
        """Take a new status: remember it and verify the commands it can speak for.

        ``sends_before``: the commands sent when the read left (None: the status is a
        command's own answer, which shows the charger after the command).
        """
        data = GoeData(status, fetched_at)
        self.budget.remember(status, fetched_at)
        self._track_energy(status)
        if sends_before is None:
            self.writer.verify(status.value_of, float("inf"))
            return data
        # A command that went out while the read was on its way may have reached the cloud
        # after the status was made, even when the status looks newer than the command: the
        # next read verifies it.
        before = [p for p in self.queue.awaiting if self._send_number.get(p, 0) <= sends_before]
        self.writer.verify(status.value_of, data.data_time, before)
        return data

    def _schedule_read(self, at: float) -> None:
        """Read once at ``at`` (the regular interval restarts from there)."""
        if self._unsub_read is not None:
            self._unsub_read()

        self._unsub_read = self.async_run_at(
            _utc(at), self.async_refresh, f"{DOMAIN} go-e {self.serial} read"
        )

    # Commands

    def shown(self, parameter: str) -> int | None:
        """Return what the charger has, as the newest status shows it.

        Not the request: a command may wait up to 15 minutes for its slot, and the charger
        keeps charging at what it has meanwhile; the Pending command sensor shows the wait.
        """
        return self.data.status.value_of(parameter) if self.data else None

    async def async_set(self, parameter: str, value: int) -> None:
        """Ask for a value: it goes out at once when the slot is free, else in the next slot."""
        await self.writer.async_request(parameter, value, self.shown(parameter))

    # The writer's hooks

    async def async_send_command(self, sent: SentCommand[int]) -> None:
        """Send one command; its status answer (when the cloud waited for one) verifies it."""
        self._sends += 1
        self._send_number[sent.parameter] = self._sends
        answer = await self.client.command(sent.parameter, sent.value)
        if answer is not None:
            self.async_set_updated_data(self._accept(answer, _now()))
        else:
            self._schedule_verification(sent.sent_at)

    async def async_save_queue(self) -> None:
        """Save the charger's budget, its queue with it."""
        await self.budget.async_save()

    def send_failed(self, sent: SentCommand[int], err: Exception) -> NotSent | Refusal:
        """Drop a command the cloud refuses; the rest waits for the next slot.

        A refused token asks the user for a new one.
        """
        if isinstance(err, CommandRefusedError):
            command = self.describe_command(sent.parameter, sent.value)
            LOGGER.error(
                "go-e %s: the cloud refused %s; it is not sent again: %s", self.serial, command, err
            )
            return Refusal(
                CommandResult.REFUSED, "write_refused", {"command": command, "error": str(err)}
            )
        if isinstance(err, AuthenticationError):
            LOGGER.warning("go-e %s: the grid token was refused; the command waits", self.serial)
            self.config_entry.async_start_reauth(self.hass)
            return NotSent()
        LOGGER.warning(
            "go-e %s: %s=%s %s; it waits for the next slot",
            self.serial,
            sent.parameter,
            sent.value,
            "answered 'rate limiting'"
            if isinstance(err, RateLimitedError)
            else f"was not delivered ({err})",
        )
        return NotSent(rate_limited=isinstance(err, RateLimitedError))

    def result_value(self, value: int) -> ResultValue:
        """Return a command value as the result event carries it."""
        return ResultValue(value)

    def pending_details(self, parameter: str, value: int) -> dict[str, object]:
        """Return a waiting command's value: a current in A, charging allowed as on or off."""
        if parameter == PARAMETER_ALLOW:
            return {"value": STATE_ON if value else STATE_OFF}
        return {"value": f"{value} {UnitOfElectricCurrent.AMPERE}"}

    def command_verified(self, result: Verification[int]) -> None:
        """Show a repair while the charger keeps refusing a command; clear it once applied."""
        command = result.command
        repair = issue_id("command_failed", self.config_entry, command.parameter)
        if result.applied:
            ir.async_delete_issue(self.hass, DOMAIN, repair)
        elif result.gave_up:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                repair,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="command_failed",
                translation_placeholders={
                    "device_url": device_url(self.hass, self.config_entry, self.unique_id_prefix),
                    "parameter": command.parameter,
                    "value": str(command.value),
                    "attempts": str(command.attempt),
                    "actual": str(result.actual),
                },
            )

    def _schedule_verification(self, sent_at: float) -> None:
        """Read soon after a command with a spare token, else let the regular read verify.

        Only a token that is there already is spent: waiting for the next one to refill
        would pull every later read forward and, over a day, read more often than the
        regular 15-minute cadence.
        """
        at = sent_at + VERIFY_DELAY
        regular = (self._last_read or sent_at) + STATUS_INTERVAL.total_seconds()
        if at < regular and self.budget.status.available(at):
            self._schedule_read(at)
