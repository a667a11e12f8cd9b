"""Command line: run a vendor simulator until Ctrl-C, e.g. `python -m simulators goe --help`."""

import argparse
import asyncio
from collections.abc import Callable, Sequence
import signal
import sys
from typing import Protocol

from simulators.easee import (
    CHARGER_FIELDS,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    EaseeSimulator,
    add_demo_fleet,
    validate_charger_fields,
)
from simulators.goe import (
    DEMO_CHARGING_SERIAL,
    DEMO_CHARGING_TOKEN,
    DEMO_IDLE_SERIAL,
    DEMO_IDLE_TOKEN,
    SERIAL_PATTERN,
    SETTABLE_FIELDS,
    TOKEN_PATTERN,
    GoeSimulator,
    add_demo as add_goe_demo,
    validate_charger_fields as validate_goe_charger_fields,
)
from simulators.viriciti import (
    DEMO_GROUP,
    DEMO_KEY,
    ViricitiSimulator,
    add_demo as add_viriciti_demo,
    parse_group_spec,
    parse_key_spec,
    parse_station_spec,
    parse_timeframe_spec,
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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
    return serial, token, validate_goe_charger_fields(options)


def _convert(name: str, text: str) -> object:
    kind = SETTABLE_FIELDS.get(name)
    if kind not in (bool, int, float):
        raise ValueError(f"{name} cannot be set from the command line")
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{name} must be true or false")
    try:
        return int(text) if kind is int else float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def _charger_arg(spec: str) -> tuple[str, str, dict[str, object]]:
    # argparse shows the message of ArgumentTypeError, but only a generic one for ValueError.
    try:
        return parse_charger_spec(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


GOE_DEMO = f"""\
--demo loads charger {DEMO_CHARGING_SERIAL} (grid token {DEMO_CHARGING_TOKEN}) charging a car
at 16 A on three phases and charger {DEMO_IDLE_SERIAL} (grid token {DEMO_IDLE_TOKEN}) idle;
both report every minute.
"""


def build_parser() -> argparse.ArgumentParser:
    """Build the parser: one subcommand per vendor."""
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    vendors = parser.add_subparsers(dest="vendor", required=True)
    goe = vendors.add_parser(
        "goe",
        help="go-e grid-operator cloud API",
        description="Simulate the go-e grid-operator cloud for the given chargers.",
        epilog=GOE_DEMO,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    goe.add_argument("--host", default="127.0.0.1")
    goe.add_argument("--port", type=int, default=8701)
    goe.add_argument("--demo", action="store_true", help="load the demo chargers (see below)")
    goe.add_argument(
        "--charger",
        type=_charger_arg,
        action="append",
        default=[],
        metavar="SERIAL:TOKEN[:key=value,...]",
        help="a charger the grid operator may use; repeat for more",
    )
    goe.add_argument("--latency-scale", type=float, default=1.0)
    goe.add_argument("--command-answer", choices=("payload", "status"), default="payload")
    goe.set_defaults(check=_check_goe_args, serve=serve_goe)
    _add_easee_parser(vendors)
    _add_viriciti_parser(vendors)
    return parser


def _check_goe_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.demo and not args.charger:
        parser.error("give --demo or at least one --charger")
    serials = [serial for serial, _token, _options in args.charger]
    if args.demo:
        serials += [DEMO_CHARGING_SERIAL, DEMO_IDLE_SERIAL]
    for serial in serials:
        if serials.count(serial) > 1:
            parser.error(f"charger {serial} given more than once")


def build_goe_simulator(args: argparse.Namespace) -> GoeSimulator:
    """Create the go-e simulator described by the parsed arguments."""
    sim = GoeSimulator(latency_scale=args.latency_scale)
    sim.command_answer = args.command_answer
    if args.demo:
        add_goe_demo(sim)
    for serial, token, options in args.charger:
        sim.add_charger(serial, token, **options)
    return sim


class _Simulator(Protocol):
    async def start(self, host: str = ..., port: int = ...) -> str: ...

    async def stop(self) -> None: ...


async def _serve[SimT: _Simulator](
    args: argparse.Namespace,
    stop: asyncio.Event | None,
    build: Callable[[argparse.Namespace], SimT],
    describe: Callable[[SimT, str], str],
) -> None:
    """Run a simulator until SIGINT/SIGTERM (or until `stop` is set), printing one line."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers go in before the port opens, so a client that saw the port can always stop us.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sim = build(args)
    try:
        url = await sim.start(args.host, args.port)
        sys.stdout.write(describe(sim, url) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await sim.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def serve_goe(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the go-e simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    await _serve(
        args,
        stop,
        build_goe_simulator,
        lambda sim, url: f"go-e simulator on {url} with {len(sim.chargers)} chargers",
    )


# --- Easee ----------------------------------------------------------------------------------

EASEE_SPECS = f"""\
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
circuit 10 (32 A), master charger EH000001 charging a car and charger EH000002 idle.
"""

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


def parse_easee_charger_spec(spec: str) -> tuple[str, int, dict[str, object]]:
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
    if text is None or text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false")


def _number_option(name: str, text: str, *, integer: bool) -> int | float:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None


def _spec_type[T](parse: Callable[[str], T]) -> Callable[[str], T]:
    # argparse shows the message of ArgumentTypeError, but only a generic one for ValueError.
    def convert(spec: str) -> T:
        try:
            return parse(spec)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert


def _add_easee_parser(vendors: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    easee = vendors.add_parser(
        "easee",
        help="Easee cloud API",
        description="Simulate the Easee cloud for the given accounts, sites and chargers.",
        epilog=EASEE_SPECS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    easee.add_argument("--host", default="127.0.0.1")
    easee.add_argument("--port", type=int, default=8702)
    easee.add_argument("--demo", action="store_true", help="load the demo fleet (see below)")
    for option, parse, metavar in (
        ("--account", parse_account_spec, "USER:PASSWORD:USERID"),
        ("--site", parse_site_spec, "SITEID:NAME[:USERID]"),
        ("--circuit", parse_circuit_spec, "CIRCUITID:SITEID[:key=value,...]"),
        ("--charger", parse_easee_charger_spec, "ID:CIRCUITID[:key=value,...]"),
    ):
        easee.add_argument(
            option, type=_spec_type(parse), action="append", default=[], metavar=metavar
        )
    easee.add_argument("--latency-scale", type=float, default=1.0)
    easee.add_argument("--max-requests", type=int, default=200, help="per IP and window")
    easee.add_argument("--window", type=float, default=300.0, help="rate-limit window in s")
    easee.add_argument("--max-logins", type=int, default=10, help="per IP and hour")
    easee.add_argument("--token-lifetime", type=int, default=3600, help="access tokens, in s")
    easee.set_defaults(check=_check_easee_args, serve=serve_easee)


def _check_easee_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.demo and not args.account:
        parser.error("give --demo or at least one --account")
    try:
        build_easee_simulator(args)
    except (KeyError, ValueError) as err:
        parser.error(str(err))


def build_easee_simulator(args: argparse.Namespace) -> EaseeSimulator:
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


async def serve_easee(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the Easee simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    await _serve(
        args,
        stop,
        build_easee_simulator,
        lambda sim, url: f"Easee simulator on {url} with {len(sim.chargers)} chargers",
    )


# --- ViriCiti -------------------------------------------------------------------------------

VIRICITI_SPECS = f"""\
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
connectors each, and the key {DEMO_KEY}.
"""


def _add_viriciti_parser(vendors: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    viriciti = vendors.add_parser(
        "viriciti",
        help="ViriCiti Smart Charging API",
        description="Simulate the ViriCiti Smart Charging API for the given charger groups.",
        epilog=VIRICITI_SPECS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    viriciti.add_argument("--host", default="127.0.0.1")
    viriciti.add_argument("--port", type=int, default=8703)
    viriciti.add_argument("--demo", action="store_true", help="load the demo group (see below)")
    for option, parse, metavar in (
        ("--key", parse_key_spec, "KEY[:GROUP,...]"),
        ("--group", parse_group_spec, "ID[:key=value,...]"),
        ("--timeframe", parse_timeframe_spec, "GROUP:LIMIT:START:END[:NAME]"),
        ("--station", parse_station_spec, "GROUP:STATION[:KW,...]"),
    ):
        viriciti.add_argument(
            option, type=_spec_type(parse), action="append", default=[], metavar=metavar
        )
    viriciti.add_argument("--latency-scale", type=float, default=1.0)
    viriciti.add_argument(
        "--lookahead", type=float, default=900.0, help="how far upcoming looks ahead, in s"
    )
    viriciti.add_argument(
        "--sample-interval", type=float, default=300.0, help="time series sampling, in s"
    )
    viriciti.add_argument(
        "--min-post-interval",
        type=float,
        default=None,
        help="answer 429 to a group limit POST sooner than this after the last one, in s",
    )
    viriciti.add_argument(
        "--standard-offsets",
        action="store_true",
        help="write +01:00 in group limit times instead of the document's +01.00",
    )
    viriciti.set_defaults(check=_check_viriciti_args, serve=serve_viriciti)


def _check_viriciti_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.demo and not args.group:
        parser.error("give --demo or at least one --group")
    if not args.demo and not args.key:
        parser.error("give --demo or at least one --key")
    try:
        build_viriciti_simulator(args)
    except (KeyError, ValueError) as err:
        parser.error(str(err).strip("'\""))


def build_viriciti_simulator(args: argparse.Namespace) -> ViricitiSimulator:
    """Create the ViriCiti simulator described by the parsed arguments."""
    sim = ViricitiSimulator(
        latency_scale=args.latency_scale,
        lookahead=args.lookahead,
        sample_interval=args.sample_interval,
        odd_offsets=not args.standard_offsets,
        min_post_interval=args.min_post_interval,
    )
    if args.demo:
        add_viriciti_demo(sim)
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


def _describe_viriciti(sim: ViricitiSimulator, url: str) -> str:
    count = len(sim.groups)
    return f"ViriCiti simulator on {url} with {count} group{'' if count == 1 else 's'}"


async def serve_viriciti(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the ViriCiti simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    # Never the keys: a real one may have been given on the command line.
    await _serve(args, stop, build_viriciti_simulator, _describe_viriciti)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen simulator; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.check(parser, args)
    asyncio.run(args.serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
