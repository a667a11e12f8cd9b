"""ViriCiti tests: a simulated depot group in Europe/Amsterdam with two timeframes."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryDisabler,
    ConfigSubentry,
    ConfigSubentryData,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.viriciti.const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    DEFAULT_TITLE,
    SUBENTRY_GROUP,
    VENDOR_VIRICITI,
)
from custom_components.ev_charge_control.vendors.viriciti.runtime import (
    ViricitiGroup,
    ViricitiRuntime,
)
from simulators.viriciti import ViricitiSimulator
from tests.clock import freeze_at
from tests.conftest import secret, setup_entry

# A Saturday: 13:00 in Amsterdam, outside both timeframes.
START = "2026-11-21 12:00:00+00:00"
VIRICITI_KEY = secret("vc-ha-key-3f9a71c2e8d4b605")
VIRICITI_OTHER_KEY = secret("vc-ha-other-key-b17e24c9a3f0")
GROUP = "depot-1"
OTHER_GROUP = "depot-2"
REFUSING_GROUP = "depot-3"
ZONE = "Europe/Amsterdam"
STATIONS = ("CS-01", "CS-02")  # the main group's charge stations
TIMEFRAMES = (
    # Every evening 17:00 until midnight, 150 kW.
    {"name": "Evening peak", "start": "0 17 * * *", "end": "0 0 * * *", "limit": 150},
    # Sundays (day 0) 08:00 until 12:00, 80 kW.
    {"name": "Sunday morning", "start": "0 8 * * 0", "end": "0 12 * * 0", "limit": 80},
)


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time before Home Assistant starts (tests with hass only; a freeze_time marker wins)."""
    freeze_at(request, START)


def build_groups(sim: ViricitiSimulator) -> None:
    """Add the test groups, their stations and the keys."""
    sim.add_group(
        GROUP,
        "Depot North",
        time_zone=ZONE,
        default_limit=400,
        timeframes=TIMEFRAMES,
        accepts_external_limits=True,
    )
    sim.add_station(GROUP, STATIONS[0], [120, 60])
    sim.add_station(GROUP, STATIONS[1], [50])
    sim.add_group(OTHER_GROUP, "Depot South", time_zone=ZONE, default_limit=250)
    sim.add_group(REFUSING_GROUP, "Depot West", time_zone=ZONE, default_limit=300)
    sim.add_station(REFUSING_GROUP, "CS-W1", [40])
    sim.add_api_key(VIRICITI_KEY, [GROUP, OTHER_GROUP, REFUSING_GROUP])
    sim.add_api_key(VIRICITI_OTHER_KEY, [OTHER_GROUP])


@pytest.fixture
async def viriciti_sim(socket_enabled: None) -> AsyncGenerator[ViricitiSimulator]:
    """Start a ViriCiti simulator with the test groups."""
    sim = ViricitiSimulator(latency_scale=0, min_post_interval=300)
    build_groups(sim)
    await sim.start()
    yield sim
    await sim.stop()


def group_subentry(
    group_id: str = GROUP, title: str = "Depot North", **settings: object
) -> ConfigSubentryData:
    """Return the subentry of a group as the "Add group" flow makes it (``settings`` win)."""
    return ConfigSubentryData(
        data={CONF_GROUP_ID: group_id, CONF_TIME_ZONE: ZONE, CONF_DEFAULT_DURATION: 60, **settings},
        subentry_type=SUBENTRY_GROUP,
        title=title,
        unique_id=group_id,
    )


def key_entry(
    sim: ViricitiSimulator, *groups: ConfigSubentryData, api_key: str = VIRICITI_KEY
) -> MockConfigEntry:
    """Return a ViriCiti entry (version 2): one API key, ``groups`` as its subentries."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEFAULT_TITLE,
        version=2,
        data={CONF_VENDOR: VENDOR_VIRICITI, CONF_API_KEY: api_key, CONF_BASE_URL: sim.base_url},
        subentries_data=list(groups),
    )


def make_entry(
    sim: ViricitiSimulator, group_id: str = GROUP, title: str = "Depot North", **settings: object
) -> MockConfigEntry:
    """Return a ViriCiti entry with one group of the simulator (``settings``: its data)."""
    return key_entry(sim, group_subentry(group_id, title, **settings))


def v1_entry(
    sim: ViricitiSimulator,
    group_id: str = GROUP,
    title: str = "ViriCiti Depot North",
    *,
    api_key: str = VIRICITI_KEY,
    disabled_by: ConfigEntryDisabler | None = None,
    **options: object,
) -> MockConfigEntry:
    """Return a ViriCiti entry as version 1 saved it: one group, its id the unique id."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=group_id,
        version=1,
        disabled_by=disabled_by,
        data={
            CONF_VENDOR: VENDOR_VIRICITI,
            CONF_API_KEY: api_key,
            CONF_GROUP_ID: group_id,
            CONF_BASE_URL: sim.base_url,
        },
        options={CONF_TIME_ZONE: ZONE, CONF_DEFAULT_DURATION: 60, **options},
    )


def only_group(entry: ConfigEntry) -> ConfigSubentry:
    """Return the one group subentry of a ViriCiti entry."""
    (subentry,) = entry.subentries.values()
    return subentry


@pytest.fixture
def viriciti_entry(viriciti_sim: ViricitiSimulator) -> MockConfigEntry:
    """Return the config entry of the main test group."""
    return make_entry(viriciti_sim)


@pytest.fixture
async def init_viriciti(hass: HomeAssistant, viriciti_entry: MockConfigEntry) -> MockConfigEntry:
    """Set up the main group's entry against the simulator."""
    return await setup_entry(hass, viriciti_entry)


def assert_key_never_in_a_url(sim: ViricitiSimulator) -> None:
    """Check every request the simulator saw: the API key only ever travelled in the header."""
    assert sim.requests, "no request reached the simulator"
    for request in sim.requests:
        assert not request.key_in_query, request
        url = request.path + "?" + "&".join(f"{k}={v}" for k, v in request.query.items())
        for key in (VIRICITI_KEY, VIRICITI_OTHER_KEY):
            assert key not in url, request


def running_group(entry: ConfigEntry, group_id: str = GROUP) -> ViricitiGroup:
    """Return the running side of one group of a loaded ViriCiti entry."""
    runtime = entry.runtime_data
    assert isinstance(runtime, ViricitiRuntime)
    (group,) = [g for g in runtime.groups.values() if g.group_id == group_id]
    return group
