"""Diagnostics of a go-e entry: useful, and without the grid token."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.conftest import GOE_SERIAL, GOE_TOKEN


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
async def test_diagnostics_redact_the_token(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_goe: MockConfigEntry,
) -> None:
    """The dump shows the status, budget and queue, and never the grid token."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_goe)
    assert GOE_TOKEN not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"]["grid_token"] == "**REDACTED**"
    runtime = diagnostics["runtime"]
    assert runtime["status"]["serial"] == GOE_SERIAL
    assert runtime["status"]["set_current"] == 16
    assert runtime["status_budget"]["tokens"] == 1
    assert runtime["commands"] == {"last_sent": None, "pending": [], "awaiting": []}
    assert GOE_SERIAL in runtime["client"]
