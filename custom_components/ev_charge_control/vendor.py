"""The interface every vendor implements: what the core asks of a vendor, and nothing more.

The core (``__init__.py``, ``config_flow.py``, ``services.py``, ``diagnostics.py``) iterates
the registry in ``vendors/__init__.py`` and names no vendor. A vendor is a package
``vendors/<key>/`` whose ``__init__.py`` builds one ``Vendor``; the registry lists it once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigFlow, OptionsFlow
from homeassistant.core import HomeAssistant

if TYPE_CHECKING:
    from .runtime import EvChargeConfigEntry, VendorRuntime


def _no_actions(hass: HomeAssistant) -> None:
    """Register nothing: the vendor has no actions of its own."""


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

    @property
    def reauth_step(self) -> str:
        """Return the step that asks for new credentials."""
        return f"{self.key}_reauth_confirm"

    @property
    def reconfigure_step(self) -> str:
        """Return the step that changes the credentials or the API address."""
        return f"{self.key}_reconfigure"
