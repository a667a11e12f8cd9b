"""Entity texts: names a tile shows whole, told apart by their first words; states in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import json
from pathlib import Path

from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription
from homeassistant.const import Platform
import pytest

from custom_components.ev_charge_control.entity import EvChargeEntityDescription
from custom_components.ev_charge_control.vendors.easee.descriptions import (
    CHARGER_DESCRIPTIONS,
    CIRCUIT_DESCRIPTIONS,
)
from custom_components.ev_charge_control.vendors.goe.descriptions import DESCRIPTIONS
from custom_components.ev_charge_control.vendors.viriciti.descriptions import (
    GROUP_SENSORS,
    LIMIT_NUMBERS,
    LIMIT_SENSORS,
    power_limit_description,
)

STRINGS = Path(__file__).parents[1] / "custom_components/ev_charge_control/strings.json"
# A tile or a more-info row cuts a name near here: longer ones lose their end.
MAX_LENGTH = 20
# Names of one device that agree this far read the same once cut.
DISTINCT_PREFIX = 15

type Described = Mapping[Platform, Iterable[EvChargeEntityDescription]]

# Every device every vendor makes, with the entities it holds.
DEVICES: dict[str, Described] = {
    "go-e charger": DESCRIPTIONS,
    "Easee charger": CHARGER_DESCRIPTIONS,
    "Easee circuit": CIRCUIT_DESCRIPTIONS,
    "ViriCiti group": {
        Platform.SENSOR: (*GROUP_SENSORS, *LIMIT_SENSORS),
        Platform.NUMBER: LIMIT_NUMBERS,
    },
    "ViriCiti charge station": {
        Platform.SENSOR: tuple(power_limit_description(position) for position in (1, 2, 3))
    },
}


def _names(described: Described) -> list[str]:
    entity = json.loads(STRINGS.read_text(encoding="utf-8"))["entity"]
    names = []
    for platform, descriptions in described.items():
        for description in descriptions:
            assert isinstance(description.translation_key, str), description.key
            name = entity[str(platform)][description.translation_key]["name"]
            names.append(name.format(**(description.translation_placeholders or {})))
    return names


def _problems(names: Iterable[str]) -> list[str]:
    """Return what a tile would cut: names too long, and names that read the same once cut."""
    problems = [f"{name!r} is longer than {MAX_LENGTH}" for name in names if len(name) > MAX_LENGTH]
    starts: dict[str, str] = {}
    for name in names:
        start = name[:DISTINCT_PREFIX].casefold()
        if start in starts:
            problems.append(f"{starts[start]!r} and {name!r} start alike")
        starts.setdefault(start, name)
    return problems


@pytest.mark.parametrize("device", DEVICES)
def test_names_are_short_and_differ_early(device: str) -> None:
    """No name is cut on a tile, and no two of one device start with the same 15 characters."""
    assert _problems(_names(DEVICES[device])) == []


def test_the_check_sees_names_that_are_cut_alike() -> None:
    """The circuit's old numbers all read "Dynamic circu…": the check fails them."""
    old = [f"Dynamic circuit current phase {n}" for n in (1, 2, 3)]
    assert len(_problems(old)) == 5


@pytest.mark.parametrize("device", DEVICES)
def test_every_enum_state_is_in_words(device: str) -> None:
    """An enum sensor (the pending command among them) shows each of its states translated."""
    entity = json.loads(STRINGS.read_text(encoding="utf-8"))["entity"]["sensor"]
    for description in DEVICES[device].get(Platform.SENSOR, ()):
        assert isinstance(description, SensorEntityDescription)
        if description.device_class is not SensorDeviceClass.ENUM:
            continue
        states = entity[description.translation_key].get("state", {})
        assert [o for o in description.options or () if o not in states] == [], description.key
