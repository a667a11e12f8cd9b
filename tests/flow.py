"""What the config-flow tests of every vendor share: starting a flow, forms, sections, addresses."""

from __future__ import annotations

import socket
import string
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED


def placeholders_in(text: str) -> set[str]:
    """Return the names of the {placeholders} in a translated text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def closed_port_url() -> str:
    """Return an address on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sections(result: ConfigFlowResult) -> dict[str, section]:
    """Return the form's sections by name."""
    return {
        str(field): value
        for field, value in result["data_schema"].schema.items()
        if isinstance(value, section)
    }


def form_defaults(result: ConfigFlowResult, **typed: Any) -> dict[str, Any]:
    """Return what the form shows, its sections' fields included, besides what was typed."""
    return dict(result["data_schema"]({**{name: {} for name in sections(result)}, **typed}))


def assert_advanced_section(result: ConfigFlowResult, base_url: str, *, last: bool = True) -> None:
    """Check the API address is asked only in a collapsed section, filled in with base_url.

    `last`: the section closes the form (ViriCiti's time zone field comes after it).
    """
    fields = [str(field) for field in result["data_schema"].schema]
    assert CONF_BASE_URL not in fields
    assert ADVANCED in fields
    if last:
        assert fields[-1] == ADVANCED
    advanced = sections(result)[ADVANCED]
    assert advanced.options == {"collapsed": True}
    assert [str(field) for field in advanced.schema.schema] == [CONF_BASE_URL]
    assert advanced.schema({}) == {CONF_BASE_URL: base_url}


def suggested(result: ConfigFlowResult) -> dict[str, Any]:
    """Return what the form shows filled in from what the user typed, sections included."""

    def of(schema: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field, value in schema.schema.items():
            if isinstance(value, section):
                values[str(field)] = of(value.schema)
            elif "suggested_value" in (field.description or {}):
                values[str(field)] = field.description["suggested_value"]
        return values

    return of(result["data_schema"])


def at(base_url: str) -> dict[str, str]:
    """Return the advanced section as a user fills it in with another API address."""
    return {CONF_BASE_URL: base_url}


def assert_form_translated(result: ConfigFlowResult, strings: dict[str, Any]) -> None:
    """Fail when the user would see a raw key or an unfilled {placeholder}.

    `strings`: the flow's part of strings.json ("config" or "options").
    """
    if result["type"] is FlowResultType.CREATE_ENTRY:
        if (description := result.get("description")) is not None:
            # A note on the "added" dialog: its text, with every placeholder filled in.
            text = strings["create_entry"][description]
            assert placeholders_in(text) <= set(result["description_placeholders"] or {})
        return
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] in strings["abort"], result["reason"]
        return
    step = strings["step"][result["step_id"]]
    if result["type"] is FlowResultType.MENU:
        assert set(result["menu_options"]) <= set(step["menu_options"])
        return
    assert result["type"] is FlowResultType.FORM
    needed = placeholders_in(step.get("title", "")) | placeholders_in(step["description"])
    for text in step.get("data_description", {}).values():
        needed |= placeholders_in(text)
    fields = {str(field): value for field, value in result["data_schema"].schema.items()}
    for field, value in fields.items():
        if isinstance(value, section):
            # A section has a name and a label for each of its own fields.
            texts = step["sections"][field]
            assert texts["name"], field
            for text in (texts.get("description", ""), *texts.get("data_description", {}).values()):
                needed |= placeholders_in(text)
            for inner in value.schema.schema:
                assert str(inner) in texts["data"], f"{field}.{inner}"
        else:
            assert field in step["data"], field
    for key, error in (result["errors"] or {}).items():
        # An error belongs to the form as a whole or to something the form shows.
        assert key == "base" or key in fields, key
        assert error in strings["error"], error
        needed |= placeholders_in(strings["error"][error])
    given = set(result["description_placeholders"] or {})
    assert needed <= given, f"missing placeholders {needed - given}"


async def start_vendor_flow(
    hass: HomeAssistant, vendor: str, strings: dict[str, Any]
) -> ConfigFlowResult:
    """Open the flow, pick the vendor in the menu and return its form, empty and translated."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert vendor in result["menu_options"]
    assert_form_translated(result, strings)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": vendor}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == vendor
    assert result["errors"] == {}
    assert_form_translated(result, strings)
    return result


async def submit_form(
    hass: HomeAssistant, result: ConfigFlowResult, strings: dict[str, Any], **user_input: Any
) -> ConfigFlowResult:
    """Submit a form as the frontend does and check that what comes back is translated.

    The frontend sends a section the user left closed with the values it shows.
    """
    for name, value in sections(result).items():
        user_input.setdefault(name, dict(value.schema({})))
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert_form_translated(result, strings)
    return result


async def start_reauth_form(
    hass: HomeAssistant, entry: MockConfigEntry, step_id: str, strings: dict[str, Any]
) -> ConfigFlowResult:
    """Start the entry's reauth and return its form, translated."""
    result = await entry.start_reauth_flow(hass)
    return _entry_form(result, step_id, strings)


async def start_reconfigure_form(
    hass: HomeAssistant, entry: MockConfigEntry, step_id: str, strings: dict[str, Any]
) -> ConfigFlowResult:
    """Start the entry's reconfigure flow and return its form, translated."""
    result = await entry.start_reconfigure_flow(hass)
    return _entry_form(result, step_id, strings)


def _entry_form(
    result: ConfigFlowResult, step_id: str, strings: dict[str, Any]
) -> ConfigFlowResult:
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step_id
    assert_form_translated(result, strings)
    return result
