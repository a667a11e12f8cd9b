"""The request budget and the command queue: what they let out, when, and what survives a restart."""

from __future__ import annotations

from collections.abc import Callable
import json

import pytest

from custom_components.ev_charge_control.budget import (
    CommandQueue,
    OverBudgetError,
    QueuedCommand,
    SentCommand,
    SlidingWindow,
    TokenBucket,
)
from custom_components.ev_charge_control.vendors.goe.budget import _command_priority

INTERVAL = 900.0
SPACING = 902.0
START = 1_700_000_000.0


def bucket(now: float = START) -> TokenBucket:
    """Return the go-e status budget: two reads at once, one more per 15 minutes."""
    return TokenBucket.full(2, INTERVAL, now)


def queue(max_attempts: int = 3) -> CommandQueue:
    """Return a go-e command queue."""
    return CommandQueue(spacing=SPACING, max_attempts=max_attempts, priority=_command_priority)


def values(**shown: int | None) -> Callable[[str], int | None]:
    """Return what a status shows per command parameter."""
    return shown.get


# TokenBucket


def test_bucket_allows_a_burst_of_two_then_refuses() -> None:
    """A fresh bucket lets two reads out at once; the third must wait."""
    budget = bucket()
    assert budget.try_take(START)
    assert budget.try_take(START)
    assert not budget.available(START)
    assert not budget.try_take(START)
    # A refused take costs nothing: the bucket is not driven below empty.
    assert budget.tokens == 0


def test_bucket_gives_back_a_read_that_never_left() -> None:
    """A request that made no connection returns its token, never more than the capacity."""
    budget = bucket()
    assert budget.try_take(START)
    assert budget.try_take(START)
    budget.give_back(START + 1)
    assert budget.try_take(START + 1)
    assert not budget.try_take(START + 1)
    budget.give_back(START + 2)
    budget.give_back(START + 2)
    budget.give_back(START + 2)
    assert budget.tokens == budget.capacity


def test_bucket_earns_one_token_per_interval() -> None:
    """An empty bucket lets the next read out exactly one interval later, not before."""
    budget = bucket()
    budget.try_take(START)
    budget.try_take(START)
    assert not budget.try_take(START + INTERVAL - 1)
    assert budget.try_take(START + INTERVAL)
    # Only one token was earned: the next read waits another full interval.
    assert not budget.try_take(START + INTERVAL)
    assert budget.next_available(START + INTERVAL) == pytest.approx(START + 2 * INTERVAL, abs=1e-6)


def test_bucket_asked_every_minute_still_refills_on_time() -> None:
    """Many small refills add up to a whole token at the interval (no rounding loss)."""
    budget = bucket()
    budget.try_take(START)
    budget.try_take(START)
    for minute in range(1, 15):
        assert not budget.try_take(START + minute * 60), minute
    assert budget.try_take(START + 15 * 60)


def test_bucket_never_holds_more_than_its_capacity() -> None:
    """A week of silence still buys only two reads in a row."""
    budget = bucket()
    later = START + 7 * 24 * 3600
    assert budget.try_take(later)
    assert budget.try_take(later)
    assert not budget.try_take(later)
    assert budget.tokens <= budget.capacity


def test_bucket_next_available() -> None:
    """The bucket says exactly when the next read may go out."""
    budget = bucket()
    assert budget.next_available(START) == START
    budget.try_take(START)
    # One token left: now.
    assert budget.next_available(START + 10) == START + 10
    budget.try_take(START + 10)
    # Empty after 10 s; the 10 s already earned count: a whole token one interval after START.
    assert budget.next_available(START + 10) == pytest.approx(START + INTERVAL, abs=1e-6)
    # Asking later does not move the answer.
    assert budget.next_available(START + 310) == pytest.approx(START + INTERVAL, abs=1e-6)
    assert budget.try_take(budget.next_available(START + 310))


def test_bucket_looking_ahead_changes_nothing() -> None:
    """Asking when the next read may go (as the schedulers do) neither spends nor earns."""
    budget = bucket()
    budget.try_take(START)
    budget.try_take(START)
    saved = budget.as_dict()
    assert budget.available(START + INTERVAL)
    assert budget.next_available(START + 2 * INTERVAL) == START + 2 * INTERVAL
    assert budget.as_dict() == saved
    assert not budget.try_take(START + 10)


def test_bucket_drain_forgets_every_token() -> None:
    """After the vendor said 'rate limiting', the next read waits a whole interval."""
    budget = bucket()
    budget.drain(START)
    assert not budget.available(START)
    assert budget.next_available(START) == pytest.approx(START + INTERVAL, abs=1e-6)
    assert budget.try_take(START + INTERVAL)


def test_bucket_clock_going_back_buys_nothing() -> None:
    """A clock set back does not refill the bucket, nor does catching up refill it twice."""
    budget = bucket()
    budget.try_take(START)
    budget.try_take(START)
    earlier = START - 3600
    assert not budget.available(earlier)
    assert not budget.try_take(earlier)
    # The wait is still counted from the newest time the bucket saw.
    assert budget.next_available(earlier) == pytest.approx(START + INTERVAL, abs=1e-6)
    assert not budget.available(START + INTERVAL - 1)
    assert budget.try_take(START + INTERVAL)
    assert not budget.try_take(START + INTERVAL)


def test_bucket_drain_with_a_clock_gone_back() -> None:
    """Draining while the clock is behind keeps the newest time: nothing is earned twice."""
    budget = bucket()
    budget.drain(START - 100)
    assert budget.updated == START
    assert not budget.available(START + INTERVAL - 1)
    assert budget.available(START + INTERVAL)


def test_bucket_survives_a_restart() -> None:
    """A saved bucket is restored as it was: a restart buys no extra read."""
    budget = bucket()
    budget.try_take(START)
    budget.try_take(START + 100)
    saved = budget.as_dict()

    restored = bucket(START + 200)
    restored.restore(saved, START + 200)
    assert restored.as_dict() == saved
    assert not restored.try_take(START + 200)
    assert restored.next_available(START + 200) == pytest.approx(
        budget.next_available(START + 200), abs=1e-6
    )


@pytest.mark.parametrize(
    ("saved", "tokens", "updated"),
    [
        pytest.param({"tokens": 50, "updated": START}, 2.0, START, id="more_than_capacity"),
        pytest.param({"tokens": -3, "updated": START}, 0.0, START, id="negative"),
        pytest.param({"tokens": 0, "updated": START + 9999}, 0.0, START, id="future"),
        pytest.param({"tokens": "2", "updated": "soon"}, 1.0, START - 5, id="strings"),
        pytest.param({"tokens": True, "updated": False}, 1.0, START - 5, id="booleans"),
        pytest.param({"tokens": None}, 1.0, START - 5, id="null"),
        pytest.param({}, 1.0, START - 5, id="empty"),
    ],
)
def test_bucket_restore_clamps_bad_values(
    saved: dict[str, object], tokens: float, updated: float
) -> None:
    """A damaged or tampered save never grants more than the bucket could have earned."""
    budget = TokenBucket(capacity=2, interval=INTERVAL, tokens=1.0, updated=START - 5)
    budget.restore(saved, START)
    assert budget.tokens == tokens
    assert budget.updated == updated


def test_bucket_restore_from_the_future_waits_for_the_clock() -> None:
    """An empty bucket saved 'in the future' (clock set back) refills from now, not from then."""
    budget = bucket()
    budget.restore({"tokens": 0, "updated": START + 3600}, START)
    assert not budget.available(START + INTERVAL - 1)
    assert budget.available(START + INTERVAL)


# CommandQueue


def test_queue_newest_request_wins() -> None:
    """Asking twice before the slot comes sends only the newest value."""
    commands = queue()
    assert commands.request("set_current", 10, START, current=16)
    assert commands.request("set_current", 12, START + 1, current=16)
    assert list(commands.pending) == ["set_current"]
    assert commands.expected_value("set_current") == 12
    sent = commands.take_due(START + 2)
    assert sent is not None
    assert (sent.parameter, sent.value) == ("set_current", 12)
    assert commands.next_command() is None


def test_queue_request_for_the_current_value_cancels() -> None:
    """Changing one's mind back to what the charger already has sends nothing at all."""
    commands = queue()
    assert commands.request("set_current", 10, START, current=16)
    assert not commands.request("set_current", 16, START + 1, current=16)
    assert commands.pending == {}
    assert commands.expected_value("set_current") is None
    assert commands.take_due(START + 2) is None
    assert commands.last_sent is None


def test_queue_request_for_the_value_already_sent_cancels() -> None:
    """A value that is on its way (sent, not yet confirmed) is not sent a second time."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START)
    assert commands.request("set_current", 12, START + 1, current=16)
    assert not commands.request("set_current", 10, START + 2, current=16)
    assert commands.pending == {}
    assert commands.expected_value("set_current") == 10


def test_queue_request_to_undo_a_sent_command_is_queued() -> None:
    """Going back to the charger's value after a command went out needs a new command."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START)
    assert commands.request("set_current", 16, START + 1, current=16)
    assert commands.expected_value("set_current") == 16


def test_queue_gives_back_the_slot_of_a_command_that_never_left() -> None:
    """No connection: the slot before it is in force again and the command waits once more."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    assert commands.take_due(START) is not None
    commands.request("set_current", 12, START + SPACING, current=16)
    sent = commands.take_due(START + SPACING)
    assert sent is not None
    commands.never_left(sent)
    assert commands.last_sent == START
    assert commands.pending["set_current"].value == 12
    assert "set_current" not in commands.awaiting
    # A command that did leave keeps its slot used, whatever came before.
    sent = commands.take_due(START + SPACING + 1)
    assert sent is not None
    commands.not_sent(sent)
    assert commands.last_sent == START + SPACING + 1


def test_queue_spacing_between_commands() -> None:
    """A second command waits exactly one spacing after the first, not a second less."""
    commands = queue()
    assert commands.slot_free(START)
    commands.request("set_current", 10, START, current=16)
    assert commands.take_due(START) is not None
    commands.request("set_allow", 0, START + 1, current=1)
    assert commands.next_slot(START + 1) == START + SPACING
    assert not commands.slot_free(START + SPACING - 0.001)
    assert commands.take_due(START + SPACING - 0.001) is None
    assert commands.pending  # still waiting, not dropped
    sent = commands.take_due(START + SPACING)
    assert sent is not None
    assert (sent.parameter, sent.value) == ("set_allow", 0)
    assert commands.last_sent == START + SPACING


def test_queue_stop_goes_before_current() -> None:
    """Stopping the charge is the safety action: it leaves first, even when asked for last."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    commands.request("set_allow", 0, START + 1, current=1)
    first = commands.take_due(START + 2)
    assert first is not None
    assert (first.parameter, first.value) == ("set_allow", 0)
    second = commands.take_due(START + 2 + SPACING)
    assert second is not None
    assert (second.parameter, second.value) == ("set_current", 10)


def test_queue_current_goes_before_start() -> None:
    """Starting a charge waits until the new current is set, even when asked for first."""
    commands = queue()
    commands.request("set_allow", 1, START, current=0)
    commands.request("set_current", 8, START + 1, current=16)
    first = commands.next_command()
    assert first is not None
    assert (first.parameter, first.value) == ("set_current", 8)


def test_queue_same_priority_goes_in_request_order() -> None:
    """Commands of equal rank leave in the order they were asked for."""
    commands = CommandQueue(spacing=SPACING, max_attempts=3)
    commands.request("set_allow", 1, START + 1, current=0)
    commands.request("set_current", 8, START, current=16)
    first = commands.next_command()
    assert first is not None
    assert first.parameter == "set_current"


def test_command_priority_ranks() -> None:
    """The go-e ranking: set_allow=0, then set_current, then set_allow=1."""
    ranks = [
        _command_priority(QueuedCommand("set_allow", 0, START)),
        _command_priority(QueuedCommand("set_current", 32, START)),
        _command_priority(QueuedCommand("set_allow", 1, START)),
    ]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == 3


def test_verify_applied() -> None:
    """A status showing the value confirms the command; nothing is sent again."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START)
    [result] = commands.verify(values(set_current=10), START + 5)
    assert result.applied
    assert result.actual == 10
    assert not result.retry
    assert not result.gave_up
    assert commands.awaiting == {}
    assert commands.pending == {}
    assert commands.expected_value("set_current") is None


def test_verify_failed_retries_until_max_attempts_then_gives_up() -> None:
    """A command the charger ignores is sent again, max_attempts times in all, then given up."""
    commands = queue(max_attempts=3)
    commands.request("set_current", 10, START, current=16)
    now = START
    for attempt in (1, 2):
        sent = commands.take_due(now)
        assert sent is not None
        assert sent.attempt == attempt
        [result] = commands.verify(values(set_current=16), now + 5)
        assert not result.applied
        assert result.actual == 16
        assert result.retry
        assert not result.gave_up
        assert commands.pending["set_current"].attempt == attempt + 1
        # The user still sees the value they asked for while it is retried.
        assert commands.expected_value("set_current") == 10
        now += SPACING
    sent = commands.take_due(now)
    assert sent is not None
    assert sent.attempt == 3
    [result] = commands.verify(values(set_current=16), now + 5)
    assert not result.retry
    assert not result.superseded
    assert result.gave_up
    assert commands.pending == {}
    assert commands.awaiting == {}
    assert commands.expected_value("set_current") is None


def test_verify_failed_command_superseded_by_a_newer_request() -> None:
    """A failed command is not retried when the user already asked for something else."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START)
    commands.request("set_current", 20, START + 1, current=16)
    [result] = commands.verify(values(set_current=16), START + 5)
    assert not result.applied
    assert not result.retry
    assert result.superseded
    assert not result.gave_up
    assert commands.pending["set_current"].value == 20
    assert commands.pending["set_current"].attempt == 1


def test_verify_last_attempt_superseded_does_not_give_up() -> None:
    """Running out of attempts is no failure to report when a newer request replaces it."""
    commands = queue(max_attempts=1)
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START)
    commands.request("set_current", 20, START + 1, current=16)
    [result] = commands.verify(values(set_current=16), START + 5)
    assert result.superseded
    assert not result.gave_up


def test_verify_ignores_a_status_older_than_the_command() -> None:
    """A status the charger reported before the command says nothing about it."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START)
    assert commands.verify(values(set_current=16), START - 1) == []
    assert "set_current" in commands.awaiting
    [result] = commands.verify(values(set_current=10), START)
    assert result.applied


def test_verify_checks_each_parameter_on_its_own() -> None:
    """One status confirms one command and fails another."""
    commands = queue()
    commands.request("set_allow", 0, START, current=1)
    commands.take_due(START)
    commands.request("set_current", 10, START, current=16)
    commands.take_due(START + SPACING)
    results = commands.verify(values(set_allow=0, set_current=16), START + SPACING + 5)
    by_parameter = {result.command.parameter: result for result in results}
    assert by_parameter["set_allow"].applied
    assert not by_parameter["set_current"].applied
    assert by_parameter["set_current"].retry


def test_not_sent_keeps_the_slot_used_and_requeues() -> None:
    """A command lost on the way is sent again, but only in the next slot."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    sent = commands.take_due(START)
    assert sent is not None
    commands.not_sent(sent)
    assert commands.awaiting == {}
    assert commands.pending["set_current"].value == 10
    # Not a failed attempt: the charger never saw it.
    assert commands.pending["set_current"].attempt == 1
    assert commands.take_due(START + 1) is None
    assert commands.next_slot(START + 1) == START + SPACING
    again = commands.take_due(START + SPACING)
    assert again is not None
    assert (again.value, again.attempt) == (10, 1)


def test_not_sent_yields_to_a_newer_request() -> None:
    """A lost command does not overwrite what the user asked for meanwhile."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    sent = commands.take_due(START)
    assert sent is not None
    commands.request("set_current", 20, START + 1, current=16)
    commands.not_sent(sent)
    assert commands.pending["set_current"].value == 20


def test_rate_limited_waits_a_whole_slot_from_now() -> None:
    """A command the vendor refused as too fast waits a whole spacing from the refusal."""
    commands = queue()
    commands.request("set_current", 10, START, current=16)
    sent = commands.take_due(START)
    assert sent is not None
    commands.rate_limited(sent, START + 60)
    assert commands.last_sent == START + 60
    assert commands.next_slot(START + 60) == START + 60 + SPACING
    assert commands.take_due(START + SPACING) is None
    assert commands.pending["set_current"].value == 10
    assert commands.take_due(START + 60 + SPACING) is not None


def test_queue_survives_a_restart() -> None:
    """Waiting and unconfirmed commands and the used slot come back after a restart."""
    commands = queue()
    commands.request("set_allow", 0, START, current=1)
    commands.take_due(START)
    commands.request("set_current", 10, START + 5, current=16)
    saved = commands.as_dict()

    restored = queue()
    restored.restore(saved, START + 10)
    assert restored.as_dict() == saved
    assert restored.expected_value("set_current") == 10
    assert restored.expected_value("set_allow") == 0
    assert restored.take_due(START + 10) is None
    assert restored.next_slot(START + 10) == START + SPACING
    [result] = restored.verify(values(set_allow=0), START + 20)
    assert result.applied


def test_queue_restore_skips_malformed_records() -> None:
    """A damaged save loses the damaged commands, never invents or garbles one."""
    commands = queue()
    commands.restore(
        {
            "last_sent": "yesterday",
            "pending": [
                {"parameter": "set_current", "value": 10, "requested_at": START, "attempt": 2},
                {"parameter": "set_allow", "value": "1"},
                {"parameter": "set_allow", "value": True},
                {"parameter": None, "value": 1},
                {"value": 1},
                "set_allow=0",
                None,
            ],
            "awaiting": {"parameter": "set_allow", "value": 0},
        },
        START + 10,
    )
    assert commands.last_sent is None
    assert list(commands.pending) == ["set_current"]
    assert commands.pending["set_current"] == QueuedCommand("set_current", 10, START, 2)
    assert commands.awaiting == {}


def test_queue_restore_fills_in_missing_fields() -> None:
    """Records with only parameter and value get safe defaults (now, first attempt)."""
    commands = queue()
    commands.restore(
        {
            "last_sent": START,
            "pending": [{"parameter": "set_current", "value": 10, "requested_at": START + 99}],
            "awaiting": [{"parameter": "set_allow", "value": 0, "attempt": 0}],
        },
        START + 10,
    )
    # A request time in the future is pulled back to now.
    assert commands.pending["set_current"] == QueuedCommand("set_current", 10, START + 10, 1)
    assert commands.awaiting["set_allow"] == SentCommand("set_allow", 0, START + 10, 1)


def test_queue_restore_keeps_a_future_last_sent() -> None:
    """A clock set back after a restart does not free the command slot early."""
    commands = queue()
    commands.restore({"last_sent": START + 600}, START)
    assert not commands.slot_free(START + SPACING)
    assert commands.slot_free(START + 600 + SPACING)


def test_queue_restore_nothing_saved() -> None:
    """No save at all is an empty queue with a free slot."""
    commands = queue()
    commands.restore({}, START)
    assert commands.as_dict() == {"last_sent": None, "pending": [], "awaiting": []}
    assert commands.slot_free(START)


# SlidingWindow (Easee: every request of an account, at most 100 in any 5 minutes)

LIMIT = 100
WINDOW = 300.0
RESERVE = 20


def window() -> SlidingWindow:
    """Return the Easee account window."""
    return SlidingWindow(LIMIT, WINDOW)


def fill(budget: SlidingWindow, count: int = LIMIT, *, start: float = START) -> None:
    """Send ``count`` requests one second apart from ``start`` on."""
    for second in range(count):
        assert budget.try_take(start + second), second


def test_window_allows_the_limit_then_refuses_until_the_first_leaves() -> None:
    """100 requests go out; the 101st waits until the oldest is 5 minutes old, not a moment less."""
    budget = window()
    fill(budget)
    last = START + LIMIT - 1
    assert not budget.available(last)
    assert not budget.try_take(last)
    assert not budget.try_take(START + WINDOW - 0.001)
    # A refused request is not counted.
    assert len(budget.sent) == LIMIT
    assert budget.try_take(START + WINDOW)
    # Only the first one left: the next waits for the second.
    assert not budget.try_take(START + WINDOW)
    assert not budget.try_take(START + WINDOW + 0.999)
    assert budget.try_take(START + WINDOW + 1)


def test_window_records_what_was_sent_before_it_was_known() -> None:
    """A request counted afterwards (a config flow's login) takes its place in time, even full."""
    budget = window()
    fill(budget, LIMIT - 1, start=START + 1)
    budget.record(START)  # it went out first
    assert budget.sent[0] == START
    assert not budget.available(START + LIMIT)
    # Recorded although the window is full: it was sent, so it counts.
    budget.record(START + LIMIT)
    assert len(budget.sent) == LIMIT + 1
    # Two must leave before the next: the recorded first one and the one after it.
    assert budget.next_available(START + LIMIT) == START + 1 + WINDOW
    assert list(budget.sent) == sorted(budget.sent)


def test_window_counts_exactly_not_as_a_bucket() -> None:
    """A burst of 100 at once may not be followed by anything for the whole window."""
    budget = window()
    for _ in range(LIMIT):
        assert budget.try_take(START)
    for seconds in (1, 60, 150, 299, 299.999):
        assert not budget.try_take(START + seconds), seconds
    for _ in range(LIMIT):
        assert budget.try_take(START + WINDOW)
    assert not budget.try_take(START + WINDOW)


def test_window_reserve_leaves_room_for_writes() -> None:
    """Reads stop at 80 in a window; writes (no reserve) still get the last 20."""
    budget = window()
    fill(budget, LIMIT - RESERVE)
    now = START + LIMIT - RESERVE
    assert not budget.available(now, RESERVE)
    assert not budget.try_take(now, RESERVE)
    assert budget.available(now)
    for _ in range(RESERVE):
        assert budget.try_take(now)
    assert not budget.try_take(now)
    assert len(budget.sent) == LIMIT


def test_window_next_available_is_exact() -> None:
    """The window says exactly when the next request may go, with and without a reserve."""
    budget = window()
    assert budget.next_available(START) == START
    fill(budget)
    now = START + LIMIT
    # Without a reserve the oldest must leave; with 20 kept, the 21 oldest must.
    assert budget.next_available(now) == pytest.approx(START + WINDOW, abs=1e-6)
    assert budget.next_available(now, RESERVE) == pytest.approx(START + RESERVE + WINDOW, abs=1e-6)
    assert not budget.available(budget.next_available(now, RESERVE) - 0.001, RESERVE)
    assert budget.available(budget.next_available(now, RESERVE), RESERVE)
    assert budget.try_take(budget.next_available(now))
    # Asked later, the answer does not move, and it is the moment the request goes.
    later = START + WINDOW + 0.5
    assert budget.next_available(later) == pytest.approx(START + WINDOW + 1, abs=1e-6)
    assert budget.try_take(budget.next_available(later))


def test_window_next_available_when_the_reserve_is_everything() -> None:
    """A reserve that takes the whole limit never lets a request out before a window passed."""
    budget = window()
    budget.try_take(START)
    assert budget.next_available(START, LIMIT) == pytest.approx(START + WINDOW, abs=1e-6)
    assert not budget.try_take(START + WINDOW, LIMIT)


def test_window_looking_ahead_changes_nothing() -> None:
    """Asking whether and when (as the poller does) neither forgets nor counts a request."""
    budget = window()
    fill(budget)
    saved = budget.as_dict()
    assert budget.available(START + 10 * WINDOW)
    assert budget.next_available(START + 10 * WINDOW) == START + 10 * WINDOW
    assert not budget.available(START + LIMIT)
    assert budget.next_available(START + LIMIT, RESERVE) > START + LIMIT
    assert budget.as_dict() == saved
    assert not budget.try_take(START + LIMIT)


def test_window_clock_going_back_frees_nothing() -> None:
    """A clock set back neither empties the window nor lets the requests leave earlier."""
    budget = window()
    fill(budget, LIMIT - 1)
    earlier = START - 3600
    # The one free place is taken, and counted at the newest time seen, not an hour ago.
    assert budget.try_take(earlier)
    assert budget.sent[-1] == START + LIMIT - 2
    assert not budget.available(earlier)
    assert not budget.try_take(earlier)
    assert not budget.try_take(earlier + WINDOW)
    assert budget.next_available(earlier) == pytest.approx(START + WINDOW, abs=1e-6)
    assert not budget.try_take(START + WINDOW - 0.001)
    assert budget.try_take(START + WINDOW)


def test_window_survives_a_restart() -> None:
    """Saved request times come back: a full window stays full after a restart."""
    budget = window()
    fill(budget)
    saved = budget.as_dict()
    restored = window()
    restored.restore(saved, START + 200)
    assert restored.as_dict() == saved
    assert not restored.try_take(START + 200)
    assert restored.next_available(START + 200) == pytest.approx(START + WINDOW, abs=1e-6)


def test_window_restore_forgets_what_left_the_window() -> None:
    """Requests older than the window at restore time are not kept."""
    restored = window()
    restored.restore({"sent": [START - WINDOW, START - 1, START]}, START)
    assert restored.as_dict() == {"sent": [START - 1, START]}


def test_window_restore_clamps_future_times_to_now() -> None:
    """Times saved 'in the future' (clock set back since) count as sent now, not later."""
    restored = window()
    restored.restore({"sent": [START + 3600.0] * LIMIT}, START)
    assert restored.as_dict() == {"sent": [START] * LIMIT}
    assert not restored.try_take(START + WINDOW - 1)
    assert restored.try_take(START + WINDOW)


def test_window_restore_keeps_the_newest_of_too_many() -> None:
    """More than the limit saved (a damaged or older save): the newest ``limit`` are kept."""
    restored = SlidingWindow(3, WINDOW)
    restored.restore({"sent": [START + 4, START + 1, START + 3, START + 2, START + 5]}, START + 10)
    assert restored.as_dict() == {"sent": [START + 3, START + 4, START + 5]}
    assert restored.next_available(START + 10) == pytest.approx(START + 3 + WINDOW, abs=1e-6)


@pytest.mark.parametrize(
    "saved",
    [
        pytest.param({"sent": [START, "soon", None, True, [START], {"t": START}]}, id="items"),
        pytest.param({"sent": "1700000000"}, id="string"),
        pytest.param({"sent": {"0": START}}, id="object"),
        pytest.param({"sent": None}, id="null"),
        pytest.param({}, id="empty"),
    ],
)
def test_window_restore_ignores_garbage(saved: dict[str, object]) -> None:
    """Only numbers are request times; anything else in a save is dropped, never guessed."""
    restored = window()
    restored.try_take(START - 10)
    restored.restore(saved, START)
    expected = [START] if saved.get("sent") and isinstance(saved["sent"], list) else []
    assert restored.as_dict() == {"sent": expected}


def test_over_budget_error_says_when_and_why() -> None:
    """The refusal carries when a request may go, and whether the account is blocked."""
    error = OverBudgetError(START + WINDOW)
    assert isinstance(error, Exception)
    assert error.retry_at == START + WINDOW
    assert error.blocked is False
    assert str(error) == f"request budget used up until {START + WINDOW:.0f}"
    blocked = OverBudgetError(START + 86400, blocked=True)
    assert blocked.retry_at == START + 86400
    assert blocked.blocked is True


# CommandQueue with Easee's values

type Phases = tuple[int, int, int]


def load_phases(value: object) -> Phases | None:
    """Read three whole amperes back (JSON turns the tuple into a list)."""
    if isinstance(value, list | tuple) and len(value) == 3 and all(type(v) is int for v in value):
        return (value[0], value[1], value[2])
    return None


def load_word_or_int(value: object) -> str | int | None:
    """Read a command name or a whole number back."""
    return value if isinstance(value, str) or type(value) is int else None


def phases_of(shown: Phases | None) -> Callable[[str], Phases | None]:
    """Return what a circuit read shows for its dynamic current."""
    return lambda parameter: shown if parameter == "dynamic" else None


def test_queue_with_tuple_values_survives_a_restart_through_json() -> None:
    """A circuit's three phase currents are one command; they come back as a tuple."""
    commands: CommandQueue[Phases] = CommandQueue(spacing=5, max_attempts=3, load_value=load_phases)
    assert not commands.request("dynamic", (32, 32, 32), START, current=(32, 32, 32))
    assert commands.request("dynamic", (16, 16, 10), START, current=(32, 32, 32))
    saved = json.loads(json.dumps(commands.as_dict()))

    restored: CommandQueue[Phases] = CommandQueue(spacing=5, max_attempts=3, load_value=load_phases)
    restored.restore(saved, START + 1)
    assert restored.expected_value("dynamic") == (16, 16, 10)
    sent = restored.take_due(START + 1)
    assert sent is not None
    assert sent.value == (16, 16, 10)
    [result] = restored.verify(phases_of((16, 16, 10)), START + 2)
    assert result.applied


def test_queue_without_a_loader_drops_tuple_values() -> None:
    """The default loader knows only whole numbers: a saved tuple is left out, not garbled."""
    commands: CommandQueue[int] = CommandQueue(spacing=5, max_attempts=3)
    commands.restore({"pending": [{"parameter": "dynamic", "value": [16, 16, 16]}]}, START)
    assert commands.pending == {}


def test_queue_with_string_values() -> None:
    """Commands by name coalesce like numbers: the newest wins, the current one cancels."""
    commands: CommandQueue[str | int] = CommandQueue(
        spacing=5, max_attempts=3, load_value=load_word_or_int
    )
    assert commands.request("command", "pause_charging", START, current=None)
    assert commands.request("command", "stop_charging", START + 1, current=None)
    assert commands.expected_value("command") == "stop_charging"
    sent = commands.take_due(START + 2)
    assert sent is not None
    assert sent.value == "stop_charging"
    # Asking again for what is on its way sends nothing.
    assert not commands.request("command", "stop_charging", START + 3, current=None)
    restored: CommandQueue[str | int] = CommandQueue(
        spacing=5, max_attempts=3, load_value=load_word_or_int
    )
    restored.restore(json.loads(json.dumps(commands.as_dict())), START + 4)
    assert restored.awaiting["command"] == SentCommand("command", "stop_charging", START + 2, 1)


def test_queue_restore_drops_values_the_loader_refuses() -> None:
    """Each record whose value the loader refuses is left out; the others stay."""
    commands: CommandQueue[str | int] = CommandQueue(
        spacing=5, max_attempts=3, load_value=load_word_or_int
    )
    commands.restore(
        {
            "pending": [
                {"parameter": "plan", "value": '{"enabled":true}', "requested_at": START},
                {"parameter": "dynamic", "value": 16.5},
                {"parameter": "enabled", "value": True},
                {"parameter": "max", "value": None},
                {"parameter": "phases", "value": [1, 2, 3]},
            ],
            "awaiting": [
                {"parameter": "dynamic", "value": 16, "sent_at": START},
                {"parameter": "command", "value": {"name": "start"}, "sent_at": START},
            ],
        },
        START + 1,
    )
    assert list(commands.pending) == ["plan"]
    assert commands.pending["plan"].value == '{"enabled":true}'
    assert list(commands.awaiting) == ["dynamic"]


def test_ready_holds_one_command_back_without_blocking_others() -> None:
    """A flash write held back (one per hour) lets the commands behind it go first."""
    commands: CommandQueue[int] = CommandQueue(
        spacing=5, max_attempts=3, priority=lambda cmd: 0 if cmd.parameter == "max" else 1
    )
    commands.request("max", 20, START, current=32)
    commands.request("dynamic", 10, START + 1, current=32)
    commands.request("enabled", 1, START + 2, current=0)

    def flash_allowed(cmd: QueuedCommand[int]) -> bool:
        return cmd.parameter != "max"

    # Without the predicate the flash write would go first.
    first = commands.next_command()
    assert first is not None
    assert first.parameter == "max"
    held = commands.next_command(flash_allowed)
    assert held is not None
    assert held.parameter == "dynamic"
    sent = commands.take_due(START + 3, flash_allowed)
    assert sent is not None
    assert sent.parameter == "dynamic"
    sent = commands.take_due(START + 8, flash_allowed)
    assert sent is not None
    assert sent.parameter == "enabled"
    # The held-back command still waits; it goes as soon as it is ready.
    assert list(commands.pending) == ["max"]
    assert commands.take_due(START + 13, flash_allowed) is None
    sent = commands.take_due(START + 13)
    assert sent is not None
    assert sent.parameter == "max"


def test_nothing_ready_sends_nothing_and_keeps_the_slot() -> None:
    """When no command is ready, nothing goes, nothing is dropped, and the slot stays free."""
    commands: CommandQueue[int] = CommandQueue(spacing=5, max_attempts=3)
    commands.request("max", 20, START, current=32)
    commands.request("offline_max", 10, START, current=16)
    assert commands.next_command(lambda _: False) is None
    assert commands.take_due(START, lambda _: False) is None
    assert commands.last_sent is None
    assert set(commands.pending) == {"max", "offline_max"}
    assert commands.awaiting == {}
    assert commands.slot_free(START)


def test_verify_only_checks_the_listed_parameters() -> None:
    """A state read says nothing about settings it does not hold: those keep waiting."""
    commands: CommandQueue[int] = CommandQueue(spacing=5, max_attempts=3)
    commands.request("dynamic", 10, START, current=32)
    commands.take_due(START)
    commands.request("max", 20, START, current=32)
    commands.take_due(START + 5)
    shown = {"dynamic": 10, "max": 32}
    [result] = commands.verify(shown.get, START + 10, parameters={"dynamic"})
    assert result.command.parameter == "dynamic"
    assert result.applied
    # max shows the old value, but this read was not about it: no failure, no retry.
    assert list(commands.awaiting) == ["max"]
    assert commands.pending == {}
    assert commands.expected_value("max") == 20
    [result] = commands.verify({"max": 20}.get, START + 15, parameters=("max",))
    assert result.applied
    assert commands.awaiting == {}


def test_verify_with_no_parameters_checks_nothing() -> None:
    """An empty list of parameters (a read of something else) confirms and fails nothing."""
    commands: CommandQueue[int] = CommandQueue(spacing=5, max_attempts=3)
    commands.request("dynamic", 10, START, current=32)
    commands.take_due(START)
    assert commands.verify({"dynamic": 32}.get, START + 10, parameters=()) == []
    assert list(commands.awaiting) == ["dynamic"]
