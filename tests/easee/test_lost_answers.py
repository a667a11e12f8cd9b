"""Easee writes whose answer was lost: the next read tells whether they arrived."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ev_charge_control.const import EVENT_COMMAND_RESULT
from simulators.easee import EaseeSimulator
from tests.conftest import travel
from tests.easee.test_writes import (
    DYNAMIC,
    DYNAMIC_PATH,
    GARAGE,
    MAXIMUM,
    PENDING,
    POLL,
    SETTINGS_PATH,
    STEP,
    attributes,
    device_id,
    set_number,
    state,
    writes,
)
from tests.events import assert_command_results

# What aiohttp raises when the answer does not come: the total timeout, a dropped connection.
LOST = pytest.mark.parametrize(
    "lost",
    [TimeoutError(), aiohttp.ServerDisconnectedError()],
    ids=["timeout", "connection_reset"],
)


def lose_answer(monkeypatch: pytest.MonkeyPatch, path: str, error: Exception) -> list[int]:
    """Let the cloud take the next write to ``path``, then lose its answer on the way back.

    Return the statuses of the answers lost (the cloud's, the client never sees them).
    """
    read = aiohttp.ClientResponse.read
    lost: list[int] = []

    async def read_then_lose(response: aiohttp.ClientResponse) -> bytes:
        body = await read(response)
        if not lost and response.method == "POST" and response.url.path == path:
            lost.append(response.status)
            raise error
        return body

    monkeypatch.setattr(aiohttp.ClientResponse, "read", read_then_lose)
    return lost


@LOST
@pytest.mark.parametrize(
    ("entity_id", "path", "parameter", "body"),
    [
        (DYNAMIC, DYNAMIC_PATH, "dynamic_charger_current", {"amps": 10, "minutes": 0}),
        (MAXIMUM, SETTINGS_PATH, "max_charger_current", {"maxChargerCurrent": 10}),
    ],
    ids=["state", "config"],
)
@pytest.mark.usefixtures("init_easee")
async def test_a_write_taken_whose_answer_was_lost_is_applied_by_the_next_read(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    monkeypatch: pytest.MonkeyPatch,
    lost: Exception,
    entity_id: str,
    path: str,
    parameter: str,
    body: dict[str, int],
) -> None:
    """The cloud took it, the answer never came: no 'failed', no second write, 'applied'."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    answers = lose_answer(monkeypatch, path, lost)
    await set_number(hass, entity_id, 10)

    assert answers == [202]
    assert writes(easee_sim) == [(path, body)]
    # The number shows what the charger was read with; the write awaits its read.
    assert state(hass, entity_id) == "32"
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {parameter: 10}
    assert attributes(hass, PENDING)["queued"] == {}
    assert events == []

    await travel(hass, freezer, POLL, step=STEP)
    assert [event.data for event in events] == [
        {
            "device_id": device_id(hass, f"easee_{GARAGE}"),
            "parameter": parameter,
            "requested": 10,
            "result": "applied",
            "actual": 10,
            "attempt": 1,
            "will_retry": False,
        }
    ]
    assert_command_results(events)
    assert attributes(hass, PENDING)["awaiting_confirmation"] == {}
    assert state(hass, entity_id) == "10"

    await travel(hass, freezer, timedelta(minutes=5), step=STEP)
    assert writes(easee_sim) == [(path, body)]
    assert len(events) == 1
    assert state(hass, entity_id) == "10"


@pytest.mark.usefixtures("init_easee")
async def test_a_write_lost_before_the_cloud_took_it_goes_again_after_the_read(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, easee_sim: EaseeSimulator
) -> None:
    """The connection dropped before the cloud acted: the read shows it, then it goes again."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    easee_sim.inject_fault("drop", path_contains="set_dynamic_charger_current")
    await set_number(hass, DYNAMIC, 10)
    assert [r.result for r in easee_sim.requests_to("POST", DYNAMIC_PATH)] == ["drop"]

    # Its fate is unknown: nothing goes again before a read has told.
    await travel(hass, freezer, timedelta(seconds=30), step=STEP)
    assert len(easee_sim.requests_to("POST", DYNAMIC_PATH)) == 1
    assert events == []

    await travel(hass, freezer, POLL, step=STEP)
    assert [r.status for r in easee_sim.requests_to("POST", DYNAMIC_PATH)] == [0, 202]
    await travel(hass, freezer, POLL, step=STEP)
    assert [
        (e.data["result"], e.data["actual"], e.data["attempt"], e.data["will_retry"])
        for e in events
    ] == [("failed", 32, 1, True), ("applied", 10, 2, False)]
    assert_command_results(events)
    assert easee_sim.charger(GARAGE).dynamic_charger_current == 10
    assert state(hass, DYNAMIC) == "10"
    assert state(hass, PENDING) == "none"
