"""go-e's request budgets: one per charger, shared by its entry and flows, saved before each request."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
import logging
import time
from typing import Any, Final
import zlib

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
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
# Every charger's budget in one of SHARDS files of a folder of its own in `.storage`, so a
# write touches a sixty-fourth of the fleet. Before them, every charger was in one file
# (``STORE_KEY``), and before that each charger had a file of its own (``LEGACY_STORE_KEY``):
# both are read once and then removed.
SHARDS: Final = 64
SHARD_STORE_KEY: Final = DOMAIN + "/goe_budgets.{index:02d}"
STORE_KEY: Final = f"{DOMAIN}.goe_budgets"
LEGACY_STORE_KEY: Final = DOMAIN + ".goe_{serial}"
DATA_GOE_BUDGETS: HassKey[GoeBudgetStore] = HassKey(f"{DOMAIN}_goe_budgets")

_LOGGER = logging.getLogger(__name__)

PARAMETER_CURRENT: Final = "set_current"
PARAMETER_ALLOW: Final = "set_allow"


def _now() -> float:
    return time.time()


def shard_of(serial: str) -> int:
    """Return the number of the file that holds a charger's budget: the same in every run."""
    return zlib.crc32(serial.encode()) % SHARDS


async def _async_load_records(store: Store[dict[str, Any]]) -> dict[str, Mapping[str, Any]] | None:
    """Return the records of one file, None without a file; a file that cannot be read is empty.

    Home Assistant sets a file that is not JSON aside (and raises a repair issue); whatever else
    is wrong with one file costs the budgets in it, never those in the other files.
    """
    try:
        data = await store.async_load()
    except (HomeAssistantError, NotImplementedError, OSError) as err:
        _LOGGER.warning(
            "go-e budgets in %s cannot be read, starting them afresh: %s", store.key, err
        )
        return {}
    if data is None:
        return None
    chargers = data.get("chargers") if isinstance(data, Mapping) else None
    if not isinstance(chargers, Mapping):
        return {}
    return {
        serial: record
        for serial, record in chargers.items()
        if isinstance(serial, str) and isinstance(record, Mapping)
    }


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
        """Keep the newest status so a restart shows it without a request.

        Written with the charger's next save, or when Home Assistant stops (which unloads no
        entry); a read costs no write of its own.
        """
        self.last_status = status
        self.fetched_at = fetched_at
        self._store.save_at_stop(self)

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
    """Every go-e charger's budget, in shard files that many concurrent saves write once.

    A charger's record lives in one of ``SHARDS`` files, picked by a stable hash of its serial,
    and a write rewrites only the files holding a record that changed: a save costs a
    sixty-fourth of the fleet's records, not the whole fleet, however many chargers there are.
    A save returns when a write holding its budget as it was at the call has finished:
    the promise "saved before the request leaves" holds for each charger, while a thousand
    chargers reading in the same second share the same few writes, not a thousand.
    A charger without a config entry in this run keeps its saved record until the record
    says nothing any more (full budget, no command), so removing and re-adding a charger
    buys no request either.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._shards: list[Store[dict[str, Any]]] = [
            Store(hass, STORE_VERSION, SHARD_STORE_KEY.format(index=index))
            for index in range(SHARDS)
        ]
        self.budgets: dict[str, GoeChargerBudget] = {}
        self._others: dict[str, GoeChargerBudget] = {}
        # Each charger's record as JSON, by shard, redone only for a charger that saved since
        # the last write: a write costs its shards' files, not their records made again.
        self._records: list[dict[str, orjson.Fragment]] = [{} for _ in range(SHARDS)]
        self._dirty: set[str] = set()
        self._dirty_shards: set[int] = set()
        self._migrations: dict[str, asyncio.Task[None]] = {}
        self._load_lock = asyncio.Lock()
        self._loaded = False
        self._changes = 0
        self._saved = 0
        self._writing: asyncio.Task[None] | None = None
        # Chargers changed since their last save (a status read) and saved by nothing else
        # before Home Assistant stops, which unloads no config entry: written at its
        # final-write stage.
        self._at_stop: set[str] = set()
        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_FINAL_WRITE, self._async_final_write)

    async def _async_final_write(self, _: Event) -> None:
        for serial in self._at_stop & self.budgets.keys():
            self._mark(serial)
        self._at_stop.clear()
        if self._dirty_shards:
            await self._async_flush()

    async def _async_load(self) -> None:
        async with self._load_lock:
            if self._loaded:
                return
            seen: set[str] = set()
            single: Store[dict[str, Any]] = Store(self._hass, STORE_VERSION, STORE_KEY)
            # Every file at once, each read in an executor thread and taken in as it comes:
            # the event loop handles one file's records at a time, never the whole fleet's.
            *_, old = await asyncio.gather(
                *(self._async_load_shard(index, seen) for index in range(SHARDS)),
                _async_load_records(single),
            )
            # The one file of the version before, if still there: what a shard holds is
            # newer (the file goes only once its records are in their shards).
            moved = False
            now = _now()
            for serial, record in (old or {}).items():
                if serial not in seen and self._take(serial, record, now):
                    self._dirty_shards.add(shard_of(serial))
                    moved = True
            self._loaded = True
        if moved:
            await self._async_flush()
        if old is not None:
            await single.async_remove()

    async def _async_load_shard(self, index: int, seen: set[str]) -> None:
        records = await _async_load_records(self._shards[index])
        now = _now()
        for serial, record in (records or {}).items():
            # A record in a file not its own is no one's: the next write of that file drops it.
            if shard_of(serial) == index:
                seen.add(serial)
                self._take(serial, record, now)

    def _take(self, serial: str, record: Mapping[str, Any], now: float) -> bool:
        """Keep a saved record that still says something; tell whether it was kept."""
        budget = GoeChargerBudget(self, serial)
        budget.restore(record, now)
        if budget.idle(now):
            return False
        self._others[serial] = budget
        self._records[shard_of(serial)][serial] = orjson.Fragment(json_bytes(budget.as_dict()))
        return True

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

    def save_at_stop(self, budget: GoeChargerBudget) -> None:
        """Write ``budget`` with its next save, at the latest when Home Assistant stops."""
        self._at_stop.add(budget.serial)

    def _mark(self, serial: str) -> None:
        self._dirty.add(serial)
        self._dirty_shards.add(shard_of(serial))

    async def async_save(self, budget: GoeChargerBudget) -> None:
        """Return once ``budget``, as it is now, is in its file."""
        self._at_stop.discard(budget.serial)
        self._mark(budget.serial)
        await self._async_flush()

    async def _async_flush(self) -> None:
        """Return once every change asked for until now is written."""
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
            shards = self._take_dirty_shards()
            try:
                await asyncio.gather(
                    *(self._shards[index].async_save(data) for index, data in shards.items())
                )
            except BaseException:
                # Not written: the next write tries these files again.
                self._dirty_shards.update(shards)
                raise
            self._saved = covered
        finally:
            self._writing = None

    def _take_dirty_shards(self) -> dict[int, dict[str, Any]]:
        """Return the content of every file to write, and mark them clean."""
        for serial in self._dirty:
            self._records[shard_of(serial)][serial] = orjson.Fragment(
                json_bytes(self.budgets[serial].as_dict())
            )
        self._dirty.clear()
        now = _now()
        shards: dict[int, dict[str, Any]] = {}
        for index in self._dirty_shards:
            records = self._records[index]
            for serial in [serial for serial in records if serial in self._others]:
                if self._others[serial].idle(now):
                    del self._others[serial], records[serial]
            # A copy: the file is written in an executor thread while chargers go on saving.
            shards[index] = {"chargers": dict(records)}
        self._dirty_shards.clear()
        return shards


async def async_get_goe_budget(hass: HomeAssistant, serial: str) -> GoeChargerBudget:
    """Return the one budget of a charger, loading it on first use."""
    if (store := hass.data.get(DATA_GOE_BUDGETS)) is None:
        store = hass.data[DATA_GOE_BUDGETS] = GoeBudgetStore(hass)
    return await store.async_budget(serial)


async def async_drop_commands(hass: HomeAssistant, serials: list[str]) -> None:
    """Drop the waiting commands of deleted chargers; their budgets stay (saved by serial)."""
    for serial in serials:
        budget = await async_get_goe_budget(hass, serial)
        if budget.commands.pending or budget.commands.awaiting:
            budget.commands.drop()
            await budget.async_save()
