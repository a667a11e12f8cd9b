"""What the demo's Home Assistant needs installed: its integrations' requirements, HA's pins."""

from collections.abc import Iterable
from importlib import metadata
import json
from pathlib import Path
from typing import Final

import homeassistant
from homeassistant import bootstrap
from packaging.requirements import InvalidRequirement, Requirement

COMPONENTS = Path(homeassistant.__file__).parent / "components"
CONSTRAINTS = Path(homeassistant.__file__).parent / "package_constraints.txt"
# Integrations Home Assistant sets up whose requirements cannot be installed here: it fails to
# set them up, and those that depend on them. assist_pipeline (voice) needs pymicro-vad 1.0.1
# and pyspeex-noise 1.0.2; PyPI has no Python 3.14 wheel of either, and building one needs
# Python 3.14's headers, which the Python scripts/setup finds or fetches does not have.
NO_WHEELS: Final = frozenset({"assist_pipeline"})


def _manifest(domain: str) -> dict[str, object]:
    path = COMPONENTS / domain / "manifest.json"
    if not path.is_file():  # a custom integration, or no integration at all
        return {}
    manifest: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def set_up_domains(configured: Iterable[str]) -> set[str]:
    """Return the built-in integrations Home Assistant sets up for this configuration.

    Those it always sets up (its default integrations: every base platform, the helpers,
    assist…), the configured ones, and all their dependencies.
    """
    todo = [
        *configured,
        *bootstrap.CORE_INTEGRATIONS,
        *bootstrap.DEFAULT_INTEGRATIONS,
    ]
    seen: set[str] = set()
    while todo:
        domain = todo.pop()
        if domain not in seen:
            seen.add(domain)
            todo += _strings(_manifest(domain).get("dependencies"))
    return {domain for domain in seen if (COMPONENTS / domain / "manifest.json").is_file()}


def requirements(configured: Iterable[str]) -> dict[str, list[Requirement]]:
    """Return, by integration Home Assistant sets up, what its manifest requires."""
    found: dict[str, list[Requirement]] = {}
    for domain in sorted(set_up_domains(configured)):
        for text in _strings(_manifest(domain).get("requirements")):
            try:
                found.setdefault(domain, []).append(Requirement(text))
            except InvalidRequirement:  # a URL or the like: Home Assistant's own business
                continue
    return found


def missing_requirements(configured: Iterable[str]) -> dict[str, list[str]]:
    """Return, by integration, its requirements not installed at the version it pins."""
    missing: dict[str, list[str]] = {}
    for domain, needed in requirements(configured).items():
        if domain in NO_WHEELS:
            continue
        for requirement in needed:
            try:
                installed = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                installed = None
            if installed is None or not requirement.specifier.contains(installed, prereleases=True):
                missing.setdefault(domain, []).append(str(requirement))
    return missing


def pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    """Return Home Assistant's pins (package_constraints.txt): normalised name -> version."""
    pinned = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pinned[_normalise(name)] = version.strip()
    return pinned


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def unpinned_installs(names: Iterable[str]) -> dict[str, tuple[str | None, str]]:
    """Return the packages among `names` whose installed version is not Home Assistant's pin.

    Maps each to (installed version or None, pinned version); names it does not pin are fine.
    """
    pinned = pins()
    wrong: dict[str, tuple[str | None, str]] = {}
    for name in names:
        want = pinned.get(_normalise(name))
        if want is None:
            continue
        try:
            have: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have != want:
            wrong[name] = (have, want)
    return wrong
