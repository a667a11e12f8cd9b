"""README's example automations load into Home Assistant as they stand, and their actions of
this integration pass the actions' own schemas."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import parse_yaml
import pytest

from custom_components.ev_charge_control.const import DOMAIN

README = Path(__file__).parents[1] / "README.md"


def _examples() -> list[dict[str, Any]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    return [parse_yaml(block) for block in blocks]


def _our_actions(node: Any) -> list[dict[str, Any]]:
    """Return every step of the automation that calls one of this integration's actions."""
    found = []
    if isinstance(node, dict):
        if str(node.get("action", "")).startswith(f"{DOMAIN}."):
            found.append(node)
        for value in node.values():
            found += _our_actions(value)
    elif isinstance(node, list):
        for value in node:
            found += _our_actions(value)
    return found


def test_the_readme_has_the_three_examples() -> None:
    aliases = [example["alias"] for example in _examples()]
    assert len(aliases) == 3


@pytest.mark.parametrize("example", _examples(), ids=lambda example: example["alias"])
async def test_each_example_is_a_valid_automation(
    hass: HomeAssistant, example: dict[str, Any]
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    validated = await async_validate_config_item(hass, example["alias"], example)
    assert validated is not None
    assert validated.validation_error is None, validated.validation_error
    for step in _our_actions(example):
        action = step["action"].removeprefix(f"{DOMAIN}.")
        schema = hass.services.async_services_for_domain(DOMAIN)[action].schema
        assert schema is not None
        schema(step["data"])
