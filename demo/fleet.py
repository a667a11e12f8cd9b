"""The demo fleet: the simulators' demo data, and what Home Assistant should make of it."""

from collections.abc import Mapping
import json
from pathlib import Path
import sys

from demo.hass import as_object, as_str
from demo.processes import Children, DemoError, port_is_free, wait_for_url
from simulators import VENDORS, DemoBulk, DemoEntry

# Base URL of each running simulator, by vendor key.
type SimulatorUrls = Mapping[str, str]

# Where `python -m simulators VENDOR` listens by default; the interactive demo keeps these
# when they are free, so the README's curl examples work against it.
DEFAULT_PORTS = {key: vendor.demo.default_port for key, vendor in VENDORS.items()}
TRANSLATIONS = (
    Path(__file__).resolve().parents[1]
    / "custom_components"
    / "ev_charge_control"
    / "translations"
    / "en.json"
)
# Where the user finds the integration's entries.
ENTRIES_PAGE = "Settings > Devices & services > EV Charge Control"


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


def spares(sims: SimulatorUrls) -> list[tuple[str, DemoEntry]]:
    """Return what the simulators keep for the user to add, every vendor's in turn, by vendor."""
    return [
        (key, entry) for key, vendor in VENDORS.items() for entry in vendor.demo.spares(sims[key])
    ]


def bulks() -> list[tuple[str, DemoBulk]]:
    """Return the lists of many items the simulators keep for the user to add at once."""
    return [(key, vendor.demo.bulk) for key, vendor in VENDORS.items() if vendor.demo.bulk]


def write_bulk_lists(config_dir: Path) -> None:
    """Write each list of many items into Home Assistant's configuration folder."""
    for _key, bulk in bulks():
        (config_dir / bulk.file).write_text("\n".join(bulk.lines) + "\n", encoding="utf-8")


def _translations() -> dict[str, object]:
    return as_object(json.loads(TRANSLATIONS.read_text(encoding="utf-8")), TRANSLATIONS.name)


def _at(translations: dict[str, object], *path: str) -> dict[str, object]:
    """Return a part of the translations; a missing part fails the demo, naming it."""
    part: object = translations
    for index, key in enumerate(path):
        if not isinstance(part, dict) or key not in part:
            raise DemoError(f"{TRANSLATIONS.name} has no {'.'.join(path[: index + 1])}")
        part = part[key]
    return as_object(part, ".".join(path))


def _label(translations: dict[str, object], *path: str) -> str:
    *parent, key = path
    return as_str(_at(translations, *parent).get(key), ".".join(path))


def _subentry_path(translations: dict[str, object], entry_title: str, kind: str, step: str) -> str:
    """Return the way to a subentry flow's menu option: the page, the entry, the buttons."""
    return " > ".join(
        (
            ENTRIES_PAGE,
            entry_title,
            _label(translations, "config_subentries", kind, "initiate_flow", "user"),
            _label(translations, "config_subentries", kind, "step", "user", "menu_options", step),
        )
    )


def how_to_add(entry: DemoEntry, entry_title: str) -> str:
    """Return what to type into the form that adds `entry`, by the form's labels.

    A subentry is added to the vendor's entry, whose title is `entry_title`.
    """
    translations = _translations()
    if entry.subentry is None:
        form = _at(translations, "config", "step", entry.step)
        where = str(form.get("title"))
    else:
        form = _at(translations, "config_subentries", entry.subentry, "step", entry.step)
        where = _subentry_path(translations, entry_title, entry.subentry, entry.step)
    labels = as_object(form.get("data", {}), "labels")
    sections = as_object(form.get("sections", {}), "sections")
    fields = []
    for key, value in entry.data.items():
        if isinstance(value, dict):  # a collapsed section of the form
            section = as_object(sections.get(key), key)
            inner = as_object(section.get("data"), "labels")
            fields += [
                f"{section.get('name')} > {inner.get(name, name)} {item}"
                for name, item in value.items()
            ]
        else:
            fields.append(f"{labels.get(key, key)} {value}")
    return f"{where}: " + ", ".join(fields)


def how_to_add_bulk(bulk: DemoBulk, entry_title: str) -> str:
    """Return how to add the items of the list file at once, by the form's labels."""
    translations = _translations()
    where = _subentry_path(translations, entry_title, bulk.subentry, bulk.step)
    labels = _at(translations, "config_subentries", bulk.subentry, "step", bulk.step, "data")
    lines = as_str(labels.get(bulk.lines_field), bulk.lines_field)
    upload = as_str(labels.get(bulk.file_field), bulk.file_field)
    return f"{where}: paste the lines of {bulk.file} into '{lines}', or upload it in '{upload}'"
