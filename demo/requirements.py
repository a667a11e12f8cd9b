"""What the demo's Home Assistant needs installed: its integrations' requirements, HA's pins."""

from collections.abc import Iterable
import ctypes.util
import importlib
from importlib import metadata
import json
from pathlib import Path

import homeassistant
from homeassistant import bootstrap
from packaging.requirements import InvalidRequirement, Requirement

COMPONENTS = Path(homeassistant.__file__).parent / "components"
CONSTRAINTS = Path(homeassistant.__file__).parent / "package_constraints.txt"
# camera's libturbojpeg where the machine has none: scripts/setup --demo fetches Debian's here.
TURBOJPEG = Path(__file__).resolve().parents[1] / ".cache" / "libturbojpeg0"


def ffmpeg_program() -> str | None:
    """Return the ffmpeg program the demo gives Home Assistant: imageio-ffmpeg's static build."""
    try:  # requirements_demo.txt's, not the tests' (and it has no types)
        imageio_ffmpeg = importlib.import_module("imageio_ffmpeg")
    except ImportError:
        return None
    program = str(imageio_ffmpeg.get_ffmpeg_exe())
    return program if Path(program).is_file() else None


def turbojpeg_folder() -> Path | None:
    """Return the folder with the libturbojpeg scripts/setup --demo fetched, if it did."""
    found = sorted(TURBOJPEG.glob("root/usr/lib/*/libturbojpeg.so.0"))
    return found[0].parent if found else None


def machine_libraries() -> list[str]:
    """Return what the demo's Home Assistant loads that is missing (empty: nothing)."""
    missing = []
    if ffmpeg_program() is None:
        missing.append("imageio-ffmpeg's ffmpeg")
    if ctypes.util.find_library("turbojpeg") is None and turbojpeg_folder() is None:
        missing.append("libturbojpeg")
    return missing


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
