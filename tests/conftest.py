"""Fixtures shared by every test: simulators on 127.0.0.1, config entries, secret checks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import timedelta
import logging
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    VENDOR_GOE,
)
from simulators.goe import GoeSimulator

GOE_SERIAL = "000123"
GOE_TOKEN = "Zq7xS3cretGr1dT0kenZq7xS3cretGr1"
GOE_OTHER_TOKEN = "0therT0ken0therT0ken0therT0ken12"
EASEE_USERNAME = "owner@example.com"
EASEE_PASSWORD = "Ea5ee-Pa55w0rd!"
EASEE_OTHER_PASSWORD = "An0ther-Pa55w0rd!"
VIRICITI_KEY = "vc-ha-key-3f9a71c2e8d4b605"
VIRICITI_OTHER_KEY = "vc-ha-other-key-b17e24c9a3f0"
# Every secret any test hands out; none may ever show up in a log line.
SECRETS = (
    GOE_TOKEN,
    GOE_OTHER_TOKEN,
    EASEE_PASSWORD,
    EASEE_OTHER_PASSWORD,
    VIRICITI_KEY,
    VIRICITI_OTHER_KEY,
)
# The reports Home Assistant writes about an integration doing what it should not.
HA_REPORTS = (
    "Detected that custom integration",
    f"was called from {DOMAIN}",
    "Detected blocking call",
    "Detected code that",
)
# Secrets made during a test (tokens a simulator issued): fixtures add them before the check.
RUNTIME_SECRETS: set[str] = set()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def all_entities_enabled(request: pytest.FixtureRequest) -> Generator[None]:
    """Turn on the entities that are off by default (diagnostics), so tests see them all.

    Tests marked ``default_entities`` see what a user sees after adding a charger.
    """
    if request.node.get_closest_marker("default_entities") is not None:
        yield
        return
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


# The release the test plugin in requirements_test.txt ships: its snapshots are in snapshots/.
# Other releases (the oldest we support, in requirements_oldest.txt) serialise registry entries
# and states differently, so each keeps its own in snapshots-ha-<year>.<month>/.
TARGET_HA = (2026, 10)


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Core's snapshot format, in a folder of the Home Assistant release under test."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Return snapshots/ for the target release, snapshots-ha-<release>/ for another."""
        base = super().dirname(test_location=test_location)
        if (MAJOR_VERSION, MINOR_VERSION) == TARGET_HA:
            return base
        # A sibling, not a subfolder: syrupy would count a subfolder's snapshots as unused.
        return f"{base}-ha-{MAJOR_VERSION}.{MINOR_VERSION}"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Serialise Home Assistant objects the way core's snapshots do (no random ids)."""
    return snapshot.use_extension(VersionedSnapshotExtension)


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Capture every log line at DEBUG; fail the test on a secret or a report of our code."""
    caplog.set_level(logging.DEBUG)
    RUNTIME_SECRETS.clear()
    yield
    # At teardown caplog.text only holds the teardown phase: read every phase.
    records = [
        record
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)  # type: ignore[arg-type]
    ]
    formatter = logging.Formatter()
    text = "\n".join(
        "\n".join(
            (
                record.getMessage(),
                formatter.formatException(record.exc_info) if record.exc_info else "",
                record.stack_info or "",
            )
        )
        for record in records
    )
    for secret in (*SECRETS, *RUNTIME_SECRETS):
        assert secret not in text, "a secret was written to the log"
    # What Home Assistant reports about an integration's code is a bug in ours: a deprecated
    # call ("Detected that custom integration … calls …", "The deprecated function … was
    # called from ev_charge_control") or blocking I/O in the event loop.
    reports = [line for line in text.splitlines() if any(pattern in line for pattern in HA_REPORTS)]
    assert not reports, "Home Assistant reported our code:\n" + "\n".join(reports)


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
        title=f"go-eCharger {GOE_SERIAL}",
        unique_id=GOE_SERIAL,
        data={
            CONF_VENDOR: VENDOR_GOE,
            CONF_SERIAL: GOE_SERIAL,
            CONF_GRID_TOKEN: GOE_TOKEN,
            CONF_BASE_URL: goe_sim.base_url,
        },
    )


def find_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """Return the one device of ours with this identifier, or None."""
    devices = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, identifier)})
    assert len(devices) <= 1, f"{len(devices)} devices are {identifier}"
    return devices[0] if devices else None


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add a config entry and set it up."""
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def init_goe(hass: HomeAssistant, goe_entry: MockConfigEntry) -> MockConfigEntry:
    """Set up the go-e entry against the simulator."""
    return await setup_entry(hass, goe_entry)


async def travel(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    delta: timedelta,
    *,
    step: timedelta | None = None,
) -> None:
    """Move time forward (in steps), firing every timer and finishing every task it starts."""
    remaining = delta
    step = step or delta
    while remaining > timedelta(0):
        tick = min(step, remaining)
        freezer.tick(tick)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        remaining -= tick
