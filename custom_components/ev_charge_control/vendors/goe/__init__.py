"""go-e grid-operator chargers: an entry per API access, a subentry per charger (serial, token)."""

from __future__ import annotations

from typing import Final

from ...vendor import Vendor
from .const import CONF_GRID_TOKEN, CONF_SERIAL, SUBENTRY_CHARGER, VENDOR_GOE
from .flow import GoeChargerFlow, GoeFlow, create_token_repair_flow
from .migrate import async_migrate_goe
from .runtime import async_remove_goe_entry, async_setup_goe

GOE: Final = Vendor(
    key=VENDOR_GOE,
    flow=GoeFlow,
    async_setup_entry=async_setup_goe,
    redact=frozenset({CONF_GRID_TOKEN, "gridtoken", CONF_SERIAL}),
    # A refused grid token is one charger's: its own repair issue's fix asks for it.
    reauth=False,
    subentry_flows={SUBENTRY_CHARGER: GoeChargerFlow},
    async_migrate=async_migrate_goe,
    async_remove_entry=async_remove_goe_entry,
    repair_flows={"goe_token_refused": create_token_repair_flow},
)
