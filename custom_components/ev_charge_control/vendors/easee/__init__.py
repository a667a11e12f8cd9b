"""Easee accounts: one entry per account, its sites, circuits and chargers."""

from __future__ import annotations

from typing import Final

from ...vendor import Vendor
from .actions import async_register_actions
from .const import VENDOR_EASEE
from .flow import EaseeFlow, EaseeOptionsFlow
from .runtime import async_remove_easee_entry, async_setup_easee

EASEE: Final = Vendor(
    key=VENDOR_EASEE,
    flow=EaseeFlow,
    async_setup_entry=async_setup_easee,
    async_remove_entry=async_remove_easee_entry,
    options_flow=EaseeOptionsFlow,
    async_register_actions=async_register_actions,
    redact=frozenset(
        {"serial_number", "charger_id", "charger_ids", "back_plate_id", "master_back_plate_id"}
    ),
)
