"""A ViriCiti entry's groups: added, reconfigured and removed while the entry runs, no reload."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from datetime import timedelta
import json
from pathlib import Path
import time
from types import MappingProxyType
from typing import Any
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
    ConfigSubentry,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components import ev_charge_control
from custom_components.ev_charge_control.api.viriciti import ViricitiClient
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.vendors.viriciti.const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    SUBENTRY_GROUP,
)
from simulators.viriciti import ViricitiSimulator
from tests.conftest import RUNTIME_SECRETS, find_device, setup_entry, travel
from tests.flow import assert_form_translated, form_defaults
from tests.viriciti.conftest import (
    GROUP,
    OTHER_GROUP,
    REFUSING_GROUP,
    VIRICITI_KEY,
    VIRICITI_OTHER_KEY,
    ZONE,
    assert_key_never_in_a_url,
    group_subentry,
    key_entry,
    make_entry,
    only_group,
    running_group,
)

STRINGS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json").read_text(
        encoding="utf-8"
    )
)["config_subentries"][SUBENTRY_GROUP]
PREFIX = "/api/v1/smartcharging"
NUMBER = "number.depot_north_requested_limit"
NEXT_CHANGE = "sensor.depot_north_next_limit_change"
NEW_KEY = "vc-ha-new-key-61c0d9e2a7b4"


@pytest.fixture
def setups() -> Generator[AsyncMock]:
    """Count the set-ups of entries from now on (a reload is one), still setting them up."""
    with patch.object(
        ev_charge_control, "async_setup_entry", wraps=ev_charge_control.async_setup_entry
    ) as mock:
        yield mock


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def requests_for(sim: ViricitiSimulator, group: str) -> list[str]:
    """Return the paths of every request about a group."""
    return [r.path for r in sim.requests if r.path.endswith(f"/{group}")]


async def start_add(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Open "Add group" on the entry and return its form."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_GROUP), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert_form_translated(result, STRINGS)
    return result


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, **user_input: Any
) -> ConfigFlowResult:
    """Submit a subentry form; what comes back must be translated."""
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    await hass.async_block_till_done()
    assert_form_translated(result, STRINGS)
    return result


async def start_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str
) -> ConfigFlowResult:
    """Open a group's Reconfigure and return its form."""
    result = await entry.start_subentry_reconfigure_flow(hass, subentry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert_form_translated(result, STRINGS)
    return result


# Adding a group


async def test_a_group_is_added_to_the_running_entry(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
    setups: AsyncMock,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """One read checks the group with the entry's key; it runs at once, the others go on."""
    viriciti_sim.add_station(OTHER_GROUP, "CS-S1", [30])
    before = init_viriciti.runtime_data
    result = await start_add(hass, init_viriciti)
    assert [str(field) for field in result["data_schema"].schema] == [
        CONF_GROUP_ID,
        CONF_TIME_ZONE,
    ]
    assert form_defaults(result, group_id="x")[CONF_TIME_ZONE] == hass.config.time_zone

    viriciti_sim.requests.clear()
    result = await submit(hass, result, group_id=f" {OTHER_GROUP} ", time_zone=ZONE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Depot South"
    subentry = next(s for s in init_viriciti.subentries.values() if s.unique_id == OTHER_GROUP)
    assert dict(subentry.data) == {
        CONF_GROUP_ID: OTHER_GROUP,
        CONF_TIME_ZONE: ZONE,
        CONF_DEFAULT_DURATION: 60,
    }
    # No reload: the same runtime, the first group untouched.
    assert init_viriciti.runtime_data is before
    assert setups.call_count == 0
    assert init_viriciti.state is ConfigEntryState.LOADED
    # The flow's read, then the group's own first reads.
    assert requests_for(viriciti_sim, OTHER_GROUP)[:2] == [
        f"{PREFIX}/chargergroup/{OTHER_GROUP}",
        f"{PREFIX}/chargergroup/{OTHER_GROUP}",
    ]
    assert requests_for(viriciti_sim, GROUP) == []
    assert state(hass, "sensor.depot_south_default_limit") == "250.0"
    assert state(hass, NUMBER) is not None
    # The group's device, and its station's, belong to the subentry.
    device = find_device(hass, f"viriciti_{OTHER_GROUP}")
    assert device is not None
    assert device.config_subentry_id == subentry.subentry_id
    station = find_device(hass, f"viriciti_{OTHER_GROUP}_CS-S1")
    assert station is not None
    assert station.config_subentry_id == subentry.subentry_id
    entity = entity_registry.async_get("number.depot_south_requested_limit")
    assert entity is not None
    assert entity.config_subentry_id == subentry.subentry_id
    assert_key_never_in_a_url(viriciti_sim)


@pytest.mark.parametrize(
    ("user_input", "field", "error", "reads"),
    [
        pytest.param({CONF_GROUP_ID: "depot-9"}, "base", "group_not_found", 1, id="no_group"),
        pytest.param({CONF_GROUP_ID: GROUP}, "base", "invalid_auth", 1, id="key_without_access"),
        pytest.param({CONF_GROUP_ID: "  "}, CONF_GROUP_ID, "group_not_found", 0, id="empty"),
        pytest.param({CONF_GROUP_ID: ".."}, CONF_GROUP_ID, "group_not_found", 0, id="dot_dot"),
        pytest.param(
            {CONF_TIME_ZONE: "Mars/Base"}, CONF_TIME_ZONE, "invalid_time_zone", 0, id="zone"
        ),
    ],
)
async def test_adding_a_group_refused_then_success(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    user_input: dict[str, Any],
    field: str,
    error: str,
    reads: int,
) -> None:
    """An unknown group, one the key cannot reach or a bad field is named; a good one is added."""
    # An entry of the key that reaches only the other group.
    other = await setup_entry(hass, _other_key_entry(viriciti_sim))
    viriciti_sim.requests.clear()
    result = await start_add(hass, other)
    result = await submit(
        hass, result, **{CONF_GROUP_ID: REFUSING_GROUP, CONF_TIME_ZONE: ZONE, **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert len(viriciti_sim.requests) == reads
    assert len(other.subentries) == 1
    # What the user typed stays in the form.
    assert form_defaults(result)[CONF_GROUP_ID] == user_input.get(CONF_GROUP_ID, REFUSING_GROUP)

    viriciti_sim.add_api_key(VIRICITI_OTHER_KEY, [OTHER_GROUP, REFUSING_GROUP])
    result = await submit(hass, result, group_id=REFUSING_GROUP, time_zone=ZONE)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(other.subentries) == 2
    assert state(hass, "sensor.depot_west_default_limit") == "300.0"


def _other_key_entry(sim: ViricitiSimulator) -> MockConfigEntry:
    return key_entry(sim, group_subentry(OTHER_GROUP, "Depot South"), api_key=VIRICITI_OTHER_KEY)


@pytest.mark.parametrize("kind", ["http_500", "non_json", "drop", "http_429"])
async def test_adding_a_group_cannot_connect_then_success(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, init_viriciti: MockConfigEntry, kind: str
) -> None:
    """A broken answer or a busy cloud shows cannot_connect; the retry adds the group."""
    viriciti_sim.inject_fault(kind, path_contains=f"chargergroup/{OTHER_GROUP}")
    result = await start_add(hass, init_viriciti)
    result = await submit(hass, result, group_id=OTHER_GROUP, time_zone=ZONE)
    assert result["errors"] == {"base": "cannot_connect"}
    result = await submit(hass, result, group_id=OTHER_GROUP, time_zone=ZONE)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_adding_a_group_unknown_error_then_success(
    hass: HomeAssistant, init_viriciti: MockConfigEntry
) -> None:
    """A bug while validating shows 'unknown' instead of a broken form; a retry works."""
    result = await start_add(hass, init_viriciti)
    with patch.object(ViricitiClient, "get_group", side_effect=RuntimeError("boom")):
        result = await submit(hass, result, group_id=OTHER_GROUP, time_zone=ZONE)
    assert result["errors"] == {"base": "unknown"}
    result = await submit(hass, result, group_id=OTHER_GROUP, time_zone=ZONE)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_a_group_set_up_under_any_key_is_not_added_twice(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, init_viriciti: MockConfigEntry
) -> None:
    """A group already configured aborts, without a request; the entries stay as they were."""
    other = await setup_entry(hass, _other_key_entry(viriciti_sim))
    viriciti_sim.requests.clear()
    for entry, group in ((init_viriciti, GROUP), (init_viriciti, OTHER_GROUP), (other, GROUP)):
        result = await submit(hass, await start_add(hass, entry), group_id=group, time_zone=ZONE)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    assert viriciti_sim.requests == []
    assert len(init_viriciti.subentries) == len(other.subentries) == 1


# Reconfiguring a group


async def test_a_group_takes_a_new_time_zone_and_duration_without_a_reload(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
    setups: AsyncMock,
) -> None:
    """The former options: saved on the group, followed at once, nothing asked of ViriCiti."""
    before = init_viriciti.runtime_data
    subentry = only_group(init_viriciti)
    result = await start_reconfigure(hass, init_viriciti, subentry.subentry_id)
    assert result["description_placeholders"] == {"group": "Depot North"}
    assert form_defaults(result) == {
        CONF_TIME_ZONE: ZONE,
        CONF_DEFAULT_DURATION: {"hours": 1, "minutes": 0},
    }
    assert hass.states.get(NUMBER).attributes["duration_minutes"] == 60
    # The evening peak starts at 17:00 in Amsterdam.
    assert state(hass, NEXT_CHANGE) == "2026-11-21T16:00:00+00:00"

    requests = len(viriciti_sim.requests)
    result = await submit(
        hass,
        result,
        time_zone=" America/New_York ",
        default_duration={"hours": 2, "minutes": 30},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(only_group(init_viriciti).data) == {
        CONF_GROUP_ID: GROUP,
        CONF_TIME_ZONE: "America/New_York",
        CONF_DEFAULT_DURATION: 150,
    }
    assert init_viriciti.runtime_data is before
    assert setups.call_count == 0
    assert len(viriciti_sim.requests) == requests
    assert hass.states.get(NUMBER).attributes["duration_minutes"] == 150
    # 17:00 in New York.
    assert state(hass, NEXT_CHANGE) == "2026-11-21T22:00:00+00:00"
    assert str(running_group(init_viriciti).limit.zone) == "America/New_York"

    # Opened again, the form shows what was saved.
    result = await start_reconfigure(hass, init_viriciti, subentry.subentry_id)
    assert form_defaults(result) == {
        CONF_TIME_ZONE: "America/New_York",
        CONF_DEFAULT_DURATION: {"hours": 2, "minutes": 30},
    }


@pytest.mark.parametrize(
    ("user_input", "field", "error"),
    [
        pytest.param({CONF_TIME_ZONE: "Mars/Base"}, CONF_TIME_ZONE, "invalid_time_zone", id="zone"),
        pytest.param(
            {CONF_DEFAULT_DURATION: {"hours": 0, "minutes": 0}},
            CONF_DEFAULT_DURATION,
            "invalid_duration",
            id="zero",
        ),
        pytest.param(
            {CONF_DEFAULT_DURATION: {"hours": 168, "minutes": 1}},
            CONF_DEFAULT_DURATION,
            "invalid_duration",
            id="over_a_week",
        ),
        pytest.param(
            {CONF_DEFAULT_DURATION: {"hours": 400}},
            CONF_DEFAULT_DURATION,
            "invalid_duration",
            id="far_over_a_week",
        ),
    ],
)
async def test_a_group_reconfigure_refused_then_success(
    hass: HomeAssistant,
    init_viriciti: MockConfigEntry,
    user_input: dict[str, Any],
    field: str,
    error: str,
) -> None:
    """An unknown zone, no duration or one over 7 days is named on the form; nothing changes."""
    subentry_id = only_group(init_viriciti).subentry_id
    result = await start_reconfigure(hass, init_viriciti, subentry_id)
    result = await submit(hass, result, **{**form_defaults(result), **user_input})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}
    assert dict(only_group(init_viriciti).data)[CONF_DEFAULT_DURATION] == 60
    assert hass.states.get(NUMBER).attributes["duration_minutes"] == 60

    # The form is still open; exactly a week is the longest duration taken.
    result = await submit(hass, result, time_zone=ZONE, default_duration={"hours": 168})
    assert result["type"] is FlowResultType.ABORT
    assert dict(only_group(init_viriciti).data)[CONF_DEFAULT_DURATION] == 7 * 24 * 60
    assert hass.states.get(NUMBER).attributes["duration_minutes"] == 7 * 24 * 60


async def test_a_group_reconfigured_while_the_entry_is_not_loaded_starts_with_it(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator
) -> None:
    """Saved on the group; the entry's next set-up runs the group with it."""
    entry = make_entry(viriciti_sim)
    entry.add_to_hass(hass)
    subentry_id = only_group(entry).subentry_id
    result = await start_reconfigure(hass, entry, subentry_id)
    result = await submit(hass, result, time_zone=ZONE, default_duration={"minutes": 45})
    assert result["type"] is FlowResultType.ABORT
    await setup_entry(hass, entry)
    assert hass.states.get(NUMBER).attributes["duration_minutes"] == 45


# Removing a group


async def test_a_removed_group_stops_and_its_devices_go(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    device_registry: dr.DeviceRegistry,
    setups: AsyncMock,
) -> None:
    """Its devices and entities go, it is asked nothing more; the entry's other group goes on."""
    viriciti_sim.add_station(OTHER_GROUP, "CS-S1", [30])
    entry = await setup_entry(
        hass,
        key_entry(
            viriciti_sim,
            group_subentry(GROUP, "Depot North"),
            group_subentry(OTHER_GROUP, "Depot South"),
        ),
    )
    before = entry.runtime_data
    calls = setups.call_count
    south = next(s for s in entry.subentries.values() if s.unique_id == OTHER_GROUP)
    assert hass.config_entries.async_remove_subentry(entry, south.subentry_id)
    await hass.async_block_till_done()
    assert find_device(hass, f"viriciti_{OTHER_GROUP}") is None
    assert find_device(hass, f"viriciti_{OTHER_GROUP}_CS-S1") is None
    assert hass.states.get("sensor.depot_south_default_limit") is None
    assert entry.runtime_data is before
    assert setups.call_count == calls

    viriciti_sim.requests.clear()
    await travel(hass, freezer, timedelta(minutes=31), step=timedelta(minutes=5))
    assert requests_for(viriciti_sim, OTHER_GROUP) == []
    assert len(requests_for(viriciti_sim, GROUP)) >= 6
    assert state(hass, "sensor.depot_north_default_limit") == "400.0"


# The entry's key


async def test_reauth_of_an_entry_whose_set_up_failed_sets_it_up(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator
) -> None:
    """A key refused at set-up: the new key (checked with one group read) sets the entry up."""
    RUNTIME_SECRETS.add(NEW_KEY)
    viriciti_sim.revoke_api_key(VIRICITI_KEY)
    entry = make_entry(viriciti_sim)
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"

    viriciti_sim.add_api_key(NEW_KEY, [GROUP])
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"api_key": NEW_KEY})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.state is ConfigEntryState.LOADED
    assert state(hass, "sensor.depot_north_default_limit") == "400.0"


async def test_a_failed_set_up_keeps_the_saved_queue(
    hass: HomeAssistant, hass_storage: dict[str, Any], viriciti_sim: ViricitiSimulator
) -> None:
    """A group whose first read fails saves nothing over its waiting limit and last slot."""
    saved = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.viriciti_{GROUP}",
        "data": {
            "commands": {
                "last_sent": time.time() - 60,
                "pending": [
                    {
                        "parameter": "group_limit",
                        "value": {"limit": 120, "end": round(time.time()) + 3600},
                        "requested_at": time.time() - 30,
                        "attempt": 1,
                    }
                ],
                "awaiting": [],
            }
        },
    }
    hass_storage[saved["key"]] = saved
    viriciti_sim.add_station(OTHER_GROUP, "CS-S1", [30])
    viriciti_sim.inject_fault("http_500", path_contains=f"chargergroup/{GROUP}")
    entry = await setup_entry(
        hass,
        key_entry(
            viriciti_sim,
            group_subentry(OTHER_GROUP, "Depot South"),
            group_subentry(GROUP, "Depot North"),
        ),
    )
    assert entry.state is ConfigEntryState.SETUP_RETRY
    await hass.async_block_till_done()
    assert hass_storage[saved["key"]]["data"]["commands"] == saved["data"]["commands"]


# Actions on the groups of one key


async def test_the_action_limits_the_group_whose_device_it_names(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator
) -> None:
    """Each group of a key has its own slot: one limit per 5 minutes per group."""
    viriciti_sim.set_accepts_external_limits(OTHER_GROUP, True)
    await setup_entry(
        hass,
        key_entry(
            viriciti_sim,
            group_subentry(GROUP, "Depot North"),
            group_subentry(OTHER_GROUP, "Depot South", default_duration=30),
        ),
    )

    def posts(group: str) -> list[object]:
        return [r.body for r in viriciti_sim.requests_to("POST", f"{PREFIX}/grouplimit/{group}")]

    for group, limit in ((OTHER_GROUP, 70), (GROUP, 90)):
        device = find_device(hass, f"viriciti_{group}")
        assert device is not None
        await hass.services.async_call(
            DOMAIN,
            "set_group_limit",
            {"device_id": device.id, "limit": limit},
            blocking=True,
        )
    # South's own default duration (30 minutes), north's (an hour); 13:00 in Amsterdam.
    assert posts(OTHER_GROUP) == [{"groupLimit": 70, "endTime": "2026-11-21T13:30:00.000+01:00"}]
    assert posts(GROUP) == [{"groupLimit": 90, "endTime": "2026-11-21T14:00:00.000+01:00"}]
    assert state(hass, "sensor.depot_south_active_limit") == "70.0"
    assert state(hass, "sensor.depot_north_active_limit") == "90.0"


async def test_a_group_removed_while_it_starts_stays_stopped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """Removed during its first read, a group leaves no entity, timer or request behind."""
    release = asyncio.Event()
    real_get_group = ViricitiClient.get_group

    async def slow(self: ViricitiClient) -> Any:
        if self.group_id == OTHER_GROUP:
            await release.wait()
        return await real_get_group(self)

    with patch.object(ViricitiClient, "get_group", slow):
        subentry = ConfigSubentry(
            data=MappingProxyType(
                {CONF_GROUP_ID: OTHER_GROUP, CONF_TIME_ZONE: ZONE, CONF_DEFAULT_DURATION: 60}
            ),
            subentry_type=SUBENTRY_GROUP,
            title="Depot South",
            unique_id=OTHER_GROUP,
        )
        hass.config_entries.async_add_subentry(init_viriciti, subentry)
        await asyncio.sleep(0)
        assert hass.config_entries.async_remove_subentry(init_viriciti, subentry.subentry_id)
        await asyncio.sleep(0)
        release.set()
        await hass.async_block_till_done()
    assert running_group(init_viriciti).group_id == GROUP
    assert hass.states.get("sensor.depot_south_default_limit") is None
    assert find_device(hass, f"viriciti_{OTHER_GROUP}") is None

    viriciti_sim.requests.clear()
    await travel(hass, freezer, timedelta(minutes=31), step=timedelta(minutes=5))
    assert requests_for(viriciti_sim, OTHER_GROUP) == []
