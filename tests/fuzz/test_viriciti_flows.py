"""The ViriCiti flows fuzzed field by field: the entry, its reauth and Reconfigure, the groups.

Each submission ends in a translated form error, a translated abort or a valid entry or group;
the input Home Assistant's own schema refuses changes nothing. A field the flow refuses itself
(an API key, a group id, an address, a time zone, a duration) sends no request to ViriCiti.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
import math
from typing import Any
from unittest.mock import patch
import zoneinfo

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from hypothesis import given, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, DOMAIN
from custom_components.ev_charge_control.forms import ADVANCED
from custom_components.ev_charge_control.vendors.viriciti.const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    MAX_LIMIT_DURATION,
    SUBENTRY_GROUP,
    VENDOR_VIRICITI,
)
from simulators.viriciti import ViricitiSimulator
from tests.flow import start_vendor_flow
from tests.fuzz.flows import submit
from tests.fuzz.strategies import FUZZ_HA, OMIT, TRICKY_STRINGS, field_values, form, junk_text
from tests.viriciti import conftest as viriciti_fixtures
from tests.viriciti.conftest import (
    GROUP,
    OTHER_GROUP,
    REFUSING_GROUP,
    VIRICITI_KEY,
    VIRICITI_OTHER_KEY,
    ZONE,
    make_entry,
    only_group,
)
from tests.viriciti.test_config_flow import GROUP_STRINGS, STRINGS

viriciti_sim = viriciti_fixtures.viriciti_sim
frozen_clock = viriciti_fixtures.frozen_clock

FLOW = "custom_components.ev_charge_control.vendors.viriciti.flow"


@pytest.fixture(autouse=True)
def viriciti_cloud(viriciti_sim: ViricitiSimulator) -> Generator[None]:
    """Make the simulator the ViriCiti cloud a form offers (a section left empty asks it)."""
    with patch(f"{FLOW}.VIRICITI_BASE_URL", viriciti_sim.base_url):
        yield


@pytest.fixture
def added(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, mock_setup_entry: Any
) -> MockConfigEntry:
    """Return a ViriCiti entry (its key, the group depot-1) added to Home Assistant, not set up."""
    entry = make_entry(viriciti_sim)
    entry.add_to_hass(hass)
    return entry


def sent(sim: ViricitiSimulator) -> Callable[[], int]:
    """Return what counts the requests ViriCiti's simulator has had."""
    return lambda: len(sim.requests)


api_keys = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\t",
            f" {VIRICITI_KEY} ",
            f"{VIRICITI_KEY}\n",
            f"{VIRICITI_KEY}\r\nX-Other: 1",
            "\x00",
            "\u2028",
            "ключ",
            "k" * 5000,
        ]
    ),
    junk_text,
)
group_ids = st.one_of(
    st.sampled_from(
        ["", " ", ".", "..", " .. ", "/", "a/b", "../depot-1", "%2F", "?x=1", "#x", "x" * 5000]
    ),
    st.sampled_from(TRICKY_STRINGS),
    junk_text,
)
time_zones = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "utc",
            " Europe/Amsterdam ",
            "Europe",
            "Europe/",
            "../x",
            "/etc/localtime",
            "Europe/../UTC",
            "x" * 300,
            "a\x00b",
            "Etc/GMT+14",
            "posixrules",
        ]
    ),
    st.sampled_from(TRICKY_STRINGS),
    junk_text,
)
names = st.one_of(st.sampled_from(["", " ", "\n", "x" * 5000]), junk_text)
base_urls = st.one_of(
    st.sampled_from(
        ["", " ", "ftp://example.com", "http://", "https://exa mple.com", "//x", "http://[::1"]
    ),
    junk_text,
)
advanced = st.one_of(st.fixed_dictionaries({CONF_BASE_URL: base_urls}), st.just({}), field_values)


def assert_zone(name: str) -> None:
    """A time zone that was saved loads."""
    assert name == name.strip()
    zoneinfo.ZoneInfo(name)


def assert_key(api_key: str) -> None:
    """An API key that was saved can travel in a header."""
    assert api_key
    assert api_key == api_key.strip()
    assert api_key.isprintable()


@FUZZ_HA
@given(data=st.data())
async def test_add_entry(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    mock_setup_entry: Any,
    data: st.DataObject,
) -> None:
    """The first form of a ViriCiti entry: an API key, its first group and the group's zone."""
    user_input = data.draw(
        form(
            {
                CONF_GROUP_ID: st.sampled_from([GROUP, f" {OTHER_GROUP} ", "nope"]),
                CONF_API_KEY: st.sampled_from([VIRICITI_KEY, VIRICITI_OTHER_KEY, "wrong-key"]),
                ADVANCED: st.just({CONF_BASE_URL: viriciti_sim.base_url}),
                CONF_TIME_ZONE: st.sampled_from([ZONE, "UTC", "America/New_York"]),
                CONF_NAME: st.one_of(st.just(OMIT), names),
            },
            {
                CONF_GROUP_ID: group_ids,
                CONF_API_KEY: api_keys,
                ADVANCED: advanced,
                CONF_TIME_ZONE: time_zones,
                CONF_NAME: names,
            },
            extra=True,
        )
    )
    result = await start_vendor_flow(hass, VENDOR_VIRICITI, STRINGS)
    requests = len(viriciti_sim.requests)
    result = await submit(
        hass.config_entries.flow,
        result["flow_id"],
        user_input,
        STRINGS,
        sent(viriciti_sim),
        lambda: not hass.config_entries.async_entries(DOMAIN),
    )
    if result is None:
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    assert len(viriciti_sim.requests) == requests + 1
    entry = result["result"]
    assert_key(entry.data[CONF_API_KEY])
    assert entry.title.strip()
    group = only_group(entry)
    assert group.data[CONF_GROUP_ID] in (GROUP, OTHER_GROUP)
    assert_zone(group.data[CONF_TIME_ZONE])
    # The next example starts without it (or its key and group would be taken).
    await hass.config_entries.async_remove(entry.entry_id)


@pytest.mark.parametrize("source", ["reconfigure", "reauth"])
@FUZZ_HA
@given(data=st.data())
async def test_reauth_and_reconfigure(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    added: MockConfigEntry,
    source: str,
    data: st.DataObject,
) -> None:
    """The entry's new API key (and, reconfiguring, a new address), checked with one read."""
    valid: dict[str, st.SearchStrategy[Any]] = {
        CONF_API_KEY: st.sampled_from([VIRICITI_KEY, f" {VIRICITI_KEY}", "wrong-key"])
    }
    odd: dict[str, st.SearchStrategy[Any]] = {CONF_API_KEY: api_keys}
    if source == "reconfigure":
        valid[ADVANCED] = st.just({CONF_BASE_URL: viriciti_sim.base_url})
        odd[ADVANCED] = advanced
    user_input = data.draw(form(valid, odd, extra=True))
    before = dict(added.data)
    if source == "reconfigure":
        result = await added.start_reconfigure_flow(hass)
    else:
        result = await added.start_reauth_flow(hass)
    requests = len(viriciti_sim.requests)
    result = await submit(
        hass.config_entries.flow,
        result["flow_id"],
        user_input,
        STRINGS,
        sent(viriciti_sim),
        lambda: dict(added.data) == before,
    )
    if result is None:
        return
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == f"{source}_successful"
    assert len(viriciti_sim.requests) == requests + 1
    assert added.data[CONF_API_KEY] == VIRICITI_KEY
    assert added.data[CONF_BASE_URL] == viriciti_sim.base_url
    await hass.async_block_till_done()


@FUZZ_HA
@given(data=st.data())
async def test_add_group(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    added: MockConfigEntry,
    data: st.DataObject,
) -> None:
    """Add group: a group id and its time zone, checked with one read with the entry's key."""
    user_input = data.draw(
        form(
            {
                CONF_GROUP_ID: st.sampled_from([OTHER_GROUP, REFUSING_GROUP, "nope", GROUP]),
                CONF_TIME_ZONE: st.sampled_from([ZONE, "UTC"]),
            },
            {CONF_GROUP_ID: group_ids, CONF_TIME_ZONE: time_zones},
            extra=True,
        )
    )
    result = await hass.config_entries.subentries.async_init(
        (added.entry_id, SUBENTRY_GROUP), context={"source": SOURCE_USER}
    )
    requests = len(viriciti_sim.requests)
    result = await submit(
        hass.config_entries.subentries,
        result["flow_id"],
        user_input,
        GROUP_STRINGS,
        sent(viriciti_sim),
        lambda: len(added.subentries) == 1,
    )
    if result is None:
        return
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] == "already_configured"
        assert len(viriciti_sim.requests) == requests
        return
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(viriciti_sim.requests) == requests + 1
    for subentry in list(added.subentries.values()):
        assert_zone(subentry.data[CONF_TIME_ZONE])
        if subentry.unique_id != GROUP:
            assert subentry.data[CONF_GROUP_ID] in (OTHER_GROUP, REFUSING_GROUP)
            hass.config_entries.async_remove_subentry(added, subentry.subentry_id)


# What a duration field holds: numbers of any kind and text, below what makes Home Assistant's
# own selector raise OverflowError (core's, before the flow is asked).
duration_numbers = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(min_value=-1e6, max_value=1e6),
    st.sampled_from([math.nan, "nan", "NaN", "", "1", "1.5", "-1", 0, 0.5, 1e-9, 10080, 10081]),
    st.booleans(),
    junk_text,
)
durations = st.one_of(
    st.dictionaries(
        st.sampled_from(["days", "hours", "minutes", "seconds", "milliseconds"]),
        duration_numbers,
        max_size=3,
    ),
    st.dictionaries(junk_text, duration_numbers, max_size=2),
    field_values,
)


@FUZZ_HA
@given(data=st.data())
async def test_reconfigure_group(
    hass: HomeAssistant,
    viriciti_sim: ViricitiSimulator,
    added: MockConfigEntry,
    data: st.DataObject,
) -> None:
    """A group's Reconfigure: its time zone and how long a limit from the number lasts."""
    user_input = data.draw(
        form(
            {
                CONF_TIME_ZONE: st.sampled_from([ZONE, "UTC"]),
                CONF_DEFAULT_DURATION: st.fixed_dictionaries(
                    {"hours": st.integers(0, 167), "minutes": st.integers(0, 59)}
                ),
            },
            {CONF_TIME_ZONE: time_zones, CONF_DEFAULT_DURATION: durations},
            extra=True,
        )
    )
    group = only_group(added)
    result = await hass.config_entries.subentries.async_init(
        (added.entry_id, SUBENTRY_GROUP),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": group.subentry_id},
    )
    requests = len(viriciti_sim.requests)
    result = await submit(
        hass.config_entries.subentries,
        result["flow_id"],
        user_input,
        GROUP_STRINGS,
        sent(viriciti_sim),
        # Nothing of it is ViriCiti's to check.
        lambda: only_group(added).data == group.data and len(viriciti_sim.requests) == requests,
    )
    if result is None:
        return
    assert len(viriciti_sim.requests) == requests
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    saved = only_group(added).data
    assert_zone(saved[CONF_TIME_ZONE])
    assert isinstance(saved[CONF_DEFAULT_DURATION], int)
    assert 1 <= saved[CONF_DEFAULT_DURATION] <= MAX_LIMIT_DURATION
