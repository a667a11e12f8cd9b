"""Constants shared by the integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME

DOMAIN: Final = "ev_charge_control"
# Ends the name of a task that lives as long as its entry (a stream): tests and the bench, which
# wait for all other background work to finish, leave these running.
LONG_LIVED_TASK: Final = "(runs until unload)"
LOGGER: Final = logging.getLogger(__package__)

CONF_VENDOR: Final = "vendor"
CONF_BASE_URL: Final = "base_url"

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

# For the type checker only (always False at run time, and only read beside TYPE_CHECKING): the
# release whose types it checks against. pyproject.toml makes both always true (the newest
# release we target); `scripts/test --oldest` makes them always false (2026.8). 2026.9 validates
# with probatio (installed under voluptuous's name); 2026.10 moved BinarySensorDeviceClass into
# binary_sensor.const.
HA_2026_9: Final = False
HA_2026_10: Final = False
