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
from ...issues import async_delete_entry_issues
from ...runtime import EntitySpec, EvChargeConfigEntry, VendorRuntime
from ...session import async_get_session
from .budget import async_drop_commands, async_get_goe_budget
from .const import CONF_GRID_TOKEN, CONF_SERIAL, SUBENTRY_CHARGER
from .coordinator import GoeCoordinator
from .descriptions import DESCRIPTIONS


class GoeRuntime(VendorRuntime):
    """The running side of one go-e config entry: a coordinator per charger subentry.

    Chargers added, removed or given a new token while the entry runs are followed here,
    without a reload: a fleet of thousands is never set up again for one charger.
    """

    platforms = (Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SENSOR, Platform.SWITCH)
    follows_subentries = True

    def __init__(self, hass: HomeAssistant, entry: EvChargeConfigEntry) -> None:
        super().__init__()
        self._hass = hass
        self._entry = entry
        self._data = dict(entry.data)
        # By subentry id; the subentry's data each coordinator was built or last updated with.
        self.coordinators: dict[str, GoeCoordinator] = {}
        self._built_from: dict[str, Mapping[str, Any]] = {}

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

    def _chargers(self, entry: ConfigEntry[Any]) -> dict[str, ConfigSubentry]:
        return {
            subentry_id: subentry
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == SUBENTRY_CHARGER
        }

    async def async_start(self) -> None:
        """Build every charger's coordinator, then show or read each one's first status.

        The reads go out together (each within its own charger's budget): a fleet's set-up
        takes about as long as its slowest charger, not the sum of all.
        """
        for subentry_id, subentry in self._chargers(self._entry).items():
            self.coordinators[subentry_id] = await self._async_coordinator(subentry)
            self._built_from[subentry_id] = subentry.data
        await asyncio.gather(*(c.async_start() for c in self.coordinators.values()))

    async def async_stop(self) -> None:
        """Cancel timers and save the queues."""
        await asyncio.gather(*(c.async_stop() for c in self.coordinators.values()))

    async def async_entry_updated(self, entry: ConfigEntry[Any]) -> None:
        """Follow the chargers: start the added, stop the removed, give new tokens.

        Home Assistant calls this once per change, as concurrent tasks (a bulk add is a
        thousand of them): each change is claimed before the first await, so no charger is
        started twice.
        """
        if dict(entry.data) != self._data:
            # A new API address reaches every charger: set the entry up again.
            self._hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        chargers = self._chargers(entry)
        for subentry_id in [s for s in self._built_from if s not in chargers]:
            # Home Assistant has removed the charger's device and entities already.
            del self._built_from[subentry_id]
            async_delete_entry_issues(self._hass, entry, subentry_id)
            if (coordinator := self.coordinators.pop(subentry_id, None)) is not None:
                await coordinator.async_remove()
        for subentry_id, subentry in chargers.items():
            built_from = self._built_from.get(subentry_id)
            if built_from is subentry.data:
                continue
            self._built_from[subentry_id] = subentry.data
            if built_from is None:
                await self._async_add(subentry)
            elif built_from.get(CONF_GRID_TOKEN) != subentry.data[CONF_GRID_TOKEN] and (
                coordinator := self.coordinators.get(subentry_id)
            ):
                # (Not started yet: ``_async_add`` gives it the new token once it is.)
                await coordinator.async_new_token(subentry.data[CONF_GRID_TOKEN])

    async def _async_add(self, subentry: ConfigSubentry) -> None:
        subentry_id = subentry.subentry_id
        coordinator = await self._async_coordinator(subentry)
        if subentry_id not in self._built_from:
            return  # removed while its budget loaded
        self.coordinators[subentry_id] = coordinator
        await coordinator.async_start()
        if self.coordinators.get(subentry_id) is not coordinator:
            return  # removed (and stopped) while it read its first status
        if self._built_from[subentry_id] is not subentry.data:
            # A new token came while it started: the flow that changed it checked it.
            await coordinator.async_new_token(self._built_from[subentry_id][CONF_GRID_TOKEN])
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
