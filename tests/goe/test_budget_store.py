"""The go-e budgets' one file: saved before every request, written once for many chargers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.json import save_json
from homeassistant.util import dt as dt_util
from homeassistant.util.json import load_json
import orjson
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.vendors.goe.budget import (
    DATA_GOE_BUDGETS,
    LEGACY_STORE_KEY,
    STORE_KEY,
    GoeBudgetStore,
    GoeChargerBudget,
    async_get_goe_budget,
)
from simulators.goe import GoeSimulator
from tests.conftest import setup_entry, travel
from tests.goe.fixtures import GOE_SERIAL

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


def _saved_chargers(hass_storage: dict[str, Any]) -> dict[str, Any]:
    chargers: dict[str, Any] = hass_storage[STORE_KEY]["data"]["chargers"]
    return chargers


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


async def test_many_chargers_reading_at_once_cost_one_write_and_each_waits_for_it(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """Fifty reads in the same second: each returns only once its token is in the file.

    The file is written at most twice (one write may already be out when the rest ask),
    not fifty times.
    """
    serials = [f"{index:06d}" for index in range(1, 51)]
    budgets = [await async_get_goe_budget(hass, serial) for serial in serials]
    store = hass.data[DATA_GOE_BUDGETS]
    written: list[dict[str, Any]] = []
    real_save = store._store.async_save

    async def spy(data: dict[str, Any]) -> None:
        await real_save(data)
        written.append(orjson.loads(orjson.dumps(data))["chargers"])

    store._store.async_save = spy  # type: ignore[method-assign]
    now = dt_util.utcnow().timestamp()

    async def read(budget: GoeChargerBudget) -> None:
        assert await budget.async_take_read(now)
        # Returned: the newest write holds this charger's token taken.
        assert written[-1][budget.serial]["status_bucket"]["tokens"] == pytest.approx(1.0)

    await asyncio.gather(*(read(budget) for budget in budgets))

    assert 1 <= len(written) <= 2
    assert {
        serial: record["status_bucket"]["tokens"]
        for serial, record in _saved_chargers(hass_storage).items()
    } == dict.fromkeys(serials, pytest.approx(1.0))


async def test_a_save_during_a_write_waits_for_the_next_write(hass: HomeAssistant) -> None:
    """A token taken while a write is out is not covered by it: the call waits for another."""
    first = await async_get_goe_budget(hass, "000001")
    second = await async_get_goe_budget(hass, "000002")
    store = hass.data[DATA_GOE_BUDGETS]
    release = asyncio.Event()
    written: list[dict[str, Any]] = []
    real_save = store._store.async_save

    async def slow(data: dict[str, Any]) -> None:
        await release.wait()
        await real_save(data)
        written.append(orjson.loads(orjson.dumps(data))["chargers"])

    store._store.async_save = slow  # type: ignore[method-assign]
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
    assert "000002" not in written[0]
    assert written[1]["000002"]["status_bucket"]["tokens"] == pytest.approx(1.0)


async def test_a_charger_without_entry_is_kept_until_its_record_says_nothing(
    hass: HomeAssistant, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    """A removed charger's used budget stays (re-adding buys nothing); a full one is dropped."""
    now = dt_util.utcnow().timestamp()
    hass_storage[STORE_KEY] = _stored(
        STORE_KEY,
        {
            "chargers": {
                "000777": _record(now, tokens=0.0),
                "000888": _record(now, tokens=2.0),
                "000999": _record(now, tokens=2.0, pending=10),
                "broken": "not a record",
            }
        },
    )
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    assert await budget.async_take_read(now)
    assert set(_saved_chargers(hass_storage)) == {GOE_SERIAL, "000777", "000999"}

    await travel(hass, freezer, timedelta(minutes=31))
    assert await budget.async_take_read(dt_util.utcnow().timestamp())
    # Refilled by now; the waiting command still speaks for its charger.
    assert set(_saved_chargers(hass_storage)) == {GOE_SERIAL, "000999"}

    # Re-added later: the kept record is its budget.
    kept = await async_get_goe_budget(hass, "000999")
    assert kept.commands.expected_value("set_current") == 10


async def test_the_file_reads_back_as_written(hass: HomeAssistant, tmp_path: Path) -> None:
    """The records kept as JSON pieces make a plain file that loads back to every budget."""
    store = GoeBudgetStore(hass)
    budget = await store.async_budget(GOE_SERIAL)
    now = dt_util.utcnow().timestamp()
    assert await budget.async_take_read(now)
    budget.commands.request("set_current", 12, now, None)
    await budget.async_save()

    path = tmp_path / "budgets.json"
    await hass.async_add_executor_job(save_json, str(path), store._data())
    loaded = await hass.async_add_executor_job(load_json, str(path))

    assert loaded == {"chargers": {GOE_SERIAL: budget.as_dict()}}
