"""go-e's fixtures: a simulated charger on 127.0.0.1 and its config entry.

tests/goe/conftest.py hands them to the go-e tests; a test elsewhere that needs a go-e
charger too takes them from here by name (``goe_sim = fixtures.goe_sim``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    VENDOR_GOE,
)
from simulators.goe import GoeSimulator
from tests.conftest import secret, setup_entry

GOE_SERIAL = "000123"
GOE_TOKEN = secret("Zq7xS3cretGr1dT0kenZq7xS3cretGr1")
GOE_OTHER_TOKEN = secret("0therT0ken0therT0ken0therT0ken12")


@pytest.fixture
async def goe_sim(socket_enabled: None) -> AsyncGenerator[GoeSimulator]:
    """Start a go-e simulator with one charger that has a car charging.

    Sockets are allowed again (pytest-homeassistant blocks them), still only to 127.0.0.1.
    """
    sim = GoeSimulator(latency_scale=0)
    sim.add_charger(GOE_SERIAL, GOE_TOKEN, car_connected=True, set_current=16, kwh_total=1000)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def goe_entry(goe_sim: GoeSimulator) -> MockConfigEntry:
    """Return a go-e config entry pointing at the simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"go-e {GOE_SERIAL}",
        unique_id=GOE_SERIAL,
        data={
            CONF_VENDOR: VENDOR_GOE,
            CONF_SERIAL: GOE_SERIAL,
            CONF_GRID_TOKEN: GOE_TOKEN,
            CONF_BASE_URL: goe_sim.base_url,
        },
    )


@pytest.fixture
async def init_goe(hass: HomeAssistant, goe_entry: MockConfigEntry) -> MockConfigEntry:
    """Set up the go-e entry against the simulator."""
    return await setup_entry(hass, goe_entry)
