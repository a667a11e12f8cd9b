"""EV Charge Control: watch and steer EV chargers through their vendors' cloud APIs."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .issues import async_delete_entry_issues
from .runtime import EvChargeConfigEntry
from .services import async_setup_services
from .vendors import vendor_of

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Set up one config entry: build its vendor's runtime and forward the platforms."""
    runtime = await vendor_of(entry).async_setup_entry(hass, entry)
    await runtime.async_start()
    entry.runtime_data = runtime
    # No update listener: the options flow reloads the entry itself (OptionsFlowWithReload),
    # reauth and reconfigure through async_update_reload_and_abort, and a vendor's fresh
    # tokens saved in the entry's data need no reload at all.
    try:
        await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    except Exception:
        # A set-up that fails after the start leaves no timer of the runtime behind.
        await runtime.async_stop()
        raise
    return True


async def async_unload_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Unload a config entry; its budget and waiting commands are saved."""
    runtime = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(entry, runtime.platforms)
    if unloaded:
        await runtime.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> None:
    """Forget a deleted entry's repair issues: nothing is left to repair."""
    async_delete_entry_issues(hass, entry)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: EvChargeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only once its vendor no longer reports it."""
    if entry.state is not ConfigEntryState.LOADED:
        # Without the running entry nothing tells whether the vendor still reports the device.
        return False
    identifiers = {value for domain, value in device.identifiers if domain == DOMAIN}
    runtime = entry.runtime_data
    if runtime.device_is_current(identifiers):
        return False
    runtime.async_forget_device(identifiers)
    return True
