"""Bring the demo up: simulators, a fresh Home Assistant, onboarding, entries, energy, automation."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import shutil
import sys
import time

import aiohttp
from homeassistant.components.http import config as http
from homeassistant.components.http.const import CONF_SERVER_HOST, CONF_SERVER_PORT

from demo.fleet import SimulatorUrls, expected_devices, start_simulators, write_bulk_lists
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
from demo.requirements import (
    ffmpeg_program,
    machine_libraries,
    missing_requirements,
    turbojpeg_folder,
    unpinned_installs,
)
from simulators import VENDORS, DemoAutomation, DemoBulk, names, words

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / ".demo"
DOMAIN = "ev_charge_control"  # the integration's domain, as its manifest says
USERNAME = "demo"
PASSWORD = "demo"  # noqa: S105 - the demo's own, printed for the user
START_TIMEOUT = 300.0  # Home Assistant's first start on a slow, busy machine
SETUP_TIMEOUT = 120.0
# Adding a list of many items: one read each at the vendor, a few at a time.
BULK_TIMEOUT = 900.0

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
# tts and assist need ffmpeg: the static build of imageio-ffmpeg, so the machine needs none.
ffmpeg:
  ffmpeg_bin: {ffmpeg}

logger:
  default: warning
  logs:
    custom_components.ev_charge_control: info
"""

AUTOMATION_ID = "demo_limit_chargers_evening"
EVENING_LIMIT = 10  # A, for every charger from 17:00 to 20:00
# Onboarding's location step is done before Home Assistant starts: the location comes from
# configuration.yaml, and finishing that step through its API would start the flows of
# google_translate, met, radio_browser and shopping_list, whose libraries the demo does not
# install and whose clouds it cannot reach: errors in the log before the user does anything.
# A store of the version Home Assistant 2026.10 writes (4); a later one migrates it.
ONBOARDING_STORE = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config"]},
}


@dataclass(frozen=True)
class AddedEntry:
    """A config entry the demo added through the config flow."""

    entry_id: str
    title: str


@dataclass(frozen=True)
class Device:
    """A device of the integration, as the device registry lists it."""

    id: str
    identifier: str
    name: str
    model: str | None
    subentry_id: str | None = None  # the config subentry it belongs to, if any


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
    # The config entries the demo added, by vendor key; a vendor's subentries go to its first.
    entries: dict[str, list[AddedEntry]] = field(default_factory=dict)
    # When the simulators started (wall clock, as theirs): their budgets count from then.
    started: float = field(default_factory=time.time)

    def entry(self, vendor: str) -> AddedEntry:
        """Return the vendor's entry, the one its subentries are added to."""
        if not self.entries.get(vendor):
            raise DemoError(f"the demo added no {vendor} entry")
        return self.entries[vendor][0]

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


# Packages the demo must have at exactly Home Assistant's pins: its web UI, and the name
# resolution of every request to a vendor's cloud (aiohttp's resolver over aiodns and pycares).
PINNED = ("home-assistant-frontend", "aiodns", "pycares")


def configured_domains() -> list[str]:
    """Return the integrations configuration.yaml sets up (its top-level keys)."""
    return re.findall(r"^([a-z_]+):", CONFIGURATION, flags=re.MULTILINE)


def check_installed() -> None:
    """Fail unless every package the demo's Home Assistant needs is there, at its pin."""
    problems = [
        f"{name} {have} is installed, Home Assistant pins {want}"
        for name, (have, want) in unpinned_installs(PINNED).items()
    ]
    problems += [
        f"{domain} needs {', '.join(texts)}"
        for domain, texts in missing_requirements([*configured_domains(), DOMAIN]).items()
    ]
    problems += [f"{missing} is missing" for missing in machine_libraries()]
    if problems:
        raise DemoError(
            "; ".join(problems) + ": make requirements_demo.txt agree and run scripts/setup --demo"
        )


def hass_environment() -> dict[str, str]:
    """Return the environment Home Assistant runs in: where the fetched libturbojpeg is."""
    env = dict(os.environ)
    if (folder := turbojpeg_folder()) is not None:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            path for path in (str(folder), env.get("LD_LIBRARY_PATH")) if path
        )
    return env


def _fresh_configuration(workdir: Path, port: int) -> None:
    """Make `workdir` anew with nothing in it but Home Assistant's configuration."""
    if workdir.exists():
        shutil.rmtree(workdir)
    write_configuration(workdir / "config", port)


def write_configuration(config_dir: Path, port: int) -> None:
    """Write a fresh configuration with the integration linked in from this repository."""
    config_dir.mkdir(parents=True)
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION.format(port=port, ffmpeg=json.dumps(ffmpeg_program() or "ffmpeg"))
    )
    (config_dir / "automations.yaml").write_text("[]\n")
    (config_dir / ".storage").mkdir()
    (config_dir / ".storage" / "onboarding").write_text(json.dumps(ONBOARDING_STORE, indent=2))
    (config_dir / ".storage" / http.STORAGE_KEY).write_text(json.dumps(http_store(port), indent=2))
    write_bulk_lists(config_dir)
    (config_dir / "custom_components").mkdir()
    # A link, not a copy: the demo runs the code of this working tree.
    (config_dir / "custom_components" / DOMAIN).symlink_to(
        REPO / "custom_components" / DOMAIN, target_is_directory=True
    )


def http_store(port: int) -> dict[str, object]:
    """Return Home Assistant's HTTP settings as it keeps them: this machine only, on `port`.

    Not in configuration.yaml: Home Assistant moves an `http:` from there into a trial the
    user must confirm in a dialog within 5 minutes, or it restarts on its defaults (every
    interface, port 8123), and it raises a repair saying the YAML is deprecated.
    """
    settings = http.HTTP_STORAGE_SCHEMA({CONF_SERVER_HOST: "127.0.0.1", CONF_SERVER_PORT: port})
    return {
        "version": http.STORAGE_VERSION,
        "minor_version": http.STORAGE_MINOR_VERSION,
        "key": http.STORAGE_KEY,
        "data": {
            http.KEY_STABLE: {
                **settings,
                http.HTTP_CONFIG_CREATED_AT: "2026-01-01T00:00:00+00:00",
                http.HTTP_CONFIG_ERROR: None,
                http.HTTP_CONFIG_ERROR_MESSAGE: None,
            },
            http.KEY_PENDING: None,
            http.KEY_YAML_MIGRATION_DONE: True,
        },
    }


async def onboard(client: HassClient) -> None:
    """Finish onboarding through its REST API: owner user, analytics, integrations.

    The location step is marked done in the configuration (ONBOARDING_STORE).
    """
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


FLOWS = "/api/config/config_entries/flow"
SUBENTRY_FLOWS = "/api/config/config_entries/subentries/flow"


async def _open_form(client: HassClient, flows: str, handler: object, step: str) -> str:
    """Start a flow whose first step is a menu, choose `step`; return the flow's path."""
    flow = as_object(await client.post(flows, {"handler": handler}), f"flow of {handler}")
    flow_id = as_str(flow.get("flow_id"), "flow_id")
    if flow.get("type") != "menu" or step not in as_list(flow.get("menu_options"), "menu"):
        raise DemoError(f"the flow of {handler} offers no {step!r}: {flow}")
    path = f"{flows}/{flow_id}"
    form = as_object(await client.post(path, {"next_step_id": step}), "flow")
    if form.get("type") != "form" or form.get("step_id") != step:
        raise DemoError(f"flow step {step!r}: expected its form, got {form}")
    return path


async def run_flow(client: HassClient, step: str, data: dict[str, object]) -> AddedEntry:
    """Add a config entry through the integration's own config flow."""
    path = await _open_form(client, FLOWS, DOMAIN, step)
    result = as_object(await client.post(path, data), "config flow")
    if result.get("type") != "create_entry":
        raise DemoError(
            f"config flow step {step!r} did not create an entry: "
            f"{result.get('type')} {result.get('errors') or result.get('reason')}"
        )
    entry = as_object(result.get("result"), "created entry")
    return AddedEntry(
        as_str(entry.get("entry_id"), "entry_id"), as_str(entry.get("title"), "entry title")
    )


async def run_subentry_flow(
    client: HassClient, entry_id: str, kind: str, step: str, data: dict[str, object]
) -> None:
    """Add a subentry of type `kind` to an entry through its subentry flow's menu option."""
    path = await _open_form(client, SUBENTRY_FLOWS, [entry_id, kind], step)
    result = as_object(await client.post(path, data), "subentry flow")
    if result.get("type") != "create_entry":
        raise DemoError(
            f"subentry flow {kind} step {step!r} did not add a subentry: "
            f"{result.get('type')} {result.get('errors') or result.get('reason')}"
        )


async def run_bulk_flow(
    client: HassClient, entry_id: str, bulk: DemoBulk, check: Callable[[], None]
) -> dict[str, object]:
    """Paste a list of many items into the subentry flow's bulk form; return how it ended."""
    path = await _open_form(client, SUBENTRY_FLOWS, [entry_id, bulk.subentry], bulk.step)
    patience = aiohttp.ClientTimeout(total=BULK_TIMEOUT)
    result = as_object(
        await client.post(path, {bulk.lines_field: "\n".join(bulk.lines)}, answer_within=patience),
        "bulk flow",
    )
    if result.get("type") == "progress":
        # A flow may show its progress while it works; it goes on once told so.

        async def progressed() -> dict[str, object] | None:
            step = as_object(await client.get(path), "bulk flow")
            return None if step.get("type") == "progress" else step

        result = await until("the bulk add to finish", BULK_TIMEOUT, check, progressed)
        if result.get("type") == "progress_done":
            result = as_object(await client.post(path, {}, answer_within=patience), "bulk flow")
    if result.get("type") != "abort" or result.get("reason") != bulk.done:
        raise DemoError(
            f"subentry flow {bulk.subentry} step {bulk.step!r} did not end with {bulk.done!r}: "
            f"{result.get('type')} {result.get('errors') or result.get('reason')}"
        )
    return result


async def add_entries(client: HassClient, sims: SimulatorUrls) -> dict[str, list[AddedEntry]]:
    """Create every vendor's demo config entries through the config flow, against its simulator.

    Their subentries wait for `add_subentries`, once the entries are loaded.
    """
    return {
        key: [
            await run_flow(client, entry.step, entry.data)
            for entry in vendor.demo.entries(sims[key])
            if entry.subentry is None
        ]
        for key, vendor in VENDORS.items()
    }


async def add_subentries(
    client: HassClient, sims: SimulatorUrls, entries: dict[str, list[AddedEntry]]
) -> int:
    """Add every vendor's demo subentries to its entry, through the subentry flow; count them."""
    added = 0
    for key, vendor in VENDORS.items():
        for entry in vendor.demo.entries(sims[key]):
            if entry.subentry is not None:
                parent = entries[key][0].entry_id
                await run_subentry_flow(client, parent, entry.subentry, entry.step, entry.data)
                added += 1
    return added


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


async def subentries(client: HassClient, entry_id: str) -> dict[str, str | None]:
    """Return an entry's subentries: the unique id of each, by subentry id."""
    async with client.websocket() as ws:
        listed = objects(
            await ws.call("config_entries/subentries/list", entry_id=entry_id), "subentries"
        )
    return {
        as_str(item.get("subentry_id"), "subentry_id"): (
            None if item.get("unique_id") is None else str(item.get("unique_id"))
        )
        for item in listed
    }


async def wait_subentry_devices(
    client: HassClient, subentry_ids: Iterable[str], check: Callable[[], None], seconds: float
) -> list[Device]:
    """Wait until each subentry has a device; return the devices of them all."""
    wanted = set(subentry_ids)
    missing: set[str] = set()

    async def all_there() -> list[Device] | None:
        async with client.websocket() as ws:
            devices = await read_devices(ws)
        mine = [device for device in devices if device.subentry_id in wanted]
        missing.clear()
        missing.update(wanted - {device.subentry_id for device in mine})
        return None if missing else mine

    try:
        return await until("the subentries' devices", seconds, check, all_there, interval=2.0)
    except DemoError as err:
        raise DemoError(f"{err}; {len(missing)} subentries have none") from None


async def read_registries(ws: HassWebsocket) -> tuple[list[Device], list[Entity]]:
    """Return the integration's devices and entities from Home Assistant's registries."""
    devices = await read_devices(ws)
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


async def read_devices(ws: HassWebsocket) -> list[Device]:
    """Return the integration's devices from Home Assistant's device registry."""
    devices = []
    for device in objects(await ws.call("config/device_registry/list"), "devices"):
        for pair in as_list(device.get("identifiers"), "identifiers"):
            domain, identifier = as_list(pair, "identifier")
            if domain == DOMAIN:
                name = device.get("name_by_user") or device.get("name")
                model = device.get("model")
                subentry = device.get("config_subentry_id")
                devices.append(
                    Device(
                        as_str(device.get("id"), "device id"),
                        str(identifier),
                        str(name),
                        None if model is None else str(model),
                        None if subentry is None else str(subentry),
                    )
                )
    return devices


async def wait_devices(
    client: HassClient, identifiers: Iterable[str], check: Callable[[], None], seconds: float
) -> tuple[list[Device], list[Entity]]:
    """Wait until the device registry has every device named; return the registries then."""
    wanted = set(identifiers)
    missing: set[str] = set()

    async def all_there() -> tuple[list[Device], list[Entity]] | None:
        async with client.websocket() as ws:
            devices, entities = await read_registries(ws)
        missing.clear()
        missing.update(wanted - {device.identifier for device in devices})
        return None if missing else (devices, entities)

    try:
        return await until("the devices to be registered", seconds, check, all_there)
    except DemoError as err:
        raise DemoError(f"{err}; {len(missing)} missing, e.g. {sorted(missing)[:5]}") from None


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
    check_installed()
    await asyncio.to_thread(_fresh_configuration, workdir, port)
    logs = workdir / "logs"
    async with Children() as children, aiohttp.ClientSession() as session:
        say(f"starting the {names()} simulators")
        started = time.time()
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
            env=hass_environment(),
        )
        client = HassClient(session, f"http://127.0.0.1:{port}")
        await wait_until_up(client, children.check_alive, START_TIMEOUT)
        say("onboarding (owner user, location, analytics off)")
        await onboard(client)
        await wait_running(client, children.check_alive)
        say(f"adding {names()} through the config flow")
        entries = await add_entries(client, sims)
        await wait_loaded(
            client, [e.entry_id for es in entries.values() for e in es], children.check_alive
        )
        if await add_subentries(client, sims, entries):
            say("added the further chargers to their entries (Add charger)")
        demo = Demo(workdir, client, sims, children, entries=entries, started=started)
        demo.devices, demo.entities = await wait_devices(
            client, expected_devices(), children.check_alive, SETUP_TIMEOUT
        )
        async with client.websocket() as ws:
            say("adding the chargers' energy sensors to the energy dashboard")
            await add_to_energy_dashboard(ws, energy_sensors(demo))
        say("adding the example automation (10 A from 17:00 to 20:00)")
        await add_automation(client, demo)
        write_state(demo)
        try:
            yield demo
        finally:
            say("stopping Home Assistant and the simulators")
