"""`scripts/demo --check`: prove through Home Assistant's REST API that the demo works."""

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp

from demo.fleet import (
    EASEE_CHARGERS,
    GOE_CHARGERS,
    VIRICITI_GROUP,
    expected_devices,
)
from demo.hass import as_object, objects
from demo.processes import DemoError, until
from demo.run import AUTOMATION_ID, DOMAIN, Demo, Entity, energy_sensors

# Entities that may rightly have no value ("unknown") in the demo, by description key. A
# button's state is when it was last pressed, so every button is unknown until pressed.
MAY_BE_UNKNOWN = {
    "next_planned_charge": "go-e: no charge is planned",
    "planned_charge_duration": "go-e: no charge is planned",
    "next_command_slot": "go-e, ViriCiti: the next command may go out at once",
    "reason_for_no_current": "Easee: the idle charger has no car, so Easee gives no reason",
    "external_group_limit": "ViriCiti: no external group limit is set",
    "external_limit": "ViriCiti: no external group limit is set",
    "external_limit_end": "ViriCiti: no external group limit is set",
    "next_limit_change": "ViriCiti: known only when a timeframe lies ahead",
    "scheduled_limit": "ViriCiti: outside all the group's timeframes no schedule limits it",
}
# What Home Assistant writes into its log about an integration's code: each is a bug in ours
# (a deprecated call, blocking I/O in the event loop), as is an error our own logger writes.
LOG_REPORTS = (
    f"Detected that custom integration '{DOMAIN}'",
    f"was called from {DOMAIN}",
    "Detected blocking call",
    f"ERROR (MainThread) [custom_components.{DOMAIN}",
)
STATES_TIMEOUT = 120.0
COMMAND_TIMEOUT = 60.0
TEST_CURRENT = 10
TEST_GROUP_LIMIT = 150


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
        # An Easee site only groups its circuits; every other device has entities.
        if device.identifier.startswith("easee_site_"):
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
    charging = [f"goe_{serial}_power" for serial, _, on in GOE_CHARGERS if on] + [
        f"easee_{cid}_power" for cid, on in EASEE_CHARGERS if on
    ]
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


async def check_goe_command(
    demo: Demo, session: aiohttp.ClientSession, say: Callable[[str], None]
) -> None:
    """Check that a charging current set in Home Assistant reaches the go-e cloud."""
    serial = GOE_CHARGERS[0][0]
    entity_id = demo.entity_id(f"goe_{serial}_charging_current")
    await demo.hass.call_service(
        "number", "set_value", {"entity_id": entity_id, "value": TEST_CURRENT}
    )

    async def received() -> dict[str, object] | None:
        requests = objects(await _sim_get(session, f"{demo.sims.goe}/_sim/requests"), "go-e log")
        for request in requests:
            if (
                request.get("endpoint") == "api_command"
                and request.get("serial") == serial
                and as_object(request.get("params"), "params").get("set_current")
                == str(TEST_CURRENT)
            ):
                return request
        return None

    request = await until(
        f"the go-e simulator never received set_current={TEST_CURRENT} for {serial}",
        COMMAND_TIMEOUT,
        demo.children.check_alive,
        received,
    )
    if request.get("result") != "ok":
        raise DemoError(f"the go-e simulator refused the command: {request}")
    chargers = as_object(await _sim_get(session, f"{demo.sims.goe}/_sim/chargers"), "chargers")
    current = as_object(chargers.get(serial), serial).get("set_current")
    if current != TEST_CURRENT:
        raise DemoError(f"go-e charger {serial} has set_current={current} after the command")
    say(f"ok: go-e: {entity_id} -> {TEST_CURRENT} A reached the simulator (set_current={current})")


async def check_easee_command(
    demo: Demo, session: aiohttp.ClientSession, say: Callable[[str], None]
) -> None:
    """Check that a dynamic charger current set in Home Assistant reaches the Easee cloud."""
    charger = EASEE_CHARGERS[0][0]
    entity_id = demo.entity_id(f"easee_{charger}_dynamic_charger_current")
    await demo.hass.call_service(
        "number", "set_value", {"entity_id": entity_id, "value": TEST_CURRENT}
    )

    async def applied() -> float | None:
        chargers = as_object(
            await _sim_get(session, f"{demo.sims.easee}/_sim/chargers"), "Easee chargers"
        )
        value = as_object(chargers.get(charger), charger).get("dynamic_charger_current")
        return value if isinstance(value, int | float) and value == TEST_CURRENT else None

    await until(
        f"the Easee simulator's {charger} never got a dynamic charger current of {TEST_CURRENT} A",
        COMMAND_TIMEOUT,
        demo.children.check_alive,
        applied,
    )
    requests = objects(await _sim_get(session, f"{demo.sims.easee}/_sim/requests"), "Easee log")
    posts = [
        r
        for r in requests
        if r.get("method") == "POST"
        and str(r.get("path")).endswith(f"/{charger}/commands/set_dynamic_charger_current")
    ]
    if not posts:
        raise DemoError("the Easee simulator logged no set_dynamic_charger_current request")
    say(f"ok: Easee: {entity_id} -> {TEST_CURRENT} A reached the simulator ({posts[-1]['body']})")


async def check_viriciti_limit(
    demo: Demo, session: aiohttp.ClientSession, say: Callable[[str], None]
) -> None:
    """Check that a group limit set through the action reaches the ViriCiti API."""
    device = demo.device(f"viriciti_{VIRICITI_GROUP}")
    await demo.hass.call_service(
        DOMAIN,
        "set_group_limit",
        {"device_id": device.id, "limit": TEST_GROUP_LIMIT, "duration": {"hours": 1}},
    )

    async def received() -> dict[str, object] | None:
        requests = objects(
            await _sim_get(session, f"{demo.sims.viriciti}/_sim/requests"), "ViriCiti log"
        )
        for request in requests:
            if request.get("method") == "POST" and str(request.get("path")).endswith(
                f"/grouplimit/{VIRICITI_GROUP}"
            ):
                return request
        return None

    request = await until(
        "the ViriCiti simulator never received a group limit POST",
        COMMAND_TIMEOUT,
        demo.children.check_alive,
        received,
    )
    if request.get("status") != 200:
        raise DemoError(f"the ViriCiti simulator refused the group limit: {request}")
    groups = as_object(await _sim_get(session, f"{demo.sims.viriciti}/_sim/groups"), "groups")
    external = as_object(groups.get(VIRICITI_GROUP), VIRICITI_GROUP).get("external")
    if external is None:
        raise DemoError(f"the ViriCiti group has no external limit after the POST: {request}")
    say(f"ok: ViriCiti: group limit {TEST_GROUP_LIMIT} kW reached the simulator ({external})")


def log_problems(text: str) -> list[str]:
    """Return the lines of Home Assistant's log that report our code (empty: none)."""
    return [line for line in text.splitlines() if any(report in line for report in LOG_REPORTS)]


async def check_log(demo: Demo, say: Callable[[str], None]) -> None:
    """Check that Home Assistant's log reports nothing about the integration's code."""
    log = demo.workdir / "logs" / "home-assistant.log"
    text = await asyncio.to_thread(log.read_text, encoding="utf-8", errors="replace")
    if problems := log_problems(text):
        raise DemoError("Home Assistant's log reports our code:\n" + "\n".join(problems[:20]))
    say(f"ok: {log.name} reports nothing about {DOMAIN}")


async def run_check(demo: Demo, say: Callable[[str], None], passed: list[str]) -> None:
    """Run every check against a demo that is up, appending each passed one's name to `passed`.

    Raises DemoError at the first failure.
    """
    async with aiohttp.ClientSession() as session:
        checks: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("devices and entities", lambda: check_devices(demo, say)),
            ("charging", lambda: check_charging(demo, say)),
            ("energy dashboard and automation", lambda: check_energy_and_automation(demo, say)),
            ("go-e command", lambda: check_goe_command(demo, session, say)),
            ("Easee dynamic current", lambda: check_easee_command(demo, session, say)),
            ("ViriCiti group limit", lambda: check_viriciti_limit(demo, session, say)),
            ("Home Assistant's log", lambda: check_log(demo, say)),
        ]
        for name, run in checks:
            await run()
            passed.append(name)
