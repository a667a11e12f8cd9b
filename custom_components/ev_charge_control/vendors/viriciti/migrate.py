"""From version 1 (an entry per group) to version 2 (an entry per API key, a subentry per group).

The groups of all version-1 entries with the same API key at the same address become
subentries of one entry, the first of them (an enabled one if there is one). Their devices and
entities move to it unchanged: identifiers, unique ids and entity ids stay, so history,
dashboards and automations go on; each group's write queue (its waiting limit and the time of
its last one) is kept by group id and stays too. The group's options (time zone, default
duration) become its subentry's data. The other entries are removed once nothing is left in
them.
"""

from __future__ import annotations

from types import MappingProxyType

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from ...api.viriciti import DEFAULT_BASE_URL
from ...const import CONF_BASE_URL, CONF_VENDOR, LOGGER
from ...issues import async_delete_entry_issues, async_delete_legacy_issues
from ...migration import async_move_into_subentry
from .const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    DEFAULT_LIMIT_DURATION,
    DEFAULT_TITLE,
    SUBENTRY_GROUP,
)


async def async_migrate_viriciti(hass: HomeAssistant, entries: list[ConfigEntry]) -> None:
    """Merge version-1 ViriCiti entries into one version-2 entry per API key and address."""
    keys: dict[tuple[str, str], list[ConfigEntry]] = {}
    # Enabled entries first: a key's first entry becomes its parent.
    for entry in sorted(entries, key=lambda e: e.disabled_by is not None):
        key = (entry.data[CONF_API_KEY], entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL))
        keys.setdefault(key, []).append(entry)
    for (api_key, base_url), same_key in keys.items():
        parent = same_key[0]
        all_disabled = all(entry.disabled_by is not None for entry in same_key)
        for entry in same_key:
            _move_group(
                hass,
                entry,
                parent,
                moved_disabled=entry.disabled_by is not None and not all_disabled,
            )
        for entry in same_key:
            # Issues under ids of the old layout: a group still refusing raises its own again.
            async_delete_entry_issues(hass, entry)
            async_delete_legacy_issues(
                hass, f"viriciti_{entry.data[CONF_GROUP_ID]}_external_limits"
            )
        hass.config_entries.async_update_entry(
            parent,
            title=DEFAULT_TITLE,
            data={
                CONF_VENDOR: parent.data[CONF_VENDOR],
                CONF_API_KEY: api_key,
                CONF_BASE_URL: base_url,
            },
            options={},
            unique_id=None,
            version=2,
        )
        for entry in same_key[1:]:
            await hass.config_entries.async_remove(entry.entry_id)
        LOGGER.info("ViriCiti: %d group entries merged into one entry", len(same_key))


def _move_group(
    hass: HomeAssistant, entry: ConfigEntry, parent: ConfigEntry, *, moved_disabled: bool
) -> None:
    """Make ``entry``'s group a subentry of ``parent``, its devices and entities with it."""
    group_id: str = entry.data[CONF_GROUP_ID]
    subentry = ConfigSubentry(
        data=MappingProxyType(
            {
                CONF_GROUP_ID: group_id,
                CONF_TIME_ZONE: entry.options.get(CONF_TIME_ZONE) or hass.config.time_zone,
                CONF_DEFAULT_DURATION: entry.options.get(
                    CONF_DEFAULT_DURATION, DEFAULT_LIMIT_DURATION
                ),
            }
        ),
        subentry_type=SUBENTRY_GROUP,
        # The entry's title: "ViriCiti <group title>", or the name the user gave it.
        title=entry.title,
        unique_id=group_id,
    )
    async_move_into_subentry(hass, entry, parent, subentry, moved_disabled=moved_disabled)
