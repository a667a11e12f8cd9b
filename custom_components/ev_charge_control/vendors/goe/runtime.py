"""The running side of a go-e config entry: one grid-operator access, its chargers subentries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...api.goe import GoeClient
from ...const import CONF_BASE_URL
from ...runtime import EntitySpec, EvChargeConfigEntry, SubentryRuntime
from ...session import async_get_session
from .budget import async_drop_commands, async_get_goe_budget
from .const import CONF_GRID_TOKEN, CONF_SERIAL, SUBENTRY_CHARGER
from .coordinator import GoeCoordinator
from .descriptions import DESCRIPTIONS


class GoeRuntime(SubentryRuntime):
    """The running side of one go-e config entry: a coordinator per charger subentry.

    Chargers added, removed or given a new token while the entry runs are followed here,
    without a reload: a fleet of thousands is never set up again for one charger.
    """

    platforms = (Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH)
    subentry_type = SUBENTRY_CHARGER

    def __init__(self, hass: HomeAssistant, entry: EvChargeConfigEntry) -> None:
        super().__init__(hass, entry)
        # By subentry id.
        self.coordinators: dict[str, GoeCoordinator] = {}

    def entity_specs(self, platform: Platform) -> list[EntitySpec]:
        """Return the entities of a platform, of every charger."""
        return [
            spec
            for coordinator in self.coordinators.values()
            for spec in self._specs(coordinator, platform)
        ]

    @staticmethod
    def _specs(coordinator: GoeCoordinator, platform: Platform) -> list[EntitySpec]:
        return [
            (coordinator, description)
            for description in DESCRIPTIONS.get(platform, ())
            if description.exists_fn(coordinator)
        ]

    async def _async_coordinator(self, subentry: ConfigSubentry) -> GoeCoordinator:
        serial: str = subentry.data[CONF_SERIAL]
        client = GoeClient(
            async_get_session(self._hass),
            serial,
            subentry.data[CONF_GRID_TOKEN],
            base_url=self._data[CONF_BASE_URL],
        )
        budget = await async_get_goe_budget(self._hass, serial)
        return GoeCoordinator(self._hass, self._entry, subentry, client, budget)

    async def async_start(self) -> None:
        """Build every charger's coordinator, then show or read each one's first status.

        The reads go out together (each within its own charger's budget): a fleet's set-up
        takes about as long as its slowest charger, not the sum of all.
        """
        for subentry_id, subentry in self.subentries(self._entry).items():
            self.coordinators[subentry_id] = await self._async_coordinator(subentry)
            self.claim(subentry)
        await asyncio.gather(*(c.async_start() for c in self.coordinators.values()))

    async def async_stop(self) -> None:
        """Cancel timers and save the queues."""
        await asyncio.gather(*(c.async_stop() for c in self.coordinators.values()))

    async def async_subentry_removed(self, subentry_id: str) -> None:
        """Stop a deleted charger for good: its waiting commands go with it."""
        if (coordinator := self.coordinators.pop(subentry_id, None)) is not None:
            await coordinator.async_remove()

    async def async_subentry_changed(
        self, subentry: ConfigSubentry, before: Mapping[str, Any]
    ) -> None:
        """Give a charger its new grid token (a new name is the user's to show)."""
        token = subentry.data[CONF_GRID_TOKEN]
        if before.get(CONF_GRID_TOKEN) != token and (
            coordinator := self.coordinators.get(subentry.subentry_id)
        ):
            # (Not started yet: ``async_subentry_added`` gives it the new token once it is.)
            await coordinator.async_new_token(token)

    async def async_subentry_added(self, subentry: ConfigSubentry) -> None:
        """Start a charger added while the entry runs, then add its entities."""
        subentry_id = subentry.subentry_id
        coordinator = await self._async_coordinator(subentry)
        if not self.is_current(subentry_id):
            return  # removed while its budget loaded
        self.coordinators[subentry_id] = coordinator
        await coordinator.async_start()
        if self.coordinators.get(subentry_id) is not coordinator:
            return  # removed (and stopped) while it read its first status
        if (newest := self.built_from(subentry_id)) is not subentry.data:
            # A new token came while it started: the flow that changed it checked it.
            await coordinator.async_new_token(newest[CONF_GRID_TOKEN])
        for platform in self.platforms:
            self.async_add_specs(platform, self._specs(coordinator, platform))

    def diagnostics(self) -> dict[str, Any]:
        """Return each charger's state, budget and queue."""
        return {
            "chargers": [
                {
                    "client": repr(coordinator.client),
                    "status": data.status.as_dict() if (data := coordinator.data) else None,
                    "fetched_at": (
                        dt_util.utc_from_timestamp(data.fetched_at).isoformat() if data else None
                    ),
                    "last_update_success": coordinator.last_update_success,
                    "token_refused": coordinator.token_refused,
                    "status_budget": coordinator.budget.status.as_dict(),
                    "commands": coordinator.queue.as_dict(),
                }
                for coordinator in self.coordinators.values()
            ]
        }


async def async_setup_goe(hass: HomeAssistant, entry: EvChargeConfigEntry) -> GoeRuntime:
    """Build the runtime of a go-e config entry (its chargers start in ``async_start``)."""
    return GoeRuntime(hass, entry)


async def async_remove_goe_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Drop what the deleted entry's chargers left waiting; their budgets stay."""
    if entry.version < 2:
        # Merged into another entry by the move to version 2 (migrate.py): it lives on there.
        return
    await async_drop_commands(
        hass,
        [
            subentry.data[CONF_SERIAL]
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_CHARGER
        ],
    )
