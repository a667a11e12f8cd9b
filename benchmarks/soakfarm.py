"""The soak's clouds: one vendor's simulators in a process of their own, with faults to play.

Like ``simfarm`` (the simulators read Home Assistant's travelled clock from shared memory), but
for one vendor at a time and controlled over the pipe: seeded chaos, outages, a charger or
group offline, Easee bans. Easee's accounts each get a simulator of their own (a cloud each):
a ban silences its account for a day, so one day meets every form of ban on its own account.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any, Final

from simulators import Logged
from simulators.easee import EaseeSimulator
from simulators.easee_vendor import _endpoint as easee_endpoint
from simulators.goe import GoeSimulator
from simulators.goe_vendor import bench_serial, bench_token
from simulators.server import SimulatorServer
from simulators.viriciti import ViricitiSimulator
from simulators.viriciti_vendor import (
    BENCH_KEY,
    BENCH_ZONE,
    _endpoint as viriciti_endpoint,
    bench_group_id,
)

# The soak's fleets: a few chargers (or groups) per vendor.
GOE_CHARGERS: Final = 4
EASEE_ACCOUNTS: Final = 3
EASEE_CHARGERS_PER_ACCOUNT: Final = 2
VIRICITI_GROUPS: Final = 3


def easee_user(index: int) -> tuple[int, str, str]:
    """Return the index-th soak account's user id, user name and password."""
    return 5100 + index, f"soak{index + 1}@example.com", f"Soak-Pa55w0rd-{index + 1}!"


def easee_charger_id(account: int, index: int) -> str:
    """Return the id of an account's index-th charger."""
    return f"EHS{account + 1}{index + 1:04d}"


@dataclass(slots=True)
class Part:
    """One simulator of the vendor's soak: its server, the fleet count and its log."""

    name: str
    server: SimulatorServer[Any]
    count: int  # chargers (or groups) on it, as the vendor's budget check counts them
    log: Callable[[], list[Logged]]
    devices: tuple[str, ...]  # what goes offline: go-e serials, Easee charger ids, group ids


def _goe(clock: Callable[[], float]) -> list[Part]:
    sim = GoeSimulator(clock=clock, latency_scale=0)
    serials = tuple(bench_serial(index) for index in range(GOE_CHARGERS))
    for index, serial in enumerate(serials):
        sim.add_charger(serial, bench_token(index), car_connected=index % 2 == 0, set_current=16)

    def log() -> list[Logged]:
        return [(r.time, r.endpoint, r.serial or "", r.http_status, r.result) for r in sim.requests]

    return [Part("go-e", sim, GOE_CHARGERS, log, serials)]


def _easee(clock: Callable[[], float]) -> list[Part]:
    parts = []
    for account in range(EASEE_ACCOUNTS):
        sim = EaseeSimulator(clock=clock, latency_scale=0)
        user_id, username, password = easee_user(account)
        sim.add_account(username, password, user_id=user_id)
        site, circuit = 10 + account, 100 + account
        sim.add_site(user_id, site, f"Soak site {account + 1}")
        sim.add_circuit(site, circuit, max_current=32)
        chargers = tuple(
            easee_charger_id(account, index) for index in range(EASEE_CHARGERS_PER_ACCOUNT)
        )
        for index, charger in enumerate(chargers):
            sim.add_charger(charger, circuit, master=index == 0, car_connected=index == 0)

        def log(sim: EaseeSimulator = sim) -> list[Logged]:
            return [
                (r.time, *easee_endpoint(r.method, r.path), r.status, r.result)
                for r in sim.requests
            ]

        parts.append(Part(f"Easee {username}", sim, len(chargers), log, chargers))
    return parts


def _viriciti(clock: Callable[[], float]) -> list[Part]:
    sim = ViricitiSimulator(clock=clock, latency_scale=0, min_post_interval=300)
    groups = tuple(bench_group_id(index) for index in range(VIRICITI_GROUPS))
    for group_id in groups:
        sim.add_group(
            group_id,
            f"Depot {group_id}",
            time_zone=BENCH_ZONE,
            default_limit=400,
            timeframes=(
                {"name": "Evening peak", "start": "0 17 * * *", "end": "0 0 * * *", "limit": 150},
            ),
            accepts_external_limits=True,
        )
        sim.add_station(group_id, "CS-01", [120, 60])
    sim.add_api_key(BENCH_KEY, groups)

    def log() -> list[Logged]:
        return [
            (r.time, *viriciti_endpoint(r.method, r.path), r.status, r.result) for r in sim.requests
        ]

    return [Part("ViriCiti", sim, VIRICITI_GROUPS, log, groups)]


FARMS: Final[Mapping[str, Callable[[Callable[[], float]], list[Part]]]] = {
    "goe": _goe,
    "easee": _easee,
    "viriciti": _viriciti,
}


class SoakFarm:
    """One vendor's simulators and the faults the soak plays on them."""

    def __init__(self, vendor: str, clock: Callable[[], float]) -> None:
        self.vendor = vendor
        self.clock = clock
        self.parts = FARMS[vendor](clock)
        self.windows: Counter[str] = Counter()  # outages, offline stretches, bans: how many

    async def start(self) -> list[str]:
        """Serve each simulator; return their base URLs, in the parts' order."""
        return [await part.server.start() for part in self.parts]

    async def stop(self) -> None:
        """Stop serving."""
        for part in self.parts:
            await part.server.stop()

    def chaos(self, rates: Mapping[str, float], seed: int) -> None:
        """Start the random faults: each simulator draws from a generator of its own seed."""
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
        """Take a charger off the cloud (go-e, Easee) or a group's answers away (ViriCiti)."""
        server = self.parts[part].server
        key = self.parts[part].devices[device]
        if isinstance(server, GoeSimulator):
            server.chargers[key].online = online
        elif isinstance(server, EaseeSimulator):
            server.chargers[key].is_online = online
        elif not online:
            # A group whose chargers went away: its requests get no answer until it is back.
            now = self.clock()
            server.add_outage(now, now + 86400, target=f"/{key}", label="offline", kind="drop")
        else:
            server.outages = [o for o in server.outages if o.label != "offline"]
        if not online:
            self.windows["offline"] += 1

    def ban(self, part: int, form: str, seconds: float) -> None:
        """Easee bans (the simulator of) an account in one of its forms."""
        server = self.parts[part].server
        if not isinstance(server, EaseeSimulator):
            raise TypeError("only Easee bans")
        server.ban(form, seconds)
        self.windows[f"ban {form}"] += 1

    def report(self) -> dict[str, Any]:
        """Return every part's log, injected faults and issued secrets."""
        return {
            "parts": [
                {
                    "name": part.name,
                    "count": part.count,
                    "log": part.log(),
                    "injected": dict(part.server.chaos.injected)
                    if part.server.chaos is not None
                    else {},
                    "secrets": sorted(part.server.issued_secrets())
                    if isinstance(part.server, EaseeSimulator)
                    else [],
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
            if command == "count":
                conn.send(sum(len(part.server.requests) for part in farm.parts))
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
