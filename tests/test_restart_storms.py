"""Restart storms: Home Assistant restarted every minute for an hour, per vendor.

Each test sets a vendor's entry up, lets it run, asks for commands (one of which waits for
its slot), then stops Home Assistant and starts a new one on the same storage every travelled
minute for an hour (a real restart, see ``tests/restarts.py``: no entry is unloaded). What
the vendor's simulator logged is the evidence: no restart buys a request the vendor's limits
do not allow, no login storm, and every command asked for before the storm goes out once
and is reported once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.vendors.easee.account import (
    FLASH_INTERVAL,
    WINDOW_LIMIT,
    WINDOW_SECONDS,
)
from custom_components.ev_charge_control.vendors.goe.budget import COMMAND_SPACING
from simulators.easee import EaseeRequest, EaseeSimulator
from simulators.goe import GoeSimulator
from simulators.viriciti import ViricitiRequest, ViricitiSimulator
from tests.conftest import travel
from tests.easee import conftest as easee_fixtures
from tests.goe import fixtures as goe_fixtures
from tests.restarts import HomeAssistantInstances, home_assistant_instances
from tests.viriciti import conftest as viriciti_fixtures

goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry
viriciti_sim = viriciti_fixtures.viriciti_sim
viriciti_entry = viriciti_fixtures.viriciti_entry

START = "2026-11-21 12:00:00+00:00"
# How long the entry runs before the storm: long enough for every vendor's first reads and
# slower timers to settle into their rhythm.
SETTLE = timedelta(minutes=20)
RESTARTS = 60
MINUTE = timedelta(minutes=1)
# Every timer fires within 20 s of its time (the Easee poller runs every 60 s).
STEP = timedelta(seconds=20)

pytestmark = [pytest.mark.freeze_time(START), pytest.mark.usefixtures("hass")]


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def storm(
    instances: HomeAssistantInstances, freezer: FrozenDateTimeFactory, *, after: timedelta
) -> tuple[float, float]:
    """Restart every minute for an hour, then run ``after``; return when the storm began and ended."""
    assert instances.hass is not None
    began = time.time()
    for _ in range(RESTARTS):
        await travel(instances.hass, freezer, MINUTE, step=STEP)
        await instances.async_restart()
    ended = time.time()
    await travel(instances.hass, freezer, after, step=STEP)
    assert instances.starts == RESTARTS + 1
    return began, ended


def results(instances: HomeAssistantInstances) -> Counter[tuple[str, Any, str]]:
    """Return the command results every instance reported, as (parameter, value, result)."""
    return Counter((r["parameter"], r["requested"], r["result"]) for r in instances.results)


def busiest_window(times: Sequence[float], seconds: float) -> int:
    """Return the most requests any window of ``seconds`` held."""
    ordered = sorted(times)
    start = 0
    most = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


GOE_NUMBER = "number.go_echarger_000123_charge_current"


async def test_goe_restart_storm(
    goe_sim: GoeSimulator, goe_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A restart a minute buys no go-e read or command; the waiting current goes out once.

    10 A goes out at once; 12 A, asked for right after, waits for the next 15-minute slot
    through the storm. Each is sent, applied and reported exactly once, and after the last
    restart the number shows the charger's 12 A (not a status saved before the commands).
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(goe_entry)
        await travel(hass, freezer, SETTLE, step=STEP)
        await set_number(hass, GOE_NUMBER, 10)
        await set_number(hass, GOE_NUMBER, 12)
        began, ended = await storm(instances, freezer, after=MINUTE)
        assert instances.hass is not None
        number = instances.hass.states.get(GOE_NUMBER)
        assert number is not None
        assert number.state == "12"

    # go-e's own budgets never said no.
    assert {(r.http_status, r.result) for r in goe_sim.requests} == {(200, "ok")}
    commands = goe_sim.command_requests()
    assert [r.params["set_current"] for r in commands] == ["10", "12"]
    assert all(b.time - a.time >= COMMAND_SPACING for a, b in pairwise(commands))
    # At most one read per 15 minutes over the hour, as without restarts (the reads that
    # verify the commands included).
    reads = [r for r in goe_sim.status_requests() if began <= r.time < ended]
    assert len(reads) <= 4
    assert results(instances) == {
        ("set_current", 10, "applied"): 1,
        ("set_current", 12, "applied"): 1,
    }


EASEE_MAXIMUM = "number.garage_max_current"
EASEE_DYNAMIC = "number.garage_dynamic_limit"
EASEE_LOGIN = "/api/accounts/login"
EASEE_REFRESH = "/api/accounts/refresh_token"


async def easee_hour(
    sim: EaseeSimulator,
    freezer: FrozenDateTimeFactory,
    *,
    restarts: bool,
) -> tuple[list[EaseeRequest], HomeAssistantInstances]:
    """Run the Easee scenario; return the requests of its hour and the instances.

    The maximum current (a flash setting, once an hour) goes to 20 A at once; 24 A, asked
    for right after, waits the hour, restarted every minute (``restarts``) or not. The
    dynamic limit goes out at once.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(easee_fixtures.entry_for(sim))
        await travel(hass, freezer, SETTLE, step=STEP)
        await set_number(hass, EASEE_MAXIMUM, 20)
        await set_number(hass, EASEE_MAXIMUM, 24)
        await set_number(hass, EASEE_DYNAMIC, 10)
        if restarts:
            began, ended = await storm(instances, freezer, after=timedelta(minutes=5))
        else:
            began = time.time()
            await travel(hass, freezer, RESTARTS * MINUTE, step=STEP)
            ended = time.time()
            await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    return [r for r in sim.requests if began <= r.time < ended], instances


@pytest.mark.parametrize("hub", [False, True], ids=["rest", "streaming"])
async def test_easee_restart_storm(
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    socket_enabled: None,
    hub: bool,
) -> None:
    """A restart a minute buys no Easee request, reuses the tokens and keeps waiting writes.

    The hour restarted every minute costs no more requests than the same hour without
    restarts, run first against a simulator of its own: each start shows what the last run's
    slow reads showed (charge plans, configs, circuit settings, site states) and reads each
    when its interval ends. With the hub up (``streaming``) each start connects the stream
    again, which the hub's subscription answers with the values: no REST request.
    """
    async with easee_fixtures.running_account(hub=hub) as quiet_sim:
        quiet, _ = await easee_hour(quiet_sim, freezer, restarts=False)
    # The quiet run's files (its reads came from another address) go.
    for key in [key for key in hass_storage if key.startswith("ev_charge_control.")]:
        del hass_storage[key]

    async with easee_fixtures.running_account(hub=hub) as easee_sim:
        stormy, instances = await easee_hour(easee_sim, freezer, restarts=True)
        requests = easee_sim.requests

    assert instances.starts == RESTARTS + 1
    # Every read at its own interval, as without restarts; with the stream up the sites'
    # states only reconcile every 15 minutes.
    site_states = 4 if hub else 60
    assert Counter(_easee_path(r.path) for r in quiet if r.method == "GET") == {
        "/api/sites/1/state": site_states,
        "/api/sites/2/state": site_states,
        "/api/chargers/*/basic_charge_plan": 4 * 5,
        "/api/chargers/*/weekly_charge_plan": 4 * 5,
        "/api/sites/1/circuits/11/settings": 4,
        "/api/sites/1/circuits/12/settings": 4,
        "/api/sites/2/circuits/21/settings": 4,
    }
    assert len(stormy) <= len(quiet)
    # Never a rate limit or a ban (a charger without a charge plan answers 404).
    assert {(r.status, r.result) for r in requests} <= {
        (200, "ok"),
        (202, "ok"),
        (404, "not_found"),
    }
    assert busiest_window([r.time for r in requests], WINDOW_SECONDS) <= WINDOW_LIMIT
    # Tokens are saved in the entry: one login at the first start, then one refresh per
    # token lifetime (an hour), over 85 minutes and 61 starts.
    assert [r.path for r in requests if r.path in (EASEE_LOGIN, EASEE_REFRESH)] == [
        EASEE_LOGIN,
        EASEE_REFRESH,
    ]
    settings = easee_sim.requests_to("POST", "/api/chargers/EH000001/settings")
    assert [r.body for r in settings] == [{"maxChargerCurrent": 20}, {"maxChargerCurrent": 24}]
    assert settings[1].time - settings[0].time >= FLASH_INTERVAL
    dynamic = easee_sim.requests_to(
        "POST", "/api/chargers/EH000001/commands/set_dynamic_charger_current"
    )
    assert len(dynamic) == 1
    assert results(instances) == {
        ("max_charger_current", 20, "applied"): 1,
        ("max_charger_current", 24, "applied"): 1,
        ("dynamic_charger_current", 10, "applied"): 1,
    }


def _easee_path(path: str) -> str:
    """Return a request's path with the charger's id as ``*`` (each charger's plans)."""
    parts = path.split("/")
    if parts[1:3] == ["api", "chargers"] and len(parts) > 4:
        parts[3] = "*"
    return "/".join(parts)


VIRICITI_NUMBER = "number.depot_north_requested_limit"
VIRICITI_LIMIT_PATH = f"/api/v1/smartcharging/grouplimit/{viriciti_fixtures.GROUP}"
VIRICITI_SPACING = 300.0


async def viriciti_hour(
    sim: ViricitiSimulator,
    entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    *,
    restarts: bool,
) -> tuple[list[ViricitiRequest], HomeAssistantInstances]:
    """Run the ViriCiti scenario; return the requests of its hour and the instances.

    100 kW goes out at once; 120 kW, asked for right after, waits 5 minutes into the hour,
    restarted every minute (``restarts``) or not.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(entry)
        await travel(hass, freezer, SETTLE, step=STEP)
        await set_number(hass, VIRICITI_NUMBER, 100)
        await set_number(hass, VIRICITI_NUMBER, 120)
        if restarts:
            began, ended = await storm(instances, freezer, after=MINUTE)
        else:
            began = time.time()
            await travel(hass, freezer, RESTARTS * MINUTE, step=STEP)
            ended = time.time()
            await travel(hass, freezer, MINUTE, step=STEP)
    return [r for r in sim.requests if began <= r.time < ended], instances


async def test_viriciti_restart_storm(
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
) -> None:
    """A restart a minute buys no ViriCiti request; the waiting limit goes out once.

    The hour restarted every minute costs no more requests than the same hour without
    restarts, run first against a simulator of its own: each start shows what the last reads
    showed (the group, its limit, the time series) and reads only what is due. The write
    spacing holds and each limit is sent and reported once.
    """
    quiet_sim = ViricitiSimulator(latency_scale=0, min_post_interval=300)
    viriciti_fixtures.build_groups(quiet_sim)
    await quiet_sim.start()
    try:
        quiet, _ = await viriciti_hour(
            quiet_sim, viriciti_fixtures.make_entry(quiet_sim), freezer, restarts=False
        )
    finally:
        await quiet_sim.stop()
    # The group's file of the quiet run (its reads came from another address) goes.
    for key in [key for key in hass_storage if key.startswith("ev_charge_control.")]:
        del hass_storage[key]

    stormy, instances = await viriciti_hour(viriciti_sim, viriciti_entry, freezer, restarts=True)

    assert instances.starts == RESTARTS + 1
    assert Counter(r.path for r in quiet) == {
        # Every 15 minutes, every 5 minutes (and the two limits) and every 5 minutes.
        "/api/v1/smartcharging/chargergroup/depot-1": 4,
        VIRICITI_LIMIT_PATH: 12 + 2,
        "/api/v1/smartcharging/time/depot-1": 12,
    }
    assert len(stormy) <= len(quiet)
    assert {(r.status, r.result) for r in viriciti_sim.requests} == {(200, "ok")}
    writes = [r for r in viriciti_sim.requests if r.method == "POST"]
    assert [r.path for r in writes] == [VIRICITI_LIMIT_PATH] * 2
    assert [r.body["groupLimit"] for r in writes] == [100, 120]  # type: ignore[index]
    assert writes[1].time - writes[0].time >= VIRICITI_SPACING
    assert results(instances) == {
        ("group_limit", 100, "applied"): 1,
        ("group_limit", 120, "applied"): 1,
    }
