"""Constants of the ViriCiti vendor."""

from __future__ import annotations

from typing import Final

CONF_GROUP_ID: Final = "group_id"
CONF_TIME_ZONE: Final = "time_zone"
CONF_DEFAULT_DURATION: Final = "default_duration"
# ViriCiti: how long an external limit set through the number lasts, in minutes.
DEFAULT_LIMIT_DURATION: Final = 60
MAX_LIMIT_DURATION: Final = 7 * 24 * 60
VENDOR_VIRICITI: Final = "viriciti"
# One subentry per charger group: group id, time zone and the default duration of a limit.
SUBENTRY_GROUP: Final = "group"
# The entry's title when the user gives none, and that of entries made from version 1.
DEFAULT_TITLE: Final = "ViriCiti"
