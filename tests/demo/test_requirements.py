"""What the demo's Home Assistant runs with: its integrations' requirements, at HA's pins."""

import asyncio
from importlib import metadata
from pathlib import Path
import socket

from aiohttp.resolver import AsyncResolver
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from packaging.requirements import Requirement
import pytest

from demo.requirements import pins, requirements, unpinned_installs
from demo.run import DOMAIN, configured_domains

REPO = Path(__file__).resolve().parents[2]
# The Home Assistant requirements_demo.txt is for (requirements_test.txt's).
DEMO_HA = (2026, 10)


def _listed(path: Path) -> dict[str, str]:
    listed = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            listed[requirement.name.lower()] = specifier.version
    return listed


@pytest.mark.skipif((MAJOR_VERSION, MINOR_VERSION) != DEMO_HA, reason="the demo's release only")
def test_every_integration_the_demo_sets_up_finds_its_requirements() -> None:
    """Installed already (with the tests' requirements) or in requirements_demo.txt, pinned."""
    listed = _listed(REPO / "requirements_demo.txt")
    missing = []
    for domain, needed in requirements([*configured_domains(), DOMAIN]).items():
        for requirement in needed:
            version = listed.get(requirement.name.lower())
            if version is None:
                try:
                    version = metadata.version(requirement.name)
                except metadata.PackageNotFoundError:
                    version = None
            if version is None or version not in requirement.specifier:
                missing.append(f"{domain}: {requirement}")
    assert missing == []


@pytest.mark.skipif((MAJOR_VERSION, MINOR_VERSION) != DEMO_HA, reason="the demo's release only")
def test_requirements_demo_keeps_to_home_assistants_pins() -> None:
    pinned = pins()
    listed = _listed(REPO / "requirements_demo.txt")
    differ = {
        name: (version, pinned[name.replace("_", "-")])
        for name, version in listed.items()
        if pinned.get(name.replace("_", "-"), version) != version
    }
    assert differ == {}


def test_the_name_resolver_runs_on_the_pair_home_assistant_pins() -> None:
    """aiodns and pycares as Home Assistant is tested with them (a mismatched pair crashes)."""
    assert unpinned_installs(("aiodns", "pycares")) == {}


def test_aiohttps_resolver_resolves_a_name() -> None:
    """What every request to a vendor's cloud does first, through aiodns and pycares."""

    async def resolve() -> list[str]:
        resolver = AsyncResolver()
        try:
            answers = await resolver.resolve("localhost", 80, socket.AF_INET)
        finally:
            await resolver.close()
        return [answer["host"] for answer in answers]

    assert asyncio.run(resolve()) == ["127.0.0.1"]
