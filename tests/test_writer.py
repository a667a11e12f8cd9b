"""The queued writer every vendor shares, driven through a fake vendor's hooks."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ev_charge_control.api.errors import (
    ApiError,
    NotFoundError,
    NotSentError,
    PermissionDeniedError,
    RateLimitedError,
)
from custom_components.ev_charge_control.budget import CommandQueue, QueuedCommand, SentCommand
from custom_components.ev_charge_control.const import DOMAIN, EVENT_COMMAND_RESULT, LOGGER
from custom_components.ev_charge_control.coordinator import EvChargeCoordinator
from custom_components.ev_charge_control.events import CommandResult
from custom_components.ev_charge_control.writer import (
    NotSent,
    QueuedWriter,
    Refusal,
    ResultValue,
    WriterHooks,
)
from tests.clock import freeze_at
from tests.conftest import travel
from tests.events import assert_command_results

START = "2026-11-20 12:00:00+00:00"
SPACING = 60.0
STEP = timedelta(seconds=5)


class FakeVendor(WriterHooks[int], EvChargeCoordinator[None]):
    """A device with a one-minute write slot, whose sends fail as a test tells it to."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name="fake", update_interval=None)
        self.unique_id_prefix = "fake_1"
        self.device_info = DeviceInfo(identifiers={(DOMAIN, self.unique_id_prefix)})
        self.queue: CommandQueue[int] = CommandQueue(spacing=SPACING, max_attempts=3)
        self.writer = QueuedWriter(self, self, self.queue, "Fake 1")
        # What reached the "cloud": (parameter, value, when).
        self.sent: list[tuple[str, int, float]] = []
        # Raised by the next sends, one each.
        self.failures: list[Exception] = []
        # Every saved queue, in order.
        self.saved: list[dict[str, Any]] = []
        self.paused_until: float | None = None
        self.ready_at = 0.0
        self.expires_at: float | None = None
        self.retry_at: float | None = None

    async def _async_update_data(self) -> None:
        return None

    async def async_send_command(self, sent: SentCommand[int]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((sent.parameter, sent.value, time.time()))

    async def async_save_queue(self) -> None:
        self.saved.append(self.queue.as_dict())

    def send_failed(self, sent: SentCommand[int], err: Exception) -> NotSent | Refusal:
        if isinstance(err, PermissionDeniedError):
            return Refusal(
                CommandResult.REFUSED, "permission_denied", {"parameter": sent.parameter}
            )
        if isinstance(err, RateLimitedError):
            return NotSent(rate_limited=True, retry_at=self.retry_at)
        if isinstance(err, ApiError):
            return NotSent(attempt_failed=True, give_up=isinstance(err, NotFoundError))
        return NotSent()

    def result_value(self, value: int) -> ResultValue:
        return ResultValue(value)

    def command_ready_at(self, command: QueuedCommand[int]) -> float:
        return self.ready_at

    def writes_paused_until(self, now: float) -> float | None:
        return self.paused_until if self.paused_until and self.paused_until > now else None

    def command_expired(self, command: QueuedCommand[int], now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time before Home Assistant starts."""
    freeze_at(request, START)


@pytest.fixture
async def vendor(hass: HomeAssistant) -> AsyncGenerator[FakeVendor]:
    """Return the fake vendor's coordinator, its device registered; its timer ends with it."""
    entry = MockConfigEntry(domain=DOMAIN, title="Fake")
    entry.add_to_hass(hass)
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "fake_1")}
    )
    coordinator = FakeVendor(hass, entry)
    yield coordinator
    coordinator.writer.cancel()


def _at(seconds: float) -> float:
    return datetime.fromisoformat(START).timestamp() + seconds


async def test_a_request_goes_out_at_once_and_the_next_waits_for_its_slot(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """The first write leaves now; within the slot the newest request wins and leaves once."""
    writer = vendor.writer
    assert writer.pending_command() == "none"
    # Nothing sent yet: the slot is open since the writer started.
    assert writer.next_command_slot() == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    await writer.async_request("current", 10, current=16)
    await writer.async_request("current", 12, current=16)
    await writer.async_request("current", 14, current=16)

    assert vendor.sent == [("current", 10, _at(0))]
    assert writer.pending_command() == "current"
    assert writer.pending_attributes() == {
        "value": 14,
        "next_write": "2026-11-20T12:01:00+00:00",
        "queued": {"current": 14},
        "awaiting_confirmation": {"current": 10},
    }
    assert writer.next_command_slot() == datetime(2026, 11, 20, 12, 1, tzinfo=UTC)

    await travel(hass, freezer, timedelta(seconds=SPACING), step=STEP)

    assert vendor.sent == [("current", 10, _at(0)), ("current", 14, _at(SPACING))]
    assert writer.pending_command() == "none"


async def test_asking_for_what_the_device_will_have_cancels_the_waiting_command(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """Back to the value on its way: nothing more goes out."""
    await vendor.writer.async_request("current", 10, current=16)
    await vendor.writer.async_request("current", 12, current=16)
    await vendor.writer.async_request("current", 10, current=16)

    await travel(hass, freezer, timedelta(minutes=5), step=STEP)

    assert [value for _, value, _ in vendor.sent] == [10]


async def test_the_queue_is_saved_before_the_command_leaves(vendor: FakeVendor) -> None:
    """A crash during the send cannot forget that the slot was used."""
    await vendor.writer.async_request("current", 10, current=16)

    before_send = vendor.saved[1]
    assert before_send["last_sent"] == _at(0)
    assert before_send["awaiting"] == [
        {"parameter": "current", "value": 10, "sent_at": _at(0), "attempt": 1}
    ]


async def test_reads_verify_retry_and_give_up_with_events(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """A read older than the send says nothing; one that differs retries, three fail for good."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    writer = vendor.writer
    await writer.async_request("current", 10, current=16)

    assert writer.verify(lambda _: 16, _at(-1)) == []
    for attempt in (1, 2, 3):
        results = writer.verify(lambda _: 16, time.time())
        assert [result.retry for result in results] == [attempt < 3]
        await travel(hass, freezer, timedelta(seconds=SPACING), step=STEP)
    await hass.async_block_till_done()

    assert [value for _, value, _ in vendor.sent] == [10, 10, 10]
    assert [(e.data["result"], e.data["attempt"], e.data["will_retry"]) for e in events] == [
        ("failed", 1, True),
        ("failed", 2, True),
        ("failed", 3, False),
    ]
    assert events[0].data["actual"] == 16
    assert events[0].data["device_id"] is not None
    assert_command_results(events)
    assert writer.pending_command() == "none"
    assert writer.pending_attributes()["awaiting_confirmation"] == {}


async def test_a_read_that_shows_the_value_fires_applied(
    hass: HomeAssistant, vendor: FakeVendor
) -> None:
    """The command is done: applied, with the value read."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await vendor.writer.async_request("current", 10, current=16)

    vendor.writer.verify(lambda _: 10, time.time())
    await hass.async_block_till_done()

    assert [(e.data["result"], e.data["actual"]) for e in events] == [("applied", 10)]
    assert vendor.writer.pending_attributes()["awaiting_confirmation"] == {}


async def test_a_refusal_raises_the_translated_error_and_is_never_retried(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """The action hears why; the event says refused; nothing goes out again."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    vendor.failures = [PermissionDeniedError("no")]

    with pytest.raises(HomeAssistantError) as err:
        await vendor.writer.async_request("current", 10, current=16)
    await travel(hass, freezer, timedelta(minutes=5), step=STEP)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "permission_denied"
    assert err.value.translation_placeholders == {"parameter": "current"}
    assert [(e.data["result"], e.data["will_retry"]) for e in events] == [("refused", False)]
    assert_command_results(events)
    assert vendor.sent == []
    assert vendor.writer.pending_command() == "none"


async def test_a_refusal_of_another_command_does_not_fail_this_request(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """Only the action whose own command was refused hears it."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await vendor.writer.async_request("current", 10, current=16)
    await vendor.writer.async_request("current", 12, current=16)
    vendor.writer.cancel()  # the slot comes with the next request instead
    await travel(hass, freezer, timedelta(seconds=SPACING), step=STEP)
    vendor.failures = [PermissionDeniedError("no")]

    await vendor.writer.async_request("enabled", 0, current=1)  # "current" waited longer
    await travel(hass, freezer, timedelta(seconds=SPACING), step=STEP)

    assert [(p, v) for p, v, _ in vendor.sent] == [("current", 10), ("enabled", 0)]
    assert [(e.data["parameter"], e.data["result"]) for e in events] == [("current", "refused")]


async def test_failed_sends_count_attempts_and_give_up(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """An error the vendor answered is tried three times, one slot apart, then reported."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    vendor.failures = [ApiError("500"), ApiError("500"), ApiError("500")]

    await vendor.writer.async_request("current", 10, current=16)
    await travel(hass, freezer, timedelta(minutes=5), step=STEP)

    assert vendor.sent == []
    assert [(e.data["result"], e.data["attempt"], e.data["actual"]) for e in events] == [
        ("failed", 3, None)
    ]
    assert vendor.writer.pending_command() == "none"


async def test_an_unknown_resource_is_given_up_at_once(
    hass: HomeAssistant, vendor: FakeVendor
) -> None:
    """Sending again would hear the same: failed after one attempt."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    vendor.failures = [NotFoundError("gone")]

    await vendor.writer.async_request("current", 10, current=16)
    await hass.async_block_till_done()

    assert [(e.data["result"], e.data["attempt"]) for e in events] == [("failed", 1)]


async def test_a_send_that_made_no_connection_spends_no_slot(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """The vendor saw nothing: the command goes again a minute later, not a whole slot later."""
    vendor.queue.spacing = 600.0
    vendor.failures = [NotSentError("no connection"), NotSentError("no connection")]
    await vendor.writer.async_request("current", 10, current=16)
    assert vendor.sent == []
    assert vendor.queue.last_sent is None

    # Not in a loop: nothing is tried again before the minute is up.
    await travel(hass, freezer, timedelta(seconds=55), step=STEP)
    assert len(vendor.failures) == 1
    await travel(hass, freezer, timedelta(seconds=65), step=STEP)
    assert vendor.failures == []
    assert vendor.sent == [("current", 10, _at(120))]
    # That one did reach the vendor: its slot counts.
    assert vendor.queue.last_sent == _at(120)


async def test_a_network_that_is_down_uses_up_no_attempt(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """Ten minutes without a connection: the command waits, then goes out on its first attempt.

    send_failed calls every ApiError a failed attempt (NotSentError is one): the writer knows
    better, the vendor never saw it.
    """
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    vendor.failures = [NotSentError("no connection")] * 10

    await vendor.writer.async_request("current", 10, current=16)
    await travel(hass, freezer, timedelta(minutes=9), step=STEP)
    assert vendor.sent == []
    assert events == []
    assert vendor.writer.pending_command() == "current"
    await travel(hass, freezer, timedelta(minutes=2), step=STEP)

    assert vendor.failures == []
    assert [parameter for parameter, _, _ in vendor.sent] == ["current"]
    assert events == []  # no attempt failed: no "failed", no "will retry"


async def test_a_rate_limit_waits_a_whole_slot_and_a_later_retry_at(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """Too fast: the command waits a whole slot, or longer when the vendor says so."""
    vendor.failures = [RateLimitedError("429")]
    vendor.retry_at = _at(150)
    await vendor.writer.async_request("current", 10, current=16)
    assert vendor.writer.pending_command() == "current"

    await travel(hass, freezer, timedelta(seconds=145), step=STEP)
    assert vendor.sent == []
    await travel(hass, freezer, timedelta(seconds=10), step=STEP)

    assert vendor.sent == [("current", 10, _at(150))]


async def test_a_pause_and_a_command_not_ready_hold_the_slot_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """The vendor's own rules (an account pause, a flash write per hour) come first."""
    await vendor.writer.async_request("current", 10, current=16)
    vendor.paused_until = _at(120)
    await vendor.writer.async_request("current", 12, current=16)
    assert vendor.writer.next_send_at(time.time()) == _at(120)  # not the slot, at 60 s
    vendor.ready_at = _at(200)

    # The timer wakes at the pause's end, finds the command not ready and waits for it.
    await travel(hass, freezer, timedelta(seconds=195), step=STEP)
    assert [value for _, value, _ in vendor.sent] == [10]
    await travel(hass, freezer, timedelta(seconds=10), step=STEP)

    assert vendor.sent[-1] == ("current", 12, _at(200))


async def test_a_command_that_expires_before_its_slot_is_dropped_and_reported(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """Not sent: the expired event, and the sensor and the saved queue show nothing waits."""
    events = async_capture_events(hass, EVENT_COMMAND_RESULT)
    await vendor.writer.async_request("current", 10, current=16)
    await vendor.writer.async_request("current", 12, current=16)
    vendor.expires_at = _at(30)

    await travel(hass, freezer, timedelta(seconds=SPACING), step=STEP)

    assert [(p, v) for p, v, _ in vendor.sent] == [("current", 10)]
    assert [(e.data["result"], e.data["requested"], e.data["actual"]) for e in events] == [
        ("expired", 12, None)
    ]
    assert_command_results(events)
    assert vendor.writer.pending_command() == "none"
    assert vendor.saved[-1]["pending"] == []


async def test_a_restored_queue_goes_out_in_its_old_slot(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, vendor: FakeVendor
) -> None:
    """A restart frees no slot: the waiting command leaves when the saved slot allows."""
    vendor.queue.restore(
        {
            "last_sent": _at(-20),
            "pending": [{"parameter": "current", "value": 8, "requested_at": _at(-10)}],
            "awaiting": [],
        },
        time.time(),
    )
    vendor.writer.schedule()

    await travel(hass, freezer, timedelta(seconds=35), step=STEP)
    assert vendor.sent == []
    await travel(hass, freezer, timedelta(seconds=10), step=STEP)

    assert vendor.sent == [("current", 8, _at(40))]
