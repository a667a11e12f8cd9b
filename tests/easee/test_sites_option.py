"""The Easee option 'Sites': an entry follows only the chosen sites of its account."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.api.easee import EaseeClient
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.diagnostics import async_get_config_entry_diagnostics
from custom_components.ev_charge_control.vendors.easee.const import (
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_KEEP_DYNAMIC_LIMITS,
    CONF_SITE_IDS,
    CONF_STATE_INTERVAL,
)
from simulators.easee import EaseeSimulator
from tests.conftest import find_device, setup_entry, travel
from tests.easee.test_config_flow import OPTION_STRINGS, assert_translated, start_options
from tests.flow import form_defaults

# Site 1 "Home": circuits 11 and 12, chargers 1 to 3; site 2 "Office": circuit 21, 4 and 5.
HOME = ("easee_site_1", "easee_circuit_11", "easee_circuit_12")
HOME += ("easee_EH000001", "easee_EH000002", "easee_EH000003")
OFFICE = ("easee_site_2", "easee_circuit_21", "easee_EH000004", "easee_EH000005")
OTHERS = {CONF_STATE_INTERVAL: 60, CONF_KEEP_DYNAMIC_LIMITS: False, CONF_DYNAMIC_CURRENT_TTL: 0}


def _office_paths(sim: EaseeSimulator, since: int = 0) -> Counter[str]:
    """Count the requests since an index that read anything of site 2 (the office)."""
    return Counter(
        request.path
        for request in sim.requests[since:]
        if request.path.startswith("/api/sites/2")
        or any(request.path.startswith(f"/api/chargers/{c}") for c in ("EH000004", "EH000005"))
    )


def _paths(sim: EaseeSimulator, since: int = 0) -> Counter[str]:
    return Counter(f"{request.method} {request.path}" for request in sim.requests[since:])


def _site_field(result: ConfigFlowResult) -> dict[str, Any]:
    schema = result["data_schema"]
    assert schema is not None
    for key, selector in schema.schema.items():
        if str(key) == CONF_SITE_IDS:
            return dict(selector.serialize()["selector"]["select"])
    raise AssertionError("no sites field")


async def _choose(hass: HomeAssistant, entry: MockConfigEntry, site_ids: list[str]) -> None:
    result = await start_options(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OTHERS, CONF_SITE_IDS: site_ids}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


def _assert_devices(hass: HomeAssistant, present: tuple[str, ...], absent: tuple[str, ...]) -> None:
    assert [d for d in present if find_device(hass, d) is None] == []
    assert [d for d in absent if find_device(hass, d) is not None] == []


async def test_the_form_lists_the_account_sites_without_a_request(
    hass: HomeAssistant, easee_sim: EaseeSimulator, init_easee: MockConfigEntry
) -> None:
    """The sites come from the running entry by name; opening the form asks Easee nothing."""
    before = len(easee_sim.requests)
    result = await start_options(hass, init_easee)
    field = _site_field(result)
    assert field["options"] == [
        {"value": "1", "label": "Home"},
        {"value": "2", "label": "Office"},
    ]
    assert field["multiple"] is True
    assert "site_ids" in OPTION_STRINGS["step"]["init"]["data"]
    assert "site_ids" in OPTION_STRINGS["step"]["init"]["data_description"]
    assert len(easee_sim.requests) == before


async def test_one_site_chosen_follows_only_that_site(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """After the reload the office's devices and entities are gone and it is never read."""
    _assert_devices(hass, HOME + OFFICE, ())
    assert entity_registry.async_get_entity_id("sensor", DOMAIN, "easee_EH000004_power")
    since = len(easee_sim.requests)

    await _choose(hass, init_easee, ["1"])
    assert init_easee.options == {**OTHERS, CONF_SITE_IDS: ["1"]}
    assert init_easee.state is ConfigEntryState.LOADED
    _assert_devices(hass, HOME, OFFICE)
    ours = er.async_entries_for_config_entry(entity_registry, init_easee.entry_id)
    assert ours
    assert [e.entity_id for e in ours if "EH000004" in e.unique_id or "_21_" in e.unique_id] == []
    assert hass.states.get("sensor.office_1_power") is None
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), init_easee.entry_id)
    assert {e.device_id for e in ours} <= {d.id for d in devices}

    await travel(hass, freezer, timedelta(hours=1), step=timedelta(seconds=30))
    assert _office_paths(easee_sim, since) == Counter()
    paths = _paths(easee_sim, since)
    assert paths["GET /api/sites/1/state"] >= 55
    assert hass.states.get("sensor.garage_power").state not in ("unavailable", "unknown")

    # Opened again, the form shows the choice; the diagnostics count it, ids stay hidden.
    assert form_defaults(await start_options(hass, init_easee))[CONF_SITE_IDS] == ["1"]
    diagnostics = await async_get_config_entry_diagnostics(hass, init_easee)
    assert diagnostics["runtime"]["followed_sites"] == {
        "chosen": 1,
        "followed": 1,
        "in_account": 2,
    }
    assert diagnostics["entry"]["options"][CONF_SITE_IDS] == "**REDACTED**"


async def test_a_site_chosen_from_the_start_is_the_only_one_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Set up with one site chosen: the other site's details are never asked for either."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options={**OTHERS, CONF_SITE_IDS: ["2"]})
    await setup_entry(hass, easee_entry)
    assert easee_entry.state is ConfigEntryState.LOADED
    await travel(hass, freezer, timedelta(hours=7), step=timedelta(minutes=1))
    paths = _paths(easee_sim)
    assert paths["GET /api/sites/2"] == 2  # set-up and six hours later
    assert paths["GET /api/accounts/products"] == 2
    assert not [p for p in paths if p.startswith("GET /api/sites/1")]
    assert not [p for p in paths if any(c in p for c in ("EH000001", "EH000002", "EH000003"))]
    _assert_devices(hass, OFFICE, HOME)
    assert set(easee_entry.runtime_data.chargers) == {"EH000004", "EH000005"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("chosen", "followed"), [([], True), (["1"], False)])
async def test_a_charger_on_no_site_is_followed_only_with_every_site(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    chosen: list[str],
    followed: bool,
) -> None:
    """The account lists chargers on no site it names: read one by one only without a choice."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options={**OTHERS, CONF_SITE_IDS: chosen})
    with patch.object(EaseeClient, "get_site_names", return_value={1: "Home"}):
        await setup_entry(hass, easee_entry)
        await travel(hass, freezer, timedelta(minutes=5), step=timedelta(seconds=30))
    assert bool(_office_paths(easee_sim)) is followed
    assert (find_device(hass, "easee_EH000004") is not None) is followed
    _assert_devices(hass, HOME, ())


@pytest.mark.parametrize("options", [{}, {CONF_SITE_IDS: []}], ids=["no key", "empty"])
async def test_no_choice_follows_every_site(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    options: dict[str, Any],
) -> None:
    """Without a choice every site is followed, one added later too."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options={**OTHERS, **options})
    await setup_entry(hass, easee_entry)
    _assert_devices(hass, HOME + OFFICE, ())
    easee_sim.add_site(4711, 3, "Barn")
    easee_sim.add_circuit(3, 31, panel_name="X")
    easee_sim.add_charger("EH000009", 31, name="Barn", master=True)
    easee_entry.runtime_data.structure_wanted = True  # type: ignore[attr-defined]
    await easee_entry.runtime_data.async_poll()  # type: ignore[attr-defined]
    await hass.async_block_till_done()
    _assert_devices(hass, ("easee_site_3", "easee_EH000009"), ())


async def test_widening_the_choice_reads_the_site_again(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """Widening reads the new site's details; narrowing needs no read (the saved ones do)."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options={**OTHERS, CONF_SITE_IDS: ["1"]})
    await setup_entry(hass, easee_entry)
    assert _paths(easee_sim)["GET /api/sites/2"] == 0
    since = len(easee_sim.requests)
    await _choose(hass, easee_entry, [])
    assert CONF_SITE_IDS not in easee_entry.options
    paths = _paths(easee_sim, since)
    assert paths["GET /api/sites/2"] == 1
    assert paths["GET /api/sites/1"] == 1
    _assert_devices(hass, HOME + OFFICE, ())
    assert hass.states.get("sensor.office_1_power") is not None

    since = len(easee_sim.requests)
    await _choose(hass, easee_entry, ["1"])
    assert _paths(easee_sim, since)["GET /api/accounts/products"] == 0
    _assert_devices(hass, HOME, OFFICE)


async def test_a_chosen_site_that_leaves_the_account(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """The site is simply not there: its devices go, nothing else is read, the form omits it."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options={**OTHERS, CONF_SITE_IDS: ["2"]})
    await setup_entry(hass, easee_entry)
    _assert_devices(hass, OFFICE, HOME)
    for charger in ("EH000004", "EH000005"):
        easee_sim.remove_charger(charger)
    del easee_sim.circuits[21]
    del easee_sim.sites[2]
    # The site's state answers 404: the structure is read again, without site 2.
    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(seconds=30))
    assert easee_entry.state is ConfigEntryState.LOADED
    _assert_devices(hass, (), HOME + OFFICE)
    since = len(easee_sim.requests)
    await travel(hass, freezer, timedelta(hours=1), step=timedelta(minutes=1))
    # Nothing to read but the structure (every six hours): no request at all for an hour.
    assert _paths(easee_sim, since) == Counter()

    result = await start_options(hass, easee_entry)
    assert _site_field(result)["options"] == [{"value": "1", "label": "Home"}]
    assert form_defaults(result)[CONF_SITE_IDS] == []


async def test_the_sites_are_not_offered_while_the_entry_is_not_loaded(
    hass: HomeAssistant, easee_sim: EaseeSimulator, easee_entry: MockConfigEntry
) -> None:
    """Not loaded, the form says why the sites are missing; the choice is kept as it was."""
    easee_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(easee_entry, options={**OTHERS, CONF_SITE_IDS: ["2"]})
    assert easee_entry.state is ConfigEntryState.NOT_LOADED
    result = await hass.config_entries.options.async_init(easee_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "easee_sites_unknown"}
    assert_translated(result, OPTION_STRINGS)
    assert CONF_SITE_IDS not in form_defaults(result)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OTHERS, CONF_STATE_INTERVAL: 90}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert easee_entry.options == {**OTHERS, CONF_STATE_INTERVAL: 90, CONF_SITE_IDS: ["2"]}
    assert easee_sim.requests == []
