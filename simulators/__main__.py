"""Command line: run a vendor simulator until Ctrl-C, e.g. `python -m simulators goe --help`."""

import argparse
import asyncio
from collections.abc import Sequence
import signal
import sys

from simulators.goe import (
    SERIAL_PATTERN,
    SETTABLE_FIELDS,
    TOKEN_PATTERN,
    GoeSimulator,
    validate_charger_fields,
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
    return serial, token, validate_charger_fields(options)


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


def build_parser() -> argparse.ArgumentParser:
    """Build the parser: one subcommand per vendor."""
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__)
    vendors = parser.add_subparsers(dest="vendor", required=True)
    goe = vendors.add_parser("goe", help="go-e grid-operator cloud API")
    goe.add_argument("--host", default="127.0.0.1")
    goe.add_argument("--port", type=int, default=8701)
    goe.add_argument(
        "--charger",
        type=_charger_arg,
        action="append",
        required=True,
        metavar="SERIAL:TOKEN[:key=value,...]",
        help="a charger the grid operator may use; repeat for more",
    )
    goe.add_argument("--latency-scale", type=float, default=1.0)
    goe.add_argument("--command-answer", choices=("payload", "status"), default="payload")
    goe.set_defaults(check=_check_goe_args, serve=serve_goe)
    return parser


def _check_goe_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    serials = [serial for serial, _token, _options in args.charger]
    for serial in serials:
        if serials.count(serial) > 1:
            parser.error(f"charger {serial} given more than once")


def build_goe_simulator(args: argparse.Namespace) -> GoeSimulator:
    """Create the go-e simulator described by the parsed arguments."""
    sim = GoeSimulator(latency_scale=args.latency_scale)
    sim.command_answer = args.command_answer
    for serial, token, options in args.charger:
        sim.add_charger(serial, token, **options)
    return sim


async def serve_goe(args: argparse.Namespace, stop: asyncio.Event | None = None) -> None:
    """Run the go-e simulator until SIGINT/SIGTERM (or until `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers go in before the port opens, so a client that saw the port can always stop us.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    sim = build_goe_simulator(args)
    try:
        url = await sim.start(args.host, args.port)
        sys.stdout.write(f"go-e simulator on {url} with {len(sim.chargers)} chargers\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await sim.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen simulator; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.check(parser, args)
    asyncio.run(args.serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
