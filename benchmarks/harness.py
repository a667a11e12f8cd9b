"""One benchmark scenario: Home Assistant in-process, on a travelled clock, against the farm.

Home Assistant runs the way pytest-homeassistant-custom-component runs it in the tests
(``async_test_home_assistant``, freezegun), with storage in a temporary configuration folder.
The simulators run in a process of their own (``simfarm``) on the same simulated clock.
"""

from __future__ import annotations

# Home Assistant's clock must be patchable by freezegun before any of it is imported.
from pytest_homeassistant_custom_component import patch_time  # type: ignore[import-untyped]

# isort: split

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
import cProfile
from dataclasses import dataclass
from datetime import timedelta
import gc
import json
import logging
import multiprocessing
from multiprocessing.connection import Connection
import os
from pathlib import Path
import resource
import statistics
import sys
import tempfile
import time
import types
from typing import Any, Final, Protocol, cast
from unittest.mock import patch

from aiohttp import ClientSession
from aiohttp.resolver import ThreadedResolver
import freezegun
from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.config_entries import ConfigEntry, ConfigSubentry, ConfigSubentryData
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, EventStateReportedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, frame
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import EntityPlatform
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.ev_charge_control.const import CONF_VENDOR, DOMAIN
from simulators import VENDORS, BenchEntry, Logged, SimulatedVendor, scaled_vendor

from . import simfarm
from .budgets import check_requests
from .idle import block_till_idle
from .simfarm import real_now

# A Saturday, noon UTC: the tests' start too.
START: Final = "2026-11-21 12:00:00+00:00"
# Coordinators start their interval up to half a second late (Home Assistant spreads them).
SPREAD: Final = 0.5
# Real time each travelled step leaves the farm's process to answer (in s).
FARM_ROUND_TRIP: Final = 0.001
# Poll cycles of the scaled fleet timed with nothing else set up.
CYCLES: Final = 2
LOGGER: Final = logging.getLogger(__name__)


# Set to a file name: the scaled fleet's last cycle is profiled (cProfile, event loop thread) into it.
PROFILE_CYCLE: Final = os.environ.get("EV_BENCH_PROFILE")


@contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


class SharedClock(Protocol):
    """The simulated time the simulator process reads (a shared double)."""

    value: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one run sets up and how long it travels."""

    fleet: Mapping[str, int]  # chargers (or groups) per vendor key
    hours: float
    step: float
    latency_samples: int
    # The scaled fleet's layout in config entries: one of its ``layouts``, or None for its
    # vendor's ``entries`` (the layout the targets are measured on).
    layout: str | None = None
    # The clouds' push channels (streams) on, or off: the integration polls as while they are down.
    push: bool = True

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Scenario:
        """Read a scenario as ``as_dict`` writes it."""
        return cls(
            {key: int(spec[key]) for key in VENDORS},
            float(spec["hours"]),
            float(spec["step"]),
            int(spec["latency_samples"]),
            spec.get("layout"),
            bool(spec.get("push", True)),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the scenario as results.json keeps it: each vendor's count, then the rest."""
        return {
            **self.fleet,
            "hours": self.hours,
            "step": self.step,
            "latency_samples": self.latency_samples,
            "layout": self.layout,
            "push": self.push,
        }


def rss_kb() -> int:
    """Return the process's resident memory now, in KiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    """Return the process's highest resident memory so far, in KiB (Linux: ru_maxrss)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# Where the walk of the integration's objects stops: Home Assistant's (the entry, the entities,
# the entity platforms the runtime adds entities through, the event loop), and what every
# integration shares (modules, classes, functions' globals).
_NOT_OWN: Final = (
    HomeAssistant,
    ConfigEntry,
    ConfigSubentry,
    Entity,
    EntityPlatform,
    asyncio.AbstractEventLoop,
    ClientSession,
    logging.Logger,
    types.ModuleType,
    type,
)


# Set to a file name: the integration's own objects after the scaled fleet's set-up, bytes by
# type, are written into it (JSON), to see where its memory goes.
OWN_TYPES: Final = os.environ.get("EV_BENCH_OWN_TYPES")


def own_bytes(roots: list[object], by_type: Counter[str] | None = None) -> int:
    """Return the bytes of the objects reachable from ``roots``, each counted once.

    The integration's own objects: what its entries' runtimes hold (coordinators, clients,
    budgets, command queues, their data), walked through ``gc.get_referents`` and summed with
    ``sys.getsizeof``. The walk stops at Home Assistant's objects (``_NOT_OWN``: their memory is
    Home Assistant's bookkeeping) and does not enter a function (its globals are its module's).
    """
    seen: set[int] = set()
    total = 0
    stack: list[tuple[object, str]] = [(root, "") for root in roots]
    while stack:
        obj, holder = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_OWN):
            continue
        seen.add(id(obj))
        size = sys.getsizeof(obj)
        total += size
        name = type(obj).__qualname__
        if by_type is not None:
            by_type[f"{name} in {holder}"] += size
        if not isinstance(obj, types.FunctionType | types.BuiltinFunctionType):
            # What holds a dict, tuple or list is what it belongs to.
            holds = holder if name in {"dict", "tuple", "list"} else name
            stack.extend((referent, holds) for referent in gc.get_referents(obj))
    return total


def quantiles(values: list[float]) -> dict[str, float | int]:
    """Return p50, p99 and max of samples (in the samples' unit)."""
    if not values:
        return {"samples": 0}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else None
    return {
        "samples": len(values),
        "p50": cuts[49] if cuts else values[0],
        "p99": cuts[98] if cuts else values[0],
        "max": max(values),
    }


class GcMeter:
    """Wall time the garbage collector ran (its collections by generation), in s."""

    def __init__(self) -> None:
        self.seconds: defaultdict[int, float] = defaultdict(float)
        self._started = 0.0

    def _callback(self, phase: str, info: Mapping[str, int]) -> None:
        if phase == "start":
            self._started = real_now()
        else:
            self.seconds[info["generation"]] += real_now() - self._started

    @contextmanager
    def measure(self) -> Iterator[None]:
        """Count the collections inside."""
        gc.callbacks.append(self._callback)
        try:
            yield
        finally:
            gc.callbacks.remove(self._callback)


@dataclass(slots=True)
class Meter:
    """CPU and wall time of a stretch of work (real clocks: freezegun does not touch these)."""

    cpu: float = 0.0
    loop_cpu: float = 0.0
    wall: float = 0.0

    @contextmanager
    def measure(self) -> Iterator[None]:
        """Add the CPU time (all threads, and the event loop's alone) and wall time inside."""
        cpu, loop_cpu, wall = time.process_time(), time.thread_time(), real_now()
        try:
            yield
        finally:
            self.cpu += time.process_time() - cpu
            self.loop_cpu += time.thread_time() - loop_cpu
            self.wall += real_now() - wall


class StateWrites:
    """Every state write: attempted by an entity, changed something, or changed nothing."""

    def __init__(self) -> None:
        self.attempted = 0
        self.changed = 0
        self.unchanged = 0
        self.unchanged_by: Counter[str] = Counter()
        self.changed_by: Counter[str] = Counter()
        self.changed_by_vendor: Counter[str] = Counter()
        self.unchanged_by_vendor: Counter[str] = Counter()
        self.describe: dict[str, tuple[str, str]] = {}

    def snapshot(self) -> tuple[int, int, int]:
        """Return (attempted, changed, unchanged) so far."""
        return self.attempted, self.changed, self.unchanged

    def attach(self, hass: HomeAssistant) -> Callable[[], None]:
        """Count from now on; return what undoes the counting."""
        original = Entity.async_write_ha_state
        writes = self

        @callback
        def counting(entity: Entity) -> None:
            writes.attempted += 1
            original(entity)

        Entity.async_write_ha_state = counting  # type: ignore[method-assign,assignment,misc]

        @callback
        def changed(event: Event[Any]) -> None:
            self.changed += 1
            vendor, key = self.describe.get(event.data["entity_id"], ("?", "?"))
            self.changed_by_vendor[vendor] += 1
            self.changed_by[f"{vendor}: {key}"] += 1

        @callback
        def reported(event: Event[EventStateReportedData]) -> None:
            self.unchanged += 1
            vendor, key = self.describe.get(event.data["entity_id"], ("?", "?"))
            self.unchanged_by_vendor[vendor] += 1
            self.unchanged_by[f"{vendor}: {key}"] += 1

        @callback
        def every(_: Mapping[str, Any]) -> bool:
            return True

        unsubs = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, changed),
            hass.bus.async_listen(EVENT_STATE_REPORTED, reported, event_filter=every),
        ]

        def detach() -> None:
            Entity.async_write_ha_state = original  # type: ignore[method-assign,misc]
            for unsub in unsubs:
                unsub()

        return detach


def mock_entry(vendor: str, made: BenchEntry) -> MockConfigEntry:
    """Return the config entry (with its subentries) that a simulator's vendor entry describes."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=made.title,
        unique_id=made.unique_id,
        version=made.version,
        data={CONF_VENDOR: vendor, **made.data},
        options=made.options,
        subentries_data=[
            ConfigSubentryData(
                subentry_type=sub.subentry_type,
                title=sub.title,
                unique_id=sub.unique_id,
                data=sub.data,
            )
            for sub in made.subentries
        ],
    )


class Bench:
    """The running scenario: Home Assistant, the farm's pipe, the clock and the counters."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        clock: SharedClock,
        conn: Connection,
        urls: Mapping[str, str],
        scenario: Scenario,
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.clock = clock
        self.conn = conn
        self.urls = urls
        self.scenario = scenario
        self.writes = StateWrites()
        self.result: dict[str, Any] = {"scenario": scenario.as_dict()}
        self.warnings: Counter[str] = Counter()

    def ask(self, command: str) -> Any:
        """Ask the simulator process something and return its answer."""
        self.conn.send(command)
        return self.conn.recv()

    async def travel(self, seconds: float, step: float | None = None) -> None:
        """Move time forward in steps, firing every timer and finishing what it starts.

        freezegun moves the event loop's clock too, so due timers fire by themselves.
        ``async_fire_time_changed`` would fire them early instead, with two ``unittest.mock``
        patches per timer: half the CPU time of a poll cycle with a thousand chargers.
        """
        remaining = seconds
        step = step or seconds
        while remaining > 1e-9:
            tick = min(step, remaining)
            self.freezer.tick(timedelta(seconds=tick))
            self.clock.value = time.time()
            # The loop runs the timers now due after this task's next step: a second step
            # comes after them, when the work they started is there to wait for.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            await block_till_idle(self.hass)
            # A moment of real time for the farm's answers: a step travels in microseconds,
            # but a round trip to the other process (a stream's pong) takes a little longer.
            await self.hass.async_add_executor_job(time.sleep, FARM_ROUND_TRIP)
            remaining -= tick

    # Set-up

    def _entities(self, entries: list[MockConfigEntry]) -> list[er.RegistryEntry]:
        registry = er.async_get(self.hass)
        return [
            entity
            for entry in entries
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
            if entity.disabled_by is None
        ]

    async def _measure_setup(
        self,
        vendor: str,
        entries: list[MockConfigEntry],
        chargers: int,
        setup: Callable[[], Coroutine[Any, Any, object]],
        *,
        count_own_types: bool = False,
    ) -> None:
        gc.collect()
        before = rss_kb()
        meter = Meter()
        with meter.measure():
            await setup()
            await block_till_idle(self.hass)
        entities = self._entities(entries)
        missing = [e.entity_id for e in entities if self.hass.states.get(e.entity_id) is None]
        unavailable = [
            e.entity_id
            for e in entities
            if (state := self.hass.states.get(e.entity_id)) is not None
            and state.state == "unavailable"
        ]
        gc.collect()
        added = max(0, rss_kb() - before)
        by_type: Counter[str] = Counter()
        loaded = [e.runtime_data for e in entries if e.state.value == "loaded"]
        own = own_bytes(loaded, by_type) / 1024
        if OWN_TYPES is not None and count_own_types:
            text = json.dumps(by_type.most_common(60))
            await self.hass.async_add_executor_job(Path(OWN_TYPES).write_text, text)
        # The bench's own bookkeeping, after the measurement: not the integration's memory.
        for entity in entities:
            self.writes.describe[entity.entity_id] = (
                vendor,
                f"{entity.domain}.{entity.translation_key}",
            )
        not_loaded = [e.title for e in entries if e.state.value != "loaded"]
        self.result.setdefault("setup", {})[vendor] = {
            "entries": len(entries),
            "chargers": chargers,
            "entities": len(entities),
            "wall_s": meter.wall,
            "cpu_s": meter.cpu,
            "wall_ms_per_charger": 1000 * meter.wall / max(1, chargers),
            "rss_added_kb": added,
            "kb_per_charger": added / max(1, chargers),
            "kb_per_entity": added / max(1, len(entities)),
            "own_kb": own,
            "own_kb_per_charger": own / max(1, chargers),
            "without_state": len(missing),
            "unavailable": len(unavailable),
            "entries_not_loaded": not_loaded,
        }

    async def setup(self, vendor: SimulatedVendor) -> None:
        """Set up a vendor's entries, all at once.

        The scaled fleet comes first, through the integration's set-up, as Home Assistant's
        start does; a vendor without entries is left out.
        """
        count = self.scenario.fleet[vendor.key]
        make = vendor.bench.entries
        if vendor.bench.scaled is not None and self.scenario.layout is not None:
            make = vendor.bench.scaled.layouts[self.scenario.layout].entries
        entries = [mock_entry(vendor.key, entry) for entry in make(count, self.urls[vendor.key])]
        if vendor.bench.scaled is not None:
            for entry in entries:
                entry.add_to_hass(self.hass)

            async def setup() -> bool:
                return await async_setup_component(self.hass, DOMAIN, {})

            await self._measure_setup(vendor.key, entries, count, setup, count_own_types=True)
        elif entries:
            await self._measure_setup(
                vendor.key, entries, count, lambda: self._setup_entries(entries)
            )

    async def _setup_entries(self, entries: list[MockConfigEntry]) -> None:
        for entry in entries:
            entry.add_to_hass(self.hass)
        await asyncio.gather(
            *(self.hass.config_entries.async_setup(entry.entry_id) for entry in entries)
        )

    # Polling

    async def cycles(self, vendor: SimulatedVendor, interval: float) -> None:
        """Travel whole intervals with only the scaled fleet set up: one read of every charger."""
        cycles: list[dict[str, Any]] = []
        for _ in range(CYCLES):
            before = self.writes.snapshot()
            changed_before = Counter(self.writes.changed_by)
            requests = self.ask("count")
            meter = Meter()
            collections = GcMeter()
            with (
                meter.measure(),
                collections.measure(),
                _profiled(PROFILE_CYCLE if cycles else None),
            ):
                await self.travel(interval + SPREAD)
            after = self.writes.snapshot()
            cycles.append(
                {
                    "cpu_s": meter.cpu,
                    "loop_cpu_s": meter.loop_cpu,
                    "wall_s": meter.wall,
                    "gc_wall_s": {str(k): v for k, v in sorted(collections.seconds.items())},
                    "requests": self.ask("count") - requests,
                    "writes_attempted": after[0] - before[0],
                    "writes": after[1] - before[1] + after[2] - before[2],
                    "writes_unchanged": after[2] - before[2],
                    "changed_by_entity": dict(
                        (self.writes.changed_by - changed_before).most_common(8)
                    ),
                }
            )
        self.result[f"{vendor.key}_cycles"] = cycles

    async def day(self, cycle: float) -> None:
        """Travel the scenario's period with every vendor, one cycle of the scaled fleet at a time."""
        seconds = self.scenario.hours * 3600
        cycles: list[dict[str, float | int]] = []
        before_all = self.writes.snapshot()
        changed_before = Counter(self.writes.changed_by_vendor)
        unchanged_before = Counter(self.writes.unchanged_by_vendor)
        by_key_before = Counter(self.writes.unchanged_by)
        start_rss = rss_kb()
        started = time.time()
        total = Meter()
        with total.measure():
            done = 0.0
            while done < seconds - 1e-9:
                span = min(cycle, seconds - done)
                before = self.writes.snapshot()
                meter = Meter()
                with meter.measure():
                    await self.travel(span, self.scenario.step)
                after = self.writes.snapshot()
                cycles.append(
                    {
                        "cpu_s": meter.cpu,
                        "wall_s": meter.wall,
                        "writes": after[1] - before[1] + after[2] - before[2],
                        "writes_unchanged": after[2] - before[2],
                    }
                )
                done += span
        after_all = self.writes.snapshot()
        gc.collect()
        self.result["day"] = {
            "hours": self.scenario.hours,
            "step_s": self.scenario.step,
            "start": started,
            "end": time.time(),
            "cpu_s": total.cpu,
            "loop_cpu_s": total.loop_cpu,
            "wall_s": total.wall,
            "cycle_cpu_s": quantiles([float(c["cpu_s"]) for c in cycles]),
            "cycle_wall_s": quantiles([float(c["wall_s"]) for c in cycles]),
            "writes_attempted": after_all[0] - before_all[0],
            "writes": after_all[1] - before_all[1] + after_all[2] - before_all[2],
            "writes_unchanged": after_all[2] - before_all[2],
            "writes_changed_by_vendor": dict(self.writes.changed_by_vendor - changed_before),
            "writes_unchanged_by_vendor": dict(self.writes.unchanged_by_vendor - unchanged_before),
            "unchanged_by_entity": dict((self.writes.unchanged_by - by_key_before).most_common(12)),
            "rss_growth_kb": rss_kb() - start_rss,
        }

    # Commands

    def _entity_id(self, platform: str, unique_id: str) -> str:
        entity_id = er.async_get(self.hass).async_get_entity_id(platform, DOMAIN, unique_id)
        if entity_id is None:
            raise LookupError(unique_id)
        return entity_id

    async def latency(self, vendor: str, targets: list[tuple[str, str, float]]) -> None:
        """Set a number on each target in turn (its slot free); time until the cloud has it.

        ``targets``: (simulator key, number's unique id, value).
        """
        self.ask("receipts")  # forget earlier ones
        started: list[tuple[str, float]] = []
        returned: list[float] = []
        for key, unique_id, value in targets:
            entity_id = self._entity_id("number", unique_id)
            begin = real_now()
            await self.hass.services.async_call(
                "number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True
            )
            returned.append(1000 * (real_now() - begin))
            started.append((key, begin))
        await block_till_idle(self.hass)
        receipts: dict[tuple[str, str], list[float]] = self.ask("receipts")
        latencies = [
            1000 * (receipts[vendor, key][0] - begin)
            for key, begin in started
            if receipts.get((vendor, key))
        ]
        self.result.setdefault("latency_ms", {})[vendor] = {
            **quantiles(latencies),
            "not_sent_at_once": len(started) - len(latencies),
            "service_call": quantiles(returned),
        }

    async def latencies(self, vendor: SimulatedVendor) -> None:
        """Measure a vendor's command latency on chargers (groups) whose slot is free.

        The scaled fleet is always measured; another vendor when it has targets.
        """
        targets = vendor.bench.latency(
            self.scenario.fleet[vendor.key], self.scenario.latency_samples
        )
        if targets or vendor.bench.scaled is not None:
            await self.latency(vendor.key, targets)


class _WarningCounter(logging.Handler):
    def __init__(self, counts: Counter[str]) -> None:
        super().__init__(logging.WARNING)
        self.counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.msg}"] += 1


async def _run(
    freezer: FrozenDateTimeFactory,
    clock: SharedClock,
    conn: Connection,
    urls: Mapping[str, str],
    scenario: Scenario,
    config_dir: str,
) -> dict[str, Any]:
    errors: list[str] = []
    # As in the tests: no zeroconf for the HTTP session (the farm is on 127.0.0.1 anyway).
    # Home Assistant closes its resolver through real_close when it stops.
    threaded = ThreadedResolver()
    threaded.real_close = threaded.close  # type: ignore[attr-defined]
    resolver = patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=threaded
    )
    with resolver:
        return await _run_hass(freezer, clock, conn, urls, scenario, config_dir, errors)


async def _run_hass(
    freezer: FrozenDateTimeFactory,
    clock: SharedClock,
    conn: Connection,
    urls: Mapping[str, str],
    scenario: Scenario,
    config_dir: str,
    errors: list[str],
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()

    def on_error(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(str(context.get("exception") or context.get("message")))

    async with async_test_home_assistant(loop, config_dir=config_dir) as hass:
        loop.set_exception_handler(on_error)
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        frame.async_setup(hass)
        bench = Bench(hass, freezer, clock, conn, urls, scenario)
        counter = _WarningCounter(bench.warnings)
        logging.getLogger().addHandler(counter)
        detach = bench.writes.attach(hass)
        gc.collect()
        bench.result["rss_start_kb"] = rss_kb()
        scaled, scaled_bench = scaled_vendor()
        others = [vendor for vendor in VENDORS.values() if vendor is not scaled]
        await bench.setup(scaled)
        await bench.cycles(scaled, scaled_bench.cycle)
        await bench.latencies(scaled)
        for vendor in others:
            await bench.setup(vendor)
        for vendor in others:
            await bench.latencies(vendor)
        await bench.day(scaled_bench.cycle)
        bench.result["rss_end_kb"] = rss_kb()
        bench.result["rss_peak_kb"] = peak_rss_kb()
        detach()
        day = bench.result["day"]
        logged = bench.ask("requests")
        bench.result["requests_per_charger_hour"] = per_charger_hour(
            logged, scenario.fleet, day["start"], day["end"]
        )
        bench.result["requests"] = check_requests(
            logged,
            chargers=scenario.fleet,
            started=freezegun.api.FakeDatetime.fromisoformat(START).timestamp(),
            day_start=day["start"],
            day_end=day["end"],
        )
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_stop(force=True)
        logging.getLogger().removeHandler(counter)
        bench.result["warnings"] = dict(bench.warnings.most_common(20))
    bench.result["loop_errors"] = errors
    return bench.result


def per_charger_hour(
    logged: Mapping[str, Sequence[Logged]], fleet: Mapping[str, int], start: float, end: float
) -> dict[str, float]:
    """Return each vendor's requests in the travelled day per charger (group) and hour."""
    hours = max(end - start, 1e-9) / 3600
    return {
        key: sum(1 for item in logged[key] if start <= item[0] <= end) / (count * hours)
        for key, count in fleet.items()
        if count
    }


def patch_freezegun() -> None:
    """Do what the test plugin does before each test: Home Assistant's datetimes under freezegun."""
    freezegun.api.FakeDate = patch_time.HAFakeDate  # type: ignore[misc]
    freezegun.api.datetime_to_fakedatetime = patch_time.ha_datetime_to_fakedatetime
    freezegun.api.FakeDatetime = patch_time.HAFakeDatetime  # type: ignore[misc]
    freezegun.api._get_module_attributes = patch_time.ha_get_module_attributes  # noqa: SLF001
    freezegun.api._get_module_attributes_hash = patch_time.ha_get_module_attributes_hash  # noqa: SLF001
    freezegun.api._should_use_real_time = patch_time.ha_should_use_real_time  # noqa: SLF001
    freezegun.api.get_current_time = patch_time.ha_get_current_time


def run(scenario: Scenario) -> dict[str, Any]:
    """Run one scenario: start the farm, Home Assistant on a frozen clock, measure, stop."""
    patch_freezegun()
    logging.basicConfig(level=logging.WARNING)
    context = multiprocessing.get_context("spawn")
    start = freezegun.api.FakeDatetime.fromisoformat(START).timestamp()
    clock: SharedClock = context.Value("d", start, lock=False)
    conn, child = context.Pipe()
    fleet = dict(scenario.fleet)
    farm = context.Process(
        target=simfarm.serve, args=(child, clock, fleet, scenario.push), daemon=True
    )
    farm.start()
    try:
        urls: dict[str, str] = conn.recv()
        with (
            tempfile.TemporaryDirectory(prefix="ev-bench-") as config_dir,
            freezegun.freeze_time(START) as freezer,
        ):
            frozen = cast("FrozenDateTimeFactory", freezer)
            return asyncio.run(_run(frozen, clock, conn, urls, scenario, config_dir))
    finally:
        conn.send("stop")
        if conn.poll(10):
            conn.recv()
        farm.join(10)
        if farm.is_alive():
            farm.terminate()
