"""Real restarts in a test: Home Assistant stopped and a new one started on the same storage.

A reload unloads the entry, which saves what it holds; a restart does not (Home Assistant
stops without unloading its entries), so only what is already in a file, or waiting in a
delayed save written at the final-write stage, comes back. ``HomeAssistantInstances`` starts
each instance as the test plugin's ``hass`` fixture does, hands it the config entries as the
stopped one left them (tokens saved in an entry's data included), and stops it the way Home
Assistant stops: events, final writes, close. What the stopped instance left scheduled is
cancelled, as a process that ended would not run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from typing import Any

from homeassistant import loader
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
    get_scheduled_timer_handles,
)

from benchmarks.idle import block_till_idle
from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT


def as_saved(entry: ConfigEntry) -> MockConfigEntry:
    """Return the entry as the next start reads it from Home Assistant's own file."""
    return MockConfigEntry(
        domain=entry.domain,
        entry_id=entry.entry_id,
        title=entry.title,
        version=entry.version,
        minor_version=entry.minor_version,
        unique_id=entry.unique_id,
        data=dict(entry.data),
        options=dict(entry.options),
        subentries_data=[
            {
                "data": dict(subentry.data),
                "subentry_id": subentry.subentry_id,
                "subentry_type": subentry.subentry_type,
                "title": subentry.title,
                "unique_id": subentry.unique_id,
            }
            for subentry in entry.subentries.values()
        ],
    )


class HomeAssistantInstances:
    """One Home Assistant after another on the same (mocked) storage, with our entries."""

    def __init__(self) -> None:
        """Start with none running."""
        self.hass: HomeAssistant | None = None
        self.starts = 0
        self._context: contextlib.AbstractAsyncContextManager[HomeAssistant] | None = None
        self._saved: list[MockConfigEntry] = []
        self._before: set[asyncio.TimerHandle] = set()
        # The command results every instance fired, in order.
        self.results: list[dict[str, Any]] = []

    @property
    def entry(self) -> ConfigEntry:
        """Return the one entry of ours in the running instance."""
        assert self.hass is not None
        (entry,) = self.hass.config_entries.async_entries(DOMAIN)
        return entry

    async def async_start(self, *entries: MockConfigEntry) -> HomeAssistant:
        """Start a new Home Assistant with these entries (the first start) or the saved ones."""
        assert self.hass is None, "stop the running one first"
        loop = asyncio.get_running_loop()
        # Timers of the test's own hass fixture and of the simulators are not ours to end.
        self._before = set(get_scheduled_timer_handles(loop))
        self._context = async_test_home_assistant(loop)
        hass = self.hass = await self._context.__aenter__()
        # What the plugin's enable_custom_integrations and hass fixtures do to their instance.
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        frame.async_setup(hass)
        hass.bus.async_listen(
            EVENT_COMMAND_RESULT, lambda event: self.results.append(dict(event.data))
        )
        for entry in entries or self._saved:
            as_saved(entry).add_to_hass(hass)
        assert await async_setup_component(hass, DOMAIN, {})
        await block_till_idle(hass)
        self.starts += 1
        return hass

    async def async_stop(self) -> None:
        """Stop the running Home Assistant as a restart does: its entries stay loaded."""
        assert self.hass is not None
        assert self._context is not None
        hass = self.hass
        self._saved = [as_saved(entry) for entry in hass.config_entries.async_entries(DOMAIN)]
        await hass.async_stop()
        await self._context.__aexit__(None, None, None)
        # The process ended: nothing it scheduled runs any more.
        for handle in get_scheduled_timer_handles(hass.loop):
            if handle not in self._before:
                handle.cancel()
        self.hass = None
        self._context = None

    async def async_restart(self) -> HomeAssistant:
        """Stop the running Home Assistant and start a new one on the same storage."""
        await self.async_stop()
        return await self.async_start()


@contextlib.asynccontextmanager
async def home_assistant_instances() -> AsyncIterator[HomeAssistantInstances]:
    """Hand out the instances; the one running at the end is stopped."""
    instances = HomeAssistantInstances()
    try:
        yield instances
    finally:
        if instances.hass is not None:
            await instances.async_stop()
