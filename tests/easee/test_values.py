"""Easee's enumerations as Home Assistant shows them: reasons for no current and models."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components import ev_charge_control
from custom_components.ev_charge_control.vendors.easee.coordinator import product_name
from simulators.easee import EaseeSimulator
from tests.conftest import find_device, setup_entry

REASON = "sensor.garage_limit_reason"
# reasonForNoCurrent, Easee's enumeration (the vendor notes): code -> state -> English name.
REASONS = {
    0: ("no_reason", "None (charging or ready)"),
    1: ("circuit_max_too_low", "Max circuit current too low"),
    2: ("dynamic_circuit_too_low", "Max dynamic circuit current too low"),
    3: ("offline_fallback_too_low", "Max dynamic offline fallback circuit current too low"),
    4: ("circuit_fuse_too_low", "Circuit fuse too low"),
    5: ("waiting_in_queue", "Waiting in queue"),
    6: ("waiting_in_fully_charged_queue", "Waiting in fully charged queue"),
    7: ("illegal_grid_type", "Illegal grid type"),
    8: (
        "no_request_from_secondary",
        "Primary unit has not received current request from secondary unit",
    ),
    9: ("primary_lost_communication", "Primary unit has lost communication"),
    10: ("no_current_from_equalizer", "No current from Equalizer"),
    11: ("wrong_phase_configuration", "Cannot charge with the current phase configuration"),
    25: ("limited_by_circuit_fuse", "Current limited by circuit fuse"),
    26: ("limited_by_circuit_max", "Current limited by circuit max current"),
    27: ("limited_by_dynamic_circuit", "Current limited by dynamic circuit current"),
    28: ("limited_by_equalizer", "Current limited by Equalizer"),
    29: ("limited_by_load_balancing", "Current limited by circuit load balancing"),
    30: ("limited_by_offline_settings", "Current limited by offline settings"),
    50: ("car_not_charging", "Secondary unit not requesting current (car not charging)"),
    51: ("max_charger_too_low", "Max charger current too low"),
    52: ("dynamic_charger_too_low", "Max dynamic charger current too low"),
    53: ("charger_disabled", "Charger disabled"),
    54: ("waiting_for_schedule", "Waiting for schedule or authorization"),
    55: ("waiting_for_authorization", "Pending authorization"),
    56: ("charger_error", "Charger in error state"),
    57: ("erratic_ev", "Erratic EV"),
    75: ("limited_by_cable", "Current limited by cable"),
    76: ("limited_by_schedule", "Current limited by schedule"),
    77: ("limited_by_max_charger", "Current limited by charger max current"),
    78: ("limited_by_dynamic_charger", "Current limited by dynamic charger current"),
    79: ("limited_by_car_not_charging", "Car not charging"),
    80: ("limited_by_local_adjustment", "Current limited by local adjustment"),
    81: ("limited_by_car", "Current limited by the car"),
    100: ("undefined", "Undefined"),
}
# productCode -> model (the vendor notes).
MODELS = {
    1: "Easee Home",
    2: "Easee Lite",
    3: "Easee Max",
    4: "Easee Up",
    100: "Easee Charge",
    102: "Easee Core",
    103: "Easee Pro",
    400: "Easee One",
}


def _english_states() -> dict[str, str]:
    path = Path(ev_charge_control.__file__).parent / "translations" / "en.json"
    strings = json.loads(path.read_text())
    states: dict[str, str] = strings["entity"]["sensor"]["reason_for_no_current"]["state"]
    return states


@pytest.mark.parametrize("code", [*REASONS, 12, 31, 58, 82, 101, 999])
async def test_reason_for_no_current(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    code: int,
) -> None:
    """Each code shows Easee's reason for it; a code not in the list shows only its number."""
    easee_sim.charger("EH000001").extra_state["reasonForNoCurrent"] = code
    await setup_entry(hass, easee_entry)
    state = hass.states.get(REASON)
    assert state is not None
    assert state.attributes["code"] == code
    english = _english_states()
    if code in REASONS:
        key, name = REASONS[code]
        assert (state.state, english[state.state]) == (key, name)
    else:
        assert state.state == "unlisted"
        # Never a reason it does not mean: the name points at the code attribute.
        assert english[state.state] == "Code not in Easee's list (see Code)"
    assert state.state in state.attributes["options"]


def test_every_reason_option_is_in_the_list() -> None:
    """The sensor offers Easee's reasons and "unlisted", nothing else, each with a name."""
    english = _english_states()
    assert sorted(english) == sorted([*(key for key, _ in REASONS.values()), "unlisted"])


@pytest.mark.parametrize(
    ("code", "model"), [*MODELS.items(), (None, "Easee charger"), (7, "Easee charger")]
)
def test_model_from_product_code(code: int | None, model: str) -> None:
    """productCode names the model as Easee's list does."""
    assert product_name(code) == model


async def test_device_model_from_product_code(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The device shows the model of the productCode the charger list gives, and the code."""
    easee_sim.charger("EH000002").product_code = 103
    easee_sim.charger("EH000003").product_code = 7
    await setup_entry(hass, easee_entry)
    models = {
        serial: (device.model, device.model_id)
        for serial in ("EH000001", "EH000002", "EH000003", "EH000005")
        if (device := find_device(hass, f"easee_{serial}"))
    }
    assert models == {
        "EH000001": ("Easee Home", "1"),
        "EH000002": ("Easee Pro", "103"),
        "EH000003": ("Easee charger", "7"),
        "EH000005": ("Easee Lite", "2"),
    }
