"""Diagnostics of a ViriCiti group: schedule, limits, samples and queue; no key, group or station."""

from __future__ import annotations

import json

from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulators.viriciti import ViricitiSimulator
from tests.viriciti.conftest import GROUP, STATIONS, VIRICITI_KEY, ZONE

REDACTED = "**REDACTED**"
NUMBER = "number.depot_north_requested_limit"


async def _set_limit(hass: HomeAssistant, value: int) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: NUMBER, ATTR_VALUE: value}, blocking=True
    )


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
async def test_diagnostics_show_the_group_without_the_api_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    viriciti_sim: ViricitiSimulator,
    init_viriciti: MockConfigEntry,
) -> None:
    """The dump shows the schedule, limits, samples and queue; no API key, group or station id."""
    # One limit goes out; the next waits for its slot.
    await _set_limit(hass, 120)
    await _set_limit(hass, 90)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_viriciti)
    text = json.dumps(diagnostics)
    assert VIRICITI_KEY not in text
    assert VIRICITI_KEY[:12] not in text
    assert [name for name in (GROUP, *STATIONS) if name in text] == []

    entry = diagnostics["entry"]
    assert entry["title"] == REDACTED
    assert entry["data"]["api_key"] == REDACTED
    assert entry["data"]["base_url"] == viriciti_sim.base_url
    assert entry["options"] == {}
    (group,) = entry["subentries"]
    assert group["subentry_type"] == "group"
    assert group["title"] == REDACTED  # the group's title
    assert group["data"] == {"group_id": REDACTED, "time_zone": ZONE, "default_duration": 60}

    (runtime,) = diagnostics["runtime"]["groups"]
    assert runtime["client"] == REDACTED  # its repr names the group
    assert runtime["time_zone"] == ZONE
    assert runtime["group"]["group_limit"] == 400
    assert [tf["name"] for tf in runtime["group"]["timeframes"]] == [
        "Evening peak",
        "Sunday morning",
    ]
    assert set(runtime["schedule"]) == {"limit", "timeframe", "next_change", "next_limit"}
    limits = runtime["limits"]
    assert limits["active"] == "external"
    assert limits["active_limit"] == 120
    assert limits["default"] == 400
    assert limits["external"]["limit"] == 120
    assert set(limits["external"]) == {"limit", "start", "end"}
    series = runtime["series"]
    stations = series["stations"]
    assert [station["station_id"] for station in stations] == [REDACTED, REDACTED]
    assert sorted(len(station["connectors"]) for station in stations) == [1, 2]
    assert series["last_time"] is not None
    commands = runtime["commands"]
    assert commands["last_sent"] is not None
    assert [(c["parameter"], c["value"]["limit"]) for c in commands["pending"]] == [
        ("group_limit", 90)
    ]
    assert commands["awaiting"] == []
    # When each shown read was made: the limit's is the POST's answer.
    assert set(runtime["read_at"]) == {"group", "limit", "time series"}
    assert all(runtime["read_at"].values())
