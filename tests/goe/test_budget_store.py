"""The go-e budgets' shard files: saved before every request, a write touching what changed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import save_json
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.json import load_json
import orjson
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.vendors.goe.budget import (
    DATA_GOE_BUDGETS,
    LEGACY_STORE_KEY,
    SHARD_STORE_KEY,
    SHARDS,
    STORE_KEY,
    GoeBudgetStore,
    GoeChargerBudget,
    async_get_goe_budget,
    shard_of,
)
from simulators.goe import GoeSimulator
from tests.conftest import setup_entry, travel
from tests.goe.fixtures import GOE_SERIAL

FIXTURES = Path(__file__).parent.parent / "fixtures"

PENDING = "sensor.go_echarger_000123_pending_command"


def _pending(hass: HomeAssistant) -> tuple[str, str]:
    """Return what the pending-command sensor shows: the parameter, and its value with unit."""
    state = hass.states.get(PENDING)
    assert state is not None
    return state.state, state.attributes["value"]


def _record(now: float, *, tokens: float, pending: int | None = None) -> dict[str, Any]:
    return {
        "status_bucket": {"tokens": tokens, "updated": now - 60},
        "commands": {
            "last_sent": now - 600 if pending is not None else None,
            "pending": []
            if pending is None
            else [
                {
                    "parameter": "set_current",
                    "value": pending,
                    "requested_at": now - 300,
                    "attempt": 1,
                }
            ],
            "awaiting": [],
        },
        "last_status": None,
        "fetched_at": None,
    }


def _stored(key: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "minor_version": 1, "key": key, "data": data}


def _shard_key(serial: str) -> str:
    return SHARD_STORE_KEY.format(index=shard_of(serial))


def _saved_chargers(hass_storage: dict[str, Any]) -> dict[str, Any]:
    """Return every charger's saved record, from whichever file holds it."""
    chargers: dict[str, Any] = {}
    for index in range(SHARDS):
        if (stored := hass_storage.get(SHARD_STORE_KEY.format(index=index))) is not None:
            chargers.update(stored["data"]["chargers"])
    return chargers


def _same_shard(serial: str, count: int) -> list[str]:
    """Return ``count`` other serials whose records share ``serial``'s file."""
    serials = (f"{number:06d}" for number in range(1, 1_000_000))
    others = (other for other in serials if other != serial and shard_of(other) == shard_of(serial))
    return list(islice(others, count))


type Written = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Written:
    """Record every file write: its key and what it held, as JSON would read it back."""
    writes: Written = []
    real_save = Store.async_save

    async def spy(store: Store[dict[str, Any]], data: dict[str, Any]) -> None:
        await real_save(store, data)
        writes.append((store.key, orjson.loads(orjson.dumps(data))))

    monkeypatch.setattr(Store, "async_save", spy)
    return writes


def _restart(hass: HomeAssistant) -> None:
    """Forget the budgets in memory, as a restart does; the file stays."""
    hass.data.pop(DATA_GOE_BUDGETS)


async def test_an_earlier_versions_file_is_taken_over_and_removed(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
) -> None:
    """A charger's own file (before the shared one) keeps its budget and queue, then goes."""
    now = dt_util.utcnow().timestamp()
    legacy = LEGACY_STORE_KEY.format(serial=GOE_SERIAL)
    hass_storage[legacy] = _stored(legacy, _record(now, tokens=0.0, pending=9))

    await setup_entry(hass, goe_entry)

    assert goe_sim.requests == []
    assert _pending(hass) == ("set_current", "9 A")
    assert legacy not in hass_storage
    saved = _saved_chargers(hass_storage)[GOE_SERIAL]
    assert saved["status_bucket"]["tokens"] == 0.0
    assert [cmd["value"] for cmd in saved["commands"]["pending"]] == [9]


async def test_two_first_uses_at_once_share_one_budget(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """A config flow and an entry asking at the same moment get the same, migrated budget."""
    now = dt_util.utcnow().timestamp()
    legacy = LEGACY_STORE_KEY.format(serial=GOE_SERIAL)
    hass_storage[legacy] = _stored(legacy, _record(now, tokens=0.5))

    first, second = await asyncio.gather(
        async_get_goe_budget(hass, GOE_SERIAL), async_get_goe_budget(hass, GOE_SERIAL)
    )

    assert first is second
    assert first.status.tokens == 0.5
    assert legacy not in hass_storage


async def test_budget_survives_a_restart_in_the_shared_file(hass: HomeAssistant) -> None:
    """What a charger took is in the file when the call returns, and a restart reads it."""
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    now = dt_util.utcnow().timestamp()
    assert await budget.async_take_read(now)
    assert await budget.async_take_read(now)
    assert not await budget.async_take_read(now)

    _restart(hass)
    again = await async_get_goe_budget(hass, GOE_SERIAL)

    assert again is not budget
    assert not again.status.available(now)
    assert again.status.next_available(now) == pytest.approx(now + 15 * 60)


async def test_many_chargers_reading_at_once_share_writes_and_each_waits_for_its_own(
    hass: HomeAssistant, hass_storage: dict[str, Any], written: Written
) -> None:
    """300 reads in the same second: each returns only once its token is in its file.

    Each file is written at most twice (one write may already be out when the rest ask),
    not once per charger in it, and no file without a change is written.
    """
    serials = [f"{index:06d}" for index in range(1, 301)]
    budgets = [await async_get_goe_budget(hass, serial) for serial in serials]
    written.clear()
    now = dt_util.utcnow().timestamp()

    async def read(budget: GoeChargerBudget) -> None:
        assert await budget.async_take_read(now)
        # Returned: the newest write of its file holds this charger's token taken.
        newest = [data for key, data in written if key == _shard_key(budget.serial)][-1]
        assert newest["chargers"][budget.serial]["status_bucket"]["tokens"] == pytest.approx(1.0)

    await asyncio.gather(*(read(budget) for budget in budgets))

    shards = {_shard_key(serial) for serial in serials}
    assert {key for key, _ in written} == shards
    assert max(Counter(key for key, _ in written).values()) <= 2
    assert {
        serial: record["status_bucket"]["tokens"]
        for serial, record in _saved_chargers(hass_storage).items()
    } == dict.fromkeys(serials, pytest.approx(1.0))


async def test_a_save_during_a_write_waits_for_the_next_write(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token taken while a write is out is not covered by it: the call waits for another."""
    second_serial = _same_shard("000001", 1)[0]
    first = await async_get_goe_budget(hass, "000001")
    second = await async_get_goe_budget(hass, second_serial)
    release = asyncio.Event()
    written: list[dict[str, Any]] = []
    real_save = Store.async_save

    async def slow(store: Store[dict[str, Any]], data: dict[str, Any]) -> None:
        await release.wait()
        await real_save(store, data)
        written.append(orjson.loads(orjson.dumps(data))["chargers"])

    monkeypatch.setattr(Store, "async_save", slow)
    now = dt_util.utcnow().timestamp()
    first_read = hass.async_create_task(first.async_take_read(now))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second_read = hass.async_create_task(second.async_take_read(now))
    await asyncio.sleep(0)
    release.set()
    assert await first_read
    assert await second_read

    assert len(written) == 2
    # The write that was out when the second charger took its token did not hold it.
    assert set(written[0]) == {"000001"}
    assert written[1][second_serial]["status_bucket"]["tokens"] == pytest.approx(1.0)


async def test_a_charger_without_entry_is_kept_until_its_record_says_nothing(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """A removed charger's used budget stays (re-adding buys nothing); a full one is dropped.

    A record is dropped when its file is next written, and one that says nothing is never
    taken back in.
    """
    used, full, waiting = _same_shard(GOE_SERIAL, 3)
    now = dt_util.utcnow().timestamp()
    hass_storage[_shard_key(GOE_SERIAL)] = _stored(
        _shard_key(GOE_SERIAL),
        {
            "chargers": {
                used: _record(now, tokens=0.0),
                full: _record(now, tokens=2.0),
                waiting: _record(now, tokens=2.0, pending=10),
                "broken": "not a record",
            }
        },
    )
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    assert await budget.async_take_read(now)
    assert set(_saved_chargers(hass_storage)) == {GOE_SERIAL, used, waiting}

    await travel(hass, freezer, timedelta(minutes=31))
    assert await budget.async_take_read(dt_util.utcnow().timestamp())
    # Refilled by now; the waiting command still speaks for its charger.
    assert set(_saved_chargers(hass_storage)) == {GOE_SERIAL, waiting}

    # Re-added later: the kept record is its budget.
    kept = await async_get_goe_budget(hass, waiting)
    assert kept.commands.expected_value("set_current") == 10


async def test_the_file_reads_back_as_written(hass: HomeAssistant, tmp_path: Path) -> None:
    """The records kept as JSON pieces make a plain file that loads back to every budget."""
    store = GoeBudgetStore(hass)
    budget = await store.async_budget(GOE_SERIAL)
    other = await store.async_budget(_same_shard(GOE_SERIAL, 1)[0])
    now = dt_util.utcnow().timestamp()
    assert await budget.async_take_read(now)
    assert await other.async_take_read(now)
    budget.commands.request("set_current", 12, now, None)
    await budget.async_save()

    store._dirty_shards.add(shard_of(GOE_SERIAL))
    path = tmp_path / "budgets.json"
    data = store._take_dirty_shards()[shard_of(GOE_SERIAL)]
    await hass.async_add_executor_job(save_json, str(path), data)
    loaded = await hass.async_add_executor_job(load_json, str(path))

    assert loaded == {"chargers": {GOE_SERIAL: budget.as_dict(), other.serial: other.as_dict()}}


def _fleet(now: float, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """A fleet's records as a poll leaves them: a token used, the last status kept."""
    status = json.loads((FIXTURES / "goe_status.json").read_text())
    for number in range(1, count + 1):
        serial = f"{number:06d}"
        record = _record(now, tokens=1.0)
        record["last_status"] = {**status, "serial": serial}
        record["fetched_at"] = now - 60
        yield serial, record


@pytest.mark.parametrize("fleet", [1_000, 5_000])
async def test_a_save_writes_what_changed_not_the_fleet(
    hass: HomeAssistant, hass_storage: dict[str, Any], written: Written, fleet: int
) -> None:
    """One charger's save in a big fleet writes its own file: a share of the fleet, not all.

    The whole fleet in one file made each save write everything (about 2.9 MB at 5,000
    chargers, several times per cycle).
    """
    now = dt_util.utcnow().timestamp()
    chargers = dict(_fleet(now, fleet))
    hass_storage[STORE_KEY] = _stored(STORE_KEY, {"chargers": chargers})
    whole = len(orjson.dumps(chargers))
    budget = await async_get_goe_budget(hass, "000042")
    written.clear()

    assert await budget.async_take_read(now)

    assert [key for key, _ in written] == [_shard_key("000042")]
    records = written[0][1]["chargers"]
    assert "000042" in records
    # Its file holds its own share of the fleet (a 64th, give or take the hash's luck).
    assert len(records) <= 2 * fleet / SHARDS
    assert len(orjson.dumps(written[0][1])) <= 3 * whole / SHARDS


async def test_the_one_file_of_the_version_before_moves_to_the_shards(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
) -> None:
    """Every record of the single file goes to its shard, then the file goes: nothing is asked.

    A shard written before a crash that kept the old file is newer than the old file's record.
    """
    now = dt_util.utcnow().timestamp()
    saved = dict(_fleet(now, 300))
    saved[GOE_SERIAL] = _record(now, tokens=0.0, pending=9)
    saved[GOE_SERIAL]["last_status"] = json.loads((FIXTURES / "goe_status.json").read_text())
    saved[GOE_SERIAL]["fetched_at"] = now - 60
    newer = "000002"
    hass_storage[_shard_key(newer)] = _stored(
        _shard_key(newer), {"chargers": {newer: _record(now, tokens=0.0, pending=7)}}
    )
    hass_storage[STORE_KEY] = _stored(STORE_KEY, {"chargers": saved})

    await setup_entry(hass, goe_entry)

    assert goe_sim.requests == []
    assert _pending(hass) == ("set_current", "9 A")
    assert STORE_KEY not in hass_storage
    chargers = _saved_chargers(hass_storage)
    assert set(chargers) == set(saved)
    for index in range(SHARDS):
        stored = hass_storage[SHARD_STORE_KEY.format(index=index)]["data"]["chargers"]
        assert {shard_of(serial) for serial in stored} <= {index}
    assert chargers[GOE_SERIAL]["status_bucket"]["tokens"] == 0.0
    assert chargers[GOE_SERIAL]["last_status"]["kwh_total"] == 1024
    assert [cmd["value"] for cmd in chargers[newer]["commands"]["pending"]] == [7]
    # Moved once: a restart reads the shards alone.
    _restart(hass)
    again = await async_get_goe_budget(hass, "000003")
    assert again.status.tokens == 1.0
    assert again.last_status is not None


async def test_budget_and_queue_survive_a_restart(hass: HomeAssistant) -> None:
    """The bucket, the waiting command and the last status come back from the shard."""
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    now = dt_util.utcnow().timestamp()
    assert await budget.async_take_read(now)
    budget.commands.request("set_current", 11, now, None)
    await budget.async_save()

    _restart(hass)
    again = await async_get_goe_budget(hass, GOE_SERIAL)

    assert again.status.tokens == pytest.approx(1.0)
    assert again.commands.expected_value("set_current") == 11


@pytest.mark.parametrize(
    "broken",
    [
        {"version": 1, "minor_version": 1, "data": "not a mapping"},
        {"version": 1, "minor_version": 1, "data": {"chargers": ["not", "a", "mapping"]}},
        # A file of a later version (after a downgrade) cannot be read by this one.
        {"version": 2, "minor_version": 1, "data": {"chargers": {}}},
        # A version this one has no way up from.
        {"version": 0, "minor_version": 1, "data": {"chargers": {}}},
    ],
    ids=["data", "chargers", "later version", "unknown version"],
)
async def test_a_broken_shard_costs_its_own_budgets_only(
    hass: HomeAssistant, hass_storage: dict[str, Any], broken: dict[str, Any]
) -> None:
    """Other files load as saved; the broken one's chargers start afresh and it is rewritten."""
    now = dt_util.utcnow().timestamp()
    victim = next(f"{n:06d}" for n in range(1, 100) if shard_of(f"{n:06d}") != shard_of(GOE_SERIAL))
    hass_storage[_shard_key(GOE_SERIAL)] = _stored(
        _shard_key(GOE_SERIAL), {"chargers": {GOE_SERIAL: _record(now, tokens=0.0, pending=8)}}
    )
    hass_storage[_shard_key(victim)] = {**broken, "key": _shard_key(victim)}

    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    fresh = await async_get_goe_budget(hass, victim)

    assert budget.status.tokens == 0.0
    assert budget.commands.expected_value("set_current") == 8
    assert fresh.status.tokens == 2.0
    assert await fresh.async_take_read(now)
    assert hass_storage[_shard_key(victim)]["version"] == 1
    assert set(_saved_chargers(hass_storage)) == {GOE_SERIAL, victim}
