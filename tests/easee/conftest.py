"""Easee tests: a simulated account with two sites, three circuits and five chargers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
import contextlib

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from simulators.easee import EaseeRequest, EaseeSimulator
from tests.clock import freeze_at
from tests.conftest import RUNTIME_SECRETS, secret, setup_entry

START = "2026-11-21 12:00:00+00:00"
EASEE_USERNAME = "owner@example.com"
EASEE_PASSWORD = secret("Ea5ee-Pa55w0rd!")
EASEE_OTHER_PASSWORD = secret("An0ther-Pa55w0rd!")
USER_ID = 4711
# Site 1 "Home": circuit 11 with a master and a secondary, circuit 12 with one charger.
# Site 2 "Office": circuit 21 with a master and a secondary.
CHARGERS = ("EH000001", "EH000002", "EH000003", "EH000004", "EH000005")
MASTERS = {11: "EH000001", 12: "EH000003", 21: "EH000004"}


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time before Home Assistant starts (tests with hass only)."""
    freeze_at(request, START)


def build_account(sim: EaseeSimulator) -> None:
    """Add the test account's sites, circuits and chargers to a simulator."""
    sim.add_account(EASEE_USERNAME, EASEE_PASSWORD, user_id=USER_ID)
    sim.add_site(USER_ID, 1, "Home")
    sim.add_circuit(1, 11, panel_name="1", max_current=32, offline_max_current=16)
    sim.add_circuit(1, 12, panel_name="2", max_current=25, offline_max_current=10)
    sim.add_site(USER_ID, 2, "Office")
    sim.add_circuit(2, 21, panel_name="A", max_current=40, offline_max_current=20)
    sim.add_charger(
        "EH000001", 11, name="Garage", master=True, car_connected=True, lifetime_energy=1520.5
    )
    sim.add_charger("EH000002", 11, name="Driveway")
    sim.add_charger("EH000003", 12, name="Carport", master=True)
    sim.add_charger(
        "EH000004", 21, name="Office 1", master=True, car_connected=True, lifetime_energy=88.25
    )
    sim.add_charger("EH000005", 21, name="Office 2", product_code=2)


@contextlib.asynccontextmanager
async def running_account(*, hub: bool = False) -> AsyncIterator[EaseeSimulator]:
    """Run an Easee simulator with the test account on 127.0.0.1 until the block ends.

    Its hub is down unless ``hub``: the tests read by REST, as while the stream is down
    (tests/easee/test_stream.py streams).
    """
    sim = EaseeSimulator(latency_scale=0)
    sim.hub.enabled = hub
    build_account(sim)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
        # The log guard checks, after this, that no token the simulator issued was logged.
        RUNTIME_SECRETS.update(sim.issued_secrets())


@pytest.fixture
async def easee_sim(socket_enabled: None) -> AsyncGenerator[EaseeSimulator]:
    """Start an Easee simulator with the test account."""
    async with running_account() as sim:
        yield sim


@pytest.fixture
def easee_entry(easee_sim: EaseeSimulator) -> MockConfigEntry:
    """Return an Easee config entry pointing at the simulator (no tokens yet)."""
    return entry_for(easee_sim)


def entry_for(sim: EaseeSimulator) -> MockConfigEntry:
    """Return a config entry of the test account on ``sim`` (no tokens yet)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Easee {EASEE_USERNAME}",
        unique_id=str(USER_ID),
        data={
            CONF_VENDOR: "easee",
            CONF_USERNAME: EASEE_USERNAME,
            CONF_PASSWORD: EASEE_PASSWORD,
            CONF_BASE_URL: sim.base_url,
        },
    )


@pytest.fixture
async def init_easee(hass: HomeAssistant, easee_entry: MockConfigEntry) -> MockConfigEntry:
    """Set up the Easee entry against the simulator."""
    return await setup_entry(hass, easee_entry)


def state_reads(sim: EaseeSimulator, charger_id: str) -> list[EaseeRequest]:
    """Return the reads that brought a charger's state: its site's state (or its own)."""
    site_id = sim.circuits[sim.chargers[charger_id].circuit_id].site_id
    return [
        request
        for request in sim.requests
        if request.method == "GET"
        and request.path in (f"/api/sites/{site_id}/state", f"/api/chargers/{charger_id}/state")
    ]
