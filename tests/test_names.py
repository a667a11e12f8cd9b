"""Entity texts: names a tile shows whole, told apart by their first words; states in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import json
from pathlib import Path

from homeassistant.components.number import NumberEntityDescription, NumberMode
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


# A number shown as a slider leaves its name less room: "Dynamic current" was cut to
# "Dynamic curre…" beside the slider, "Charge current" was not.
MAX_SLIDER_LENGTH = 14


def _slider(description: EvChargeEntityDescription) -> bool:
    if not isinstance(description, NumberEntityDescription):
        return False
    if description.mode is NumberMode.SLIDER:
        return True
    if description.mode not in (None, NumberMode.AUTO):
        return False
    # AUTO: Home Assistant draws a slider for at most 256 steps.
    low, high = description.native_min_value, description.native_max_value
    step = description.native_step or 1
    return low is not None and high is not None and (high - low) / step <= 256


@pytest.mark.parametrize("device", DEVICES)
def test_a_slider_s_name_is_shown_whole(device: str) -> None:
    described = DEVICES[device]
    sliders = {Platform.NUMBER: [d for d in described.get(Platform.NUMBER, ()) if _slider(d)]}
    too_long = [name for name in _names(sliders) if len(name) > MAX_SLIDER_LENGTH]
    assert too_long == []


def test_the_slider_check_sees_the_old_name() -> None:
    assert len("Dynamic current") > MAX_SLIDER_LENGTH >= len("Charge current")


@pytest.mark.parametrize("device", DEVICES)
def test_every_measured_value_has_its_precision(device: str) -> None:
    """No "32.00 A" or "1,234.00 kWh": a sensor with a unit says how many decimals it has."""
    loose = [
        description.key
        for description in DEVICES[device].get(Platform.SENSOR, ())
        if isinstance(description, SensorEntityDescription)
        and description.native_unit_of_measurement is not None
        and description.device_class is not SensorDeviceClass.DURATION
        and description.suggested_display_precision is None
    ]
    assert loose == []
