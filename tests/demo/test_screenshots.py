"""The README's pictures: what scripts/screenshots opens and types is what it must show."""

import json
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component

from custom_components.ev_charge_control.const import DOMAIN
from demo.screenshots import shots
from simulators import VENDORS
from tests.flow import start_vendor_flow, submit_form

STRINGS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / f"custom_components/{DOMAIN}/strings.json").read_text()
)["config"]
# Device ids as a running demo gives them: identifier -> id.
DEVICES = {
    identifier: f"device-{number}"
    for number, identifier in enumerate(
        identifier for vendor in VENDORS.values() for identifier in vendor.demo.devices
    )
}


def test_every_picture_the_readme_shows_is_taken() -> None:
    taken = [shot.file for shot in shots(DEVICES)]
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert sorted(taken) == sorted(
        [
            "goe-device.png",
            "easee-device.png",
            "viriciti-device.png",
            "energy-dashboard.png",
            "integration-page.png",
            "config-form-error.png",
            "action-form.png",
        ]
    )
    for file in taken:
        assert f"](docs/images/{file})" in readme
        assert (Path(__file__).parents[2] / "docs/images" / file).is_file()


async def test_the_form_with_mistakes_shows_two_errors_and_asks_no_cloud(
    hass: HomeAssistant,
) -> None:
    """The picture waits for two errors: the mistakes must be caught by their shape alone."""
    ((key, values),) = [
        (key, vendor.demo.form_with_errors)
        for key, vendor in VENDORS.items()
        if vendor.demo.form_with_errors
    ]
    form = await start_vendor_flow(hass, key, STRINGS)

    # No simulator runs and the address is the real cloud's: any request would fail the flow.
    result = await submit_form(hass, form, STRINGS, **values)

    assert result["type"] is FlowResultType.FORM
    assert len(result["errors"] or {}) >= 2
    assert set(result["errors"] or {}) <= set(values)


async def test_the_action_form_is_filled_in_with_what_the_action_accepts(
    hass: HomeAssistant,
) -> None:
    """The action's data passes its schema: the form shows no error, Perform action would work."""
    ((name, identifier, data),) = [
        vendor.demo.action_form for vendor in VENDORS.values() if vendor.demo.action_form
    ]
    assert identifier in DEVICES
    assert await async_setup_component(hass, DOMAIN, {})
    descriptions = await async_get_all_descriptions(hass)
    assert name in descriptions[DOMAIN]
    schema = hass.services.async_services_for_domain(DOMAIN)[name].schema
    assert schema is not None
    schema({"device_id": DEVICES[identifier], **data})
