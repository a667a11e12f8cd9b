"""Easee as the command line, the demo and the benchmark use its simulator (`VENDOR`)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
import math
import re
from typing import Any, Final

from aiohttp import web

from simulators import (
    ANSWER_LOST,
    BenchEntry,
    BenchFarm,
    DemoAutomation,
    DemoCheck,
    DemoEntry,
    DemoProbe,
    Logged,
    SimulatedVendor,
    SoakPart,
    SubCommands,
    VendorBench,
    VendorDemo,
    VendorSoak,
    cli,
)
from simulators.budget_report import SLACK, Report, by_key, max_in_window, min_gap
from simulators.easee import (
    BAN_FORMS,
    CHARGER_FIELDS,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    EaseeSimulator,
    add_demo_fleet,
    validate_charger_fields,
)

KEY: Final = "easee"

# --- the command line -------------------------------------------------------------------------

# The spare account of --demo: another Easee user, whose site the demo's account cannot see.
SPARE_USERNAME: Final = "spare@example.com"
SPARE_PASSWORD: Final = "spare-password"  # noqa: S105 - a made-up account of the simulator
SPARE_USER_ID: Final = 1002
SPARE_SITE: Final = 2
SPARE_CIRCUIT: Final = 20
SPARE_CHARGER: Final = "EH000010"
SPECS_HELP = f"""\
specs (repeat each option for more):
  --account USER:PASSWORD:USERID
      an account; the password may contain ':', the user name may not
  --site SITEID:NAME[:USERID]
      a site of the account with that user id (default: the first account, the demo's
      when --demo is given)
  --circuit CIRCUITID:SITEID[:max=A,offline=A,rated=A,panel=NAME]
      a circuit of a site; max (default 32), offline (16) and rated (32) hold on all phases
  --charger ID:CIRCUITID[:master,car,name=Garage,key=value,...]
      a charger on a circuit; a bare word means true; car = car_connected, online = is_online;
      any other key is a charger field: {", ".join(sorted(CHARGER_FIELDS))}
      (the charge plans, extra_state and extra_config cannot be set here)

--demo loads account {DEMO_USERNAME} / {DEMO_PASSWORD} (user id 1001), site 1 "Home",
circuit 10 (32 A), master charger EH000001 charging a car and charger EH000002 idle; and
the spare that scripts/demo leaves for you to add: account {SPARE_USERNAME} /
{SPARE_PASSWORD} (user id {SPARE_USER_ID}) with site {SPARE_SITE} "Office", circuit
{SPARE_CIRCUIT} (16 A) and charger {SPARE_CHARGER} idle.
"""
DEFAULT_PORT: Final = 8702

_CIRCUIT_OPTIONS = {
    "max": "max_current",
    "offline": "offline_max_current",
    "rated": "rated_current",
    "panel": "panel_name",
}
_CHARGER_ALIASES = {"car": "car_connected", "online": "is_online"}


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be an integer, got {text!r}") from None


def parse_account_spec(spec: str) -> tuple[str, str, int]:
    """Split "USER:PASSWORD:USERID" into user name, password and user id."""
    user, _, rest = spec.partition(":")
    password, sep, user_id = rest.rpartition(":")
    if not user or not sep or not password:
        raise ValueError("expected USER:PASSWORD:USERID")
    return user, password, _int(user_id, "the user id")


def parse_site_spec(spec: str) -> tuple[int, str, int | None]:
    """Split "SITEID:NAME[:USERID]" into site id, name and user id (None: the default)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[1]:
        raise ValueError("expected SITEID:NAME or SITEID:NAME:USERID")
    user_id = _int(parts[2], "the user id") if len(parts) == 3 else None
    return _int(parts[0], "the site id"), parts[1], user_id


def _options(text: str) -> list[tuple[str, str | None]]:
    """Split "a=1,b" into [("a", "1"), ("b", None)]."""
    options: list[tuple[str, str | None]] = []
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not name:
            raise ValueError(f"expected key=value, got {item!r}")
        options.append((name, value if sep else None))
    return options


def parse_circuit_spec(spec: str) -> tuple[int, int, dict[str, object]]:
    """Split "CIRCUITID:SITEID[:max=A,offline=A,rated=A,panel=NAME]" into ids and options."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ValueError("expected CIRCUITID:SITEID or CIRCUITID:SITEID:key=value,...")
    options: dict[str, object] = {}
    for name, text in _options(parts[2]) if len(parts) == 3 else []:
        target = _CIRCUIT_OPTIONS.get(name)
        if target is None:
            raise ValueError(f"unknown circuit option {name!r} (use max, offline, rated, panel)")
        if text is None:
            raise ValueError(f"{name} needs a value")
        if target == "panel_name":
            options[target] = text
            continue
        try:
            options[target] = float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number") from None
    return _int(parts[0], "the circuit id"), _int(parts[1], "the site id"), options


def parse_charger_spec(spec: str) -> tuple[str, int, dict[str, object]]:
    """Split "ID:CIRCUITID[:master,car,name=Garage,...]" into id, circuit id and fields.

    The fields are typed and checked; "master" is among them when given.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError("expected ID:CIRCUITID or ID:CIRCUITID:key=value,...")
    options: dict[str, object] = {}
    master = False
    for raw_name, text in _options(parts[2]) if len(parts) == 3 else []:
        name = _CHARGER_ALIASES.get(raw_name, raw_name)
        if name == "master":
            master = _bool_option(name, text)
            continue
        kind = CHARGER_FIELDS.get(name, ("", None, None))[0].rstrip("?")
        if kind == "bool":
            options[name] = _bool_option(raw_name, text)
        elif text is None:
            raise ValueError(f"{raw_name} needs a value")
        elif kind == "str":
            options[name] = text
        elif kind in ("int", "float"):
            options[name] = _number_option(raw_name, text, integer=kind == "int")
        else:
            raise ValueError(f"{raw_name} cannot be set from the command line")
    try:
        checked = validate_charger_fields(options)
    except TypeError as err:
        raise ValueError(str(err)) from None
    if master:
        checked["master"] = True
    return parts[0], _int(parts[1], "the circuit id"), checked


def _bool_option(name: str, text: str | None) -> bool:
    if text is None or text.lower() in cli.TRUE:
        return True
    if text.lower() in cli.FALSE:
        return False
    raise ValueError(f"{name} must be true or false")


def _number_option(name: str, text: str, *, integer: bool) -> int | float:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def add_command(commands: SubCommands) -> None:
    """Add `python -m simulators easee`."""
    command = commands.add_parser(
        KEY,
        help="Easee cloud API",
        description="Simulate the Easee cloud for the given accounts, sites and chargers.",
        epilog=SPECS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_common(command, DEFAULT_PORT, "load the demo fleet (see below)")
    for option, parse, metavar in (
        ("--account", parse_account_spec, "USER:PASSWORD:USERID"),
        ("--site", parse_site_spec, "SITEID:NAME[:USERID]"),
        ("--circuit", parse_circuit_spec, "CIRCUITID:SITEID[:key=value,...]"),
        ("--charger", parse_charger_spec, "ID:CIRCUITID[:key=value,...]"),
    ):
        command.add_argument(
            option, type=cli.spec_type(parse), action="append", default=[], metavar=metavar
        )
    command.add_argument("--latency-scale", type=float, default=1.0)
    command.add_argument("--max-requests", type=int, default=200, help="per IP and window")
    command.add_argument("--window", type=float, default=300.0, help="rate-limit window in s")
    command.add_argument("--max-logins", type=int, default=10, help="per IP and hour")
    command.add_argument("--token-lifetime", type=int, default=3600, help="access tokens, in s")
    command.set_defaults(check=_check_args, serve=serve)


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.demo and not args.account:
        parser.error("give --demo or at least one --account")
    try:
        build_simulator(args)
    except (KeyError, ValueError) as err:
        parser.error(str(err))


def build_simulator(args: argparse.Namespace) -> EaseeSimulator:
    """Create the Easee simulator described by the parsed arguments."""
    sim = EaseeSimulator(
        latency_scale=args.latency_scale,
        max_requests=args.max_requests,
        window=args.window,
        max_logins=args.max_logins,
        access_token_lifetime=args.token_lifetime,
    )
    if args.demo:
        add_demo_fleet(sim)
        add_spare(sim)
    for user, password, user_id in args.account:
        sim.add_account(user, password, user_id=user_id)
    default_user = next(iter(sim.accounts.values())).user_id if sim.accounts else None
    for site_id, name, user_id in args.site:
        owner = default_user if user_id is None else user_id
        if owner is None:
            raise ValueError(f"site {site_id} has no account")
        sim.add_site(owner, site_id, name)
    for circuit_id, site_id, options in args.circuit:
        sim.add_circuit(site_id, circuit_id, **options)
    for charger_id, circuit_id, options in args.charger:
        sim.add_charger(charger_id, circuit_id, **options)
    return sim


def add_spare(sim: EaseeSimulator) -> None:
    """Add the spare account: site "Office", one circuit (16 A), one idle charger."""
    sim.add_account(SPARE_USERNAME, SPARE_PASSWORD, user_id=SPARE_USER_ID)
    sim.add_site(SPARE_USER_ID, SPARE_SITE, "Office")
    sim.add_circuit(SPARE_SITE, SPARE_CIRCUIT, max_current=16)
    sim.add_charger(SPARE_CHARGER, SPARE_CIRCUIT, name="Office", master=True, lifetime_energy=42.0)


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the Easee simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    await cli.serve(
        args,
        stop,
        build_simulator,
        lambda sim, url: f"Easee simulator on {url} with {len(sim.chargers)} chargers",
    )


# --- the demo ---------------------------------------------------------------------------------

# The --demo fleet: (charger id, charging), the circuit and the site.
DEMO_CHARGERS: Final = (("EH000001", True), ("EH000002", False))
DEMO_CIRCUIT: Final = 10
DEMO_SITE: Final = 1
TEST_CURRENT: Final = 10


def _demo_entries(url: str) -> list[DemoEntry]:
    return [
        DemoEntry(
            step=KEY,
            data={
                "username": DEMO_USERNAME,
                "password": DEMO_PASSWORD,
                "advanced": {"base_url": url},
            },
        )
    ]


def _spares(url: str) -> list[DemoEntry]:
    return [
        DemoEntry(
            step=KEY,
            data={
                "username": SPARE_USERNAME,
                "password": SPARE_PASSWORD,
                "advanced": {"base_url": url},
            },
            name=f"Easee account {SPARE_USERNAME} (site Office, charger {SPARE_CHARGER})",
        )
    ]


async def check_command(probe: DemoProbe) -> None:
    """Check that a dynamic charger current set in Home Assistant reaches the Easee cloud."""
    charger = DEMO_CHARGERS[0][0]
    entity_id = probe.entity_id(f"easee_{charger}_dynamic_charger_current")
    await probe.call_service("number", "set_value", {"entity_id": entity_id, "value": TEST_CURRENT})

    async def applied() -> float | None:
        chargers = await probe.sim_object("/_sim/chargers", "Easee chargers")
        value = probe.as_object(chargers.get(charger), charger).get("dynamic_charger_current")
        return value if isinstance(value, int | float) and value == TEST_CURRENT else None

    await probe.wait_for(
        f"the Easee simulator's {charger} never got a dynamic charger current of {TEST_CURRENT} A",
        applied,
    )
    requests = await probe.sim_objects("/_sim/requests", "Easee log")
    posts = [
        r
        for r in requests
        if r.get("method") == "POST"
        and str(r.get("path")).endswith(f"/{charger}/commands/set_dynamic_charger_current")
    ]
    if not posts:
        raise probe.error("the Easee simulator logged no set_dynamic_charger_current request")
    probe.say(
        f"ok: Easee: {entity_id} -> {TEST_CURRENT} A reached the simulator ({posts[-1]['body']})"
    )


DEMO: Final = VendorDemo(
    default_port=DEFAULT_PORT,
    devices={
        **{f"easee_{cid}": f"Easee charger {cid}" for cid, _ in DEMO_CHARGERS},
        f"easee_circuit_{DEMO_CIRCUIT}": f"Easee circuit {DEMO_CIRCUIT}",
        f"easee_site_{DEMO_SITE}": f"Easee site {DEMO_SITE}",
    },
    entries=_demo_entries,
    spares=_spares,
    energy_sensors=tuple(f"easee_{cid}_lifetime_energy" for cid, _ in DEMO_CHARGERS),
    charging_power=tuple(f"easee_{cid}_power" for cid, on in DEMO_CHARGERS if on),
    automation=DemoAutomation(
        numbers=tuple(f"easee_{cid}_dynamic_charger_current" for cid, _ in DEMO_CHARGERS),
        restore=32,
        restored="Easee's dynamic current to 32 A",
    ),
    # A site only groups its circuits.
    entityless=("easee_site_",),
    may_be_unknown={
        "reason_for_no_current": "Easee: the idle charger has no car, so Easee gives no reason",
        "charge_plan_start": "Easee: the demo chargers have no charge plan",
        "charge_plan_end": "Easee: the demo chargers have no charge plan",
        "charge_plan_current": "Easee: the demo chargers have no charge plan",
        "dynamic_limit_ends": "Easee: no dynamic limit with a time to live was sent",
    },
    checks=(DemoCheck(name="Easee dynamic current", run=check_command),),
    screenshot=("easee-device.png", f"easee_{DEMO_CHARGERS[0][0]}"),
)

# --- the benchmark ----------------------------------------------------------------------------

BENCH_USER_ID: Final = 4200
BENCH_USERNAME: Final = "bench@example.com"
BENCH_PASSWORD: Final = "Bench-Pa55w0rd!"  # noqa: S105 - a made-up account of the simulator
# Chargers per circuit (the first is the circuit's master) and circuits per site.
CHARGERS_PER_CIRCUIT: Final = 5
CIRCUITS_PER_SITE: Final = 2
# Each charger is read at most this often (the integration's default option).
STATE_INTERVAL: Final = 60.0
# Per account: the integration's own promise, at most 100 requests in any 5 minutes.
WINDOW: Final = 300.0
WINDOW_LIMIT: Final = 100
CONFIG_INTERVAL: Final = 900.0
STRUCTURE_INTERVAL: Final = 6 * 3600.0
STRUCTURE: Final = frozenset({"chargers", "accounts_products", "sites"})
SITE_DETAILS_PER_HOUR: Final = 10
# Both charge plans are read every 15 minutes.
PLANS: Final = ("basic_charge_plan", "weekly_charge_plan")

_CHARGER_PATH = re.compile(r"^/api/chargers/([A-Za-z0-9]+)/(.+)$")
_CIRCUIT_PATH = re.compile(r"^/api/sites/[0-9]+/circuits/([0-9]+)/(.+)$")
_SITE_PATH = re.compile(r"^/api/sites/([0-9]+)(/state)?$")


def bench_charger_id(index: int) -> str:
    """Return the id of the index-th charger of the benchmark."""
    return f"EHB{index + 1:05d}"


def _endpoint(method: str, path: str) -> tuple[str, str]:
    if match := _CHARGER_PATH.match(path):
        rest = match.group(2)
        name = rest.split("/")[0] if method == "GET" else f"write:{rest}"
        return name, match.group(1)
    if match := _CIRCUIT_PATH.match(path):
        name = match.group(2) if method == "GET" else f"write:{match.group(2)}"
        return f"circuit_{name}", f"circuit_{match.group(1)}"
    if match := _SITE_PATH.match(path):
        # A site's details (structure) and its state (every charger of the site in one read).
        return ("site_state" if match.group(2) else "sites"), f"site_{match.group(1)}"
    if path.startswith("/state/"):
        return "observations", path.split("/")[2]
    return path.removeprefix("/api/").replace("/", "_"), "account"


def _bench_farm(clock: Callable[[], float], count: int) -> BenchFarm:
    """Load the account: sites of two circuits, circuits of up to five chargers."""
    sim = EaseeSimulator(clock=clock, latency_scale=0)
    sim.add_account(BENCH_USERNAME, BENCH_PASSWORD, user_id=BENCH_USER_ID)
    circuits = math.ceil(count / CHARGERS_PER_CIRCUIT)
    for circuit in range(circuits):
        site_id = 1 + circuit // CIRCUITS_PER_SITE
        if site_id not in sim.sites:
            sim.add_site(BENCH_USER_ID, site_id, f"Site {site_id}")
        sim.add_circuit(site_id, 100 + circuit, panel_name=str(circuit + 1), max_current=32)
    for index in range(count):
        circuit, position = divmod(index, CHARGERS_PER_CIRCUIT)
        sim.add_charger(
            bench_charger_id(index),
            100 + circuit,
            master=position == 0,
            car_connected=index % 3 == 0,
            lifetime_energy=float(50 + index),
        )

    def log() -> list[Logged]:
        return _logged(sim)

    def set_push(on: bool) -> None:
        # Off: the hub answers 503, so the integration reads by REST as while it is down.
        sim.hub.enabled = on

    return BenchFarm(server=sim, log=log, set_push=set_push)


def _command_key(request: web.Request) -> str | None:
    if request.method != "POST":
        return None
    if match := _CHARGER_PATH.match(request.path):
        return match.group(1)
    if match := _CIRCUIT_PATH.match(request.path):
        return f"circuit_{match.group(1)}"
    return None


def _bench_entries(count: int, url: str) -> list[BenchEntry]:
    """One entry for the account: every charger, circuit and site comes with it."""
    if not count:
        return []
    # The integration's keys, in one place for this vendor; imported late, as they bring
    # Home Assistant, which only the benchmark's measuring process has loaded.
    from homeassistant.const import CONF_PASSWORD, CONF_USERNAME  # noqa: PLC0415

    from custom_components.ev_charge_control.const import CONF_BASE_URL  # noqa: PLC0415

    return [
        BenchEntry(
            title=f"Easee {BENCH_USERNAME}",
            unique_id=str(BENCH_USER_ID),
            data={
                CONF_USERNAME: BENCH_USERNAME,
                CONF_PASSWORD: BENCH_PASSWORD,
                CONF_BASE_URL: url,
            },
        )
    ]


def _latency(count: int, _samples: int) -> list[tuple[str, str, float]]:
    # A few chargers only: writes share the account's budget.
    chargers = [bench_charger_id(i) for i in range(min(10, count))]
    return [(cid, f"easee_{cid}_dynamic_charger_current", 10) for cid in chargers]


def _budget(
    logged: Sequence[Logged], chargers: int, started: float, start: float, end: float
) -> dict[str, Any]:
    circuits = math.ceil(chargers / CHARGERS_PER_CIRCUIT)
    report = Report(logged, start, end)
    elapsed = max(0.0, end - started)
    every = sorted(float(item[0]) for item in logged)
    busiest = max_in_window(every, WINDOW)
    report.at_most("requests of the account in 5 minutes", busiest, WINDOW_LIMIT)
    # Chargers of a readable site are read by their site's state, the others one by one.
    for name in ("state", "site_state"):
        keys = chargers if name == "state" else 0
        for key, times in report.endpoint(name, keys, STATE_INTERVAL, 1).items():
            if (gap := min_gap(times)) is not None and gap < STATE_INTERVAL - SLACK:
                report.violations.append(f"Easee {key}: {name} read twice within {gap:.0f} s")
    for site, times in by_key(logged, "sites").items():
        # Easee allows a site's details about 10 times an hour.
        if max_in_window(times, 3600.0) > SITE_DETAILS_PER_HOUR:
            report.violations.append(f"Easee {site}: details read over 10 times in an hour")
    for name in ("config", *PLANS):
        for charger, times in report.endpoint(name, chargers, CONFIG_INTERVAL, 1).items():
            report.at_most(f"Easee {charger} {name}", len(times), elapsed / CONFIG_INTERVAL + 2)
    for circuit, times in report.endpoint("circuit_settings", circuits, CONFIG_INTERVAL, 1).items():
        report.at_most(f"Easee {circuit} settings", len(times), elapsed / CONFIG_INTERVAL + 2)
    names = {str(item[1]) for item in logged}
    for name in sorted(names & STRUCTURE):
        for times in report.endpoint(name, 1, None, note="per account").values():
            report.at_most(f"Easee {name}", len(times), elapsed / STRUCTURE_INTERVAL + 2)
    for name in sorted(
        names - STRUCTURE - {"state", "site_state", "config", *PLANS, "circuit_settings"}
    ):
        report.endpoint(name, 1, None, note="" if name.startswith("write") else "per account")
    refusals = report.rate_limited((429, 403), ())
    return report.as_dict(rate_limited=refusals, busiest_5_min=busiest)


BENCH: Final = VendorBench(
    metavar="M",
    help="Easee chargers (one account)",
    full=(50,),
    quick=(10,),
    unit="chargers",
    described="Easee (one account)",
    farm=_bench_farm,
    command_key=_command_key,
    entries=_bench_entries,
    latency=_latency,
    budget=_budget,
    push="the stream",
)

# --- the chaos soak ---------------------------------------------------------------------------

SOAK_ACCOUNTS: Final = 3
SOAK_CHARGERS_PER_ACCOUNT: Final = 2


def soak_user(account: int) -> tuple[int, str, str]:
    """Return the account-th soak account's user id, user name and password."""
    return 5100 + account, f"soak{account + 1}@example.com", f"Soak-Pa55w0rd-{account + 1}!"


def soak_charger_id(account: int, index: int) -> str:
    """Return the id of an account's index-th charger."""
    return f"EHS{account + 1}{index + 1:04d}"


def _logged(sim: EaseeSimulator) -> list[Logged]:
    """Return what the cloud did; an answer chaos lost is marked: the client never heard it."""
    return [
        (
            r.time,
            *_endpoint(r.method, r.path),
            r.status,
            f"{r.result}:{ANSWER_LOST}" if r.answer_lost else r.result,
        )
        for r in sim.requests
    ]


def _soak_part(clock: Callable[[], float], account: int) -> SoakPart:
    # Each account a cloud of its own: a ban silences its account for a day, so one day
    # meets every form of ban, each on an account of its own.
    sim = EaseeSimulator(clock=clock, latency_scale=0)
    user_id, username, password = soak_user(account)
    sim.add_account(username, password, user_id=user_id)
    site, circuit = 10 + account, 100 + account
    sim.add_site(user_id, site, f"Soak site {account + 1}")
    sim.add_circuit(site, circuit, max_current=32)
    chargers = tuple(soak_charger_id(account, i) for i in range(SOAK_CHARGERS_PER_ACCOUNT))
    for index, charger in enumerate(chargers):
        sim.add_charger(charger, circuit, master=index == 0, car_connected=index == 0)

    def log() -> list[Logged]:
        return _logged(sim)

    def set_online(charger: str, online: bool) -> None:
        sim.chargers[charger].is_online = online

    def ban(form: str, seconds: float) -> None:
        sim.ban(form, seconds)

    return SoakPart(
        name=f"Easee {username}",
        server=sim,
        count=len(chargers),
        log=log,
        devices=chargers,
        set_online=set_online,
        ban=ban,
        secrets=sim.issued_secrets,
    )


def _soak_entries(urls: Sequence[str]) -> list[BenchEntry]:
    from homeassistant.const import CONF_PASSWORD, CONF_USERNAME  # noqa: PLC0415

    from custom_components.ev_charge_control.const import CONF_BASE_URL  # noqa: PLC0415

    entries = []
    for account, url in enumerate(urls):
        user_id, username, password = soak_user(account)
        entries.append(
            BenchEntry(
                title=f"Easee {username}",
                unique_id=str(user_id),
                data={CONF_USERNAME: username, CONF_PASSWORD: password, CONF_BASE_URL: url},
            )
        )
    return entries


def _soak_options(options: Mapping[str, object]) -> dict[str, object]:
    from custom_components.ev_charge_control.vendors.easee.const import (  # noqa: PLC0415
        CONF_STATE_INTERVAL,
    )

    return {**options, CONF_STATE_INTERVAL: 90}


SOAK: Final = VendorSoak(
    farm=lambda clock: [_soak_part(clock, account) for account in range(SOAK_ACCOUNTS)],
    entries=_soak_entries,
    secrets=frozenset(soak_user(account)[2] for account in range(SOAK_ACCOUNTS)),
    serials=frozenset(
        soak_charger_id(account, index)
        for account in range(SOAK_ACCOUNTS)
        for index in range(SOAK_CHARGERS_PER_ACCOUNT)
    ),
    options=_soak_options,
    bans=BAN_FORMS,
    ban_issue="easee_blocked",
)

VENDOR: Final = SimulatedVendor(
    key=KEY, name="Easee", add_command=add_command, demo=DEMO, bench=BENCH, soak=SOAK
)
