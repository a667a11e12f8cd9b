"""EV Charge Control: watch and steer EV chargers through their vendors' cloud APIs."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError

from .const import CONF_VENDOR, DOMAIN, VENDOR_GOE
from .runtime import EvChargeConfigEntry, VendorRuntime
from .vendors.goe import async_setup_goe


async def async_setup_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Set up one config entry: build its vendor's runtime and forward the platforms."""
    vendor = entry.data.get(CONF_VENDOR)
    runtime: VendorRuntime
    if vendor == VENDOR_GOE:
        runtime = await async_setup_goe(hass, entry)
    else:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="unknown_vendor",
            translation_placeholders={"vendor": str(vendor)},
        )
    await runtime.async_start()
    entry.runtime_data = runtime
    await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Unload a config entry; its budget and waiting commands are saved."""
    runtime = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(entry, runtime.platforms)
    if unloaded:
        await runtime.async_stop()
    return unloaded
