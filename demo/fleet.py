"""The demo fleet: the simulators' demo data, and what Home Assistant should make of it."""

from dataclasses import dataclass
from pathlib import Path
import sys

from demo.processes import Children, port_is_free, wait_for_url
from simulators.easee import DEMO_PASSWORD as EASEE_PASSWORD, DEMO_USERNAME as EASEE_USERNAME
from simulators.goe import (
    DEMO_CHARGING_SERIAL,
    DEMO_CHARGING_TOKEN,
    DEMO_IDLE_SERIAL,
    DEMO_IDLE_TOKEN,
)
from simulators.viriciti import DEMO_GROUP, DEMO_KEY

# (serial, grid token, charging) of the go-e simulator's --demo chargers.
GOE_CHARGERS = (
    (DEMO_CHARGING_SERIAL, DEMO_CHARGING_TOKEN, True),
    (DEMO_IDLE_SERIAL, DEMO_IDLE_TOKEN, False),
)
# The Easee simulator's --demo fleet: (charger id, charging), the circuit and the site.
EASEE_CHARGERS = (("EH000001", True), ("EH000002", False))
EASEE_CIRCUIT = 10
EASEE_SITE = 1
EASEE_CREDENTIALS = (EASEE_USERNAME, EASEE_PASSWORD)
# The ViriCiti simulator's --demo group and its charge stations.
VIRICITI_GROUP = DEMO_GROUP
VIRICITI_KEY = DEMO_KEY
VIRICITI_STATIONS = ("charger_1", "charger_2", "charger_3")
VIRICITI_TIME_ZONE = "Europe/Amsterdam"

# Where `python -m simulators VENDOR` listens by default; the interactive demo keeps these
# when they are free, so the README's curl examples work against it.
DEFAULT_PORTS = {"goe": 8701, "easee": 8702, "viriciti": 8703}


@dataclass(frozen=True)
class SimulatorUrls:
    """Base URLs of the three running simulators."""

    goe: str
    easee: str
    viriciti: str


def expected_devices() -> dict[str, str]:
    """Return the device identifiers (of this integration's domain) the demo must create.

    Maps each identifier to a description for messages.
    """
    devices = {f"goe_{serial}": f"go-e charger {serial}" for serial, _, _ in GOE_CHARGERS}
    devices |= {f"easee_{cid}": f"Easee charger {cid}" for cid, _ in EASEE_CHARGERS}
    devices[f"easee_circuit_{EASEE_CIRCUIT}"] = f"Easee circuit {EASEE_CIRCUIT}"
    devices[f"easee_site_{EASEE_SITE}"] = f"Easee site {EASEE_SITE}"
    devices[f"viriciti_{VIRICITI_GROUP}"] = f"ViriCiti group {VIRICITI_GROUP}"
    devices |= {
        f"viriciti_{VIRICITI_GROUP}_{station}": f"ViriCiti charge station {station}"
        for station in VIRICITI_STATIONS
    }
    return devices


async def start_simulators(
    children: Children, log_dir: Path, repo: Path, *, default_ports: bool
) -> SimulatorUrls:
    """Start the three simulators with their demo data and return their URLs.

    With default_ports, each listens on its usual port when that is free; otherwise (and for
    the check, which may run beside a demo) on a port the kernel picks.
    """
    urls: dict[str, str] = {}
    started = []
    for vendor in ("goe", "easee", "viriciti"):
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
    for vendor, child in zip(("goe", "easee", "viriciti"), started, strict=True):
        urls[vendor] = await wait_for_url(child)
    return SimulatorUrls(**urls)
