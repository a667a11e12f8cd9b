"""Adding a go-e access with its first charger, adding chargers, new tokens, a new address."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.api.goe import GoeClient
from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED
from custom_components.ev_charge_control.vendors.goe.budget import (
    STATUS_BURST,
    async_get_goe_budget,
)
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    DEFAULT_TITLE,
    SUBENTRY_CHARGER,
    VENDOR_GOE,
)
from simulators.goe import GoeSimulator
from tests.conftest import secret, setup_entry, travel
from tests.flow import (
    assert_advanced_section,
    at,
    closed_port_url,
    form_defaults,
    start_reconfigure_form,
    start_vendor_flow,
    submit_form,
    suggested,
)
from tests.goe import flows
from tests.goe.fixtures import (
    GOE_OTHER_TOKEN,
    GOE_SERIAL,
    GOE_TOKEN,
    goe_fleet_entry,
    only_charger,
)
from tests.goe.flows import (
    CHARGER_STRINGS,
    STRINGS,
    assert_error,
    start_charger_flow,
    start_charger_reconfigure,
    submit_charger,
)

goe_cloud = flows.goe_cloud
real_cloud = flows.real_cloud

QUARTER = timedelta(minutes=15)
# go-e's grid-operator cloud: the address the form offers unless the user changes it.
CLOUD = "https://api-grid-operator.go-e.co"
SECOND = "000456"
SECOND_TOKEN = secret("Sec0ndT0kenSec0ndT0kenSec0ndT0ke")


@pytest.fixture
async def other_goe_sim(socket_enabled: None) -> AsyncGenerator[GoeSimulator]:
    """Start a second go-e API (a test system) with the same charger, charging at 10 A."""
    sim = GoeSimulator(latency_scale=0)
    sim.add_charger(GOE_SERIAL, GOE_TOKEN, car_connected=True, set_current=10)
    await sim.start()
    yield sim
    await sim.stop()


async def start_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow, pick go-e in the menu and return its form."""
    return await start_vendor_flow(hass, VENDOR_GOE, STRINGS)


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, **user_input: Any
) -> ConfigFlowResult:
    """Submit a form as the frontend does; what comes back must be translated."""
    return await submit_form(hass, result, STRINGS, **user_input)


def assert_created(
    result: ConfigFlowResult,
    *,
    token: str = GOE_TOKEN,
    base_url: str | None = None,
    name: str | None = None,
) -> ConfigSubentry:
    """Check the new entry: go-e's access with the charger 000123 and the given token."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title == DEFAULT_TITLE
    assert entry.version == 2
    assert set(entry.data) == {CONF_VENDOR, CONF_BASE_URL}
    assert entry.data[CONF_VENDOR] == VENDOR_GOE
    if base_url is not None:
        assert entry.data[CONF_BASE_URL] == base_url
    charger = only_charger(entry)
    assert charger.subentry_type == SUBENTRY_CHARGER
    assert charger.unique_id == GOE_SERIAL
    assert charger.title == (name or f"go-e {GOE_SERIAL}")
    assert dict(charger.data) == {CONF_SERIAL: GOE_SERIAL, CONF_GRID_TOKEN: token} | (
        {CONF_NAME: name} if name else {}
    )
    return charger


def fleet(goe_sim: GoeSimulator) -> MockConfigEntry:
    """Return a go-e entry at the simulator with the charger 000123."""
    return goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN))


# The entry: go-e's access and its first charger


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_creates_entry(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """Serial and token are checked with one status read and become the entry's charger."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result, base_url=goe_sim.base_url)
    [request] = goe_sim.status_requests()
    assert request.token_ok
    assert goe_sim.command_requests() == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_the_first_charger_may_have_a_name(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A name given is the charger's title (and kept in its data); spaces around it go."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, name="  Garage ")
    assert_created(result, name="Garage")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_serial_and_token_are_cleaned_up(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A serial typed short or with spaces, and a token pasted with spaces, still work."""
    result = await start_flow(hass)
    result = await submit(
        hass, result, serial=" 123 ", grid_token=f" {GOE_TOKEN[:16]} {GOE_TOKEN[16:]}\n"
    )
    assert_created(result)
    assert goe_sim.status_requests()[0].serial == GOE_SERIAL


@pytest.mark.usefixtures("mock_setup_entry")
async def test_invalid_serial(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A serial with a letter is refused on the form, before any request."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial="12345a", grid_token=GOE_TOKEN)
    assert_error(result, CONF_SERIAL, "invalid_serial")
    # What was typed stays in the form, so it can be corrected rather than retyped.
    assert form_defaults(result, grid_token=GOE_TOKEN)[CONF_SERIAL] == "12345a"
    assert goe_sim.requests == []

    result = await submit(hass, result, serial="123", grid_token=GOE_TOKEN)
    assert_created(result)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_invalid_grid_token(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A token of the wrong length is refused on the form, before any request."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN[:31])
    assert_error(result, CONF_GRID_TOKEN, "invalid_grid_token")
    assert goe_sim.requests == []

    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_invalid_serial_and_token_together(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Both mistakes are shown at once, not one after the other."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial="1234567", grid_token="token")
    assert result["errors"] == {
        CONF_SERIAL: "invalid_serial",
        CONF_GRID_TOKEN: "invalid_grid_token",
    }
    assert goe_sim.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_invalid_auth(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A token go-e refuses shows invalid_auth; the right one then creates the entry."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
    assert_error(result, "base", "invalid_auth")
    assert form_defaults(result, grid_token=GOE_TOKEN)[CONF_SERIAL] == GOE_SERIAL

    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    assert [r.token_ok for r in goe_sim.status_requests()] == [False, True]


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("kind", ["http_500", "non_json", "drop"])
async def test_cannot_connect(hass: HomeAssistant, goe_sim: GoeSimulator, kind: str) -> None:
    """A broken answer or lost connection shows cannot_connect; trying again works."""
    goe_sim.inject_fault(kind)
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_error(result, "base", "cannot_connect")

    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    assert [r.result for r in goe_sim.status_requests()] == [kind, "ok"]


@pytest.mark.usefixtures("mock_setup_entry", "socket_enabled")
async def test_cannot_connect_to_base_url(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """An API address where nothing answers shows cannot_connect; a working one is kept."""
    result = await start_flow(hass)
    result = await submit(
        hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, advanced=at(closed_port_url())
    )
    assert_error(result, "base", "cannot_connect")
    assert goe_sim.requests == []

    result = await submit(
        hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, advanced=at(f"{goe_sim.base_url}/")
    )
    # Saved without the trailing slash, so paths are not doubled.
    assert_created(result, base_url=goe_sim.base_url)
    assert len(goe_sim.status_requests()) == 1


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    "base_url", ["ftp://x", "not an address", "http://", "", "http://[::1", "http://a:99999"]
)
async def test_invalid_base_url(hass: HomeAssistant, goe_sim: GoeSimulator, base_url: str) -> None:
    """Only an http(s) address is accepted in the advanced section, before any request."""
    result = await start_flow(hass)
    result = await submit(
        hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, advanced=at(base_url)
    )
    # The error is shown on the section, where the address was typed.
    assert_error(result, ADVANCED, "invalid_base_url")
    assert goe_sim.requests == []

    result = await submit(
        hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, advanced=at(goe_sim.base_url)
    )
    assert_created(result, base_url=goe_sim.base_url)
    assert len(goe_sim.status_requests()) == 1


@pytest.mark.usefixtures("real_cloud")
async def test_base_url_is_in_a_collapsed_advanced_section(hass: HomeAssistant) -> None:
    """The form asks for the charger; the API address waits, folded, in 'Advanced'."""
    result = await start_flow(hass)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_SERIAL,
        CONF_GRID_TOKEN,
        CONF_NAME,
        ADVANCED,
    ]
    assert_advanced_section(result, CLOUD)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_rate_limited_by_the_cloud(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """go-e's 'rate limiting' says how long to wait; the next try sends nothing.

    It adds the charger unchecked instead: its first read, after go-e's wait, checks the token.
    """
    goe_sim.inject_fault("rate_limiting")
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": "15"}

    # Trying again at once would only make go-e angrier: no request goes out.
    freezer.tick(timedelta(minutes=1))
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    assert result["description"] == "unchecked"
    first_read = dt_util.as_local(dt_util.utcnow() + QUARTER - timedelta(minutes=1))
    assert result["description_placeholders"] == {"time": first_read.strftime("%H:%M")}
    assert [r.result for r in goe_sim.status_requests()] == ["rate_limiting"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_two_mistyped_tokens_do_not_lock_the_charger_out(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Two refused tries spend the budget; the third adds the charger unchecked, without a read.

    The "added" dialog says when the first read, which checks the token, goes out.
    """
    result = await start_flow(hass)
    for _ in range(STATUS_BURST):
        result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
        assert_error(result, "base", "invalid_auth")
    assert len(goe_sim.status_requests()) == STATUS_BURST

    freezer.tick(timedelta(seconds=30))
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    assert result["description"] == "unchecked"
    # The bucket earns a read every 15 minutes from the last try on: 12:00:30 + 15 min, local.
    first_read = dt_util.as_local(dt_util.utcnow() + QUARTER - timedelta(seconds=30))
    assert result["description_placeholders"] == {"time": first_read.strftime("%H:%M")}
    assert len(goe_sim.status_requests()) == STATUS_BURST


@pytest.mark.parametrize(("token", "refused"), [(GOE_TOKEN, False), (GOE_OTHER_TOKEN, True)])
async def test_an_unchecked_charger_is_checked_by_its_first_allowed_read(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    token: str,
    refused: bool,
) -> None:
    """The charger added without a read waits for go-e's slot; a refused token raises its repair."""
    result = await start_flow(hass)
    for _ in range(STATUS_BURST):
        result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=token)
    assert result["description"] == "unchecked"
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    # Nothing is read before the slot, however the entry starts.
    assert len(goe_sim.status_requests()) == STATUS_BURST

    await travel(hass, freezer, QUARTER, step=timedelta(minutes=1))
    assert len(goe_sim.status_requests()) == STATUS_BURST + 1
    assert entry.state is ConfigEntryState.LOADED
    # No reauth of the entry: a refused token is the charger's own repair issue.
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    issues = [
        issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.translation_key == "goe_token_refused"
    ]
    assert len(issues) == refused
    assert all(issue.is_fixable for issue in issues)
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=1))
    # Within go-e's budget all along: one read per 15 minutes at most after the burst.
    assert len(goe_sim.status_requests()) <= STATUS_BURST + 1 + 4


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_read_that_never_left_costs_nothing(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """No connection (a failed name lookup, a closed port): the charger's budget is whole."""
    result = await start_flow(hass)
    for _ in range(3):
        result = await submit(
            hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, advanced=at(closed_port_url())
        )
        assert_error(result, "base", "cannot_connect")
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    assert budget.status.tokens == budget.status.capacity

    result = await submit(
        hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN, advanced=at(goe_sim.base_url)
    )
    assert_created(result)
    assert result.get("description") is None


@pytest.mark.usefixtures("mock_setup_entry")
async def test_unknown_error(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A bug while validating shows 'unknown' instead of a broken form; a retry works."""
    with patch.object(GoeClient, "status", side_effect=RuntimeError("boom")):
        result = await start_flow(hass)
        result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_error(result, "base", "unknown")

    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_charger_offline_still_creates_entry(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """'error getting data' means the token is good and the charger offline: it is added."""
    goe_sim.inject_fault("error_getting_data")
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    assert [r.result for r in goe_sim.status_requests()] == ["error_getting_data"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_already_configured(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """A charger of any go-e entry (here one at another address) is not added twice."""
    goe_fleet_entry(
        "http://127.0.0.1:9", (SECOND, SECOND_TOKEN), (GOE_SERIAL, GOE_TOKEN)
    ).add_to_hass(hass)
    result = await start_flow(hass)
    result = await submit(hass, result, serial=" 123", grid_token=GOE_TOKEN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert goe_sim.requests == []
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    assert budget.status.tokens == budget.status.capacity


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_serial_of_another_vendor_is_no_go_e_charger(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Only go-e chargers count: an entry of another vendor with the same id blocks nothing."""
    MockConfigEntry(domain=DOMAIN, unique_id=GOE_SERIAL, data={CONF_VENDOR: "easee"}).add_to_hass(
        hass
    )
    result = await submit(hass, await start_flow(hass), serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_form_left_open_does_not_block_the_charger(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A form left with an error (a reloaded page) does not stop a new one adding the charger.

    Whichever finishes first adds it; the other is told it is set up, before any request.
    """
    first = await start_flow(hass)
    first = await submit(hass, first, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
    assert_error(first, "base", "invalid_auth")

    second = await start_flow(hass)
    second = await submit(hass, second, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(second)

    first = await submit(hass, first, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert first["type"] is FlowResultType.ABORT
    assert first["reason"] == "already_configured"
    third = await submit(hass, await start_flow(hass), serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert third["type"] is FlowResultType.ABORT
    assert third["reason"] == "already_configured"
    assert len(goe_sim.status_requests()) == 2
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_what_was_typed_stays_after_an_error(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """After a refused token the form keeps the serial, the token and the address typed."""
    result = await start_flow(hass)
    result = await submit(
        hass,
        result,
        serial=GOE_SERIAL,
        grid_token=GOE_OTHER_TOKEN,
        name="Garage",
        advanced=at(goe_sim.base_url),
    )
    assert_error(result, "base", "invalid_auth")
    assert suggested(result) == {
        CONF_SERIAL: GOE_SERIAL,
        CONF_GRID_TOKEN: GOE_OTHER_TOKEN,
        CONF_NAME: "Garage",
        ADVANCED: {CONF_BASE_URL: goe_sim.base_url},
    }
    # A fresh form suggests nothing.
    assert suggested(await start_flow(hass)) == {ADVANCED: {}}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_validation_spends_the_shared_budget(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """The validating read counts against the charger's budget and its status is kept."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    assert budget.status.tokens == budget.status.capacity - 1
    assert budget.last_status is not None
    assert budget.last_status.set_current == 16


async def test_adding_the_entry_costs_one_read(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """The new entry starts from the status the flow read, without a second request."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].state is ConfigEntryState.LOADED
    assert len(goe_sim.status_requests()) == 1
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"


# The entry's Reconfigure: the API address of all its chargers


@pytest.mark.usefixtures("mock_setup_entry", "socket_enabled")
async def test_reconfigure_base_url(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """The address is all the entry's form asks; a bad one is refused, nothing is read."""
    entry = goe_fleet_entry(closed_port_url(), (GOE_SERIAL, GOE_TOKEN))
    entry.add_to_hass(hass)
    result = await start_reconfigure_form(hass, entry, "goe_reconfigure", STRINGS)
    assert [str(field) for field in result["data_schema"].schema] == [ADVANCED]
    # The form offers the address the entry has now.
    assert_advanced_section(result, entry.data[CONF_BASE_URL])

    result = await submit(hass, result, advanced=at("ftp://x"))
    assert_error(result, ADVANCED, "invalid_base_url")

    result = await submit(hass, result, advanced=at(f"{goe_sim.base_url}/"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {CONF_VENDOR: VENDOR_GOE, CONF_BASE_URL: goe_sim.base_url}
    # The chargers and their tokens stay.
    assert only_charger(entry).data[CONF_GRID_TOKEN] == GOE_TOKEN
    assert goe_sim.requests == []


async def test_reconfigure_of_a_loaded_entry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goe_sim: GoeSimulator,
    other_goe_sim: GoeSimulator,
) -> None:
    """Moved to another API, the entry is set up again and reads from there only."""
    entry = await setup_entry(hass, fleet(goe_sim))
    before = entry.runtime_data
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"
    result = await start_reconfigure_form(hass, entry, "goe_reconfigure", STRINGS)
    result = await submit(hass, result, advanced=at("not an address"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert entry.runtime_data is before

    result = await submit(hass, result, advanced=at(other_goe_sim.base_url))
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not before
    await travel(hass, freezer, QUARTER)
    assert hass.states.get("sensor.go_echarger_000123_power").state == "6900"
    assert len(goe_sim.status_requests()) == 1
    assert other_goe_sim.status_requests()


# Add charger: one charger


async def add_one(hass: HomeAssistant, entry: MockConfigEntry, **user_input: Any) -> Any:
    """Open Add charger > One charger and submit the form."""
    return await submit_charger(hass, await start_charger_flow(hass, entry), **user_input)


def assert_charger_added(result: Any, entry: MockConfigEntry, serial: str, token: str) -> None:
    """Check the flow added the charger to the entry, its serial the unique id."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == serial
    (charger,) = (s for s in entry.subentries.values() if s.unique_id == serial)
    assert charger.subentry_type == SUBENTRY_CHARGER
    assert charger.title == f"go-e {serial}"
    assert dict(charger.data) == {CONF_SERIAL: serial, CONF_GRID_TOKEN: token}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_add_charger(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """Add charger reads the new charger once, at the entry's address, and adds it."""
    goe_sim.add_charger(SECOND, SECOND_TOKEN)
    entry = fleet(goe_sim)
    entry.add_to_hass(hass)
    result = await start_charger_flow(hass, entry)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_SERIAL,
        CONF_GRID_TOKEN,
        CONF_NAME,
    ]
    result = await submit_charger(hass, result, serial="456", grid_token=SECOND_TOKEN, name="")
    assert_charger_added(result, entry, SECOND, SECOND_TOKEN)
    assert [r.serial for r in goe_sim.status_requests()] == [SECOND]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_add_charger_every_error_then_recovery(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Shapes first (no request), then go-e's answers, each translated; then it is added."""
    goe_sim.add_charger(SECOND, SECOND_TOKEN)
    entry = fleet(goe_sim)
    entry.add_to_hass(hass)
    result = await start_charger_flow(hass, entry)
    result = await submit_charger(hass, result, serial="45a", grid_token="short")
    assert result["errors"] == {
        CONF_SERIAL: "invalid_serial",
        CONF_GRID_TOKEN: "invalid_grid_token",
    }
    assert suggested(result)[CONF_SERIAL] == "45a"
    assert goe_sim.requests == []

    goe_sim.inject_fault("http_500")
    result = await submit_charger(hass, result, serial=SECOND, grid_token=SECOND_TOKEN)
    assert_error(result, "base", "cannot_connect")

    with patch.object(GoeClient, "status", side_effect=RuntimeError("boom")):
        result = await submit_charger(hass, result, serial=SECOND, grid_token=SECOND_TOKEN)
    assert_error(result, "base", "unknown")

    # Each try spent a read of the charger's budget; go-e gives one back a quarter later.
    freezer.tick(QUARTER)
    result = await submit_charger(hass, result, serial=SECOND, grid_token=GOE_OTHER_TOKEN)
    assert_error(result, "base", "invalid_auth")
    assert result["description_placeholders"] == {}

    # Its budget is spent now: go-e's first read of the charger checks the token.
    freezer.tick(timedelta(minutes=1))
    result = await submit_charger(hass, result, serial=SECOND, grid_token=SECOND_TOKEN)
    assert_charger_added(result, entry, SECOND, SECOND_TOKEN)
    assert result["description"] == "unchecked"
    assert set(result["description_placeholders"]) == {"time"}
    assert len(goe_sim.status_requests(SECOND)) == STATUS_BURST


@pytest.mark.usefixtures("mock_setup_entry")
async def test_add_charger_rate_limited_by_the_cloud(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """go-e's 'rate limiting' says how long to wait, in minutes."""
    goe_sim.add_charger(SECOND, SECOND_TOKEN)
    entry = fleet(goe_sim)
    entry.add_to_hass(hass)
    goe_sim.inject_fault("rate_limiting")
    result = await add_one(hass, entry, serial=SECOND, grid_token=SECOND_TOKEN)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": "15"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_add_charger_already_configured_in_any_entry(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A charger of this entry or of another go-e entry is not added again, nor read."""
    entry = fleet(goe_sim)
    entry.add_to_hass(hass)
    other = goe_fleet_entry("http://127.0.0.1:9", (SECOND, SECOND_TOKEN))
    other.add_to_hass(hass)
    for serial, token in ((GOE_SERIAL, GOE_TOKEN), (SECOND, SECOND_TOKEN)):
        result = await add_one(hass, entry, serial=serial, grid_token=token)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    assert goe_sim.requests == []
    assert len(entry.subentries) == 1


async def test_an_added_charger_starts_without_a_reload(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """The running entry takes the new charger in: its entities appear, the others stay."""
    goe_sim.add_charger(SECOND, SECOND_TOKEN, car_connected=True, set_current=10)
    entry = await setup_entry(hass, fleet(goe_sim))
    before = entry.runtime_data
    result = await add_one(hass, entry, serial=SECOND, grid_token=SECOND_TOKEN, name="Garage")
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.runtime_data is before
    assert hass.states.get("sensor.garage_power") is not None
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"
    # The flow's read is the new charger's first status: no second request.
    assert len(goe_sim.status_requests(SECOND)) == 1


# A charger's Reconfigure: its new grid token


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_charger_every_error_then_recovery(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A new token: its shape, then go-e's answer; the good one is saved, the serial kept."""
    entry = fleet(goe_sim)
    entry.add_to_hass(hass)
    charger = only_charger(entry)
    goe_sim.chargers[GOE_SERIAL].token = GOE_OTHER_TOKEN
    result = await start_charger_reconfigure(hass, entry, charger.subentry_id)
    assert result["description_placeholders"] == {"serial": GOE_SERIAL}
    assert [str(field) for field in result["data_schema"].schema] == [CONF_GRID_TOKEN]

    result = await submit_charger(hass, result, grid_token=GOE_OTHER_TOKEN[:-1] + "!")
    assert_error(result, CONF_GRID_TOKEN, "invalid_grid_token")
    assert goe_sim.requests == []

    goe_sim.inject_fault("drop")
    result = await submit_charger(hass, result, grid_token=GOE_OTHER_TOKEN)
    assert_error(result, "base", "cannot_connect")

    with patch.object(GoeClient, "status", side_effect=RuntimeError("boom")):
        result = await submit_charger(hass, result, grid_token=GOE_OTHER_TOKEN)
    assert_error(result, "base", "unknown")

    # Each try spent a read of the charger's budget; go-e gives one back a quarter later.
    freezer.tick(QUARTER)
    result = await submit_charger(hass, result, grid_token=GOE_TOKEN)
    assert_error(result, "base", "invalid_auth")
    assert result["description_placeholders"]["serial"] == GOE_SERIAL

    freezer.tick(QUARTER)
    result = await submit_charger(hass, result, grid_token=f" {GOE_OTHER_TOKEN} ")
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(only_charger(entry).data) == {
        CONF_SERIAL: GOE_SERIAL,
        CONF_GRID_TOKEN: GOE_OTHER_TOKEN,
    }
    assert [r.token_ok for r in goe_sim.status_requests()][-2:] == [False, True]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_charger_with_the_budget_spent_says_how_long(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A new token cannot be left unchecked: with the reads spent, the form says when."""
    entry = fleet(goe_sim)
    entry.add_to_hass(hass)
    result = await start_charger_reconfigure(hass, entry, only_charger(entry).subentry_id)
    for _ in range(STATUS_BURST):
        result = await submit_charger(hass, result, grid_token=GOE_OTHER_TOKEN)
        assert_error(result, "base", "invalid_auth")
    result = await submit_charger(hass, result, grid_token=GOE_TOKEN)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"serial": GOE_SERIAL, "minutes": "15"}
    assert len(goe_sim.status_requests()) == STATUS_BURST

    goe_sim.inject_fault("rate_limiting")
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    budget.status.tokens = budget.status.capacity
    result = await submit_charger(hass, result, grid_token=GOE_TOKEN)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"]["minutes"] == "15"


async def test_reconfigure_of_a_running_charger_keeps_the_others_going(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The new token reaches the running charger without a reload of the fleet."""
    goe_sim.add_charger(SECOND, SECOND_TOKEN, car_connected=True, set_current=10)
    entry = await setup_entry(
        hass, goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN), (SECOND, SECOND_TOKEN))
    )
    before = entry.runtime_data
    (charger,) = (s for s in entry.subentries.values() if s.unique_id == GOE_SERIAL)
    goe_sim.chargers[GOE_SERIAL].token = GOE_OTHER_TOKEN
    await travel(hass, freezer, QUARTER)
    result = await start_charger_reconfigure(hass, entry, charger.subentry_id)
    result = await submit_charger(hass, result, grid_token=GOE_OTHER_TOKEN)
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.runtime_data is before
    assert entry.state is ConfigEntryState.LOADED
    await travel(hass, freezer, QUARTER)
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"
    assert goe_sim.status_requests(GOE_SERIAL)[-1].token_ok


def test_strings_and_english_translation_agree() -> None:
    """The shipped English text is the source text (the frontend reads translations/en.json)."""
    english = json.loads(
        (
            Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations" / "en.json"
        ).read_text(encoding="utf-8")
    )
    assert english["config"] == STRINGS
    assert english["config_subentries"][SUBENTRY_CHARGER] == CHARGER_STRINGS
