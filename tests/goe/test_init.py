"""Setting up, unloading and reloading a go-e entry; what each error answer does to it."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.issues import issue_id
from custom_components.ev_charge_control.vendors.goe.const import CONF_GRID_TOKEN
from custom_components.ev_charge_control.vendors.goe.runtime import GoeRuntime
from simulators.goe import GoeSimulator
from tests.conftest import secret, setup_entry, travel
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN, goe_fleet_entry

POWER = "sensor.go_echarger_000123_power"
ENERGY = "sensor.go_echarger_000123_total_energy"
NUMBER = "number.go_echarger_000123_charge_current"
PENDING = "sensor.go_echarger_000123_pending_command"
SLOT = "sensor.go_echarger_000123_command_slot"
QUARTER = timedelta(minutes=15)


async def test_setup_unload_reload(
    hass: HomeAssistant, init_goe: MockConfigEntry, goe_sim: GoeSimulator
) -> None:
    """The entry loads with one read, unloads cleanly and reloads without another read."""
    assert init_goe.state is ConfigEntryState.LOADED
    assert len(goe_sim.status_requests()) == 1
    assert hass.states.get(POWER).state == "11040"

    assert await hass.config_entries.async_unload(init_goe.entry_id)
    await hass.async_block_till_done()
    assert init_goe.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE

    assert await hass.config_entries.async_setup(init_goe.entry_id)
    await hass.async_block_till_done()
    assert init_goe.state is ConfigEntryState.LOADED
    assert hass.states.get(POWER).state == "11040"
    assert len(goe_sim.status_requests()) == 1


async def test_a_set_up_failing_after_the_start_leaves_no_timer(
    hass: HomeAssistant,
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The platforms fail after the first read armed the read timer: the runtime stops."""
    goe_entry.add_to_hass(hass)
    with (
        patch.object(
            hass.config_entries,
            "async_forward_entry_setups",
            AsyncMock(side_effect=RuntimeError("platforms")),
        ),
        patch.object(
            GoeRuntime, "async_stop", autospec=True, side_effect=GoeRuntime.async_stop
        ) as stop,
    ):
        assert not await hass.config_entries.async_setup(goe_entry.entry_id)
        await hass.async_block_till_done()

    assert goe_entry.state is ConfigEntryState.SETUP_ERROR
    stop.assert_awaited_once()
    reads = len(goe_sim.status_requests())
    await travel(hass, freezer, QUARTER * 4, step=QUARTER)
    assert len(goe_sim.status_requests()) == reads  # no timer read on


async def test_unknown_vendor_is_a_setup_error(
    hass: HomeAssistant, goe_entry: MockConfigEntry
) -> None:
    """An entry naming no vendor we know fails with a clear error instead of crashing."""
    entry = MockConfigEntry(domain=DOMAIN, data={**goe_entry.data, CONF_VENDOR: "x"})
    await setup_entry(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR


SECOND = "000124"
SECOND_POWER = "sensor.go_echarger_000124_power"


@pytest.fixture
def fleet_entry(goe_sim: GoeSimulator) -> MockConfigEntry:
    """Return a go-e entry with two chargers."""
    goe_sim.add_charger(SECOND, GOE_OTHER_TOKEN, car_connected=True, set_current=10)
    return goe_fleet_entry(goe_sim.base_url, (GOE_SERIAL, GOE_TOKEN), (SECOND, GOE_OTHER_TOKEN))


def _token_issue(hass: HomeAssistant, entry: MockConfigEntry, serial: str) -> ir.IssueEntry | None:
    (subentry_id,) = (s.subentry_id for s in entry.subentries.values() if s.unique_id == serial)
    return ir.async_get(hass).async_get_issue(
        DOMAIN, issue_id("goe_token_refused", entry, subentry_id)
    )


async def test_refused_token_at_setup_stops_that_charger_alone(
    hass: HomeAssistant,
    fleet_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A token go-e refuses: that charger asks for a new one; the fleet is set up and runs."""
    goe_sim.chargers[GOE_SERIAL].token = secret("R3v0kedR3v0kedR3v0kedR3v0kedR3v0")
    await setup_entry(hass, fleet_entry)
    assert fleet_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    assert hass.states.get(SECOND_POWER).state != STATE_UNAVAILABLE
    issue = _token_issue(hass, fleet_entry, GOE_SERIAL)
    assert issue is not None
    assert issue.translation_key == "goe_token_refused"
    assert _token_issue(hass, fleet_entry, SECOND) is None
    # No reauth of the entry: the other charger's token is fine.
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    # The refused charger asks go-e nothing more; the other goes on reading.
    refused_reads = len(goe_sim.status_requests(GOE_SERIAL))
    other_reads = len(goe_sim.status_requests(SECOND))
    await travel(hass, freezer, QUARTER * 4, step=QUARTER)
    assert len(goe_sim.status_requests(GOE_SERIAL)) == refused_reads == 1
    assert len(goe_sim.status_requests(SECOND)) > other_reads


async def test_refused_token_while_running_then_a_new_one(
    hass: HomeAssistant,
    fleet_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A token revoked later: that charger unavailable with a repair; a new token resumes it."""
    await setup_entry(hass, fleet_entry)
    new_token = secret("N3wT0kenN3wT0kenN3wT0kenN3wT0ken")
    goe_sim.chargers[GOE_SERIAL].token = new_token
    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    assert hass.states.get(SECOND_POWER).state != STATE_UNAVAILABLE
    assert _token_issue(hass, fleet_entry, GOE_SERIAL) is not None
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []

    # The charger's Reconfigure saves the new token: no reload, the charger reads again.
    (subentry,) = (s for s in fleet_entry.subentries.values() if s.unique_id == GOE_SERIAL)
    hass.config_entries.async_update_subentry(
        fleet_entry, subentry, data={**subentry.data, CONF_GRID_TOKEN: new_token}
    )
    await hass.async_block_till_done()
    assert fleet_entry.state is ConfigEntryState.LOADED
    assert _token_issue(hass, fleet_entry, GOE_SERIAL) is None
    assert hass.states.get(POWER).state == "11040"


@pytest.mark.parametrize("fault", ["error_getting_data", "http_500", "non_json", "drop"])
async def test_unreachable_or_broken_answers_make_entities_unavailable_then_recover(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    fault: str,
) -> None:
    """An offline charger or a broken answer: entities unavailable, back at the next read."""
    energy_before = float(hass.states.get(ENERGY).state)
    goe_sim.inject_fault(fault, serial=GOE_SERIAL)
    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    # Never 0 or a drop: the energy dashboard would count a bogus meter reset.
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    # Our own queue is still known and shown.
    assert hass.states.get(PENDING).state == "none"
    assert init_goe.state is ConfigEntryState.LOADED

    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == "11040"
    assert float(hass.states.get(ENERGY).state) > energy_before
    assert all(r.result != "rate limiting" for r in goe_sim.requests)


async def test_rate_limited_read_keeps_the_last_values(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A 'rate limiting' answer keeps the entities as they were until the next slot."""
    goe_sim.inject_fault("rate_limiting", serial=GOE_SERIAL)
    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == "11040"
    reads = len(goe_sim.status_requests())
    # The answer emptied our bucket: the next read waits a whole interval.
    await travel(hass, freezer, timedelta(minutes=14), step=timedelta(minutes=1))
    assert len(goe_sim.status_requests()) == reads
    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(minutes=1))
    assert len(goe_sim.status_requests()) == reads + 1


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_offline_charger_at_setup_loads_and_recovers(
    hass: HomeAssistant,
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A charger the cloud cannot reach still loads (unavailable) and shows up once it reports."""
    goe_sim.chargers[GOE_SERIAL].has_reported = False
    await setup_entry(hass, goe_entry)
    assert goe_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE
    # Nothing was ever sent: the slot is open, a command would go out at once.
    assert dt_util.parse_datetime(hass.states.get(SLOT).state) <= dt_util.utcnow()

    goe_sim.chargers[GOE_SERIAL].has_reported = True
    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == "11040"


async def test_energy_total_never_drops(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A lower lifetime total from the cloud is a glitch: the sensor keeps the highest value."""
    before = float(hass.states.get(ENERGY).state)
    goe_sim.chargers[GOE_SERIAL].car_connected = False
    goe_sim.chargers[GOE_SERIAL].kwh_total = 3
    await travel(hass, freezer, QUARTER)
    assert hass.states.get(POWER).state == "0"
    assert float(hass.states.get(ENERGY).state) == before


async def test_data_from_before_a_restart_is_shown_without_a_read(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Within 15 minutes of the last read a reload shows the saved status; later it reads."""
    await travel(hass, freezer, timedelta(minutes=10))
    assert await hass.config_entries.async_reload(init_goe.entry_id)
    await hass.async_block_till_done()
    assert len(goe_sim.status_requests()) == 1
    assert hass.states.get(POWER).state == "11040"

    await travel(hass, freezer, timedelta(minutes=6))
    assert await hass.config_entries.async_reload(init_goe.entry_id)
    await hass.async_block_till_done()
    assert len(goe_sim.status_requests()) == 2


def _saved_budget(now: float, *, tokens: float, fetched_at: float | None) -> dict[str, object]:
    status = {
        "serial": GOE_SERIAL,
        "data_is_live": True,
        "data_age_seconds": 3,
        "car_state": "charging",
        "set_current": 12,
        "max_allowed_current": 32,
        "charging_enabled": True,
        "error_state": False,
        "phase_count": 3,
        "phase_charging": 3,
        "currents": {"phase_1": 12.0, "phase_2": 12.0, "phase_3": 12.0},
        "voltages": {"phase_1": 230.0, "phase_2": 230.0, "phase_3": 230.0},
        "next_planned_charge": {"seconds_left": 0, "estimated_duration": 0},
        "kwh_total": 900,
    }
    return {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.goe_{GOE_SERIAL}",
        "data": {
            "status_bucket": {"tokens": tokens, "updated": now},
            "commands": {"last_sent": None, "pending": [], "awaiting": []},
            "last_status": status if fetched_at is not None else None,
            "fetched_at": fetched_at,
        },
    }


@pytest.mark.parametrize(
    ("age", "tokens"),
    [(timedelta(minutes=5), 1.0), (timedelta(hours=2), 0.0)],
    ids=["recent status", "old status, no budget"],
)
async def test_restart_shows_the_saved_status_without_a_read(
    hass: HomeAssistant,
    hass_storage: dict[str, object],
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    age: timedelta,
    tokens: float,
) -> None:
    """After a restart the saved status is shown at once when reading now is not due or not allowed."""
    now = dt_util.utcnow().timestamp()
    key = f"{DOMAIN}.goe_{GOE_SERIAL}"
    hass_storage[key] = _saved_budget(now, tokens=tokens, fetched_at=now - age.total_seconds())
    await setup_entry(hass, goe_entry)
    assert goe_sim.requests == []
    assert hass.states.get(POWER).state == "8280"
    assert hass.states.get(ENERGY).state == "900"
    assert hass.states.get(NUMBER).state == "12"

    await travel(hass, freezer, QUARTER, step=timedelta(minutes=1))
    assert len(goe_sim.status_requests()) == 1
    assert hass.states.get(POWER).state == "11040"


async def test_rate_limited_at_setup_without_data_is_unavailable(
    hass: HomeAssistant, goe_entry: MockConfigEntry, goe_sim: GoeSimulator
) -> None:
    """With nothing known yet, a 'rate limiting' answer leaves the entities unavailable."""
    goe_sim.inject_fault("rate_limiting", serial=GOE_SERIAL)
    await setup_entry(hass, goe_entry)
    assert goe_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(POWER).state == STATE_UNAVAILABLE


async def test_missing_fields_give_unknown_not_errors(
    hass: HomeAssistant, goe_entry: MockConfigEntry, goe_sim: GoeSimulator
) -> None:
    """Fields the cloud leaves out (or sends empty) make single sensors unknown, nothing else."""
    goe_sim.chargers[GOE_SERIAL].extra_fields = {
        "kwh_total": None,
        "currents": {},
        "voltages": {},
        "car_state": "something_new",
    }
    await setup_entry(hass, goe_entry)
    assert hass.states.get(POWER).state == "unknown"
    assert hass.states.get(ENERGY).state == "unknown"
    assert hass.states.get("sensor.go_echarger_000123_car_state").state == "unknown"
    assert hass.states.get(NUMBER).state == "16"


async def test_switch_turns_charging_back_on(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Turning charging off and on again sends set_allow=0, then set_allow=1 a slot later."""
    switch = "switch.go_echarger_000123_allow_charging"
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert hass.states.get(switch).state == "on"
    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert [r.params.get("set_allow") for r in goe_sim.command_requests()] == ["0", "1"]
    assert goe_sim.chargers[GOE_SERIAL].charging_enabled is True


async def test_a_deleted_entry_leaves_no_repair_issue(
    hass: HomeAssistant, init_goe: MockConfigEntry
) -> None:
    """Its issues' ids hold its id: they go with it; another entry's stay."""
    other = MockConfigEntry(domain=DOMAIN, data={CONF_VENDOR: "goe"}, title="other")
    for entry in (init_goe, other):
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id("command_failed", entry, "set_current"),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="command_failed",
        )

    assert await hass.config_entries.async_remove(init_goe.entry_id)
    await hass.async_block_till_done()

    assert [found for _, found in ir.async_get(hass).issues] == [
        issue_id("command_failed", other, "set_current")
    ]
