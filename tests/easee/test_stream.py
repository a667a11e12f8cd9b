"""Easee in real time: values come through the hub; REST polls only while the stream is down."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from itertools import pairwise
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    ATTR_DEVICE_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.vendors.easee.stream import BACKOFF_MAX, BACKOFF_STEP
from simulators.easee import EaseeRequest, EaseeSimulator
from tests.conftest import RUNTIME_SECRETS, find_device, setup_entry, travel
from tests.easee.conftest import (
    EASEE_PASSWORD,
    EASEE_USERNAME,
    USER_ID,
    entry_for,
    running_account,
    state_reads,
)

# The budget of an account: 100 requests in any 5 minutes (vendors/easee/account.py).
LIMIT = 100
WINDOW = 300.0


@pytest.fixture
async def stream_sim(socket_enabled: None) -> AsyncGenerator[EaseeSimulator]:
    """Start a simulator of the test account whose hub is up."""
    async with running_account(hub=True) as sim:
        yield sim


async def settle(hass: HomeAssistant, check: Callable[[], bool]) -> None:
    """Let real I/O (the WebSocket) run until ``check`` holds; fail after about 3 seconds."""
    for _ in range(300):
        await hass.async_block_till_done()
        if check():
            return
        # A real pause in a thread: the loop meanwhile reads its sockets, whatever the clock.
        await hass.async_add_executor_job(time.sleep, 0.01)
    raise AssertionError("the stream did not deliver in time")


def rest_reads(sim: EaseeSimulator) -> list[EaseeRequest]:
    """Return the REST reads of chargers' states and configs (sites' states included)."""
    return [
        r
        for r in sim.requests
        if r.method == "GET" and (r.path.endswith("/state") or r.path.endswith("/config"))
    ]


def waiting(entry: MockConfigEntry) -> Callable[[], bool]:
    """Return a check: the stream is up, or waits for its next attempt (none under way)."""
    runner = entry.runtime_data.stream
    return lambda: runner.up or runner.next_attempt_at is not None


def streaming(hass: HomeAssistant, entity_id: str = "binary_sensor.garage_streaming") -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def test_values_arrive_through_the_stream_without_a_rest_read(
    hass: HomeAssistant, stream_sim: EaseeSimulator
) -> None:
    entry = await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    assert stream_sim.hub.connected == 1
    before = len(stream_sim.requests)

    stream_sim.connect_car("EH000002")
    await settle(hass, lambda: hass.states.get("sensor.driveway_status").state == "charging")
    stream_sim.charger("EH000001").dynamic_charger_current = 12
    await settle(
        hass,
        lambda: hass.states.get("number.garage_dynamic_limit").state == "12",
    )
    assert len(stream_sim.requests) == before, "no REST request brought these values"
    runtime = entry.runtime_data
    assert runtime.state_interval == 900
    diagnostics = runtime.diagnostics()["stream"]
    assert diagnostics["up"] is True
    assert diagnostics["subscribed"] == 5
    assert diagnostics["messages"] > 0


async def test_a_write_counts_as_applied_when_the_stream_shows_it(
    hass: HomeAssistant, stream_sim: EaseeSimulator
) -> None:
    await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    events = []
    hass.bus.async_listen(f"{DOMAIN}_command_result", events.append)
    reads = len(rest_reads(stream_sim))
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": "number.garage_dynamic_limit", "value": 10},
        blocking=True,
    )
    await settle(hass, lambda: bool(events))
    assert events[0].data["result"] == "applied"
    assert events[0].data["actual"] == 10
    assert len(rest_reads(stream_sim)) == reads


async def test_a_circuit_write_counts_as_applied_when_the_stream_shows_it(
    hass: HomeAssistant, stream_sim: EaseeSimulator
) -> None:
    """The master's streamed phases apply a circuit's write, not the reconcile 15 min later."""
    await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    events = []
    hass.bus.async_listen(f"{DOMAIN}_command_result", events.append)
    reads = len(rest_reads(stream_sim))
    device = find_device(hass, "easee_circuit_11")
    assert device is not None
    await hass.services.async_call(
        DOMAIN,
        "set_dynamic_circuit_current",
        {ATTR_DEVICE_ID: device.id, "phase_1": 10, "phase_2": 12, "phase_3": 14},
        blocking=True,
    )
    await settle(hass, lambda: bool(events))
    assert events[0].data["result"] == "applied"
    assert len(rest_reads(stream_sim)) == reads


async def test_a_command_result_comes_from_the_chargers_answer(
    hass: HomeAssistant, stream_sim: EaseeSimulator
) -> None:
    await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    events = []
    hass.bus.async_listen(f"{DOMAIN}_command_result", events.append)
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.garage_pause_charging"}, blocking=True
    )
    await settle(hass, lambda: bool(events))
    assert events[0].data["parameter"] == "command"
    assert events[0].data["requested"] == "pause_charging"
    assert events[0].data["result"] == "applied"


async def test_polling_takes_over_while_the_stream_is_down(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stream_sim: EaseeSimulator
) -> None:
    entry = await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(seconds=30))
    streamed = len(state_reads(stream_sim, "EH000001"))

    # The stream drops and the hub stays down: REST reads within one interval (60 s).
    stream_sim.hub.enabled = False
    await stream_sim.hub.drop()
    await settle(hass, lambda: streaming(hass) == STATE_OFF)
    assert entry.runtime_data.state_interval == 60
    await travel(hass, freezer, timedelta(seconds=60), step=timedelta(seconds=10))
    assert len(state_reads(stream_sim, "EH000001")) == streamed + 1
    await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=10))
    assert len(state_reads(stream_sim, "EH000001")) >= streamed + 5

    # The hub is back: the next attempt connects, and polling stops.
    stream_sim.hub.enabled = True
    for _ in range(40):
        await settle(hass, waiting(entry))
        if streaming(hass) == STATE_ON:
            break
        await travel(hass, freezer, timedelta(seconds=10))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    polled = len(state_reads(stream_sim, "EH000001"))
    await travel(hass, freezer, timedelta(minutes=14), step=timedelta(seconds=30))
    assert len(state_reads(stream_sim, "EH000001")) <= polled + 1


async def test_a_half_open_connection_is_lost_after_30_silent_seconds(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stream_sim: EaseeSimulator
) -> None:
    """The network goes away without a FIN: nothing ends the read but SignalR's 30 s rule."""
    entry = await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    # Minutes in steps longer than the hub's pings: the connection is not taken for lost.
    await travel(hass, freezer, timedelta(minutes=3), step=timedelta(seconds=45))
    await settle(hass, lambda: stream_sim.hub.connected == 1)
    assert streaming(hass) == STATE_ON
    assert len(stream_sim.hub.attempts) == 1
    polled = len(state_reads(stream_sim, "EH000001"))

    stream_sim.hub.silent = True
    silent_at = dt_util.utcnow()
    while streaming(hass) == STATE_ON:
        assert dt_util.utcnow() - silent_at <= timedelta(seconds=32), "still streaming"
        await travel(hass, freezer, timedelta(seconds=1))
        await settle(hass, waiting(entry))
    assert dt_util.utcnow() - silent_at >= timedelta(seconds=15)
    assert stream_sim.hub.connected == 1, "the hub never heard of it"
    assert entry.runtime_data.state_interval == 60
    await travel(hass, freezer, timedelta(seconds=60), step=timedelta(seconds=10))
    assert len(state_reads(stream_sim, "EH000001")) > polled, "REST polling took over"

    # The network is back: the back-off's next attempt connects, polling stops.
    stream_sim.hub.silent = False
    for _ in range(40):
        await settle(hass, waiting(entry))
        if streaming(hass) == STATE_ON:
            break
        await travel(hass, freezer, timedelta(seconds=10))
    await settle(hass, lambda: streaming(hass) == STATE_ON and stream_sim.hub.connected == 1)
    assert entry.runtime_data.state_interval == 900


async def test_a_failed_reconcile_while_streaming_keeps_the_values(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stream_sim: EaseeSimulator
) -> None:
    """REST down but the stream up: the entities stay available with the streamed values.

    Made unavailable, they would wait for the next reconcile, 15 minutes later (the chaos
    soak's cloud outage: 920 s unavailable after it ended). No car charges, so that nothing
    the stream pushes meanwhile brings them back.
    """
    for charger in ("EH000001", "EH000004"):
        stream_sim.disconnect_car(charger)
    await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    now = dt_util.utcnow().timestamp()
    stream_sim.add_outage(now, now + 3600)
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(seconds=30))
    assert any(r.path.endswith("/state") and r.status == 503 for r in stream_sim.requests)
    assert streaming(hass) == STATE_ON
    assert hass.states.get("sensor.garage_status").state != STATE_UNAVAILABLE
    assert hass.states.get("number.garage_dynamic_limit").state != STATE_UNAVAILABLE
    stream_sim.charger("EH000001").dynamic_charger_current = 10
    await settle(hass, lambda: hass.states.get("number.garage_dynamic_limit").state == "10")


async def test_reconnects_back_off_from_0_by_30_seconds_to_5_minutes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stream_sim: EaseeSimulator
) -> None:
    stream_sim.hub.enabled = False
    entry = await setup_entry(hass, entry_for(stream_sim))
    for _ in range(35 * 6):  # 35 minutes in steps of 10 s, each waiting for the attempt
        await settle(hass, waiting(entry))
        await travel(hass, freezer, timedelta(seconds=10))
    times = [attempt.time for attempt in stream_sim.hub.attempts]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    wanted = [min(BACKOFF_MAX, BACKOFF_STEP * n) for n in range(len(gaps))]
    assert len(gaps) >= 12
    for gap, expected in zip(gaps, wanted, strict=True):
        assert expected <= gap <= expected + 10, (gaps, wanted)
    assert streaming(hass) == STATE_OFF


async def test_a_ban_stops_reconnects(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stream_sim: EaseeSimulator
) -> None:
    entry = await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    entry.runtime_data.account.async_blocked()
    await stream_sim.hub.drop()
    await settle(hass, lambda: streaming(hass) == STATE_OFF)
    attempts = len(stream_sim.hub.attempts)
    requests = len(stream_sim.requests)
    await travel(hass, freezer, timedelta(hours=23, minutes=50), step=timedelta(minutes=10))
    assert len(stream_sim.hub.attempts) == attempts, "no attempt during the ban"
    assert len(stream_sim.requests) == requests, "no REST request either"
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(minutes=1))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    assert len(stream_sim.hub.attempts) == attempts + 1


async def test_a_token_that_runs_out_mid_stream_is_renewed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, stream_sim: EaseeSimulator
) -> None:
    entry = await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    for _ in range(70 * 4):  # 70 minutes: the access token lives 60
        await settle(hass, waiting(entry))
        await travel(hass, freezer, timedelta(seconds=15))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    assert [a.status for a in stream_sim.hub.attempts] == [200, 200]
    assert stream_sim.requests_to("POST", "/api/accounts/refresh_token")
    assert len(stream_sim.requests_to("POST", "/api/accounts/login")) == 1


async def test_a_refused_token_is_refreshed_then_the_stream_connects(
    hass: HomeAssistant, stream_sim: EaseeSimulator
) -> None:
    stream_sim.hub.refuse_tokens = 1
    await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: streaming(hass) == STATE_ON)
    assert [a.status for a in stream_sim.hub.attempts] == [401, 200]
    assert len(stream_sim.requests_to("POST", "/api/accounts/refresh_token")) == 1


async def test_unloading_ends_the_stream(hass: HomeAssistant, stream_sim: EaseeSimulator) -> None:
    entry = await setup_entry(hass, entry_for(stream_sim))
    await settle(hass, lambda: stream_sim.hub.connected == 1)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await settle(hass, lambda: stream_sim.hub.connected == 0)
    assert not [t for t in hass._background_tasks if "stream" in t.get_name()]


# 24 travelled hours with 20 chargers on two sites: REST requests per hour with and without
# the stream (the README's figures), and never more than the account's budget.
FLEET = [f"EF{index:06d}" for index in range(1, 21)]


@pytest.fixture
async def fleet_sim(socket_enabled: None) -> AsyncGenerator[EaseeSimulator]:
    sim = EaseeSimulator(latency_scale=0)
    sim.add_account(EASEE_USERNAME, EASEE_PASSWORD, user_id=USER_ID)
    for site in (1, 2):
        sim.add_site(USER_ID, site, f"Depot {site}")
        sim.add_circuit(site, site * 10, max_current=63, rated_current=63)
    for index, charger in enumerate(FLEET):
        sim.add_charger(
            charger, 10 if index < 10 else 20, master=index in (0, 10), car_connected=index % 2 == 1
        )
    await sim.start()
    yield sim
    await sim.stop()
    RUNTIME_SECRETS.update(sim.issued_secrets())


def busiest_window(requests: list[EaseeRequest]) -> int:
    times = sorted(r.time for r in requests)
    return max((sum(1 for t in times[i:] if t < start + WINDOW) for i, start in enumerate(times)))


@pytest.mark.day_long
@pytest.mark.parametrize("hub", [True, False], ids=["streaming", "polling"])
async def test_a_day_with_twenty_chargers(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fleet_sim: EaseeSimulator, hub: bool
) -> None:
    fleet_sim.hub.enabled = hub
    await setup_entry(hass, entry_for(fleet_sim))
    if hub:
        await settle(hass, lambda: streaming(hass, "binary_sensor.ef000001_streaming") == STATE_ON)
    start = len(fleet_sim.requests)
    # Polling needs steps of its interval; streaming, of the 15-minute reconcile.
    step = timedelta(minutes=5 if hub else 1)
    await travel(hass, freezer, timedelta(hours=24), step=step)
    day = fleet_sim.requests[start:]
    per_hour = len(day) / 24
    print(f"Easee, 20 chargers, {'streaming' if hub else 'polling'}: {per_hour:.1f} requests/h")  # noqa: T201 - the README's figures
    assert all(r.status < 400 or r.status == 404 for r in day)  # 404: no charge plan set
    assert busiest_window(fleet_sim.requests) <= LIMIT
    if hub:
        # Sites' states every 15 min (2 sites), configs' plans every 15 min, circuits' settings.
        assert per_hour <= 2 * 4 + 20 * 2 * 4 + 2 * 4 + 2
        # Steps of 5 minutes jump past the hub's pings: its answer to a probe keeps the
        # connection, which ends only with its token (an hour).
        assert len(fleet_sim.hub.attempts) <= 24 + 1
    else:
        assert per_hour >= 2 * 60
