"""Constants shared by the integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME

DOMAIN: Final = "ev_charge_control"
LOGGER: Final = logging.getLogger(__package__)

CONF_VENDOR: Final = "vendor"
CONF_SERIAL: Final = "serial"
CONF_GRID_TOKEN: Final = "grid_token"  # noqa: S105 - a key name, not a secret
CONF_BASE_URL: Final = "base_url"

VENDOR_GOE: Final = "goe"

EVENT_COMMAND_RESULT: Final = f"{DOMAIN}_command_result"

# Every secret the integration may hold, listed once for diagnostics redaction.
TO_REDACT: Final = frozenset(
    {CONF_GRID_TOKEN, "gridtoken", CONF_PASSWORD, CONF_API_KEY, CONF_USERNAME, "token"}
)
