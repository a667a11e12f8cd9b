"""A request that never reached Easee costs the account's 5-minute window nothing."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from datetime import timedelta
import json
from pathlib import Path
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from yarl import URL

from custom_components.ev_charge_control.budget import SlidingWindow
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.session import async_get_session
from custom_components.ev_charge_control.vendors.easee.account import (
    DATA_EASEE_ACCOUNTS,
    WINDOW_SECONDS,
    EaseeAccount,
)
from simulators.easee import EaseeSimulator
from tests.conftest import travel
from tests.easee.conftest import EASEE_PASSWORD, USER_ID
from tests.flow import closed_port_url, start_reauth_form, submit_form

GARAGE_DYNAMIC = "number.garage_dynamic_current"
STORE_KEY = f"{DOMAIN}.easee_{USER_ID}"
STRINGS: dict[str, Any] = json.loads(
    (
        Path(__file__).parents[2] / "custom_components" / "ev_charge_control" / "strings.json"
    ).read_text(encoding="utf-8")
)["config"]


@contextlib.contextmanager
def no_connection(hass: HomeAssistant) -> Iterator[list[str]]:
    """Make every request of the integration fail to connect (as a failed name lookup does).

    Each goes to a port where nothing listens: aiohttp raises a real ClientConnectorError.
    Yields the paths that were refused.
    """
    session = async_get_session(hass)
    request = session.request
    refused: list[str] = []

    def refuse(method: str, url: URL, **kwargs: Any) -> Any:
        refused.append(URL(url).path)
        return request(method, URL(closed_port_url()).with_path(URL(url).path), **kwargs)

    with patch.object(session, "request", refuse):
        yield refused


def account_of(hass: HomeAssistant) -> EaseeAccount:
    """Return the test account's budget."""
    return hass.data[DATA_EASEE_ACCOUNTS][str(USER_ID)]


def in_window(times: list[float]) -> list[float]:
    """Return the moments of the last 5 minutes, in order."""
    now = time.time()
    return sorted(moment for moment in times if moment > now - WINDOW_SECONDS)


def assert_window_is_what_easee_saw(hass: HomeAssistant, sim: EaseeSimulator) -> None:
    """The account counts exactly the requests that reached the cloud in the last 5 minutes."""
    counted = in_window(list(account_of(hass).window.sent))
    assert counted == pytest.approx(in_window([r.time for r in sim.requests]), abs=1)


async def set_number(hass: HomeAssistant, entity_id: str, value: float) -> None:
    """Set a number as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


def test_the_window_gives_back_only_the_place_taken() -> None:
    """Two requests counted at one moment: giving one back leaves the other."""
    window = SlidingWindow(3, 300.0)
    first = window.take(100.0)
    second = window.take(100.0)
    assert first == second == 100.0
    assert window.take(100.0) == 100.0
    assert window.take(100.0) is None  # full
    window.give_back(100.0)
    assert list(window.sent) == [100.0, 100.0]
    assert window.take(101.0) == 101.0
    # A moment the window forgot already changes nothing.
    window.give_back(-1.0)
    assert list(window.sent) == [100.0, 100.0, 101.0]


async def test_reads_and_writes_that_never_left_cost_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """Three minutes without a connection: polls and a write fail; the window is as before.

    The saved window (what a restart starts from) says the same.
    """
    await travel(hass, freezer, timedelta(seconds=60))
    before = list(account_of(hass).window.sent)
    with no_connection(hass) as refused:
        await set_number(hass, GARAGE_DYNAMIC, 10)
        await travel(hass, freezer, timedelta(minutes=3), step=timedelta(seconds=30))
    # Reads of every kind and the write all tried, none reached the cloud.
    assert any(path.endswith("/state") for path in refused)
    assert any(path.endswith("/set_dynamic_charger_current") for path in refused)
    assert list(account_of(hass).window.sent) == before
    assert_window_is_what_easee_saw(hass, easee_sim)
    saved = hass_storage[STORE_KEY]["data"]["window"]["sent"]
    assert saved == pytest.approx(before)

    # The connection is back: reads and a write go out and count.
    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=30))
    await set_number(hass, GARAGE_DYNAMIC, 10)
    assert easee_sim.charger("EH000001").dynamic_charger_current == 10
    assert_window_is_what_easee_saw(hass, easee_sim)
    assert in_window([r.time for r in easee_sim.requests])  # there were some


async def test_a_request_easee_may_have_seen_still_counts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """A dropped connection or a 5xx after sending: Easee may have counted it, so we do."""
    await travel(hass, freezer, timedelta(seconds=60))
    before = len(account_of(hass).window.sent)
    easee_sim.inject_fault("drop", path_contains="/state", count=1)
    easee_sim.inject_fault("http_500", path_contains="/state", count=1)
    seen = len(easee_sim.requests)
    await travel(hass, freezer, timedelta(seconds=60))
    statuses = [r.status for r in easee_sim.requests[seen:] if r.path.endswith("/state")]
    assert statuses[:2] == [0, 500]  # dropped after it arrived, then a 5xx
    assert len(account_of(hass).window.sent) == before + len(easee_sim.requests) - seen
    assert_window_is_what_easee_saw(hass, easee_sim)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_flow_login_that_never_left_costs_nothing(
    hass: HomeAssistant,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reauth's login (the account is known) without a connection is not counted."""
    easee_entry.add_to_hass(hass)
    result = await start_reauth_form(hass, easee_entry, "easee_reauth_confirm", STRINGS)
    with no_connection(hass) as refused:
        for _ in range(3):
            result = await submit_form(hass, result, STRINGS, **{CONF_PASSWORD: EASEE_PASSWORD})
            assert result["errors"] == {"base": "cannot_connect"}
    assert refused == ["/api/accounts/login"] * 3
    assert list(account_of(hass).window.sent) == []

    result = await submit_form(hass, result, STRINGS, **{CONF_PASSWORD: EASEE_PASSWORD})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert_window_is_what_easee_saw(hass, easee_sim)
    assert len(account_of(hass).window.sent) == 1
    await travel(hass, freezer, timedelta(seconds=2))
    assert len(hass_storage[STORE_KEY]["data"]["window"]["sent"]) == 1
