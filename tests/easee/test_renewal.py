"""An outage of Easee's cloud costs a few token renewals, not one per read or write."""

from __future__ import annotations

from datetime import timedelta
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.api.easee import (
    REFRESH_MARGIN,
    RENEWAL_RETRY_FIRST,
    RENEWAL_RETRY_MAX,
)
from simulators.easee import EaseeSimulator
from tests.conftest import setup_entry, travel

REFRESH = "/api/accounts/refresh_token"
LOGIN = "/api/accounts/login"
LIFETIME = 600
OUTAGE = 1800.0
GARAGE_STATUS = "sensor.garage_status"


def renewal_schedule(first: float, until: float) -> list[float]:
    """Return when renewals may go out: ``first``, then after each back-off, before ``until``."""
    moments = [first]
    delay = RENEWAL_RETRY_FIRST
    while moments[-1] + delay < until:
        moments.append(moments[-1] + delay)
        delay = min(RENEWAL_RETRY_MAX, delay * 2)
    return moments


async def test_a_30_minute_outage_costs_a_few_refreshes_and_recovers(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """Every request answers 500 for 30 minutes while the token runs out.

    Five chargers on two sites and three circuits poll every minute: without a back-off each of
    them tried a refresh at each poll (about 150 in 30 minutes). Now the refreshes follow the
    back-off (1, 2, 4, 8, then every 15 minutes) and the first one after the outage succeeds.
    """
    easee_sim.access_token_lifetime = LIFETIME
    await setup_entry(hass, easee_entry)
    start = time.time()
    await travel(hass, freezer, timedelta(seconds=LIFETIME - 120), step=timedelta(seconds=60))
    outage_start = time.time()
    easee_sim.inject_fault("http_500", count=1_000_000)
    await travel(hass, freezer, timedelta(seconds=OUTAGE), step=timedelta(seconds=10))
    outage_end = time.time()
    easee_sim.clear_faults()

    refreshes = [r.time for r in easee_sim.requests_to("POST", REFRESH)]
    assert [r.status for r in easee_sim.requests_to("POST", REFRESH)] == [500] * len(refreshes)
    # The first try once the token is about to end; then the back-off's schedule, no more.
    first = refreshes[0]
    assert start + LIFETIME - REFRESH_MARGIN <= first < start + LIFETIME
    assert refreshes == renewal_schedule(first, outage_end)
    assert len(refreshes) <= 6
    # Nothing is sent without a token while the renewal waits: no logins, no reads.
    assert easee_sim.requests_to("POST", LOGIN)[1:] == []
    assert [r for r in easee_sim.requests if r.time > start + LIFETIME and r.path != REFRESH] == []
    assert hass.states.get(GARAGE_STATUS).state == STATE_UNAVAILABLE
    assert outage_start < first

    # The outage is over: the next refresh (at most 15 minutes on) succeeds and polling resumes.
    await travel(hass, freezer, timedelta(seconds=RENEWAL_RETRY_MAX), step=timedelta(seconds=30))
    last = easee_sim.requests_to("POST", REFRESH)[-1]
    assert last.status == 200
    assert last.time <= outage_end + RENEWAL_RETRY_MAX
    assert easee_sim.requests_to("POST", LOGIN)[1:] == []
    assert hass.states.get(GARAGE_STATUS).state == "charging"
