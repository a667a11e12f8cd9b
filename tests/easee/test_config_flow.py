"""Adding, re-authenticating, reconfiguring and tuning an Easee account, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import datetime, timedelta
import json
from pathlib import Path
import time
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components import ev_charge_control
from custom_components.ev_charge_control.api.easee import EaseeClient
from custom_components.ev_charge_control.api.errors import RateLimitedError
from custom_components.ev_charge_control.config_flow import EvChargeConfigFlow
from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED
from custom_components.ev_charge_control.vendors.easee.account import DATA_EASEE_ACCOUNTS
from custom_components.ev_charge_control.vendors.easee.const import (
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_KEEP_DYNAMIC_LIMITS,
    CONF_SITE_IDS,
    CONF_STATE_INTERVAL,
    CONF_TOKENS,
    VENDOR_EASEE,
)
from simulators.easee import EaseeSimulator
from tests.conftest import setup_entry, travel
from tests.easee.bans import BAN_FORMS, blocked_issue_id
from tests.easee.conftest import (
    EASEE_OTHER_PASSWORD,
    EASEE_PASSWORD,
    EASEE_USERNAME,
    START,
    USER_ID,
    running_account,
)
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
from tests.goe import fixtures as goe_fixtures

# A go-e entry, which has no options, beside the Easee one.
goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry

_STRINGS_ROOT: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json").read_text(
        encoding="utf-8"
    )
)
STRINGS: dict[str, Any] = _STRINGS_ROOT["config"]
OPTION_STRINGS: dict[str, Any] = _STRINGS_ROOT["options"]
# The simulator's access tokens live an hour (Easee's expiresIn), from the (frozen) login.
TOKEN_EXPIRES_AT = datetime.fromisoformat(START).timestamp() + 3600
OTHER_USERNAME = "second@example.com"
OTHER_USER_ID = 4712
LOGIN = "/api/accounts/login"
# Easee's cloud: the address the form offers unless the user changes it.
CLOUD = "https://api.easee.com"


# The steps of an entry's reauth and reconfigure flows.
REAUTH = "easee_reauth_confirm"
RECONFIGURE = "easee_reconfigure"


def assert_translated(result: ConfigFlowResult, strings: dict[str, Any] = STRINGS) -> None:
    """Fail when the user would see a raw key or an unfilled {placeholder}."""
    assert_form_translated(result, strings)


@pytest.fixture
def real_cloud() -> None:
    """Keep Easee's real address in the form (the test sends nothing there)."""


@pytest.fixture(autouse=True)
def easee_cloud(
    request: pytest.FixtureRequest, easee_sim: EaseeSimulator
) -> Generator[EaseeSimulator]:
    """Make the simulator the Easee cloud a form offers when its advanced section is left alone."""
    if "real_cloud" in request.fixturenames:
        yield easee_sim
        return
    with patch(
        "custom_components.ev_charge_control.vendors.easee.flow.EASEE_BASE_URL", easee_sim.base_url
    ):
        yield easee_sim


@pytest.fixture
async def other_easee_sim(socket_enabled: None) -> AsyncGenerator[EaseeSimulator]:
    """Start a second Easee API (a test system) with the same account."""
    async with running_account() as sim:
        yield sim


def logins(sim: EaseeSimulator) -> list[str]:
    """Return how each login request ended, oldest first."""
    return [request.result for request in sim.requests_to("POST", LOGIN)]


def add_other_account(sim: EaseeSimulator) -> None:
    """Add a second account (another user id) with the other password."""
    sim.add_account(OTHER_USERNAME, EASEE_OTHER_PASSWORD, user_id=OTHER_USER_ID)


async def start_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow, pick Easee in the menu and return its form."""
    return await start_vendor_flow(hass, VENDOR_EASEE, STRINGS)


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


async def submit_login(
    hass: HomeAssistant,
    result: ConfigFlowResult,
    password: str = EASEE_PASSWORD,
    username: str = EASEE_USERNAME,
    **extra: Any,
) -> ConfigFlowResult:
    """Submit the Easee form with a user name and password."""
    return await submit(hass, result, username=username, password=password, **extra)


def assert_error(result: ConfigFlowResult, field: str, error: str) -> None:
    """Check that the form is shown again with one error."""
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}


def assert_issued(sim: EaseeSimulator, tokens: dict[str, Any]) -> None:
    """Check saved tokens: a pair the simulator issued, expiring a day after the login."""
    assert set(tokens) == {"access_token", "refresh_token", "expires_at"}
    assert tokens["access_token"] in sim.issued_secrets()
    assert tokens["refresh_token"] in sim.issued_secrets()
    # The clock stands still in these tests: the login was "now".
    assert tokens["expires_at"] == pytest.approx(time.time() + 3600, abs=1e-6)


def assert_created(
    result: ConfigFlowResult,
    sim: EaseeSimulator,
    *,
    username: str = EASEE_USERNAME,
    unique_id: str = str(USER_ID),
    base_url: str | None = None,
) -> None:
    """Check the new entry: the account, its password, the API address and fresh tokens."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Easee {username}"
    assert result["result"].unique_id == unique_id
    data = result["data"]
    assert set(data) == {CONF_VENDOR, CONF_USERNAME, CONF_PASSWORD, CONF_BASE_URL, CONF_TOKENS}
    assert data[CONF_VENDOR] == VENDOR_EASEE
    assert data[CONF_USERNAME] == username
    assert data[CONF_PASSWORD] == EASEE_PASSWORD
    assert data[CONF_BASE_URL] == (base_url or sim.base_url)
    assert_issued(sim, data[CONF_TOKENS])


# Adding an account


@pytest.mark.usefixtures("mock_setup_entry")
async def test_menu_offers_easee_and_login_creates_the_entry(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """One login, and the entry is named after the account and keyed by its user id."""
    result = await start_flow(hass)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_USERNAME,
        CONF_PASSWORD,
        ADVANCED,
    ]
    result = await submit_login(hass, result)
    assert_created(result, easee_sim)
    assert logins(easee_sim) == ["ok"]
    # Nothing but the login: the structure is read by the entry, not by the flow.
    assert len(easee_sim.requests) == 1
    # Easee asks clients to name themselves: the integration and its manifest's version.
    version = json.loads((Path(ev_charge_control.__file__).parent / "manifest.json").read_text())
    assert easee_sim.requests[0].user_agent == f"ev_charge_control/{version['version']}"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_username_is_stripped(hass: HomeAssistant, easee_sim: EaseeSimulator) -> None:
    """Spaces copied around the user name are neither sent nor saved."""
    result = await start_flow(hass)
    result = await submit_login(hass, result, username=f"  {EASEE_USERNAME}\t")
    assert_created(result, easee_sim)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_account_without_user_id_claim_is_keyed_by_user_name(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """A token without UserId: the lower-cased user name identifies the account instead."""
    easee_sim.add_account(
        "Second.User@Example.com", EASEE_PASSWORD, user_id=OTHER_USER_ID
    ).user_id_claim = False
    result = await start_flow(hass)
    result = await submit_login(hass, result, username=" Second.User@Example.com ")
    assert_created(
        result,
        easee_sim,
        username="Second.User@Example.com",
        unique_id="second.user@example.com",
    )


@pytest.mark.usefixtures("mock_setup_entry")
async def test_invalid_auth(hass: HomeAssistant, easee_sim: EaseeSimulator) -> None:
    """A wrong password is refused on the form and the user name stays filled in."""
    result = await start_flow(hass)
    result = await submit_login(hass, result, password=EASEE_OTHER_PASSWORD)
    assert_error(result, "base", "invalid_auth")
    assert form_defaults(result, password="x")[CONF_USERNAME] == EASEE_USERNAME
    # The password stays too, as typed: it can be corrected instead of typed again.
    assert suggested(result)[CONF_PASSWORD] == EASEE_OTHER_PASSWORD

    result = await submit_login(hass, result)
    assert_created(result, easee_sim)
    assert logins(easee_sim) == ["invalid_credentials", "ok"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_unknown_user_is_invalid_auth(hass: HomeAssistant, easee_sim: EaseeSimulator) -> None:
    """A user name Easee does not know is the same error as a wrong password."""
    result = await start_flow(hass)
    result = await submit_login(hass, result, username="nobody@example.com")
    assert_error(result, "base", "invalid_auth")

    result = await submit_login(hass, result)
    assert_created(result, easee_sim)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("kind", ["http_500", "non_json", "wrong_shape", "drop"])
async def test_cannot_connect(hass: HomeAssistant, easee_sim: EaseeSimulator, kind: str) -> None:
    """A broken or senseless answer to the login shows cannot_connect; a retry works."""
    easee_sim.inject_fault(kind, path_contains=LOGIN)
    result = await start_flow(hass)
    result = await submit_login(hass, result)
    assert_error(result, "base", "cannot_connect")

    result = await submit_login(hass, result)
    assert_created(result, easee_sim)
    assert logins(easee_sim) == [kind, "ok"]


@pytest.mark.usefixtures("mock_setup_entry", "socket_enabled")
async def test_cannot_connect_to_base_url(hass: HomeAssistant, easee_sim: EaseeSimulator) -> None:
    """An API address where nothing answers shows cannot_connect; a working one is kept."""
    result = await start_flow(hass)
    result = await submit_login(hass, result, advanced=at(closed_port_url()))
    assert_error(result, "base", "cannot_connect")
    assert easee_sim.requests == []

    result = await submit_login(hass, result, advanced=at(f"{easee_sim.base_url}/"))
    # Saved without the trailing slash, so paths are not doubled.
    assert_created(result, easee_sim, base_url=easee_sim.base_url)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("retry_after", "minutes"),
    [(1, "1"), (60, "1"), (61, "2"), (90, "2"), (3600, "60"), (3601, "61")],
)
async def test_rate_limited_says_how_long_rounded_up(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    freezer: FrozenDateTimeFactory,
    retry_after: int,
    minutes: str,
) -> None:
    """A 429 tells the user to wait Retry-After in whole minutes; a retry sooner sends nothing."""
    easee_sim.inject_fault("http_429", path_contains=LOGIN, retry_after=retry_after)
    result = await start_flow(hass)
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": minutes}

    # Easee limits by IP: trying again before the wait is over would be a strike.
    freezer.tick(timedelta(seconds=retry_after - 1))
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": "1"}
    assert logins(easee_sim) == ["http_429"]

    freezer.tick(timedelta(seconds=1))
    result = await submit_login(hass, result)
    assert_created(result, easee_sim)
    assert logins(easee_sim) == ["http_429", "ok"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_rate_limited_without_retry_after_asks_for_an_hour(
    hass: HomeAssistant, easee_sim: EaseeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A rate limit that does not say how long asks the user to wait 60 minutes."""
    with patch.object(EaseeClient, "login", side_effect=RateLimitedError("Easee: HTTP 429")):
        result = await start_flow(hass)
        result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": "60"}

    freezer.tick(timedelta(minutes=60))
    result = await submit_login(hass, result)
    assert_created(result, easee_sim)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_too_many_logins_wait_for_the_cloud(
    hass: HomeAssistant, easee_sim: EaseeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """Easee's own login limit (10 an hour): the form says when the oldest login expires."""
    result = await start_flow(hass)
    for _ in range(easee_sim.max_logins):
        result = await submit_login(hass, result, password=EASEE_OTHER_PASSWORD)
        assert_error(result, "base", "invalid_auth")

    freezer.tick(timedelta(seconds=90))
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    # 3510 s are left of the hour: 58.5 minutes, shown as 59.
    assert result["description_placeholders"] == {"minutes": "59"}

    freezer.tick(timedelta(seconds=3510))
    result = await submit_login(hass, result)
    assert_created(result, easee_sim)
    assert logins(easee_sim)[-2:] == ["login_rate_limited", "ok"]


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("form", BAN_FORMS)
async def test_blocked_is_rate_limited(
    hass: HomeAssistant, easee_sim: EaseeSimulator, freezer: FrozenDateTimeFactory, form: str
) -> None:
    """Each form of ban (a block) is a rate limit, and the form says wait a day."""
    easee_sim.inject_fault(form, path_contains=LOGIN)
    result = await start_flow(hass)
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    # Easee blocks for a day: asking to come back sooner would only meet the block again.
    assert result["description_placeholders"] == {"minutes": str(24 * 60)}

    freezer.tick(timedelta(hours=23))
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": "60"}
    assert logins(easee_sim) == [form]

    freezer.tick(timedelta(hours=1))
    result = await submit_login(hass, result)
    assert_created(result, easee_sim)
    assert logins(easee_sim) == [form, "ok"]


async def test_a_ban_at_login_silences_the_running_accounts(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Easee bans the IP: a ban a new login meets stops the accounts already set up as well."""
    easee_sim.inject_fault("forbidden_403", path_contains=LOGIN)
    result = await start_flow(hass)
    result = await submit_login(hass, result, username="second@example.com")
    assert_error(result, "base", "rate_limited")
    (banned,) = [r for r in easee_sim.requests if r.status == 403]
    issue = issue_registry.async_get_issue(DOMAIN, blocked_issue_id(init_easee))
    assert issue is not None
    assert issue.active

    await travel(hass, freezer, timedelta(hours=23), step=timedelta(minutes=10))
    assert [r for r in easee_sim.requests if r.time > banned.time] == []
    assert init_easee.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("mock_setup_entry")
async def test_unknown_error(hass: HomeAssistant, easee_sim: EaseeSimulator) -> None:
    """A bug while logging in shows 'unknown' instead of a broken form; a retry works."""
    with patch.object(EaseeClient, "login", side_effect=RuntimeError("boom")):
        result = await start_flow(hass)
        result = await submit_login(hass, result)
    assert_error(result, "base", "unknown")

    result = await submit_login(hass, result)
    assert_created(result, easee_sim)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_already_configured(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """The same account (by user id, whatever the spelling of its name) is not added twice."""
    easee_entry.add_to_hass(hass)
    result = await start_flow(hass)
    result = await submit_login(hass, result, username=EASEE_USERNAME.upper())
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert easee_entry.data[CONF_USERNAME] == EASEE_USERNAME
    assert CONF_TOKENS not in easee_entry.data


@pytest.mark.usefixtures("mock_setup_entry")
async def test_second_account_is_added_beside_the_first(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """Another account (another user id) is a new entry of its own."""
    easee_entry.add_to_hass(hass)
    add_other_account(easee_sim)
    result = await start_flow(hass)
    result = await submit_login(
        hass, result, username=OTHER_USERNAME, password=EASEE_OTHER_PASSWORD
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == str(OTHER_USER_ID)
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


@pytest.mark.usefixtures("real_cloud")
async def test_base_url_is_in_a_collapsed_advanced_section(hass: HomeAssistant) -> None:
    """The form asks for the login; the API address waits, folded, in 'Advanced'."""
    result = await start_flow(hass)
    assert_advanced_section(result, CLOUD)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_advanced_base_url_defaults_to_the_cloud(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """The advanced section is filled in with the cloud; sent as it is, that address is saved."""
    result = await start_flow(hass)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_USERNAME,
        CONF_PASSWORD,
        ADVANCED,
    ]
    defaults = form_defaults(result, username=EASEE_USERNAME, password="x")
    assert defaults[ADVANCED] == {CONF_BASE_URL: easee_sim.base_url}

    result = await submit_login(hass, result, advanced=at(easee_sim.base_url))
    assert_created(result, easee_sim, base_url=easee_sim.base_url)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("username", "password"),
    [(" ", EASEE_PASSWORD), (EASEE_USERNAME, "")],
    ids=["blank_username", "empty_password"],
)
async def test_missing_credentials_send_no_login(
    hass: HomeAssistant, easee_sim: EaseeSimulator, username: str, password: str
) -> None:
    """A blank user name or an empty password is refused before a login goes out.

    Found by tests/fuzz: the login was sent, refused, and counted towards Easee's limit.
    """
    result = await start_flow(hass)
    result = await submit_login(hass, result, password, username)
    assert_error(result, "base", "credentials_missing")
    assert easee_sim.requests == []

    result = await submit_login(hass, result)
    assert_created(result, easee_sim)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("flow", ["reauth", "reconfigure"])
async def test_missing_password_on_update_sends_no_login(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry, flow: str
) -> None:
    """Reauth and reconfigure refuse an empty password (or user name) before any request."""
    easee_entry.add_to_hass(hass)
    if flow == "reauth":
        result = await start_reauth(hass, easee_entry)
        result = await submit(hass, result, password="")
    else:
        result = await start_reconfigure(hass, easee_entry)
        result = await submit_login(hass, result, EASEE_PASSWORD, "  ")
    assert_error(result, "base", "credentials_missing")
    assert easee_sim.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("base_url", ["ftp://x", "not an address", "http://", ""])
async def test_invalid_base_url(
    hass: HomeAssistant, easee_sim: EaseeSimulator, base_url: str
) -> None:
    """Only an http(s) address is accepted in the advanced section, before any request."""
    result = await start_flow(hass)
    result = await submit_login(hass, result, advanced=at(base_url))
    # The error is shown on the section, where the address was typed.
    assert_error(result, ADVANCED, "invalid_base_url")
    assert easee_sim.requests == []

    result = await submit_login(hass, result, advanced=at(easee_sim.base_url))
    assert_created(result, easee_sim, base_url=easee_sim.base_url)
    assert logins(easee_sim) == ["ok"]


# Re-authentication


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """A changed password is asked for: a wrong one is refused, the new one saved with tokens."""
    easee_entry.add_to_hass(hass)
    easee_sim.change_password(EASEE_USERNAME, EASEE_OTHER_PASSWORD)

    result = await start_reauth(hass, easee_entry)
    # Home Assistant adds the entry's title as "name" to every reauth form.
    assert result["description_placeholders"] == {
        "username": EASEE_USERNAME,
        "name": easee_entry.title,
    }
    assert [str(field) for field in result["data_schema"].schema] == [CONF_PASSWORD, ADVANCED]
    # The address the entry has now is offered, folded away.
    assert_advanced_section(result, easee_sim.base_url)

    result = await submit(hass, result, password=EASEE_PASSWORD)
    assert_error(result, "base", "invalid_auth")
    assert result["description_placeholders"]["username"] == EASEE_USERNAME

    result = await submit(hass, result, password=EASEE_OTHER_PASSWORD)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert easee_entry.data[CONF_PASSWORD] == EASEE_OTHER_PASSWORD
    assert easee_entry.data[CONF_USERNAME] == EASEE_USERNAME
    assert easee_entry.data[CONF_BASE_URL] == easee_sim.base_url
    assert easee_entry.unique_id == str(USER_ID)
    assert_issued(easee_sim, easee_entry.data[CONF_TOKENS])
    assert logins(easee_sim) == ["invalid_credentials", "ok"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_replaces_old_tokens(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """Tokens saved before the reauth are replaced by the ones of the new login."""
    old = {"access_token": "old-access", "refresh_token": "old-refresh", "expires_at": 1.0}
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, data={**easee_entry.data, CONF_TOKENS: old})
    result = await start_reauth(hass, easee_entry)
    result = await submit(hass, result, password=EASEE_PASSWORD)
    assert result["reason"] == "reauth_successful"
    assert easee_entry.data[CONF_TOKENS] != old
    assert_issued(easee_sim, easee_entry.data[CONF_TOKENS])


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_rate_limited_keeps_the_username_in_the_form(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The reauth form shows the wait, with the account still named."""
    easee_entry.add_to_hass(hass)
    easee_sim.inject_fault("http_429", path_contains=LOGIN, retry_after=120)
    result = await start_reauth(hass, easee_entry)
    result = await submit(hass, result, password=EASEE_PASSWORD)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"]["username"] == EASEE_USERNAME
    assert result["description_placeholders"]["minutes"] == "2"

    freezer.tick(timedelta(seconds=120))
    result = await submit(hass, result, password=EASEE_PASSWORD)
    assert result["reason"] == "reauth_successful"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_with_a_different_account(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """The user name now belongs to another account (new user id): nothing is saved."""
    easee_entry.add_to_hass(hass)
    del easee_sim.accounts[EASEE_USERNAME.lower()]
    easee_sim.add_account(EASEE_USERNAME, EASEE_OTHER_PASSWORD, user_id=OTHER_USER_ID)
    before = dict(easee_entry.data)

    result = await start_reauth(hass, easee_entry)
    result = await submit(hass, result, password=EASEE_OTHER_PASSWORD)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert dict(easee_entry.data) == before
    assert easee_entry.unique_id == str(USER_ID)


async def test_reauth_of_a_loaded_entry(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """After reauth the entry reloads with the new tokens, without logging in once more."""
    before = init_easee.runtime_data
    easee_sim.change_password(EASEE_USERNAME, EASEE_OTHER_PASSWORD)
    easee_sim.invalidate_tokens()
    result = await start_reauth(hass, init_easee)
    result = await submit(hass, result, password=EASEE_OTHER_PASSWORD)
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_easee.state is ConfigEntryState.LOADED
    assert init_easee.runtime_data is not before
    assert init_easee.data[CONF_PASSWORD] == EASEE_OTHER_PASSWORD
    # One login at the first set-up, one in the flow; the reload uses the flow's tokens.
    assert logins(easee_sim) == ["ok", "ok"]
    assert hass.states.get("sensor.garage_status").state == "charging"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_base_url(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    other_easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The reauth form's advanced section moves the entry; a bad address is refused first."""
    easee_entry.add_to_hass(hass)
    result = await start_reauth(hass, easee_entry)
    result = await submit(hass, result, password=EASEE_PASSWORD, advanced=at("http://"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert result["description_placeholders"]["username"] == EASEE_USERNAME
    assert easee_sim.requests == []
    assert other_easee_sim.requests == []

    result = await submit(
        hass, result, password=EASEE_PASSWORD, advanced=at(f"{other_easee_sim.base_url}/")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert easee_entry.data[CONF_BASE_URL] == other_easee_sim.base_url
    assert_issued(other_easee_sim, easee_entry.data[CONF_TOKENS])
    assert easee_sim.requests == []
    assert logins(other_easee_sim) == ["ok"]


# Reconfiguration


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """New credentials of the same account are checked and saved; wrong ones are refused."""
    easee_entry.add_to_hass(hass)
    easee_sim.change_password(EASEE_USERNAME, EASEE_OTHER_PASSWORD)

    result = await start_reconfigure(hass, easee_entry)
    assert result["description_placeholders"] == {"username": EASEE_USERNAME}
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_USERNAME,
        CONF_PASSWORD,
        ADVANCED,
    ]
    # The form offers the user name and the address the entry has now.
    assert form_defaults(result, password="x")[CONF_USERNAME] == EASEE_USERNAME
    assert_advanced_section(result, easee_sim.base_url)

    result = await submit_login(hass, result, password=EASEE_PASSWORD)
    assert_error(result, "base", "invalid_auth")

    # The same account, its name spelt differently: accepted, and the new spelling kept.
    result = await submit_login(
        hass, result, username=" OWNER@example.com ", password=EASEE_OTHER_PASSWORD
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert easee_entry.data[CONF_USERNAME] == "OWNER@example.com"
    assert easee_entry.data[CONF_PASSWORD] == EASEE_OTHER_PASSWORD
    assert easee_entry.data[CONF_BASE_URL] == easee_sim.base_url
    assert easee_entry.unique_id == str(USER_ID)
    assert_issued(easee_sim, easee_entry.data[CONF_TOKENS])


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_to_another_account(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """Credentials of a different account are refused; the entry keeps its own."""
    easee_entry.add_to_hass(hass)
    add_other_account(easee_sim)
    before = dict(easee_entry.data)

    result = await start_reconfigure(hass, easee_entry)
    result = await submit_login(
        hass, result, username=OTHER_USERNAME, password=EASEE_OTHER_PASSWORD
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert dict(easee_entry.data) == before
    assert easee_entry.unique_id == str(USER_ID)
    assert easee_entry.title == f"Easee {EASEE_USERNAME}"


@pytest.mark.usefixtures("mock_setup_entry", "socket_enabled")
async def test_reconfigure_base_url(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """The advanced section changes the API address; a bad or dead one is refused."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        easee_entry, data={**easee_entry.data, CONF_BASE_URL: closed_port_url()}
    )
    result = await start_reconfigure(hass, easee_entry)
    assert_advanced_section(result, easee_entry.data[CONF_BASE_URL])

    result = await submit_login(hass, result, advanced=at("ftp://x"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert easee_sim.requests == []

    # Left alone, the section sends the entry's address, where nothing answers.
    result = await submit_login(hass, result)
    assert_error(result, "base", "cannot_connect")
    assert easee_sim.requests == []

    result = await submit_login(hass, result, advanced=at(closed_port_url()))
    assert_error(result, "base", "cannot_connect")

    result = await submit_login(hass, result, advanced=at(f"{easee_sim.base_url}/"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert easee_entry.data[CONF_BASE_URL] == easee_sim.base_url
    assert_issued(easee_sim, easee_entry.data[CONF_TOKENS])
    assert logins(easee_sim) == ["ok"]


async def test_reconfigure_of_a_loaded_entry(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    other_easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """Moved to another API with a new password, the entry reloads and runs from there."""
    before = init_easee.runtime_data
    other_easee_sim.change_password(EASEE_USERNAME, EASEE_OTHER_PASSWORD)
    other_easee_sim.chargers["EH000001"].car_connected = False
    assert hass.states.get("sensor.garage_status").state == "charging"
    result = await start_reconfigure(hass, init_easee)
    assert_advanced_section(result, easee_sim.base_url)

    result = await submit_login(
        hass, result, password=EASEE_OTHER_PASSWORD, advanced=at("not an address")
    )
    assert_error(result, ADVANCED, "invalid_base_url")
    assert other_easee_sim.requests == []
    assert init_easee.runtime_data is before

    requests = len(easee_sim.requests)
    result = await submit_login(
        hass, result, password=EASEE_OTHER_PASSWORD, advanced=at(other_easee_sim.base_url)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert init_easee.data[CONF_BASE_URL] == other_easee_sim.base_url
    assert init_easee.data[CONF_PASSWORD] == EASEE_OTHER_PASSWORD
    assert init_easee.data[CONF_USERNAME] == EASEE_USERNAME
    assert_issued(other_easee_sim, init_easee.data[CONF_TOKENS])
    assert init_easee.state is ConfigEntryState.LOADED
    assert init_easee.runtime_data is not before
    # The reloaded entry reads from the new address, with the flow's tokens.
    assert logins(other_easee_sim) == ["ok"]
    assert len(easee_sim.requests) == requests
    assert hass.states.get("sensor.garage_status").state == "disconnected"


# Options


async def start_options(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Open the options of an entry and return the form."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert_translated(result, OPTION_STRINGS)
    return result


@pytest.fixture
def setups() -> Generator[AsyncMock]:
    """Count the set-ups of entries from now on (a reload is one), still setting them up."""
    with patch.object(
        ev_charge_control, "async_setup_entry", wraps=ev_charge_control.async_setup_entry
    ) as mock:
        yield mock


async def test_options_defaults(hass: HomeAssistant, init_easee: MockConfigEntry) -> None:
    """A new account reads each charger every minute and leaves dynamic limits alone."""
    result = await start_options(hass, init_easee)
    assert form_defaults(result) == {
        CONF_STATE_INTERVAL: 60,
        CONF_KEEP_DYNAMIC_LIMITS: False,
        CONF_DYNAMIC_CURRENT_TTL: 0,
        CONF_SITE_IDS: [],  # every site
    }
    assert init_easee.runtime_data.state_interval == 60


async def test_options_are_saved_and_reload_the_entry(
    hass: HomeAssistant, init_easee: MockConfigEntry, setups: AsyncMock
) -> None:
    """Saved options are whole numbers and a flag; the account runs with them at once."""
    before = init_easee.runtime_data
    result = await start_options(hass, init_easee)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_STATE_INTERVAL: 120.0,
            CONF_KEEP_DYNAMIC_LIMITS: True,
            CONF_DYNAMIC_CURRENT_TTL: 30.0,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_easee.options == {
        CONF_STATE_INTERVAL: 120,
        CONF_KEEP_DYNAMIC_LIMITS: True,
        CONF_DYNAMIC_CURRENT_TTL: 30,
    }
    assert type(init_easee.options[CONF_STATE_INTERVAL]) is int
    assert type(init_easee.options[CONF_DYNAMIC_CURRENT_TTL]) is int
    assert init_easee.state is ConfigEntryState.LOADED
    assert init_easee.runtime_data is not before
    assert init_easee.runtime_data.state_interval == 120
    # Home Assistant reloads the entry once, after the flow saved the options.
    assert setups.call_count == 1

    # Opened again, the form shows what was saved.
    result = await start_options(hass, init_easee)
    assert form_defaults(result) == {
        CONF_STATE_INTERVAL: 120,
        CONF_KEEP_DYNAMIC_LIMITS: True,
        CONF_DYNAMIC_CURRENT_TTL: 30,
        CONF_SITE_IDS: [],
    }


async def test_saving_unchanged_options_does_not_reload(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    setups: AsyncMock,
) -> None:
    """Pressing submit without a change leaves the running account alone."""
    options = {
        CONF_STATE_INTERVAL: 90,
        CONF_KEEP_DYNAMIC_LIMITS: True,
        CONF_DYNAMIC_CURRENT_TTL: 0,
    }
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options=options)
    assert await hass.config_entries.async_setup(easee_entry.entry_id)
    await hass.async_block_till_done()
    before = easee_entry.runtime_data
    requests = len(easee_sim.requests)
    setups.reset_mock()

    result = await start_options(hass, easee_entry)
    assert form_defaults(result) == {**options, CONF_SITE_IDS: []}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], form_defaults(result)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert easee_entry.options == options
    assert easee_entry.state is ConfigEntryState.LOADED
    assert easee_entry.runtime_data is before
    assert setups.call_count == 0
    assert len(easee_sim.requests) == requests


@pytest.mark.parametrize(
    "user_input",
    [
        pytest.param({CONF_STATE_INTERVAL: 10}, id="interval_too_short"),
        pytest.param({CONF_STATE_INTERVAL: 29}, id="interval_just_too_short"),
        pytest.param({CONF_STATE_INTERVAL: 301}, id="interval_too_long"),
        pytest.param({CONF_DYNAMIC_CURRENT_TTL: -1}, id="ttl_negative"),
        pytest.param({CONF_DYNAMIC_CURRENT_TTL: 1441}, id="ttl_over_a_day"),
    ],
)
async def test_options_out_of_range_are_refused(
    hass: HomeAssistant, init_easee: MockConfigEntry, user_input: dict[str, Any]
) -> None:
    """Reading too often (Easee blocks) or too seldom, or a bad time to live, is refused."""
    before = init_easee.runtime_data
    result = await start_options(hass, init_easee)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**form_defaults(result), **user_input}
        )
    assert init_easee.options == {}
    assert init_easee.runtime_data is before

    # The form is still open and takes a valid value.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form_defaults(result), CONF_STATE_INTERVAL: 30}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_easee.runtime_data.state_interval == 30


async def test_only_easee_entries_have_options(
    hass: HomeAssistant, goe_entry: MockConfigEntry, easee_entry: MockConfigEntry
) -> None:
    """A go-e charger has nothing to tune, so Home Assistant shows it no options."""
    goe_entry.add_to_hass(hass)
    easee_entry.add_to_hass(hass)
    assert not EvChargeConfigFlow.async_supports_options_flow(goe_entry)
    assert EvChargeConfigFlow.async_supports_options_flow(easee_entry)
    assert not goe_entry.supports_options
    assert easee_entry.supports_options


async def test_saving_fresh_tokens_does_not_reload(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """New tokens written into the entry keep the account running as it is."""
    before = init_easee.runtime_data
    tokens = {**init_easee.data[CONF_TOKENS], "expires_at": TOKEN_EXPIRES_AT + 3600}
    hass.config_entries.async_update_entry(
        init_easee, data={**init_easee.data, CONF_TOKENS: tokens}
    )
    await hass.async_block_till_done()
    assert init_easee.state is ConfigEntryState.LOADED
    assert init_easee.runtime_data is before
    assert init_easee.data[CONF_TOKENS] == tokens
    assert logins(easee_sim) == ["ok"]


async def test_a_token_refresh_does_not_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The runtime's own refresh saves the tokens and goes on with the same runtime."""
    easee_sim.access_token_lifetime = 600
    await setup_entry(hass, easee_entry)
    before = easee_entry.runtime_data
    first = easee_entry.data[CONF_TOKENS]["access_token"]
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(seconds=60))
    assert easee_entry.data[CONF_TOKENS]["access_token"] != first
    assert easee_sim.requests_to("POST", "/api/accounts/refresh_token")
    assert easee_entry.state is ConfigEntryState.LOADED
    assert easee_entry.runtime_data is before
    assert logins(easee_sim) == ["ok"]


async def test_no_login_while_an_account_waits(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Easee limits by IP: while a loaded account waits out a 429, a new flow sends nothing."""
    runtime = init_easee.runtime_data
    runtime.account.async_rate_limited(300)
    before = logins(easee_sim)
    result = await start_flow(hass)
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"] == {"minutes": "5"}
    assert logins(easee_sim) == before


# The flow's login is a request of the account: it counts in the account's window.


def account_window(hass: HomeAssistant, unique_id: str = str(USER_ID)) -> list[float]:
    """Return the request times the account's 5-minute window holds."""
    return list(hass.data[DATA_EASEE_ACCOUNTS][unique_id].window.sent)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_the_flows_login_counts_in_the_accounts_saved_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    hass_storage: dict[str, Any],
) -> None:
    """Adding an account: its login is the first request of the account's window, on disk too."""
    result = await submit_login(hass, await start_flow(hass))
    assert_created(result, easee_sim)
    login_at = easee_sim.requests_to("POST", LOGIN)[0].time
    assert account_window(hass) == [pytest.approx(login_at, abs=1)]
    freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    saved = hass_storage[f"{DOMAIN}.easee_{USER_ID}"]["data"]["window"]["sent"]
    assert saved == [pytest.approx(login_at, abs=1)]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_refused_login_of_a_new_account_counts_nowhere(
    hass: HomeAssistant, easee_sim: EaseeSimulator
) -> None:
    """A wrong password names no account: no window is made up for it."""
    result = await submit_login(hass, await start_flow(hass), password=EASEE_OTHER_PASSWORD)
    assert_error(result, "base", "invalid_auth")
    assert str(USER_ID) not in hass.data.get(DATA_EASEE_ACCOUNTS, {})


def fill_window(hass: HomeAssistant) -> None:
    """Spend the account's whole window now, as a busy minute of the running entry would."""
    window = hass.data[DATA_EASEE_ACCOUNTS][str(USER_ID)].window
    window.sent.clear()
    window.sent.extend([time.time()] * window.limit)


async def test_reauth_waits_while_the_accounts_window_is_full(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """A reauth login is the account's 101st request: it waits, and the form says how long."""
    fill_window(hass)
    sent = len(easee_sim.requests)
    result = await start_reauth(hass, init_easee)
    result = await submit(hass, result, password=EASEE_PASSWORD)
    assert_error(result, "base", "rate_limited")
    assert result["description_placeholders"]["minutes"] == "5"
    assert len(easee_sim.requests) == sent  # nothing went out


async def test_reconfigure_waits_while_the_accounts_window_is_full(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """The same for a reconfigure: its login counts in the account's window."""
    fill_window(hass)
    sent = len(easee_sim.requests)
    result = await start_reconfigure(hass, init_easee)
    result = await submit_login(hass, result)
    assert_error(result, "base", "rate_limited")
    assert len(easee_sim.requests) == sent


async def test_adding_a_configured_account_again_waits_for_its_window(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """The user name of an account set up already: its login counts there before it is sent."""
    fill_window(hass)
    sent = len(easee_sim.requests)
    result = await submit_login(
        hass, await start_flow(hass), username=f" {EASEE_USERNAME.upper()} "
    )
    assert_error(result, "base", "rate_limited")
    assert len(easee_sim.requests) == sent


async def test_a_reauth_login_is_counted_once(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """A login that goes through the account's budget is not added a second time."""
    before = account_window(hass)
    result = await start_reauth(hass, init_easee)
    with (
        patch("custom_components.ev_charge_control.async_setup_entry", return_value=True),
        patch("custom_components.ev_charge_control.async_unload_entry", return_value=True),
    ):
        result = await submit(hass, result, password=EASEE_PASSWORD)
        assert result["reason"] == "reauth_successful"
        assert len(account_window(hass)) == len(before) + 1
        # The reload's unload waits for the stream's task to end (it was cancelled).
        await hass.async_block_till_done()
        # Unloaded while still patched: the reload set up no runtime to unload.
        await hass.config_entries.async_unload(init_easee.entry_id)


@pytest.mark.parametrize("field", [CONF_STATE_INTERVAL, CONF_DYNAMIC_CURRENT_TTL])
@pytest.mark.parametrize("value", [float("nan"), "nan"])
async def test_options_refuse_nan(
    hass: HomeAssistant, init_easee: MockConfigEntry, field: str, value: object
) -> None:
    """NaN passes the number selector's range; the form refuses it and nothing changes.

    Found by tests/fuzz: ``int(nan)`` raised ValueError out of the options flow.
    """
    options = dict(init_easee.options)
    result = await start_options(hass, init_easee)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_STATE_INTERVAL: 60,
            CONF_KEEP_DYNAMIC_LIMITS: False,
            CONF_DYNAMIC_CURRENT_TTL: 0,
            field: value,
        },
    )
    assert_translated(result, OPTION_STRINGS)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: "not_a_number"}
    assert dict(init_easee.options) == options
