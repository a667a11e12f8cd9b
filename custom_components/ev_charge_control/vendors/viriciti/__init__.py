"""ViriCiti Smart Charging: one entry per charger group, reached with an API key."""

from __future__ import annotations

from typing import Final

from ...vendor import Vendor
from .actions import async_register_actions
from .const import CONF_GROUP_ID, VENDOR_VIRICITI
from .flow import ViricitiFlow, ViricitiOptionsFlow
from .runtime import async_setup_viriciti

VIRICITI: Final = Vendor(
    key=VENDOR_VIRICITI,
    flow=ViricitiFlow,
    async_setup_entry=async_setup_viriciti,
    options_flow=ViricitiOptionsFlow,
    async_register_actions=async_register_actions,
    redact=frozenset({CONF_GROUP_ID, "station_id"}),
)
