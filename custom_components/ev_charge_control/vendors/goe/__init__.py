"""go-e grid-operator chargers: one entry per charger, reached with its serial and grid token."""

from __future__ import annotations

from typing import Final

from ...vendor import Vendor
from .const import CONF_GRID_TOKEN, CONF_SERIAL, VENDOR_GOE
from .flow import GoeFlow
from .runtime import async_setup_goe

GOE: Final = Vendor(
    key=VENDOR_GOE,
    flow=GoeFlow,
    async_setup_entry=async_setup_goe,
    redact=frozenset({CONF_GRID_TOKEN, "gridtoken", CONF_SERIAL}),
)
