"""go-e as the command line, the demo and the benchmark use its simulator (`VENDOR`)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from aiohttp import web

from simulators import (
    BenchEntry,
    BenchFarm,
    BenchLayout,
    BenchSubentry,
    DemoAutomation,
    DemoBulk,
    DemoCheck,
    DemoEntry,
    DemoProbe,
    Logged,
    ScaledBench,
    SimulatedVendor,
    SoakPart,
    SubCommands,
    VendorBench,
    VendorDemo,
    VendorSoak,
    cli,
)
from simulators.budget_report import SLACK, Report, bucket_overdrawn, min_gap
from simulators.goe import (
    DEMO_CHARGING_SERIAL,
    DEMO_CHARGING_TOKEN,
    DEMO_FLEET_FIRST,
    DEMO_FLEET_SIZE,
    DEMO_IDLE_SERIAL,
    DEMO_IDLE_TOKEN,
    SERIAL_PATTERN,
    SETTABLE_FIELDS,
    TOKEN_PATTERN,
    GoeSimulator,
    add_demo,
    add_demo_fleet,
    demo_fleet,
    validate_charger_fields,
)

KEY: Final = "goe"

# --- the command line -------------------------------------------------------------------------


def parse_charger_spec(spec: str) -> tuple[str, str, dict[str, object]]:
    """Split "SERIAL:TOKEN[:key=value,...]" into serial, token and typed charger fields.

    Raises ValueError with a readable message when the spec is malformed.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ValueError("expected SERIAL:TOKEN or SERIAL:TOKEN:key=value,...")
    serial, token = parts[0], parts[1]
    if not SERIAL_PATTERN.fullmatch(serial):
        raise ValueError("serial must be 6 digits, e.g. 000001")
    if not TOKEN_PATTERN.fullmatch(token):
        raise ValueError("token must be 32 alphanumeric characters")
    options: dict[str, object] = {}
    for item in parts[2].split(",") if len(parts) == 3 else []:
        name, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {item!r}")
        options[name] = _convert(name, text)
    # _convert already gave each value its type; this checks the ranges.
    return serial, token, validate_charger_fields(options)


def _convert(name: str, text: str) -> object:
    kind = SETTABLE_FIELDS.get(name)
    if kind not in (bool, int, float):
        raise ValueError(f"{name} cannot be set from the command line")
    if kind is bool:
        if text.lower() in cli.TRUE:
            return True
        if text.lower() in cli.FALSE:
            return False
        raise ValueError(f"{name} must be true or false")
    try:
        return int(text) if kind is int else float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


# A charger the demo leaves for the person trying it to add through the form.
SPARE_SERIAL: Final = "000003"
SPARE_TOKEN: Final = "DemoGoeSpare00000000000000000003"  # noqa: S105 - public demo token

DEMO_HELP = f"""\
--demo loads charger {DEMO_CHARGING_SERIAL} (grid token {DEMO_CHARGING_TOKEN}) charging a car
at 16 A on three phases and charger {DEMO_IDLE_SERIAL} (grid token {DEMO_IDLE_TOKEN}) idle;
both report every minute. Charger {SPARE_SERIAL} (grid token {SPARE_TOKEN}), idle too, is the
spare that scripts/demo leaves for you to add. So is a fleet of {DEMO_FLEET_SIZE:,} chargers,
serials {DEMO_FLEET_FIRST:06d} to {DEMO_FLEET_FIRST + DEMO_FLEET_SIZE - 1:06d}, to add from one
list (scripts/demo writes it: serial;token;name a line).
"""
DEFAULT_PORT: Final = 8701


def add_command(commands: SubCommands) -> None:
    """Add `python -m simulators goe`."""
    command = commands.add_parser(
        KEY,
        help="go-e grid-operator cloud API",
        description="Simulate the go-e grid-operator cloud for the given chargers.",
        epilog=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_common(command, DEFAULT_PORT, "load the demo chargers (see below)")
    command.add_argument(
        "--charger",
        type=cli.spec_type(parse_charger_spec),
        action="append",
        default=[],
        metavar="SERIAL:TOKEN[:key=value,...]",
        help="a charger the grid operator may use; repeat for more",
    )
    command.add_argument("--latency-scale", type=float, default=1.0)
    command.add_argument("--command-answer", choices=("payload", "status"), default="payload")
    command.set_defaults(check=_check_args, serve=serve)


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.demo and not args.charger:
        parser.error("give --demo or at least one --charger")
    serials = [serial for serial, _token, _options in args.charger]
    if args.demo:
        serials += [DEMO_CHARGING_SERIAL, DEMO_IDLE_SERIAL, SPARE_SERIAL]
        serials += [serial for serial, _token, _name in demo_fleet()]
    for serial in serials:
        if serials.count(serial) > 1:
            parser.error(f"charger {serial} given more than once")


def build_simulator(args: argparse.Namespace) -> GoeSimulator:
    """Create the go-e simulator described by the parsed arguments."""
    sim = GoeSimulator(latency_scale=args.latency_scale)
    sim.command_answer = args.command_answer
    if args.demo:
        add_demo(sim)
        sim.add_charger(
            SPARE_SERIAL, SPARE_TOKEN, set_current=16, kwh_total=42.0, report_interval=60.0
        )
        add_demo_fleet(sim)
    for serial, token, options in args.charger:
        sim.add_charger(serial, token, **options)
    return sim


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the go-e simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    await cli.serve(
        args,
        stop,
        build_simulator,
        lambda sim, url: f"go-e simulator on {url} with {len(sim.chargers)} chargers",
    )


# --- the demo ---------------------------------------------------------------------------------

# (serial, grid token, charging) of the --demo chargers.
DEMO_CHARGERS: Final = (
    (DEMO_CHARGING_SERIAL, DEMO_CHARGING_TOKEN, True),
    (DEMO_IDLE_SERIAL, DEMO_IDLE_TOKEN, False),
)
TEST_CURRENT: Final = 10
# The integration's subentry type of a charger, and the options of its flow's menu.
CHARGER: Final = "charger"
ADD_ONE: Final = "one"
ADD_MANY: Final = "bulk"


def _demo_entries(url: str) -> list[DemoEntry]:
    """Return the entry, made with the first charger and the API address, and its subentries."""
    (first, first_token, _), *others = DEMO_CHARGERS
    return [
        DemoEntry(
            step=KEY,
            data={
                "serial": first,
                "grid_token": first_token,
                "advanced": {"base_url": url},
            },
        ),
        *(
            DemoEntry(step=ADD_ONE, data={"serial": serial, "grid_token": token}, subentry=CHARGER)
            for serial, token, _charging in others
        ),
    ]


def _spares(_url: str) -> list[DemoEntry]:
    return [
        DemoEntry(
            step=ADD_ONE,
            data={"serial": SPARE_SERIAL, "grid_token": SPARE_TOKEN},
            name=f"go-e charger {SPARE_SERIAL}",
            subentry=CHARGER,
        )
    ]


def _fleet() -> DemoBulk:
    fleet = demo_fleet()
    return DemoBulk(
        name=f"go-e fleet of {len(fleet):,} chargers",
        subentry=CHARGER,
        step=ADD_MANY,
        lines_field="lines",
        file_field="file",
        file="goe-fleet.csv",
        lines=tuple(f"{serial};{token};{name}" for serial, token, name in fleet),
        unique_ids=tuple(serial for serial, _token, _name in fleet),
        devices=tuple(f"goe_{serial}" for serial, _token, _name in fleet),
        done="bulk_done",
    )


def _budget_violations(
    requests: Sequence[Mapping[str, object]], start: float, end: float
) -> list[str]:
    """Count what the simulator received (/_sim/requests) against go-e's budgets."""
    logged: list[Logged] = [
        (
            float(str(request["time"])),
            str(request["endpoint"]),
            str(request.get("serial") or ""),
            int(str(request["http_status"])),
            str(request["result"]),
        )
        for request in requests
    ]
    chargers = len({key for _time, _endpoint, key, _status, _result in logged})
    violations: list[str] = _budget(logged, chargers, start, start, end)["violations"]
    return violations


async def check_command(probe: DemoProbe) -> None:
    """Check that a charging current set in Home Assistant reaches the go-e cloud."""
    serial = DEMO_CHARGERS[0][0]
    entity_id = probe.entity_id(f"goe_{serial}_charging_current")
    await probe.call_service("number", "set_value", {"entity_id": entity_id, "value": TEST_CURRENT})

    async def received() -> dict[str, object] | None:
        for request in await probe.sim_objects("/_sim/requests", "go-e log"):
            if (
                request.get("endpoint") == "api_command"
                and request.get("serial") == serial
                and probe.as_object(request.get("params"), "params").get("set_current")
                == str(TEST_CURRENT)
            ):
                return request
        return None

    request = await probe.wait_for(
        f"the go-e simulator never received set_current={TEST_CURRENT} for {serial}", received
    )
    if request.get("result") != "ok":
        raise probe.error(f"the go-e simulator refused the command: {request}")
    chargers = await probe.sim_object("/_sim/chargers", "chargers")
    current = probe.as_object(chargers.get(serial), serial).get("set_current")
    if current != TEST_CURRENT:
        raise probe.error(f"go-e charger {serial} has set_current={current} after the command")
    probe.say(
        f"ok: go-e: {entity_id} -> {TEST_CURRENT} A reached the simulator (set_current={current})"
    )


DEMO: Final = VendorDemo(
    default_port=DEFAULT_PORT,
    devices={f"goe_{serial}": f"go-e charger {serial}" for serial, _, _ in DEMO_CHARGERS},
    entries=_demo_entries,
    spares=_spares,
    energy_sensors=tuple(f"goe_{serial}_energy_total" for serial, _, _ in DEMO_CHARGERS),
    charging_power=tuple(f"goe_{serial}_power" for serial, _, on in DEMO_CHARGERS if on),
    automation=DemoAutomation(
        numbers=tuple(f"goe_{serial}_charging_current" for serial, _, _ in DEMO_CHARGERS),
        restore=16,
        restored="go-e goes back to 16 A",
        note="go-e sends at most one command per charger every 15 minutes; the integration "
        "queues and coalesces the rest.",
    ),
    may_be_unknown={
        "next_planned_charge": "go-e: no charge is planned",
        "planned_charge_duration": "go-e: no charge is planned",
    },
    checks=(DemoCheck(name="go-e command", run=check_command),),
    notes=(
        "go-e allows one command per charger every 15 minutes: a second change waits for its",
        "slot (the 'Command slot' and 'Pending command' sensors show it).",
    ),
    screenshot=("goe-device.png", f"goe_{DEMO_CHARGERS[0][0]}"),
    # Letters in the serial, a token too short.
    form_with_errors={"serial": "12AB34", "grid_token": "tooShort"},
    bulk=_fleet(),
    budget_violations=_budget_violations,
)

# --- the benchmark ----------------------------------------------------------------------------

COMMAND_PATH: Final = "/api_command"
# Per charger: a status token bucket (2 at once, one per 15 minutes), commands 15 min apart.
STATUS_BURST: Final = 2
INTERVAL: Final = 900.0


def bench_serial(index: int) -> str:
    """Return the serial of the index-th charger of the benchmark."""
    return f"{index + 1:06d}"


def bench_token(index: int) -> str:
    """Return the grid token of the index-th charger (32 letters or digits)."""
    return f"BenchGridToken{index + 1:06d}".ljust(32, "0")


def _bench_farm(clock: Callable[[], float], count: int) -> BenchFarm:
    """Load the chargers: every third has a car charging, the rest stand idle."""
    # No simulated answer time: the benchmark measures the integration, not the cloud.
    sim = GoeSimulator(clock=clock, latency_scale=0)
    for index in range(count):
        sim.add_charger(
            bench_serial(index),
            bench_token(index),
            car_connected=index % 3 == 0,
            set_current=16,
            kwh_total=float(100 + index),
        )

    def log() -> list[Logged]:
        return [(r.time, r.endpoint, r.serial or "", r.http_status, r.result) for r in sim.requests]

    return BenchFarm(server=sim, log=log)


def _command_key(request: web.Request) -> str | None:
    return request.query.get("serial") if request.path == COMMAND_PATH else None


def _bench_subentries(count: int) -> list[BenchSubentry]:
    """Each charger as the "Add charger" flow makes it: a subentry, its serial the unique id."""
    # The integration's keys, in one place for this vendor; imported late, as they bring
    # Home Assistant, which only the benchmark's measuring process has loaded.
    from custom_components.ev_charge_control.vendors.goe.const import (  # noqa: PLC0415
        CONF_GRID_TOKEN,
        CONF_SERIAL,
        SUBENTRY_CHARGER,
    )

    return [
        BenchSubentry(
            subentry_type=SUBENTRY_CHARGER,
            title=f"go-e {bench_serial(index)}",
            unique_id=bench_serial(index),
            data={CONF_SERIAL: bench_serial(index), CONF_GRID_TOKEN: bench_token(index)},
        )
        for index in range(count)
    ]


def _bench_entry(url: str, subentries: Sequence[BenchSubentry]) -> BenchEntry:
    from custom_components.ev_charge_control.const import CONF_BASE_URL  # noqa: PLC0415
    from custom_components.ev_charge_control.vendors.goe.const import (  # noqa: PLC0415
        DEFAULT_TITLE,
    )

    return BenchEntry(
        title=DEFAULT_TITLE,
        unique_id=None,
        version=2,
        data={CONF_BASE_URL: url},
        subentries=tuple(subentries),
    )


def chargers_per_entry() -> int:
    """Return the most chargers one entry holds with all their entities.

    Home Assistant adds at most ``MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY`` (10,000) enabled
    entities to one config entry and refuses the rest with a warning; a go-e charger has
    ``ENABLED_PER_CHARGER`` (9) enabled by default, so 1,111.
    """
    from homeassistant.helpers.entity_platform import (  # noqa: PLC0415
        MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY,
    )

    from custom_components.ev_charge_control.vendors.goe.descriptions import (  # noqa: PLC0415
        ENABLED_PER_CHARGER,
    )

    return MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY // ENABLED_PER_CHARGER


def _bench_entries(count: int, url: str) -> list[BenchEntry]:
    """Return the chargers as subentries of as few entries as Home Assistant allows."""
    subentries = _bench_subentries(count)
    entries = -(-count // chargers_per_entry())
    size = -(-count // entries) if entries else 0
    return [
        _bench_entry(url, subentries[index * size : (index + 1) * size]) for index in range(entries)
    ]


def _bench_entry_per_charger(count: int, url: str) -> list[BenchEntry]:
    """Return one entry per charger (each with its one subentry), as version 1 had them."""
    return [_bench_entry(url, [subentry]) for subentry in _bench_subentries(count)]


def _latency(count: int, samples: int) -> list[tuple[str, str, float]]:
    return [
        (serial, f"goe_{serial}_charging_current", 10)
        for serial in map(bench_serial, range(min(samples, count)))
    ]


def _budget(
    logged: Sequence[Logged], chargers: int, started: float, start: float, end: float
) -> dict[str, Any]:
    report = Report(logged, start, end)
    status = report.endpoint("api_status", chargers, INTERVAL, STATUS_BURST)
    commands = report.endpoint("api_command", chargers, INTERVAL, 1)
    refusals = report.rate_limited((429,), ("rate limiting", "rate_limiting"))
    for serial, times in status.items():
        if bucket_overdrawn(times, STATUS_BURST, INTERVAL, started):
            report.violations.append(f"go-e {serial}: status reads beyond the token bucket")
    for serial, times in commands.items():
        if (gap := min_gap(times)) is not None and gap < INTERVAL - SLACK:
            report.violations.append(f"go-e {serial}: two commands {gap:.0f} s apart")
    return report.as_dict(rate_limited=refusals)


BENCH: Final = VendorBench(
    metavar="N",
    help="go-e fleet sizes",
    full=(20, 200, 1000, 5000),
    quick=(20,),
    unit="chargers",
    described="go-e chargers",
    farm=_bench_farm,
    command_key=_command_key,
    entries=_bench_entries,
    latency=_latency,
    budget=_budget,
    scaled=ScaledBench(
        cycle=INTERVAL,
        reads="api_status",
        reads_label="status reads",
        intro="go-e: the chargers are subentries of an entry for the grid operator's access, "
        "in as few entries as Home Assistant allows: it adds at most 10,000 enabled entities "
        "to one config entry, 1,111 go-e chargers (9 enabled entities each), so 1,000 chargers "
        'take one entry and 5,000 five (rows marked "an entry each": one config entry per charger, each with its '
        "one subentry, as version 1 had them).",
        layouts={
            "entry_per_charger": BenchLayout(
                marked="an entry each", entries=_bench_entry_per_charger
            )
        },
        compare=(1000,),
    ),
)

# --- the chaos soak ---------------------------------------------------------------------------

SOAK_CHARGERS: Final = 4


def _soak_farm(clock: Callable[[], float]) -> list[SoakPart]:
    """Load a few chargers of one grid operator's access; one goes offline (the cloud tells)."""
    farm = _bench_farm(clock, SOAK_CHARGERS)
    sim = farm.server
    if not isinstance(sim, GoeSimulator):  # pragma: no cover - the bench farm's own
        raise TypeError(sim)

    def set_online(serial: str, online: bool) -> None:
        sim.chargers[serial].online = online

    return [
        SoakPart(
            name="go-e",
            server=sim,
            count=SOAK_CHARGERS,
            log=farm.log,
            devices=tuple(map(bench_serial, range(SOAK_CHARGERS))),
            set_online=set_online,
        )
    ]


SOAK: Final = VendorSoak(
    farm=_soak_farm,
    entries=lambda urls: _bench_entries(SOAK_CHARGERS, urls[0]),
    secrets=frozenset(map(bench_token, range(SOAK_CHARGERS))),
    serials=frozenset(map(bench_serial, range(SOAK_CHARGERS))),
    # go-e's entry has no options: a charger's subentry is renamed (its reconfigure) instead.
    options=lambda _options: None,
)

VENDOR: Final = SimulatedVendor(
    key=KEY, name="go-e", add_command=add_command, demo=DEMO, bench=BENCH, soak=SOAK
)
