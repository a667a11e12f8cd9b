"""Diagnostics of every vendor follow one rule: no secret, serial or id is in a dump, all is JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.easee.const import VENDOR_EASEE
from custom_components.ev_charge_control.vendors.goe.runtime import GoeRuntime
from simulators.goe import GoeSimulator
from simulators.viriciti import ViricitiSimulator
from tests.conftest import setup_entry
from tests.dumps import download_diagnostics, issue_ids
from tests.easee.conftest import CHARGERS, EASEE_PASSWORD, EASEE_USERNAME, USER_ID, running_account
from tests.goe import fixtures as goe_fixtures
from tests.goe.fixtures import GOE_SERIAL, GOE_TOKEN
from tests.viriciti.conftest import GROUP, STATIONS, VIRICITI_KEY, build_groups, v1_entry

REDACTED = "**REDACTED**"

# The go-e charger of the go-e case below.
goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry

# A vendor's entry, what its dump must never hold (asked after set-up: tokens are issued then),
# the numbers (user ids) that must not stand as a value of their own (a timestamp may hold
# the same digits by chance), and the ids of the repair issues older versions raised, which
# named the serial, the group or the account.
type Known = tuple[MockConfigEntry, Callable[[], set[str]], set[int], list[str]]


@contextlib.asynccontextmanager
async def _goe(goe_entry: MockConfigEntry) -> AsyncIterator[Known]:
    legacy = [f"goe_{GOE_SERIAL}_set_current_failed", f"goe_{GOE_SERIAL}_set_allow_failed"]
    # Saved by version 1 (which raised those issues): the update to version 2 deletes them.
    entry = goe_fixtures.goe_v1_entry(goe_entry.data[CONF_BASE_URL], GOE_SERIAL, GOE_TOKEN)
    yield entry, lambda: {GOE_SERIAL, GOE_TOKEN}, set(), legacy


@contextlib.asynccontextmanager
async def _easee(goe_entry: MockConfigEntry) -> AsyncIterator[Known]:
    async with running_account() as sim:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Easee {EASEE_USERNAME}",
            unique_id=str(USER_ID),
            data={
                CONF_VENDOR: VENDOR_EASEE,
                CONF_USERNAME: EASEE_USERNAME,
                CONF_PASSWORD: EASEE_PASSWORD,
                CONF_BASE_URL: sim.base_url,
            },
        )
        user = EASEE_USERNAME.split("@")[0]
        yield (
            entry,
            lambda: {EASEE_PASSWORD, EASEE_USERNAME, user, *CHARGERS, *sim.issued_secrets()},
            {USER_ID},
            [f"easee_{USER_ID}_blocked"],
        )


@contextlib.asynccontextmanager
async def _viriciti(goe_entry: MockConfigEntry) -> AsyncIterator[Known]:
    sim = ViricitiSimulator(latency_scale=0, min_post_interval=300)
    build_groups(sim)
    await sim.start()
    try:
        # Saved by version 1, whose issues named the group or had no subentry in their id:
        # the update to version 2 deletes them.
        entry = v1_entry(sim)
        legacy = [
            f"viriciti_{GROUP}_external_limits",
            f"external_limits_not_allowed_{entry.entry_id}",
        ]
        yield entry, lambda: {VIRICITI_KEY, GROUP, *STATIONS}, set(), legacy
    finally:
        await sim.stop()


VENDORS: dict[str, Callable[[MockConfigEntry], contextlib.AbstractAsyncContextManager[Known]]] = {
    "goe": _goe,
    "easee": _easee,
    "viriciti": _viriciti,
}


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
@pytest.mark.parametrize("vendor", sorted(VENDORS))
async def test_no_secret_serial_or_charger_id_in_any_dump(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    issue_registry: ir.IssueRegistry,
    goe_sim: GoeSimulator,
    goe_entry: MockConfigEntry,
    vendor: str,
) -> None:
    """Whatever the vendor, a dump shared in public names no credential, serial or charger.

    Not in the repair issues Home Assistant adds to it either: those an older version left
    behind under ids naming the serial, the group or the account are gone once it is set up.
    """
    async with VENDORS[vendor](goe_entry) as (entry, known, numbers, legacy):
        for issue_id in legacy:
            ir.async_create_issue(
                hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="command_failed",
            )
        await setup_entry(hass, entry)
        dump = await download_diagnostics(hass, hass_client, hass_admin_user, entry)
        secrets = known()
    assert [key for key in issue_registry.issues if key[0] == DOMAIN] == []
    assert issue_ids(dump) == []
    diagnostics = dump["data"]
    text = json.dumps(diagnostics)

    assert len(secrets) >= 2
    assert {secret for secret in secrets if secret in text} == set()
    assert [n for n in numbers if re.search(rf"(?<![\d.]){n}(?!\d)", text)] == []
    assert diagnostics["entry"]["title"] == REDACTED
    # An id hidden in one field is hidden in every field (an Easee site's id, a circuit's
    # site_id): every key naming an identifier holds nothing but the redaction.
    assert {key: value for key, value in _identifiers(diagnostics) if value != REDACTED} == {}
    # What a support person reads a dump for stays.
    assert diagnostics["runtime"]
    assert diagnostics["entry"]["data"]["base_url"].startswith("http://127.0.0.1:")


def _identifiers(value: object) -> list[tuple[str, object]]:
    """Return every (key, value) in a dump whose key names an identifier (id, *_id, *_ids)."""
    found: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if item is not None and (key == "id" or key.endswith(("_id", "_ids"))):
                found.append((key, item))
            else:
                found += _identifiers(item)
    elif isinstance(value, list):
        for item in value:
            found += _identifiers(item)
    return found


class _Mode(Enum):
    FAST = "fast"


@dataclass
class _Window:
    start: time
    stop: time


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
async def test_every_value_in_a_dump_is_plain_json(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    goe_sim: GoeSimulator,
    goe_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Clock times, instants, durations, enums and dataclasses read as text, never as a type."""
    kept = GoeRuntime.diagnostics

    def with_values(runtime: GoeRuntime) -> dict[str, Any]:
        return {
            **kept(runtime),
            "plan": _Window(time(22, 0), time(6, 30)),
            "at": datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
            "day": date(2026, 11, 21),
            "ttl": timedelta(hours=1),
            "mode": _Mode.FAST,
            "phases": (16, 16, 16),
            "zone": ZoneInfo("Europe/Amsterdam"),
        }

    monkeypatch.setattr(GoeRuntime, "diagnostics", with_values)
    await setup_entry(hass, goe_entry)
    runtime = (await get_diagnostics_for_config_entry(hass, hass_client, goe_entry))["runtime"]

    assert {
        key: runtime[key] for key in ("plan", "at", "day", "ttl", "mode", "phases", "zone")
    } == {
        "plan": {"start": "22:00:00", "stop": "06:30:00"},
        "at": "2026-11-21T12:00:00+00:00",
        "day": "2026-11-21",
        "ttl": "1:00:00",
        "mode": "fast",
        "phases": [16, 16, 16],
        "zone": "Europe/Amsterdam",
    }
    assert "__type" not in json.dumps(runtime)
