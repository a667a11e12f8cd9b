"""ViriCiti Smart Charging: an entry per API key, a subentry per charger group."""

from __future__ import annotations

from typing import Final

from ...vendor import Vendor
from .actions import async_register_actions
from .const import CONF_GROUP_ID, SUBENTRY_GROUP, VENDOR_VIRICITI
from .flow import ViricitiFlow, ViricitiGroupFlow
from .migrate import async_migrate_viriciti
from .runtime import async_setup_viriciti

VIRICITI: Final = Vendor(
    key=VENDOR_VIRICITI,
    flow=ViricitiFlow,
    async_setup_entry=async_setup_viriciti,
    async_register_actions=async_register_actions,
    redact=frozenset({CONF_GROUP_ID, "station_id"}),
    # The API key is the entry's: a refused key asks for a new one for every group at once.
    reauth=True,
    subentry_flows={SUBENTRY_GROUP: ViricitiGroupFlow},
    async_migrate=async_migrate_viriciti,
)
