"""The interface every vendor implements: what the core asks of a vendor, and nothing more.

The core (``__init__.py``, ``config_flow.py``, ``services.py``, ``diagnostics.py``) iterates
the registry in ``vendors/__init__.py`` and names no vendor. A vendor is a package
``vendors/<key>/`` whose ``__init__.py`` builds one ``Vendor``; the registry lists it once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigSubentryFlow, OptionsFlow
from homeassistant.core import HomeAssistant

if TYPE_CHECKING:
    from homeassistant.components.repairs import RepairsFlow

    from .runtime import EvChargeConfigEntry, VendorRuntime


def _no_actions(hass: HomeAssistant) -> None:
    """Register nothing: the vendor has no actions of its own."""


async def _nothing_to_forget(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Keep nothing of a deleted entry: the vendor saves nothing that would act later."""


async def _same_shape(hass: HomeAssistant, entries: list[ConfigEntry]) -> None:
    """Take entries of version 1 as they are: the vendor's entries kept their shape."""
    for entry in entries:
        hass.config_entries.async_update_entry(entry, version=2)


@dataclass(frozen=True, kw_only=True, slots=True)
class Vendor:
    """One vendor: its flow steps, its runtime, its actions and what its diagnostics redact."""

    # Stored in every entry's data under "vendor"; the menu option of the config flow and the
    # prefix of every step id of the vendor (so no vendor owns a generic step id).
    key: str
    # A ConfigFlow mixin (without a domain) holding the vendor's steps:
    # async_step_<key> (the menu option), async_step_<key>_reauth_confirm and
    # async_step_<key>_reconfigure. The integration's flow class is made of all of them.
    flow: type[ConfigFlow]
    # Build the running side of one entry (the entry's vendor is this one).
    async_setup_entry: Callable[[HomeAssistant, EvChargeConfigEntry], Awaitable[VendorRuntime]]
    # The options flow of the vendor's entries; None: they have no options.
    options_flow: Callable[[], OptionsFlow] | None = None
    # Register the vendor's own actions (called once, when the integration is set up).
    async_register_actions: Callable[[HomeAssistant], None] = _no_actions
    # The keys the diagnostics dump redacts for this vendor, besides the shared ones in const.
    redact: frozenset[str] = field(default_factory=frozenset)
    # Forget what a deleted entry left that would still act (commands waiting to go out).
    async_remove_entry: Callable[[HomeAssistant, ConfigEntry], Awaitable[None]] = _nothing_to_forget
    # False: the entry holds no credentials (they are its subentries'), so it has no reauth.
    reauth: bool = True
    # The subentry types of the vendor's entries and their flows (a charger, a group).
    subentry_flows: Mapping[str, type[ConfigSubentryFlow]] = field(default_factory=dict)
    # Bring the vendor's entries of version 1 to version 2, all at once (entries may merge),
    # before any entry is set up.
    async_migrate: Callable[[HomeAssistant, list[ConfigEntry]], Awaitable[None]] = _same_shape
    # The fix flows of the vendor's fixable repair issues, by the translation key;
    # each is built from the data.
    repair_flows: Mapping[str, Callable[[Mapping[str, Any] | None], RepairsFlow]] = field(
        default_factory=dict
    )

    @property
    def reauth_step(self) -> str | None:
        """Return the step that asks for the entry's new credentials (None: it holds none)."""
        return f"{self.key}_reauth_confirm" if self.reauth else None

    @property
    def reconfigure_step(self) -> str:
        """Return the step that changes the credentials or the API address."""
        return f"{self.key}_reconfigure"
