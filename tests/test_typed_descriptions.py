"""mypy --strict checks every description's callbacks against its vendor's coordinator."""

from pathlib import Path

from mypy import api
import pytest

ROOT = Path(__file__).parent.parent

MISSPELT = '''\
"""A go-e sensor that reads an attribute its coordinator does not have."""

from custom_components.ev_charge_control.sensor import EvSensorEntityDescription
from custom_components.ev_charge_control.vendors.goe.coordinator import GoeCoordinator

SENSORS: tuple[EvSensorEntityDescription[GoeCoordinator], ...] = (
    EvSensorEntityDescription(
        key="energy_total", value_fn=lambda coordinator: coordinator.energy_totl
    ),
)
'''

SPELT = '''\
"""The same sensor spelt right, and an Easee number with a setter of its own coordinator."""

from custom_components.ev_charge_control.number import EvNumberEntityDescription
from custom_components.ev_charge_control.sensor import EvSensorEntityDescription
from custom_components.ev_charge_control.vendors.easee.coordinator import (
    EaseeChargerCoordinator,
)
from custom_components.ev_charge_control.vendors.goe.coordinator import GoeCoordinator

SENSORS: tuple[EvSensorEntityDescription[GoeCoordinator], ...] = (
    EvSensorEntityDescription(
        key="energy_total", value_fn=lambda coordinator: coordinator.energy_total
    ),
)


async def _set(coordinator: EaseeChargerCoordinator, value: float) -> None:
    await coordinator.async_set_dynamic_current(int(value))


NUMBER: EvNumberEntityDescription[EaseeChargerCoordinator] = EvNumberEntityDescription(
    key="dynamic_charger_current", value_fn=lambda coordinator: None, set_fn=_set
)
'''


def test_mypy_catches_a_misspelt_attribute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt coordinator attribute in a description fails mypy; the right one passes.

    One mypy run over both files; its cache starts empty, so it reads Home Assistant's
    types once (about 20 s).
    """
    (tmp_path / "misspelt.py").write_text(MISSPELT)
    (tmp_path / "spelt.py").write_text(SPELT)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MYPYPATH", str(ROOT))

    stdout, stderr, status = api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            str(tmp_path / "misspelt.py"),
            str(tmp_path / "spelt.py"),
        ]
    )

    # Only the two files' own errors: the integration's typing is scripts/test's mypy run's
    # business, on the newest Home Assistant (the oldest lacks some typed modules it names).
    errors = [
        line
        for line in stdout.splitlines()
        if ": error:" in line and line.startswith(str(tmp_path))
    ]
    assert status == 1, stdout + stderr
    assert len(errors) == 1, stdout
    assert errors[0].startswith(str(tmp_path / "misspelt.py"))
    assert '"GoeCoordinator" has no attribute "energy_totl"' in errors[0]
    assert "[attr-defined]" in errors[0]
