"""Actions (services): each vendor registers its own; this module names none of them."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback

from .vendors import VENDORS


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register every vendor's actions."""
    for vendor in VENDORS.values():
        vendor.async_register_actions(hass)
