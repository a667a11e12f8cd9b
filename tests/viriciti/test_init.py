"""A ViriCiti group in Home Assistant: entities, devices, polling and the limit over a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.homeassistant import SERVICE_UPDATE_ENTITY
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.ev_charge_control.const import DOMAIN
from simulators.viriciti import ViricitiSimulator
from tests.conftest import find_device, setup_entry, snapshot_entities, travel
from tests.viriciti.conftest import GROUP, START, VIRICITI_KEY, assert_key_never_in_a_url

PREFIX = "/api/v1/smartcharging"
GROUP_PATH = f"{PREFIX}/chargergroup/{GROUP}"
LIMIT_PATH = f"{PREFIX}/grouplimit/{GROUP}"
TIME_PATH = f"{PREFIX}/time/{GROUP}"
ACTIVE = "sensor.depot_north_active_limit"
SOURCE = "sensor.depot_north_limit_source"
SCHEDULED = "sensor.depot_north_scheduled_limit"
NEXT_CHANGE = "sensor.depot_north_next_limit_change"
DEFAULT = "sensor.depot_north_default_limit"
EXTERNAL = "sensor.depot_north_external_limit"
EXTERNAL_END = "sensor.depot_north_external_expiry"
PENDING = "sensor.depot_north_pending_command"
SLOT = "sensor.depot_north_command_slot"
NUMBER = "number.depot_north_requested_limit"
MS = 1000
DAYS_31_MS = 31 * 86400 * MS
# Thursday before the spring-forward night in Europe/Amsterdam (Sunday 2027-03-28, 02:00).
SPRING = "2027-03-25 12:00:00+00:00"
START_TS = datetime.fromisoformat(START).timestamp()


def _details(hass: HomeAssistant) -> tuple[str, str]:
    """Return the waiting limit as the pending-command sensor's attributes show it."""
    attributes = hass.states.get(PENDING).attributes
    return attributes["value"], attributes["until"]


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def kw(value: float | None) -> str:
    """Return a kW value as a sensor's state shows it."""
    return STATE_UNKNOWN if value is None else str(float(value))


def iso(moment: float | datetime) -> str:
    """Return a moment as a timestamp sensor shows it (UTC)."""
    if isinstance(moment, datetime):
        moment = moment.timestamp()
    return datetime.fromtimestamp(moment, UTC).isoformat()


def at(text: str) -> float:
    """Return the moment an ISO 8601 text names, in seconds since the epoch."""
    return datetime.fromisoformat(text).timestamp()


def reads(sim: ViricitiSimulator, path: str) -> list[float]:
    """Return when each GET of a path reached the simulator."""
    return [r.time for r in sim.requests_to("GET", path)]


async def refresh(hass: HomeAssistant, entity_id: str) -> None:
    """Ask for a read now, as the 'update entity' action does."""
    await async_setup_component(hass, "homeassistant", {})
    await hass.services.async_call(
        "homeassistant", SERVICE_UPDATE_ENTITY, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )
    await hass.async_block_till_done()


def truth(sim: ViricitiSimulator) -> tuple[str, str]:
    """Return the source and limit in force now, as the simulator knows them."""
    now = sim.state(GROUP)
    return now.source, kw(now.limit)


def shown(hass: HomeAssistant) -> tuple[str, str]:
    """Return the source and limit in force now, as Home Assistant shows them."""
    return state(hass, SOURCE), state(hass, ACTIVE)


# Entities and devices


@pytest.mark.parametrize("platform", [Platform.NUMBER, Platform.SENSOR])
async def test_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    viriciti_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """Names, units, classes, categories and values of every entity stay as designed."""
    with patch(
        "custom_components.ev_charge_control.vendors.viriciti.runtime.ViricitiRuntime.platforms",
        (platform,),
    ):
        await setup_entry(hass, viriciti_entry)
        await snapshot_entities(hass, freezer, entity_registry, snapshot, viriciti_entry.entry_id)


async def test_devices_are_the_group_and_its_stations(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, init_viriciti: MockConfigEntry
) -> None:
    """The group is named after its title; each station found in the samples hangs below it."""
    devices = dr.async_entries_for_config_entry(device_registry, init_viriciti.entry_id)
    by_identifier = {next(iter(d.identifiers))[1]: d for d in devices}
    assert sorted(by_identifier) == [
        f"viriciti_{GROUP}",
        f"viriciti_{GROUP}_CS-01",
        f"viriciti_{GROUP}_CS-02",
    ]
    group = by_identifier[f"viriciti_{GROUP}"]
    assert (group.name, group.manufacturer, group.model) == (
        "Depot North",
        "ViriCiti",
        "Smart Charging group",
    )
    assert group.via_device_id is None
    for station in ("CS-01", "CS-02"):
        device = by_identifier[f"viriciti_{GROUP}_{station}"]
        assert device.name == f"Depot North {station}"
        assert device.manufacturer == "ViriCiti"
        assert device.via_device_id == group.id
    # One power sensor per connector: CS-01 has two, CS-02 one (allocations of 400 kW).
    assert state(hass, "sensor.depot_north_cs_01_connector_1_limit") == "120.0"
    assert state(hass, "sensor.depot_north_cs_01_connector_2_limit") == "60.0"
    assert state(hass, "sensor.depot_north_cs_02_connector_1_limit") == "50.0"
    assert hass.states.get("sensor.depot_north_cs_02_connector_2_limit") is None


async def test_first_state_matches_the_simulator(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, init_viriciti: MockConfigEntry
) -> None:
    """Saturday 13:00 in Amsterdam: the default 400 kW holds; the evening peak is next."""
    assert shown(hass) == ("default", "400.0")
    assert shown(hass) == truth(viriciti_sim)
    assert state(hass, DEFAULT) == "400.0"
    # Outside every timeframe there is no scheduled limit.
    assert state(hass, SCHEDULED) == STATE_UNKNOWN
    assert state(hass, NEXT_CHANGE) == "2026-11-21T16:00:00+00:00"
    assert hass.states.get(NEXT_CHANGE).attributes["next_limit"] == 150
    timeframes = hass.states.get(SCHEDULED).attributes["timeframes"]
    assert [(tf["name"], tf["start"], tf["end"], tf["limit"]) for tf in timeframes] == [
        ("Evening peak", "0 17 * * *", "0 0 * * *", 150),
        ("Sunday morning", "0 8 * * 0", "0 12 * * 0", 80),
    ]
    assert state(hass, EXTERNAL) == STATE_UNKNOWN
    assert state(hass, EXTERNAL_END) == STATE_UNKNOWN
    assert state(hass, NUMBER) == STATE_UNKNOWN
    assert state(hass, PENDING) == "none"
    # Nothing was ever sent: the slot is open, a limit would go out at once.
    assert dt_util.parse_datetime(state(hass, SLOT)) <= dt_util.utcnow()


async def test_timeframes_are_not_recorded(
    hass: HomeAssistant, init_viriciti: MockConfigEntry
) -> None:
    """The list of timeframes is an attribute of the state, left out of the recorder."""
    entity = hass.data["sensor"].get_entity(SCHEDULED)
    assert "timeframes" in entity._unrecorded_attributes


# Polling


@pytest.mark.day_long
async def test_a_day_of_reads_is_at_the_promised_cadence(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Group every 15 min, limit every 5 min plus a read at each change, and always the truth.

    The regular limit reads are moved off the schedule's changes (to hh:m2:30 and hh:m7:30).
    The clock is looked at when a regular read is due and 2 seconds after each change. Each
    time, the limit and its source shown are the simulator's: the integration reads right
    after each change (a timeframe starting or ending, a drop turning 'upcoming') instead of
    up to 5 minutes late.
    """
    await travel(hass, freezer, timedelta(seconds=150))
    await refresh(hass, ACTIVE)
    start = datetime.now(UTC).timestamp()
    # Saturday 17:00 and midnight, Sunday 08:00 and 12:00; the two drops 15 minutes ahead.
    changes = schedule_changes(viriciti_sim, START_TS, 2)
    moments = sorted(
        m
        for m in {m for m, _ in changes} | {m - 900 for m, limit in changes if limit < 400}
        if start < m < start + 86400
    )
    assert len(moments) == 6
    group_before = len(reads(viriciti_sim, GROUP_PATH))
    limit_before = len(reads(viriciti_sim, LIMIT_PATH))
    mismatches: list[tuple[str, tuple[str, str], tuple[str, str]]] = []
    while (now := datetime.now(UTC).timestamp()) < start + 86400:
        due = [
            reads(viriciti_sim, LIMIT_PATH)[-1] + 300,
            reads(viriciti_sim, GROUP_PATH)[-1] + 900,
            *(m + 2 for m in moments),
        ]
        target = min((t for t in due if t > now), default=now + 300)
        await travel(hass, freezer, timedelta(seconds=target - now))
        if shown(hass) != truth(viriciti_sim):
            mismatches.append((iso(datetime.now(UTC)), shown(hass), truth(viriciti_sim)))
    # At the very second of a change the read after it may not have happened yet.
    assert [m for m in mismatches if not any(0 <= at(m[0]) - c < 2 for c in moments)] == []

    group_reads = reads(viriciti_sim, GROUP_PATH)[group_before:]
    assert len(group_reads) == 24 * 4
    assert {round(b - a) for a, b in pairwise(group_reads)} == {900}

    limit_reads = reads(viriciti_sim, LIMIT_PATH)[limit_before:]
    regular = 24 * 12
    extra = len(limit_reads) - regular
    # At most two extra reads at each change or announced drop.
    assert 0 <= extra <= 2 * len(moments), extra
    gaps = [b - a for a, b in zip([start, *limit_reads], limit_reads, strict=False)]
    assert max(gaps) <= 300
    assert_key_never_in_a_url(viriciti_sim)


async def test_time_series_is_read_every_5_minutes_and_only_what_is_new(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Each query starts at the newest sample already read, and none spans more than 31 days."""
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=5))
    queries = viriciti_sim.requests_to("GET", TIME_PATH)
    assert len(queries) == 1 + 12
    # The first looks back an hour; each next one starts at the newest sample it had.
    first = queries[0]
    assert int(first.query["end"]) - int(first.query["start"]) == 3600 * MS
    samples = [round(s.time * MS) for s in viriciti_sim.samples(GROUP)]
    for previous, query in pairwise(queries):
        newest = max(t for t in samples if t <= int(previous.query["end"]))
        assert int(query.query["start"]) == newest
        assert int(query.query["end"]) == round(query.time * MS)

    # Forty days without an answer: the gap is fetched in queries of at most 31 days.
    viriciti_sim.inject_fault("http_500", path_contains="/time/", count=10**6)
    await travel(hass, freezer, timedelta(days=40))
    viriciti_sim.clear_faults()
    await travel(hass, freezer, timedelta(minutes=5))
    queries = [q for q in viriciti_sim.requests_to("GET", TIME_PATH) if q.status == 200]
    assert all(0 <= int(q.query["end"]) - int(q.query["start"]) <= DAYS_31_MS for q in queries), [
        q.query for q in queries
    ]
    assert len(queries[-2:]) == 2
    assert int(queries[-1].query["start"]) == int(queries[-2].query["end"])


async def test_a_station_added_later_appears_after_the_next_series_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """A new station shows up as a device below the group, with one sensor per connector."""
    viriciti_sim.add_station(GROUP, "CS-03", [30, 0])
    await travel(hass, freezer, timedelta(minutes=5, seconds=30), step=timedelta(seconds=30))
    station = find_device(hass, f"viriciti_{GROUP}_CS-03")
    assert station is not None
    group = find_device(hass, f"viriciti_{GROUP}")
    assert station.via_device_id == group.id
    assert state(hass, "sensor.depot_north_cs_03_connector_1_limit") == "30.0"
    assert state(hass, "sensor.depot_north_cs_03_connector_2_limit") == "0.0"


# The limit across a week with a DST change


def schedule_changes(sim: ViricitiSimulator, first: float, days: int) -> list[tuple[float, float]]:
    """Return each change of the scheduled-or-default limit (moment, new kW), per quarter hour.

    Every timeframe of the test group starts and ends on a whole hour, so a quarter-hour scan
    finds every change.
    """
    changes: list[tuple[float, float]] = []
    previous: float | None = None
    for step in range(days * 96 + 1):
        moment = first + step * 900
        now = sim.state(GROUP, moment)
        value = float(now.scheduled.limit if now.scheduled else now.default)
        if previous is not None and value != previous:
            changes.append((moment, value))
        previous = value
    return changes


# (UTC moment, source, active kW, scheduled kW, next change) of the spring-forward weekend.
SPRING_POINTS = (
    # Saturday: CET (+01:00). The evening peak is announced 15 minutes before 17:00.
    ("2027-03-27T15:30:00", "default", 400, None, "2027-03-27T16:00:00+00:00"),
    ("2027-03-27T15:45:00", "upcoming", 150, None, "2027-03-27T16:00:00+00:00"),
    ("2027-03-27T16:00:00", "scheduled", 150, 150, "2027-03-27T23:00:00+00:00"),
    ("2027-03-27T22:45:00", "scheduled", 150, 150, "2027-03-27T23:00:00+00:00"),
    # Midnight ends the evening; Sunday morning (day 0) is next, already in CEST (+02:00).
    ("2027-03-27T23:00:00", "default", 400, None, "2027-03-28T06:00:00+00:00"),
    ("2027-03-28T01:00:00", "default", 400, None, "2027-03-28T06:00:00+00:00"),
    ("2027-03-28T05:45:00", "upcoming", 80, None, "2027-03-28T06:00:00+00:00"),
    ("2027-03-28T06:00:00", "scheduled", 80, 80, "2027-03-28T10:00:00+00:00"),
    ("2027-03-28T10:00:00", "default", 400, None, "2027-03-28T15:00:00+00:00"),
    ("2027-03-28T15:00:00", "scheduled", 150, 150, "2027-03-28T22:00:00+00:00"),
    ("2027-03-28T22:00:00", "default", 400, None, "2027-03-29T15:00:00+00:00"),
    # Monday has no morning timeframe: only Sunday is day 0.
    ("2027-03-29T06:00:00", "default", 400, None, "2027-03-29T15:00:00+00:00"),
)


@pytest.mark.day_long
@pytest.mark.freeze_time(SPRING)
async def test_a_week_of_limits_across_the_spring_dst_change(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Every quarter hour of a week the four limit sensors agree with the simulator.

    The week holds evenings that end at midnight, the Sunday-only morning and the night
    Amsterdam moves from +01:00 to +02:00. The change moments are checked by hand as well,
    so a mistake the simulator and the integration share would not pass.
    """
    # asyncio's debug mode records a stack for every callback: it would make this week three
    # times slower. Every other test keeps it on.
    hass.loop.set_debug(False)
    start = datetime.now(UTC).timestamp()
    assert iso(start) == "2027-03-25T12:00:00+00:00"
    changes = schedule_changes(viriciti_sim, start, 9)
    points = {datetime.fromisoformat(p[0] + "+00:00").timestamp(): p for p in SPRING_POINTS}
    checked = 0
    mismatches: list[tuple[str, dict[str, str], dict[str, str]]] = []
    for _ in range(7 * 96):
        await travel(hass, freezer, timedelta(minutes=15))
        now = datetime.now(UTC).timestamp()
        sim_now = viriciti_sim.state(GROUP, now)
        next_change = next(((m, v) for m, v in changes if m > now), None)
        assert next_change is not None
        expected = {
            SOURCE: sim_now.source,
            ACTIVE: kw(sim_now.limit),
            SCHEDULED: kw(sim_now.scheduled.limit if sim_now.scheduled else None),
            NEXT_CHANGE: iso(next_change[0]),
        }
        seen = {entity_id: state(hass, entity_id) for entity_id in expected}
        if seen != expected:
            mismatches.append((iso(now), seen, expected))
        assert hass.states.get(NEXT_CHANGE).attributes["next_limit"] == next_change[1]
        if (point := points.get(now)) is not None:
            _, source, active, scheduled, change = point
            assert seen == {
                SOURCE: source,
                ACTIVE: kw(active),
                SCHEDULED: kw(scheduled),
                NEXT_CHANGE: change,
            }, point
            checked += 1
    assert mismatches == []
    assert checked == len(SPRING_POINTS)


# Failures


async def test_a_refused_key_while_polling_starts_reauth(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """A key revoked by ViriCiti: the next read asks the user for a new one, once."""
    viriciti_sim.revoke_api_key(VIRICITI_KEY)
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(minutes=5))
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    assert flows[0]["context"]["entry_id"] == init_viriciti.entry_id
    assert state(hass, ACTIVE) == STATE_UNAVAILABLE
    assert state(hass, DEFAULT) == STATE_UNAVAILABLE


async def test_api_errors_make_entities_unavailable_until_the_next_good_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """A failed limit read greys out the limit sensors (not the queue's); the next brings them back."""
    viriciti_sim.inject_fault("http_500", path_contains="/grouplimit/")
    await travel(hass, freezer, timedelta(minutes=5))
    for entity_id in (ACTIVE, SOURCE, EXTERNAL, EXTERNAL_END, NUMBER):
        assert state(hass, entity_id) == STATE_UNAVAILABLE, entity_id
    # The group's own sensors come from another read, and the queue is always known.
    assert state(hass, DEFAULT) == "400.0"
    assert state(hass, NEXT_CHANGE) == "2026-11-21T16:00:00+00:00"
    assert state(hass, PENDING) == "none"
    # Nothing was ever sent: the slot is open, a limit would go out at once.
    assert dt_util.parse_datetime(state(hass, SLOT)) <= dt_util.utcnow()

    await travel(hass, freezer, timedelta(minutes=5))
    assert shown(hass) == ("default", "400.0")
    assert state(hass, NUMBER) == STATE_UNKNOWN

    viriciti_sim.inject_fault("non_json", path_contains="/chargergroup/")
    await travel(hass, freezer, timedelta(minutes=15), step=timedelta(minutes=5))
    for entity_id in (DEFAULT, SCHEDULED, NEXT_CHANGE):
        assert state(hass, entity_id) == STATE_UNAVAILABLE, entity_id
    assert shown(hass) == ("default", "400.0")
    await travel(hass, freezer, timedelta(minutes=15), step=timedelta(minutes=5))
    assert state(hass, DEFAULT) == "400.0"
    assert state(hass, NEXT_CHANGE) == "2026-11-21T16:00:00+00:00"


async def test_unload_stops_all_requests_and_reload_brings_the_group_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """After unloading the group is quiet; set up again it is read and shown as before."""
    assert await hass.config_entries.async_unload(init_viriciti.entry_id)
    await hass.async_block_till_done()
    assert init_viriciti.state is ConfigEntryState.NOT_LOADED
    count = len(viriciti_sim.requests)
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=5))
    assert len(viriciti_sim.requests) == count
    assert state(hass, ACTIVE) == STATE_UNAVAILABLE

    assert await hass.config_entries.async_setup(init_viriciti.entry_id)
    await hass.async_block_till_done()
    assert init_viriciti.state is ConfigEntryState.LOADED
    assert shown(hass) == ("default", "400.0")
    assert state(hass, "sensor.depot_north_cs_01_connector_1_limit") == "120.0"

    assert await hass.config_entries.async_reload(init_viriciti.entry_id)
    await hass.async_block_till_done()
    assert init_viriciti.state is ConfigEntryState.LOADED
    assert shown(hass) == ("default", "400.0")


async def test_a_restart_within_5_minutes_of_a_post_waits_for_the_slot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """The write slot is saved: a limit asked for right after a restart waits its 5 minutes."""
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: NUMBER, ATTR_VALUE: 100}, blocking=True
    )
    posts = viriciti_sim.requests_to("POST", LIMIT_PATH)
    assert len(posts) == 1
    first = posts[0].time

    assert await hass.config_entries.async_unload(init_viriciti.entry_id)
    await hass.async_block_till_done()
    await travel(hass, freezer, timedelta(minutes=1))
    assert await hass.config_entries.async_setup(init_viriciti.entry_id)
    await hass.async_block_till_done()
    assert state(hass, SLOT) == iso(first + 302)

    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: NUMBER, ATTR_VALUE: 120}, blocking=True
    )
    assert len(viriciti_sim.requests_to("POST", LIMIT_PATH)) == 1
    assert (state(hass, PENDING), _details(hass)[0]) == ("group_limit", "120 kW")
    # The number shows the limit in force; the request waits beside it.
    assert state(hass, NUMBER) == "100"

    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=30))
    posts = viriciti_sim.requests_to("POST", LIMIT_PATH)
    assert [p.body["groupLimit"] for p in posts] == [100, 120]  # type: ignore[index]
    assert posts[1].time >= first + 300
    assert [p.status for p in posts] == [200, 200]
    assert shown(hass) == ("external", "120.0")
