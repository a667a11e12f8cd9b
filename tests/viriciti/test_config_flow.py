"""Adding a ViriCiti key and its groups, re-authenticating, reconfiguring, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
import json
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components import ev_charge_control
from custom_components.ev_charge_control.api.viriciti import ViricitiClient
from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED
from custom_components.ev_charge_control.vendors.viriciti.const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    DEFAULT_TITLE,
    SUBENTRY_GROUP,
    VENDOR_VIRICITI,
)
from simulators.viriciti import ViricitiSimulator
from tests.conftest import RUNTIME_SECRETS
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
from tests.viriciti.conftest import (
    GROUP,
    OTHER_GROUP,
    VIRICITI_KEY,
    VIRICITI_OTHER_KEY,
    ZONE,
    assert_key_never_in_a_url,
    build_groups,
    make_entry,
    only_group,
)

_STRINGS_ROOT: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json").read_text(
        encoding="utf-8"
    )
)
STRINGS: dict[str, Any] = _STRINGS_ROOT["config"]
GROUP_STRINGS: dict[str, Any] = _STRINGS_ROOT["config_subentries"][SUBENTRY_GROUP]
CLOUD = "https://sdk.viriciti.com"
NEW_KEY = "vc-ha-new-key-61c0d9e2a7b4"
NUMBER = "number.depot_north_requested_limit"


# The steps of an entry's reauth and reconfigure flows.
REAUTH = "viriciti_reauth_confirm"
RECONFIGURE = "viriciti_reconfigure"


def assert_translated(result: ConfigFlowResult, strings: dict[str, Any] = STRINGS) -> None:
    """Fail when the user would see a raw key or an unfilled {placeholder}."""
    assert_form_translated(result, strings)


@pytest.fixture
def cloud(viriciti_sim: ViricitiSimulator) -> Generator[ViricitiSimulator]:
    """Make the simulator the ViriCiti cloud a form offers when its advanced section is left alone."""
    with patch(
        "custom_components.ev_charge_control.vendors.viriciti.flow.VIRICITI_BASE_URL",
        viriciti_sim.base_url,
    ):
        yield viriciti_sim


@pytest.fixture
async def other_viriciti_sim(socket_enabled: None) -> AsyncGenerator[ViricitiSimulator]:
    """Start a second ViriCiti API (a test system) with the same groups and a new key."""
    RUNTIME_SECRETS.add(NEW_KEY)
    sim = ViricitiSimulator(latency_scale=0, min_post_interval=300)
    build_groups(sim)
    sim.add_api_key(NEW_KEY, [GROUP])
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def setups() -> Generator[AsyncMock]:
    """Count the set-ups of entries from now on (a reload is one), still setting them up."""
    with patch.object(
        ev_charge_control, "async_setup_entry", wraps=ev_charge_control.async_setup_entry
    ) as mock:
        yield mock


def group_reads(sim: ViricitiSimulator, group: str = GROUP) -> list[str]:
    """Return how each read of a group's info ended, oldest first."""
    return [r.result for r in sim.requests_to("GET", f"/api/v1/smartcharging/chargergroup/{group}")]


async def start_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow, pick ViriCiti in the menu and return its form."""
    return await start_vendor_flow(hass, VENDOR_VIRICITI, STRINGS)


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


async def submit_group(
    hass: HomeAssistant,
    result: ConfigFlowResult,
    api_key: str = VIRICITI_KEY,
    group_id: str = GROUP,
    time_zone: str = ZONE,
    **extra: Any,
) -> ConfigFlowResult:
    """Submit the ViriCiti form."""
    return await submit(
        hass, result, api_key=api_key, group_id=group_id, time_zone=time_zone, **extra
    )


def assert_error(result: ConfigFlowResult, field: str, error: str) -> None:
    """Check that the form is shown again with one error."""
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}


def assert_created(
    result: ConfigFlowResult,
    base_url: str,
    *,
    group_id: str = GROUP,
    group_title: str = "Depot North",
    time_zone: str = ZONE,
    title: str = DEFAULT_TITLE,
    api_key: str = VIRICITI_KEY,
) -> None:
    """Check the new entry: the key's, with the group as its one subentry (1 h by default)."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    entry: ConfigEntry = result["result"]
    assert entry.unique_id is None
    assert entry.version == 2
    assert result["data"] == {
        CONF_VENDOR: VENDOR_VIRICITI,
        CONF_API_KEY: api_key,
        CONF_BASE_URL: base_url,
    }
    assert result["options"] == {}
    group = only_group(entry)
    assert group.subentry_type == SUBENTRY_GROUP
    assert group.title == group_title
    assert group.unique_id == group_id
    assert dict(group.data) == {
        CONF_GROUP_ID: group_id,
        CONF_TIME_ZONE: time_zone,
        CONF_DEFAULT_DURATION: 60,
    }


# Adding a group


@pytest.mark.usefixtures("mock_setup_entry")
async def test_menu_offers_viriciti_and_the_group_is_added(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """One read of the group: the key's entry holds it as a subentry named after its title."""
    result = await start_flow(hass)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_GROUP_ID,
        CONF_API_KEY,
        ADVANCED,
        CONF_TIME_ZONE,
        CONF_NAME,
    ]
    # The time zone is offered as Home Assistant's own.
    defaults = form_defaults(result, group_id=GROUP, api_key="x")
    assert defaults[CONF_TIME_ZONE] == hass.config.time_zone

    result = await submit_group(hass, result, group_id=f" {GROUP} ", api_key=f" {VIRICITI_KEY} ")
    assert_created(result, cloud.base_url)
    # Only the group info: its limits and samples are read by the entry, not the flow.
    assert [(r.method, r.path, r.result) for r in cloud.requests] == [
        ("GET", f"/api/v1/smartcharging/chargergroup/{GROUP}", "ok")
    ]
    assert all(r.key_sent for r in cloud.requests)
    assert_key_never_in_a_url(cloud)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_the_entry_takes_the_name_the_user_gives(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """The entry's title is the name given; without one it is "ViriCiti"."""
    result = await submit_group(hass, await start_flow(hass), name="  Depot fleet ")
    assert_created(result, cloud.base_url, title="Depot fleet")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_key_already_set_up_is_not_a_second_entry(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """One entry per key: another group of the same key is added to it; another key is its own."""
    entry = make_entry(cloud)
    entry.add_to_hass(hass)
    result = await submit_group(hass, await start_flow(hass), group_id=OTHER_GROUP)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "viriciti_key_configured"
    assert hass.config_entries.async_entries(DOMAIN) == [entry]
    # Nothing was asked of ViriCiti.
    assert cloud.requests == []

    result = await submit_group(
        hass, await start_flow(hass), group_id=OTHER_GROUP, api_key=VIRICITI_OTHER_KEY
    )
    assert_created(
        result,
        cloud.base_url,
        group_id=OTHER_GROUP,
        group_title="Depot South",
        api_key=VIRICITI_OTHER_KEY,
    )
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


@pytest.mark.usefixtures("mock_setup_entry")
async def test_the_same_group_is_not_added_twice(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """A group already set up aborts, and the existing entry is left as it was."""
    entry = make_entry(cloud)
    entry.add_to_hass(hass)
    result = await start_flow(hass)
    result = await submit_group(hass, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert hass.config_entries.async_entries(DOMAIN) == [entry]


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("api_key", "group_id", "field", "error", "result"),
    [
        pytest.param("vc-wrong-key", GROUP, "base", "invalid_auth", "invalid_key", id="wrong_key"),
        pytest.param(
            VIRICITI_OTHER_KEY, GROUP, "base", "invalid_auth", "no_access", id="key_without_access"
        ),
        pytest.param(
            VIRICITI_KEY, "depot-9", "base", "group_not_found", "group_not_found", id="no_group"
        ),
        pytest.param("   ", GROUP, CONF_API_KEY, "invalid_api_key", None, id="empty_key"),
        # Found by fuzzing: a key that cannot travel in a header crashed the form ("unknown").
        pytest.param(
            f"{VIRICITI_KEY}\r\nX-Other: 1",
            GROUP,
            CONF_API_KEY,
            "invalid_api_key",
            None,
            id="key_with_a_line_break",
        ),
        pytest.param("\x08", GROUP, CONF_API_KEY, "invalid_api_key", None, id="control_key"),
        pytest.param(VIRICITI_KEY, " ", CONF_GROUP_ID, "group_not_found", None, id="empty_group"),
        pytest.param(VIRICITI_KEY, "..", CONF_GROUP_ID, "group_not_found", None, id="dot_dot"),
    ],
)
async def test_refused_key_or_group_then_success(
    hass: HomeAssistant,
    cloud: ViricitiSimulator,
    api_key: str,
    group_id: str,
    field: str,
    error: str,
    result: str | None,
) -> None:
    """A refused key or unknown group is named on the form; the corrected form then works."""
    form = await start_flow(hass)
    form = await submit_group(hass, form, api_key=api_key, group_id=group_id)
    assert_error(form, field, error)
    # A field error is found before anything is sent.
    assert [r.result for r in cloud.requests] == ([result] if result else [])
    # The group id the user typed stays in the form.
    assert form_defaults(form, api_key="x")[CONF_GROUP_ID] == group_id
    # And the key too, as typed: it can be corrected instead of pasted again.
    assert suggested(form)[CONF_API_KEY] == api_key

    form = await submit_group(hass, form)
    assert_created(form, cloud.base_url)
    assert_key_never_in_a_url(cloud)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("kind", ["http_500", "non_json", "wrong_shape", "drop"])
async def test_cannot_connect(hass: HomeAssistant, cloud: ViricitiSimulator, kind: str) -> None:
    """A broken or senseless answer shows cannot_connect; a retry works."""
    cloud.inject_fault(kind, path_contains="chargergroup")
    result = await start_flow(hass)
    result = await submit_group(hass, result)
    assert_error(result, "base", "cannot_connect")

    result = await submit_group(hass, result)
    assert_created(result, cloud.base_url)
    assert group_reads(cloud) == [kind, "ok"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_rate_limited_is_not_an_unexpected_error(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """A 429 while validating is a busy cloud, not a bug: the form says so; a retry works."""
    cloud.inject_fault("http_429", path_contains="chargergroup", retry_after=60)
    result = await start_flow(hass)
    result = await submit_group(hass, result)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] in ({"base": "cannot_connect"}, {"base": "rate_limited"})

    result = await submit_group(hass, result)
    assert_created(result, cloud.base_url)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_cannot_connect_to_a_closed_port(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """An API address where nothing listens shows cannot_connect; a working one is kept."""
    result = await start_flow(hass)
    result = await submit_group(hass, result, advanced=at(closed_port_url()))
    assert_error(result, "base", "cannot_connect")
    assert cloud.requests == []

    result = await submit_group(hass, result, advanced=at(f"{cloud.base_url}/"))
    # Saved without the trailing slash, so paths are not doubled.
    assert_created(result, cloud.base_url)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_unknown_error(hass: HomeAssistant, cloud: ViricitiSimulator) -> None:
    """A bug while validating shows 'unknown' instead of a broken form; a retry works."""
    with patch.object(ViricitiClient, "get_group", side_effect=RuntimeError("boom")):
        result = await start_flow(hass)
        result = await submit_group(hass, result)
    assert_error(result, "base", "unknown")

    result = await submit_group(hass, result)
    assert_created(result, cloud.base_url)


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "CET+1", "not a zone"])
async def test_invalid_time_zone(hass: HomeAssistant, cloud: ViricitiSimulator, zone: str) -> None:
    """A time zone Home Assistant does not know is refused before anything is sent."""
    result = await start_flow(hass)
    result = await submit_group(hass, result, time_zone=zone)
    assert_error(result, CONF_TIME_ZONE, "invalid_time_zone")
    assert cloud.requests == []

    result = await submit_group(hass, result, time_zone="America/New_York")
    assert_created(result, cloud.base_url, time_zone="America/New_York")


async def test_base_url_is_in_a_collapsed_advanced_section(hass: HomeAssistant) -> None:
    """The API address waits, folded in 'Advanced' and filled in with ViriCiti's cloud."""
    result = await start_flow(hass)
    assert_advanced_section(result, CLOUD, last=False)
    defaults = form_defaults(result, group_id=GROUP, api_key="x")
    assert defaults[ADVANCED] == {CONF_BASE_URL: CLOUD}


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("base_url", ["ftp://x", "not an address", "http://", ""])
async def test_invalid_base_url(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, base_url: str
) -> None:
    """Only an http(s) address is accepted in the advanced section, before any request."""
    result = await start_flow(hass)
    result = await submit_group(hass, result, advanced=at(base_url))
    # The error is shown on the section, where the address was typed.
    assert_error(result, ADVANCED, "invalid_base_url")
    assert viriciti_sim.requests == []

    result = await submit_group(hass, result, advanced=at(viriciti_sim.base_url))
    assert_created(result, viriciti_sim.base_url)
    assert group_reads(viriciti_sim) == ["ok"]


# Re-authentication


async def test_reauth_of_a_loaded_entry(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, init_viriciti: MockConfigEntry
) -> None:
    """A revoked key: a wrong new one is refused; the right one is saved and the entry reloads."""
    RUNTIME_SECRETS.add(NEW_KEY)
    viriciti_sim.revoke_api_key(VIRICITI_KEY)
    viriciti_sim.add_api_key(NEW_KEY, [GROUP])
    before = init_viriciti.runtime_data

    result = await start_reauth(hass, init_viriciti)
    assert result["description_placeholders"] == {"entry": DEFAULT_TITLE, "name": DEFAULT_TITLE}
    # Only the key: the address is changed by reconfiguring, not here.
    assert [str(field) for field in result["data_schema"].schema] == [CONF_API_KEY]

    result = await submit(hass, result, api_key=VIRICITI_KEY)
    assert_error(result, "base", "invalid_auth")
    result = await submit(hass, result, api_key=VIRICITI_OTHER_KEY)
    assert_error(result, "base", "invalid_auth")

    reads = len(group_reads(viriciti_sim))
    result = await submit(hass, result, api_key=f" {NEW_KEY} ")
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert init_viriciti.data[CONF_API_KEY] == NEW_KEY
    assert only_group(init_viriciti).data[CONF_GROUP_ID] == GROUP
    assert init_viriciti.data[CONF_BASE_URL] == viriciti_sim.base_url
    # Reloaded with the new key: a fresh runtime. The flow read the group with it; the reload
    # shows the reads of a moment ago (their intervals have not ended) and buys none.
    assert init_viriciti.state is ConfigEntryState.LOADED
    assert init_viriciti.runtime_data is not before
    assert group_reads(viriciti_sim)[reads:] == ["ok"]
    assert hass.states.get("sensor.depot_north_active_limit").state == "400.0"
    assert_key_never_in_a_url(viriciti_sim)


# Reconfiguration


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_key(hass: HomeAssistant, viriciti_sim: ViricitiSimulator) -> None:
    """A new key for the same group is checked and saved; a wrong one is refused."""
    RUNTIME_SECRETS.add(NEW_KEY)
    viriciti_sim.add_api_key(NEW_KEY, [GROUP])
    entry = make_entry(viriciti_sim)
    entry.add_to_hass(hass)

    result = await start_reconfigure(hass, entry)
    assert result["description_placeholders"] == {"entry": DEFAULT_TITLE}
    assert [str(field) for field in result["data_schema"].schema] == [CONF_API_KEY, ADVANCED]
    assert_advanced_section(result, viriciti_sim.base_url)

    result = await submit(hass, result, api_key="vc-wrong-key")
    assert_error(result, "base", "invalid_auth")

    result = await submit(hass, result, api_key=NEW_KEY)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_VENDOR: VENDOR_VIRICITI,
        CONF_API_KEY: NEW_KEY,
        CONF_BASE_URL: viriciti_sim.base_url,
    }
    assert only_group(entry).unique_id == GROUP
    assert_key_never_in_a_url(viriciti_sim)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_base_url(hass: HomeAssistant, viriciti_sim: ViricitiSimulator) -> None:
    """The advanced section changes the API address; a bad or dead one is refused."""
    entry = make_entry(viriciti_sim)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_BASE_URL: closed_port_url()}
    )
    result = await start_reconfigure(hass, entry)
    assert [str(field) for field in result["data_schema"].schema] == [CONF_API_KEY, ADVANCED]
    assert_advanced_section(result, entry.data[CONF_BASE_URL])

    result = await submit(hass, result, api_key=VIRICITI_KEY, advanced=at("ftp://x"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert viriciti_sim.requests == []

    # Left alone, the section sends the entry's address, where nothing answers.
    result = await submit(hass, result, api_key=VIRICITI_KEY)
    assert_error(result, "base", "cannot_connect")
    assert viriciti_sim.requests == []

    result = await submit(hass, result, api_key=VIRICITI_KEY, advanced=at(closed_port_url()))
    assert_error(result, "base", "cannot_connect")

    result = await submit(
        hass, result, api_key=VIRICITI_KEY, advanced=at(f"{viriciti_sim.base_url}/")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BASE_URL] == viriciti_sim.base_url
    assert entry.data[CONF_API_KEY] == VIRICITI_KEY
    assert group_reads(viriciti_sim) == ["ok"]


async def test_reconfigure_of_a_loaded_entry(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    other_viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Moved to another API with a new key, the entry reloads and reads the group there."""
    before = init_viriciti.runtime_data
    other_viriciti_sim.groups[GROUP].default_limit = 300
    assert hass.states.get("sensor.depot_north_active_limit").state == "400.0"
    result = await start_reconfigure(hass, init_viriciti)
    assert_advanced_section(result, viriciti_sim.base_url)

    result = await submit(hass, result, api_key=NEW_KEY, advanced=at("not an address"))
    assert_error(result, ADVANCED, "invalid_base_url")
    assert other_viriciti_sim.requests == []
    assert init_viriciti.runtime_data is before

    requests = len(viriciti_sim.requests)
    result = await submit(hass, result, api_key=NEW_KEY, advanced=at(other_viriciti_sim.base_url))
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(init_viriciti.data) == {
        CONF_VENDOR: VENDOR_VIRICITI,
        CONF_API_KEY: NEW_KEY,
        CONF_BASE_URL: other_viriciti_sim.base_url,
    }
    assert init_viriciti.state is ConfigEntryState.LOADED
    assert init_viriciti.runtime_data is not before
    # The flow's read and the reload's, both at the new address with the new key.
    assert group_reads(other_viriciti_sim) == ["ok", "ok"]
    assert len(viriciti_sim.requests) == requests
    assert hass.states.get("sensor.depot_north_active_limit").state == "300.0"
    assert_key_never_in_a_url(other_viriciti_sim)


# Groups: added and reconfigured as subentries (see test_subentries.py)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_form_left_open_does_not_block_the_group(
    hass: HomeAssistant, cloud: ViricitiSimulator
) -> None:
    """A form left with an error does not stop a new one adding the group, nor add it twice."""
    first = await submit_group(hass, await start_flow(hass), api_key="vc-wrong-key")
    assert_error(first, "base", "invalid_auth")

    second = await submit_group(hass, await start_flow(hass))
    assert_created(second, cloud.base_url)

    # Sent again, the form left open finds the group (and the key) set up.
    first = await submit_group(hass, first)
    assert first["type"] is FlowResultType.ABORT
    assert first["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
