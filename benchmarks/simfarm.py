"""The benchmark's vendor clouds: every vendor's simulator in a process of their own.

Home Assistant runs on a frozen, travelled clock; the simulators read the same clock from
shared memory, so their budgets (and their rate-limit answers) count simulated time. Being a
separate process keeps their CPU time and memory out of what the benchmark measures.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
import time

from aiohttp import web
from aiohttp.typedefs import Middleware

from simulators import VENDORS, BenchFarm, Logged

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# How many chargers (or groups) each simulated cloud holds, by vendor key.
type Fleet = Mapping[str, int]


def real_now() -> float:
    """Return the real monotonic clock (the same in every process; never frozen)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


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


class Farm:
    """Every vendor's simulator, their request logs and the command receipts."""

    def __init__(self, fleet: Fleet, clock: Callable[[], float], *, push: bool = True) -> None:
        self.receipts = _Receipts()
        self.parts: dict[str, BenchFarm] = {}
        for key, vendor in VENDORS.items():
            part = vendor.bench.farm(clock, fleet[key])
            part.server.extra_middlewares.append(
                self.receipts.middleware(key, vendor.bench.command_key)
            )
            if part.set_push is not None:
                part.set_push(push)
            self.parts[key] = part

    async def start(self) -> dict[str, str]:
        """Serve each simulator on 127.0.0.1 and return their base URLs."""
        return {key: await part.server.start() for key, part in self.parts.items()}

    async def stop(self) -> None:
        """Stop serving."""
        for part in self.parts.values():
            await part.server.stop()

    def requests(self) -> dict[str, list[Logged]]:
        """Return every vendor's request log in one shape."""
        return {key: part.log() for key, part in self.parts.items()}

    def take_receipts(self) -> dict[tuple[str, str], list[float]]:
        """Return (and forget) the command receipts so far."""
        times = dict(self.receipts.times)
        self.receipts.times.clear()
        return times

    def request_count(self) -> int:
        """Return how many requests reached the simulators so far."""
        return sum(len(part.server.requests) for part in self.parts.values())


def serve(
    conn: Connection, clock_value: Synchronized[float], fleet: Fleet, push: bool = True
) -> None:
    """Run the farm until told to stop (the entry point of the simulator process).

    ``push``: the clouds' push channels (streams) on, or off (the integration polls instead).
    """
    asyncio.run(_serve(conn, clock_value, fleet, push))


async def _serve(
    conn: Connection, clock_value: Synchronized[float], fleet: Fleet, push: bool
) -> None:
    farm = Farm(fleet, lambda: clock_value.value, push=push)
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
