"""Command line: run a vendor simulator until Ctrl-C (`python -m simulators VENDOR --help`)."""

import argparse
import asyncio
from collections.abc import Sequence
import sys

from simulators import VENDORS

DESCRIPTION = (
    "Command line: run a vendor simulator until Ctrl-C, "
    f"e.g. `python -m simulators {next(iter(VENDORS))} --help`."
)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser: one subcommand per vendor."""
    parser = argparse.ArgumentParser(prog="python -m simulators", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="vendor", required=True)
    for vendor in VENDORS.values():
        vendor.add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen simulator; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.check(parser, args)
    asyncio.run(args.serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
