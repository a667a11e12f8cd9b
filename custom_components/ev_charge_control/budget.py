"""Request budgets and the coalescing command queue: pure logic, the clock is passed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Final

# Floating point sums of refills must not turn "exactly one token" into 0.9999999.
_EPSILON: Final = 1e-6


def _number(data: Mapping[str, object], key: str, default: float) -> float:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


@dataclass(slots=True)
class TokenBucket:
    """A token bucket: ``capacity`` requests at once, one more every ``interval`` seconds."""

    capacity: float
    interval: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, capacity: float, interval: float, now: float) -> TokenBucket:
        """Return a bucket that starts with every token."""
        return cls(capacity=capacity, interval=interval, tokens=capacity, updated=now)

    def _tokens_at(self, when: float) -> float:
        if when <= self.updated:
            # A clock that went back must not buy anything: wait until it catches up.
            return self.tokens
        return min(self.capacity, self.tokens + (when - self.updated) / self.interval)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = self._tokens_at(now)
            self.updated = now

    def available(self, when: float) -> bool:
        """Tell whether a request may go out at ``when`` (looking ahead changes nothing)."""
        return self._tokens_at(when) + _EPSILON >= 1

    def try_take(self, now: float) -> bool:
        """Take a token for a request going out now; False when none is left."""
        self._refill(now)
        if self.tokens + _EPSILON < 1:
            return False
        self.tokens = max(0.0, self.tokens - 1)
        return True

    def next_available(self, when: float) -> float:
        """Return the first moment from ``when`` on at which a request may go out."""
        if self.available(when):
            return when
        # Tokens accrue from ``updated`` on, whenever the question is asked.
        return self.updated + (1 - self.tokens) * self.interval

    def drain(self, now: float) -> None:
        """Forget every token: the vendor said we were too fast."""
        self._refill(now)
        self.tokens = 0.0
        self.updated = max(self.updated, now)

    def as_dict(self) -> dict[str, float]:
        """Return what must survive a restart."""
        return {"tokens": self.tokens, "updated": self.updated}

    def restore(self, data: Mapping[str, object], now: float) -> None:
        """Load a saved state; the bucket never holds more than it could have earned."""
        self.tokens = min(self.capacity, max(0.0, _number(data, "tokens", self.tokens)))
        self.updated = min(now, _number(data, "updated", self.updated))


@dataclass(slots=True)
class QueuedCommand:
    """A command waiting for its slot; per parameter only the newest value is kept."""

    parameter: str
    value: int
    requested_at: float
    attempt: int = 1


@dataclass(slots=True)
class SentCommand:
    """A command that went out and waits for a status that shows its value."""

    parameter: str
    value: int
    sent_at: float
    attempt: int


@dataclass(frozen=True, slots=True)
class Verification:
    """What a status said about a sent command."""

    command: SentCommand
    applied: bool
    actual: int | None
    retry: bool
    superseded: bool

    @property
    def gave_up(self) -> bool:
        """True when the command failed for the last time and nothing newer replaces it."""
        return not self.applied and not self.retry and not self.superseded


class CommandQueue:
    """Commands that coalesce per parameter and leave at most one per ``spacing`` seconds.

    ``priority`` orders pending commands when several wait for the same slot (lower first).
    """

    def __init__(
        self,
        *,
        spacing: float,
        max_attempts: int,
        priority: Callable[[QueuedCommand], int] = lambda _: 0,
    ) -> None:
        self.spacing = spacing
        self.max_attempts = max_attempts
        self._priority = priority
        self.last_sent: float | None = None
        self.pending: dict[str, QueuedCommand] = {}
        self.awaiting: dict[str, SentCommand] = {}

    def expected_value(self, parameter: str) -> int | None:
        """Return the value the user asked for and the charger may not show yet."""
        if (queued := self.pending.get(parameter)) is not None:
            return queued.value
        if (sent := self.awaiting.get(parameter)) is not None:
            return sent.value
        return None

    def request(self, parameter: str, value: int, now: float, current: int | None) -> bool:
        """Ask for ``parameter = value``; return False when nothing needs to be sent.

        ``current`` is what the charger last reported. The newest request wins: asking for
        the value the charger already has (or will have) cancels a queued command.
        """
        sent = self.awaiting.get(parameter)
        will_have = sent.value if sent is not None else current
        if value == will_have:
            self.pending.pop(parameter, None)
            return False
        self.pending[parameter] = QueuedCommand(parameter, value, now)
        return True

    def next_slot(self, now: float) -> float:
        """Return when the next command may go out (``now`` when the slot is free)."""
        if self.last_sent is None:
            return now
        return max(now, self.last_sent + self.spacing)

    def slot_free(self, now: float) -> bool:
        """Tell whether a command may go out now."""
        return self.next_slot(now) <= now

    def next_command(self) -> QueuedCommand | None:
        """Return the command that goes out in the next slot, if any."""
        if not self.pending:
            return None
        return min(self.pending.values(), key=lambda cmd: (self._priority(cmd), cmd.requested_at))

    def take_due(self, now: float) -> SentCommand | None:
        """Reserve the slot for the next command and return it, or None when nothing may go."""
        queued = self.next_command()
        if queued is None or not self.slot_free(now):
            return None
        del self.pending[queued.parameter]
        self.last_sent = now
        sent = SentCommand(queued.parameter, queued.value, now, queued.attempt)
        self.awaiting[sent.parameter] = sent
        return sent

    def _requeue(self, sent: SentCommand, attempt: int) -> bool:
        """Queue a command again unless a newer request replaced it; False when replaced."""
        if sent.parameter in self.pending:
            return False
        self.pending[sent.parameter] = QueuedCommand(
            sent.parameter, sent.value, sent.sent_at, attempt
        )
        return True

    def not_sent(self, sent: SentCommand) -> None:
        """Queue a command again whose request failed before the charger got it.

        The slot stays used: the vendor may have counted the request.
        """
        if self.awaiting.get(sent.parameter) is sent:
            del self.awaiting[sent.parameter]
        self._requeue(sent, sent.attempt)

    def rate_limited(self, sent: SentCommand, now: float) -> None:
        """Queue a command again that the vendor refused with a rate limit, a whole slot later."""
        self.last_sent = max(self.last_sent or now, now)
        self.not_sent(sent)

    def verify(
        self,
        values: Callable[[str], int | None],
        data_time: float,
    ) -> list[Verification]:
        """Check awaited commands against a status that describes the charger at ``data_time``.

        A status older than a command says nothing about it; the command keeps waiting.
        """
        results: list[Verification] = []
        for parameter, sent in list(self.awaiting.items()):
            if data_time < sent.sent_at:
                continue
            del self.awaiting[parameter]
            actual = values(parameter)
            if actual == sent.value:
                results.append(Verification(sent, True, actual, False, False))
                continue
            retry = sent.attempt < self.max_attempts and self._requeue(sent, sent.attempt + 1)
            superseded = parameter in self.pending and not retry
            results.append(Verification(sent, False, actual, retry, superseded))
        return results

    def as_dict(self) -> dict[str, object]:
        """Return what must survive a restart."""
        return {
            "last_sent": self.last_sent,
            "pending": [asdict(cmd) for cmd in self.pending.values()],
            "awaiting": [asdict(cmd) for cmd in self.awaiting.values()],
        }

    def restore(self, data: Mapping[str, object], now: float) -> None:
        """Load a saved queue; anything malformed is left out rather than guessed."""
        last_sent = data.get("last_sent")
        if isinstance(last_sent, int | float) and not isinstance(last_sent, bool):
            # A clock that went back must not free the slot early.
            self.last_sent = float(last_sent)
        self.pending = {}
        for item in _records(data.get("pending")):
            queued = QueuedCommand(
                str(item["parameter"]),
                int(_number(item, "value", 0)),
                min(now, _number(item, "requested_at", now)),
                max(1, int(_number(item, "attempt", 1))),
            )
            self.pending[queued.parameter] = queued
        self.awaiting = {}
        for item in _records(data.get("awaiting")):
            sent = SentCommand(
                str(item["parameter"]),
                int(_number(item, "value", 0)),
                _number(item, "sent_at", now),
                max(1, int(_number(item, "attempt", 1))),
            )
            self.awaiting[sent.parameter] = sent


def _records(value: object) -> list[Mapping[str, object]]:
    if not isinstance(value, list):
        return []
    return [
        item
        for item in value
        if isinstance(item, Mapping)
        and isinstance(item.get("parameter"), str)
        and type(item.get("value")) is int  # bool is an int to Python, but no command value
    ]
