"""What the vendors' moves to version 2 share: an old entry's devices into a subentry."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.typing import UNDEFINED


@callback
def async_move_into_subentry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    parent: ConfigEntry,
    subentry: ConfigSubentry,
    *,
    moved_disabled: bool,
) -> None:
    """Add ``subentry`` to ``parent`` and move ``entry``'s devices and entities into it.

    Identifiers, unique ids and entity ids stay: history, dashboards and automations go on.
    ``moved_disabled``: the entry was disabled and the parent is not. The registries would
    enable what moves to an enabled entry; it stays disabled instead (by the user).
    """
    hass.config_entries.async_add_subentry(parent, subentry)
    device_registry = dr.async_get(hass)
    entity_registry = er.async_get(hass)
    # Entities first: a device moved before them made the entity registry remove those
    # still in the old place (seen moving a disabled entry into itself).
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        entity_registry.async_update_entity(
            entity.entity_id,
            config_entry_id=parent.entry_id,
            config_subentry_id=subentry.subentry_id,
            disabled_by=er.RegistryEntryDisabler.DEVICE if moved_disabled else UNDEFINED,
        )
    for device in dr.async_entries_for_config_entry(device_registry, entry.entry_id):
        device_registry.async_update_device(
            device.id,
            new_config_entry_id=parent.entry_id,
            new_config_subentry_id=subentry.subentry_id,
            disabled_by=dr.DeviceEntryDisabler.USER if moved_disabled else UNDEFINED,
        )
