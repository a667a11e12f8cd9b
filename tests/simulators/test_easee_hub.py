"""The Easee simulator's SignalR hub, read with the integration's own stream client."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
import json

import aiohttp
import pytest

from custom_components.ev_charge_control.api import easee_stream
from custom_components.ev_charge_control.api.easee import EaseeClient
from custom_components.ev_charge_control.api.easee_stream import (
    EaseeCommandResponse,
    EaseeObservation,
    EaseeStream,
    StreamClosedError,
    StreamMessageError,
    StreamTokenRefusedError,
)
from custom_components.ev_charge_control.api.errors import AccountBlockedError
from simulators.easee import EaseeSimulator
from tests.conftest import RUNTIME_SECRETS

pytestmark = pytest.mark.usefixtures("socket_enabled")

USER = "hub@example.org"
PASSWORD = "hub-Secret-123!"
USER_ID = 77
OTHER_ID = 78
CHARGER = "EH000001"
SECOND = "EH000002"
STRANGER = "EH000009"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """What the stream hands its owner."""

    def __init__(self) -> None:
        self.connected = 0
        self.values: dict[tuple[str, int], object] = {}
        self.responses: list[EaseeCommandResponse] = []
        self.bad: list[StreamMessageError] = []
        self.arrived = asyncio.Event()

    def stream_connected(self) -> None:
        self.connected += 1

    def stream_observation(self, observation: EaseeObservation) -> None:
        self.values[observation.charger_id, observation.observation_id] = observation.value
        self.arrived.set()

    def stream_command_response(self, response: EaseeCommandResponse) -> None:
        self.responses.append(response)
        self.arrived.set()

    def stream_bad_message(self, err: StreamMessageError) -> None:
        self.bad.append(err)

    async def until(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not check():
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[EaseeSimulator]:
    sim = EaseeSimulator(clock=clock, latency_scale=0)
    sim.add_account(USER, PASSWORD, user_id=USER_ID)
    sim.add_account("other@example.org", "other-Secret-1!", user_id=OTHER_ID)
    sim.add_site(USER_ID, 1, "Home")
    sim.add_circuit(1, 10, max_current=32)
    sim.add_charger(CHARGER, 10, master=True, car_connected=True)
    sim.add_charger(SECOND, 10)
    sim.add_site(OTHER_ID, 2, "Theirs")
    sim.add_circuit(2, 20)
    sim.add_charger(STRANGER, 20, master=True)
    await sim.start()
    yield sim
    await sim.stop()
    RUNTIME_SECRETS.update(sim.issued_secrets())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(sim: EaseeSimulator, session: aiohttp.ClientSession, clock: FakeClock) -> EaseeClient:
    return EaseeClient(session, USER, PASSWORD, base_url=sim.base_url, clock=clock)


@pytest.fixture
def stream(sim: EaseeSimulator, session: aiohttp.ClientSession, client: EaseeClient) -> EaseeStream:
    return EaseeStream(client, session, url=sim.base_url)


def run(
    stream: EaseeStream, recorder: Recorder, chargers: Iterable[str] = (CHARGER,)
) -> asyncio.Task[None]:
    ids = list(chargers)
    return asyncio.get_running_loop().create_task(stream.async_run_account(lambda: ids, recorder))


async def test_subscribe_sends_the_current_values_first(
    sim: EaseeSimulator, stream: EaseeStream
) -> None:
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: (CHARGER, 124) in recorder.values)
    assert recorder.connected == 1
    assert sim.hub.connected == 1
    assert [a.status for a in sim.hub.attempts] == [200]
    assert recorder.values[CHARGER, 48] == 32.0  # dynamic charger current, a double
    assert recorder.values[CHARGER, 109] == 3  # charging, an integer
    assert recorder.values[CHARGER, 47] == 32.0
    assert {key[0] for key in recorder.values} == {CHARGER}
    await sim.hub.drop()
    with pytest.raises(StreamClosedError):
        await task


async def test_every_change_is_pushed(
    sim: EaseeSimulator, stream: EaseeStream, clock: FakeClock
) -> None:
    recorder = Recorder()
    task = run(stream, recorder, (CHARGER, SECOND))
    await recorder.until(lambda: (SECOND, 109) in recorder.values)
    assert recorder.values[SECOND, 109] == 1  # no car

    sim.connect_car(SECOND)  # plug-in
    await recorder.until(lambda: recorder.values[SECOND, 109] == 3)

    sim.charger(CHARGER).dynamic_charger_current = 10  # a write
    sim.charger(CHARGER).dynamic_charger_expires = clock.now + 60
    await recorder.until(lambda: recorder.values[CHARGER, 48] == 10.0)

    clock.now += 61  # its time to live runs out: the next ping sends it
    await sim.hub.push_changes()
    await recorder.until(lambda: recorder.values[CHARGER, 48] == 32.0)

    sim.circuit(10).dynamic_current = 20
    await recorder.until(lambda: recorder.values[CHARGER, 111] == 20.0)
    sim.power_loss(CHARGER)  # the master: the circuit's limit goes too
    await recorder.until(lambda: recorder.values[CHARGER, 111] == 40.0)
    task.cancel()


async def test_a_command_is_answered_through_the_stream(
    sim: EaseeSimulator, stream: EaseeStream, client: EaseeClient
) -> None:
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: recorder.connected == 1 and bool(recorder.values))
    ticks = await client.command(CHARGER, "pause_charging")
    await recorder.until(lambda: bool(recorder.responses))
    assert recorder.responses == [EaseeCommandResponse(CHARGER, ticks, True, 0)]
    task.cancel()


async def test_another_accounts_charger_streams_nothing(
    sim: EaseeSimulator, stream: EaseeStream
) -> None:
    recorder = Recorder()
    task = run(stream, recorder, (STRANGER, CHARGER))
    await recorder.until(lambda: (CHARGER, 124) in recorder.values)
    await asyncio.sleep(0.05)
    assert STRANGER not in {key[0] for key in recorder.values}
    assert stream.subscribed == {CHARGER}
    task.cancel()


async def test_a_refused_token_is_refreshed_then_the_stream_connects(
    sim: EaseeSimulator, stream: EaseeStream, client: EaseeClient
) -> None:
    await client.login()
    sim.hub.refuse_tokens = 1
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: recorder.connected == 1)
    assert [a.status for a in sim.hub.attempts] == [401, 200]
    assert len(sim.requests_to("POST", "/api/accounts/refresh_token")) == 1
    task.cancel()


async def test_a_token_refused_twice_is_an_error(sim: EaseeSimulator, stream: EaseeStream) -> None:
    sim.hub.refuse_tokens = 2
    with pytest.raises(StreamTokenRefusedError):
        await stream.async_run_account(lambda: [CHARGER], Recorder())
    assert [a.status for a in sim.hub.attempts] == [401, 401]


async def test_an_expired_token_ends_the_stream(
    sim: EaseeSimulator, stream: EaseeStream, clock: FakeClock
) -> None:
    sim.hub.ping_interval = 0.05
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: recorder.connected == 1 and bool(recorder.values))
    clock.now += 3600
    connection = sim.hub.connections[0]
    assert not sim.hub_token_valid(connection.token)
    with pytest.raises(StreamClosedError):
        async with asyncio.timeout(5):  # the hub looks at the token with each ping
            await task


async def test_a_hub_that_is_down_answers_503_and_counts_the_attempt(
    sim: EaseeSimulator, stream: EaseeStream
) -> None:
    sim.hub.enabled = False
    with pytest.raises(Exception, match="HTTP 503"):
        await stream.async_run_account(lambda: [CHARGER], Recorder())
    assert [(a.status, a.result) for a in sim.hub.attempts] == [(503, "hub_down")]


@pytest.mark.parametrize("form", ["blocked_403", "forbidden_403", "blocked_429"])
async def test_a_banned_ip_gets_no_stream(
    sim: EaseeSimulator, stream: EaseeStream, client: EaseeClient, form: str
) -> None:
    await client.login()
    sim.block_form = form
    sim._ips["127.0.0.1"].blocked_until = sim._clock() + 3600
    with pytest.raises(AccountBlockedError):
        await stream.async_run(client.tokens.access_token, lambda: [CHARGER], Recorder())  # type: ignore[union-attr]
    assert sim.hub.attempts[-1].result == "blocked"
    assert sim.hub.connected == 0


async def test_admin_endpoint_switches_the_hub(
    sim: EaseeSimulator, stream: EaseeStream, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: recorder.connected == 1)
    async with session.post(f"{sim.base_url}/_sim/stream", json={"enabled": False}) as answer:
        assert await answer.json() == {
            "enabled": False,
            "silent": False,
            "connected": 0,
            "success": True,
        }
    with pytest.raises(StreamClosedError):
        await task
    async with session.post(f"{sim.base_url}/_sim/stream", json={"enabled": "no"}) as answer:
        assert answer.status == 400
    async with session.post(f"{sim.base_url}/_sim/stream", json={"silent": 1}) as answer:
        assert answer.status == 400
    async with session.post(f"{sim.base_url}/_sim/stream", json={"silent": True}) as answer:
        assert (await answer.json())["silent"] is True
    assert sim.hub.silent


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """SignalR's 30 s (5 of them a probe) in tenths of a second: the test runs in real time."""
    monkeypatch.setattr(easee_stream, "SERVER_TIMEOUT", 0.4)
    monkeypatch.setattr(easee_stream, "PROBE_TIMEOUT", 0.1)


@pytest.mark.usefixtures("quick_timeouts")
async def test_a_half_open_connection_is_noticed_by_its_silence(
    sim: EaseeSimulator, stream: EaseeStream
) -> None:
    sim.hub.ping_interval = 0.1
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: recorder.connected == 1 and bool(recorder.values))
    await asyncio.sleep(0.6)
    assert not task.done(), "the hub's pings keep it open"
    sim.hub.silent = True
    with pytest.raises(StreamClosedError, match="nothing heard"):
        async with asyncio.timeout(2):
            await task
    # The hub still holds the connection (nothing reached it); back, it reads the close.
    assert sim.hub.connected == 1
    with pytest.raises(Exception, match="HTTP 503"):
        await stream.async_run_account(lambda: [CHARGER], Recorder())
    sim.hub.silent = False
    for _ in range(200):
        if not sim.hub.connected:
            break
        await asyncio.sleep(0.01)
    assert sim.hub.connected == 0


@pytest.mark.usefixtures("quick_timeouts")
async def test_a_quiet_hub_that_answers_a_ping_stays_connected(
    sim: EaseeSimulator, stream: EaseeStream
) -> None:
    """No SignalR ping within the deadline, but the WebSocket's pong: the connection lives."""
    sim.hub.ping_interval = 60
    recorder = Recorder()
    task = run(stream, recorder)
    await recorder.until(lambda: recorder.connected == 1 and bool(recorder.values))
    await asyncio.sleep(1.5)
    assert not task.done()
    assert sim.hub.connected == 1
    task.cancel()


async def test_a_command_response_carries_every_field_of_the_real_hub(
    sim: EaseeSimulator, session: aiohttp.ClientSession, client: EaseeClient, clock: FakeClock
) -> None:
    """The fields and their names as evcc's client reads them (charger/easee/message.go)."""
    await client.login()
    token = client.tokens.access_token  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{sim.base_url}/hubs/chargers/negotiate", headers=headers) as answer:
        connection = (await answer.json())["connectionToken"]
    url = f"{sim.base_url}/hubs/chargers?id={connection}"
    async with session.ws_connect(url, headers=headers) as ws:
        await ws.send_str('{"protocol":"json","version":1}\x1e')
        await ws.receive_str(timeout=5)
        subscribe = {"type": 1, "invocationId": "1", "target": "SubscribeWithCurrentState"}
        await ws.send_str(json.dumps({**subscribe, "arguments": [CHARGER, False]}) + "\x1e")
        await ws.receive_str(timeout=5)  # the completion
        await sim.hub.send_command_response(CHARGER, 638_000_000, accepted=True, result_code=0)
        (message,) = [json.loads(p) for p in (await ws.receive_str(timeout=5)).split("\x1e") if p]
    assert message["target"] == "CommandResponse"
    (response,) = message["arguments"]
    stamp = datetime.fromtimestamp(clock.now, UTC)
    assert response == {
        "SerialNumber": CHARGER,
        "ID": 638_000_000 % 100_000,
        "Timestamp": stamp.isoformat(),
        "DeliveredAt": stamp.isoformat(),
        "WasAccepted": True,
        "ResultCode": 0,
        "Comment": "",
        "Ticks": 638_000_000,
    }
