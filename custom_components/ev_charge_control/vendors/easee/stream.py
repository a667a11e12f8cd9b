"""The Easee account's stream: one hub connection, reconnected slowly, never during a ban."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Iterable
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import callback

from ...api.easee import RenewalPausedError
from ...api.easee_stream import (
    EaseeCommandResponse,
    EaseeObservation,
    EaseeStream,
    StreamMessageError,
    StreamTokenRefusedError,
)
from ...api.errors import (
    AccountBlockedError,
    AuthenticationError,
    EvChargeControlError,
    RateLimitedError,
)
from ...budget import OverBudgetError
from ...const import DOMAIN, LOGGER

if TYPE_CHECKING:
    from .runtime import EaseeRuntime

# Easee asked developers not to reconnect aggressively: the n-th attempt in a row waits
# (n - 1) * 30 s, at most 5 minutes.
BACKOFF_STEP: Final = 30.0
BACKOFF_MAX: Final = 300.0
# A connection that lived this long was a good one: the next failure starts from 0 again.
STABLE_AFTER: Final = BACKOFF_MAX


def _now() -> float:
    return time.time()


def backoff_delay(failures: int) -> float:
    """Return the wait before the next attempt after ``failures`` failed ones in a row."""
    return min(BACKOFF_MAX, BACKOFF_STEP * max(0, failures))


class EaseeStreamRunner:
    """Keeps the account's stream up; tells the runtime when it is up or down."""

    def __init__(self, runtime: EaseeRuntime, stream: EaseeStream) -> None:
        self.runtime = runtime
        self.stream = stream
        self.up = False
        self.connected_at: float | None = None
        self.disconnected_at: float | None = None
        self.attempts = 0
        self.failures = 0
        self.messages = 0
        self.bad_messages = 0
        self.last_message_at: float | None = None
        self.last_error: str | None = None
        self.next_attempt_at: float | None = None
        self.stopped = False

    # The loop

    async def async_run(self) -> None:
        """Connect, read until the connection ends, wait, connect again: until cancelled."""
        while not self.stopped:
            await self._async_wait_turn()
            if not self.runtime.chargers:
                # Nothing to follow (no charger on the chosen sites): no stream, no token for it.
                self.next_attempt_at = _now() + BACKOFF_MAX
                continue
            self.attempts += 1
            self.next_attempt_at = None
            started = _now()
            try:
                await self.stream.async_run_account(self._charger_ids, self, self._step)
            except StreamTokenRefusedError as err:
                # Refused even after a renewal: the hub's business, REST keeps going.
                self._failed(err)
            except AuthenticationError as err:
                # The credentials themselves were refused: REST asks the user; no stream
                # until the entry is reloaded with new ones.
                self._failed(err)
                self.runtime.entry.async_start_reauth(self.runtime.hass)
                self._set_down()
                return
            except AccountBlockedError as err:
                self._failed(err)
                self.runtime.account.async_blocked()
            except RateLimitedError as err:
                self._failed(err)
                self.runtime.account.async_rate_limited(err.retry_after)
            except (RenewalPausedError, OverBudgetError) as err:
                # The token could not be renewed now: wait as long as the renewal does.
                self._failed(err)
                self.next_attempt_at = max(err.retry_at or 0.0, _now())
            except EvChargeControlError as err:
                self._failed(err, stable=self.up and _now() - started >= STABLE_AFTER)
            except Exception as err:  # noqa: BLE001 - the stream must not end for good
                # Only the class: the text of an unexpected error may hold a URL or a token.
                LOGGER.warning("Easee stream: unexpected %s; trying again", type(err).__name__)
                self._failed(err)
            self._set_down()

    def _failed(self, err: Exception, *, stable: bool = False) -> None:
        self.last_error = type(err).__name__
        self.failures = 1 if stable else self.failures + 1
        LOGGER.debug("Easee stream: ended or failed (%s)", err)

    async def _async_wait_turn(self) -> None:
        """Wait for the back-off, and for as long as the account is blocked or paused."""
        now = _now()
        at = max(now + backoff_delay(self.failures - 1), self.next_attempt_at or 0.0)
        while True:
            if (pause := self.runtime.account.pause_until(at)) is not None:
                at = pause  # a ban (or the cloud's back-off): no attempt before it ends
            self.next_attempt_at = at
            if at <= _now():
                return
            await asyncio.sleep(at - _now())
            if self.runtime.account.pause_until(_now()) is None:
                return
            at = _now()

    def _step[T](self, work: Coroutine[object, object, T]) -> Awaitable[T]:
        """Connect in a background task of its own: unlike reading, it ends (tests wait for it)."""
        return self.runtime.entry.async_create_background_task(
            self.runtime.hass, work, f"{DOMAIN} Easee stream connect"
        )

    def _charger_ids(self) -> Iterable[str]:
        return list(self.runtime.chargers)

    async def async_subscribe_new(self) -> None:
        """Subscribe to chargers the account gained since the connection opened."""
        if self.up:
            await self.stream.async_subscribe(self._charger_ids())

    async def async_stop(self) -> None:
        """Stop for good (the entry unloads): close the connection."""
        self.stopped = True
        await self.stream.async_close()
        self._set_down()

    # What the stream says

    @callback
    def stream_connected(self) -> None:
        """Note the hub took the handshake: REST polls slowly from now on."""
        self.up = True
        self.connected_at = _now()
        self.last_error = None
        LOGGER.debug("Easee stream: connected")
        self.runtime.async_stream_changed()

    @callback
    def _set_down(self) -> None:
        if not self.up:
            return
        self.up = False
        self.disconnected_at = _now()
        LOGGER.debug("Easee stream: down; reading by REST at the state interval")
        self.runtime.async_stream_changed()

    @callback
    def stream_observation(self, observation: EaseeObservation) -> None:
        """Hand a value to its charger."""
        self.messages += 1
        self.last_message_at = _now()
        if (charger := self.runtime.chargers.get(observation.charger_id)) is not None:
            charger.async_stream_update(observation)

    @callback
    def stream_command_response(self, response: EaseeCommandResponse) -> None:
        """Hand a charger's answer to a command to the charger."""
        self.messages += 1
        self.last_message_at = _now()
        if (charger := self.runtime.chargers.get(response.charger_id)) is not None:
            charger.async_command_response(response)

    @callback
    def stream_bad_message(self, err: StreamMessageError) -> None:
        """Count (and skip) a message that could not be read."""
        self.bad_messages += 1
        LOGGER.debug("Easee stream: skipped a message: %s", err)

    def diagnostics(self) -> dict[str, Any]:
        """Return the stream's health (no token, no charger id)."""
        return {
            "up": self.up,
            "connected_at": self.connected_at,
            "disconnected_at": self.disconnected_at,
            "attempts": self.attempts,
            "failures_in_a_row": self.failures,
            "next_attempt_at": None if self.up else self.next_attempt_at,
            "messages": self.messages,
            "bad_messages": self.bad_messages,
            "last_message_at": self.last_message_at,
            "last_error": self.last_error,
            "subscribed": len(self.stream.subscribed),
        }
