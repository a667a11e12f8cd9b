"""The soak's Home Assistant: one vendor, a travelled day under faults, a user on top.

Home Assistant runs in-process on a travelled clock as in the benchmark (``harness``); the
vendor's simulators run in a process of their own (``soakfarm``) and play the faults. Every
check of issue 17 is counted here; ``soak`` turns the counts into failures and the table.
"""

from __future__ import annotations

# Home Assistant's clock must be patchable by freezegun before any of it is imported.
from pytest_homeassistant_custom_component import patch_time  # type: ignore[import-untyped]  # noqa: F401

# isort: split

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
import gc
import itertools
import json
import logging
import math
import multiprocessing
from multiprocessing.connection import Connection
import os
from pathlib import Path
import random
import re
import tempfile
import time
from typing import Any, Final, cast
from unittest.mock import patch

from aiohttp import ClientResponse, ClientSession
from aiohttp.resolver import ThreadedResolver
import freezegun
from freezegun.api import FrozenDateTimeFactory
from homeassistant import loader
from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
    ConfigEntryState,
)
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, callback
from homeassistant.helpers import entity_registry as er, frame, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import async_get_platforms
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    async_test_home_assistant,
)

from custom_components.ev_charge_control.const import (
    DOMAIN,
    EVENT_COMMAND_RESULT,
)
from custom_components.ev_charge_control.diagnostics import async_get_config_entry_diagnostics
from simulators import ANSWER_LOST, VENDORS, Logged
from simulators.server import TIMEOUT_HEADER

from . import soakfarm
from .harness import (
    START,
    Bench,
    Scenario,
    SharedClock,
    mock_entry,
    patch_freezegun,
    rss_kb,
)
from .idle import block_till_idle
from .simfarm import real_now

LOGGER: Final = logging.getLogger(__name__)
ROOT: Final = Path(__file__).resolve().parent.parent
STEP: Final = 10.0
USER_EVERY: Final = 60.0
# After the day: no new faults and no user, time for waiting commands to end.
SETTLE: Final = 3600.0
# The faults at their issue's rates; the rate-limit answer now and then.
RATES: Final = {
    "http_5xx": 0.10,
    "timeout": 0.05,
    "non_json": 0.02,
    "drop": 0.02,
    "rate_limit": 0.01,
}
# Set to a file name: the simulators' logs (every request) are written into it (JSON).
DUMP: Final = os.environ.get("EV_SOAK_DUMP")
# The longest read interval of any vendor's data (a status, settings, plans or a group read
# every 15 minutes); an entity whose coordinator has none is allowed this long.
LONGEST_READ: Final = 900.0
_JWT: Final = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_UNHANDLED: Final = (
    "Task exception was never retrieved",
    "Exception in callback",
    "Error doing job",
    "Unexpected error",
    "Unexpected exception",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """When the day's scheduled faults and the user's bigger moves happen (s from the start)."""

    seconds: float
    offline_at: float
    offline_for: float
    outage_at: float
    outage_for: float
    reloads: tuple[float, ...]
    options_at: float
    bans: tuple[float, ...]
    ban_for: float

    @classmethod
    def of(cls, hours: float) -> Plan:
        """Lay a day of ``hours`` out: the full day's moments, scaled, with short faults kept."""
        seconds = hours * 3600
        scale = seconds / 86400
        return cls(
            seconds=seconds,
            offline_at=2 * 3600 * scale,
            offline_for=min(3600.0, seconds / 8),
            outage_at=9 * 3600 * scale,
            outage_for=min(1800.0, seconds / 16),
            reloads=tuple(k * seconds / 6 for k in range(1, 6)),
            options_at=6 * 3600 * scale,
            bans=tuple(h * 3600 * scale for h in (13, 15, 17)),
            ban_for=min(7200.0, seconds / 12),
        )


def leaked(text: str, secrets: Iterable[str]) -> set[str]:
    """Return the secrets in ``text``; a serial of digits only counts standing alone."""
    found = set()
    for secret in secrets:
        pattern = rf"(?<![\d.]){re.escape(secret)}(?!\d)" if secret.isdigit() else re.escape(secret)
        if re.search(pattern, text):
            found.add(secret)
    if _JWT.search(text):
        found.add("a JSON web token")
    return found


class LogWatch(logging.Handler):
    """Every log line: secrets in it, unhandled exceptions, warnings by message."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__(logging.DEBUG)
        self.secrets = secrets
        self.lines = 0
        self.leaks: Counter[str] = Counter()
        self.unhandled: list[str] = []
        self.warnings: Counter[str] = Counter()
        self.kept: set[str] = set()  # warnings and errors, checked against issued tokens later

    def emit(self, record: logging.LogRecord) -> None:
        """Check one line."""
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call is a finding too
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines += 1
        for secret in leaked(text, self.secrets):
            self.leaks[f"{record.name}: {secret}"] += 1
        if record.levelno >= logging.WARNING:
            self.warnings[f"{record.levelname} {record.name}: {record.msg}"] += 1
            if len(self.kept) < 5000:
                self.kept.add(text)
        if (record.levelno >= logging.ERROR and record.exc_info) or any(
            marker in text for marker in _UNHANDLED
        ):
            self.unhandled.append(text[:2000])


@dataclass
class Commands:
    """What the user asked for, and what the integration said of it."""

    asked: int = 0
    applied: int = 0
    failed: int = 0  # final failed, refused, offline or expired events
    refused_at_once: int = 0  # the action raised: the user was told at once
    superseded: int = 0  # a newer value for the same entity came first (newest wins)
    late_events: int = 0  # a final event for a value no longer waiting
    retries: int = 0  # events that say the command goes out again
    # Per entity: its device and the value waiting for its end.
    pending: dict[str, float] = field(default_factory=dict)
    device_of: dict[str, str] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def ask(self, entity_id: str, device_id: str, value: float) -> None:
        """Note a value asked for; a value still waiting for the entity is replaced."""
        self.asked += 1
        if entity_id in self.pending:
            self.superseded += 1
        self.pending[entity_id] = value
        self.device_of[entity_id] = device_id

    def told_at_once(self, entity_id: str, value: float, err: BaseException) -> None:
        """Note an action that raised: the user heard at once."""
        self.errors[f"{type(err).__name__}: {err}"] += 1
        if self.pending.get(entity_id) == value:
            del self.pending[entity_id]
            self.refused_at_once += 1

    def result(self, data: Mapping[str, Any]) -> None:
        """Note a result event: a final one ends the waiting value it names."""
        if data.get("will_retry"):
            self.retries += 1
            return
        requested = data.get("requested")
        # A limit of three phases (a circuit's) carries them all: a phase's number set one.
        values = requested if isinstance(requested, list) else [requested]
        for entity_id, value in self.pending.items():
            if self.device_of.get(entity_id) == data.get("device_id") and any(
                isinstance(one, int | float) and math.isclose(value, one) for one in values
            ):
                del self.pending[entity_id]
                if data.get("result") == "applied":
                    self.applied += 1
                else:
                    self.failed += 1
                return
        self.late_events += 1


@dataclass
class Recovery:
    """A fault with an end: when it ended, and when every entity was back."""

    label: str
    ends: float
    recovered_after: float | None = None


class Soak:
    """One vendor's day: the farm's pipe, Home Assistant, the user, the checks."""

    def __init__(
        self,
        bench: Bench,
        vendor: str,
        seed: int,
        plan: Plan,
        watch: LogWatch,
    ) -> None:
        self.bench = bench
        self.hass = bench.hass
        self.vendor = vendor
        self.soaked = VENDORS[vendor].soak
        self.seed = seed
        self.plan = plan
        self.watch = watch
        self.user = random.Random(seed + 1)
        self.commands = Commands()
        self.entries: list[ConfigEntry[Any]] = []
        self.setups: list[float] = []
        self.recoveries: list[Recovery] = []
        self.leaks: Counter[str] = Counter()
        self.memory: list[tuple[float, int]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.farm_errors: list[str] = []
        self.started = 0.0
        self.unavailable_late: list[str] = []
        self.chaos_paused = False
        self.settling = False

    def farm(self, command: str, *args: object, **kwargs: object) -> None:
        """Tell the simulators' process to play a fault (or pause the random ones)."""
        answer = self.bench.ask((command, args, kwargs))  # type: ignore[arg-type]
        if answer != "ok":
            self.farm_errors.append(f"{command}: {answer}")

    # Set-up

    async def setup(self, urls: list[str]) -> None:
        """Add the vendor's entries and set the integration up, as Home Assistant's start does."""
        for made in self.soaked.entries(urls):
            entry = mock_entry(self.vendor, made)
            entry.add_to_hass(self.hass)
            self.entries.append(entry)
        if not await async_setup_component(self.hass, DOMAIN, {}):
            raise RuntimeError("the integration did not set up")
        await block_till_idle(self.hass)
        # Set-up may migrate entries (version-1 entries merge into one).
        self.entries = self.hass.config_entries.async_entries(DOMAIN)
        async_dispatcher_connect(self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._on_entry)
        self.hass.bus.async_listen(EVENT_COMMAND_RESULT, self._on_result)
        self.hass.bus.async_listen(ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, self._on_issue)

    @callback
    def _on_entry(self, _change: ConfigEntryChange, entry: ConfigEntry[Any]) -> None:
        # A set-up (a reload's, or Home Assistant's retry of a failed one) reads at once.
        if entry.domain == DOMAIN and entry.state is ConfigEntryState.SETUP_IN_PROGRESS:
            self.setups.append(time.time())

    @callback
    def _on_result(self, event: Event[Any]) -> None:
        self.commands.result(event.data)

    @callback
    def _on_issue(self, event: Event[Any]) -> None:
        if event.data.get("domain") == DOMAIN:
            self._check_issues()

    # Checks

    def _secrets(self) -> set[str]:
        return self.watch.secrets

    def _check(self, where: str, text: str, secrets: Iterable[str]) -> None:
        for secret in leaked(text, secrets):
            self.leaks[f"{where}: {secret}"] += 1

    def _check_issues(self) -> None:
        texts = _issue_texts()
        registry = ir.async_get(self.hass)
        for (domain, issue_id), issue in registry.issues.items():
            if domain != DOMAIN:
                continue
            placeholders = issue.translation_placeholders or {}
            text = texts.get(issue.translation_key or "", "")
            for key, value in placeholders.items():
                text = text.replace(f"{{{key}}}", str(value))
            self._check(
                f"repair issue {issue.translation_key}",
                json.dumps([issue_id, text, placeholders, issue.data], default=str),
                self._secrets(),
            )

    def _check_states(self) -> None:
        registry = er.async_get(self.hass)
        for entry in self.entries:
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
                state = self.hass.states.get(entity.entity_id)
                if state is None:
                    continue
                text = json.dumps([state.state, dict(state.attributes)], default=str)
                self._check(f"state of {entity.domain}", text, self._secrets())

    async def check_diagnostics(self) -> None:
        """Look for secrets and serials in every loaded entry's diagnostics."""
        for entry in self.entries:
            if entry.state is not ConfigEntryState.LOADED:
                continue
            dump = await async_get_config_entry_diagnostics(self.hass, entry)
            self._check(
                "diagnostics",
                json.dumps(dump, default=str),
                self._secrets() | self.soaked.serials,
            )

    def _blocked(self, entry: ConfigEntry[Any]) -> bool:
        runtime = getattr(entry, "runtime_data", None)
        account = getattr(runtime, "account", None)
        until = getattr(account, "blocked_until", None)
        return isinstance(until, float) and until > time.time()

    def _unavailable(self) -> list[str]:
        registry = er.async_get(self.hass)
        found = []
        for entry in self.entries:
            if self._blocked(entry):
                continue  # silent for a day after a ban, by design
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
                if entity.disabled_by is not None:
                    continue
                state = self.hass.states.get(entity.entity_id)
                if state is None or state.state == STATE_UNAVAILABLE:
                    found.append(entity.entity_id)
        return found

    def _follow_recoveries(self, now: float) -> None:
        """Measure how long entities stay unavailable after a fault with an end.

        Chaos pauses meanwhile (up to two read intervals): the recovery measured is the
        integration's, not the next random fault's.
        """
        waiting = [r for r in self.recoveries if r.recovered_after is None and r.ends <= now]
        if not waiting:
            return
        if any(r.ends > now for r in self.recoveries if r.recovered_after is None):
            return  # another fault still runs
        quiet = max(now - r.ends for r in waiting) <= 2 * LONGEST_READ + STEP
        if quiet != self.chaos_paused and not self.settling:
            self.farm("pause", quiet)
            self.chaos_paused = quiet
        unavailable = self._unavailable()
        if not unavailable and self.chaos_paused and not self.settling:
            self.farm("pause", False)
            self.chaos_paused = False
        intervals = self._read_intervals() if unavailable else {}
        for recovery in waiting:
            if not unavailable:
                recovery.recovered_after = now - recovery.ends
                continue
            late = [
                entity_id
                for entity_id in unavailable
                if now - recovery.ends > intervals.get(entity_id, LONGEST_READ) + STEP
            ]
            if late and not any(recovery.label in text for text in self.unavailable_late):
                self.unavailable_late.append(
                    f"{recovery.label}: {len(late)} entities unavailable "
                    f"{now - recovery.ends:.0f} s after it ended, longer than their read "
                    f"interval ({late[0]}: {intervals.get(late[0], LONGEST_READ):.0f} s, ...)"
                )

    def _read_intervals(self) -> dict[str, float]:
        """Return each entity's read interval: its coordinator's update interval, in s."""
        intervals = {}
        for platform in async_get_platforms(self.hass, DOMAIN):
            for entity_id, entity in platform.entities.items():
                interval = getattr(getattr(entity, "coordinator", None), "update_interval", None)
                if interval is not None:
                    intervals[entity_id] = interval.total_seconds()
        return intervals

    def held_by_bans(self) -> list[str]:
        """Return the waiting commands of accounts a ban silences (its repair issue tells)."""
        registry = er.async_get(self.hass)
        held = []
        for entity_id in self.commands.pending:
            entity = registry.async_get(entity_id)
            entry = (
                None
                if entity is None or entity.config_entry_id is None
                else self.hass.config_entries.async_get_entry(entity.config_entry_id)
            )
            issue = None if entry is None else f"{self.soaked.ban_issue}_{entry.entry_id}"
            if (
                entry is not None
                and self.soaked.ban_issue
                and self._blocked(entry)
                and ir.async_get(self.hass).async_get_issue(DOMAIN, str(issue)) is not None
            ):
                held.append(entity_id)
        return held

    # The user

    def _numbers(self) -> list[tuple[str, str, list[float]]]:
        registry = er.async_get(self.hass)
        numbers = []
        for entry in self.entries:
            for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
                if entity.domain != "number" or entity.disabled_by is not None:
                    continue
                state = self.hass.states.get(entity.entity_id)
                if state is None or state.state == STATE_UNAVAILABLE or entity.device_id is None:
                    continue
                low = float(state.attributes.get("min", 0))
                high = float(state.attributes.get("max", 0))
                step = float(state.attributes.get("step", 1)) or 1.0
                values = [low + k * step for k in range(int((high - low) / step) + 1)][:400]
                try:
                    current = float(state.state)
                except ValueError:
                    current = math.nan
                values = [v for v in values if not math.isclose(v, current)]
                if values:
                    numbers.append((entity.entity_id, entity.device_id, values))
        return numbers

    def user_moves(self) -> None:
        """Set one number to another value, as an automation would, without waiting."""
        numbers = self._numbers()
        if not numbers:
            return
        entity_id, device_id, values = self.user.choice(numbers)
        value = self.user.choice(values)
        self.commands.ask(entity_id, device_id, value)
        task = asyncio.get_running_loop().create_task(self._set(entity_id, value))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _set(self, entity_id: str, value: float) -> None:
        try:
            await self.hass.services.async_call(
                "number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True
            )
        except Exception as err:  # noqa: BLE001 - the action told the user: counted
            self.commands.told_at_once(entity_id, value, err)

    async def reload(self) -> None:
        """Reload every entry, one after another."""
        for entry in self.entries:
            await self.hass.config_entries.async_reload(entry.entry_id)

    async def change_options(self) -> None:
        """Change the first entry's options once (or rename a subentry: its reconfigure)."""
        entry = self.entries[0]
        options = self.soaked.options(entry.options)
        if options is None:
            subentry = next(iter(entry.subentries.values()))
            self.hass.config_entries.async_update_subentry(
                entry, subentry, title=f"{subentry.title} (garage)"
            )
            return
        self.hass.config_entries.async_update_entry(entry, options=options)

    # The day

    async def day(self) -> None:
        """Travel the day: faults, the user, reloads; then an hour to settle."""
        plan = self.plan
        self.farm("chaos", RATES, self.seed)
        self.started = time.time()
        moments: list[tuple[float, str]] = [
            (plan.offline_at, "offline"),
            (plan.offline_at + plan.offline_for, "online"),
            (plan.outage_at, "outage"),
            (plan.options_at, "options"),
            *((at, "reload") for at in plan.reloads),
        ]
        # A ban in each of the vendor's forms, each on a cloud (an account) of its own.
        moments += [(at, f"ban {i}") for i, at in enumerate(plan.bans[: len(self.soaked.bans)])]
        moments.sort()
        elapsed, next_user, next_hour = 0.0, USER_EVERY, 0.0
        while elapsed < plan.seconds - 1e-9:
            while moments and moments[0][0] <= elapsed:
                await self._moment(moments.pop(0)[1])
            if elapsed >= next_user:
                self.user_moves()
                next_user += USER_EVERY
            if elapsed >= next_hour:
                self._hourly()
                next_hour += 3600
            await self.bench.travel(STEP)
            elapsed += STEP
            self._follow_recoveries(time.time())
        # No new faults, no user: waiting commands end.
        self.settling = True
        self.farm("pause", True)
        settled = 0.0
        while settled < SETTLE - 1e-9:
            await self.bench.travel(STEP)
            settled += STEP
            self._follow_recoveries(time.time())
        self._hourly()

    def _hourly(self) -> None:
        gc.collect()
        self.memory.append((time.time() - self.started, rss_kb()))
        self._check_states()
        self._check_issues()

    async def _moment(self, what: str) -> None:
        now = time.time()
        plan = self.plan
        if what == "offline":
            self.farm("offline", 0, 0, online=False)
        elif what == "online":
            self.farm("offline", 0, 0, online=True)
            self.recoveries.append(Recovery("charger offline", now))
        elif what == "outage":
            self.farm("outage", plan.outage_for)
            self.recoveries.append(Recovery("cloud outage", now + plan.outage_for))
            # The diagnostics while the cloud is down, and again at the end.
            await self.check_diagnostics()
        elif what == "options":
            await self.change_options()
        elif what == "reload":
            await self.reload()
        elif what.startswith("ban "):
            account = int(what.split()[1])
            self.farm("ban", account, self.soaked.bans[account], plan.ban_for)


_TEXTS: dict[str, str] = {}


def _issue_texts() -> dict[str, str]:
    """Return every repair issue's title and description, by translation key."""
    if not _TEXTS:
        path = ROOT / "custom_components" / DOMAIN / "translations" / "en.json"
        issues = json.loads(path.read_text(encoding="utf-8")).get("issues", {})
        for key, texts in issues.items():
            _TEXTS[key] = json.dumps(texts)
    return _TEXTS


def _ban_requests(log: list[list[Any]]) -> int:
    """Count the requests a ban refused after the first answer the client heard (it tells us).

    A ban's answer that chaos lost (``banned:answer_lost``) told the client nothing: the
    requests after it, up to the first one heard, could not know of the ban.
    """
    heard = [float(item[0]) for item in log if item[4] == "banned"]
    if not heard:
        return 0
    return sum(
        1
        for item in log
        if str(item[4]) in ("banned", f"banned:{ANSWER_LOST}") and float(item[0]) > heard[0]
    )


def _for_budget(log: list[list[Any]]) -> list[Logged]:
    """Return the log as budgets read it: the soak's faults are no rate-limit answers."""
    return [
        (
            float(at),
            str(endpoint),
            str(key),
            0 if ":" in str(result) or result == "banned" else int(status),
            str(result),
        )
        for at, endpoint, key, status, result in log
    ]


def _without_setups(log: list[list[Any]], setups: list[float]) -> list[list[Any]]:
    """Return the log without the requests of a set-up's step (its first reads)."""
    return [item for item in log if not any(at <= float(item[0]) < at + STEP for at in setups)]


def _steady_rise(samples: list[tuple[float, int]]) -> dict[str, Any]:
    """Memory over the day: growth after the first hours, and whether it rises steadily."""
    warm = [kb for at, kb in samples if at >= 2 * 3600] or [kb for _, kb in samples]
    growth = warm[-1] - warm[0] if warm else 0
    steps = list(itertools.pairwise(warm))
    rising = sum(1 for a, b in steps if b > a)
    steady = len(steps) >= 6 and rising >= 0.8 * len(steps) and growth > 4096
    return {
        "samples_kb": [kb for _, kb in samples],
        "growth_kb": growth,
        "steady_rise": steady,
    }


def _lose_timeouts() -> Callable[[], None]:
    """Turn answers the simulator marks as lost into the timeout a client would meet."""
    original = ClientSession._request  # noqa: SLF001

    async def request(self: ClientSession, *args: Any, **kwargs: Any) -> ClientResponse:
        response = await original(self, *args, **kwargs)
        if response.headers.get(TIMEOUT_HEADER) is not None:
            response.release()
            raise TimeoutError
        return response

    ClientSession._request = request  # type: ignore[method-assign]  # noqa: SLF001

    def undo() -> None:
        ClientSession._request = original  # type: ignore[method-assign]  # noqa: SLF001

    return undo


async def _run(
    freezer: FrozenDateTimeFactory,
    clock: SharedClock,
    conn: Connection,
    urls: list[str],
    vendor: str,
    hours: float,
    seed: int,
    config_dir: str,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    loop_errors: list[str] = []

    def on_error(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        loop_errors.append(str(context.get("exception") or context.get("message")))

    threaded = ThreadedResolver()
    threaded.real_close = threaded.close  # type: ignore[attr-defined]
    resolver = patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=threaded
    )
    watch = LogWatch(set(VENDORS[vendor].soak.secrets))
    own = logging.getLogger(f"custom_components.{DOMAIN}")
    own.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(watch)
    undo = _lose_timeouts()
    plan = Plan.of(hours)
    real_start = real_now()
    try:
        with resolver:
            async with async_test_home_assistant(loop, config_dir=config_dir) as hass:
                loop.set_exception_handler(on_error)
                hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
                frame.async_setup(hass)
                scenario = Scenario(dict.fromkeys(VENDORS, 0), hours, STEP, 0)
                bench = Bench(hass, freezer, clock, conn, {}, scenario)
                soak = Soak(bench, vendor, seed, plan, watch)
                await soak.setup(urls)
                setup_start = time.time()
                await soak.day()
                await soak.check_diagnostics()
                held = soak.held_by_bans()
                for task in list(soak.tasks):
                    task.cancel()
                report = bench.ask(("report",))  # type: ignore[arg-type]
                day_end = time.time()
                for entry in soak.entries:
                    await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_stop(force=True)
    finally:
        undo()
        logging.getLogger().removeHandler(watch)
    if DUMP is not None:
        await asyncio.to_thread(Path(DUMP).write_text, json.dumps(report, default=str), "utf-8")
    issued = {secret for part in report["parts"] for secret in part["secrets"]}
    for text in watch.kept:
        for secret in leaked(text, issued):
            watch.leaks[f"log: an issued token ({secret[:0]}…)"] += 1
    return _result(
        vendor,
        hours,
        seed,
        soak,
        held,
        watch,
        report,
        loop_errors,
        setup_start,
        day_end,
        real_now() - real_start,
    )


def _result(
    vendor: str,
    hours: float,
    seed: int,
    soak: Soak,
    held: list[str],
    watch: LogWatch,
    report: dict[str, Any],
    loop_errors: list[str],
    day_start: float,
    day_end: float,
    wall: float,
) -> dict[str, Any]:
    simulated = VENDORS[vendor]
    violations: list[str] = []
    requests = 0
    injected: Counter[str] = Counter()
    ban_requests = 0
    budgets = []
    started = freezegun.api.FakeDatetime.fromisoformat(START).timestamp()
    for part in report["parts"]:
        log = part["log"]
        requests += len(log)
        injected.update(part["injected"])
        every = simulated.bench.budget(_for_budget(log), part["count"], started, day_start, day_end)
        # What a set-up reads at once (a reload's, a retry's) is counted apart: issue 17's
        # restart storms.
        budget = simulated.bench.budget(
            _for_budget(_without_setups(log, soak.setups)),
            part["count"],
            started,
            day_start,
            day_end,
        )
        budgets.append(
            {
                "name": part["name"],
                "violations": budget["violations"],
                "bought_by_setups": sorted(set(every["violations"]) - set(budget["violations"])),
            }
        )
        violations += [f"{part['name']}: over budget: {v}" for v in budget["violations"]]
        during = _ban_requests(log)
        ban_requests += during
        if during:
            violations.append(f"{part['name']}: {during} requests during a ban")
    injected.update(report["windows"])
    unhandled = watch.unhandled + [f"event loop: {error}" for error in loop_errors]
    violations += [f"unhandled: {text.splitlines()[0][:300]}" for text in unhandled[:10]]
    leaks = watch.leaks + soak.leaks
    violations += [f"secret in {where} ({n}x)" for where, n in leaks.items()]
    commands = soak.commands
    lost_ones = {e: v for e, v in commands.pending.items() if e not in held}
    lost = len(lost_ones)
    if lost:
        violations.append(
            f"{lost} commands neither applied nor reported: "
            + ", ".join(f"{e}={v:g}" for e, v in list(lost_ones.items())[:5])
        )
    violations += soak.unavailable_late
    violations += [f"simulator: {error}" for error in soak.farm_errors]
    recoveries = [{"fault": r.label, "seconds": r.recovered_after} for r in soak.recoveries]
    not_recovered = [r["fault"] for r in recoveries if r["seconds"] is None]
    violations += [f"{fault}: entities never all available again" for fault in not_recovered]
    times = [r["seconds"] for r in recoveries if r["seconds"] is not None]
    return {
        "vendor": vendor,
        "name": simulated.name,
        "hours": hours,
        "seed": seed,
        "wall_s": wall,
        "entries": len(soak.entries),
        "devices": sum(len(part["devices"]) for part in report["parts"]),
        "requests": requests,
        "faults_injected": dict(sorted(injected.items())),
        "faults_total": sum(injected.values()),
        "ban_requests": ban_requests,
        "budgets": budgets,
        "unhandled": unhandled[:20],
        "leaks": dict(leaks),
        "log_lines": watch.lines,
        "warnings": dict(watch.warnings.most_common(25)),
        "commands": {
            "asked": commands.asked,
            "applied": commands.applied,
            "reported_failed": commands.failed + commands.refused_at_once,
            "refused_at_once": commands.refused_at_once,
            "superseded": commands.superseded,
            "retries": commands.retries,
            "late_events": commands.late_events,
            "lost": lost,
            "held_by_bans": len(held),
            "errors": dict(commands.errors.most_common(10)),
        },
        "recoveries": recoveries,
        "worst_recovery_s": max(times) if times else None,
        "read_interval_s": LONGEST_READ,
        "memory": _steady_rise(soak.memory),
        "violations": violations,
    }


def run(vendor: str, hours: float, seed: int) -> dict[str, Any]:
    """Soak one vendor: its farm, Home Assistant on a travelled clock, the day, the checks."""
    patch_freezegun()
    # Nothing on the terminal: every line goes to the soak's LogWatch.
    logging.getLogger().setLevel(logging.WARNING)
    context = multiprocessing.get_context("spawn")
    start = freezegun.api.FakeDatetime.fromisoformat(START).timestamp()
    clock: SharedClock = context.Value("d", start, lock=False)
    conn, child = context.Pipe()
    farm = context.Process(target=soakfarm.serve, args=(child, clock, vendor), daemon=True)
    farm.start()
    try:
        urls: list[str] = conn.recv()
        with (
            tempfile.TemporaryDirectory(prefix="ev-soak-") as config_dir,
            freezegun.freeze_time(START) as freezer,
        ):
            frozen = cast("FrozenDateTimeFactory", freezer)
            return asyncio.run(_run(frozen, clock, conn, urls, vendor, hours, seed, config_dir))
    finally:
        conn.send(("stop",))
        if conn.poll(10):
            conn.recv()
        farm.join(10)
        if farm.is_alive():
            farm.terminate()
