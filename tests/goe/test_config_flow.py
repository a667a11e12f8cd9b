"""Adding, re-authenticating and reconfiguring a go-e charger, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
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
    VENDOR_GOE,
)
from simulators.goe import GoeSimulator
from tests.conftest import travel
from tests.flow import (
    assert_advanced_section,
    assert_form_translated,
    at,
    closed_port_url,
    form_defaults,
    start_reauth_form,
    start_reconfigure_form,
    start_vendor_flow,
    submit_form,
    suggested,
)
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN

STRINGS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json").read_text(
        encoding="utf-8"
    )
)["config"]
QUARTER = timedelta(minutes=15)
# go-e's grid-operator cloud: the address the form offers unless the user changes it.
CLOUD = "https://api-grid-operator.go-e.co"


# The steps of an entry's reauth and reconfigure flows.
REAUTH = "goe_reauth_confirm"
RECONFIGURE = "goe_reconfigure"


def assert_translated(result: ConfigFlowResult) -> None:
    """Fail when the user would see a raw key or an unfilled {placeholder}."""
    assert_form_translated(result, STRINGS)


@pytest.fixture
def real_cloud() -> None:
    """Keep go-e's real address in the form (the test sends nothing there)."""


@pytest.fixture(autouse=True)
def goe_cloud(request: pytest.FixtureRequest, goe_sim: GoeSimulator) -> Generator[GoeSimulator]:
    """Make the simulator the go-e cloud a form offers when its advanced section is left alone."""
    if "real_cloud" in request.fixturenames:
        yield goe_sim
        return
    with patch(
        "custom_components.ev_charge_control.vendors.goe.flow.DEFAULT_BASE_URL", goe_sim.base_url
    ):
        yield goe_sim


@pytest.fixture
async def other_goe_sim(socket_enabled: None) -> AsyncGenerator[GoeSimulator]:
    """Start a second go-e API (a test system) with the same charger, charging at 10 A."""
    sim = GoeSimulator(latency_scale=0)
    sim.add_charger(GOE_SERIAL, GOE_OTHER_TOKEN, car_connected=True, set_current=10)
    await sim.start()
    yield sim
    await sim.stop()


async def start_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow, pick go-e in the menu and return its form."""
    return await start_vendor_flow(hass, VENDOR_GOE, STRINGS)


async def start_reauth(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Start the entry's reauth and return its form."""
    return await start_reauth_form(hass, entry, REAUTH, STRINGS)


async def start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Start the entry's reconfigure flow and return its form."""
    return await start_reconfigure_form(hass, entry, RECONFIGURE, STRINGS)


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, **user_input: Any
) -> ConfigFlowResult:
    """Submit a form as the frontend does; what comes back must be translated."""
    return await submit_form(hass, result, STRINGS, **user_input)


def assert_created(
    result: ConfigFlowResult, *, token: str = GOE_TOKEN, base_url: str | None = None
) -> None:
    """Check the new entry: the go-e charger 000123 with the given token."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"go-e {GOE_SERIAL}"
    assert result["result"].unique_id == GOE_SERIAL
    data = result["data"]
    assert data[CONF_VENDOR] == VENDOR_GOE
    assert data[CONF_SERIAL] == GOE_SERIAL
    assert data[CONF_GRID_TOKEN] == token
    if base_url is not None:
        assert data[CONF_BASE_URL] == base_url


def assert_error(result: ConfigFlowResult, field: str, error: str) -> None:
    """Check the form came back with one error."""
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}


# Adding a charger


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_creates_entry(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """Serial and token are checked with one status read and become the entry."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result, base_url=goe_sim.base_url)
    [request] = goe_sim.status_requests()
    assert request.token_ok
    assert goe_sim.command_requests() == []


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
    """The form asks for serial and token; the API address waits, folded, in 'Advanced'."""
    result = await start_flow(hass)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_SERIAL,
        CONF_GRID_TOKEN,
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
    for _ in range(2):
        result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
        assert_error(result, "base", "invalid_auth")
    assert len(goe_sim.status_requests()) == 2

    freezer.tick(timedelta(seconds=30))
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(result)
    assert result["description"] == "unchecked"
    # The bucket earns a read every 15 minutes from the last try on: 12:00:30 + 15 min, local.
    first_read = dt_util.as_local(dt_util.utcnow() + QUARTER - timedelta(seconds=30))
    assert result["description_placeholders"] == {"time": first_read.strftime("%H:%M")}
    assert len(goe_sim.status_requests()) == 2


@pytest.mark.parametrize(("token", "loaded"), [(GOE_TOKEN, True), (GOE_OTHER_TOKEN, False)])
async def test_an_unchecked_charger_is_checked_by_its_first_allowed_read(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    token: str,
    loaded: bool,
) -> None:
    """The entry added without a read waits for go-e's slot; a refused token asks again then."""
    result = await start_flow(hass)
    for _ in range(2):
        result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=token)
    assert result["description"] == "unchecked"
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    # Nothing is read before the slot, however the entry starts.
    assert len(goe_sim.status_requests()) == 2

    await travel(hass, freezer, QUARTER, step=timedelta(minutes=1))
    assert len(goe_sim.status_requests()) == 3
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    if loaded:
        assert entry.state is ConfigEntryState.LOADED
        assert not flows
    else:
        # go-e refused the token at the first read: the user is asked for it again.
        assert [flow["context"]["source"] for flow in flows] == ["reauth"]
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=1))
    # Within go-e's budget all along: one read per 15 minutes at most after the burst.
    assert len(goe_sim.status_requests()) <= 2 + 1 + 4


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
    """A charger that is already set up is not added twice, nor asked for anything."""
    MockConfigEntry(domain=DOMAIN, unique_id=GOE_SERIAL, data={}).add_to_hass(hass)
    result = await start_flow(hass)
    result = await submit(hass, result, serial=" 123", grid_token=GOE_TOKEN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert goe_sim.requests == []
    budget = await async_get_goe_budget(hass, GOE_SERIAL)
    assert budget.status.tokens == budget.status.capacity


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_form_left_open_does_not_block_the_charger(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """A form left with an error (a reloaded page) does not stop a new one adding the charger.

    Whichever finishes first adds it; Home Assistant then closes the other.
    """
    first = await start_flow(hass)
    first = await submit(hass, first, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN)
    assert_error(first, "base", "invalid_auth")

    second = await start_flow(hass)
    second = await submit(hass, second, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert_created(second)

    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    # A third window is told the charger is set up, before any request.
    third = await submit(hass, await start_flow(hass), serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    assert third["type"] is FlowResultType.ABORT
    assert third["reason"] == "already_configured"
    assert len(goe_sim.status_requests()) == 2


@pytest.mark.usefixtures("mock_setup_entry")
async def test_what_was_typed_stays_after_an_error(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """After a refused token the form keeps the serial, the token and the address typed."""
    result = await start_flow(hass)
    result = await submit(
        hass, result, serial=GOE_SERIAL, grid_token=GOE_OTHER_TOKEN, advanced=at(goe_sim.base_url)
    )
    assert_error(result, "base", "invalid_auth")
    assert suggested(result) == {
        CONF_SERIAL: GOE_SERIAL,
        CONF_GRID_TOKEN: GOE_OTHER_TOKEN,
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


async def test_adding_a_charger_costs_one_read(hass: HomeAssistant, goe_sim: GoeSimulator) -> None:
    """The new entry starts from the status the flow read, without a second request."""
    result = await start_flow(hass)
    result = await submit(hass, result, serial=GOE_SERIAL, grid_token=GOE_TOKEN)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].state is ConfigEntryState.LOADED
    assert len(goe_sim.status_requests()) == 1
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"


# Re-authentication


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """A refused token is replaced: a wrong one is refused, the new one is saved."""
    goe_entry.add_to_hass(hass)
    goe_sim.chargers[GOE_SERIAL].token = GOE_OTHER_TOKEN

    result = await start_reauth(hass, goe_entry)
    # Home Assistant adds the entry's title as "name" to every reauth form.
    assert result["description_placeholders"] == {
        "serial": GOE_SERIAL,
        "name": goe_entry.title,
    }
    assert [str(field) for field in result["data_schema"].schema] == [CONF_GRID_TOKEN, ADVANCED]
    # The address the entry has now is offered, folded away.
    assert_advanced_section(result, goe_sim.base_url)

    result = await submit(hass, result, grid_token=GOE_TOKEN)
    assert_error(result, "base", "invalid_auth")
    assert result["description_placeholders"]["serial"] == GOE_SERIAL

    result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert goe_entry.data[CONF_GRID_TOKEN] == GOE_OTHER_TOKEN
    assert goe_entry.data[CONF_SERIAL] == GOE_SERIAL
    assert goe_entry.data[CONF_BASE_URL] == goe_sim.base_url
    assert [r.token_ok for r in goe_sim.status_requests()] == [False, True]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_invalid_token_shape(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """A token of the wrong shape is refused on the reauth form, before any request."""
    goe_entry.add_to_hass(hass)
    result = await start_reauth(hass, goe_entry)
    result = await submit(hass, result, grid_token="x" * 33)
    assert_error(result, CONF_GRID_TOKEN, "invalid_grid_token")
    assert goe_sim.requests == []

    result = await submit(hass, result, grid_token=GOE_TOKEN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_rate_limited_says_how_long(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """The reauth form shows the wait, with the serial still in its title."""
    goe_entry.add_to_hass(hass)
    goe_sim.inject_fault("rate_limiting")
    result = await start_reauth(hass, goe_entry)
    result = await submit(hass, result, grid_token=GOE_TOKEN)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"]["serial"] == GOE_SERIAL
    assert result["description_placeholders"]["minutes"] == "15"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_with_the_budget_spent_says_how_long_without_a_request(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """A reauth cannot be left unchecked: with the reads spent, the form says when, asks nothing."""
    goe_entry.add_to_hass(hass)
    result = await start_reauth(hass, goe_entry)
    for _ in range(STATUS_BURST):  # each refused, each spending a read
        result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN)
        assert_error(result, "base", "invalid_auth")
    reads = len(goe_sim.status_requests())
    assert reads == STATUS_BURST

    result = await submit(hass, result, grid_token=GOE_TOKEN)

    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"]["minutes"] == "15"
    assert len(goe_sim.status_requests()) == reads


async def test_reauth_of_a_loaded_entry(
    hass: HomeAssistant, goe_sim: GoeSimulator, init_goe: MockConfigEntry
) -> None:
    """After reauth the entry reloads with the new token, reusing the validating read."""
    before = init_goe.runtime_data
    goe_sim.chargers[GOE_SERIAL].token = GOE_OTHER_TOKEN
    result = await start_reauth(hass, init_goe)
    result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_goe.state is ConfigEntryState.LOADED
    assert init_goe.runtime_data is not before
    assert init_goe.data[CONF_GRID_TOKEN] == GOE_OTHER_TOKEN
    # One read at setup, one to validate; the reload shows the validated status.
    assert len(goe_sim.status_requests()) == 2


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_base_url(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    other_goe_sim: GoeSimulator,
    goe_entry: MockConfigEntry,
) -> None:
    """The reauth form's advanced section moves the entry; a bad address is refused first."""
    goe_entry.add_to_hass(hass)
    result = await start_reauth(hass, goe_entry)
    result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN, advanced=at("ftp://x"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert result["description_placeholders"]["serial"] == GOE_SERIAL
    assert goe_sim.requests == []
    assert other_goe_sim.requests == []

    result = await submit(
        hass, result, grid_token=GOE_OTHER_TOKEN, advanced=at(f"{other_goe_sim.base_url}/")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert goe_entry.data[CONF_BASE_URL] == other_goe_sim.base_url
    assert goe_entry.data[CONF_GRID_TOKEN] == GOE_OTHER_TOKEN
    assert goe_sim.requests == []
    assert [r.token_ok for r in other_goe_sim.status_requests()] == [True]


# Reconfiguration


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """A new token is checked and saved; a token of the wrong shape is refused first."""
    goe_entry.add_to_hass(hass)
    goe_sim.chargers[GOE_SERIAL].token = GOE_OTHER_TOKEN

    result = await start_reconfigure(hass, goe_entry)
    assert result["description_placeholders"] == {"serial": GOE_SERIAL}
    assert [str(field) for field in result["data_schema"].schema] == [CONF_GRID_TOKEN, ADVANCED]
    assert_advanced_section(result, goe_sim.base_url)

    result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN[:-1] + "!")
    assert_error(result, CONF_GRID_TOKEN, "invalid_grid_token")
    assert goe_sim.requests == []

    result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert goe_entry.data[CONF_GRID_TOKEN] == GOE_OTHER_TOKEN
    assert goe_entry.data[CONF_BASE_URL] == goe_sim.base_url


@pytest.mark.usefixtures("mock_setup_entry", "socket_enabled")
async def test_reconfigure_base_url(
    hass: HomeAssistant, goe_sim: GoeSimulator, goe_entry: MockConfigEntry
) -> None:
    """The advanced section changes the API address; a bad or dead one is refused."""
    goe_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        goe_entry, data={**goe_entry.data, CONF_BASE_URL: closed_port_url()}
    )
    result = await start_reconfigure(hass, goe_entry)
    # The form offers the address the entry has now.
    assert_advanced_section(result, goe_entry.data[CONF_BASE_URL])

    result = await submit(hass, result, grid_token=GOE_TOKEN, advanced=at("ftp://x"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert goe_sim.requests == []

    result = await submit(hass, result, grid_token=GOE_TOKEN, advanced=at(closed_port_url()))
    assert_error(result, "base", "cannot_connect")
    assert goe_sim.requests == []

    result = await submit(hass, result, grid_token=GOE_TOKEN, advanced=at(goe_sim.base_url))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert goe_entry.data[CONF_BASE_URL] == goe_sim.base_url
    assert goe_entry.data[CONF_GRID_TOKEN] == GOE_TOKEN
    assert len(goe_sim.status_requests()) == 1


async def test_reconfigure_of_a_loaded_entry(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    goe_sim: GoeSimulator,
    other_goe_sim: GoeSimulator,
    init_goe: MockConfigEntry,
) -> None:
    """Moved to another API with its token, the entry reloads and reads from there."""
    before = init_goe.runtime_data
    assert hass.states.get("sensor.go_echarger_000123_power").state == "11040"
    result = await start_reconfigure(hass, init_goe)
    assert_advanced_section(result, goe_sim.base_url)

    result = await submit(hass, result, grid_token=GOE_OTHER_TOKEN, advanced=at("not an address"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert other_goe_sim.requests == []
    assert init_goe.runtime_data is before

    result = await submit(
        hass, result, grid_token=GOE_OTHER_TOKEN, advanced=at(other_goe_sim.base_url)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(init_goe.data) == {
        CONF_VENDOR: VENDOR_GOE,
        CONF_SERIAL: GOE_SERIAL,
        CONF_GRID_TOKEN: GOE_OTHER_TOKEN,
        CONF_BASE_URL: other_goe_sim.base_url,
    }
    assert init_goe.state is ConfigEntryState.LOADED
    assert init_goe.runtime_data is not before
    # The reload shows what the validating read found there (10 A), without reading again.
    assert [r.token_ok for r in other_goe_sim.status_requests()] == [True]
    assert hass.states.get("sensor.go_echarger_000123_power").state == "6900"

    # From now on the entry reads from the new address only.
    await travel(hass, freezer, QUARTER)
    assert len(other_goe_sim.status_requests()) == 2
    assert len(goe_sim.status_requests()) == 1


def test_strings_and_english_translation_agree() -> None:
    """The shipped English text is the source text (the frontend reads translations/en.json)."""
    english = json.loads(
        (
            Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations" / "en.json"
        ).read_text(encoding="utf-8")
    )
    assert english["config"] == STRINGS
