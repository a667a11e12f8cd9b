"""Chaos and outages, as every simulator plays them (the soak's faults): seeded, repeatable."""

from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest

from simulators.easee import EaseeSimulator
from simulators.easee_vendor import _logged
from simulators.goe import GoeSimulator
from simulators.server import TIMEOUT_HEADER, Chaos
from simulators.viriciti import ViricitiSimulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

SERIAL = "000001"
TOKEN = "ChaosGridToken000001".ljust(32, "0")
GROUP = "depot"
KEY = "chaos-key-0123456789abcdef"
START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def goe(clock: Clock) -> AsyncIterator[GoeSimulator]:
    sim = GoeSimulator(clock=clock, latency_scale=0)
    sim.status_burst = 100_000
    sim.command_interval = 0
    sim.add_charger(SERIAL, TOKEN, set_current=16)
    await sim.start()
    yield sim
    await sim.stop()


async def _status(
    sim: GoeSimulator, session: aiohttp.ClientSession, path: str = "/api_status", **query: str
) -> tuple[int, str | None]:
    params = {"serial": SERIAL, "gridtoken": TOKEN, **query}
    try:
        async with session.get(f"{sim.base_url}{path}", params=params) as resp:
            await resp.read()
            return resp.status, resp.headers.get(TIMEOUT_HEADER)
    except aiohttp.ClientError:
        return 0, None


async def _answers(
    sim: GoeSimulator, session: aiohttp.ClientSession, n: int
) -> list[tuple[int, str | None]]:
    return [await _status(sim, session) for _ in range(n)]


async def test_chaos_draws_each_kind_near_its_rate_and_repeats_with_its_seed(
    goe: GoeSimulator, session: aiohttp.ClientSession
) -> None:
    rates = {"http_5xx": 0.1, "timeout": 0.05, "non_json": 0.02, "drop": 0.02, "rate_limit": 0.02}
    chaos = goe.set_chaos(rates, seed=7)
    first = await _answers(goe, session, 600)
    injected = Counter(chaos.injected)
    assert 30 <= injected["http_5xx"] <= 90
    assert 10 <= injected["timeout"] <= 55
    assert set(injected) == set(rates)
    results = Counter(r.result for r in goe.requests)
    # Each fault is logged as chaos's; a lost answer's request was done (logged "ok").
    assert results["chaos:drop"] == injected["drop"]
    assert results["chaos:rate_limiting"] == injected["rate_limit"]
    assert (
        sum(n for r, n in results.items() if r.startswith("chaos:http_5")) == injected["http_5xx"]
    )
    statuses = Counter(status for status, _ in first)
    assert {500, 502, 503} <= set(statuses)
    marks = Counter(mark for _, mark in first)
    assert marks["lost"] + marks["unsent"] == injected["timeout"]
    assert marks["lost"]
    assert marks["unsent"]
    goe.set_chaos(rates, seed=7)
    assert await _answers(goe, session, 600) == first
    goe.set_chaos(rates, seed=8)
    assert await _answers(goe, session, 600) != first


async def test_a_lost_answer_was_done_by_the_cloud(
    goe: GoeSimulator, session: aiohttp.ClientSession
) -> None:
    """A "timeout_lost" command reached the charger; only its answer carries the mark."""
    chaos = goe.set_chaos({"timeout": 1.0}, seed=1)
    marks = []
    for current in range(6, 16):
        status, mark = await _status(goe, session, "/api_command", set_current=str(current))
        marks.append(mark)
        if mark == "lost":
            assert goe.chargers[SERIAL].set_current == current
            assert status == 200
        else:
            assert status == 504
    assert chaos.injected["timeout"] == 10
    assert "lost" in marks
    assert "unsent" in marks


async def test_chaos_paused_draws_nothing(
    goe: GoeSimulator, session: aiohttp.ClientSession
) -> None:
    chaos = goe.set_chaos({"drop": 1.0}, seed=1)
    chaos.paused = True
    assert await _answers(goe, session, 3) == [(200, None)] * 3
    assert not chaos.injected


def test_chaos_checks_its_rates() -> None:
    with pytest.raises(ValueError, match="unknown chaos kinds: teapot"):
        Chaos({"teapot": 0.1}, seed=1)
    with pytest.raises(ValueError, match="add up to at most 1"):
        Chaos({"drop": 0.6, "timeout": 0.6}, seed=1)


async def test_an_outage_fails_every_request_in_its_window(
    goe: GoeSimulator, session: aiohttp.ClientSession, clock: Clock
) -> None:
    goe.add_outage(START + 10, START + 70)
    assert (await _status(goe, session))[0] == 200
    clock.now = START + 10
    assert (await _status(goe, session))[0] == 503
    assert goe.requests[-1].result == "outage:http_503"
    clock.now = START + 70
    assert (await _status(goe, session))[0] == 200
    with pytest.raises(ValueError, match="must end after"):
        goe.add_outage(START, START)
    with pytest.raises(ValueError, match="unknown outage kind"):
        goe.add_outage(START, START + 1, kind="http_418")


async def test_an_outage_with_a_target_picks_its_requests_only(
    clock: Clock, session: aiohttp.ClientSession
) -> None:
    """A group "offline" for ViriCiti: its paths fail, the other group's do not."""
    sim = ViricitiSimulator(clock=clock, latency_scale=0)
    for group in (GROUP, "other"):
        sim.add_group(group, group, time_zone="UTC", default_limit=100)
    sim.add_api_key(KEY, [GROUP, "other"])
    await sim.start()
    try:
        sim.add_outage(START, START + 3600, target=f"/{GROUP}", label="offline", kind="drop")

        async def get(group: str) -> int:
            url = f"{sim.base_url}/api/v1/smartcharging/chargergroup/{group}"
            try:
                async with session.get(url, headers={"x-api-key": KEY}) as resp:
                    return resp.status
            except aiohttp.ClientError:
                return 0

        assert await get(GROUP) == 0
        assert sim.requests[-1].result == "offline:drop"
        assert await get("other") == 200
    finally:
        await sim.stop()


def test_each_subject_meets_the_same_faults_whatever_the_order() -> None:
    """The n-th request about a subject draws the same, however the subjects interleave."""
    rates = {"http_5xx": 0.3, "timeout": 0.2, "drop": 0.1}

    def draws(order: list[str]) -> dict[str, list[str | None]]:
        chaos = Chaos(rates, seed=3)
        drawn: dict[str, list[str | None]] = {"a": [], "b": []}
        for subject in order:
            drawn[subject].append(chaos.draw(subject, "http_429"))
        return drawn

    first = draws(["a", "b"] * 50)
    assert draws(["b"] * 50 + ["a"] * 50) == first
    assert any(first["a"])
    assert first["a"] != first["b"]


async def test_a_ban_answer_chaos_lost_is_marked_in_the_soak_log(
    clock: Clock, session: aiohttp.ClientSession
) -> None:
    """The cloud refused the request with its ban; the client only heard a timeout."""
    sim = EaseeSimulator(clock=clock, latency_scale=0)
    sim.add_account("chaos@example.com", "Chaos-Pa55word!", user_id=7)
    await sim.start()
    try:
        sim.ban("blocked_403", 600)
        chaos = sim.set_chaos({"timeout": 1.0}, seed=1)
        marks = []
        for _ in range(8):
            async with session.get(f"{sim.base_url}/api/chargers") as resp:
                await resp.read()
                marks.append(resp.headers.get(TIMEOUT_HEADER))
        assert chaos.injected["timeout"] == 8
        lost = [r for r in sim.requests if r.answer_lost]
        assert len(lost) == marks.count("lost") > 0
        assert {r.result for r in lost} == {"banned"}
        assert {result for *_, result in _logged(sim)} == {
            "banned:answer_lost",
            "chaos:timeout_unsent",
        }
    finally:
        await sim.stop()
