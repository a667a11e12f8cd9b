"""A real restart (Home Assistant stopped, not the entry unloaded) buys no ViriCiti read."""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT
from simulators.viriciti import ViricitiSimulator
from tests.conftest import setup_entry, travel
from tests.restarts import home_assistant_instances
from tests.viriciti.conftest import GROUP

PREFIX = "/api/v1/smartcharging"
GROUP_PATH = f"{PREFIX}/chargergroup/{GROUP}"
LIMIT_PATH = f"{PREFIX}/grouplimit/{GROUP}"
TIME_PATH = f"{PREFIX}/time/{GROUP}"
STORE_KEY = f"{DOMAIN}.viriciti_{GROUP}"
ACTIVE = "sensor.depot_north_active_limit"
DEFAULT = "sensor.depot_north_default_limit"
CONNECTOR = "sensor.depot_north_cs_01_connector_1_limit"
STEP = timedelta(seconds=10)


def reads(sim: ViricitiSimulator) -> list[tuple[float, str]]:
    """Return every GET the simulator answered, as (when, path)."""
    return [(r.time, r.path) for r in sim.requests if r.method == "GET"]


def shown(hass: HomeAssistant) -> tuple[str, ...]:
    """Return what the group's default, its active limit and one connector show."""
    return tuple(
        state.state if (state := hass.states.get(e)) else "-" for e in (DEFAULT, ACTIVE, CONNECTOR)
    )


@pytest.mark.usefixtures("hass")
async def test_a_restart_within_the_interval_reads_nothing(
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two minutes after the reads, a restart shows what they showed and sends no request.

    The next reads come when the saved ones' intervals end (12:05 for the limit and the time
    series, 12:15 for the group), not a whole interval after the start: the data is shown as
    old as it is. Before, each start read the group, its limit and the time series again.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(viriciti_entry)
        assert [path for _, path in reads(viriciti_sim)] == [GROUP_PATH, LIMIT_PATH, TIME_PATH]
        before = shown(hass)
        assert before == ("400.0", "400.0", "120.0")
        started = time.time()

        await travel(hass, freezer, timedelta(minutes=2), step=STEP)
        hass = await instances.async_restart()
        assert len(reads(viriciti_sim)) == 3
        assert shown(hass) == before

        await travel(hass, freezer, timedelta(minutes=14), step=STEP)
        assert sorted((round(at - started, -1), path) for at, path in reads(viriciti_sim)[3:]) == [
            (300, LIMIT_PATH),
            (300, TIME_PATH),
            (600, LIMIT_PATH),
            (600, TIME_PATH),
            (900, GROUP_PATH),
            (900, LIMIT_PATH),
            (900, TIME_PATH),
        ]


@pytest.mark.usefixtures("hass")
async def test_a_restart_after_the_interval_reads_at_once(
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Stopped for 6 minutes, a start reads the limit and the time series at once.

    The group (read every 15 minutes) is still shown as saved; the default limit changed
    meanwhile shows with the group's next read.
    """
    async with home_assistant_instances() as instances:
        await instances.async_start(viriciti_entry)
        await instances.async_stop()
        viriciti_sim.set_default_limit(GROUP, 350)
        freezer.tick(timedelta(minutes=6))

        hass = await instances.async_start()
        assert [path for _, path in reads(viriciti_sim)] == [
            GROUP_PATH,
            LIMIT_PATH,
            TIME_PATH,
            LIMIT_PATH,
            TIME_PATH,
        ]
        assert shown(hass) == ("400.0", "350.0", "120.0")

        await travel(hass, freezer, timedelta(minutes=10), step=STEP)
        assert GROUP_PATH in [path for _, path in reads(viriciti_sim)[5:]]
        assert shown(hass)[0] == "350.0"


async def test_a_command_verified_by_a_read_is_saved_at_once(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
) -> None:
    """A limit whose POST was out when Home Assistant ended is verified by the first read.

    It is in the file as applied at once, not at the next save: otherwise Home Assistant ending
    again before that (a crash, a power cut) brings it back as still to be checked, and it is
    reported applied a second time.
    """
    now = time.time()
    end = round(now) + 3600
    hass_storage[STORE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORE_KEY,
        "data": {
            "commands": {
                "last_sent": now - 60,
                "pending": [],
                "awaiting": [
                    {
                        "parameter": "group_limit",
                        "value": {"limit": 120, "end": end},
                        "sent_at": now - 60,
                        "attempt": 1,
                    }
                ],
            }
        },
    }
    # ViriCiti took it; its answer never came back.
    viriciti_sim.set_external_limit(GROUP, 120, end)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)

    await setup_entry(hass, viriciti_entry)
    assert [e.data["result"] for e in events] == ["applied"]
    assert hass_storage[STORE_KEY]["data"]["commands"]["awaiting"] == []


@pytest.mark.usefixtures("hass")
async def test_a_limit_that_ended_while_stopped_is_read_again_at_once(
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The saved limit read showed an external limit ending at 12:03; a start at 12:04 reads it.

    Within the interval otherwise, but what it showed is over: shown as saved, the external
    limit would stay in force on the sensors until 12:05. The time series is still shown as
    saved.
    """
    viriciti_sim.set_external_limit(GROUP, 120, time.time() + 180)
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(viriciti_entry)
        assert shown(hass)[1] == "120.0"
        await instances.async_stop()
        freezer.tick(timedelta(minutes=4))

        hass = await instances.async_start()
        assert [path for _, path in reads(viriciti_sim)] == [
            GROUP_PATH,
            LIMIT_PATH,
            TIME_PATH,
            LIMIT_PATH,
        ]
        assert shown(hass)[1] == "400.0"


@pytest.mark.usefixtures("hass")
@pytest.mark.freeze_time("2026-11-21 15:43:00+00:00")
async def test_a_drop_that_came_near_while_stopped_is_read_at_once(
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Read at 16:43 in Amsterdam, started again at 16:47: the evening peak came near.

    The saved limit read shows the default in force; by the group's schedule the drop to
    150 kW at 17:00 has turned 'upcoming' since (in force 15 minutes before), so the limit is
    read at once.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(viriciti_entry)
        assert shown(hass)[1] == "400.0"
        await instances.async_stop()
        freezer.tick(timedelta(minutes=4))

        hass = await instances.async_start()
        assert [path for _, path in reads(viriciti_sim)][3:] == [LIMIT_PATH]
        assert shown(hass)[1] == "150.0"


@pytest.mark.usefixtures("hass")
async def test_reads_are_written_an_hour_after_the_first_at_the_latest(
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """Reads every 5 minutes are written an hour after the first one, not put off each time.

    Home Assistant killed (no final write) after that loses less than an hour of them.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(viriciti_entry)
        started = time.time()
        await travel(hass, freezer, timedelta(minutes=61), step=timedelta(minutes=1))
        assert STORE_KEY in hass_storage
        # Written at 13:00 with the newest read then (12:55), not only at the stop.
        saved = hass_storage[STORE_KEY]["data"]["reads"]
        assert saved["limit"]["read_at"] == started + 55 * 60
