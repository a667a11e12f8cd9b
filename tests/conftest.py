"""What every vendor's tests share: time travel, set-up, devices, snapshots and secret checks."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from datetime import timedelta
import logging
from unittest.mock import AsyncMock, PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from benchmarks.idle import block_till_idle
from custom_components.ev_charge_control.const import DOMAIN

# Every secret a test hands out (each named once with secret()); none may show up in a log line.
SECRETS: set[str] = set()


def secret(value: str) -> str:
    """Return a secret a test hands out, and fail every test that writes it to the log."""
    SECRETS.add(value)
    return value


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


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Turn on the entities that are off by default, for a test that reads one of them.

    Core's fixture of this name, which the test plugin does not ship. Without it a test sees
    what a user sees after adding a charger.
    """
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


async def snapshot_entities(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    config_entry_id: str,
) -> None:
    """Snapshot one platform's entities as a new user gets them, then the ones off by default.

    Every entity's registry entry is snapshotted (one off by default with ``disabled_by`` set),
    so renaming any of them fails; each one that is on, its state. Then the user turns the
    others on, Home Assistant reloads the entry, and their states are snapshotted too.
    (Core's ``snapshot_platform`` wants every entity on, hiding what a new user gets.)
    """
    entries = er.async_entries_for_config_entry(entity_registry, config_entry_id)
    assert entries
    assert len({entry.domain for entry in entries}) == 1, "snapshot one platform at a time"
    off = []
    for entry in entries:
        assert entry == snapshot(name=f"{entry.entity_id}-entry")
        if entry.disabled_by is None:
            assert hass.states.get(entry.entity_id) == snapshot(name=f"{entry.entity_id}-state")
        else:
            assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
            assert hass.states.get(entry.entity_id) is None
            off.append(entry.entity_id)
    if not off:
        return
    for entity_id in off:
        entity_registry.async_update_entity(entity_id, disabled_by=None)
    await travel(hass, freezer, timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1))
    for entity_id in off:
        assert hass.states.get(entity_id) == snapshot(name=f"{entity_id}-state")


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
        await block_till_idle(hass)
        remaining -= tick


@pytest.fixture
async def mock_setup_entry(hass: HomeAssistant) -> AsyncGenerator[AsyncMock]:
    """Do not set up the entries a config flow creates (the flow is what is tested)."""
    with (
        patch("custom_components.ev_charge_control.async_setup_entry", return_value=True) as mock,
        patch("custom_components.ev_charge_control.async_unload_entry", return_value=True),
    ):
        yield mock
        # Unload while still patched: the real unload would look for a runtime there is none of.
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
