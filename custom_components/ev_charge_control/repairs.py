"""The fixes of repair issues: each vendor's fix flow, found by the issue's translation key."""

from __future__ import annotations

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .vendors import VENDORS


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the flow that fixes the issue, from the vendor that raised it."""
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    key = issue.translation_key if issue is not None else None
    for vendor in VENDORS.values():
        if key is not None and (create := vendor.repair_flows.get(key)) is not None:
            return create(data)
    # Home Assistant asks only for fixable issues, and each has its vendor's flow.
    raise ValueError(f"No fix flow for the repair issue {key}")
