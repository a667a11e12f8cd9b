"""ViriCiti as the command line, the demo and the benchmark use its simulator (`VENDOR`)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
import re
from typing import Any, Final

from aiohttp import web

from simulators import (
    BenchEntry,
    BenchFarm,
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
from simulators.budget_report import SLACK, Report, min_gap
from simulators.viriciti import (
    DEMO_GROUP,
    DEMO_KEY,
    ViricitiSimulator,
    add_demo,
    parse_group_spec,
    parse_key_spec,
    parse_station_spec,
    parse_timeframe_spec,
)

KEY: Final = "viriciti"
# The spare group of --demo, with a key of its own that opens it alone.
SPARE_GROUP: Final = "Workshop"
SPARE_KEY: Final = "spare-viriciti-key-0123456789"

# --- the command line -------------------------------------------------------------------------

SPECS_HELP = f"""\
specs (repeat each option for more):
  --key KEY[:GROUP,GROUP,...]
      an API key (sent as the x-api-key header); without groups it opens every group
  --group ID[:title=TITLE,tz=ZONE,default=KW,external]
      a charger group; tz is an IANA zone (default UTC), default the default limit
      (400 kW), external lets it accept external limits
  --timeframe "GROUP:LIMIT:START:END[:NAME]"
      a timeframe of LIMIT kW from each cron START until the next cron END, in the group's
      zone (day of week 0 = Sunday; an END of "0 0 * * D" is the midnight ending day D)
  --station GROUP:STATION[:KW,KW,...]
      a charge station; one demand in kW per connector position (default two idle ones)

--demo loads group {DEMO_GROUP!r} (Europe/Amsterdam, 400 kW, external limits accepted) with
timeframes 16:00-00:00 at 200 kW and 00:00-08:00 at 100 kW, three charge stations with two
connectors each, and the key {DEMO_KEY}; and the spare that scripts/demo leaves for
you to add: group {SPARE_GROUP!r} (Europe/Amsterdam, 150 kW, external limits accepted) with
one charge station, and its own key {SPARE_KEY}.
"""
DEFAULT_PORT: Final = 8703


def add_command(commands: SubCommands) -> None:
    """Add `python -m simulators viriciti`."""
    command = commands.add_parser(
        KEY,
        help="ViriCiti Smart Charging API",
        description="Simulate the ViriCiti Smart Charging API for the given charger groups.",
        epilog=SPECS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli.add_common(command, DEFAULT_PORT, "load the demo group (see below)")
    for option, parse, metavar in (
        ("--key", parse_key_spec, "KEY[:GROUP,...]"),
        ("--group", parse_group_spec, "ID[:key=value,...]"),
        ("--timeframe", parse_timeframe_spec, "GROUP:LIMIT:START:END[:NAME]"),
        ("--station", parse_station_spec, "GROUP:STATION[:KW,...]"),
    ):
        command.add_argument(
            option, type=cli.spec_type(parse), action="append", default=[], metavar=metavar
        )
    command.add_argument("--latency-scale", type=float, default=1.0)
    command.add_argument(
        "--lookahead", type=float, default=900.0, help="how far upcoming looks ahead, in s"
    )
    command.add_argument(
        "--sample-interval", type=float, default=300.0, help="time series sampling, in s"
    )
    command.add_argument(
        "--min-post-interval",
        type=float,
        default=None,
        help="answer 429 to a group limit POST sooner than this after the last one, in s",
    )
    command.add_argument(
        "--standard-offsets",
        action="store_true",
        help="write +01:00 in group limit times instead of the document's +01.00",
    )
    command.set_defaults(check=_check_args, serve=serve)


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.demo and not args.group:
        parser.error("give --demo or at least one --group")
    if not args.demo and not args.key:
        parser.error("give --demo or at least one --key")
    try:
        build_simulator(args)
    except (KeyError, ValueError) as err:
        parser.error(str(err).strip("'\""))


def build_simulator(args: argparse.Namespace) -> ViricitiSimulator:
    """Create the ViriCiti simulator described by the parsed arguments."""
    sim = ViricitiSimulator(
        latency_scale=args.latency_scale,
        lookahead=args.lookahead,
        sample_interval=args.sample_interval,
        odd_offsets=not args.standard_offsets,
        min_post_interval=args.min_post_interval,
    )
    if args.demo:
        add_demo(sim)
        add_spare(sim)
    for group_id, options in args.group:
        sim.add_group(group_id, **options)
    for group_id, timeframe in args.timeframe:
        if group_id not in sim.groups:
            raise ValueError(f"timeframe for unknown group {group_id}")
        sim.add_timeframe(group_id, **timeframe)
    for group_id, station_id, demands in args.station:
        if group_id not in sim.groups:
            raise ValueError(f"station {station_id} in unknown group {group_id}")
        sim.add_station(group_id, station_id, demands)
    for key, groups in args.key:
        unknown = sorted(set(groups or ()) - set(sim.groups))
        if unknown:
            raise ValueError(f"key for unknown group {unknown[0]}")
        sim.add_api_key(key, groups)
    return sim


def add_spare(sim: ViricitiSimulator) -> None:
    """Add the spare group and its key; the demo's key does not open it."""
    sim.add_group(
        SPARE_GROUP,
        "Workshop",
        time_zone="Europe/Amsterdam",
        default_limit=150,
        accepts_external_limits=True,
    )
    sim.add_station(SPARE_GROUP, "charger_4", [0, 0])
    sim.add_api_key(SPARE_KEY, [SPARE_GROUP])


def _describe(sim: ViricitiSimulator, url: str) -> str:
    count = len(sim.groups)
    return f"ViriCiti simulator on {url} with {count} group{'' if count == 1 else 's'}"


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the ViriCiti simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    # Never the keys: a real one may have been given on the command line.
    await cli.serve(args, stop, build_simulator, _describe)


# --- the demo ---------------------------------------------------------------------------------

# The --demo group's charge stations and its zone.
DEMO_STATIONS: Final = ("charger_1", "charger_2", "charger_3")
DEMO_TIME_ZONE: Final = "Europe/Amsterdam"
TEST_GROUP_LIMIT: Final = 150


def _demo_entries(url: str) -> list[DemoEntry]:
    return [
        DemoEntry(
            step=KEY,
            data={
                "api_key": DEMO_KEY,
                "group_id": DEMO_GROUP,
                "time_zone": DEMO_TIME_ZONE,
                "advanced": {"base_url": url},
            },
        )
    ]


def _spares(url: str) -> list[DemoEntry]:
    return [
        DemoEntry(
            step=KEY,
            data={
                "api_key": SPARE_KEY,
                "group_id": SPARE_GROUP,
                "time_zone": DEMO_TIME_ZONE,
                "advanced": {"base_url": url},
            },
            name=f"ViriCiti group {SPARE_GROUP}",
        )
    ]


async def check_limit(probe: DemoProbe) -> None:
    """Check that a group limit set through the action reaches the ViriCiti API."""
    device_id = probe.device_id(f"viriciti_{DEMO_GROUP}")
    await probe.call_service(
        probe.domain,
        "set_group_limit",
        {"device_id": device_id, "limit": TEST_GROUP_LIMIT, "duration": {"hours": 1}},
    )

    async def received() -> dict[str, object] | None:
        for request in await probe.sim_objects("/_sim/requests", "ViriCiti log"):
            if request.get("method") == "POST" and str(request.get("path")).endswith(
                f"/grouplimit/{DEMO_GROUP}"
            ):
                return request
        return None

    request = await probe.wait_for(
        "the ViriCiti simulator never received a group limit POST", received
    )
    if request.get("status") != 200:
        raise probe.error(f"the ViriCiti simulator refused the group limit: {request}")
    groups = await probe.sim_object("/_sim/groups", "groups")
    external = probe.as_object(groups.get(DEMO_GROUP), DEMO_GROUP).get("external")
    if external is None:
        raise probe.error(f"the ViriCiti group has no external limit after the POST: {request}")
    probe.say(f"ok: ViriCiti: group limit {TEST_GROUP_LIMIT} kW reached the simulator ({external})")


DEMO: Final = VendorDemo(
    default_port=DEFAULT_PORT,
    devices={
        f"viriciti_{DEMO_GROUP}": f"ViriCiti group {DEMO_GROUP}",
        **{
            f"viriciti_{DEMO_GROUP}_{station}": f"ViriCiti charge station {station}"
            for station in DEMO_STATIONS
        },
    },
    entries=_demo_entries,
    spares=_spares,
    may_be_unknown={
        "external_group_limit": "ViriCiti: no external group limit is set",
        "external_limit": "ViriCiti: no external group limit is set",
        "external_limit_end": "ViriCiti: no external group limit is set",
        "next_limit_change": "ViriCiti: known only when a timeframe lies ahead",
        "scheduled_limit": "ViriCiti: outside all the group's timeframes no schedule limits it",
    },
    checks=(DemoCheck(name="ViriCiti group limit", run=check_limit),),
    screenshot=("viriciti-device.png", f"viriciti_{DEMO_GROUP}"),
    action_form=(
        "set_group_limit",
        f"viriciti_{DEMO_GROUP}",
        {"limit": 150, "duration": {"hours": 1, "minutes": 0, "seconds": 0}},
    ),
)

# --- the benchmark ----------------------------------------------------------------------------

BENCH_KEY: Final = "vc-bench-key-0123456789abcdef"
BENCH_ZONE: Final = "Europe/Amsterdam"
# Per group: group every 15 min, group limit every 5 min plus a few reads at the moments the
# limit changes, time series every 5 min, an external limit at most every 5 min.
GROUP_INTERVAL: Final = 900.0
LIMIT_INTERVAL: Final = 300.0
EXTRA_LIMIT_READS_PER_DAY: Final = 8
POST_SPACING: Final = 300.0

_PATH = re.compile(r"/(chargergroup|grouplimit|time)/([^/]+)$")


def bench_group_id(index: int) -> str:
    """Return the id of the index-th group of the benchmark."""
    return f"bench-{index + 1:03d}"


def _endpoint(method: str, path: str) -> tuple[str, str]:
    match = _PATH.search(path)
    if match is None:
        return path, ""
    name = match.group(1)
    return (f"{name}_post" if method == "POST" else name), match.group(2)


def _bench_farm(clock: Callable[[], float], count: int) -> BenchFarm:
    """Load the groups: an evening peak timeframe and two stations each."""
    sim = ViricitiSimulator(clock=clock, latency_scale=0, min_post_interval=300)
    groups = [bench_group_id(index) for index in range(count)]
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
        sim.add_station(group_id, "CS-02", [50])
    sim.add_api_key(BENCH_KEY, groups)

    def log() -> list[Logged]:
        return [(r.time, *_endpoint(r.method, r.path), r.status, r.result) for r in sim.requests]

    return BenchFarm(server=sim, log=log)


def _command_key(request: web.Request) -> str | None:
    if request.method != "POST" or not (match := _PATH.search(request.path)):
        return None
    return match.group(2)


def _bench_entries(count: int, url: str) -> list[BenchEntry]:
    """One entry per group."""
    # The integration's keys, in one place for this vendor; imported late, as they bring
    # Home Assistant, which only the benchmark's measuring process has loaded.
    from homeassistant.const import CONF_API_KEY  # noqa: PLC0415

    from custom_components.ev_charge_control.const import CONF_BASE_URL  # noqa: PLC0415
    from custom_components.ev_charge_control.vendors.viriciti.const import (  # noqa: PLC0415
        CONF_DEFAULT_DURATION,
        CONF_GROUP_ID,
        CONF_TIME_ZONE,
    )

    return [
        BenchEntry(
            title=f"ViriCiti Depot {bench_group_id(index)}",
            unique_id=bench_group_id(index),
            data={
                CONF_API_KEY: BENCH_KEY,
                CONF_GROUP_ID: bench_group_id(index),
                CONF_BASE_URL: url,
            },
            options={CONF_TIME_ZONE: BENCH_ZONE, CONF_DEFAULT_DURATION: 60},
        )
        for index in range(count)
    ]


def _latency(count: int, _samples: int) -> list[tuple[str, str, float]]:
    groups = [bench_group_id(i) for i in range(count)]
    return [(g, f"viriciti_{g}_external_group_limit", 200) for g in groups]


def _budget(
    logged: Sequence[Logged], groups: int, started: float, start: float, end: float
) -> dict[str, Any]:
    report = Report(logged, start, end)
    elapsed = max(0.0, end - started)
    extra = max(4.0, EXTRA_LIMIT_READS_PER_DAY * report.days)
    for group, times in report.endpoint("chargergroup", groups, GROUP_INTERVAL, 1).items():
        report.at_most(f"ViriCiti {group} group", len(times), elapsed / GROUP_INTERVAL + 2)
    for group, times in report.endpoint(
        "grouplimit", groups, LIMIT_INTERVAL, 1 + extra, "plus a read when the limit changes"
    ).items():
        report.at_most(
            f"ViriCiti {group} group limit", len(times), elapsed / LIMIT_INTERVAL + 2 + extra
        )
    for group, times in report.endpoint("time", groups, LIMIT_INTERVAL, 1).items():
        report.at_most(f"ViriCiti {group} time series", len(times), elapsed / LIMIT_INTERVAL + 2)
    for group, times in report.endpoint("grouplimit_post", groups, POST_SPACING, 1).items():
        if (gap := min_gap(times)) is not None and gap < POST_SPACING - SLACK:
            report.violations.append(f"ViriCiti {group}: two limits {gap:.0f} s apart")
    refusals = report.rate_limited((429,), ())
    return report.as_dict(rate_limited=refusals)


BENCH: Final = VendorBench(
    metavar="K",
    help="ViriCiti charger groups",
    full=(10,),
    quick=(2,),
    unit="groups",
    described="ViriCiti groups",
    farm=_bench_farm,
    command_key=_command_key,
    entries=_bench_entries,
    latency=_latency,
    budget=_budget,
)

# --- the chaos soak ---------------------------------------------------------------------------

SOAK_GROUPS: Final = 3


def _soak_farm(clock: Callable[[], float]) -> list[SoakPart]:
    """Load a few groups; one "offline": its requests get no answer until it is back."""
    farm = _bench_farm(clock, SOAK_GROUPS)
    sim = farm.server
    if not isinstance(sim, ViricitiSimulator):  # pragma: no cover - the bench farm's own
        raise TypeError(sim)

    def set_online(group_id: str, online: bool) -> None:
        target = f"/{group_id}"
        if online:
            sim.outages = [o for o in sim.outages if o.target != target]
        else:
            now = clock()
            sim.add_outage(now, now + 86400, target=target, label="offline", kind="drop")

    return [
        SoakPart(
            name="ViriCiti",
            server=sim,
            count=SOAK_GROUPS,
            log=farm.log,
            devices=tuple(map(bench_group_id, range(SOAK_GROUPS))),
            set_online=set_online,
        )
    ]


def _soak_options(options: Mapping[str, object]) -> dict[str, object]:
    from custom_components.ev_charge_control.vendors.viriciti.const import (  # noqa: PLC0415
        CONF_DEFAULT_DURATION,
    )

    return {**options, CONF_DEFAULT_DURATION: 90}


SOAK: Final = VendorSoak(
    farm=_soak_farm,
    entries=lambda urls: _bench_entries(SOAK_GROUPS, urls[0]),
    secrets=frozenset({BENCH_KEY}),
    serials=frozenset(),
    options=_soak_options,
)

VENDOR: Final = SimulatedVendor(
    key=KEY, name="ViriCiti", add_command=add_command, demo=DEMO, bench=BENCH, soak=SOAK
)
