"""The manifest installs into the Home Assistant under test, under its own constraints.

Home Assistant installs an integration's requirements with its package_constraints.txt as pip
constraints: a requirement that excludes the version Home Assistant pins is unsatisfiable, and
the integration does not load at all. These tests run against whatever release the lane
installed (the newest and the oldest we support).
"""

import json
from pathlib import Path

import homeassistant
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION, __version__ as ha_version
from homeassistant.util import package
from homeassistant.util.yaml import load_yaml_dict
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import pytest

from tests.conftest import TARGET_HA

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "custom_components" / "ev_charge_control" / "manifest.json"


def _requirements() -> list[Requirement]:
    return [Requirement(line) for line in json.loads(MANIFEST.read_text())["requirements"]]


def _constraints() -> dict[str, str]:
    """Return what Home Assistant pins: package name -> version."""
    text = (Path(homeassistant.__file__).parent / "package_constraints.txt").read_text()
    pins: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" not in line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        if requirement.marker is None or requirement.marker.evaluate():
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_home_assistant_pins_are_read() -> None:
    """The constraints file is where the tests look (it pins aiohttp and cronsim today)."""
    pins = _constraints()
    assert {"aiohttp", "cronsim"} <= set(pins)


@pytest.mark.parametrize("requirement", _requirements(), ids=str)
def test_requirement_is_satisfiable_under_home_assistants_constraints(
    requirement: Requirement,
) -> None:
    """Every requirement admits the version Home Assistant pins, and pins none itself."""
    pinned = _constraints().get(canonicalize_name(requirement.name))
    if pinned is None:
        return
    assert requirement.specifier.contains(pinned, prereleases=True), (
        f"{requirement} excludes {requirement.name}=={pinned}, which Home Assistant "
        f"{ha_version} pins: the integration would not install"
    )
    assert not any(spec.operator in ("==", "===") for spec in requirement.specifier), (
        f"{requirement} pins a package Home Assistant pins itself: the next release breaks it"
    )


@pytest.mark.parametrize("requirement", _requirements(), ids=str)
def test_requirement_is_met_by_what_home_assistant_installed(requirement: Requirement) -> None:
    """Home Assistant's own check finds every requirement installed: it installs nothing."""
    assert package.is_installed(str(requirement))


def test_hacs_minimum_is_the_oldest_release_tested() -> None:
    """HACS offers the integration from the release the oldest lane runs on, not earlier."""
    minimum = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    year, month = (int(part) for part in minimum.split(".")[:2])
    assert (year, month) <= (MAJOR_VERSION, MINOR_VERSION)
    if (MAJOR_VERSION, MINOR_VERSION) != TARGET_HA:
        # The oldest lane (requirements_oldest.txt) is the release hacs.json names.
        assert (year, month) == (MAJOR_VERSION, MINOR_VERSION)


def test_github_runs_hassfest_and_the_hacs_check() -> None:
    """The checks the HACS default list asks for, in the conventional workflow."""
    workflow = load_yaml_dict(Path(__file__).parents[1] / ".github/workflows/validate.yml")
    steps = {
        step["uses"].split("@")[0]: step.get("with", {})
        for job in workflow["jobs"].values()
        for step in job["steps"]
    }
    assert steps["home-assistant/actions/hassfest"] == {}
    assert steps["hacs/action"] == {"category": "integration"}  # nothing ignored
    triggers = workflow.get("on") or workflow[True]  # YAML 1.1 reads an unquoted on as true
    assert {"push", "pull_request"} <= set(triggers)
