"""ViriCiti's timers belong to their entry: a failed set-up or an unload ends every one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control import coordinator as shared_coordinator
from custom_components.ev_charge_control.vendors.viriciti import coordinator
from simulators.viriciti import ViricitiSimulator
from tests.conftest import setup_entry, travel
from tests.viriciti.conftest import GROUP

PREFIX = "/api/v1/smartcharging"
LIMIT_PATH = f"{PREFIX}/grouplimit/{GROUP}"
TIME_PATH = f"{PREFIX}/time/{GROUP}"
NUMBER = "number.depot_north_requested_limit"


@pytest.fixture
def live_timers(monkeypatch: pytest.MonkeyPatch) -> set[object]:
    """Count the integration's timers that are armed and neither fired nor cancelled."""
    live: set[object] = set()

    def track(
        hass: HomeAssistant, action: Callable[[datetime], None], when: datetime
    ) -> CALLBACK_TYPE:
        timer = object()

        @callback
        def fire(now: datetime) -> None:
            live.discard(timer)
            action(now)

        cancel = async_track_point_in_utc_time(hass, fire, when)
        live.add(timer)

        @callback
        def unsub() -> None:
            live.discard(timer)
            cancel()

        return unsub

    # The group's change timer, and every timer a coordinator runs a job with.
    monkeypatch.setattr(coordinator, "async_track_point_in_utc_time", track)
    monkeypatch.setattr(shared_coordinator, "async_track_point_in_utc_time", track)
    return live


@pytest.mark.parametrize(
    "failing", [LIMIT_PATH, TIME_PATH], ids=["limit_read_fails", "series_read_fails"]
)
async def test_a_set_up_that_fails_after_the_group_read_leaves_no_timer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    live_timers: set[object],
    failing: str,
) -> None:
    """A day of set-ups retried past the schedule's changes (17:00, midnight): no timer stays."""
    viriciti_sim.inject_fault("http_500", path_contains=failing, count=10**6)
    await setup_entry(hass, viriciti_entry)
    assert viriciti_entry.state is ConfigEntryState.SETUP_RETRY
    assert live_timers == set()

    await travel(hass, freezer, timedelta(days=1), step=timedelta(minutes=10))
    # Set up again and again, each time past the group (read, or its saved read shown while
    # its 15 minutes last) and so past the schedule's change timer.
    assert len([r for r in viriciti_sim.requests if failing in r.path]) > 100
    assert viriciti_entry.state is ConfigEntryState.SETUP_RETRY
    assert live_timers == set()


async def test_unload_leaves_no_timer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    viriciti_sim: ViricitiSimulator,
    viriciti_entry: MockConfigEntry,
    live_timers: set[object],
) -> None:
    """Set up with a change ahead and a limit waiting for its slot; unloaded: none is left."""
    await setup_entry(hass, viriciti_entry)
    assert viriciti_entry.state is ConfigEntryState.LOADED
    for kw in (300, 250):  # the second waits for the first's slot
        await hass.services.async_call(
            "number", "set_value", {"entity_id": NUMBER, "value": kw}, blocking=True
        )
    assert len(live_timers) >= 2  # the schedule's next change, the waiting limit

    assert await hass.config_entries.async_unload(viriciti_entry.entry_id)
    await hass.async_block_till_done()
    assert live_timers == set()
    await travel(hass, freezer, timedelta(days=1), step=timedelta(hours=1))
    assert live_timers == set()
