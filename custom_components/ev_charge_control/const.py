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

CONF_TOKENS: Final = "tokens"
CONF_STATE_INTERVAL: Final = "state_interval"
CONF_KEEP_DYNAMIC_LIMITS: Final = "keep_dynamic_limits"
CONF_DYNAMIC_CURRENT_TTL: Final = "dynamic_current_ttl"
CONF_GROUP_ID: Final = "group_id"
CONF_TIME_ZONE: Final = "time_zone"
CONF_DEFAULT_DURATION: Final = "default_duration"

DEFAULT_STATE_INTERVAL: Final = 60
MIN_STATE_INTERVAL: Final = 30
MAX_STATE_INTERVAL: Final = 300
# ViriCiti: how long an external limit set through the number lasts, in minutes.
DEFAULT_LIMIT_DURATION: Final = 60
MAX_LIMIT_DURATION: Final = 7 * 24 * 60

VENDOR_GOE: Final = "goe"
VENDOR_EASEE: Final = "easee"
VENDOR_VIRICITI: Final = "viriciti"

EVENT_COMMAND_RESULT: Final = f"{DOMAIN}_command_result"

# The keys whose values diagnostics redact for every vendor (the rule: diagnostics.py's
# docstring); each vendor adds its own (serials, device ids) in its registry entry.
TO_REDACT: Final = frozenset(
    {
        # Credentials.
        CONF_PASSWORD,
        CONF_API_KEY,
        "token",
        "access_token",
        "refresh_token",
        # Who the customer is: user name, user and account ids, titles named after the account.
        CONF_USERNAME,
        "user_id",
        "unique_id",
        "title",
        # What the device is, in every vendor's words.
        "id",
    }
)
