"""The soak's clouds: one vendor's simulators in a process of their own, with faults to play.

Like ``simfarm`` (the simulators read Home Assistant's travelled clock from shared memory), but
for one vendor at a time, from its registry entry (``soak``), and controlled over the pipe:
seeded chaos, outages, a device offline, bans.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from simulators import VENDORS


class SoakFarm:
    """One vendor's simulators and the faults the soak plays on them."""

    def __init__(self, vendor: str, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.parts = VENDORS[vendor].soak.farm(clock)
        self.windows: Counter[str] = Counter()  # outages, offline stretches, bans: how many

    async def start(self) -> list[str]:
        """Serve each simulator; return their base URLs, in the parts' order."""
        return [await part.server.start() for part in self.parts]

    async def stop(self) -> None:
        """Stop serving."""
        for part in self.parts:
            await part.server.stop()

    def chaos(self, rates: Mapping[str, float], seed: int) -> None:
        """Start the random faults: each simulator draws from generators of its own seed."""
        for index, part in enumerate(self.parts):
            part.server.set_chaos(rates, seed * 100 + index)

    def pause(self, paused: bool) -> None:
        """Pause (or resume) the random faults."""
        for part in self.parts:
            if part.server.chaos is not None:
                part.server.chaos.paused = paused

    def outage(self, seconds: float) -> None:
        """Make the whole cloud answer 503 from now on, for ``seconds``."""
        now = self.clock()
        for part in self.parts:
            part.server.add_outage(now, now + seconds)
        self.windows["outage"] += 1

    def offline(self, part: int, device: int, *, online: bool) -> None:
        """Take a device off the cloud, or bring it back."""
        soaked = self.parts[part]
        soaked.set_online(soaked.devices[device], online)
        if not online:
            self.windows["offline"] += 1

    def ban(self, part: int, form: str, seconds: float) -> None:
        """Ban every request to one cloud for ``seconds``, answering in ``form``."""
        ban = self.parts[part].ban
        if ban is None:
            raise TypeError("this vendor has no bans")
        ban(form, seconds)
        self.windows[f"ban {form}"] += 1

    def report(self) -> dict[str, Any]:
        """Return every part's log, injected faults and issued secrets."""
        return {
            "parts": [
                {
                    "name": part.name,
                    "count": part.count,
                    "log": part.log(),
                    "injected": {}
                    if part.server.chaos is None
                    else dict(part.server.chaos.injected),
                    "secrets": sorted(part.secrets()),
                    "devices": list(part.devices),
                }
                for part in self.parts
            ],
            "windows": dict(self.windows),
        }


def serve(conn: Connection, clock_value: Synchronized[float], vendor: str) -> None:
    """Run the vendor's farm until told to stop (the simulator process's entry point)."""
    asyncio.run(_serve(conn, clock_value, vendor))


async def _serve(conn: Connection, clock_value: Synchronized[float], vendor: str) -> None:
    farm = SoakFarm(vendor, lambda: clock_value.value)
    conn.send(await farm.start())
    loop = asyncio.get_running_loop()
    stopped = loop.create_future()

    def on_message() -> None:
        command, *arguments = conn.recv()
        if command == "stop":
            if not stopped.done():
                stopped.set_result(None)
            return
        try:
            if command == "report":
                conn.send(farm.report())
                return
            method: Callable[..., None] = getattr(farm, command)
            args, kwargs = arguments
            method(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - told to the soak, which fails on it
            conn.send(f"error: {type(err).__name__}: {err}")
            return
        conn.send("ok")

    loop.add_reader(conn.fileno(), on_message)
    await stopped
    loop.remove_reader(conn.fileno())
    await farm.stop()
    conn.send("stopped")
