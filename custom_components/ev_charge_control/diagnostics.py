"""Diagnostics for a config entry, with every secret redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import TO_REDACT
from .runtime import EvChargeConfigEntry


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvChargeConfigEntry
) -> dict[str, Any]:
    """Return the entry's configuration and its vendor's state."""
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "runtime": entry.runtime_data.diagnostics(),
        },
        TO_REDACT,
    )
