"""The queued writer every vendor shares: requests wait for their slot, go out, are checked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
import datetime as dt
import time
from typing import Any, ClassVar, NamedTuple

from homeassistant.core import CALLBACK_TYPE
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .api.errors import EvChargeControlError, NotSentError
from .budget import CommandQueue, QueuedCommand, SentCommand, Verification
from .const import DOMAIN, LOGGER
from .coordinator import EvChargeCoordinator
from .events import CommandResult, CommandResultEvent, CommandValue, async_fire_command_result

# The pending-command sensor's state while nothing waits.
NO_COMMAND = "none"


def _now() -> float:
    return time.time()


class ResultValue(NamedTuple):
    """A command value as the result event carries it (ViriCiti's limits also have an end)."""

    value: CommandValue
    end_time: dt.datetime | None = None


# A command whose request made no connection is tried again this many seconds later.
NOT_SENT_RETRY = 60.0


@dataclass(frozen=True, slots=True)
class NotSent:
    """A send that failed before the vendor took the command: it goes out again."""

    # Not before this moment (the vendor or the account asked us to wait); None: next slot.
    retry_at: float | None = None
    # The vendor answered "too fast" and may have counted it: a whole slot from now.
    rate_limited: bool = False
    # The vendor took the request and said no: one of the queue's attempts is spent.
    attempt_failed: bool = False
    # ... and another attempt would hear the same: give the command up now.
    give_up: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """A command the vendor will never take: dropped, and the action that asked is told."""

    result: CommandResult
    translation_key: str
    placeholders: Mapping[str, str] = field(default_factory=dict)

    def error(self) -> HomeAssistantError:
        """Return the translated error of the action that asked for the command."""
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key=self.translation_key,
            translation_placeholders=dict(self.placeholders),
        )


class WriterHooks[V]:
    """What a vendor tells the writer: how a command goes out, is saved and is shown.

    The coordinator that owns the writer implements them. The defaults fit a vendor whose
    only rule is the queue's spacing.
    """

    # What a send may raise about the command; anything else is a bug and propagates.
    send_errors: ClassVar[tuple[type[Exception], ...]] = (EvChargeControlError,)

    async def async_send_command(self, sent: SentCommand[V]) -> None:
        """Send one command and take the vendor's answer; raise one of ``send_errors``."""
        raise NotImplementedError

    async def async_save_queue(self) -> None:
        """Save the queue (called before a command leaves, and after)."""
        raise NotImplementedError

    def send_failed(self, sent: SentCommand[V], err: Exception) -> NotSent | Refusal:
        """Say what a failed send means; vendor side effects (reauth, a repair) go here."""
        raise NotImplementedError

    def result_value(self, value: V) -> ResultValue:
        """Return a command value as the result event carries it."""
        raise NotImplementedError

    def command_ready_at(self, command: QueuedCommand[V]) -> float:
        """Return when a waiting command may go out, whatever the slot says (0: any time)."""
        return 0.0

    def writes_paused_until(self, now: float) -> float | None:
        """Return when the vendor takes writes again (None: it does now)."""
        return None

    def command_expired(self, command: QueuedCommand[V], now: float) -> bool:
        """Tell whether a waiting command is no longer worth sending."""
        return False

    def writes_blocked(self) -> bool:
        """Tell whether nothing may go out until the user acts (a refused token)."""
        return False

    def command_verified(self, result: Verification[V]) -> None:
        """Vendor side effects of a read that checked a command (a repair issue)."""

    def describe_command(self, parameter: str, value: V) -> str:
        """Return a command as the pending-command sensor and the log show it."""
        return f"{parameter}={value}"

    def shown_value(self, value: V) -> object:
        """Return a value as the pending-command sensor's attributes show it."""
        return value

    def pending_details(self, parameter: str, value: V) -> dict[str, object]:
        """Return the next command's value as the pending-command sensor shows it (with unit)."""
        return {"value": self.shown_value(value)}


class QueuedWriter[V]:
    """A coordinator's writes: request, save, send in the slot, verify by a read, report.

    The newest request per parameter wins; one command leaves per slot of the queue, under a
    lock; a read that shows (or does not show) a sent value ends it, retries it or gives it up,
    and every end fires the command-result event.
    """

    def __init__(
        self,
        coordinator: EvChargeCoordinator[Any],
        hooks: WriterHooks[V],
        queue: CommandQueue[V],
        name: str,
    ) -> None:
        self._coordinator = coordinator
        self._hooks = hooks
        self.queue = queue
        # How the log names the device ("go-e 000123").
        self.name = name
        self.lock = asyncio.Lock()
        self._unsub_timer: CALLBACK_TYPE | None = None
        self._started = _now()

    # Requests

    async def async_request(self, parameter: str, value: V, current: V | None) -> None:
        """Ask for ``parameter = value``: saved and shown at once, sent when the slot allows.

        ``current`` is what the device shows now. Raises the translated error when the
        vendor refuses this command for good.
        """
        if not self.queue.request(parameter, value, _now(), current):
            LOGGER.debug(
                "%s: %s already holds, nothing to send",
                self.name,
                self._hooks.describe_command(parameter, value),
            )
        await self._hooks.async_save_queue()
        self._coordinator.async_update_listeners()
        refused = await self._async_send_due()
        if refused is not None and refused[0] == parameter:
            raise refused[1].error()

    # Sending

    def next_send_at(self, now: float) -> float | None:
        """Return when the next waiting command goes out (None: nothing waits)."""
        if not self.queue.pending:
            return None
        slot = self.queue.next_slot(now)
        ready = min(self._hooks.command_ready_at(cmd) for cmd in self.queue.pending.values())
        return max(slot, ready, self._hooks.writes_paused_until(now) or now)

    def schedule(self, at: float | None = None) -> None:
        """Set the timer of the next waiting command (not before ``at``), or cancel it."""
        self.cancel()
        when = self.next_send_at(_now())
        if when is None or self._hooks.writes_blocked():
            return
        if at is not None:
            when = max(when, at)
        self._unsub_timer = self._coordinator.async_run_at(
            dt_util.utc_from_timestamp(when), self.async_send_due, f"{DOMAIN} {self.name} write"
        )

    def cancel(self) -> None:
        """Cancel the timer (set again by the next request, read or send)."""
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    async def async_send_due(self) -> None:
        """Send the next waiting command when its slot has come."""
        await self._async_send_due()

    async def _async_send_due(self) -> tuple[str, Refusal] | None:
        """Send what is due; return the parameter the vendor refused for good, if any."""
        hooks, queue = self._hooks, self.queue
        if hooks.writes_blocked():
            return None
        async with self.lock:
            now = _now()
            expired = self._drop_expired(now)
            sent = queue.take_due(now, lambda command: hooks.command_ready_at(command) <= now)
            if sent is None:
                if expired:
                    await hooks.async_save_queue()
                    self._coordinator.async_update_listeners()
                self.schedule()
                return None
            # Saved before it leaves: a crash cannot forget that the slot is used.
            await hooks.async_save_queue()
            retry_at: float | None = None
            refused: tuple[str, Refusal] | None = None
            try:
                await hooks.async_send_command(sent)
            except hooks.send_errors as err:
                outcome = hooks.send_failed(sent, err)
                if isinstance(outcome, Refusal):
                    self._drop(sent, outcome.result)
                    refused = (sent.parameter, outcome)
                else:
                    retry_at = self._not_sent(sent, outcome, err)
            else:
                LOGGER.debug(
                    "%s: sent %s", self.name, hooks.describe_command(sent.parameter, sent.value)
                )
            await hooks.async_save_queue()
            self.schedule(retry_at)
            self._coordinator.async_update_listeners()
            return refused

    def _drop_expired(self, now: float) -> bool:
        expired = [
            command
            for command in self.queue.pending.values()
            if self._hooks.command_expired(command, now)
        ]
        for command in expired:
            del self.queue.pending[command.parameter]
            LOGGER.warning(
                "%s: %s ended before its slot; it was not sent",
                self.name,
                self._hooks.describe_command(command.parameter, command.value),
            )
            self.fire(command.parameter, command.value, CommandResult.EXPIRED, command.attempt)
        return bool(expired)

    def _drop(self, sent: SentCommand[V], result: CommandResult) -> None:
        """Forget a command sending again would not help (a newer request stays)."""
        self.queue.not_sent(sent)
        queued = self.queue.pending.get(sent.parameter)
        if queued is not None and queued.value == sent.value and queued.attempt == sent.attempt:
            del self.queue.pending[sent.parameter]
        self.fire(sent.parameter, sent.value, result, sent.attempt)

    def _not_sent(self, sent: SentCommand[V], outcome: NotSent, err: Exception) -> float | None:
        """Queue a command again that did not get through; return when it may go."""
        if isinstance(err, NotSentError):
            # The vendor saw nothing: neither the slot nor an attempt is spent (a network
            # that is down for an hour does not use up the command), but the next try waits a
            # little, so the network is not asked again in a loop.
            self.queue.never_left(sent)
            outcome = replace(
                outcome,
                attempt_failed=False,
                give_up=False,
                retry_at=max(outcome.retry_at or 0.0, _now() + NOT_SENT_RETRY),
            )
        elif outcome.rate_limited:
            self.queue.rate_limited(sent, _now())
        else:
            self.queue.not_sent(sent)
        if not outcome.attempt_failed:
            return outcome.retry_at
        queued = self.queue.pending.get(sent.parameter)
        if queued is None or queued.value != sent.value or queued.attempt != sent.attempt:
            return outcome.retry_at  # a newer request replaced it
        if sent.attempt < self.queue.max_attempts and not outcome.give_up:
            queued.attempt += 1
            LOGGER.warning(
                "%s: %s was not accepted (%s); trying again", self.name, sent.parameter, err
            )
            return outcome.retry_at
        del self.queue.pending[sent.parameter]
        LOGGER.error(
            "%s: gave up on %s after %s attempts: %s",
            self.name,
            sent.parameter,
            sent.attempt,
            err,
        )
        self.fire(sent.parameter, sent.value, CommandResult.FAILED, sent.attempt)
        return outcome.retry_at

    # Verifying

    def verify(
        self,
        values: Callable[[str], V | None],
        data_time: float,
        parameters: Collection[str] | None = None,
    ) -> list[Verification[V]]:
        """Check sent commands against a read of the device at ``data_time``; report each.

        ``parameters`` limits the check to what the read holds (None: every parameter).
        """
        results = self.queue.verify(values, data_time, parameters)
        for result in results:
            self._report(result)
        if any(result.retry for result in results):
            self.schedule()
        return results

    def _report(self, result: Verification[V]) -> None:
        command, describe = result.command, self._hooks.describe_command
        if result.applied:
            LOGGER.debug("%s: %s applied", self.name, describe(command.parameter, command.value))
        else:
            LOGGER.warning(
                "%s did not apply %s (attempt %s of %s, the read shows %s)%s",
                self.name,
                describe(command.parameter, command.value),
                command.attempt,
                self.queue.max_attempts,
                "nothing" if result.actual is None else describe(command.parameter, result.actual),
                "; sending it again in the next slot" if result.retry else "",
            )
        self.fire(
            command.parameter,
            command.value,
            CommandResult.APPLIED if result.applied else CommandResult.FAILED,
            command.attempt,
            actual=result.actual,
            will_retry=result.retry,
        )
        self._hooks.command_verified(result)

    def fire(
        self,
        parameter: str,
        requested: V,
        result: CommandResult,
        attempt: int,
        *,
        actual: V | None = None,
        will_retry: bool = False,
    ) -> None:
        """Fire the command-result event of one command."""
        wanted = self._hooks.result_value(requested)
        shown = None if actual is None else self._hooks.result_value(actual)
        async_fire_command_result(
            self._coordinator.hass,
            CommandResultEvent(
                device_id=self._coordinator.device_id,
                parameter=parameter,
                requested=wanted.value,
                result=result,
                actual=None if shown is None else shown.value,
                attempt=attempt,
                will_retry=will_retry,
                end_time=wanted.end_time,
                actual_end_time=None if shown is None else shown.end_time,
            ),
        )

    # What the pending-command sensors show

    def next_command_slot(self) -> dt.datetime:
        """Return when the slot opens: a time past means it is open, a command goes out at once.

        Never sent: open since the writer started. A vendor's pause (a rate limit) holds it.
        """
        now = _now()
        last = self.queue.last_sent
        opens = self._started if last is None else last + self.queue.spacing
        if (paused := self._hooks.writes_paused_until(now)) is not None:
            opens = max(opens, paused)
        return dt_util.utc_from_timestamp(round(opens))

    def pending_command(self) -> str:
        """Return the parameter of the command that goes out next, or "none"."""
        command = self.queue.next_command()
        if command is None:
            return NO_COMMAND
        return command.parameter

    def pending_attributes(self) -> dict[str, Any]:
        """Return the next command's value and time, every waiting and every unconfirmed one."""
        shown = self._hooks.shown_value
        command = self.queue.next_command()
        when = self.next_send_at(_now())
        details = (
            {"value": None}
            if command is None
            else self._hooks.pending_details(command.parameter, command.value)
        )
        return {
            **details,
            "next_write": None
            if when is None
            else dt_util.utc_from_timestamp(round(when)).isoformat(),
            "queued": {cmd.parameter: shown(cmd.value) for cmd in self.queue.pending.values()},
            "awaiting_confirmation": {
                cmd.parameter: shown(cmd.value) for cmd in self.queue.awaiting.values()
            },
        }


def pending_options(parameters: Iterable[str]) -> list[str]:
    """Return the states of a pending-command sensor: "none" or a parameter that waits."""
    return [NO_COMMAND, *parameters]
