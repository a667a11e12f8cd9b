"""From version 1 (an entry per charger) to version 2 (an entry per API address, a subentry per charger).

The chargers of all version-1 entries that reach go-e at the same address become subentries of
one entry, the first of them (an enabled one if there is one). Their devices and entities move
to it unchanged: identifiers, unique ids and entity ids stay, so history, dashboards and
automations go on; budgets and waiting commands are kept by serial and stay too. The other
entries are removed once nothing is left in them.
"""

from __future__ import annotations

from types import MappingProxyType

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant

from ...api.goe import DEFAULT_BASE_URL
from ...const import CONF_BASE_URL, CONF_VENDOR, LOGGER
from ...issues import async_delete_entry_issues, async_delete_legacy_issues
from ...migration import async_move_into_subentry
from .budget import PARAMETER_ALLOW, PARAMETER_CURRENT
from .const import CONF_GRID_TOKEN, CONF_SERIAL, DEFAULT_TITLE, SUBENTRY_CHARGER


async def async_migrate_goe(hass: HomeAssistant, entries: list[ConfigEntry]) -> None:
    """Merge version-1 go-e entries into one version-2 entry per API address."""
    groups: dict[str, list[ConfigEntry]] = {}
    # Enabled entries first: a group's first entry becomes its parent.
    for entry in sorted(entries, key=lambda e: e.disabled_by is not None):
        groups.setdefault(entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL), []).append(entry)
    for base_url, group in groups.items():
        parent = group[0]
        all_disabled = all(entry.disabled_by is not None for entry in group)
        for entry in group:
            _move_charger(
                hass,
                entry,
                parent,
                moved_disabled=entry.disabled_by is not None and not all_disabled,
            )
        for entry in group:
            # Issues under ids of the old layout: a still failing command raises its own again.
            async_delete_entry_issues(hass, entry)
            serial = entry.data[CONF_SERIAL]
            async_delete_legacy_issues(
                hass, *(f"goe_{serial}_{p}_failed" for p in (PARAMETER_CURRENT, PARAMETER_ALLOW))
            )
        hass.config_entries.async_update_entry(
            parent,
            title=DEFAULT_TITLE,
            data={CONF_VENDOR: parent.data[CONF_VENDOR], CONF_BASE_URL: base_url},
            unique_id=None,
            version=2,
        )
        for entry in group[1:]:
            await hass.config_entries.async_remove(entry.entry_id)
        LOGGER.info("go-e: %d charger entries merged into one entry", len(group))


def _move_charger(
    hass: HomeAssistant, entry: ConfigEntry, parent: ConfigEntry, *, moved_disabled: bool
) -> None:
    """Make ``entry``'s charger a subentry of ``parent``, its device and entities with it."""
    serial: str = entry.data[CONF_SERIAL]
    subentry = ConfigSubentry(
        data=MappingProxyType({CONF_SERIAL: serial, CONF_GRID_TOKEN: entry.data[CONF_GRID_TOKEN]}),
        subentry_type=SUBENTRY_CHARGER,
        # The entry's title: "go-e <serial>", or the name the user gave it.
        title=entry.title,
        unique_id=serial,
    )
    async_move_into_subentry(hass, entry, parent, subentry, moved_disabled=moved_disabled)
