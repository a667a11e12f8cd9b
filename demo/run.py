"""Bring the demo up: simulators, a fresh Home Assistant, onboarding, entries, energy, automation."""

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
from importlib import metadata
import json
import os
from pathlib import Path
import shutil
import sys

import aiohttp
import homeassistant

from demo.fleet import SimulatorUrls, start_simulators
from demo.hass import (
    HassClient,
    HassWebsocket,
    as_list,
    as_object,
    as_str,
    objects,
    wait_until_up,
)
from demo.processes import Children, DemoError, until
from simulators import VENDORS, DemoAutomation, names, words

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / ".demo"
DOMAIN = "ev_charge_control"  # the integration's domain, as its manifest says
USERNAME = "demo"
PASSWORD = "demo"  # noqa: S105 - the demo's own, printed for the user
START_TIMEOUT = 300.0  # Home Assistant's first start on a slow, busy machine
SETUP_TIMEOUT = 120.0

CONFIGURATION = """\
# Written by scripts/demo (a fresh copy on every run); see README.md.
homeassistant:
  name: EV Charge Control demo
  latitude: 52.3676
  longitude: 4.9041
  elevation: 0
  unit_system: metric
  time_zone: Europe/Amsterdam
  currency: EUR
  country: NL
  language: en
  auth_providers:
    # The browser on this machine logs in without a password; nobody else can reach it.
    - type: trusted_networks
      trusted_networks:
        - 127.0.0.1/32
      allow_bypass_login: true
    - type: homeassistant

http:
  server_host: 127.0.0.1
  server_port: {port}

# An explicit list instead of default_config, which would also start cloud, discovery,
# Bluetooth and other integrations that want a network or hardware the demo does not need.
api:
config:
energy:
frontend:
history:
logbook:
recorder:
system_health:
automation: !include automations.yaml

logger:
  default: warning
  logs:
    custom_components.ev_charge_control: info
"""

AUTOMATION_ID = "demo_limit_chargers_evening"
EVENING_LIMIT = 10  # A, for every charger from 17:00 to 20:00
# Finishing onboarding's location step starts these integrations' flows. Without internet (and
# their libraries, which the demo does not install) they are of no use here: met and
# radio_browser fail to load (an error in the log, nothing more), the others are removed.
ONBOARDING_EXTRAS = frozenset({"google_translate", "met", "radio_browser", "shopping_list"})


@dataclass(frozen=True)
class Device:
    """A device of the integration, as the device registry lists it."""

    id: str
    identifier: str
    name: str
    model: str | None


@dataclass(frozen=True)
class Entity:
    """An entity of the integration, as the entity registry lists it."""

    entity_id: str
    unique_id: str
    device_id: str | None
    enabled: bool


@dataclass
class Demo:
    """A running demo: Home Assistant, the simulators, and what was set up."""

    workdir: Path
    hass: HassClient
    sims: SimulatorUrls
    children: Children
    devices: list[Device] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def device(self, identifier: str) -> Device:
        """Return the device with that identifier of the integration."""
        for device in self.devices:
            if device.identifier == identifier:
                return device
        raise DemoError(f"no device {identifier!r} in Home Assistant's device registry")

    def entity_id(self, unique_id: str) -> str:
        """Return the entity id of the integration's entity with that unique id."""
        for entity in self.entities:
            if entity.unique_id == unique_id:
                return entity.entity_id
        raise DemoError(f"no entity with unique id {unique_id!r} in the entity registry")


def check_frontend_pin() -> None:
    """Fail unless the installed frontend is the version Home Assistant pins."""
    constraints = Path(homeassistant.__file__).parent / "package_constraints.txt"
    pinned = next(
        (
            line.split("==", 1)[1].strip()
            for line in constraints.read_text().splitlines()
            if line.startswith("home-assistant-frontend==")
        ),
        None,
    )
    try:
        installed = metadata.version("home-assistant-frontend")
    except metadata.PackageNotFoundError:
        installed = None
    if pinned is None or installed != pinned:
        raise DemoError(
            f"home-assistant-frontend {installed} is installed, Home Assistant pins {pinned}: "
            "make requirements_demo.txt agree and run scripts/setup --demo"
        )


def _fresh_configuration(workdir: Path, port: int) -> None:
    """Make `workdir` anew with nothing in it but Home Assistant's configuration."""
    if workdir.exists():
        shutil.rmtree(workdir)
    write_configuration(workdir / "config", port)


def write_configuration(config_dir: Path, port: int) -> None:
    """Write a fresh configuration with the integration linked in from this repository."""
    config_dir.mkdir(parents=True)
    (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=port))
    (config_dir / "automations.yaml").write_text("[]\n")
    (config_dir / "custom_components").mkdir()
    # A link, not a copy: the demo runs the code of this working tree.
    (config_dir / "custom_components" / DOMAIN).symlink_to(
        REPO / "custom_components" / DOMAIN, target_is_directory=True
    )


async def onboard(client: HassClient) -> None:
    """Finish onboarding through its REST API: owner user, location, analytics, integrations."""
    answer = await client.request(
        "POST",
        "/api/onboarding/users",
        json={
            "client_id": client.client_id,
            "name": "Demo",
            "username": USERNAME,
            "password": PASSWORD,
            "language": "en",
        },
    )
    code = as_str(as_object(answer, "onboarding").get("auth_code"), "onboarding auth_code")
    tokens = as_object(
        await client.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": client.client_id},
        ),
        "token",
    )
    client.token = as_str(tokens.get("access_token"), "access_token")
    # The location, time zone and units come from configuration.yaml.
    await client.post("/api/onboarding/core_config", {})
    await client.post("/api/onboarding/analytics", {})
    await client.post(
        "/api/onboarding/integration",
        {"client_id": client.client_id, "redirect_uri": f"{client.client_id}?auth_callback=1"},
    )
    steps = objects(await client.get("/api/onboarding"), "onboarding steps")
    missing = [step.get("step") for step in steps if step.get("done") is not True]
    if missing:
        raise DemoError(f"onboarding steps not done: {missing}")


async def wait_running(client: HassClient, check: Callable[[], None]) -> None:
    """Wait until Home Assistant says it has started."""

    async def running() -> bool | None:
        config = as_object(await client.get("/api/config"), "config")
        return True if config.get("state") == "RUNNING" else None

    await until("Home Assistant to finish starting", START_TIMEOUT, check, running)


async def run_flow(client: HassClient, step: str, data: dict[str, object]) -> str:
    """Add a config entry through the integration's own config flow; return its entry id."""
    flow = as_object(
        await client.post("/api/config/config_entries/flow", {"handler": DOMAIN}),
        "config flow",
    )
    flow_id = as_str(flow.get("flow_id"), "flow_id")
    if flow.get("type") != "menu" or step not in as_list(flow.get("menu_options"), "menu"):
        raise DemoError(f"the config flow offers no {step!r}: {flow}")
    path = f"/api/config/config_entries/flow/{flow_id}"
    form = as_object(await client.post(path, {"next_step_id": step}), "config flow")
    if form.get("type") != "form" or form.get("step_id") != step:
        raise DemoError(f"config flow step {step!r}: expected its form, got {form}")
    result = as_object(await client.post(path, data), "config flow")
    if result.get("type") != "create_entry":
        raise DemoError(
            f"config flow step {step!r} did not create an entry: "
            f"{result.get('type')} {result.get('errors') or result.get('reason')}"
        )
    entry = as_object(result.get("result"), "created entry")
    return as_str(entry.get("entry_id"), "entry_id")


async def add_entries(client: HassClient, sims: SimulatorUrls) -> list[str]:
    """Create every demo config entry through the config flow, against the simulators."""
    return [
        await run_flow(client, entry.step, entry.data)
        for key, vendor in VENDORS.items()
        for entry in vendor.demo.entries(sims[key])
    ]


async def remove_onboarding_extras(client: HassClient) -> list[str]:
    """Remove the config entries onboarding added for ONBOARDING_EXTRAS; return their titles."""
    removed = []
    for entry in objects(await client.get("/api/config/config_entries/entry"), "entries"):
        if entry.get("domain") in ONBOARDING_EXTRAS:
            await client.request(
                "DELETE", f"/api/config/config_entries/entry/{entry.get('entry_id')}"
            )
            removed.append(str(entry.get("title")))
    return removed


async def wait_loaded(client: HassClient, entry_ids: list[str], check: Callable[[], None]) -> None:
    """Wait until every entry is set up; fail at once when one failed for good."""

    async def all_loaded() -> bool | None:
        listed = objects(
            await client.get(f"/api/config/config_entries/entry?domain={DOMAIN}"), "entries"
        )
        states = {str(entry.get("entry_id")): entry for entry in listed}
        for entry_id in entry_ids:
            entry = states.get(entry_id)
            if entry is None:
                raise DemoError(f"config entry {entry_id} vanished")
            if entry.get("state") in ("setup_error", "migration_error", "failed_unload"):
                raise DemoError(
                    f"config entry {entry.get('title')!r} failed to set up: "
                    f"{entry.get('state')} {entry.get('reason')}"
                )
        loaded = all(states[entry_id].get("state") == "loaded" for entry_id in entry_ids)
        return True if loaded else None

    await until("the config entries to load", SETUP_TIMEOUT, check, all_loaded)


async def read_registries(ws: HassWebsocket) -> tuple[list[Device], list[Entity]]:
    """Return the integration's devices and entities from Home Assistant's registries."""
    devices = []
    for device in objects(await ws.call("config/device_registry/list"), "devices"):
        for pair in as_list(device.get("identifiers"), "identifiers"):
            domain, identifier = as_list(pair, "identifier")
            if domain == DOMAIN:
                name = device.get("name_by_user") or device.get("name")
                model = device.get("model")
                devices.append(
                    Device(
                        as_str(device.get("id"), "device id"),
                        str(identifier),
                        str(name),
                        None if model is None else str(model),
                    )
                )
    entities = [
        Entity(
            as_str(entity.get("entity_id"), "entity_id"),
            str(entity.get("unique_id")),
            None if entity.get("device_id") is None else str(entity.get("device_id")),
            entity.get("disabled_by") is None,
        )
        for entity in objects(await ws.call("config/entity_registry/list"), "entities")
        if entity.get("platform") == DOMAIN
    ]
    return devices, entities


def energy_sensors(demo: Demo) -> list[str]:
    """Return the chargers' lifetime energy sensors, for the energy dashboard."""
    return [
        demo.entity_id(unique_id)
        for vendor in VENDORS.values()
        for unique_id in vendor.demo.energy_sensors
    ]


async def add_to_energy_dashboard(ws: HassWebsocket, sensors: list[str]) -> None:
    """Add each charger's energy sensor to the energy dashboard as an individual device."""
    await ws.call(
        "energy/save_prefs",
        energy_sources=[],
        device_consumption=[{"stat_consumption": sensor} for sensor in sensors],
    )


def _automations() -> list[DemoAutomation]:
    return [v.demo.automation for v in VENDORS.values() if v.demo.automation is not None]


def automation_numbers(demo: Demo) -> list[list[str]]:
    """Return, per vendor, the numbers the example automation sets."""
    return [[demo.entity_id(unique_id) for unique_id in part.numbers] for part in _automations()]


async def add_automation(client: HassClient, demo: Demo) -> None:
    """Add the example automation through the automation editor's API (automations.yaml)."""
    parts = _automations()
    numbers = automation_numbers(demo)
    description = (
        "Example from scripts/demo: the evening peak. At 17:00 every charger gets "
        f"{EVENING_LIMIT} A; at 20:00 {words([part.restored for part in parts])}."
        + "".join(f" {part.note}" for part in parts if part.note)
    )
    await client.post(
        f"/api/config/automation/config/{AUTOMATION_ID}",
        {
            "alias": f"Limit every charger to {EVENING_LIMIT} A from 17:00 to 20:00",
            "description": description,
            "triggers": [
                {"trigger": "time", "at": "17:00:00", "id": "limit"},
                {"trigger": "time", "at": "20:00:00", "id": "restore"},
            ],
            "conditions": [],
            "actions": [
                {
                    "choose": [
                        {
                            "conditions": [{"condition": "trigger", "id": "limit"}],
                            "sequence": [
                                {
                                    "action": "number.set_value",
                                    "target": {"entity_id": [n for ns in numbers for n in ns]},
                                    "data": {"value": EVENING_LIMIT},
                                }
                            ],
                        }
                    ],
                    "default": [
                        {
                            "action": "number.set_value",
                            "target": {"entity_id": entity_ids},
                            "data": {"value": part.restore},
                        }
                        for part, entity_ids in zip(parts, numbers, strict=True)
                    ],
                }
            ],
            "mode": "single",
        },
    )


def write_state(demo: Demo) -> None:
    """Write demo.json: where this demo runs, for scripts/screenshots and curious people."""
    (demo.workdir / "demo.json").write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "url": demo.hass.base_url,
                "simulators": dict(demo.sims),
                "devices": {device.identifier: device.id for device in demo.devices},
            },
            indent=2,
        )
        + "\n"
    )


@contextlib.asynccontextmanager
async def running_demo(
    workdir: Path,
    *,
    port: int,
    default_sim_ports: bool,
    say: Callable[[str], None],
) -> AsyncIterator[Demo]:
    """Start everything in a fresh `workdir`, set it up, and stop it all on the way out."""
    check_frontend_pin()
    await asyncio.to_thread(_fresh_configuration, workdir, port)
    logs = workdir / "logs"
    async with Children() as children, aiohttp.ClientSession() as session:
        say(f"starting the {names()} simulators")
        sims = await start_simulators(children, logs, REPO, default_ports=default_sim_ports)
        say(f"starting Home Assistant on http://127.0.0.1:{port} (log: {logs}/home-assistant.log)")
        await children.start(
            "Home Assistant",
            [
                sys.executable,
                "-m",
                "homeassistant",
                "--config",
                str(workdir / "config"),
                "--skip-pip",
                "--log-file",
                str(logs / "home-assistant.log"),
            ],
            log=logs / "home-assistant.out",
            cwd=workdir / "config",
        )
        client = HassClient(session, f"http://127.0.0.1:{port}")
        await wait_until_up(client, children.check_alive, START_TIMEOUT)
        say("onboarding (owner user, location, analytics off)")
        await onboard(client)
        await wait_running(client, children.check_alive)
        say(f"adding {names()} through the config flow")
        entries = await add_entries(client, sims)
        await wait_loaded(client, entries, children.check_alive)
        await remove_onboarding_extras(client)
        demo = Demo(workdir, client, sims, children)
        async with client.websocket() as ws:
            demo.devices, demo.entities = await read_registries(ws)
            say("adding the chargers' energy sensors to the energy dashboard")
            await add_to_energy_dashboard(ws, energy_sensors(demo))
        say("adding the example automation (10 A from 17:00 to 20:00)")
        await add_automation(client, demo)
        write_state(demo)
        try:
            yield demo
        finally:
            say("stopping Home Assistant and the simulators")
