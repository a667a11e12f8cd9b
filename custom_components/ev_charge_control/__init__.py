"""EV Charge Control: watch and steer EV chargers through their vendors' cloud APIs."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import CONF_VENDOR, DOMAIN
from .issues import async_delete_entry_issues
from .runtime import EvChargeConfigEntry
from .services import async_setup_services
from .vendors import VENDORS, vendor_of

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Bring older entries to the current version, and register the actions once."""
    await async_migrate_entries(hass)
    async_setup_services(hass)
    return True


async def async_migrate_entries(hass: HomeAssistant) -> None:
    """Let each vendor bring its entries of version 1 to version 2 before any is set up.

    A vendor may merge entries (go-e chargers into one entry per API address), which
    ``async_migrate_entry``, seeing one entry at a time, cannot.
    """
    old: dict[str, list[EvChargeConfigEntry]] = {}
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.version == 1 and (vendor := VENDORS.get(str(entry.data.get(CONF_VENDOR)))):
            old.setdefault(vendor.key, []).append(entry)
    for key, entries in old.items():
        await VENDORS[key].async_migrate(hass, list(entries))


async def async_migrate_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Migrate an entry ``async_setup`` did not: one of version 1 added since, say in a test.

    An entry of a vendor we do not know is left for its set-up to report; one of a later
    version (written by a newer release) is not touched.
    """
    if entry.version == 1 and (vendor := VENDORS.get(str(entry.data.get(CONF_VENDOR)))):
        await vendor.async_migrate(hass, [entry])
    return entry.version <= 2


async def async_setup_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Set up one config entry: build its vendor's runtime and forward the platforms."""
    runtime = await vendor_of(entry).async_setup_entry(hass, entry)
    await runtime.async_start()
    entry.runtime_data = runtime
    # No update listener unless the entry holds subentries: the options flow reloads the entry
    # itself (OptionsFlowWithReload), reauth and reconfigure through
    # async_update_reload_and_abort, and a vendor's fresh tokens saved in the entry's data
    # need no reload at all.
    try:
        await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    except Exception:
        # A set-up that fails after the start leaves no timer of the runtime behind.
        await runtime.async_stop()
        raise
    if runtime.follows_subentries:
        entry.async_on_unload(entry.add_update_listener(_async_entry_updated))
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: EvChargeConfigEntry) -> None:
    """Hand a change of the entry (a subentry added, removed or changed) to its runtime."""
    await entry.runtime_data.async_entry_updated(entry)


async def async_unload_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> bool:
    """Unload a config entry; its budget and waiting commands are saved."""
    runtime = entry.runtime_data
    unloaded = await hass.config_entries.async_unload_platforms(entry, runtime.platforms)
    if unloaded:
        await runtime.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: EvChargeConfigEntry) -> None:
    """Forget a deleted entry's repair issues and what it left waiting to go out."""
    async_delete_entry_issues(hass, entry)
    if (vendor := VENDORS.get(str(entry.data.get(CONF_VENDOR)))) is not None:
        await vendor.async_remove_entry(hass, entry)


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
