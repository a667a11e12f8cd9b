"""ViriCiti external limits, end to end: what is posted, when, and what the user sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import voluptuous as vol
from yarl import URL

from custom_components.ev_charge_control.api.errors import NotFoundError
from custom_components.ev_charge_control.api.viriciti import ViricitiClient, ViricitiGroupLimit
from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT
import simulators.viriciti
from simulators.viriciti import ViricitiSimulator
from tests.conftest import find_device, setup_entry, travel
from tests.dumps import download_diagnostics, issue_ids, leaked
from tests.events import assert_command_results
from tests.viriciti.conftest import (
    GROUP,
    OTHER_GROUP,
    REFUSING_GROUP,
    VIRICITI_KEY,
    ZONE,
    assert_key_never_in_a_url,
    group_subentry,
    key_entry,
    make_entry,
    only_group,
    running_group,
)

PREFIX = "/api/v1/smartcharging"
LIMIT_PATH = f"{PREFIX}/grouplimit/{GROUP}"
NUMBER = "number.depot_north_requested_limit"
ACTIVE = "sensor.depot_north_active_limit"
SOURCE = "sensor.depot_north_limit_source"
EXTERNAL = "sensor.depot_north_external_limit"
EXTERNAL_END = "sensor.depot_north_external_expiry"
PENDING = "sensor.depot_north_pending_command"
SLOT = "sensor.depot_north_command_slot"
# 2026-11-21 12:00 UTC is 13:00 in Amsterdam (CET, +01:00).
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC).timestamp()


def _details(hass: HomeAssistant) -> tuple[str, str]:
    """Return the waiting limit as the pending-command sensor's attributes show it."""
    attributes = hass.states.get(PENDING).attributes
    return attributes["value"], attributes["until"]


# Helpers


def posts(sim: ViricitiSimulator, path: str = LIMIT_PATH) -> list[Any]:
    """Return the bodies of the POSTs that reached the simulator."""
    return [r.body for r in sim.requests_to("POST", path)]


async def set_number(hass: HomeAssistant, value: float, entity_id: str = NUMBER) -> None:
    """Set the external limit number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def set_group_limit(hass: HomeAssistant, **data: Any) -> None:
    """Call the set_group_limit action."""
    await hass.services.async_call(DOMAIN, "set_group_limit", data, blocking=True)


def group_device(hass: HomeAssistant, identifier: str = f"viriciti_{GROUP}") -> str:
    """Return the device registry id of a device of the integration."""
    device = find_device(hass, identifier)
    assert device is not None
    return device.id


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def iso(moment: float) -> str:
    """Return a moment as a timestamp sensor shows it (UTC)."""
    return datetime.fromtimestamp(moment, UTC).isoformat()


# The number


@pytest.mark.usefixtures("init_viriciti")
async def test_number_posts_the_limit_until_now_plus_the_default_duration(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """120 kW for an hour, written in the group's winter offset; shown at once; then it ends."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, 120)

    assert posts(viriciti_sim) == [{"groupLimit": 120, "endTime": "2026-11-21T14:00:00.000+01:00"}]
    assert type(posts(viriciti_sim)[0]["groupLimit"]) is int
    assert viriciti_sim.active_limit(GROUP) == ("external", 120)
    assert state(hass, NUMBER) == "120"
    assert hass.states.get(NUMBER).attributes["end_time"] == "2026-11-21T13:00:00+00:00"
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("external", "120.0")
    assert state(hass, EXTERNAL) == "120.0"
    assert state(hass, EXTERNAL_END) == "2026-11-21T13:00:00+00:00"
    assert state(hass, PENDING) == "none"
    assert state(hass, SLOT) == iso(NOW + 302)
    assert [event.data for event in events] == [
        {
            "device_id": group_device(hass),
            "parameter": "group_limit",
            "requested": 120,
            "end_time": "2026-11-21T13:00:00+00:00",
            "result": "applied",
            "actual": 120,
            "actual_end_time": "2026-11-21T13:00:00+00:00",
            "attempt": 1,
            "will_retry": False,
        }
    ]
    assert_command_results(events)

    # An hour later the limit has ended: back to the default, nothing external any more.
    await travel(hass, freezer, timedelta(minutes=60), step=timedelta(minutes=5))
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("default", "400.0")
    assert state(hass, EXTERNAL) == STATE_UNKNOWN
    assert state(hass, EXTERNAL_END) == STATE_UNKNOWN
    assert state(hass, NUMBER) == STATE_UNKNOWN
    assert len(posts(viriciti_sim)) == 1
    assert_key_never_in_a_url(viriciti_sim)


async def test_number_in_summer_writes_plus_two_hours(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """In July Amsterdam is at +02:00, and the option's 90 minutes are used."""
    freezer.move_to("2027-07-01 10:00:00+00:00")
    viriciti_sim.add_group("depot-s", "Depot Summer", time_zone=ZONE, accepts_external_limits=True)
    viriciti_sim.grant(VIRICITI_KEY, "depot-s")
    await setup_entry(
        hass, make_entry(viriciti_sim, "depot-s", "Depot Summer", default_duration=90)
    )
    await set_number(hass, 75, "number.depot_summer_requested_limit")
    assert posts(viriciti_sim, f"{PREFIX}/grouplimit/depot-s") == [
        {"groupLimit": 75, "endTime": "2027-07-01T13:30:00.000+02:00"}
    ]
    assert state(hass, "sensor.depot_summer_external_expiry") == "2027-07-01T11:30:00+00:00"


@pytest.mark.usefixtures("init_viriciti")
async def test_number_refuses_a_fraction_and_sends_nothing(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator
) -> None:
    """The API takes whole kW only: 12.5 is refused with a translated error."""
    with pytest.raises(ServiceValidationError) as err:
        await set_number(hass, 12.5)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "group_limit_invalid"
    assert err.value.translation_placeholders == {"value": "12.5"}
    assert str(err.value).startswith("A group limit must be a whole number of kW from 1 to 100000")
    assert posts(viriciti_sim) == []


# The action


@pytest.mark.usefixtures("init_viriciti")
@pytest.mark.parametrize(
    ("extra", "end_time", "end_utc"),
    [
        pytest.param(
            {"end_time": "2026-11-21T15:30:00+01:00"},
            "2026-11-21T15:30:00.000+01:00",
            "2026-11-21T14:30:00+00:00",
            id="end_time",
        ),
        pytest.param(
            # The end falls in summer time: its own offset is written.
            {"end_time": "2027-07-01T12:00:00+00:00"},
            "2027-07-01T14:00:00.000+02:00",
            "2027-07-01T12:00:00+00:00",
            id="end_time_in_summer",
        ),
        pytest.param(
            {"duration": {"hours": 2, "minutes": 15}},
            "2026-11-21T15:15:00.000+01:00",
            "2026-11-21T14:15:00+00:00",
            id="duration",
        ),
        pytest.param(
            {"duration": "00:30:00"},
            "2026-11-21T13:30:00.000+01:00",
            "2026-11-21T12:30:00+00:00",
            id="duration_text",
        ),
        pytest.param(
            {}, "2026-11-21T14:00:00.000+01:00", "2026-11-21T13:00:00+00:00", id="default"
        ),
    ],
)
async def test_action_posts_the_limit_with_its_end(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    extra: dict[str, Any],
    end_time: str,
    end_utc: str,
) -> None:
    """An end time, a duration, or neither (the option's hour): posted in the group's zone."""
    await set_group_limit(hass, device_id=group_device(hass), limit=90, **extra)
    assert posts(viriciti_sim) == [{"groupLimit": 90, "endTime": end_time}]
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("external", "90.0")
    assert state(hass, EXTERNAL_END) == end_utc
    assert_key_never_in_a_url(viriciti_sim)


@pytest.mark.usefixtures("init_viriciti")
@pytest.mark.parametrize(
    ("data", "key"),
    [
        pytest.param({"limit": 0}, "group_limit_invalid", id="zero"),
        pytest.param({"limit": -5}, "group_limit_invalid", id="negative"),
        pytest.param({"limit": 12.5}, "group_limit_invalid", id="fraction"),
        # Found by tests/fuzz: a huge limit escaped as TypeError (an int beyond 64 bits).
        pytest.param({"limit": 100_001}, "group_limit_invalid", id="above_max"),
        pytest.param({"limit": 10**30}, "group_limit_invalid", id="huge"),
        pytest.param({"limit": 1e30}, "group_limit_invalid", id="huge_float"),
        # ... and ends beyond the calendar escaped as OverflowError.
        pytest.param(
            {"limit": 50, "end_time": "9999-12-31T23:59:59"}, "end_time_out_of_range", id="y9999"
        ),
        pytest.param(
            {"limit": 50, "end_time": "0001-01-01T00:00:00+05:00"},
            "end_time_out_of_range",
            id="year_1",
        ),
        pytest.param(
            {"limit": 50, "duration": {"days": 999_999_999}},
            "end_time_out_of_range",
            id="millennia",
        ),
        pytest.param(
            {"limit": 50, "end_time": "2026-11-21T12:59:00+01:00"},
            "end_time_in_past",
            id="end_in_past",
        ),
        pytest.param(
            {"limit": 50, "end_time": "2026-11-21T13:00:00+01:00"}, "end_time_in_past", id="now"
        ),
        pytest.param(
            {"limit": 50, "end_time": "2026-11-21T15:00:00+01:00", "duration": {"hours": 1}},
            "end_time_and_duration",
            id="both",
        ),
        pytest.param({"limit": 50, "duration": {"minutes": 0}}, "duration_not_positive", id="d0"),
        pytest.param(
            {"limit": 50, "duration": "-00:10:00"}, "duration_not_positive", id="d_negative"
        ),
    ],
)
async def test_invalid_action_input_is_refused_and_nothing_is_sent(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, data: dict[str, Any], key: str
) -> None:
    """Every bad input is a translated validation error, and the cloud hears nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await set_group_limit(hass, device_id=group_device(hass), **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert posts(viriciti_sim) == []
    assert state(hass, PENDING) == "none"


@pytest.mark.usefixtures("init_viriciti")
@pytest.mark.parametrize("duration", [1e15, {"days": 1e300}, "inf"])
async def test_action_duration_beyond_a_timedelta_is_invalid(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, duration: object
) -> None:
    """A duration no timedelta holds is invalid data (found by tests/fuzz: OverflowError)."""
    with pytest.raises(vol.Invalid):
        await set_group_limit(hass, device_id=group_device(hass), limit=50, duration=duration)
    assert posts(viriciti_sim) == []


async def test_action_for_other_devices_is_refused(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A charge station, another integration's device or an unknown id: refused, nothing sent."""
    station = group_device(hass, f"viriciti_{GROUP}_CS-01")
    with pytest.raises(ServiceValidationError) as err:
        await set_group_limit(hass, device_id=station, limit=50)
    assert err.value.translation_key == "not_a_viriciti_group"

    other = device_registry.async_get_or_create(
        config_entry_id=init_viriciti.entry_id, identifiers={("other", "x")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await set_group_limit(hass, device_id=other.id, limit=50)
    assert err.value.translation_key == "not_a_viriciti_group"

    with pytest.raises(ServiceValidationError) as err:
        await set_group_limit(hass, device_id="0123456789abcdef", limit=50)
    assert err.value.translation_key == "device_not_found"
    assert err.value.translation_placeholders == {"device_id": "0123456789abcdef"}
    assert posts(viriciti_sim) == []


async def test_action_for_an_unloaded_group_is_refused(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, init_viriciti: MockConfigEntry
) -> None:
    """A group whose entry is not loaded cannot take a limit: refused, nothing sent."""
    device = group_device(hass)
    assert await hass.config_entries.async_unload(init_viriciti.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await set_group_limit(hass, device_id=device, limit=50)
    assert err.value.translation_key == "not_a_viriciti_group"
    assert posts(viriciti_sim) == []


# Coalescing and spacing


@pytest.mark.usefixtures("init_viriciti")
async def test_three_requests_in_one_slot_make_two_posts(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """The first goes at once; of the next two only the newest goes, when the 5 minutes are over."""
    await set_number(hass, 100)
    await travel(hass, freezer, timedelta(minutes=1))
    await set_number(hass, 110)
    await travel(hass, freezer, timedelta(minutes=1))
    await set_group_limit(hass, device_id=group_device(hass), limit=120, duration="00:30:00")

    assert [body["groupLimit"] for body in posts(viriciti_sim)] == [100]
    # What waits and when it goes are shown beside the number, which shows the limit in force.
    assert (state(hass, PENDING), *_details(hass)) == (
        "group_limit",
        "120 kW",
        "2026-11-21T13:32:00+01:00",
    )
    assert hass.states.get(PENDING).attributes["queued"] == {
        "group_limit": "120 kW until 2026-11-21T13:32:00+01:00"
    }
    assert state(hass, SLOT) == iso(NOW + 302)
    assert state(hass, NUMBER) == "100"
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("external", "100.0")

    await travel(hass, freezer, timedelta(minutes=2))
    assert len(posts(viriciti_sim)) == 1
    await travel(hass, freezer, timedelta(minutes=1, seconds=30), step=timedelta(seconds=15))
    sent = viriciti_sim.requests_to("POST", LIMIT_PATH)
    assert [r.body for r in sent] == [
        {"groupLimit": 100, "endTime": "2026-11-21T14:00:00.000+01:00"},
        {"groupLimit": 120, "endTime": "2026-11-21T13:32:00.000+01:00"},
    ]
    assert sent[1].time - sent[0].time == pytest.approx(302, abs=15)
    assert [r.status for r in sent] == [200, 200]
    assert state(hass, PENDING) == "none"
    assert state(hass, SLOT) == iso(sent[1].time + 302)
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("external", "120.0")
    assert state(hass, NUMBER) == "120"

    # Nothing more goes out.
    await travel(hass, freezer, timedelta(minutes=15), step=timedelta(minutes=5))
    assert len(posts(viriciti_sim)) == 2


@pytest.mark.usefixtures("init_viriciti")
async def test_asking_for_the_limit_in_force_sends_nothing(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator
) -> None:
    """The same limit with the same end as the one in force is no new request."""
    device = group_device(hass)
    await set_group_limit(hass, device_id=device, limit=100, end_time="2026-11-21T15:00:00+01:00")
    await set_group_limit(hass, device_id=device, limit=100, end_time="2026-11-21T15:00:00+01:00")
    assert len(posts(viriciti_sim)) == 1
    assert state(hass, PENDING) == "none"


@pytest.mark.usefixtures("init_viriciti")
async def test_an_automation_burst_stays_one_post_per_5_minutes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """A new value every 10 s for 30 minutes: at most 7 POSTs, never a 429, the newest last."""
    value = 100
    for step in range(180):
        value = 100 + step % 37
        await set_number(hass, value)
        await travel(hass, freezer, timedelta(seconds=10))
    await travel(hass, freezer, timedelta(minutes=6), step=timedelta(seconds=30))

    sent = viriciti_sim.requests_to("POST", LIMIT_PATH)
    assert 6 <= len(sent) <= 7
    assert all(r.status == 200 for r in sent), [r.result for r in sent]
    assert all(b.time - a.time >= 300 for a, b in pairwise(sent))
    assert sent[-1].body["groupLimit"] == value  # type: ignore[index]
    assert viriciti_sim.active_limit(GROUP) == ("external", value)
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("external", f"{value}.0")


async def test_a_read_racing_a_post_does_not_make_it_fail(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The regular read overtakes the POST: the limit is still applied, and sent once."""
    real_post = ViricitiClient.set_group_limit

    async def overtaken(self: ViricitiClient, limit: int, end_time: datetime) -> ViricitiGroupLimit:
        # The regular read leaves while the POST is on its way and is answered first.
        await running_group(init_viriciti).limit.async_refresh()
        return await real_post(self, limit, end_time)

    monkeypatch.setattr(ViricitiClient, "set_group_limit", overtaken)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, 100)
    assert viriciti_sim.active_limit(GROUP) == ("external", 100)

    await travel(hass, freezer, timedelta(minutes=15), step=timedelta(minutes=1))
    assert len(viriciti_sim.requests_to("POST", LIMIT_PATH)) == 1
    assert [(e.data["result"], e.data["attempt"]) for e in events] == [("applied", 1)]
    assert state(hass, PENDING) == "none"


# Refusals and failures


async def test_removing_a_group_deletes_its_repair_and_keeps_the_others(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, issue_registry: ir.IssueRegistry
) -> None:
    """A group removed from the entry takes its repair issue along; its siblings keep theirs."""
    viriciti_sim.add_station(OTHER_GROUP, "CS-S1", [10])
    entry = await setup_entry(
        hass,
        key_entry(
            viriciti_sim,
            group_subentry(REFUSING_GROUP, "Depot West"),
            group_subentry(OTHER_GROUP, "Depot South"),
        ),
    )
    for number in ("number.depot_west_requested_limit", "number.depot_south_requested_limit"):
        with pytest.raises(HomeAssistantError):
            await set_number(hass, 50, number)
    west, south = (
        next(s for s in entry.subentries.values() if s.unique_id == group)
        for group in (REFUSING_GROUP, OTHER_GROUP)
    )
    ids = [f"external_limits_not_allowed_{entry.entry_id}_{s.subentry_id}" for s in (west, south)]
    assert [issue_registry.async_get_issue(DOMAIN, i) is not None for i in ids] == [True, True]

    assert hass.config_entries.async_remove_subentry(entry, west.subentry_id)
    await hass.async_block_till_done()
    assert [issue_registry.async_get_issue(DOMAIN, i) is not None for i in ids] == [False, True]
    assert find_device(hass, f"viriciti_{REFUSING_GROUP}") is None
    assert hass.states.get("number.depot_west_requested_limit") is None
    assert state(hass, "number.depot_south_requested_limit") is not None


async def test_a_group_refusing_external_limits_raises_a_repair_and_is_not_retried(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The vendor must enable external limits: the user is told so, once, and nothing repeats.

    The repair links to the group's page instead of naming the group: Home Assistant puts it,
    unredacted, in the diagnostics a user shares.
    """
    entry = await setup_entry(hass, make_entry(viriciti_sim, REFUSING_GROUP, "Depot West"))
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 50, "number.depot_west_requested_limit")
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "external_limits_not_allowed"
    assert err.value.translation_placeholders == {"group": "Depot West"}
    assert "Ask ViriCiti to enable external limits" in str(err.value)

    subentry_id = only_group(entry).subentry_id
    issue_id = f"external_limits_not_allowed_{entry.entry_id}_{subentry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "external_limits_not_allowed"
    device = find_device(hass, f"viriciti_{REFUSING_GROUP}")
    assert device is not None
    assert issue.translation_placeholders == {"device_url": f"/config/devices/device/{device.id}"}
    assert issue.severity is ir.IssueSeverity.ERROR
    identifiers = [VIRICITI_KEY, REFUSING_GROUP, "Depot West", "CS-W1"]
    dump = await download_diagnostics(hass, hass_client, hass_admin_user, entry)
    assert issue_ids(dump) == [issue_id]
    assert leaked(dump, identifiers) == set()
    assert [e.data["result"] for e in events] == ["refused"]
    assert_command_results(events)

    path = f"{PREFIX}/grouplimit/{REFUSING_GROUP}"
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(minutes=5))
    assert [r.result for r in viriciti_sim.requests_to("POST", path)] == ["external_not_allowed"]
    assert state(hass, "sensor.depot_west_pending_command") == "none"
    assert state(hass, "sensor.depot_west_limit_source") == "default"

    # Once ViriCiti enables them, a limit goes through and the repair goes away.
    viriciti_sim.set_accepts_external_limits(REFUSING_GROUP, True)
    await set_number(hass, 50, "number.depot_west_requested_limit")
    assert [r.status for r in viriciti_sim.requests_to("POST", path)] == [403, 200]
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


@pytest.mark.usefixtures("init_viriciti")
async def test_a_failed_post_is_sent_again_in_the_next_slot(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """A 500 on the POST: the limit waits, visibly, and goes out 5 minutes later."""
    viriciti_sim.inject_fault("http_500", path_contains="/grouplimit/")
    await set_number(hass, 100)
    assert [r.status for r in viriciti_sim.requests_to("POST", LIMIT_PATH)] == [500]
    assert (state(hass, PENDING), *_details(hass)) == (
        "group_limit",
        "100 kW",
        "2026-11-21T14:00:00+01:00",
    )
    assert state(hass, SLOT) == iso(NOW + 302)
    assert state(hass, NUMBER) == STATE_UNKNOWN  # no external limit in force yet

    await travel(hass, freezer, timedelta(minutes=6), step=timedelta(seconds=30))
    sent = viriciti_sim.requests_to("POST", LIMIT_PATH)
    assert [r.status for r in sent] == [500, 200]
    assert sent[1].time - sent[0].time >= 300
    assert sent[1].body == {"groupLimit": 100, "endTime": "2026-11-21T14:00:00.000+01:00"}
    assert state(hass, PENDING) == "none"
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("external", "100.0")
    assert state(hass, NUMBER) == "100"


@pytest.mark.usefixtures("init_viriciti")
async def test_a_limit_that_does_not_stick_is_tried_three_times_then_reported(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Taken without an answer, but the read after it shows no limit: 3 attempts, then failed."""
    real_post = ViricitiClient.set_group_limit

    async def lost(self: ViricitiClient, limit: int, end_time: datetime) -> ViricitiGroupLimit:
        # ViriCiti takes it, then something else clears it before the client reads back.
        await real_post(self, limit, end_time)
        viriciti_sim.clear_external_limit(GROUP)
        return await self.get_group_limit()

    monkeypatch.setattr(ViricitiClient, "set_group_limit", lost)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, 100)
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(seconds=30))

    sent = viriciti_sim.requests_to("POST", LIMIT_PATH)
    assert [r.body["groupLimit"] for r in sent] == [100, 100, 100]  # type: ignore[index]
    assert all(b.time - a.time >= 300 for a, b in pairwise(sent))
    assert [(e.data["result"], e.data["attempt"], e.data["will_retry"]) for e in events] == [
        ("failed", 1, True),
        ("failed", 2, True),
        ("failed", 3, False),
    ]
    assert events[-1].data["device_id"] == group_device(hass)
    assert events[-1].data["requested"] == 100
    # The read after each attempt shows no external limit.
    assert [(e.data["actual"], e.data["actual_end_time"]) for e in events] == [(None, None)] * 3
    assert_command_results(events)
    assert state(hass, PENDING) == "none"
    assert (state(hass, SOURCE), state(hass, ACTIVE)) == ("default", "400.0")
    assert_key_never_in_a_url(viriciti_sim)


@pytest.mark.usefixtures("init_viriciti")
async def test_a_limit_that_would_end_before_its_slot_is_refused(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """With the slot taken for 5 minutes, a 2-minute limit could only go out after its end."""
    await set_number(hass, 120)
    assert len(posts(viriciti_sim)) == 1

    with pytest.raises(ServiceValidationError) as err:
        await set_group_limit(
            hass, device_id=group_device(hass), limit=90, duration=timedelta(minutes=2)
        )
    assert err.value.translation_key == "limit_ends_before_slot"
    assert err.value.translation_placeholders["slot"].startswith("2026-11-21T04:05:02")
    # Nothing waits: the 120 kW limit stays, nothing more goes out.
    assert state(hass, PENDING) == "none"
    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(minutes=1))
    assert len(posts(viriciti_sim)) == 1
    assert viriciti_sim.active_limit(GROUP) == ("external", 120)


# A limit that ends while it waits


def assert_expired(events: list[Any], hass: HomeAssistant, attempt: int) -> None:
    """Check the last event: the 90 kW limit until 13:06 UTC expired, nothing read back."""
    assert events[-1].data == {
        "device_id": group_device(hass),
        "parameter": "group_limit",
        "requested": 90,
        "end_time": "2026-11-21T12:06:00+00:00",
        "result": "expired",
        "actual": None,
        "actual_end_time": None,
        "attempt": attempt,
        "will_retry": False,
    }
    assert_command_results(events)


def lose_every_limit(monkeypatch: pytest.MonkeyPatch, sim: ViricitiSimulator) -> None:
    """Let ViriCiti take each limit and something else clear it before it is read back."""
    real_post = ViricitiClient.set_group_limit

    async def lost(self: ViricitiClient, limit: int, end_time: datetime) -> ViricitiGroupLimit:
        await real_post(self, limit, end_time)
        sim.clear_external_limit(GROUP)
        return await self.get_group_limit()

    monkeypatch.setattr(ViricitiClient, "set_group_limit", lost)


@pytest.mark.usefixtures("init_viriciti")
@pytest.mark.parametrize(
    ("why", "before"),
    [
        pytest.param("http_500", [], id="failed_post"),
        pytest.param("http_429", [], id="rate_limited"),
        pytest.param("not_applied", [("failed", 1, True)], id="not_applied"),
    ],
)
async def test_a_limit_ending_before_its_next_slot_expires_unsent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    why: str,
    before: list[tuple[str, int, bool]],
) -> None:
    """Asked for 6 minutes, the limit must wait 5 for another try: 58 s would be too short.

    It is dropped at its slot, unsent, and the automation hears 'expired'.
    """
    if why == "not_applied":
        lose_every_limit(monkeypatch, viriciti_sim)
    else:
        viriciti_sim.inject_fault(why, path_contains="/grouplimit/")
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_group_limit(
        hass, device_id=group_device(hass), limit=90, duration=timedelta(minutes=6)
    )
    assert len(posts(viriciti_sim)) == 1
    assert [(e.data["result"], e.data["attempt"], e.data["will_retry"]) for e in events] == before
    assert (state(hass, PENDING), *_details(hass)) == (
        "group_limit",
        "90 kW",
        "2026-11-21T13:06:00+01:00",
    )

    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(seconds=30))
    assert len(posts(viriciti_sim)) == 1
    assert len(events) == len(before) + 1
    assert_expired(events, hass, attempt=2 if why == "not_applied" else 1)
    assert state(hass, PENDING) == "none"
    assert state(hass, NUMBER) == STATE_UNKNOWN
    # The one wording of every vendor's writer: the command as the pending sensor shows it.
    assert "90 kW until 2026-11-21T13:06:00+01:00 ended before its slot; it was not sent" in (
        caplog.text
    )


async def test_a_number_limit_ending_before_its_next_slot_expires_unsent(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """The number's limit (6 minutes by the group's option) expires the same way."""
    await setup_entry(hass, make_entry(viriciti_sim, default_duration=6))
    viriciti_sim.inject_fault("http_500", path_contains="/grouplimit/")
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, 90)
    assert state(hass, NUMBER) == STATE_UNKNOWN  # never in force: it waits in Pending command
    assert (state(hass, PENDING), *_details(hass)) == (
        "group_limit",
        "90 kW",
        "2026-11-21T13:06:00+01:00",
    )

    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(seconds=30))
    assert [r.status for r in viriciti_sim.requests_to("POST", LIMIT_PATH)] == [500]
    assert len(events) == 1
    assert_expired(events, hass, attempt=1)
    assert state(hass, NUMBER) == STATE_UNKNOWN


async def test_a_limit_ending_while_home_assistant_is_down_expires_at_start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """The waiting limit is saved; back after its end, it is dropped unsent and reported."""
    viriciti_sim.inject_fault("http_500", path_contains="/grouplimit/")
    await set_group_limit(
        hass, device_id=group_device(hass), limit=90, duration=timedelta(minutes=6)
    )
    assert (state(hass, PENDING), *_details(hass)) == (
        "group_limit",
        "90 kW",
        "2026-11-21T13:06:00+01:00",
    )
    assert await hass.config_entries.async_unload(init_viriciti.entry_id)
    await hass.async_block_till_done()
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(minutes=5))

    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    assert await hass.config_entries.async_setup(init_viriciti.entry_id)
    await hass.async_block_till_done()
    await travel(hass, freezer, timedelta(seconds=30))
    assert len(events) == 1
    assert_expired(events, hass, attempt=1)
    # The next read (5 minutes on) shows nothing waiting; nothing went out.
    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=30))
    assert [r.status for r in viriciti_sim.requests_to("POST", LIMIT_PATH)] == [500]
    assert state(hass, PENDING) == "none"


@pytest.mark.usefixtures("init_viriciti")
async def test_an_expired_limit_leaves_the_pending_sensor_and_the_number_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, viriciti_sim: ViricitiSimulator
) -> None:
    """When 'expired' is fired, the entities stop showing the limit that will never go out."""
    viriciti_sim.inject_fault("http_500", path_contains="/grouplimit/")
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_group_limit(
        hass, device_id=group_device(hass), limit=90, duration=timedelta(minutes=6)
    )
    await travel(hass, freezer, timedelta(seconds=330), step=timedelta(seconds=30))
    assert [e.data["result"] for e in events] == ["expired"]
    assert state(hass, PENDING) == "none"
    assert state(hass, NUMBER) == STATE_UNKNOWN


# A limit the group refuses with a 4xx: reported once, never posted again


@pytest.mark.usefixtures("init_viriciti")
async def test_a_limit_refused_with_a_400_fails_the_action_and_is_not_posted_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A status the document does not name is no reason to post the limit every 5 minutes."""
    # The group cannot read the end time it is sent: a 400, as for any bad input.
    monkeypatch.setattr(simulators.viriciti, "_end_time", lambda value, zone: None)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 100)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "write_refused"
    assert err.value.translation_placeholders["command"] == (
        "100 kW until 2026-11-21T14:00:00+01:00"
    )
    assert "endTime must be an ISO 8601 time" in err.value.translation_placeholders["error"]
    assert VIRICITI_KEY not in str(err.value)

    assert [r.status for r in viriciti_sim.requests_to("POST", LIMIT_PATH)] == [400]
    assert [e.data for e in events] == [
        {
            "device_id": group_device(hass),
            "parameter": "group_limit",
            "requested": 100,
            "end_time": "2026-11-21T13:00:00+00:00",
            "result": "refused",
            "actual": None,
            "actual_end_time": None,
            "attempt": 1,
            "will_retry": False,
        }
    ]
    assert_command_results(events)
    assert state(hass, PENDING) == "none"
    pending = hass.states.get(PENDING).attributes
    assert (pending["queued"], pending["awaiting_confirmation"]) == ({}, {})

    # Past several 5-minute slots and reads: nothing more goes out, nothing more is said.
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(minutes=1))
    assert len(viriciti_sim.requests_to("POST", LIMIT_PATH)) == 1
    assert len(events) == 1
    assert (state(hass, SOURCE), state(hass, NUMBER)) == ("default", STATE_UNKNOWN)


class _TimingOut:
    """A session whose next POST gets no answer in time (it never reaches the group)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.timed_out = 0

    def request(self, method: str, url: URL, **kwargs: Any) -> Any:
        if method == "POST" and not self.timed_out:
            self.timed_out += 1
            raise TimeoutError
        return self._session.request(method, url, **kwargs)


async def test_a_post_without_an_answer_in_time_is_sent_again_in_the_next_slot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """A timeout is no refusal: the limit waits, visibly, and goes out 5 minutes later."""
    client = running_group(init_viriciti).limit.client
    session = client._session = _TimingOut(client._session)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_number(hass, 100)
    assert session.timed_out == 1
    assert state(hass, PENDING) == "group_limit"
    assert posts(viriciti_sim) == []

    await travel(hass, freezer, timedelta(minutes=6), step=timedelta(seconds=30))
    assert posts(viriciti_sim) == [{"groupLimit": 100, "endTime": "2026-11-21T14:00:00.000+01:00"}]
    assert [e.data["result"] for e in events] == ["applied"]
    assert state(hass, PENDING) == "none"


@pytest.mark.usefixtures("init_viriciti")
async def test_a_limit_for_a_group_viriciti_no_longer_knows_is_not_posted_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 404 on the POST: the group is gone, and posting every 5 minutes will not bring it back."""
    calls = 0

    async def gone(self: ViricitiClient, limit: int, end_time: datetime) -> ViricitiGroupLimit:
        nonlocal calls
        calls += 1
        raise NotFoundError("ViriCiti POST grouplimit: charger group not found (HTTP 404)")

    monkeypatch.setattr(ViricitiClient, "set_group_limit", gone)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    with pytest.raises(HomeAssistantError) as err:
        await set_number(hass, 100)
    assert err.value.translation_key == "group_not_found"
    assert [e.data["result"] for e in events] == ["refused"]
    assert state(hass, PENDING) == "none"
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(minutes=1))
    assert calls == 1
    assert len(events) == 1
