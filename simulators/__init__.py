"""Faithful simulators of the vendor clouds, and the one registry of them (`VENDORS`).

The command line (`python -m simulators`), the demo and the benchmark know a vendor only
through its `SimulatedVendor`, kept in `simulators/<vendor>_vendor.py` next to its simulator.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from simulators.server import SimulatorServer

type SubCommands = argparse._SubParsersAction[argparse.ArgumentParser]  # noqa: SLF001 - no public name
# One request as the benchmark counts it: simulated time, endpoint, charger / circuit / group,
# HTTP status, result.
type Logged = tuple[float, str, str, int, str]
# What follows a logged result (after a colon) when chaos lost its answer: the cloud did it,
# the client never heard it (a ban answered so told the client nothing).
ANSWER_LOST: Final = "answer_lost"


# --- the demo -----------------------------------------------------------------------------


class DemoProbe(Protocol):
    """What a vendor's demo check may ask of the running demo (Home Assistant and simulator)."""

    @property
    def domain(self) -> str:
        """Return the integration's domain, whose actions a check may call."""

    def entity_id(self, unique_id: str) -> str:
        """Return the entity id of the integration's entity with that unique id."""

    def device_id(self, identifier: str) -> str:
        """Return the device registry id of the integration's device with that identifier."""

    async def call_service(self, domain: str, service: str, data: dict[str, object]) -> None:
        """Call a Home Assistant action."""

    async def sim_objects(self, path: str, what: str) -> list[dict[str, object]]:
        """GET a list of JSON objects from this vendor's simulator (e.g. /_sim/requests)."""

    async def sim_object(self, path: str, what: str) -> dict[str, object]:
        """GET a JSON object from this vendor's simulator (e.g. /_sim/chargers)."""

    def as_object(self, value: object, what: str) -> dict[str, object]:
        """Return `value` as a JSON object; fail the check when it is none."""

    async def wait_for[T](self, what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
        """Return probe's first answer that is not None; fail the check after a while."""

    def error(self, message: str) -> Exception:
        """Return the exception that fails the check with that message."""

    def say(self, text: str) -> None:
        """Tell the person at the terminal."""


@dataclass(frozen=True, kw_only=True)
class DemoCheck:
    """One of `scripts/demo --check`'s checks for this vendor."""

    name: str
    run: Callable[[DemoProbe], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class DemoEntry:
    """A config entry the demo creates through the config flow: the menu step and its form.

    With `subentry`, an item of the vendor's entry (the first of its `entries`) instead, added
    through that entry's subentry flow of this type: `step` is the option of its menu.
    """

    step: str
    data: dict[str, object]
    name: str = ""  # how the demo's start-up text names a spare, e.g. "go-e charger 000003"
    subentry: str | None = None


@dataclass(frozen=True, kw_only=True)
class DemoBulk:
    """Many items the simulator keeps for the user to add at once to the vendor's entry.

    The demo writes `lines` into `file` in Home Assistant's configuration folder and prints how
    to add them; its check pastes them into the form of the subentry flow's `step` (an option
    of its menu), which ends with the abort `done`, and waits for `devices`.
    """

    name: str  # how the demo's start-up text names them, e.g. "go-e fleet of 1,000 chargers"
    subentry: str  # the subentry type
    step: str
    lines_field: str  # the form's field the lines are pasted into
    file_field: str  # and the one a file of them is uploaded in
    file: str
    lines: tuple[str, ...]
    unique_ids: tuple[str, ...]  # the subentries' unique ids, one per line
    devices: tuple[str, ...]  # the device identifiers the added items bring
    done: str


def no_entries(_url: str) -> list[DemoEntry]:
    """Return no entries (a vendor without spares)."""
    return []


@dataclass(frozen=True, kw_only=True)
class DemoAutomation:
    """The vendor's part of the demo's example automation (limit at 17:00, restore at 20:00)."""

    numbers: tuple[str, ...]  # unique ids of the numbers it sets
    restore: int  # the value at 20:00
    restored: str  # how the automation's description says so
    note: str = ""  # a sentence the description adds


@dataclass(frozen=True, kw_only=True)
class VendorDemo:
    """What the demo runs for a vendor: `python -m simulators KEY --demo` and its entries."""

    default_port: int  # where `python -m simulators KEY` listens by default
    devices: Mapping[str, str]  # device identifiers the demo must create -> description
    entries: Callable[[str], list[DemoEntry]]  # the simulator's base URL -> the entries
    # What the simulator keeps besides, for a newcomer to add through the form (the demo prints
    # how, and its check adds each): the simulator's base URL -> the entries.
    spares: Callable[[str], list[DemoEntry]] = no_entries
    energy_sensors: tuple[str, ...] = ()  # unique ids, for the energy dashboard
    charging_power: tuple[str, ...] = ()  # unique ids of power sensors that must be above 0
    automation: DemoAutomation | None = None
    # Device identifier prefixes of devices that rightly have no entity.
    entityless: tuple[str, ...] = ()
    # Description keys of entities that may rightly have no value in the demo, with the reason.
    may_be_unknown: Mapping[str, str] = field(default_factory=dict)
    checks: tuple[DemoCheck, ...] = ()
    notes: tuple[str, ...] = ()  # lines printed under the demo's links
    screenshot: tuple[str, str] | None = None  # (file, device identifier) for the README
    # The README's other pictures, from the first vendor that gives each: its form filled in
    # with mistakes on purpose (at least two errors), and an action's form (the action, the
    # identifier of the device it targets, its data).
    form_with_errors: Mapping[str, object] | None = None
    action_form: tuple[str, str, Mapping[str, object]] | None = None
    bulk: DemoBulk | None = None
    # The budgets the simulator's requests (GET /_sim/requests) broke between two times, as
    # the benchmark's budget report finds them; None: the check does not count them.
    budget_violations: (
        Callable[[Sequence[Mapping[str, object]], float, float], list[str]] | None
    ) = None


# --- the benchmark ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BenchSubentry:
    """A subentry of a benchmark's config entry (a charger or a group of an entry's fleet)."""

    subentry_type: str
    title: str
    unique_id: str
    data: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class BenchEntry:
    """A config entry the benchmark adds for a vendor (the harness adds domain and vendor)."""

    title: str
    unique_id: str | None
    data: dict[str, object]
    options: dict[str, object] = field(default_factory=dict)
    version: int = 1
    subentries: tuple[BenchSubentry, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BenchFarm:
    """A vendor's simulator in the benchmark's farm, loaded with its fleet."""

    server: SimulatorServer[Any]
    log: Callable[[], list[Logged]]  # every request so far, as the budget check counts them
    # Switch the cloud's push channel (a stream) on or off; None: it has none.
    set_push: Callable[[bool], None] | None = None


@dataclass(frozen=True, kw_only=True)
class BenchLayout:
    """Another layout of the scaled fleet in config entries (e.g. one entry per charger)."""

    marked: str  # what the table adds to the fleet size of its rows
    entries: Callable[[int, str], list[BenchEntry]]  # (count, base URL)


@dataclass(frozen=True, kw_only=True)
class ScaledBench:
    """The fleet `scripts/bench` scales: set up first, its poll cycles timed, targets on it."""

    cycle: float  # its poll interval: a timed cycle, and the benchmark's travel span
    reads: str  # the endpoint whose reads per charger and day the table shows
    reads_label: str  # and what the table calls them
    intro: str  # the table's opening sentence
    # Other ways to lay the same fleet out in config entries, compared in the full run: name
    # -> how the table marks its rows and the entries, (count, base URL) -> entries. The
    # vendor's ``entries`` is the layout measured against the targets.
    layouts: Mapping[str, BenchLayout] = field(default_factory=dict)
    compare: tuple[int, ...] = ()  # the full run's sizes that also run in every other layout


@dataclass(frozen=True, kw_only=True)
class VendorBench:
    """What `scripts/bench` does with a vendor: its farm, entries, commands and budget."""

    metavar: str  # its `scripts/bench --KEY` option
    help: str
    full: tuple[int, ...]  # fleet sizes of the full run (one per run when scaled)
    quick: tuple[int, ...]  # and of CI's quick run
    unit: str  # what the counted fleet is made of, e.g. "chargers"
    described: str  # how the mixed table's sentence names it
    farm: Callable[[Callable[[], float], int], BenchFarm]  # (clock, count)
    command_key: Callable[[web.Request], str | None]  # the device a command is for, or None
    entries: Callable[[int, str], list[BenchEntry]]  # (count, base URL)
    # (count, samples) -> (command key, number's unique id, value) to time commands on.
    latency: Callable[[int, int], list[tuple[str, str, float]]]
    # (log, count, started, day start, day end) -> endpoints, violations and the rest.
    budget: Callable[[Sequence[Logged], int, float, float, float], dict[str, Any]]
    scaled: ScaledBench | None = None
    # How the README names the cloud's push channel (e.g. "the stream"), whose farm then has
    # ``set_push``: the benchmark compares its requests with it on and off. None: no channel.
    push: str | None = None


# --- the chaos soak ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SoakPart:
    """One simulator of a vendor's soak (a cloud), loaded with its fleet."""

    name: str  # as the soak's report names it
    server: SimulatorServer[Any]
    count: int  # chargers (or groups) on it, as the vendor's budget check counts them
    log: Callable[[], list[Logged]]  # every request so far, as the budget check counts them
    devices: tuple[str, ...]  # what can go offline
    # Take a device off the cloud (False) or back (True): a charger, or a group's answers.
    set_online: Callable[[str, bool], None]
    # Ban every request from now on for a while in a form (None: the vendor has no bans).
    ban: Callable[[str, float], None] | None = None
    secrets: Callable[[], set[str]] = set  # what the cloud issued (tokens), at the end


@dataclass(frozen=True, kw_only=True)
class VendorSoak:
    """What `scripts/soak` does with a vendor: its clouds, entries, secrets and bans."""

    farm: Callable[[Callable[[], float]], list[SoakPart]]  # (clock) -> the clouds
    entries: Callable[[Sequence[str]], list[BenchEntry]]  # (each cloud's base URL) -> entries
    secrets: frozenset[str]  # passwords, tokens and keys the entries hold
    serials: frozenset[str]  # what diagnostics must not show
    # The options the user changes once, from the entry's; None: a charger's subentry renamed.
    options: Callable[[Mapping[str, object]], dict[str, object] | None]
    # A ban in each form, the i-th on the i-th cloud, and its repair issue's id before the entry
    # id ("" without bans).
    bans: tuple[str, ...] = ()
    ban_issue: str = ""


# --- a vendor -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SimulatedVendor:
    """One vendor's simulator as the command line, the demo and the benchmark use it."""

    key: str  # the integration's entry.data["vendor"], and the sub-command
    name: str  # as people write it, e.g. "go-e"
    add_command: Callable[[SubCommands], None]  # adds `python -m simulators KEY`
    demo: VendorDemo
    bench: VendorBench
    soak: VendorSoak


# The registry: one line per vendor, keyed as the integration keys it (entry.data["vendor"]).
# Listed by module, as each vendor module imports this one for the interface.
_MODULES: Final = {
    "goe": "simulators.goe_vendor",
    "easee": "simulators.easee_vendor",
    "viriciti": "simulators.viriciti_vendor",
}


def _load(key: str, module: str) -> SimulatedVendor:
    vendor = import_module(module).VENDOR
    if not isinstance(vendor, SimulatedVendor) or vendor.key != key:
        raise TypeError(f"{module}.VENDOR is no SimulatedVendor with key {key!r}")
    return vendor


VENDORS: Final[Mapping[str, SimulatedVendor]] = {
    key: _load(key, module) for key, module in _MODULES.items()
}


def scaled_vendor() -> tuple[SimulatedVendor, ScaledBench]:
    """Return the vendor whose fleet the benchmark scales (exactly one declares it)."""
    ((vendor, scaled),) = (
        (vendor, vendor.bench.scaled)
        for vendor in VENDORS.values()
        if vendor.bench.scaled is not None
    )
    return vendor, scaled


def words(parts: Sequence[str]) -> str:
    """Return parts as a sentence lists them: "a, b and c"."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def names() -> str:
    """Return every vendor's name as a sentence lists them."""
    return words([vendor.name for vendor in VENDORS.values()])
