"""Diagnostics of a go-e entry: useful, and without the grid token or the serial."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.goe.fixtures import GOE_SERIAL, GOE_TOKEN

REDACTED = "**REDACTED**"


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
async def test_diagnostics_redact_the_token_and_the_serial(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_goe: MockConfigEntry,
) -> None:
    """The dump shows the status, budget and queue, and never the grid token or the serial."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_goe)
    text = json.dumps(diagnostics)
    assert GOE_TOKEN not in text
    assert GOE_SERIAL not in text
    entry = diagnostics["entry"]
    assert entry["title"] == REDACTED  # the user may name it after a customer
    (charger,) = entry["subentries"]
    assert charger["data"]["grid_token"] == REDACTED
    assert charger["data"]["serial"] == REDACTED
    assert charger["title"] == REDACTED  # "go-e <serial>"
    (runtime,) = diagnostics["runtime"]["chargers"]
    assert runtime["status"]["serial"] == REDACTED
    assert runtime["client"] == REDACTED  # its repr names the serial
    assert runtime["status"]["set_current"] == 16
    assert runtime["status"]["kwh_total"] == 1000
    assert runtime["fetched_at"] is not None
    assert runtime["last_update_success"] is True
    assert runtime["status_budget"]["tokens"] == 1
    assert runtime["commands"] == {"last_sent": None, "pending": [], "awaiting": []}
