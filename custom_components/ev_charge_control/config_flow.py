"""Config flow: a menu of the vendors; each vendor's steps, reauth and options are its own.

The steps live in each vendor's package (``vendors/<vendor>/flow.py``, a ConfigFlow mixin whose
step ids start with the vendor's key); this class is made of all of them and only dispatches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.core import callback

from .const import DOMAIN
from .vendors import VENDORS, VendorFlows, vendor_of


class EvChargeConfigFlow(VendorFlows, domain=DOMAIN):
    """Set up a charger (or account, or group) of one of the supported vendors."""

    # 2: go-e chargers and ViriCiti groups are subentries of one entry per access.
    VERSION = 2

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the options flow of the entry's vendor."""
        options_flow = vendor_of(config_entry).options_flow
        if options_flow is None:  # pragma: no cover - Home Assistant asks supports first
            raise ValueError(f"{config_entry.data} has no options")
        return options_flow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the subentries (chargers, groups) the entry's vendor adds through flows."""
        return dict(vendor_of(config_entry).subentry_flows)

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Only vendors with something to tune have options."""
        return vendor_of(config_entry).options_flow is not None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick the vendor."""
        return self.async_show_menu(step_id="user", menu_options=list(VENDORS))

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start re-authentication when the vendor refused the credentials."""
        vendor = vendor_of(self._get_reauth_entry())
        if vendor.reauth_step is None:  # pragma: no cover - such a vendor starts no reauth
            return self.async_abort(reason="reauth_not_supported")
        step = getattr(self, f"async_step_{vendor.reauth_step}")
        result: ConfigFlowResult = await step()
        return result

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials (and, in the form's advanced section, the API address)."""
        vendor = vendor_of(self._get_reconfigure_entry())
        step = getattr(self, f"async_step_{vendor.reconfigure_step}")
        result: ConfigFlowResult = await step(user_input)
        return result
