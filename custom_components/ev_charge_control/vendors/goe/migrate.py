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
from ...const import CONF_BASE_URL, CONF_VENDOR
from ...migration import async_merge_into_subentries
from .budget import PARAMETER_ALLOW, PARAMETER_CURRENT
from .const import CONF_GRID_TOKEN, CONF_SERIAL, DEFAULT_TITLE, SUBENTRY_CHARGER


async def async_migrate_goe(hass: HomeAssistant, entries: list[ConfigEntry]) -> None:
    """Merge version-1 go-e entries into one version-2 entry per API address."""
    await async_merge_into_subentries(
        hass,
        entries,
        key_of=lambda entry: str(entry.data.get(CONF_BASE_URL, DEFAULT_BASE_URL)),
        subentry_of=_charger,
        legacy_issues_of=lambda entry: (
            f"goe_{entry.data[CONF_SERIAL]}_{parameter}_failed"
            for parameter in (PARAMETER_CURRENT, PARAMETER_ALLOW)
        ),
        data_of=lambda base_url, parent: {
            CONF_VENDOR: parent.data[CONF_VENDOR],
            CONF_BASE_URL: base_url,
        },
        title=DEFAULT_TITLE,
        name="go-e",
    )


def _charger(entry: ConfigEntry) -> ConfigSubentry:
    """Return the subentry of a version-1 entry's charger."""
    serial: str = entry.data[CONF_SERIAL]
    return ConfigSubentry(
        data=MappingProxyType({CONF_SERIAL: serial, CONF_GRID_TOKEN: entry.data[CONF_GRID_TOKEN]}),
        subentry_type=SUBENTRY_CHARGER,
        # The entry's title: "go-e <serial>", or the name the user gave it.
        title=entry.title,
        unique_id=serial,
    )
