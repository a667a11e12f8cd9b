"""Commands: sent at once when the slot is free, coalesced while it is not, verified, retried."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import pairwise
from typing import Any

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from benchmarks.idle import block_till_idle
from custom_components.ev_charge_control.api.goe import GoeClient, GoeStatus
from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT
from simulators.goe import GoeSimulator
from tests.conftest import find_device, secret, travel
from tests.dumps import download_diagnostics, issue_ids, leaked
from tests.events import assert_command_results
from tests.goe.fixtures import GOE_SERIAL, GOE_TOKEN, only_charger

NUMBER = "number.go_echarger_000123_charge_current"
SWITCH = "switch.go_echarger_000123_allow_charging"
PENDING = "sensor.go_echarger_000123_pending_command"
SLOT = "sensor.go_echarger_000123_command_slot"
# Off by default: the tests that read it turn it on (entity_registry_enabled_by_default).
CURRENT_L1 = "sensor.go_echarger_000123_phase_1_current"
SPACING = timedelta(minutes=15, seconds=2)


def _pending(hass: HomeAssistant) -> tuple[str, str]:
    """Return what the pending-command sensor shows: the parameter, and its value with unit."""
    state = hass.states.get(PENDING)
    assert state is not None
    return state.state, state.attributes["value"]


async def set_current(hass: HomeAssistant, value: float) -> None:
    """Set the charging current as a user or an automation would."""
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: NUMBER, ATTR_VALUE: value},
        blocking=True,
    )


def sent(sim: GoeSimulator) -> list[tuple[str, str]]:
    """Return the commands the simulator received, as (parameter, value)."""
    return [
        next((k, v) for k, v in request.params.items() if k != "serial")
        for request in sim.command_requests(GOE_SERIAL)
    ]


def assert_spacing(sim: GoeSimulator) -> None:
    """No two commands reached the cloud closer than 15 minutes."""
    times = [request.time for request in sim.command_requests(GOE_SERIAL)]
    for earlier, later in pairwise(times):
        assert later - earlier >= 900


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_goe")
async def test_free_slot_sends_at_once_and_verifies(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """With the slot free the command leaves at once; a read a few seconds later confirms it.

    The number shows what the charger has: 16 A until that read shows 10 A.
    """
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_current(hass, 10)

    assert sent(goe_sim) == [("set_current", "10")]
    assert hass.states.get(NUMBER).state == "16"
    pending = hass.states.get(PENDING)
    assert pending.state == "none"
    assert pending.attributes["awaiting_confirmation"] == {"set_current": 10}
    reads = len(goe_sim.status_requests())

    await travel(hass, freezer, timedelta(seconds=6))
    verification = goe_sim.status_requests()[reads:]
    assert [r.params.get("wait") for r in verification] == ["1"]
    assert hass.states.get(CURRENT_L1).state == "10.0"
    assert hass.states.get(NUMBER).state == "10"
    assert hass.states.get(PENDING).attributes["awaiting_confirmation"] == {}
    device = find_device(hass, f"goe_{GOE_SERIAL}")
    assert [event.data for event in events] == [
        {
            "device_id": device.id,
            "parameter": "set_current",
            "requested": 10,
            "result": "applied",
            "actual": 10,
            "attempt": 1,
            "will_retry": False,
        }
    ]
    assert_command_results(events)


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_goe")
async def test_five_changes_in_five_minutes_make_one_command(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """While the slot is taken, changes coalesce: the newest value goes out in the next slot.

    Meanwhile the number shows the 10 A the charger has; the request waits beside it.
    """
    await set_current(hass, 10)
    first = goe_sim.command_requests()[0].time

    for value in (11, 12, 13, 14, 15):
        await travel(hass, freezer, timedelta(minutes=1))
        await set_current(hass, value)
        assert hass.states.get(NUMBER).state == "10"
        assert _pending(hass) == ("set_current", f"{value} A")
    assert sent(goe_sim) == [("set_current", "10")]
    assert _pending(hass) == ("set_current", "15 A")
    assert dt_util.parse_datetime(hass.states.get(SLOT).state).timestamp() == round(first + 902)

    await travel(hass, freezer, timedelta(minutes=11), step=timedelta(seconds=30))
    assert sent(goe_sim) == [("set_current", "10"), ("set_current", "15")]
    assert goe_sim.command_requests()[1].time - first >= 900
    assert hass.states.get(PENDING).state == "none"
    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert goe_sim.chargers[GOE_SERIAL].set_current == 15
    assert hass.states.get(CURRENT_L1).state == "15.0"
    assert hass.states.get(NUMBER).state == "15"


@pytest.mark.usefixtures("init_goe")
async def test_stop_goes_first(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """With a current and a stop both waiting, the stop (the safety action) leaves first."""
    await set_current(hass, 10)
    await set_current(hass, 20)
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: SWITCH}, blocking=True
    )
    # The charger still allows charging: the switch says so, the stop waits beside it.
    assert hass.states.get(SWITCH).state == STATE_ON
    assert _pending(hass) == ("set_allow", "off")
    assert hass.states.get(PENDING).attributes["queued"] == {"set_current": 20, "set_allow": 0}

    await travel(hass, freezer, timedelta(minutes=32), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "10"), ("set_allow", "0"), ("set_current", "20")]
    assert_spacing(goe_sim)
    assert goe_sim.chargers[GOE_SERIAL].charging_enabled is False
    assert hass.states.get(SWITCH).state == STATE_OFF


@pytest.mark.usefixtures("init_goe")
async def test_asking_for_the_current_value_sends_nothing(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """The newest request wins even when it is the value the charger already has."""
    await set_current(hass, 16)
    assert sent(goe_sim) == []
    await set_current(hass, 10)
    await set_current(hass, 12)
    assert _pending(hass) == ("set_current", "12 A")
    await set_current(hass, 10)
    assert hass.states.get(PENDING).state == "none"
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "10")]


@pytest.mark.usefixtures("init_goe")
async def test_bad_values_are_refused_and_send_nothing(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Out of range or fractional currents get a clear error; nothing is queued or sent."""
    with pytest.raises(ServiceValidationError) as err:
        await set_current(hass, 10.5)
    assert err.value.translation_key == "current_not_whole"
    with pytest.raises(ServiceValidationError):
        await set_current(hass, 40)
    with pytest.raises(ServiceValidationError):
        await set_current(hass, 5)
    assert sent(goe_sim) == []
    assert hass.states.get(PENDING).state == "none"
    assert hass.states.get(NUMBER).state == "16"


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_goe")
async def test_status_shaped_answer_verifies_without_a_read(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """When the command answer is the full status, no extra read is spent on verification."""
    goe_sim.command_answer = "status"
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    reads = len(goe_sim.status_requests())
    await set_current(hass, 8)
    assert hass.states.get(CURRENT_L1).state == "8.0"
    assert [event.data["result"] for event in events] == ["applied"]
    await travel(hass, freezer, timedelta(seconds=30))
    assert len(goe_sim.status_requests()) == reads


async def test_failed_command_is_retried_then_raises_a_repair(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A charger that ignores a command: warned, retried in the next slots, then a repair issue.

    The repair links to the charger's page instead of naming its serial: Home Assistant puts
    it, unredacted, in the diagnostics a user shares.
    """
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    # The charger now refuses more than 10 A, but our last status still says 32.
    goe_sim.chargers[GOE_SERIAL].max_allowed_current = 10
    await set_current(hass, 20)

    await travel(hass, freezer, timedelta(minutes=50), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "20")] * 3
    assert_spacing(goe_sim)
    assert [(e.data["result"], e.data["attempt"], e.data["will_retry"]) for e in events] == [
        ("failed", 1, True),
        ("failed", 2, True),
        ("failed", 3, False),
    ]
    assert events[0].data["actual"] == 16
    assert_command_results(events)
    issue_id = (
        f"command_failed_{init_goe.entry_id}_{only_charger(init_goe).subentry_id}_set_current"
    )
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders["value"] == "20"
    device = find_device(hass, f"goe_{GOE_SERIAL}")
    assert device is not None
    assert issue.translation_placeholders["device_url"] == f"/config/devices/device/{device.id}"
    assert leaked(issue.translation_placeholders, [GOE_SERIAL, GOE_TOKEN]) == set()
    dump = await download_diagnostics(hass, hass_client, hass_admin_user, init_goe)
    assert issue_ids(dump) == [issue_id]
    assert leaked(dump, [GOE_SERIAL, GOE_TOKEN]) == set()

    # Nothing more is sent for it; the next change that works clears the issue.
    await travel(hass, freezer, timedelta(minutes=20), step=timedelta(minutes=1))
    assert len(sent(goe_sim)) == 3
    await set_current(hass, 9)
    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert sent(goe_sim)[-1] == ("set_current", "9")
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert events[-1].data["result"] == "applied"


@pytest.mark.usefixtures("init_goe")
async def test_rate_limited_command_waits_a_whole_slot(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory
) -> None:
    """A 'rate limiting' answer moves the command to the next slot, never sooner."""
    goe_sim.inject_fault("rate_limiting", serial=GOE_SERIAL)
    await set_current(hass, 10)
    assert [r.result for r in goe_sim.command_requests()] == ["rate_limiting"]
    assert _pending(hass) == ("set_current", "10 A")

    await travel(hass, freezer, timedelta(minutes=14), step=timedelta(minutes=1))
    assert len(goe_sim.command_requests()) == 1
    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=30))
    assert [r.result for r in goe_sim.command_requests()] == ["rate_limiting", "ok"]
    assert goe_sim.chargers[GOE_SERIAL].set_current == 10


@pytest.mark.parametrize("fault", ["error_getting_data", "http_500", "drop"])
@pytest.mark.usefixtures("init_goe")
async def test_undelivered_command_is_retried_next_slot(
    hass: HomeAssistant, goe_sim: GoeSimulator, freezer: FrozenDateTimeFactory, fault: str
) -> None:
    """A command the cloud could not deliver stays pending and goes out in the next slot."""
    goe_sim.inject_fault(fault, serial=GOE_SERIAL)
    await set_current(hass, 11)
    assert _pending(hass) == ("set_current", "11 A")
    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert sent(goe_sim)[-1] == ("set_current", "11")
    assert goe_sim.chargers[GOE_SERIAL].set_current == 11
    assert_spacing(goe_sim)


async def test_refused_token_on_command_keeps_it_until_a_new_token(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A token refused while sending keeps the command, asks for a new token, sends no more."""
    new_token = secret("x" * 32)
    goe_sim.chargers[GOE_SERIAL].token = new_token
    await set_current(hass, 12)
    await hass.async_block_till_done()
    assert _pending(hass) == ("set_current", "12 A")
    # The charger's own repair asks for the token; no reauth stops the entry's other chargers.
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []
    subentry = only_charger(init_goe)
    repair = ir.async_get(hass).async_get_issue(
        DOMAIN, f"goe_token_refused_{init_goe.entry_id}_{subentry.subentry_id}"
    )
    assert repair is not None
    # Nothing more goes out with the refused token, however long it waits.
    commands = len(goe_sim.command_requests())
    await travel(hass, freezer, timedelta(hours=2), step=timedelta(minutes=15))
    assert len(goe_sim.command_requests()) == commands == 1
    assert _pending(hass) == ("set_current", "12 A")

    # The new token: the command goes out in its slot and is applied.
    hass.config_entries.async_update_subentry(
        init_goe, subentry, data={**subentry.data, "grid_token": new_token}
    )
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(minutes=5))
    assert len(goe_sim.command_requests()) == 2
    assert goe_sim.chargers[GOE_SERIAL].set_current == 12
    assert ir.async_get(hass).async_get_issue(DOMAIN, repair.issue_id) is None


async def test_pending_command_survives_a_reload(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A command waiting for its slot is still there after a reload and goes out on time."""
    await set_current(hass, 10)
    await set_current(hass, 14)
    reads = len(goe_sim.status_requests())

    assert await hass.config_entries.async_reload(init_goe.entry_id)
    await hass.async_block_till_done()
    assert _pending(hass) == ("set_current", "14 A")
    # The status the reload reused was read before the 10 A went out.
    assert hass.states.get(NUMBER).state == "16"
    # The reload reused the recent status instead of buying a read.
    assert len(goe_sim.status_requests()) == reads

    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "10"), ("set_current", "14")]
    assert_spacing(goe_sim)


async def test_reloads_never_buy_extra_reads(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Reloading over and over for an hour spends no more than the status budget allows."""
    for _ in range(12):
        await travel(hass, freezer, timedelta(minutes=5))
        assert await hass.config_entries.async_reload(init_goe.entry_id)
        await block_till_idle(hass)
    # One hour: at most the burst of 2 plus one read per 15 minutes.
    assert len(goe_sim.status_requests()) <= 2 + 4
    assert all(r.result == "ok" for r in goe_sim.requests)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_restart_keeps_budget_and_queue(
    hass: HomeAssistant,
    hass_storage: dict[str, object],
    goe_entry: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a restart the saved budget and the waiting command hold: no extra burst."""
    now = dt_util.utcnow().timestamp()
    hass_storage[f"{DOMAIN}.goe_{GOE_SERIAL}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.goe_{GOE_SERIAL}",
        "data": {
            "status_bucket": {"tokens": 0.0, "updated": now - 60},
            "commands": {
                "last_sent": now - 600,
                "pending": [
                    {
                        "parameter": "set_current",
                        "value": 9,
                        "requested_at": now - 300,
                        "attempt": 1,
                    }
                ],
                "awaiting": [],
            },
            "last_status": None,
            "fetched_at": None,
        },
    }
    goe_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(goe_entry.entry_id)
    await hass.async_block_till_done()

    # No token left and nothing cached: no request, the entities wait for the budget.
    assert goe_sim.requests == []
    assert hass.states.get(CURRENT_L1).state == STATE_UNAVAILABLE
    assert _pending(hass) == ("set_current", "9 A")

    await travel(hass, freezer, timedelta(minutes=4), step=timedelta(minutes=1))
    assert goe_sim.requests == []
    # The command slot opens 15 minutes after the saved last command.
    await travel(hass, freezer, timedelta(minutes=2), step=timedelta(seconds=30))
    assert sent(goe_sim) == [("set_current", "9")]
    await travel(hass, freezer, timedelta(minutes=10), step=timedelta(minutes=1))
    assert len(goe_sim.status_requests()) == 1
    assert hass.states.get(CURRENT_L1).state == "9.0"


@pytest.mark.day_long
async def test_a_day_of_automation_stays_inside_the_budget(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An automation changing the current every minute for 24 h never breaks the limits."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "every_minute",
                "alias": "Follow the grid every minute",
                "triggers": {"trigger": "time_pattern", "minutes": "/1"},
                "actions": {
                    "action": "number.set_value",
                    "target": {"entity_id": NUMBER},
                    "data": {"value": "{{ 6 + (now().hour * 60 + now().minute) % 20 }}"},
                },
            }
        },
    )
    await travel(hass, freezer, timedelta(hours=24), step=timedelta(minutes=1))
    # The automation's last value (the number shows what the charger has, not the request).
    now = dt_util.now()
    requested = 6 + (now.hour * 60 + now.minute) % 20

    # Setup's read included: 96 quarter hours plus the one burst token.
    assert len(goe_sim.status_requests()) <= 97
    assert_spacing(goe_sim)
    assert all(r.result == "ok" for r in goe_sim.requests)
    assert len(goe_sim.command_requests()) >= 90

    await hass.services.async_call(
        "automation",
        "turn_off",
        {ATTR_ENTITY_ID: "automation.follow_the_grid_every_minute"},
        blocking=True,
    )
    await travel(hass, freezer, timedelta(minutes=32), step=timedelta(minutes=1))
    assert goe_sim.chargers[GOE_SERIAL].set_current == requested
    assert hass.states.get(NUMBER).state == str(requested)
    assert hass.states.get(PENDING).state == "none"
    assert all(r.result == "ok" for r in goe_sim.requests)


# Refusals: reported once, never sent again


def refuse_commands(
    monkeypatch: pytest.MonkeyPatch, sim: GoeSimulator, http_status: int, body: object
) -> None:
    """Make the simulated cloud refuse every command with this answer."""

    def refuse(charger: object, query: object, log: Callable[[int, str], None]) -> web.Response:
        log(http_status, "refused")
        return web.json_response(body, status=http_status)

    monkeypatch.setattr(sim, "_answer_command", refuse)


REFUSALS = [
    pytest.param(400, {"success": False, "error": "no payload"}, id="no_payload"),
    pytest.param(400, {"success": False, "error": "value not allowed"}, id="undocumented_400"),
    pytest.param(200, {"success": False, "error": "value not allowed"}, id="undocumented_200"),
    pytest.param(422, {"detail": "unprocessable"}, id="http_422"),
]


@pytest.mark.parametrize(("http_status", "body"), REFUSALS)
@pytest.mark.usefixtures("init_goe")
async def test_a_refused_command_fails_the_action_and_is_not_sent_again(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    http_status: int,
    body: object,
) -> None:
    """A 4xx (or an error the document does not name): the action fails, one request only."""
    refuse_commands(monkeypatch, goe_sim, http_status, body)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    with pytest.raises(HomeAssistantError) as err:
        await set_current(hass, 10)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "write_refused"
    assert err.value.translation_placeholders["command"] == "set_current=10"
    assert GOE_TOKEN not in str(err.value)

    assert [r.result for r in goe_sim.command_requests()] == ["refused"]
    device = find_device(hass, f"goe_{GOE_SERIAL}")
    assert [event.data for event in events] == [
        {
            "device_id": device.id,
            "parameter": "set_current",
            "requested": 10,
            "result": "refused",
            "actual": None,
            "attempt": 1,
            "will_retry": False,
        }
    ]
    assert_command_results(events)
    pending = hass.states.get(PENDING)
    assert pending.state == "none"
    assert pending.attributes["queued"] == {}
    assert pending.attributes["awaiting_confirmation"] == {}

    # Three command slots and the reads between them: nothing goes out again.
    await travel(hass, freezer, timedelta(minutes=50), step=timedelta(minutes=1))
    assert len(goe_sim.command_requests()) == 1
    assert len(events) == 1
    assert hass.states.get(NUMBER).state == "16"


@pytest.mark.usefixtures("init_goe")
async def test_a_command_refused_in_a_later_slot_is_reported_and_dropped(
    hass: HomeAssistant,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A waiting command that the cloud refuses when its slot comes: an event, then nothing."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_current(hass, 10)
    await set_current(hass, 12)
    assert _pending(hass) == ("set_current", "12 A")
    refuse_commands(monkeypatch, goe_sim, 400, {"success": False, "error": "value not allowed"})

    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "10"), ("set_current", "12")]
    assert [(e.data["requested"], e.data["result"]) for e in events] == [
        (10, "applied"),
        (12, "refused"),
    ]
    assert hass.states.get(PENDING).state == "none"
    await travel(hass, freezer, timedelta(minutes=50), step=timedelta(minutes=1))
    assert len(goe_sim.command_requests()) == 2
    assert len(events) == 2
    assert hass.states.get(NUMBER).state == "10"


class _TimingOut:
    """A session whose next command gets no answer in time (it never reaches the cloud)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.timed_out = 0

    def request(self, method: str, url: URL, **kwargs: Any) -> Any:
        if url.path == "/api_command" and not self.timed_out:
            self.timed_out += 1
            raise TimeoutError
        return self._session.request(method, url, **kwargs)


async def test_a_command_without_an_answer_in_time_is_sent_again(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A timeout is no refusal: the command waits, visibly, and goes out in the next slot."""
    client = next(iter(init_goe.runtime_data.coordinators.values())).client  # type: ignore[attr-defined]
    session = client._session = _TimingOut(client._session)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await set_current(hass, 11)
    assert session.timed_out == 1
    assert _pending(hass) == ("set_current", "11 A")
    assert goe_sim.command_requests() == []

    await travel(hass, freezer, timedelta(minutes=14), step=timedelta(minutes=1))
    assert goe_sim.command_requests() == []
    await travel(hass, freezer, timedelta(minutes=8), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "11")]
    assert goe_sim.chargers[GOE_SERIAL].set_current == 11
    assert [e.data["result"] for e in events] == ["applied"]


# Verifying only with a status made after the command


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_read_on_its_way_when_a_command_leaves_does_not_verify_it(
    hass: HomeAssistant,
    init_goe: MockConfigEntry,
    goe_sim: GoeSimulator,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The read's answer shows the charger before the command: no failure, nothing sent again.

    The clock does not move while the read is out, so its answer looks as new as the command.
    """
    coordinator = next(iter(init_goe.runtime_data.coordinators.values()))  # type: ignore[attr-defined]
    real_status = GoeClient.status
    commanded = False

    async def overtaken(self: GoeClient, *, wait: bool = False) -> GoeStatus:
        nonlocal commanded
        status = await real_status(self, wait=wait)  # the cloud made it: 16 A
        if not commanded:
            commanded = True
            # The command leaves (and is applied) before the read's answer arrives.
            await set_current(hass, 10)
        return status

    monkeypatch.setattr(GoeClient, "status", overtaken)
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await coordinator.async_refresh()
    assert commanded
    assert goe_sim.chargers[GOE_SERIAL].set_current == 10
    assert hass.states.get(NUMBER).state == "16"
    assert events == []
    assert hass.states.get(PENDING).attributes["awaiting_confirmation"] == {"set_current": 10}

    # The next read, made after the command, verifies it; it is never sent again.
    await travel(hass, freezer, timedelta(minutes=16), step=timedelta(minutes=1))
    assert [(e.data["result"], e.data["attempt"]) for e in events] == [("applied", 1)]
    assert hass.states.get(NUMBER).state == "10"
    await travel(hass, freezer, timedelta(minutes=30), step=timedelta(minutes=1))
    assert sent(goe_sim) == [("set_current", "10")]
    assert len(events) == 1
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"goe_{GOE_SERIAL}_set_current_failed") is None
    )
