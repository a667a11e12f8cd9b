"""What every vendor's `python -m simulators KEY` shares: typed specs and serving until Ctrl-C."""

import argparse
import asyncio
from collections.abc import Callable
import signal
import sys
from typing import Protocol

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def spec_type[T](parse: Callable[[str], T]) -> Callable[[str], T]:
    """Wrap a spec parser for argparse's `type`, keeping its ValueError's message."""

    # argparse shows the message of ArgumentTypeError, but only a generic one for ValueError.
    def convert(spec: str) -> T:
        try:
            return parse(spec)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return convert


def add_common(command: argparse.ArgumentParser, port: int, demo_help: str) -> None:
    """Add --host, --port and --demo, which every vendor's sub-command has."""
    command.add_argument("--host", default="127.0.0.1")
    command.add_argument("--port", type=int, default=port)
    command.add_argument("--demo", action="store_true", help=demo_help)


class Simulator(Protocol):
    """A simulator the command line serves."""

    async def start(self, host: str = ..., port: int = ...) -> str:
        """Serve on host:port and return the base URL."""

    async def stop(self) -> None:
        """Stop serving."""


async def serve[SimT: Simulator](
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
