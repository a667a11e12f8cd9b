"""go-e's fixtures: a simulated charger on 127.0.0.1 and its config entry.

tests/goe/conftest.py hands them to the go-e tests; a test elsewhere that needs a go-e
charger too takes them from here by name (``goe_sim = fixtures.goe_sim``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.config_entries import ConfigEntryDisabler, ConfigSubentry, ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    DEFAULT_TITLE,
    SUBENTRY_CHARGER,
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


def charger_subentry(serial: str, token: str) -> ConfigSubentryData:
    """Return the subentry of a go-e charger as the "Add charger" flow makes it."""
    return ConfigSubentryData(
        data={CONF_SERIAL: serial, CONF_GRID_TOKEN: token},
        subentry_type=SUBENTRY_CHARGER,
        title=f"go-e {serial}",
        unique_id=serial,
    )


def goe_fleet_entry(base_url: str, *chargers: tuple[str, str]) -> MockConfigEntry:
    """Return a go-e entry (version 2) holding ``chargers`` (serial, token) as subentries."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DEFAULT_TITLE,
        version=2,
        data={CONF_VENDOR: VENDOR_GOE, CONF_BASE_URL: base_url},
        subentries_data=[charger_subentry(serial, token) for serial, token in chargers],
    )


def goe_v1_entry(
    base_url: str,
    serial: str,
    token: str,
    *,
    title: str | None = None,
    disabled_by: ConfigEntryDisabler | None = None,
) -> MockConfigEntry:
    """Return a go-e entry as version 1 saved it: one charger, its serial the unique id."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title or f"go-e {serial}",
        disabled_by=disabled_by,
        unique_id=serial,
        version=1,
        data={
            CONF_VENDOR: VENDOR_GOE,
            CONF_SERIAL: serial,
            CONF_GRID_TOKEN: token,
            CONF_BASE_URL: base_url,
        },
    )


def only_charger(entry: MockConfigEntry) -> ConfigSubentry:
    """Return the one charger subentry of a go-e entry."""
    (subentry,) = entry.subentries.values()
    return subentry


@pytest.fixture
def goe_entry(goe_sim: GoeSimulator) -> MockConfigEntry:
    """Return a go-e config entry pointing at the simulator, with its one charger."""
    return goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN))


@pytest.fixture
async def init_goe(hass: HomeAssistant, goe_entry: MockConfigEntry) -> MockConfigEntry:
    """Set up the go-e entry against the simulator."""
    return await setup_entry(hass, goe_entry)
