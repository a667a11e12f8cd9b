"""The benchmark's vendor clouds: the three simulators in a process of their own.

Home Assistant runs on a frozen, travelled clock; the simulators read the same clock from
shared memory, so their budgets (and their rate-limit answers) count simulated time. Being a
separate process keeps their CPU time and memory out of what the benchmark measures.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import math
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
import re
import time
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Middleware

from simulators.easee import EaseeSimulator
from simulators.goe import GoeSimulator
from simulators.viriciti import ViricitiSimulator

GOE_COMMAND_PATH: Final = "/api_command"
EASEE_USER_ID: Final = 4200
EASEE_USERNAME: Final = "bench@example.com"
EASEE_PASSWORD: Final = "Bench-Pa55w0rd!"  # noqa: S105 - a made-up account of the simulator
VIRICITI_KEY: Final = "vc-bench-key-0123456789abcdef"
VIRICITI_ZONE: Final = "Europe/Amsterdam"
# Easee: chargers per circuit (the first is the circuit's master) and circuits per site.
CHARGERS_PER_CIRCUIT: Final = 5
CIRCUITS_PER_SITE: Final = 2

_EASEE_CHARGER_PATH = re.compile(r"^/api/chargers/([A-Za-z0-9]+)/(.+)$")
_EASEE_CIRCUIT_PATH = re.compile(r"^/api/sites/[0-9]+/circuits/([0-9]+)/(.+)$")
_EASEE_SITE_PATH = re.compile(r"^/api/sites/([0-9]+)(/state)?$")
_VIRICITI_PATH = re.compile(r"/(chargergroup|grouplimit|time)/([^/]+)$")

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# One logged request: simulated time, endpoint, charger / circuit / group, HTTP status, result.
type Logged = tuple[float, str, str, int, str]


def real_now() -> float:
    """Return the real monotonic clock (the same in every process; never frozen)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def goe_serial(index: int) -> str:
    """Return the serial of the index-th go-e charger."""
    return f"{index + 1:06d}"


def goe_token(index: int) -> str:
    """Return the grid token of the index-th go-e charger (32 letters or digits)."""
    return f"BenchGridToken{index + 1:06d}".ljust(32, "0")


def easee_charger_id(index: int) -> str:
    """Return the id of the index-th Easee charger."""
    return f"EHB{index + 1:05d}"


def viriciti_group_id(index: int) -> str:
    """Return the id of the index-th ViriCiti group."""
    return f"bench-{index + 1:03d}"


@dataclass(frozen=True, slots=True)
class Fleet:
    """How many chargers and groups each simulated cloud holds."""

    goe: int
    easee: int
    viriciti: int


class _Receipts:
    """When (real clock) each command reached a simulator, per vendor and device."""

    def __init__(self) -> None:
        self.times: defaultdict[tuple[str, str], list[float]] = defaultdict(list)

    def middleware(self, vendor: str, key_of: Callable[[web.Request], str | None]) -> Middleware:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            if (key := key_of(request)) is not None:
                self.times[vendor, key].append(real_now())
            return await handler(request)

        return record


def _goe_command_key(request: web.Request) -> str | None:
    return request.query.get("serial") if request.path == GOE_COMMAND_PATH else None


def _easee_command_key(request: web.Request) -> str | None:
    if request.method != "POST":
        return None
    if match := _EASEE_CHARGER_PATH.match(request.path):
        return match.group(1)
    if match := _EASEE_CIRCUIT_PATH.match(request.path):
        return f"circuit_{match.group(1)}"
    return None


def _viriciti_command_key(request: web.Request) -> str | None:
    if request.method != "POST" or not (match := _VIRICITI_PATH.search(request.path)):
        return None
    return match.group(2)


def build_goe(sim: GoeSimulator, count: int) -> None:
    """Add the go-e chargers: every third has a car charging, the rest stand idle."""
    for index in range(count):
        sim.add_charger(
            goe_serial(index),
            goe_token(index),
            car_connected=index % 3 == 0,
            set_current=16,
            kwh_total=float(100 + index),
        )


def build_easee(sim: EaseeSimulator, count: int) -> None:
    """Add the Easee account: sites of two circuits, circuits of up to five chargers."""
    sim.add_account(EASEE_USERNAME, EASEE_PASSWORD, user_id=EASEE_USER_ID)
    circuits = math.ceil(count / CHARGERS_PER_CIRCUIT)
    for circuit in range(circuits):
        site_id = 1 + circuit // CIRCUITS_PER_SITE
        if site_id not in sim.sites:
            sim.add_site(EASEE_USER_ID, site_id, f"Site {site_id}")
        sim.add_circuit(site_id, 100 + circuit, panel_name=str(circuit + 1), max_current=32)
    for index in range(count):
        circuit, position = divmod(index, CHARGERS_PER_CIRCUIT)
        sim.add_charger(
            easee_charger_id(index),
            100 + circuit,
            master=position == 0,
            car_connected=index % 3 == 0,
            lifetime_energy=float(50 + index),
        )


def build_viriciti(sim: ViricitiSimulator, count: int) -> None:
    """Add the ViriCiti groups: an evening peak timeframe and two stations each."""
    groups = [viriciti_group_id(index) for index in range(count)]
    for group_id in groups:
        sim.add_group(
            group_id,
            f"Depot {group_id}",
            time_zone=VIRICITI_ZONE,
            default_limit=400,
            timeframes=(
                {"name": "Evening peak", "start": "0 17 * * *", "end": "0 0 * * *", "limit": 150},
            ),
            accepts_external_limits=True,
        )
        sim.add_station(group_id, "CS-01", [120, 60])
        sim.add_station(group_id, "CS-02", [50])
    sim.add_api_key(VIRICITI_KEY, groups)


class _GoeBench(GoeSimulator):
    def __init__(self, receipts: _Receipts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._receipts = receipts

    def make_app(self) -> web.Application:
        app = super().make_app()
        app.middlewares.insert(0, self._receipts.middleware("goe", _goe_command_key))
        return app


class _EaseeBench(EaseeSimulator):
    def __init__(self, receipts: _Receipts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._receipts = receipts

    def make_app(self) -> web.Application:
        app = super().make_app()
        app.middlewares.insert(0, self._receipts.middleware("easee", _easee_command_key))
        return app


class _ViricitiBench(ViricitiSimulator):
    def __init__(self, receipts: _Receipts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._receipts = receipts

    def make_app(self) -> web.Application:
        app = super().make_app()
        app.middlewares.insert(0, self._receipts.middleware("viriciti", _viriciti_command_key))
        return app


def _easee_endpoint(method: str, path: str) -> tuple[str, str]:
    if match := _EASEE_CHARGER_PATH.match(path):
        rest = match.group(2)
        name = rest.split("/")[0] if method == "GET" else f"write:{rest}"
        return name, match.group(1)
    if match := _EASEE_CIRCUIT_PATH.match(path):
        name = match.group(2) if method == "GET" else f"write:{match.group(2)}"
        return f"circuit_{name}", f"circuit_{match.group(1)}"
    if match := _EASEE_SITE_PATH.match(path):
        # A site's details (structure) and its state (every charger of the site in one read).
        return ("site_state" if match.group(2) else "sites"), f"site_{match.group(1)}"
    if path.startswith("/state/"):
        return "observations", path.split("/")[2]
    return path.removeprefix("/api/").replace("/", "_"), "account"


def _viriciti_endpoint(method: str, path: str) -> tuple[str, str]:
    match = _VIRICITI_PATH.search(path)
    if match is None:
        return path, ""
    name = match.group(1)
    return (f"{name}_post" if method == "POST" else name), match.group(2)


class Farm:
    """The three simulators, their request logs and the command receipts."""

    def __init__(self, fleet: Fleet, clock: Callable[[], float]) -> None:
        self.receipts = _Receipts()
        # No simulated answer time: the benchmark measures the integration, not the cloud.
        self.goe = _GoeBench(self.receipts, clock=clock, latency_scale=0)
        self.easee = _EaseeBench(self.receipts, clock=clock, latency_scale=0)
        self.viriciti = _ViricitiBench(
            self.receipts, clock=clock, latency_scale=0, min_post_interval=300
        )
        build_goe(self.goe, fleet.goe)
        build_easee(self.easee, fleet.easee)
        build_viriciti(self.viriciti, fleet.viriciti)

    async def start(self) -> dict[str, str]:
        """Serve each simulator on 127.0.0.1 and return their base URLs."""
        return {
            "goe": await self.goe.start(),
            "easee": await self.easee.start(),
            "viriciti": await self.viriciti.start(),
        }

    async def stop(self) -> None:
        """Stop serving."""
        for sim in (self.goe, self.easee, self.viriciti):
            await sim.stop()

    def requests(self) -> dict[str, list[Logged]]:
        """Return every vendor's request log in one shape."""
        return {
            "goe": [
                (r.time, r.endpoint, r.serial or "", r.http_status, r.result)
                for r in self.goe.requests
            ],
            "easee": [
                (r.time, *_easee_endpoint(r.method, r.path), r.status, r.result)
                for r in self.easee.requests
            ],
            "viriciti": [
                (r.time, *_viriciti_endpoint(r.method, r.path), r.status, r.result)
                for r in self.viriciti.requests
            ],
        }

    def take_receipts(self) -> dict[tuple[str, str], list[float]]:
        """Return (and forget) the command receipts so far."""
        times = dict(self.receipts.times)
        self.receipts.times.clear()
        return times

    def request_count(self) -> int:
        """Return how many requests reached the simulators so far."""
        return len(self.goe.requests) + len(self.easee.requests) + len(self.viriciti.requests)


def serve(conn: Connection, clock_value: Synchronized[float], fleet: Fleet) -> None:
    """Run the farm until told to stop (the entry point of the simulator process)."""
    asyncio.run(_serve(conn, clock_value, fleet))


async def _serve(conn: Connection, clock_value: Synchronized[float], fleet: Fleet) -> None:
    farm = Farm(fleet, lambda: clock_value.value)
    conn.send(await farm.start())
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()

    def on_message() -> None:
        command = conn.recv()
        if command == "receipts":
            conn.send(farm.take_receipts())
        elif command == "requests":
            conn.send(farm.requests())
        elif command == "count":
            conn.send(farm.request_count())
        elif not stopped.done():
            stopped.set_result(None)

    loop.add_reader(conn.fileno(), on_message)
    await stopped
    loop.remove_reader(conn.fileno())
    await farm.stop()
    conn.send("stopped")
