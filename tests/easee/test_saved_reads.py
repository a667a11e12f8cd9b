"""Easee across real restarts: a start shows what the last run read and reads it when due.

Home Assistant is stopped without unloading the entry and a new one started on the same
storage (``tests/restarts.py``).
"""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.vendors.easee.const import CONF_SITE_IDS
from simulators.easee import EaseeRequest, EaseeSimulator
from tests.conftest import travel
from tests.easee.conftest import CHARGERS, entry_for, running_account
from tests.restarts import home_assistant_instances
from tests.test_restart_storms import set_number

pytestmark = pytest.mark.usefixtures("hass")

STEP = timedelta(seconds=20)
# What the charger, its charge plans and its circuit show; each from a slow read.
SHOWN = (
    "sensor.garage_charge_plan",
    "number.garage_max_current",
    "sensor.home_circuit_1_max_current",
    "sensor.office_circuit_a_offline_max_current",
)


def _reads(sim: EaseeSimulator, since: int, leaf: str) -> list[EaseeRequest]:
    """Return the reads of ``leaf`` from the ``since``-th request on."""
    return [r for r in sim.requests[since:] if r.method == "GET" and r.path.endswith(leaf)]


def _states(hass: HomeAssistant) -> dict[str, str]:
    return {entity_id: state.state for entity_id in SHOWN if (state := hass.states.get(entity_id))}


def _file(hass_storage: dict[str, Any], entry: MockConfigEntry) -> dict[str, Any] | None:
    return hass_storage.get(f"ev_charge_control.easee_reads_{entry.entry_id}")


async def test_a_start_within_the_intervals_shows_the_saved_reads(
    easee_sim: EaseeSimulator, easee_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Plans, configs and circuit settings read 5 minutes ago are shown, not read again.

    They are read when their 15 minutes since the last run's read end, not 15 minutes
    after the start.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_entry)
        first = time.time()
        await travel(hass, freezer, timedelta(minutes=5), step=STEP)
        before = _states(hass)
        assert len(before) == len(SHOWN)
        assert not {STATE_UNKNOWN, STATE_UNAVAILABLE} & set(before.values())
        await instances.async_stop()
        mark = len(easee_sim.requests)
        hass = await instances.async_start()

        assert _states(hass) == before
        for leaf in ("basic_charge_plan", "weekly_charge_plan", "/settings"):
            assert _reads(easee_sim, mark, leaf) == []

        await travel(hass, freezer, timedelta(minutes=10) + STEP, step=STEP)
    plans = _reads(easee_sim, mark, "basic_charge_plan")
    assert len(plans) == len(CHARGERS)
    assert all(first + 15 * 60 <= r.time <= first + 15 * 60 + 20 for r in plans)
    assert len(_reads(easee_sim, mark, "/settings")) == 3


async def test_a_start_reads_at_once_what_is_due(
    easee_sim: EaseeSimulator, easee_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """What the last run read more than its interval ago is read at the start; the rest not.

    The garage's plans were read again after its maximum current was set (at 12:10), the
    other chargers' and the circuits' at 12:00: started at 12:16, Home Assistant reads
    theirs at once and the garage's when its 15 minutes end.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_entry)
        await travel(hass, freezer, timedelta(minutes=10), step=STEP)
        await set_number(hass, "number.garage_max_current", 20)
        await travel(hass, freezer, timedelta(minutes=2), step=STEP)
        await instances.async_stop()
        freezer.tick(timedelta(minutes=4))
        started, mark = time.time(), len(easee_sim.requests)
        hass = await instances.async_start()

        plans = _reads(easee_sim, mark, "basic_charge_plan")
        assert sorted(r.path.split("/")[3] for r in plans) == sorted(CHARGERS[1:])
        assert all(r.time == started for r in plans)
        assert len(_reads(easee_sim, mark, "/settings")) == 3
        assert hass.states.get("sensor.garage_charge_plan").state == "off"  # type: ignore[union-attr]


async def test_a_write_waiting_for_its_read_is_read_at_the_start(
    easee_sim: EaseeSimulator, easee_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A write sent before the stop is verified by reads at the start, as without saved ones.

    The state read 20 seconds before would be shown for another 40 seconds otherwise.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_entry)
        await travel(hass, freezer, timedelta(minutes=2), step=STEP)
        await set_number(hass, "number.garage_max_current", 20)
        await instances.async_stop()
        mark = len(easee_sim.requests)
        hass = await instances.async_start()

        assert len(_reads(easee_sim, mark, "/sites/1/state")) == 1
        assert len(_reads(easee_sim, mark, "EH000001/basic_charge_plan")) == 1
        # Office's chargers wait for their site's next state read.
        assert _reads(easee_sim, mark, "/sites/2/state") == []
        # This read came too soon after the write to verify it; the next one does.
        await travel(hass, freezer, timedelta(minutes=1), step=STEP)
    assert ("max_charger_current", 20, "applied") in [
        (r["parameter"], r["requested"], r["result"]) for r in instances.results
    ]


async def test_what_the_entry_no_longer_follows_is_dropped(
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """After the sites chosen changed, the file keeps only the chargers and circuits followed."""
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_entry)
        await travel(hass, freezer, timedelta(minutes=2), step=STEP)
        hass = await instances.async_restart()
        saved = _file(hass_storage, easee_entry)
        assert saved is not None
        assert set(saved["data"]["reads"]["chargers"]) == set(CHARGERS)
        hass.config_entries.async_update_entry(instances.entry, options={CONF_SITE_IDS: ["1"]})
        hass = await instances.async_restart()
        assert hass.states.get("number.office_1_max_current") is None
        assert hass.states.get("sensor.garage_charge_plan").state == "off"  # type: ignore[union-attr]
        await instances.async_stop()

    saved = _file(hass_storage, easee_entry)
    assert saved is not None
    assert set(saved["data"]["reads"]["chargers"]) == {"EH000001", "EH000002", "EH000003"}
    assert set(saved["data"]["reads"]["circuits"]) == {"11", "12"}


async def test_reads_are_written_within_the_hour_not_at_each_read(
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A site read every minute writes no file; the first read's hour writes it once."""
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_entry)
        await travel(hass, freezer, timedelta(minutes=59), step=STEP)
        assert len(_reads(easee_sim, 0, "/sites/1/state")) >= 59
        assert _file(hass_storage, easee_entry) is None
        await travel(hass, freezer, timedelta(minutes=1) + STEP, step=STEP)
        saved = _file(hass_storage, easee_entry)
        assert saved is not None
        assert set(saved["data"]["reads"]["chargers"]) == set(CHARGERS)


async def test_a_start_after_streaming_waits_for_the_stream_one_state_interval(
    socket_enabled: None, freezer: FrozenDateTimeFactory
) -> None:
    """The last run streamed: a start reads no state by REST while the stream may come up.

    The stream's subscription brings the values. When it does not come up (the hub is down
    now), the sites' states are read by REST once the state interval (60 s) has passed.
    """
    async with running_account(hub=True) as sim, home_assistant_instances() as instances:
        hass = await instances.async_start(entry_for(sim))
        await travel(hass, freezer, timedelta(minutes=2), step=STEP)
        assert hass.config_entries.async_entries()[0].runtime_data.stream.up
        await instances.async_stop()
        sim.hub.enabled = False
        mark = len(sim.requests)
        hass = await instances.async_start()

        assert _reads(sim, mark, "/state") == []
        assert hass.states.get("sensor.garage_charge_plan").state == "off"  # type: ignore[union-attr]
        await travel(hass, freezer, timedelta(seconds=40), step=STEP)
        assert _reads(sim, mark, "/state") == []
        await travel(hass, freezer, timedelta(seconds=40), step=STEP)
        assert sorted(r.path for r in _reads(sim, mark, "/state")) == [
            "/api/sites/1/state",
            "/api/sites/2/state",
        ]


async def test_reads_from_another_account_are_not_shown(
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A file saved for another account (or API) shows nothing: everything is read at once."""
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_entry)
        await travel(hass, freezer, timedelta(minutes=2), step=STEP)
        await instances.async_stop()
        saved = _file(hass_storage, easee_entry)
        assert saved is not None
        saved["data"]["source"] = "https://api.easee.example 4712"
        mark = len(easee_sim.requests)
        await instances.async_start()

    assert len(_reads(easee_sim, mark, "basic_charge_plan")) == len(CHARGERS)
    assert len(_reads(easee_sim, mark, "/settings")) == 3


async def test_a_deleted_entry_leaves_no_saved_reads(
    hass: HomeAssistant, init_easee: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """The file of saved reads goes with its entry (written at the unload first)."""
    assert await hass.config_entries.async_unload(init_easee.entry_id)
    assert _file(hass_storage, init_easee) is not None
    await hass.config_entries.async_remove(init_easee.entry_id)
    await hass.async_block_till_done()
    assert _file(hass_storage, init_easee) is None
