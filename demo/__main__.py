"""Run the demo (`scripts/demo`) or check it end to end (`scripts/demo --check`)."""

import argparse
import asyncio
from collections.abc import Sequence
import fcntl
import os
from pathlib import Path
import shutil
import signal
import sys
import time

from demo.check import run_check
from demo.fleet import bulks, how_to_add, how_to_add_bulk, spares
from demo.processes import DemoError, free_port, kill_leftovers, port_is_free
from demo.run import DEMO_DIR, PASSWORD, USERNAME, Demo, running_demo
from simulators import VENDORS

DEFAULT_PORT = 8123


def say(text: str) -> None:
    """Tell the person at the terminal, at once."""
    sys.stdout.write(f"demo: {text}\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="headless: set up, assert that everything works, stop; exit 0 when it does",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"Home Assistant's port (default {DEFAULT_PORT}; --check picks a free one)",
    )
    return parser


def describe(demo: Demo) -> str:
    """Return what the person should look at, with links."""
    url = demo.hass.base_url
    lines = [
        "",
        f"Home Assistant is running: {url}",
        "  The browser on this machine logs in by itself (trusted network 127.0.0.1);",
        f"  the owner's user name and password are {USERNAME} / {PASSWORD}.",
        "",
        "Devices (Settings > Devices & services > EV Charge Control):",
    ]
    for device in sorted(demo.devices, key=lambda d: d.identifier):
        model = f" ({device.model})" if device.model else ""
        lines.append(f"  {device.name}{model}: {url}/config/devices/device/{device.id}")
    lines += spares_text(demo)
    lines += [
        "",
        f"Energy dashboard:      {url}/energy",
        f"Example automation:    {url}/config/automation/dashboard",
        f"Actions to try:        {url}/developer-tools/action (ev_charge_control.*)",
        "What the simulated clouds received:",
        *(f"  {vendor.name} {demo.sims[key]}/_sim/requests" for key, vendor in VENDORS.items()),
        f"Logs: {demo.workdir / 'logs'}",
        "",
    ]
    for vendor in VENDORS.values():
        if vendor.demo.notes:
            lines += [*vendor.demo.notes, ""]
    lines.append("Press Ctrl-C to stop Home Assistant and the simulators.")
    return "\n".join(lines)


def spares_text(demo: Demo) -> list[str]:
    """Return the lines that tell how to add what the simulators keep for the user."""
    extra, many = spares(demo.sims), bulks()
    if not extra and not many:
        return []
    lines = [
        "",
        "Spares to add yourself (the simulators know them). A new entry is added in Settings >",
        "Devices & services > Add integration > EV Charge Control, with the address in the form's",
        "collapsed 'Advanced' section (without it the form asks the vendor's real cloud); more",
        "chargers of an entry are added on its page:",
    ]
    for vendor, entry in extra:
        title = demo.entry(vendor).title if entry.subentry else ""
        lines += [f"  {entry.name}", f"    {how_to_add(entry, title)}"]
    for vendor, bulk in many:
        file = demo.workdir / "config" / bulk.file
        lines += [
            f"  {bulk.name}, listed in {file}",
            f"    {how_to_add_bulk(bulk, demo.entry(vendor).title)}",
        ]
    return lines


async def serve(port: int) -> int:
    """Run the demo until Ctrl-C (or until a process of it dies), one at a time."""
    DEMO_DIR.mkdir(exist_ok=True)
    with (DEMO_DIR / "run.lock").open("a+") as lock:
        # .demo/run belongs to one demo at a time; the lock goes with our process.
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoError(
                "another scripts/demo is running (it owns .demo/run): stop it first; "
                "scripts/demo --check runs beside it"
            ) from None
        return await _serve_locked(port)


async def _serve_locked(port: int) -> int:
    if not port_is_free(port):
        raise DemoError(
            f"port {port} is taken: is another Home Assistant (or demo) running? "
            "Stop it, or pick another port with --port"
        )
    async with running_demo(DEMO_DIR / "run", port=port, default_sim_ports=True, say=say) as demo:
        sys.stdout.write(describe(demo) + "\n")
        sys.stdout.flush()
        while True:
            demo.children.check_alive()
            await asyncio.sleep(1.0)


def _remove_stale_check_dirs() -> None:
    """Remove the folders of earlier checks whose process is gone."""
    for folder in DEMO_DIR.glob("check-*"):
        pid = folder.name.removeprefix("check-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


async def check(port: int | None) -> int:
    """Set the demo up headless, check it, stop it; return the exit code."""
    started = time.monotonic()
    _remove_stale_check_dirs()
    workdir = DEMO_DIR / f"check-{os.getpid()}"
    port = port or free_port()
    passed: list[str] = []
    try:
        async with running_demo(workdir, port=port, default_sim_ports=False, say=say) as demo:
            say(f"set up in {time.monotonic() - started:.0f} s; checking")
            await run_check(demo, say, passed)
    except DemoError:
        say(f"the failed run's configuration and logs stay in {workdir}")
        _show_errors(workdir / "logs" / "home-assistant.log")
        # The plain summary line that CI's log readers understand.
        say(f"{len(passed)} passed, 1 failed")
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    say(f"PASSED in {time.monotonic() - started:.0f} s")
    say(f"{len(passed)} passed, 0 failed")
    return 0


def _show_errors(log: Path) -> None:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return
    errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
    if errors:
        say(f"errors in {log}:")
        sys.stdout.write("\n".join(errors[-20:]) + "\n")


async def _run(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        # SIGINT is asyncio.run's own (it cancels us); these end the demo the same way.
        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, task.cancel)
    if args.check:
        return await check(args.port)
    return await serve(args.port or DEFAULT_PORT)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run, and make sure no child process outlives us."""
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except DemoError as err:
        sys.stderr.write(f"demo: FAILED: {err}\n")
        return 1
    except KeyboardInterrupt, asyncio.CancelledError:
        say("stopped")
        return 130 if not args.check else 1
    finally:
        kill_leftovers()


if __name__ == "__main__":
    sys.exit(main())
