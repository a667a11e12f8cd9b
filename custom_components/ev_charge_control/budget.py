"""Request budgets and the coalescing command queue: pure logic, the clock is passed in."""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Final, cast

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

    def is_full(self, when: float) -> bool:
        """Tell whether the bucket holds every token at ``when``."""
        return self._tokens_at(when) + _EPSILON >= self.capacity

    def try_take(self, now: float) -> bool:
        """Take a token for a request going out now; False when none is left."""
        self._refill(now)
        if self.tokens + _EPSILON < 1:
            return False
        self.tokens = max(0.0, self.tokens - 1)
        return True

    def give_back(self, now: float) -> None:
        """Return the token of a request that never reached the vendor (no connection was made)."""
        self._refill(now)
        self.tokens = min(self.capacity, self.tokens + 1)

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


class OverBudgetError(Exception):
    """A request may not go out now; ``retry_at`` says when one may."""

    def __init__(self, retry_at: float, *, blocked: bool = False) -> None:
        super().__init__(f"request budget used up until {retry_at:.0f}")
        self.retry_at = retry_at
        self.blocked = blocked


class SlidingWindow:
    """At most ``limit`` requests in any ``window`` seconds, counted exactly.

    A token bucket allows its burst on top of its rate within one window; a promise like
    "at most 100 requests per 5 minutes" needs the requests themselves remembered.
    ``reserve`` keeps the last requests of a window for callers that pass no reserve
    (writes go first, reads leave room for them).
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.sent: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - self.window:
            self.sent.popleft()

    def _in_window(self, when: float) -> int:
        return sum(1 for sent in self.sent if sent > when - self.window)

    def available(self, when: float, reserve: int = 0) -> bool:
        """Tell whether a request may go out at ``when``."""
        return self._in_window(when) < self.limit - reserve

    def try_take(self, now: float, reserve: int = 0) -> bool:
        """Count a request going out now; False (nothing counted) when the window is full."""
        return self.take(now, reserve) is not None

    def take(self, now: float, reserve: int = 0) -> float | None:
        """Count a request going out now; return the moment counted (None: the window is full)."""
        self._forget(now)
        if len(self.sent) >= self.limit - reserve:
            return None
        moment = max(now, self.sent[-1]) if self.sent else now
        self.sent.append(moment)
        return moment

    def give_back(self, moment: float) -> None:
        """Forget the request counted at ``moment``: it never reached the vendor.

        One request only; another counted at the same moment stays. Nothing changes when the
        window has forgotten it already.
        """
        if moment in self.sent:
            self.sent.remove(moment)

    def record(self, when: float) -> None:
        """Count a request that already went out, even past the limit: it was sent."""
        insort(self.sent, when)

    def next_available(self, when: float, reserve: int = 0) -> float:
        """Return the first moment from ``when`` on at which a request may go out."""
        recent = [sent for sent in self.sent if sent > when - self.window]
        allowed = max(0, self.limit - reserve)
        if len(recent) < allowed:
            return when
        if allowed == 0:
            return (recent[-1] if recent else when) + self.window
        # The window must first forget every request but the newest ``allowed - 1``.
        return recent[len(recent) - allowed] + self.window

    def as_dict(self) -> dict[str, list[float]]:
        """Return what must survive a restart."""
        return {"sent": list(self.sent)}

    def restore(self, data: Mapping[str, object], now: float) -> None:
        """Load saved request times; a time in the future counts as now."""
        sent = data.get("sent")
        times = sorted(
            min(now, float(item))
            for item in (sent if isinstance(sent, list) else [])
            if isinstance(item, int | float) and not isinstance(item, bool)
        )
        self.sent = deque(times[-self.limit :] if self.limit > 0 else [])
        self._forget(now)


@dataclass(slots=True)
class QueuedCommand[V]:
    """A command waiting for its slot; per parameter only the newest value is kept."""

    parameter: str
    value: V
    requested_at: float
    attempt: int = 1


@dataclass(slots=True)
class SentCommand[V]:
    """A command that went out and waits for a status that shows its value."""

    parameter: str
    value: V
    sent_at: float
    attempt: int


@dataclass(frozen=True, slots=True)
class Verification[V]:
    """What a status said about a sent command."""

    command: SentCommand[V]
    applied: bool
    actual: V | None
    retry: bool
    superseded: bool

    @property
    def gave_up(self) -> bool:
        """True when the command failed for the last time and nothing newer replaces it."""
        return not self.applied and not self.retry and not self.superseded


def _int_value(value: object) -> int | None:
    # bool is an int to Python, but no command value
    return value if type(value) is int else None


class CommandQueue[V]:
    """Commands that coalesce per parameter and leave at most one per ``spacing`` seconds.

    ``priority`` orders pending commands when several wait for the same slot (lower first).
    ``ready`` holds a command back although the slot is free (e.g. a flash write per hour).
    ``load_value`` turns a saved value back into a command value (None: leave it out).
    """

    def __init__(
        self,
        *,
        spacing: float,
        max_attempts: int,
        priority: Callable[[QueuedCommand[V]], int] = lambda _: 0,
        load_value: Callable[[object], V | None] | None = None,
    ) -> None:
        self.spacing = spacing
        self.max_attempts = max_attempts
        self._priority = priority
        # Without a loader the values are ints (go-e's commands).
        self._load_value: Callable[[object], V | None] = load_value or cast(
            "Callable[[object], V | None]", _int_value
        )
        self.last_sent: float | None = None
        # The slot before the last take: given back when that request never left.
        self._slot_before: float | None = None
        self.pending: dict[str, QueuedCommand[V]] = {}
        self.awaiting: dict[str, SentCommand[V]] = {}

    def expected_value(self, parameter: str) -> V | None:
        """Return the value the user asked for and the charger may not show yet."""
        if (queued := self.pending.get(parameter)) is not None:
            return queued.value
        if (sent := self.awaiting.get(parameter)) is not None:
            return sent.value
        return None

    def request(self, parameter: str, value: V, now: float, current: V | None) -> bool:
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

    def next_command(
        self, ready: Callable[[QueuedCommand[V]], bool] | None = None
    ) -> QueuedCommand[V] | None:
        """Return the command that goes out in the next slot, if any."""
        candidates = [cmd for cmd in self.pending.values() if ready is None or ready(cmd)]
        if not candidates:
            return None
        return min(candidates, key=lambda cmd: (self._priority(cmd), cmd.requested_at))

    def take_due(
        self, now: float, ready: Callable[[QueuedCommand[V]], bool] | None = None
    ) -> SentCommand[V] | None:
        """Reserve the slot for the next command and return it, or None when nothing may go."""
        queued = self.next_command(ready)
        if queued is None or not self.slot_free(now):
            return None
        del self.pending[queued.parameter]
        self._slot_before = self.last_sent
        self.last_sent = now
        sent = SentCommand(queued.parameter, queued.value, now, queued.attempt)
        self.awaiting[sent.parameter] = sent
        return sent

    def _requeue(self, sent: SentCommand[V], attempt: int) -> bool:
        """Queue a command again unless a newer request replaced it; False when replaced."""
        if sent.parameter in self.pending:
            return False
        self.pending[sent.parameter] = QueuedCommand(
            sent.parameter, sent.value, sent.sent_at, attempt
        )
        return True

    def not_sent(self, sent: SentCommand[V]) -> None:
        """Queue a command again whose request failed before the charger got it.

        The slot stays used: the vendor may have counted the request.
        """
        if self.awaiting.get(sent.parameter) is sent:
            del self.awaiting[sent.parameter]
        self._requeue(sent, sent.attempt)

    def never_left(self, sent: SentCommand[V]) -> None:
        """Queue a command again whose request made no connection: its slot is free again.

        The vendor saw nothing (a failed name lookup, a refused connection), so nothing counts.
        """
        if self.last_sent == sent.sent_at:
            self.last_sent = self._slot_before
        self.not_sent(sent)

    def rate_limited(self, sent: SentCommand[V], now: float) -> None:
        """Queue a command again that the vendor refused with a rate limit, a whole slot later."""
        self.last_sent = max(self.last_sent or now, now)
        self.not_sent(sent)

    def verify(
        self,
        values: Callable[[str], V | None],
        data_time: float,
        parameters: Collection[str] | None = None,
    ) -> list[Verification[V]]:
        """Check awaited commands against a status that describes the charger at ``data_time``.

        A status older than a command says nothing about it; the command keeps waiting.
        ``parameters`` limits the check to what the status holds (None: every parameter).
        """
        results: list[Verification[V]] = []
        for parameter, sent in list(self.awaiting.items()):
            if data_time < sent.sent_at or (parameters is not None and parameter not in parameters):
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

    def drop(self) -> None:
        """Forget every waiting and unconfirmed command (its device is deleted); the slot stays."""
        self.pending.clear()
        self.awaiting.clear()

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
        for item, value in self._records(data.get("pending")):
            queued = QueuedCommand(
                str(item["parameter"]),
                value,
                min(now, _number(item, "requested_at", now)),
                max(1, int(_number(item, "attempt", 1))),
            )
            self.pending[queued.parameter] = queued
        self.awaiting = {}
        for item, value in self._records(data.get("awaiting")):
            sent = SentCommand(
                str(item["parameter"]),
                value,
                _number(item, "sent_at", now),
                max(1, int(_number(item, "attempt", 1))),
            )
            self.awaiting[sent.parameter] = sent

    def _records(self, value: object) -> list[tuple[Mapping[str, object], V]]:
        records: list[tuple[Mapping[str, object], V]] = []
        for item in value if isinstance(value, list) else []:
            if not isinstance(item, Mapping) or not isinstance(item.get("parameter"), str):
                continue
            loaded = self._load_value(item.get("value"))
            if loaded is not None:
                records.append((item, loaded))
        return records
