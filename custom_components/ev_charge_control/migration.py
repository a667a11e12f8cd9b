"""What the vendors' moves to version 2 share: old entries merged, each into a subentry."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.typing import UNDEFINED

from .const import LOGGER
from .issues import async_delete_entry_issues, async_delete_legacy_issues


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


async def async_merge_into_subentries[K: Hashable](
    hass: HomeAssistant,
    entries: list[ConfigEntry],
    *,
    key_of: Callable[[ConfigEntry], K],
    subentry_of: Callable[[ConfigEntry], ConfigSubentry],
    legacy_issues_of: Callable[[ConfigEntry], Iterable[str]],
    data_of: Callable[[K, ConfigEntry], Mapping[str, Any]],
    title: str,
    name: str,
) -> None:
    """Merge version-1 entries with the same ``key_of`` into one version-2 entry.

    The first of them (an enabled one if there is one) becomes the parent, with ``title`` and
    ``data_of(key, parent)``; each entry, the parent too, becomes a subentry (``subentry_of``)
    with its devices and entities. The issues the old entries raised (under their ids and the
    ``legacy_issues_of`` older versions used) go; the emptied entries are removed.
    """
    merged: dict[K, list[ConfigEntry]] = {}
    # Enabled entries first: a key's first entry becomes its parent.
    for entry in sorted(entries, key=lambda e: e.disabled_by is not None):
        merged.setdefault(key_of(entry), []).append(entry)
    for key, same in merged.items():
        parent = same[0]
        all_disabled = all(entry.disabled_by is not None for entry in same)
        for entry in same:
            async_move_into_subentry(
                hass,
                entry,
                parent,
                subentry_of(entry),
                moved_disabled=entry.disabled_by is not None and not all_disabled,
            )
        for entry in same:
            # A command or limit still refused raises its issue again under the new ids.
            async_delete_entry_issues(hass, entry)
            async_delete_legacy_issues(hass, *legacy_issues_of(entry))
        hass.config_entries.async_update_entry(
            parent,
            title=title,
            data=dict(data_of(key, parent)),
            options={},
            unique_id=None,
            version=2,
        )
        for entry in same[1:]:
            await hass.config_entries.async_remove(entry.entry_id)
        LOGGER.info("%s: %d entries merged into one entry", name, len(same))
