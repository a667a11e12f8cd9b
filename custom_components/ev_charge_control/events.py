"""The command-result event: its one schema and the one function every vendor fires it with."""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
from enum import StrEnum
from typing import NotRequired, TypedDict

from homeassistant.core import HomeAssistant, callback

from .const import EVENT_COMMAND_RESULT

# What a command asks for, as the vendor's runtime keeps it (Easee's circuit limits are a
# tuple of three phases); the event carries tuples as lists, as JSON would.
type CommandValue = int | str | tuple[int, ...]
type EventValue = int | str | list[int]


class CommandResult(StrEnum):
    """How a command ended, or why it goes out again (``will_retry``)."""

    # A read shows the requested value.
    APPLIED = "applied"
    # A read shows something else, or the vendor kept answering with errors until we gave up.
    FAILED = "failed"
    # The cloud will never take it: a 4xx answer to the write other than a refused token or a
    # rate limit (Easee: also `wasAccepted: false`; go-e: also an error its document does not
    # name). Never sent again.
    REFUSED = "refused"
    # Easee: the charger is offline and Easee keeps nothing for later. Never sent again.
    OFFLINE = "offline"
    # ViriCiti: the waiting limit's end came before its slot, so it was never sent.
    EXPIRED = "expired"


class CommandResultData(TypedDict):
    """The event's data, as automations see it."""

    device_id: str | None
    parameter: str
    requested: EventValue
    result: str
    actual: EventValue | None
    attempt: int
    will_retry: bool
    # Only for a request that ends (ViriCiti's limits): its end, and the end a read shows.
    end_time: NotRequired[str]
    actual_end_time: NotRequired[str | None]


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandResultEvent:
    """One command's outcome.

    ``actual`` is what a read shows for the parameter, None when nothing was read back (the
    command was refused, expired or never accepted) or the read shows no value.
    """

    device_id: str | None
    parameter: str
    requested: CommandValue
    result: CommandResult
    actual: CommandValue | None
    attempt: int
    will_retry: bool
    end_time: dt.datetime | None = None
    actual_end_time: dt.datetime | None = None

    def as_event_data(self) -> CommandResultData:
        """Return the event's data: plain JSON values only."""
        data = CommandResultData(
            device_id=self.device_id,
            parameter=self.parameter,
            requested=_plain(self.requested),
            result=self.result.value,
            actual=None if self.actual is None else _plain(self.actual),
            attempt=self.attempt,
            will_retry=self.will_retry,
        )
        if self.end_time is not None:
            data["end_time"] = self.end_time.isoformat()
            data["actual_end_time"] = (
                None if self.actual_end_time is None else self.actual_end_time.isoformat()
            )
        return data


def _plain(value: CommandValue) -> EventValue:
    return list(value) if isinstance(value, tuple) else value


@callback
def async_fire_command_result(hass: HomeAssistant, event: CommandResultEvent) -> None:
    """Fire ``ev_charge_control_command_result`` for one command's outcome."""
    hass.bus.async_fire(EVENT_COMMAND_RESULT, dict(event.as_event_data()))
