"""What every vendor's actions share: translated refusals and finding the device's runtime."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .runtime import EvChargeConfigEntry, VendorRuntime


def action_error(key: str, **placeholders: str) -> ServiceValidationError:
    """Return the translated refusal of an action."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def loaded_runtimes[R: VendorRuntime](hass: HomeAssistant, kind: type[R]) -> list[R]:
    """Return the runtimes of this kind of every loaded entry."""
    entries: list[EvChargeConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    return [
        entry.runtime_data
        for entry in entries
        if entry.state is ConfigEntryState.LOADED and isinstance(entry.runtime_data, kind)
    ]


def device_identifiers(hass: HomeAssistant, device_id: str) -> set[str]:
    """Return our identifiers of a device; refuse a device that does not exist."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise action_error("device_not_found", device_id=device_id)
    return {value for domain, value in device.identifiers if domain == DOMAIN}
