"""A real restart (Home Assistant stopped, not the entry unloaded) forgets no go-e read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import ATTR_VALUE, DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.vendors.goe.budget import SHARD_STORE_KEY, shard_of
from simulators.goe import GoeSimulator
from tests.conftest import travel
from tests.goe.fixtures import GOE_SERIAL
from tests.restarts import home_assistant_instances

NUMBER = "number.go_echarger_000123_charge_current"
STEP = timedelta(seconds=10)


def _saved(hass_storage: dict[str, Any]) -> dict[str, Any]:
    """Return the charger's record as its file holds it now."""
    stored = hass_storage[SHARD_STORE_KEY.format(index=shard_of(GOE_SERIAL))]
    return stored["data"]["chargers"][GOE_SERIAL]


@pytest.mark.usefixtures("hass")
async def test_a_restart_shows_the_last_read_without_a_read(
    goe_sim: GoeSimulator, goe_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The status read a minute before a restart is shown after it; no read is bought.

    A read saves nothing by itself (the budget was saved before it left), and stopping Home
    Assistant unloads no entry: without the write at the final-write stage the new start
    showed the status from before that read (the old current) until the next slot.
    """
    async with home_assistant_instances() as instances:
        hass = await instances.async_start(goe_entry)
        # The owner sets 14 A in the app; the regular read at 12:15 sees it.
        goe_sim.chargers[GOE_SERIAL].set_current = 14
        await travel(hass, freezer, timedelta(minutes=16), step=STEP)
        assert len(goe_sim.status_requests()) == 2
        assert hass.states.get(NUMBER).state == "14"

        hass = await instances.async_restart()
        assert len(goe_sim.status_requests()) == 2
        assert hass.states.get(NUMBER).state == "14"


async def test_a_verified_command_is_saved_at_once(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A command is in the file as applied once its read verified it, not at the next save.

    Otherwise Home Assistant ending before the next read (a crash, a power cut) brings the
    command back as still to be checked: reported applied a second time, or sent again.
    """
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: NUMBER, ATTR_VALUE: 10}, blocking=True
    )
    assert _saved(hass_storage)["commands"]["awaiting"]
    # The read a few seconds later verifies it.
    await travel(hass, freezer, timedelta(seconds=10), step=timedelta(seconds=1))
    assert [r.params.get("wait") for r in goe_sim.status_requests()] == [None, "1"]
    assert hass.states.get(NUMBER).state == "10"
    assert _saved(hass_storage)["commands"]["awaiting"] == []
