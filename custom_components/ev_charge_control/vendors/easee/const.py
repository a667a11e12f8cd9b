"""Constants of the Easee vendor."""

from __future__ import annotations

from typing import Final

CONF_TOKENS: Final = "tokens"
CONF_STATE_INTERVAL: Final = "state_interval"
CONF_KEEP_DYNAMIC_LIMITS: Final = "keep_dynamic_limits"
CONF_DYNAMIC_CURRENT_TTL: Final = "dynamic_current_ttl"
# The sites the entry follows, as ids in text; missing or empty: every site, new ones too.
CONF_SITE_IDS: Final = "site_ids"
DEFAULT_STATE_INTERVAL: Final = 60
MIN_STATE_INTERVAL: Final = 30
MAX_STATE_INTERVAL: Final = 300
VENDOR_EASEE: Final = "easee"
