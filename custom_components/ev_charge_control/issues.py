"""Repair issues that name no charger: ids from the config entry, a link to the device page.

Home Assistant adds every repair issue of the integration to a downloaded diagnostics dump as
it is, unredacted, and keeps an issue's id in its registry across restarts even once the issue
is no longer shown. So an issue's id and texts hold nothing the dump hides (a serial, a group's
id or title, an account): the id is made from the config entry's id, and the text links to the
device's page, whose address is the device registry's id, instead of naming the device.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .coordinator import async_device_id


def issue_id(name: str, entry: ConfigEntry, *parts: str) -> str:
    """Return the id of the repair issue ``name`` of a config entry (``parts`` tell it apart)."""
    return "_".join((name, entry.entry_id, *parts))


@callback
def device_url(hass: HomeAssistant, entry: ConfigEntry, unique_id_prefix: str) -> str:
    """Return the address of the entry's device's page, else of the integration's (no device)."""
    device_id = async_device_id(hass, entry, unique_id_prefix)
    if device_id is None:
        return f"/config/integrations/integration/{DOMAIN}"
    return f"/config/devices/device/{device_id}"


@callback
def async_delete_legacy_issues(hass: HomeAssistant, *issue_ids: str) -> None:
    """Delete the issues an older version raised under ids that named a serial or an account."""
    for legacy in issue_ids:
        ir.async_delete_issue(hass, DOMAIN, legacy)


@callback
def async_delete_entry_issues(
    hass: HomeAssistant, entry: ConfigEntry, subentry_id: str | None = None
) -> None:
    """Delete every repair issue of a config entry, or of one of its subentries: it is removed.

    Their ids hold the entry's id (and the subentry's, for an issue of a subentry's device).
    """
    for domain, found in list(ir.async_get(hass).issues):
        if (
            domain == DOMAIN
            and entry.entry_id in found
            and (subentry_id is None or subentry_id in found)
        ):
            ir.async_delete_issue(hass, DOMAIN, found)
