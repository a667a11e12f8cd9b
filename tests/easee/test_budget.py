"""The Easee account budget: at most 100 requests in any 5 minutes, whatever the cloud says."""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import AsyncGenerator, Iterator
from datetime import timedelta
from itertools import pairwise
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_PASSWORD,
    CONF_USERNAME,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED
from custom_components.ev_charge_control.vendors.easee.account import DATA_EASEE_ACCOUNTS
from custom_components.ev_charge_control.vendors.easee.const import CONF_STATE_INTERVAL
from custom_components.ev_charge_control.vendors.easee.runtime import EaseeRuntime
from simulators.easee import EaseeRequest, EaseeSimulator
from tests.conftest import RUNTIME_SECRETS, setup_entry, travel
from tests.dumps import download_diagnostics, issue_ids, leaked
from tests.easee.bans import BAN_FORMS, blocked_issue_id
from tests.easee.conftest import CHARGERS, EASEE_PASSWORD, EASEE_USERNAME, USER_ID, state_reads

LIMIT = 100
WINDOW = 300.0
DAY = 86400.0
# The chargers' state comes with their site's: Garage's with site 1, Office 1's with site 2.
GARAGE_STATE = "/api/sites/1/state"
OFFICE_STATE = "/api/sites/2/state"
GARAGE_DYNAMIC = "number.garage_dynamic_limit"

# A big account: 40 chargers, ten on each of four circuits on two sites.
BIG_CHARGERS = tuple(f"EB{number:06d}" for number in range(1, 41))
BIG_CIRCUITS = {11: 1, 12: 1, 21: 2, 22: 2}


def busiest_window(requests: list[EaseeRequest]) -> int:
    """Return the most requests the simulator saw in any 300 s (sliding, as Easee counts)."""
    times = sorted(request.time for request in requests)
    return max(
        (index + 1 - bisect_right(times, moment - WINDOW) for index, moment in enumerate(times)),
        default=0,
    )


def refused(sim: EaseeSimulator) -> list[EaseeRequest]:
    """Return every request the simulated cloud answered 'too many requests' or 'blocked'."""
    return [request for request in sim.requests if request.status in (429, 403)]


def times_of(sim: EaseeSimulator, method: str, path: str) -> list[float]:
    """Return when the simulator saw requests with this method and path."""
    return [request.time for request in sim.requests_to(method, path)]


def api_requests_since(sim: EaseeSimulator, moment: float) -> list[EaseeRequest]:
    """Return the requests that reached the simulator after ``moment``."""
    return [request for request in sim.requests if request.time > moment]


def dynamic_path(charger: str) -> str:
    """Return the path a dynamic charger current is written to."""
    return f"/api/chargers/{charger}/commands/set_dynamic_charger_current"


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


def easee_entry_for(sim: EaseeSimulator, **options: object) -> MockConfigEntry:
    """Return a config entry of the test account on ``sim`` with these options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Easee {EASEE_USERNAME}",
        unique_id=str(USER_ID),
        data={
            CONF_VENDOR: "easee",
            CONF_USERNAME: EASEE_USERNAME,
            CONF_PASSWORD: EASEE_PASSWORD,
            CONF_BASE_URL: sim.base_url,
        },
        options=options,
    )


async def restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload the entry and set it up again as after a restart: the account comes from disk."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    hass.data[DATA_EASEE_ACCOUNTS].clear()
    # A started Home Assistant shows no repair issue that was not raised again since.
    ir.async_delete_issue(hass, DOMAIN, blocked_issue_id(entry))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def big_sim(socket_enabled: None) -> AsyncGenerator[EaseeSimulator]:
    """Start a simulator whose account has 40 chargers on four circuits."""
    sim = EaseeSimulator(latency_scale=0)
    sim.hub.enabled = False  # read by REST, as while the stream is down
    sim.add_account(EASEE_USERNAME, EASEE_PASSWORD, user_id=USER_ID)
    for site in sorted(set(BIG_CIRCUITS.values())):
        sim.add_site(USER_ID, site, f"Depot {site}")
    for circuit, site in BIG_CIRCUITS.items():
        sim.add_circuit(site, circuit, panel_name=str(circuit), rated_current=63, max_current=63)
    for index, charger in enumerate(BIG_CHARGERS):
        sim.add_charger(
            charger,
            list(BIG_CIRCUITS)[index // 10],
            name=f"Bay {index + 1}",
            master=index % 10 == 0,
            car_connected=index % 3 == 0,
        )
    await sim.start()
    yield sim
    await sim.stop()
    RUNTIME_SECRETS.update(sim.issued_secrets())


@pytest.fixture
def one_by_one() -> Iterator[None]:
    """Read every charger on its own, as chargers on no readable site are (the budget's worst)."""
    with patch.object(EaseeRuntime, "reads_site_of", return_value=False):
        yield


@pytest.fixture
async def init_big(
    hass: HomeAssistant, one_by_one: None, big_sim: EaseeSimulator
) -> MockConfigEntry:
    """Set up the big account, its chargers read one by one (more than the budget allows)."""
    return await setup_entry(hass, easee_entry_for(big_sim))


# A day with the default account


@pytest.mark.day_long
@pytest.mark.parametrize(
    ("options", "interval"),
    [({}, 60), ({CONF_STATE_INTERVAL: 300}, 300)],
    ids=["default", "state_interval_300"],
)
async def test_a_day_of_polling_stays_far_below_the_limits(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    options: dict[str, object],
    interval: int,
) -> None:
    """Five chargers for 24 h: each read as often as promised and never more; never refused."""
    await setup_entry(hass, easee_entry_for(easee_sim, **options))
    await travel(hass, freezer, timedelta(hours=24), step=timedelta(seconds=60))

    assert busiest_window(easee_sim.requests) <= LIMIT
    assert refused(easee_sim) == []
    reads_per_day = int(DAY // interval)
    for charger in CHARGERS:
        states = [r.time for r in state_reads(easee_sim, charger)]
        # One read at set-up, then one per interval: never two in one interval, none skipped.
        assert reads_per_day - 1 <= len(states) <= reads_per_day + 1
        assert min(later - earlier for earlier, later in pairwise(states)) >= interval
        assert max(later - earlier for earlier, later in pairwise(states)) <= interval + 60
        # The config comes with the site's state; the charge plans are read on their own.
        assert times_of(easee_sim, "GET", f"/api/chargers/{charger}/config") == []
        for leaf in ("basic_charge_plan", "weekly_charge_plan"):
            reads = times_of(easee_sim, "GET", f"/api/chargers/{charger}/{leaf}")
            assert 96 <= len(reads) <= 97
            assert min(later - earlier for earlier, later in pairwise(reads)) >= 900
    for circuit, site in ((11, 1), (12, 1), (21, 2)):
        settings = times_of(easee_sim, "GET", f"/api/sites/{site}/circuits/{circuit}/settings")
        assert 96 <= len(settings) <= 97
        assert min(later - earlier for earlier, later in pairwise(settings)) >= 900
    structure = times_of(easee_sim, "GET", "/api/chargers")
    assert 4 <= len(structure) <= 5
    assert min(later - earlier for earlier, later in pairwise(structure)) >= 6 * 3600
    logins = times_of(easee_sim, "POST", "/api/accounts/login")
    assert len(logins) == 1
    # An access token lives an hour (expiresIn 3600, as Easee's do): one refresh an hour, each
    # shortly before the token it renews runs out, and no other.
    refreshes = times_of(easee_sim, "POST", "/api/accounts/refresh_token")
    assert easee_sim.access_token_lifetime == 3600
    assert len(refreshes) in (23, 24)
    for earlier, later in pairwise([logins[0], *refreshes]):
        assert 3600 - 120 <= later - earlier <= 3600


# A big account


@pytest.mark.usefixtures("one_by_one")
async def test_from_the_flows_login_on_never_101_requests_in_5_minutes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, big_sim: EaseeSimulator
) -> None:
    """Adding a big account: its login, the first reads and a burst of writes share one window.

    The set-up alone wants more reads than the budget gives (its chargers read one by one), and
    40 writes want the rest: if the flow's login were not counted, the cloud would see 101
    requests in 5 minutes.
    """
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "easee"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_USERNAME: EASEE_USERNAME,
            CONF_PASSWORD: EASEE_PASSWORD,
            ADVANCED: {CONF_BASE_URL: big_sim.base_url},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    for number in range(1, len(BIG_CHARGERS) + 1):
        entity_id = f"number.bay_{number}_dynamic_limit"
        if hass.states.get(entity_id).state != STATE_UNAVAILABLE:  # read at set-up
            await set_number(hass, entity_id, 10)
    assert big_sim.requests[0].path == "/api/accounts/login"
    # Every request the cloud saw is in the account's window, the flow's login first of all;
    # reads and writes took what was left (the budget ran out before every charger was read).
    window = hass.data[DATA_EASEE_ACCOUNTS][str(USER_ID)].window
    assert sorted(window.sent) == pytest.approx(sorted(r.time for r in big_sim.requests), abs=1)
    assert len(window.sent) >= LIMIT - 1

    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(seconds=10))
    assert len(big_sim.requests_to("POST", "/api/accounts/login")) == 1
    assert busiest_window(big_sim.requests) <= LIMIT
    assert refused(big_sim) == []


@pytest.mark.day_long
async def test_forty_chargers_share_the_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    big_sim: EaseeSimulator,
    init_big: MockConfigEntry,
) -> None:
    """40 chargers want more than the budget: it is shared, and nobody is refused or starved."""
    await travel(hass, freezer, timedelta(hours=2), step=timedelta(seconds=30))

    assert busiest_window(big_sim.requests) <= LIMIT
    assert refused(big_sim) == []
    for charger in BIG_CHARGERS:
        states = [r.time for r in state_reads(big_sim, charger)]
        # Less often than every minute (the budget does not allow it), but regularly.
        assert len(states) >= 12, charger
        gaps = [later - earlier for earlier, later in pairwise(states)]
        assert min(gaps) >= 60, charger
        assert max(gaps) <= 600, charger
    counts = [len(state_reads(big_sim, charger)) for charger in BIG_CHARGERS]
    assert min(counts) >= max(counts) / 2
    for index in range(1, 41):
        assert hass.states.get(f"sensor.bay_{index}_status").state != STATE_UNAVAILABLE


@pytest.mark.day_long
async def test_forty_chargers_each_get_their_config_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    big_sim: EaseeSimulator,
    init_big: MockConfigEntry,
) -> None:
    """Every charger's config and charge plan are read about every 15 minutes, big account or not.

    The budget has room: 40 chargers x 2 reads per 15 minutes is 27 reads per 5 minutes.
    """
    await travel(hass, freezer, timedelta(hours=2), step=timedelta(seconds=30))

    for charger in BIG_CHARGERS:
        for leaf in ("config", "basic_charge_plan", "weekly_charge_plan"):
            reads = times_of(big_sim, "GET", f"/api/chargers/{charger}/{leaf}")
            assert len(reads) >= 6, f"{charger} {leaf}: {len(reads)} reads in 2 h"


@pytest.mark.day_long
async def test_a_plan_read_is_never_cut_in_half_by_the_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    big_sim: EaseeSimulator,
    init_big: MockConfigEntry,
) -> None:
    """Both charge plans are read together or not at all, each at most every 15 minutes.

    A basic plan read whose weekly read the budget refused used to be read again at the next
    site read: Easee counted it twice within its 15 minutes (the benchmark's budget report).
    """
    await travel(hass, freezer, timedelta(hours=2), step=timedelta(seconds=30))

    for charger in BIG_CHARGERS:
        basic = times_of(big_sim, "GET", f"/api/chargers/{charger}/basic_charge_plan")
        weekly = times_of(big_sim, "GET", f"/api/chargers/{charger}/weekly_charge_plan")
        assert len(basic) == len(weekly), charger
        gaps = [later - earlier for earlier, later in pairwise(basic)]
        assert min(gaps) >= 15 * 60, f"{charger}: basic plan read again after {min(gaps)} s"


@pytest.mark.day_long
async def test_forty_chargers_leave_room_for_the_circuits(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    big_sim: EaseeSimulator,
    init_big: MockConfigEntry,
) -> None:
    """Circuit settings are read about every 15 minutes even when chargers want every read."""
    await travel(hass, freezer, timedelta(hours=2), step=timedelta(seconds=30))

    for circuit, site in BIG_CIRCUITS.items():
        reads = times_of(big_sim, "GET", f"/api/sites/{site}/circuits/{circuit}/settings")
        assert len(reads) >= 6, f"circuit {circuit}: {len(reads)} reads in 2 h"


async def test_writes_go_out_while_reads_wait_for_the_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    big_sim: EaseeSimulator,
    init_big: MockConfigEntry,
) -> None:
    """Reads leave 20 requests of the window to writes: a change leaves at once, not later."""
    await travel(hass, freezer, timedelta(seconds=20))
    now = dt_util.utcnow().timestamp()
    # Set-up used every request reads may: the next read waits minutes.
    assert len(api_requests_since(big_sim, now - WINDOW)) == LIMIT - 20

    # Set-up read 19 chargers (state, config and both charge plans each) before the reads'
    # share ran out; a charger never read is unavailable and takes no write.
    for index in range(1, 20):
        await set_number(hass, f"number.bay_{index}_dynamic_limit", 10)
    for charger in BIG_CHARGERS[:19]:
        (write,) = big_sim.requests_to("POST", dynamic_path(charger))
        assert write.time == now
        assert write.status == 202
        assert big_sim.charger(charger).dynamic_charger_current == 10
    # The 20th write of the window, once the charger's write spacing allows it, goes at once.
    await travel(hass, freezer, timedelta(seconds=6))
    await set_number(hass, "number.bay_1_dynamic_limit", 11)
    assert [w.status for w in big_sim.requests_to("POST", dynamic_path(BIG_CHARGERS[0]))] == [
        202,
        202,
    ]

    # The window is full now: a 21st write waits for room, and then goes.
    await set_number(hass, "number.bay_2_dynamic_limit", 11)
    assert len(big_sim.requests_to("POST", dynamic_path(BIG_CHARGERS[1]))) == 1
    assert hass.states.get("sensor.bay_2_pending_command").state == "dynamic_charger_current"
    assert hass.states.get("sensor.bay_2_pending_command").attributes["value"] == "11 A"
    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=5))
    _, late = big_sim.requests_to("POST", dynamic_path(BIG_CHARGERS[1]))
    assert late.time <= now + WINDOW
    assert big_sim.charger(BIG_CHARGERS[1]).dynamic_charger_current == 11
    assert busiest_window(big_sim.requests) <= LIMIT
    assert refused(big_sim) == []


@pytest.mark.parametrize("how", ["reload", "restart"])
async def test_a_reload_does_not_reset_the_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    big_sim: EaseeSimulator,
    init_big: MockConfigEntry,
    how: str,
) -> None:
    """Set-up filled the window; a reload or restart 30 s later may not send another window."""
    assert len(big_sim.requests) == LIMIT - 20
    await travel(hass, freezer, timedelta(seconds=30))
    if how == "reload":
        assert await hass.config_entries.async_reload(init_big.entry_id)
        await hass.async_block_till_done()
    else:
        await restart(hass, init_big)
    await travel(hass, freezer, timedelta(minutes=15), step=timedelta(seconds=15))

    assert busiest_window(big_sim.requests) <= LIMIT
    assert refused(big_sim) == []
    # Polling went on after the budget allowed it.
    assert len(big_sim.requests) > 2 * LIMIT


# What the cloud says


async def test_retry_after_is_honoured(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """A 429 with Retry-After 120: not one request for 120 s, then reads and the write resume."""
    easee_sim.inject_fault("http_429", path_contains=GARAGE_STATE, retry_after=120)
    await travel(hass, freezer, timedelta(seconds=60))
    (rate_limited,) = refused(easee_sim)
    start = rate_limited.time
    assert rate_limited.path == GARAGE_STATE

    await travel(hass, freezer, timedelta(seconds=30), step=timedelta(seconds=5))
    await set_number(hass, GARAGE_DYNAMIC, 10)
    assert hass.states.get("sensor.garage_pending_command").state == "dynamic_charger_current"
    assert hass.states.get("sensor.garage_pending_command").attributes["value"] == "10 A"
    await travel(hass, freezer, timedelta(seconds=85), step=timedelta(seconds=5))
    assert api_requests_since(easee_sim, start) == []
    # Values read before stay.
    assert hass.states.get("sensor.garage_status").state == "charging"

    await travel(hass, freezer, timedelta(seconds=60), step=timedelta(seconds=5))
    resumed = api_requests_since(easee_sim, start)
    assert resumed
    assert min(request.time for request in resumed) >= start + 120
    (write,) = easee_sim.requests_to("POST", dynamic_path("EH000001"))
    assert start + 120 <= write.time <= start + 130
    assert easee_sim.charger("EH000001").dynamic_charger_current == 10
    assert {request.path for request in resumed} >= {GARAGE_STATE, OFFICE_STATE}
    assert len(refused(easee_sim)) == 1


def issue_shown(issue_registry: ir.IssueRegistry, entry: MockConfigEntry) -> bool:
    """Tell whether the account's 'blocked' repair issue is shown."""
    issue = issue_registry.async_get_issue(DOMAIN, blocked_issue_id(entry))
    return issue is not None and issue.active


@pytest.mark.parametrize("form", BAN_FORMS)
async def test_a_block_stops_every_request_for_a_day(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
    form: str,
) -> None:
    """Each form of ban: silence for 24 h (a reload too), a repair issue, then normal.

    The repair names no account: Home Assistant puts it, unredacted, in the diagnostics a user
    shares.
    """
    easee_sim.inject_fault(form, path_contains=GARAGE_STATE)
    await travel(hass, freezer, timedelta(seconds=60))
    (blocked,) = refused(easee_sim)
    assert blocked.result == form
    start = blocked.time
    assert issue_shown(issue_registry, init_easee)
    issue = issue_registry.async_get_issue(DOMAIN, blocked_issue_id(init_easee))
    assert issue is not None
    assert list(issue.translation_placeholders or {}) == ["until"]
    dump = await download_diagnostics(hass, hass_client, hass_admin_user, init_easee)
    assert issue_ids(dump) == [blocked_issue_id(init_easee)]
    # The whole file: the user name's local part alone ("owner") is in the manifest's codeowners.
    secrets = [EASEE_PASSWORD, EASEE_USERNAME, USER_ID, *CHARGERS, *easee_sim.issued_secrets()]
    assert leaked(dump, secrets) == set()
    # What was read before the block stays shown.
    assert hass.states.get("sensor.garage_status").state == "charging"

    await travel(hass, freezer, timedelta(hours=12), step=timedelta(minutes=10))
    assert api_requests_since(easee_sim, start) == []
    assert hass.states.get("sensor.garage_status").state == "charging"
    await set_number(hass, GARAGE_DYNAMIC, 10)

    # A reload during the block sends nothing either (not even a login or structure read).
    assert await hass.config_entries.async_reload(init_easee.entry_id)
    await hass.async_block_till_done()
    await travel(hass, freezer, timedelta(hours=11), step=timedelta(minutes=10))
    assert api_requests_since(easee_sim, start) == []
    assert issue_shown(issue_registry, init_easee)
    # Nothing read since the reload: the charger's values are unknown, and say so.
    assert hass.states.get("sensor.garage_status").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.garage_pending_command").state == "dynamic_charger_current"
    assert hass.states.get("sensor.garage_pending_command").attributes["value"] == "10 A"

    await travel(hass, freezer, timedelta(hours=1, minutes=5), step=timedelta(minutes=1))
    resumed = api_requests_since(easee_sim, start)
    assert min(request.time for request in resumed) >= start + DAY
    assert issue_registry.async_get_issue(DOMAIN, blocked_issue_id(init_easee)) is None
    assert hass.states.get("sensor.garage_status").state == "charging"
    assert easee_sim.charger("EH000001").dynamic_charger_current == 10
    assert len(refused(easee_sim)) == 1


@pytest.mark.parametrize("form", BAN_FORMS)
async def test_a_restart_during_a_block_sends_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
    form: str,
) -> None:
    """The block is saved: Home Assistant restarted an hour later stays silent until it ends.

    The repair issue is shown again at once after the restart, not only at the next refusal.
    """
    easee_sim.inject_fault(form, path_contains=GARAGE_STATE)
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=1))
    (blocked,) = refused(easee_sim)
    start = blocked.time

    await restart(hass, init_easee)
    assert issue_shown(issue_registry, init_easee)
    await travel(hass, freezer, timedelta(hours=22), step=timedelta(minutes=10))
    assert api_requests_since(easee_sim, start) == []
    assert issue_shown(issue_registry, init_easee)

    await travel(hass, freezer, timedelta(hours=1, minutes=5), step=timedelta(minutes=1))
    assert min(request.time for request in api_requests_since(easee_sim, start)) >= start + DAY
    assert issue_registry.async_get_issue(DOMAIN, blocked_issue_id(init_easee)) is None


@pytest.mark.parametrize("kind", ["http_500", "non_json", "wrong_shape", "permission_403"])
async def test_a_failed_state_read_makes_the_charger_unavailable_until_the_next(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
    kind: str,
) -> None:
    """A bad answer: that charger's values are unknown for a minute; the next read is shown."""
    easee_sim.inject_fault(kind, path_contains=GARAGE_STATE)
    easee_sim.disconnect_car("EH000001")
    await travel(hass, freezer, timedelta(seconds=60))
    assert easee_sim.requests_to("GET", GARAGE_STATE)[-1].result == kind
    assert hass.states.get("sensor.garage_status").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.garage_power").state == STATE_UNAVAILABLE
    # Our own queue is still known, and the other chargers were read as usual.
    assert hass.states.get("sensor.garage_pending_command").state == "none"
    assert easee_sim.requests_to("GET", OFFICE_STATE)[-1].status == 200
    assert hass.states.get("sensor.office_1_status").state == "charging"

    await travel(hass, freezer, timedelta(seconds=60))
    assert easee_sim.requests_to("GET", GARAGE_STATE)[-1].status == 200
    assert hass.states.get("sensor.garage_status").state == "disconnected"
    assert hass.states.get("sensor.garage_power").state != STATE_UNAVAILABLE


async def test_a_request_that_hangs_is_an_error_not_a_stall(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """No answer for 45 s: the client gives up after its 30 s and the poll goes on."""
    easee_sim.inject_fault("delay", path_contains=GARAGE_STATE, delay=45)
    reads = {c: len(state_reads(easee_sim, c)) for c in CHARGERS}
    # The event loop's clock stands still under freezegun too, and travel() would wait for the
    # poll that waits for the answer: move the clock by hand while the request hangs.
    freezer.tick(timedelta(seconds=60))
    async_fire_time_changed(hass)
    waited = 0.0
    try:
        for _ in range(10_000):
            await asyncio.sleep(0)
            if not easee_sim._faults:
                break  # the request reached the simulator and hangs there
        else:
            pytest.fail("the state read never reached the simulator")
        for _ in range(10_000):
            if waited < 45:
                freezer.tick(timedelta(seconds=0.25))
                waited += 0.25
            await asyncio.sleep(0)
            if hass.states.get("sensor.garage_status").state == STATE_UNAVAILABLE:
                break
        else:
            pytest.fail("the poll stalled behind the hanging request")
        # The read failed after the client's 30 s, not after the simulator's 45 s.
        assert 30 <= waited < 35
        for _ in range(10_000):
            await asyncio.sleep(0)
            # The other site's chargers (Garage's site is the one that hangs).
            if all(
                len(state_reads(easee_sim, charger)) > reads[charger]
                for charger in ("EH000004", "EH000005")
            ):
                break
        else:
            pytest.fail("the other chargers were not read after the failed one")
    finally:
        # Let the simulator's late answer go, so that nothing waits for a clock that stands.
        freezer.tick(timedelta(seconds=20))
        for _ in range(100):
            await asyncio.sleep(0)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.garage_status").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.office_1_status").state == "charging"

    await travel(hass, freezer, timedelta(seconds=60))
    assert easee_sim.requests_to("GET", GARAGE_STATE)[-1].status == 200
    assert hass.states.get("sensor.garage_status").state == "charging"
