"""The running side of a go-e config entry."""

from __future__ import annotations

from typing import Any

from homeassistant.const import (
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...api.goe import GoeClient
from ...const import CONF_BASE_URL
from ...issues import async_delete_legacy_issues
from ...runtime import EntitySpec, EvChargeConfigEntry, VendorRuntime
from ...session import async_get_session
from .budget import PARAMETER_ALLOW, PARAMETER_CURRENT, async_get_goe_budget
from .const import CONF_GRID_TOKEN, CONF_SERIAL
from .coordinator import GoeCoordinator
from .descriptions import DESCRIPTIONS


class GoeRuntime(VendorRuntime):
    """The running side of one go-e config entry (one charger)."""

    platforms = (Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH)

    def __init__(self, coordinator: GoeCoordinator) -> None:
        super().__init__()
        self.coordinator = coordinator

    def entity_specs(self, platform: Platform) -> list[EntitySpec]:
        """Return the entities of a platform."""
        return [
            (self.coordinator, description)
            for description in DESCRIPTIONS.get(platform, ())
            if description.exists_fn(self.coordinator)
        ]

    async def async_start(self) -> None:
        """Fetch or restore the first status."""
        await self.coordinator.async_start()

    async def async_stop(self) -> None:
        """Cancel timers and save the queue."""
        await self.coordinator.async_stop()

    def diagnostics(self) -> dict[str, Any]:
        """Return the charger's state, budget and queue."""
        coordinator = self.coordinator
        data = coordinator.data
        return {
            "client": repr(coordinator.client),
            "status": data.status.as_dict() if data else None,
            "fetched_at": dt_util.utc_from_timestamp(data.fetched_at).isoformat() if data else None,
            "last_update_success": coordinator.last_update_success,
            "status_budget": coordinator.budget.status.as_dict(),
            "commands": coordinator.queue.as_dict(),
        }


async def async_setup_goe(hass: HomeAssistant, entry: EvChargeConfigEntry) -> GoeRuntime:
    """Build the runtime of a go-e config entry."""
    serial: str = entry.data[CONF_SERIAL]
    async_delete_legacy_issues(
        hass,
        *(f"goe_{serial}_{parameter}_failed" for parameter in (PARAMETER_CURRENT, PARAMETER_ALLOW)),
    )
    client = GoeClient(
        async_get_session(hass),
        serial,
        entry.data[CONF_GRID_TOKEN],
        base_url=entry.data[CONF_BASE_URL],
    )
    budget = await async_get_goe_budget(hass, serial)
    return GoeRuntime(GoeCoordinator(hass, entry, client, budget))
