"""What the config-flow tests of every vendor share: forms, sections and addresses."""

from __future__ import annotations

import socket
import string
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.data_entry_flow import section

from custom_components.ev_charge_control.config_flow import ADVANCED
from custom_components.ev_charge_control.const import CONF_BASE_URL


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


def at(base_url: str) -> dict[str, str]:
    """Return the advanced section as a user fills it in with another API address."""
    return {CONF_BASE_URL: base_url}
