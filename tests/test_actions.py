"""Every action offers exactly the devices it accepts, and its example data is a valid call."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_DEVICE_ID, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.selector import validate_selector
from homeassistant.util.yaml import load_yaml
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.easee.const import VENDOR_EASEE
from custom_components.ev_charge_control.vendors.easee.coordinator import (
    PRODUCT_NAMES,
    product_name,
)
from simulators.goe import GoeSimulator
from simulators.viriciti import ViricitiSimulator
from tests.conftest import setup_entry
from tests.easee.conftest import EASEE_PASSWORD, EASEE_USERNAME, USER_ID, running_account
from tests.goe import fixtures as goe_fixtures
from tests.viriciti.conftest import build_groups, make_entry

SERVICES = Path(__file__).parents[1] / "custom_components" / DOMAIN / "services.yaml"

# How each action refuses a device that is not of its kind.
REFUSALS = {
    "set_dynamic_circuit_current": "not_an_easee_circuit",
    "set_charge_plan": "not_an_easee_charger",
    "clear_charge_plan": "not_an_easee_charger",
    "set_group_limit": "not_a_viriciti_group",
}

goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry


def _actions() -> dict[str, Any]:
    actions = load_yaml(SERVICES)
    assert isinstance(actions, dict)
    # Every action a vendor registers is described, and nothing else.
    assert sorted(actions) == sorted(REFUSALS)
    return actions


def _filters(fields: Mapping[str, Any]) -> list[dict[str, str]]:
    config = fields[ATTR_DEVICE_ID]["selector"]["device"]
    filters: list[dict[str, str]] = config["filter"]
    return filters


def _offers(filters: list[dict[str, str]], device: dr.DeviceEntry) -> bool:
    """Return whether the device selector lists one of our devices (as the frontend matches)."""
    found = {
        "integration": DOMAIN,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "model_id": device.model_id,
    }
    return any(all(found.get(key) == value for key, value in one.items()) for one in filters)


def _example(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: field["example"] for name, field in fields.items() if "example" in field}


def test_every_required_field_has_an_example_and_every_selector_is_valid() -> None:
    """'Fill example data' fills every required field, with selectors Home Assistant accepts."""
    for action, spec in _actions().items():
        fields = spec["fields"]
        for name, field in fields.items():
            validate_selector(field["selector"])
            if field.get("required") and name != ATTR_DEVICE_ID:
                assert "example" in field, f"{action}.{name}"


def test_every_easee_model_is_offered_to_the_charger_actions() -> None:
    """A charger of any product code, listed or not, can be picked for the charger actions."""
    actions = _actions()
    for action in ("set_charge_plan", "clear_charge_plan", "set_dynamic_circuit_current"):
        models = {one.get("model") for one in _filters(actions[action]["fields"])}
        assert {product_name(code) for code in (*PRODUCT_NAMES, None, 7)} <= models, action


# Actions with real writes to the simulators; the clock need not move.
async def test_each_action_offers_exactly_the_devices_it_accepts(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """With all three vendors set up, each action lists the devices it acts on and no other;
    its example data, on any of them, is a call that goes through."""
    viriciti = ViricitiSimulator(latency_scale=0, min_post_interval=300)
    build_groups(viriciti)
    await viriciti.start()
    try:
        async with running_account() as easee:
            # A charger whose product code Easee's list does not hold yet.
            easee.add_charger("EH000006", 12, name="Shed", product_code=7)
            easee_entry = MockConfigEntry(
                domain=DOMAIN,
                title=f"Easee {EASEE_USERNAME}",
                unique_id=str(USER_ID),
                data={
                    CONF_VENDOR: VENDOR_EASEE,
                    CONF_USERNAME: EASEE_USERNAME,
                    CONF_PASSWORD: EASEE_PASSWORD,
                    CONF_BASE_URL: easee.base_url,
                },
            )
            registry = dr.async_get(hass)
            devices: list[dr.DeviceEntry] = []
            for entry in (goe_entry, easee_entry, make_entry(viriciti)):
                await setup_entry(hass, entry)
                devices += dr.async_entries_for_config_entry(registry, entry.entry_id)
            models = {(device.manufacturer, device.model) for device in devices}
            assert {
                ("go-e", "go-eCharger"),
                ("Easee", "Site"),
                ("Easee", "Circuit"),
                ("Easee", "Easee charger"),
                ("ViriCiti", "Smart Charging group"),
                ("ViriCiti", "Charge station"),
            } <= models

            for action, spec in _actions().items():
                fields = spec["fields"]
                filters = _filters(fields)
                accepted: set[str] = set()
                for device in devices:
                    try:
                        await hass.services.async_call(
                            DOMAIN,
                            action,
                            {**_example(fields), ATTR_DEVICE_ID: device.id},
                            blocking=True,
                        )
                    except ServiceValidationError as err:
                        # Any other refusal fails the test: the example is a call that works.
                        if err.translation_key != REFUSALS[action]:
                            raise
                        continue
                    accepted.add(device.name or device.id)
                offered = {
                    device.name or device.id for device in devices if _offers(filters, device)
                }
                assert accepted, action
                assert offered == accepted, action
            await hass.async_block_till_done()
    finally:
        await viriciti.stop()
