"""The demo fleet: the simulators' demo data, and what Home Assistant should make of it."""

from collections.abc import Mapping
from pathlib import Path
import sys

from demo.processes import Children, port_is_free, wait_for_url
from simulators import VENDORS

# Base URL of each running simulator, by vendor key.
type SimulatorUrls = Mapping[str, str]

# Where `python -m simulators VENDOR` listens by default; the interactive demo keeps these
# when they are free, so the README's curl examples work against it.
DEFAULT_PORTS = {key: vendor.demo.default_port for key, vendor in VENDORS.items()}


def expected_devices() -> dict[str, str]:
    """Return the device identifiers (of this integration's domain) the demo must create.

    Maps each identifier to a description for messages.
    """
    return {
        identifier: text
        for vendor in VENDORS.values()
        for identifier, text in vendor.demo.devices.items()
    }


async def start_simulators(
    children: Children, log_dir: Path, repo: Path, *, default_ports: bool
) -> SimulatorUrls:
    """Start every vendor's simulator with its demo data and return their URLs.

    With default_ports, each listens on its usual port when that is free; otherwise (and for
    the check, which may run beside a demo) on a port the kernel picks.
    """
    started = []
    for vendor in VENDORS:
        preferred = DEFAULT_PORTS[vendor]
        port = preferred if default_ports and port_is_free(preferred) else 0
        started.append(
            await children.start(
                f"{vendor} simulator",
                [sys.executable, "-m", "simulators", vendor, "--demo", "--port", str(port)],
                log=log_dir / f"simulator-{vendor}.log",
                cwd=repo,
            )
        )
    return {
        vendor: await wait_for_url(child) for vendor, child in zip(VENDORS, started, strict=True)
    }
