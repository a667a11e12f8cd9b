"""go-e's request budgets: one per charger, shared by its entry and flows, saved before each request."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
import time
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey
import orjson

from ...api.goe import GoeStatus
from ...budget import CommandQueue, QueuedCommand, TokenBucket
from ...const import DOMAIN

# The documented limits, per charger: /api_status on average once per 15 minutes,
# /api_command at most once per 15 minutes.
STATUS_INTERVAL: Final = timedelta(minutes=15)
STATUS_BURST: Final = 2
# A couple of seconds on top of the documented spacing: our clock and the cloud's differ,
# and one request can travel slower than the next.
COMMAND_SPACING: Final = STATUS_INTERVAL.total_seconds() + 2
MAX_COMMAND_ATTEMPTS: Final = 3
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
