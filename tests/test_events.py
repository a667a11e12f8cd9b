"""The command-result event: one schema and one set of results, whichever vendor fires it."""

from __future__ import annotations

from datetime import UTC, datetime

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.ev_charge_control.const import EVENT_COMMAND_RESULT
from custom_components.ev_charge_control.events import (
    CommandResult,
    CommandResultEvent,
    async_fire_command_result,
)
from tests.events import RESULTS, assert_command_results


def test_the_results_are_the_documented_ones() -> None:
    """Automations match on these strings: none may change or disappear silently."""
    assert {result.value for result in CommandResult} == RESULTS
    assert {str(result) for result in CommandResult} == RESULTS


async def test_an_event_carries_every_field(hass: HomeAssistant) -> None:
    """A go-e or Easee command: the seven fields, a tuple as a list, the result a plain string."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    async_fire_command_result(
        hass,
        CommandResultEvent(
            device_id="device",
            parameter="circuit_dynamic_current",
            requested=(32, 20, 32),
            result=CommandResult.FAILED,
            actual=(32, 32, 32),
            attempt=2,
            will_retry=True,
        ),
    )
    await hass.async_block_till_done()

    assert [event.data for event in events] == [
        {
            "device_id": "device",
            "parameter": "circuit_dynamic_current",
            "requested": [32, 20, 32],
            "result": "failed",
            "actual": [32, 32, 32],
            "attempt": 2,
            "will_retry": True,
        }
    ]
    assert type(events[0].data["result"]) is str
    assert_command_results(events)


async def test_a_request_that_ends_carries_both_ends(hass: HomeAssistant) -> None:
    """A ViriCiti limit: its end, and the end the read shows (None when it shows no limit)."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    end = datetime(2026, 11, 21, 13, tzinfo=UTC)
    for actual, actual_end in ((100, end), (None, None)):
        async_fire_command_result(
            hass,
            CommandResultEvent(
                device_id="group",
                parameter="group_limit",
                requested=120,
                result=CommandResult.FAILED,
                actual=actual,
                attempt=1,
                will_retry=True,
                end_time=end,
                actual_end_time=actual_end,
            ),
        )
    await hass.async_block_till_done()

    assert [(e.data["actual"], e.data["end_time"], e.data["actual_end_time"]) for e in events] == [
        (100, "2026-11-21T13:00:00+00:00", "2026-11-21T13:00:00+00:00"),
        (None, "2026-11-21T13:00:00+00:00", None),
    ]
    assert_command_results(events)


async def test_nothing_read_back_is_none(hass: HomeAssistant) -> None:
    """A refused command was never read back: ``actual`` is there, and None."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    async_fire_command_result(
        hass,
        CommandResultEvent(
            device_id="device",
            parameter="dynamic_charger_current",
            requested=10,
            result=CommandResult.OFFLINE,
            actual=None,
            attempt=1,
            will_retry=False,
        ),
    )
    await hass.async_block_till_done()

    assert events[0].data["actual"] is None
    assert events[0].data["result"] == "offline"
    assert_command_results(events)
