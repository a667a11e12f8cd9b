"""A refused grid token is fixed from its repair issue: the charger's new token, checked once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import RepairsFlowManager, repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.api.goe import GoeClient
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.issues import issue_id
from custom_components.ev_charge_control.repairs import async_create_fix_flow
from custom_components.ev_charge_control.vendors.goe.budget import STATUS_BURST
from custom_components.ev_charge_control.vendors.goe.const import CONF_GRID_TOKEN, CONF_SERIAL
from simulators.goe import GoeSimulator
from tests.conftest import secret, setup_entry, travel
from tests.flow import assert_form_translated
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN, goe_fleet_entry
from tests.goe.flows import ALL_STRINGS, FIX_STRINGS, assert_error

QUARTER = timedelta(minutes=15)
SECOND = "000456"
POWER = "sensor.go_echarger_000123_power"
SECOND_POWER = "sensor.go_echarger_000456_power"
NEW_TOKEN = secret("N3wT0kenN3wT0kenN3wT0kenN3wT0ken")


@pytest.fixture
async def fleet(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """Return a running go-e entry of two chargers; go-e has revoked the first one's token."""
    assert await async_setup_component(hass, "repairs", {})
    goe_sim.add_charger(SECOND, GOE_OTHER_TOKEN, car_connected=True, set_current=10)
    entry = await setup_entry(
        hass,
        goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN), (SECOND, GOE_OTHER_TOKEN)),
    )
    goe_sim.chargers[GOE_SERIAL].token = NEW_TOKEN
    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    return entry


def token_issue_id(entry: MockConfigEntry, serial: str = GOE_SERIAL) -> str:
    """Return the id of the repair issue that asks for a charger's new token."""
    (subentry_id,) = (s.subentry_id for s in entry.subentries.values() if s.unique_id == serial)
    return issue_id("goe_token_refused", entry, subentry_id)


def manager(hass: HomeAssistant) -> RepairsFlowManager:
    """Return Home Assistant's manager of fix flows."""
    flows = repairs_flow_manager(hass)
    assert flows is not None
    return flows


async def start_fix(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the issue's fix flow, as the Repairs page does; return its form."""
    result = await manager(hass).async_init(DOMAIN, data={"issue_id": token_issue_id(entry)})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "token"
    assert result["errors"] is None or result["errors"] == {}
    assert_form_translated(result, FIX_STRINGS)
    return result


async def fix(hass: HomeAssistant, result: Any, **user_input: Any) -> Any:
    """Submit the fix flow's form; what comes back must be translated."""
    result = await manager(hass).async_configure(result["flow_id"], user_input)
    assert_form_translated(result, FIX_STRINGS)
    return result


def token_of(entry: MockConfigEntry, serial: str) -> str:
    """Return the grid token a charger of the entry has."""
    (subentry,) = (s for s in entry.subentries.values() if s.unique_id == serial)
    return str(subentry.data[CONF_GRID_TOKEN])


async def test_the_issue_is_fixable_and_says_so(
    hass: HomeAssistant, fleet: MockConfigEntry
) -> None:
    """The issue offers its fix (its text is the fix flow's: an issue has one or the other)."""
    issue = ir.async_get(hass).async_get_issue(DOMAIN, token_issue_id(fleet))
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "goe_token_refused"
    assert "description" not in ALL_STRINGS["issues"]["goe_token_refused"]
    assert (
        "{serial}"
        in ALL_STRINGS["issues"]["goe_token_refused"]["fix_flow"]["step"]["token"]["description"]
    )
    # Only the refused charger has one.
    assert ir.async_get(hass).async_get_issue(DOMAIN, token_issue_id(fleet, SECOND)) is None


async def test_fix_with_the_new_token(
    hass: HomeAssistant, goe_sim: GoeSimulator, fleet: MockConfigEntry
) -> None:
    """The new token is checked with one read, saved, and the charger reads again."""
    before = fleet.runtime_data
    result = await start_fix(hass, fleet)
    assert result["description_placeholders"] == {
        "serial": GOE_SERIAL,
        "charger": f"go-e {GOE_SERIAL}",
    }
    reads = len(goe_sim.status_requests(GOE_SERIAL))
    result = await fix(hass, result, grid_token=f" {NEW_TOKEN} ")
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert token_of(fleet, GOE_SERIAL) == NEW_TOKEN
    assert token_of(fleet, SECOND) == GOE_OTHER_TOKEN
    assert ir.async_get(hass).async_get_issue(DOMAIN, token_issue_id(fleet)) is None
    # No reload: the running entry resumed that charger.
    assert fleet.state is ConfigEntryState.LOADED
    assert fleet.runtime_data is before
    assert hass.states.get(POWER).state == "11040"
    assert [r.token_ok for r in goe_sim.status_requests(GOE_SERIAL)[reads:]][:1] == [True]


async def test_fix_every_error_then_recovery(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    fleet: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Shape first (no request), then go-e's answers, each translated; then the token works.

    While the form is open the entry's other charger goes on reading.
    """
    result = await start_fix(hass, fleet)
    reads = len(goe_sim.status_requests(GOE_SERIAL))
    result = await fix(hass, result, grid_token="short")
    assert_error(result, "grid_token", "invalid_grid_token")
    assert len(goe_sim.status_requests(GOE_SERIAL)) == reads

    goe_sim.inject_fault("http_500", serial=GOE_SERIAL)
    result = await fix(hass, result, grid_token=NEW_TOKEN)
    assert_error(result, "base", "cannot_connect")

    # The charger's reads are spent (set-up, the refused read, this try): the form says
    # when, and asks go-e nothing.
    spent = len(goe_sim.status_requests(GOE_SERIAL))
    result = await fix(hass, result, grid_token=NEW_TOKEN)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"]["minutes"] == "15"
    assert len(goe_sim.status_requests(GOE_SERIAL)) == spent

    second_reads = len(goe_sim.status_requests(SECOND))
    await travel(hass, freezer, QUARTER * STATUS_BURST, step=QUARTER)
    assert len(goe_sim.status_requests(SECOND)) > second_reads
    assert hass.states.get(SECOND_POWER).state != STATE_UNAVAILABLE
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    # Nothing was asked with the refused token meanwhile.
    assert len(goe_sim.status_requests(GOE_SERIAL)) == spent

    result = await fix(hass, result, grid_token=GOE_TOKEN)
    assert_error(result, "base", "invalid_auth")
    assert result["description_placeholders"]["serial"] == GOE_SERIAL

    with patch.object(GoeClient, "status", side_effect=RuntimeError("boom")):
        result = await fix(hass, result, grid_token=NEW_TOKEN)
    assert_error(result, "base", "unknown")

    freezer.tick(QUARTER)
    result = await fix(hass, result, grid_token=NEW_TOKEN)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert token_of(fleet, GOE_SERIAL) == NEW_TOKEN
    assert ir.async_get(hass).async_get_issue(DOMAIN, token_issue_id(fleet)) is None
    assert hass.states.get(POWER).state != STATE_UNAVAILABLE
    assert hass.states.get(SECOND_POWER).state != STATE_UNAVAILABLE


async def test_fix_of_a_charger_removed_meanwhile(
    hass: HomeAssistant, goe_sim: GoeSimulator, fleet: MockConfigEntry
) -> None:
    """The charger is removed while the fix is open: nothing to fix, nothing asked."""
    result = await start_fix(hass, fleet)
    (subentry,) = (s for s in fleet.subentries.values() if s.unique_id == GOE_SERIAL)
    assert hass.config_entries.async_remove_subentry(fleet, subentry.subentry_id)
    await hass.async_block_till_done()
    reads = len(goe_sim.status_requests(GOE_SERIAL))
    result = await fix(hass, result, grid_token=NEW_TOKEN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "charger_removed"
    assert len(goe_sim.status_requests(GOE_SERIAL)) == reads
    assert [s.data[CONF_SERIAL] for s in fleet.subentries.values()] == [SECOND]


async def test_an_issue_without_a_fix_flow_is_an_error(hass: HomeAssistant) -> None:
    """The core finds the fix by the issue's key among the vendors'; none, none made up."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        "other",
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="command_failed",
    )
    with pytest.raises(ValueError, match="command_failed"):
        await async_create_fix_flow(hass, "other", None)
    with pytest.raises(ValueError, match="None"):
        await async_create_fix_flow(hass, "gone", None)
