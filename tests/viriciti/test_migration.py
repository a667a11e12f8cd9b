"""From version 1 (an entry per group) to version 2 (an entry per API key, a subentry per group)."""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
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
from simulators.viriciti import ViricitiSimulator
from tests.conftest import travel
from tests.viriciti.conftest import (
    GROUP,
    OTHER_GROUP,
    REFUSING_GROUP,
    VIRICITI_KEY,
    VIRICITI_OTHER_KEY,
    ZONE,
    running_group,
    v1_entry,
)

PREFIX = "/api/v1/smartcharging"


def register_v1(
    hass: HomeAssistant, entry: MockConfigEntry, group_id: str, name: str, station: str
) -> tuple[str, dict[str, str]]:
    """Register what version 1 left of a group: its device, a station and their entities.

    Return the group device's id and each entity's id by unique id.
    """
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    group = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, f"viriciti_{group_id}")},
        manufacturer="ViriCiti",
        name=name,
    )
    devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, f"viriciti_{group_id}_{station}")},
        name=f"{name} {station}",
        via_device_id=group.id,
    )
    slug = name.lower().replace(" ", "_")
    made = {
        f"viriciti_{group_id}_external_group_limit": entities.async_get_or_create(
            "number",
            DOMAIN,
            f"viriciti_{group_id}_external_group_limit",
            config_entry=entry,
            device_id=group.id,
            suggested_object_id=f"{slug}_requested_limit",
        ),
        f"viriciti_{group_id}_{station}_power_limit_1": entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"viriciti_{group_id}_{station}_power_limit_1",
            config_entry=entry,
            suggested_object_id=f"{slug}_{station.lower().replace('-', '_')}_connector_1_limit",
        ),
    }
    return group.id, {unique_id: entity.entity_id for unique_id, entity in made.items()}


def saved_queue(pending_limit: int, end: float, last_sent: float) -> dict[str, Any]:
    """Return a group's write queue as version 1 saved it: one limit waiting for its slot."""
    return {
        "version": 1,
        "minor_version": 1,
        "data": {
            "commands": {
                "last_sent": last_sent,
                "pending": [
                    {
                        "parameter": "group_limit",
                        "value": {"limit": pending_limit, "end": round(end)},
                        "requested_at": last_sent + 10,
                        "attempt": 1,
                    }
                ],
                "awaiting": [],
            }
        },
    }


async def test_entries_of_one_key_merge_and_everything_stays(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    viriciti_sim: ViricitiSimulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Two groups of one key become one entry; ids, history, settings and the queue stay.

    A group of another key stays an entry of its own.
    """
    viriciti_sim.add_api_key(VIRICITI_OTHER_KEY, [OTHER_GROUP, REFUSING_GROUP])
    viriciti_sim.add_station(OTHER_GROUP, "CS-S1", [30])
    north = v1_entry(viriciti_sim, GROUP, "ViriCiti Depot North", default_duration=90)
    south = v1_entry(
        viriciti_sim, OTHER_GROUP, "ViriCiti Depot South", time_zone="America/New_York"
    )
    west = v1_entry(viriciti_sim, REFUSING_GROUP, "ViriCiti Depot West", api_key=VIRICITI_OTHER_KEY)
    for entry in (north, south, west):
        entry.add_to_hass(hass)
    before = {
        GROUP: register_v1(hass, north, GROUP, "Depot North", "CS-01"),
        OTHER_GROUP: register_v1(hass, south, OTHER_GROUP, "Depot South", "CS-S1"),
        REFUSING_GROUP: register_v1(hass, west, REFUSING_GROUP, "Depot West", "CS-W1"),
    }
    # Version 1's repair issue of the refusing group, under its old id.
    old_issue = f"external_limits_not_allowed_{west.entry_id}"
    ir.async_create_issue(
        hass,
        DOMAIN,
        old_issue,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="external_limits_not_allowed",
    )
    # North sent a limit a minute ago; the next waits for its slot, 4 minutes from now.
    now = time.time()
    hass_storage[f"{DOMAIN}.viriciti_{GROUP}"] = {
        "key": f"{DOMAIN}.viriciti_{GROUP}",
        **saved_queue(120, now + 3600, now - 60),
    }

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()

    assert hass.config_entries.async_entries(DOMAIN) == [north, west]
    assert north.version == west.version == 2
    assert north.title == west.title == DEFAULT_TITLE
    assert north.unique_id is None
    assert dict(north.data) == {
        CONF_VENDOR: VENDOR_VIRICITI,
        CONF_API_KEY: VIRICITI_KEY,
        CONF_BASE_URL: viriciti_sim.base_url,
    }
    assert dict(west.data)[CONF_API_KEY] == VIRICITI_OTHER_KEY
    assert north.options == west.options == {}
    groups = {
        subentry.unique_id: subentry
        for entry in (north, west)
        for subentry in entry.subentries.values()
    }
    assert {g: (s.subentry_type, s.title, dict(s.data)) for g, s in groups.items()} == {
        GROUP: (
            SUBENTRY_GROUP,
            "ViriCiti Depot North",
            {CONF_GROUP_ID: GROUP, CONF_TIME_ZONE: ZONE, CONF_DEFAULT_DURATION: 90},
        ),
        OTHER_GROUP: (
            SUBENTRY_GROUP,
            "ViriCiti Depot South",
            {
                CONF_GROUP_ID: OTHER_GROUP,
                CONF_TIME_ZONE: "America/New_York",
                CONF_DEFAULT_DURATION: 60,
            },
        ),
        REFUSING_GROUP: (
            SUBENTRY_GROUP,
            "ViriCiti Depot West",
            {CONF_GROUP_ID: REFUSING_GROUP, CONF_TIME_ZONE: ZONE, CONF_DEFAULT_DURATION: 60},
        ),
    }
    assert set(north.subentries) == {groups[GROUP].subentry_id, groups[OTHER_GROUP].subentry_id}
    assert north.state is west.state is ConfigEntryState.LOADED

    # Devices and entities: the same ids, now the subentry's.
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    for group_id, (device_id, entity_ids) in before.items():
        parent = west if group_id == REFUSING_GROUP else north
        subentry_id = groups[group_id].subentry_id
        device = devices.async_get(device_id)
        assert device is not None
        assert (device.config_entry_id, device.config_subentry_id) == (
            parent.entry_id,
            subentry_id,
        )
        for unique_id, entity_id in entity_ids.items():
            entity = entities.async_get(entity_id)
            assert entity is not None
            assert entity.unique_id == unique_id
            assert (entity.config_entry_id, entity.config_subentry_id) == (
                parent.entry_id,
                subentry_id,
            )
            assert hass.states.get(entity_id) is not None, entity_id
        assert [
            d.id
            for d in dr.async_entries_for_config_entry(devices, parent.entry_id)
            if d.config_subentry_id == subentry_id and d.via_device_id is None
        ] == [device_id]
    # Nothing of version 1 was added twice.
    assert len(entities.entities.get_entries_for_config_entry_id(north.entry_id)) == len(
        {e.unique_id for e in entities.entities.get_entries_for_config_entry_id(north.entry_id)}
    )

    # The settings of version 1's options: 90 minutes for north, New York for south.
    assert (
        hass.states.get("number.depot_north_requested_limit").attributes["duration_minutes"] == 90
    )
    assert str(running_group(north, OTHER_GROUP).zone) == "America/New_York"
    # The old repair issue is gone.
    assert issue_registry.async_get_issue(DOMAIN, old_issue) is None

    # The waiting limit stays waiting: its slot is still taken by the one sent a minute ago.
    assert hass.states.get("sensor.depot_north_pending_command").state == "group_limit"
    posts = lambda: viriciti_sim.requests_to("POST", f"{PREFIX}/grouplimit/{GROUP}")  # noqa: E731
    assert posts() == []
    await travel(hass, freezer, timedelta(minutes=3), step=timedelta(seconds=30))
    assert posts() == []
    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=30))
    assert [r.result for r in posts()] == ["ok"]
    assert viriciti_sim.active_limit(GROUP) == ("external", 120)


@pytest.mark.parametrize("all_disabled", [False, True], ids=["one_disabled", "all_disabled"])
async def test_a_disabled_entry_merges_and_stays_disabled(
    hass: HomeAssistant, viriciti_sim: ViricitiSimulator, all_disabled: bool
) -> None:
    """A disabled group joins its key's entry, its devices and entities still disabled."""
    south = v1_entry(
        viriciti_sim,
        OTHER_GROUP,
        "ViriCiti Depot South",
        disabled_by=ConfigEntryDisabler.USER,
    )
    north = v1_entry(
        viriciti_sim,
        GROUP,
        "ViriCiti Depot North",
        disabled_by=ConfigEntryDisabler.USER if all_disabled else None,
    )
    # The disabled entry first: the parent is still the enabled one when there is one.
    south.add_to_hass(hass)
    north.add_to_hass(hass)
    south_device, south_entities = register_v1(hass, south, OTHER_GROUP, "Depot South", "CS-S1")

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()

    (entry,) = hass.config_entries.async_entries(DOMAIN)
    assert entry is (south if all_disabled else north)
    assert entry.version == 2
    assert {s.unique_id for s in entry.subentries.values()} == {GROUP, OTHER_GROUP}
    assert (entry.disabled_by is not None) is all_disabled
    device = dr.async_get(hass).async_get(south_device)
    assert device is not None
    assert device.config_entry_id == entry.entry_id
    for entity_id in south_entities.values():
        entity = er.async_get(hass).async_get(entity_id)
        assert entity is not None
        assert entity.config_entry_id == entry.entry_id
        assert hass.states.get(entity_id) is None
    if all_disabled:
        assert entry.state is ConfigEntryState.NOT_LOADED
    else:
        # Moved into an enabled entry, what was disabled stays disabled.
        assert device.disabled_by is dr.DeviceEntryDisabler.USER
        assert all(
            er.async_get(hass).async_get(entity_id).disabled_by is not None
            for entity_id in south_entities.values()
        )
        assert entry.state is ConfigEntryState.LOADED
        assert hass.states.get("number.depot_north_requested_limit") is not None
