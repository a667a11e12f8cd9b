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
from ...const import CONF_BASE_URL, CONF_VENDOR
from ...migration import async_merge_into_subentries
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
    await async_merge_into_subentries(
        hass,
        entries,
        key_of=lambda entry: (
            str(entry.data[CONF_API_KEY]),
            str(entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL)),
        ),
        subentry_of=lambda entry: _group(hass, entry),
        legacy_issues_of=lambda entry: (f"viriciti_{entry.data[CONF_GROUP_ID]}_external_limits",),
        data_of=lambda key, parent: {
            CONF_VENDOR: parent.data[CONF_VENDOR],
            CONF_API_KEY: key[0],
            CONF_BASE_URL: key[1],
        },
        title=DEFAULT_TITLE,
        name="ViriCiti",
    )


def _group(hass: HomeAssistant, entry: ConfigEntry) -> ConfigSubentry:
    """Return the subentry of a version-1 entry's group; its options become its data."""
    group_id: str = entry.data[CONF_GROUP_ID]
    return ConfigSubentry(
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
