"""The simulators' registry: every vendor of the integration, and nobody else names one."""

from pathlib import Path
import re

import pytest

# The integration's vendor keys: its own registry.
from custom_components.ev_charge_control.vendors import VENDORS as INTEGRATION_REGISTRY
from simulators import VENDORS, scaled_vendor
from simulators.__main__ import build_parser

INTEGRATION_VENDORS = frozenset(INTEGRATION_REGISTRY)
REPO = Path(__file__).resolve().parents[2]
# The files that must reach vendors through the registry only.
GENERIC = sorted(
    [
        REPO / "simulators" / "__main__.py",
        *(REPO / "demo").glob("*.py"),
        *(REPO / "benchmarks").glob("*.py"),
    ]
)


def test_the_registry_covers_every_vendor_of_the_integration() -> None:
    assert set(VENDORS) == INTEGRATION_VENDORS
    for key, vendor in VENDORS.items():
        assert vendor.key == key


def test_each_vendor_has_its_sub_command_demo_and_bench() -> None:
    """`python -m simulators KEY --demo` starts what the demo adds entries for."""
    parser = build_parser()
    for key, vendor in VENDORS.items():
        args = parser.parse_args([key, "--demo"])
        assert args.port == vendor.demo.default_port
        assert [entry.step for entry in vendor.demo.entries("http://sim")] != []
        assert vendor.demo.devices
        assert vendor.bench.full
        assert vendor.bench.quick
    vendor, scaled = scaled_vendor()
    assert vendor.bench.scaled is scaled


def _vendor_words() -> re.Pattern[str]:
    words = set(VENDORS) | {vendor.name for vendor in VENDORS.values()}
    alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    # A vendor's key or name not inside a longer word ("goes" is fine, "goe_000001" is not).
    return re.compile(rf"(?<![a-z])({alternatives})(?![a-z])", re.IGNORECASE)


@pytest.mark.parametrize("path", GENERIC, ids=lambda path: str(path.relative_to(REPO)))
def test_generic_code_names_no_vendor(path: Path) -> None:
    """A new vendor touches its own modules and the registry, not the demo or the benchmark."""
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _vendor_words().search(line)
    ]
    assert found == []


@pytest.mark.parametrize("key", sorted(VENDORS))
def test_each_vendor_has_its_soak(key: str) -> None:
    """The soak's clouds, entries, secrets, options and bans, as the registry gives them."""
    soak = VENDORS[key].soak
    clock = [1_800_000_000.0]
    parts = soak.farm(lambda: clock[0])
    assert parts
    urls = [f"http://sim{index}" for index in range(len(parts))]
    entries = soak.entries(urls)
    assert entries
    text = repr([(entry.data, [sub.data for sub in entry.subentries]) for entry in entries])
    assert {secret for secret in soak.secrets if secret in text} == set(soak.secrets)
    for part in parts:
        assert part.count == len(part.devices)
        assert part.log() == []
        part.set_online(part.devices[0], False)
        part.set_online(part.devices[0], True)
        assert part.secrets() == set()
    changed = soak.options(entries[0].options)
    assert changed is None or changed != entries[0].options
    assert len(soak.bans) in (0, len(parts))
    assert bool(soak.bans) == bool(soak.ban_issue)
    for part, form in zip(parts, soak.bans, strict=False):
        assert part.ban is not None
        part.ban(form, 60)
