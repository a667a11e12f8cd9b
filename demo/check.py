"""`scripts/demo --check`: prove through Home Assistant's REST API that the demo works."""

import asyncio
from collections.abc import Awaitable, Callable
import re
import time

import aiohttp
from homeassistant.util.yaml import load_yaml_dict

from demo.fleet import bulks, expected_devices, spares
from demo.hass import as_object, objects
from demo.processes import DemoError, until
from demo.run import (
    AUTOMATION_ID,
    BULK_TIMEOUT,
    DOMAIN,
    REPO,
    SETUP_TIMEOUT,
    Demo,
    Entity,
    energy_sensors,
    run_bulk_flow,
    run_flow,
    run_subentry_flow,
    subentries,
    wait_loaded,
    wait_subentry_devices,
)
from simulators import VENDORS, DemoCheck

# Entities that may rightly have no value ("unknown") in the demo, by description key. A
# button's state is when it was last pressed, so every button is unknown until pressed.


def _may_be_unknown() -> dict[str, str]:
    reasons: dict[str, list[str]] = {}
    for vendor in VENDORS.values():
        for key, reason in vendor.demo.may_be_unknown.items():
            reasons.setdefault(key, []).append(reason)
    return {key: "; ".join(texts) for key, texts in reasons.items()}


MAY_BE_UNKNOWN = _may_be_unknown()
# What Home Assistant writes into its log about an integration's code: each is a bug in ours
# (a deprecated call, blocking I/O in the event loop).
LOG_REPORTS = (
    f"Detected that custom integration '{DOMAIN}'",
    f"was called from {DOMAIN}",
    "Detected blocking call",
)
# The demo starts clean: any error, whoever logs it, is red in Settings > System > Logs. A
# record's level follows its time stamp: "2026-11-29 17:00:00.000 ERROR (MainThread) [...]".
LOG_LEVELS = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) \(")
UNRETRIEVED = "Task exception was never retrieved"
ENTITYLESS = tuple(prefix for vendor in VENDORS.values() for prefix in vendor.demo.entityless)
STATES_TIMEOUT = 120.0
COMMAND_TIMEOUT = 60.0


async def _sim_get(session: aiohttp.ClientSession, url: str) -> object:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
            resp.raise_for_status()
            answer: object = await resp.json()
    except (aiohttp.ClientError, TimeoutError) as err:
        raise DemoError(f"GET {url}: {err!r}") from err
    return answer


def state_problem(entity_id: str, key: str, value: str | None) -> str | None:
    """Return what is wrong with an enabled entity's state (None: nothing).

    `key` is the entity's description key; `value` its state (None: it has none).
    """
    if value in (None, "unavailable"):
        return f"{entity_id}={value}"
    if value == "unknown" and not entity_id.startswith("button.") and key not in MAY_BE_UNKNOWN:
        return f"{entity_id}={value}"
    return None


def _key(entity: Entity, demo: Demo) -> str:
    """Return the description key: the unique id without its device's prefix."""
    for device in demo.devices:
        if entity.device_id == device.id and entity.unique_id.startswith(device.identifier):
            return entity.unique_id.removeprefix(device.identifier).lstrip("_")
    return entity.unique_id


async def check_devices(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that every demo device exists and each of its enabled entities has a value."""
    present = {device.identifier for device in demo.devices}
    missing = {
        identifier: text
        for identifier, text in expected_devices().items()
        if identifier not in present
    }
    if missing:
        raise DemoError(f"devices missing in Home Assistant: {', '.join(missing.values())}")
    for device in demo.devices:
        # A few devices only group others (a vendor says which); every other has entities.
        if device.identifier.startswith(ENTITYLESS):
            continue
        if not any(e.device_id == device.id and e.enabled for e in demo.entities):
            raise DemoError(f"device {device.name} has no enabled entity")
    enabled = [e for e in demo.entities if e.enabled]

    async def bad_entities() -> list[str]:
        bad = []
        for entity in enabled:
            state = await demo.hass.state(entity.entity_id)
            value = None if state is None else state.get("state")
            problem = state_problem(
                entity.entity_id, _key(entity, demo), None if value is None else str(value)
            )
            if problem is not None:
                bad.append(problem)
        return bad

    last: list[str] = []

    async def all_good() -> bool | None:
        last[:] = await bad_entities()
        return None if last else True

    try:
        await until(
            "every entity to have a value",
            STATES_TIMEOUT,
            demo.children.check_alive,
            all_good,
            interval=2.0,
        )
    except DemoError as err:
        raise DemoError(f"{err}; entities without a value: {', '.join(last)}") from None
    say(f"ok: {len(demo.devices)} devices, {len(enabled)} entities, all with states")


async def check_charging(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that the chargers the simulators charge with draw power in Home Assistant too."""
    charging = [unique_id for v in VENDORS.values() for unique_id in v.demo.charging_power]
    for unique_id in charging:
        entity_id = demo.entity_id(unique_id)
        state = await demo.hass.state(entity_id)
        value = None if state is None else state.get("state")
        try:
            power = float(str(value))
        except ValueError:
            power = 0.0
        if power <= 0:
            raise DemoError(f"{entity_id} shows {value}, but the simulator charges a car there")
        say(f"ok: {entity_id} = {value} W: the simulated car charges")


async def check_energy_and_automation(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that the energy dashboard lists the chargers and the example automation is on."""
    async with demo.hass.websocket() as ws:
        prefs = as_object(await ws.call("energy/get_prefs"), "energy prefs")
    listed = {str(d.get("stat_consumption")) for d in objects(prefs["device_consumption"], "dc")}
    missing = set(energy_sensors(demo)) - listed
    if missing:
        raise DemoError(f"energy dashboard lacks {sorted(missing)}")
    states = objects(await demo.hass.get("/api/states"), "states")
    automation = next(
        (
            s
            for s in states
            if str(s.get("entity_id")).startswith("automation.")
            and as_object(s.get("attributes"), "attributes").get("id") == AUTOMATION_ID
        ),
        None,
    )
    if automation is None or automation.get("state") != "on":
        raise DemoError(f"the example automation is not on: {automation}")
    say(f"ok: energy dashboard has {len(listed)} chargers; {automation['entity_id']} is on")


class _Probe:
    """A running demo as one vendor's checks see it (simulators.DemoProbe)."""

    domain = DOMAIN

    def __init__(
        self,
        demo: Demo,
        session: aiohttp.ClientSession,
        sim_url: str,
        say: Callable[[str], None],
    ) -> None:
        self._demo = demo
        self._session = session
        self._sim_url = sim_url
        self.say = say

    def entity_id(self, unique_id: str) -> str:
        return self._demo.entity_id(unique_id)

    def device_id(self, identifier: str) -> str:
        return self._demo.device(identifier).id

    async def call_service(self, domain: str, service: str, data: dict[str, object]) -> None:
        await self._demo.hass.call_service(domain, service, data)

    async def sim_objects(self, path: str, what: str) -> list[dict[str, object]]:
        return objects(await _sim_get(self._session, f"{self._sim_url}{path}"), what)

    async def sim_object(self, path: str, what: str) -> dict[str, object]:
        return as_object(await _sim_get(self._session, f"{self._sim_url}{path}"), what)

    def as_object(self, value: object, what: str) -> dict[str, object]:
        return as_object(value, what)

    async def wait_for[T](self, what: str, probe: Callable[[], Awaitable[T | None]]) -> T:
        return await until(what, COMMAND_TIMEOUT, self._demo.children.check_alive, probe)

    def error(self, message: str) -> Exception:
        return DemoError(message)


def vendor_checks(
    demo: Demo, session: aiohttp.ClientSession, say: Callable[[str], None]
) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    """Return every vendor's checks, each with a probe of the demo and its simulator."""

    def bound(check: DemoCheck, probe: _Probe) -> tuple[str, Callable[[], Awaitable[None]]]:
        return check.name, lambda: check.run(probe)

    return [
        bound(check, _Probe(demo, session, demo.sims[vendor.key], say))
        for vendor in VENDORS.values()
        for check in vendor.demo.checks
    ]


# What Home Assistant logs when the machine lacks a program or library that no Python package
# brings (its tts and camera do without), each with how to tell that the machine lacks it.
def log_problems(text: str) -> list[str]:
    """Return the lines of Home Assistant's log that report an error or our code (empty: none)."""
    return [
        line
        for line in text.splitlines()
        if LOG_LEVELS.match(line)
        or UNRETRIEVED in line
        or any(report in line for report in LOG_REPORTS)
    ]


async def check_log(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that Home Assistant's log has no error and reports nothing about our code."""
    log = demo.workdir / "logs" / "home-assistant.log"
    text = await asyncio.to_thread(log.read_text, encoding="utf-8", errors="replace")
    if problems := log_problems(text):
        raise DemoError(
            "Home Assistant's log has errors or reports our code:\n" + "\n".join(problems[:20])
        )
    say(f"ok: {log.name} has no error and reports nothing about {DOMAIN}")


async def check_actions(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that the frontend can list every action: device pages and Developer tools need it.

    One integration whose action descriptions fail to load (an import error behind a
    supported_features filter, say) makes `get_services` fail for all of them.
    """
    async with demo.hass.websocket() as ws:
        services = as_object(await ws.call("get_services"), "services")
    ours = as_object(services.get(DOMAIN, {}), f"{DOMAIN} actions")
    described = load_yaml_dict(REPO / "custom_components" / DOMAIN / "services.yaml")
    unnamed = [name for name in ours if not as_object(ours[name], name).get("fields")]
    if sorted(ours) != sorted(described) or unnamed:
        raise DemoError(
            f"get_services lists {sorted(ours)} for {DOMAIN}, services.yaml {sorted(described)}"
            + (f"; without fields: {unnamed}" if unnamed else "")
        )
    say(f"ok: get_services lists {len(services)} integrations' actions, all {len(ours)} of ours")


async def check_repairs(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that Settings > Repairs is empty: a newcomer's first look finds nothing to fix."""
    async with demo.hass.websocket() as ws:
        listed = as_object(await ws.call("repairs/list_issues"), "repairs")
    issues = [
        f"{issue.get('domain')}: {issue.get('issue_id')}"
        for issue in objects(listed.get("issues", []), "issues")
        if not issue.get("dismissed_version") and not issue.get("ignored")
    ]
    if issues:
        raise DemoError(f"Settings > Repairs lists {issues}")
    say("ok: Settings > Repairs lists nothing")


async def check_spares(demo: Demo, say: Callable[[str], None]) -> None:
    """Add each spare the demo prints, as the user would: each loads, or gets its device."""
    for vendor, entry in spares(demo.sims):
        if entry.subentry is None:
            added = await run_flow(demo.hass, entry.step, entry.data)
            await wait_loaded(demo.hass, [added.entry_id], demo.children.check_alive)
            say(f"ok: the spare {entry.name} was added through the config flow and loaded")
            continue
        parent = demo.entry(vendor)
        before = await subentries(demo.hass, parent.entry_id)
        await run_subentry_flow(demo.hass, parent.entry_id, entry.subentry, entry.step, entry.data)
        new = set(await subentries(demo.hass, parent.entry_id)) - set(before)
        if len(new) != 1:
            raise DemoError(f"adding the spare {entry.name} made {len(new)} subentries, not 1")
        await wait_subentry_devices(demo.hass, new, demo.children.check_alive, SETUP_TIMEOUT)
        say(f"ok: the spare {entry.name} was added to {parent.title!r} and has its device")


async def check_bulk(demo: Demo, say: Callable[[str], None]) -> None:
    """Add each list of many items the demo prints at once, pasted into the bulk form.

    Each line becomes a subentry of the vendor's entry, with its device.
    """
    for vendor, bulk in bulks():
        parent = demo.entry(vendor)
        before = await subentries(demo.hass, parent.entry_id)
        started = time.monotonic()
        result = await run_bulk_flow(demo.hass, parent.entry_id, bulk, demo.children.check_alive)
        took = time.monotonic() - started
        after = await subentries(demo.hass, parent.entry_id)
        new = {key: unique_id for key, unique_id in after.items() if key not in before}
        if sorted(map(str, new.values())) != sorted(bulk.unique_ids):
            raise DemoError(
                f"the {bulk.name} made {len(new)} new subentries, not {len(bulk.lines)} "
                f"({len(set(bulk.unique_ids) - set(map(str, new.values())))} missing); "
                f"the flow said {result.get('description_placeholders')}"
            )
        devices = await wait_subentry_devices(
            demo.hass, new, demo.children.check_alive, BULK_TIMEOUT
        )
        if missing := set(bulk.devices) - {device.identifier for device in devices}:
            raise DemoError(f"the {bulk.name} lacks {len(missing)} devices: {sorted(missing)[:5]}")
        say(
            f"ok: the {bulk.name} was added to {parent.title!r} from one pasted list in "
            f"{took:.1f} s: {len(new)} new subentries, their {len(devices)} devices registered "
            f"{time.monotonic() - started:.1f} s after the paste"
        )


async def check_budgets(
    demo: Demo, session: aiohttp.ClientSession, say: Callable[[str], None], started: float
) -> None:
    """Count what each simulator received since `started` against the vendor's budgets."""
    for key, vendor in VENDORS.items():
        if vendor.demo.budget_violations is None:
            continue
        requests = objects(
            await _sim_get(session, f"{demo.sims[key]}/_sim/requests"), f"{vendor.name} log"
        )
        if violations := vendor.demo.budget_violations(requests, started, time.time()):
            raise DemoError(f"{vendor.name}: budgets broken: {'; '.join(violations[:10])}")
        say(f"ok: {vendor.name}: {len(requests)} requests, every budget kept")


async def run_check(demo: Demo, say: Callable[[str], None], passed: list[str]) -> None:
    """Run every check against a demo that is up, appending each passed one's name to `passed`.

    Raises DemoError at the first failure.
    """
    async with aiohttp.ClientSession() as session:
        checks: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("devices and entities", lambda: check_devices(demo, say)),
            ("charging", lambda: check_charging(demo, say)),
            ("energy dashboard and automation", lambda: check_energy_and_automation(demo, say)),
            *vendor_checks(demo, session, say),
            ("actions listed for the frontend", lambda: check_actions(demo, say)),
            ("no repair issue", lambda: check_repairs(demo, say)),
            ("spares added through the config flow", lambda: check_spares(demo, say)),
            ("a fleet added from one pasted list", lambda: check_bulk(demo, say)),
            ("every budget kept", lambda: check_budgets(demo, session, say, demo.started)),
            ("no repair issue after adding the fleet", lambda: check_repairs(demo, say)),
            ("Home Assistant's log", lambda: check_log(demo, say)),
        ]
        for name, run in checks:
            await run()
            passed.append(name)
