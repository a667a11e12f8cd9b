"""go-e grid-operator chargers: request budget, command queue and coordinator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_NAME, STATE_OFF, STATE_ON, UnitOfElectricCurrent
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from ...api.errors import (
    AuthenticationError,
    CommandRefusedError,
    EvChargeControlError,
    NotSentError,
    RateLimitedError,
)
from ...api.goe import GoeClient, GoeStatus
from ...budget import (
    CommandQueue,
    OverBudgetError,
    SentCommand,
    Verification,
)
from ...const import DOMAIN, LOGGER
from ...coordinator import EvChargeCoordinator
from ...errors import read_failure
from ...events import CommandResult
from ...issues import device_url, issue_id
from ...runtime import EvChargeConfigEntry
from ...writer import NotSent, QueuedWriter, Refusal, ResultValue, WriterHooks
from .budget import (
    PARAMETER_ALLOW,
    STATUS_INTERVAL,
    GoeChargerBudget,
    _now,
)

# Give the charger a moment to apply a command before the read that verifies it.
VERIFY_DELAY: Final = 5.0
MAX_CURRENT_FALLBACK: Final = 32


def _utc(timestamp: float) -> datetime:
    return dt_util.utc_from_timestamp(timestamp)


@dataclass(frozen=True, slots=True)
class GoeData:
    """A status and when we received it."""

    status: GoeStatus
    fetched_at: float

    @property
    def data_time(self) -> float:
        """Return when the charger reported what the status shows."""
        return self.fetched_at - (self.status.data_age_seconds or 0)


class GoeCoordinator(WriterHooks[int], EvChargeCoordinator[GoeData]):
    """Reads one go-e charger within its budget and sends its commands through the queue."""

    config_entry: EvChargeConfigEntry
    subentry_id: str

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        subentry: ConfigSubentry,
        client: GoeClient,
        budget: GoeChargerBudget,
    ) -> None:
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"go-e {client.serial}",
            update_interval=STATUS_INTERVAL,
        )
        self.client = client
        self.budget = budget
        self.serial = client.serial
        self.subentry_id = subentry.subentry_id
        self.unique_id_prefix = f"goe_{self.serial}"
        # go-e refused the grid token: no request goes out until the user enters a new one.
        self.token_refused = False
        self.energy_total: int | None = None
        self.writer = QueuedWriter(self, self, budget.commands, f"go-e {self.serial}")
        self._unsub_read: CALLBACK_TYPE | None = None
        self._last_read: float | None = None
        # Commands sent so far, and the number of each parameter's latest: a read verifies
        # only commands that went out before it left.
        self._sends = 0
        self._send_number: dict[str, int] = {}
        if budget.last_status is not None:
            self._track_energy(budget.last_status)

    def entity_device_info(self) -> DeviceInfo:
        """Return the charger's device, built when an entity is added, not kept.

        Its entities read it once, to register the device: in a fleet of thousands, a dict,
        a set and a tuple less per charger for the rest of its life (``scripts/bench``).
        """
        subentry = self.config_entry.subentries.get(self.subentry_id)
        return DeviceInfo(
            identifiers={(DOMAIN, self.unique_id_prefix)},
            manufacturer="go-e",
            model="go-eCharger",
            name=(subentry and subentry.data.get(CONF_NAME)) or f"go-eCharger {self.serial}",
            serial_number=self.serial,
        )

    @property
    def queue(self) -> CommandQueue[int]:
        """Return the charger's command queue."""
        return self.budget.commands

    def _cached_data(self) -> GoeData | None:
        if self.budget.last_status is None or self.budget.fetched_at is None:
            return None
        return GoeData(self.budget.last_status, self.budget.fetched_at)

    async def async_start(self) -> None:
        """Show the saved status when it is recent, else read one; resume waiting commands."""
        cached = self._cached_data()
        if cached is not None and _now() - cached.fetched_at < STATUS_INTERVAL.total_seconds():
            self._last_read = cached.fetched_at
            self.async_set_updated_data(cached)
        else:
            await self.async_refresh()
        self.writer.schedule()

    @property
    def token_issue_id(self) -> str:
        """Return the id of the repair issue that asks for this charger's new grid token."""
        return issue_id("goe_token_refused", self.config_entry, self.subentry_id)

    @callback
    def _async_token_refused(self) -> None:
        """Stop asking go-e with a refused token; ask the user for this charger's new one.

        Only this charger waits: the entry's other chargers go on (a reauth of the entry
        would stop the fleet).
        """
        self.token_refused = True
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.token_issue_id,
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            # Fixable: its text is the fix flow's, which names the charger (Home Assistant shows
            # an issue with a fix flow by its title alone).
            translation_key="goe_token_refused",
            data={"entry_id": self.config_entry.entry_id, "subentry_id": self.subentry_id},
        )

    async def async_new_token(self, token: str) -> None:
        """Take the charger's new grid token: read with it (budget allowing), resume commands."""
        self.client = self.client.with_token(token)
        if self.token_refused:
            self.token_refused = False
            ir.async_delete_issue(self.hass, DOMAIN, self.token_issue_id)
            await self.async_refresh()
        self.writer.schedule()

    async def async_remove(self) -> None:
        """Stop for good (the user deleted the charger): its waiting commands are dropped.

        Its budget stays (saved by serial): adding the charger again buys no request.
        """
        self.queue.drop()
        await self.async_stop()

    async def async_stop(self) -> None:
        """Cancel the timers and save the queue."""
        self.writer.cancel()
        if self._unsub_read is not None:
            self._unsub_read()
        self._unsub_read = None
        await self.budget.async_save()

    # Reading

    async def _async_update_data(self) -> GoeData:
        if self._unsub_read is not None:
            self._unsub_read()
            self._unsub_read = None
        if self.token_refused:
            # A read with the refused token would only spend the charger's budget.
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="goe_token_refused")
        sends_before = self._sends
        now = _now()
        bucket = self.budget.status
        if not await self.budget.async_take_read(now):
            retry_at = bucket.next_available(now)
            self._schedule_read(retry_at)
            if (fallback := self.data or self._cached_data()) is not None:
                LOGGER.debug(
                    "go-e %s: status budget used up, next read at %s", self.serial, _utc(retry_at)
                )
                return fallback
            raise read_failure(OverBudgetError(retry_at), retry_after=retry_at - now)
        self._last_read = now
        try:
            # Only a read that verifies a command asks the cloud to ping the charger.
            status = await self.client.status(wait=bool(self.queue.awaiting))
        except RateLimitedError as err:
            await self.budget.async_rate_limited(_now())
            LOGGER.warning(
                "go-e %s: the cloud answered 'rate limiting'; the next status read waits for a new slot",
                self.serial,
            )
            if (fallback := self.data or self._cached_data()) is not None:
                return fallback
            now = _now()
            raise read_failure(
                err, retry_after=self.budget.status.next_available(now) - now
            ) from err
        except NotSentError as err:
            # No connection was made: go-e never saw the read, so its budget is whole again.
            await self.budget.async_give_back_read(_now())
            raise read_failure(err) from err
        except AuthenticationError as err:
            self._async_token_refused()
            raise UpdateFailed(
                translation_domain=DOMAIN, translation_key="goe_token_refused"
            ) from err
        except EvChargeControlError as err:
            raise read_failure(err) from err
        return await self._async_accept(status, _now(), sends_before=sends_before)

    def _track_energy(self, status: GoeStatus) -> None:
        total = status.kwh_total
        if total is None:
            return
        if self.energy_total is not None and total < self.energy_total:
            # A lower lifetime total is a glitch, not a new meter: the energy dashboard
            # would count a "reset" twice.
            LOGGER.debug(
                "go-e %s: ignoring kwh_total %s below %s", self.serial, total, self.energy_total
            )
            return
        self.energy_total = total

    async def _async_accept(
        self, status: GoeStatus, fetched_at: float, *, sends_before: int | None = None
    ) -> GoeData:
        """Take a new status: remember it and verify the commands it can speak for.

        ``sends_before``: the commands sent when the read left (None: the status is a
        command's own answer, which shows the charger after the command).
        """
        data = GoeData(status, fetched_at)
        self.budget.remember(status, fetched_at)
        self._track_energy(status)
        if sends_before is None:
            verified = self.writer.verify(status.value_of, float("inf"))
        else:
            # A command that went out while the read was on its way may have reached the
            # cloud after the status was made, even when the status looks newer than the
            # command: the next read verifies it.
            before = [p for p in self.queue.awaiting if self._send_number.get(p, 0) <= sends_before]
            verified = self.writer.verify(status.value_of, data.data_time, before)
        if verified:
            # Saved at once, not only when Home Assistant stops: after a crash a command must
            # not come back as still to be checked (reported twice, or sent again).
            await self.budget.async_save()
        return data

    def _schedule_read(self, at: float) -> None:
        """Read once at ``at`` (the regular interval restarts from there)."""
        if self._unsub_read is not None:
            self._unsub_read()

        self._unsub_read = self.async_run_at(
            _utc(at), self.async_refresh, f"{DOMAIN} go-e {self.serial} read"
        )

    # Commands

    def shown(self, parameter: str) -> int | None:
        """Return what the charger has, as the newest status shows it.

        Not the request: a command may wait up to 15 minutes for its slot, and the charger
        keeps charging at what it has meanwhile; the Pending command sensor shows the wait.
        """
        return self.data.status.value_of(parameter) if self.data else None

    async def async_set(self, parameter: str, value: int) -> None:
        """Ask for a value: it goes out at once when the slot is free, else in the next slot."""
        await self.writer.async_request(parameter, value, self.shown(parameter))

    # The writer's hooks

    async def async_send_command(self, sent: SentCommand[int]) -> None:
        """Send one command; its status answer (when the cloud waited for one) verifies it."""
        self._sends += 1
        self._send_number[sent.parameter] = self._sends
        answer = await self.client.command(sent.parameter, sent.value)
        if answer is not None:
            self.async_set_updated_data(await self._async_accept(answer, _now()))
        else:
            self._schedule_verification(sent.sent_at)

    async def async_save_queue(self) -> None:
        """Save the charger's budget, its queue with it."""
        await self.budget.async_save()

    def send_failed(self, sent: SentCommand[int], err: Exception) -> NotSent | Refusal:
        """Drop a command the cloud refuses; the rest waits for the next slot.

        A refused token asks the user for a new one.
        """
        if isinstance(err, CommandRefusedError):
            command = self.describe_command(sent.parameter, sent.value)
            LOGGER.error(
                "go-e %s: the cloud refused %s; it is not sent again: %s", self.serial, command, err
            )
            return Refusal(
                CommandResult.REFUSED, "write_refused", {"command": command, "error": str(err)}
            )
        if isinstance(err, AuthenticationError):
            LOGGER.warning("go-e %s: the grid token was refused; the command waits", self.serial)
            self._async_token_refused()
            return NotSent()
        LOGGER.warning(
            "go-e %s: %s=%s %s; it waits for the next slot",
            self.serial,
            sent.parameter,
            sent.value,
            "answered 'rate limiting'"
            if isinstance(err, RateLimitedError)
            else f"was not delivered ({err})",
        )
        return NotSent(rate_limited=isinstance(err, RateLimitedError))

    def writes_blocked(self) -> bool:
        """Send nothing with a refused token: the commands wait for the new one."""
        return self.token_refused

    def result_value(self, value: int) -> ResultValue:
        """Return a command value as the result event carries it."""
        return ResultValue(value)

    def pending_details(self, parameter: str, value: int) -> dict[str, object]:
        """Return a waiting command's value: a current in A, charging allowed as on or off."""
        if parameter == PARAMETER_ALLOW:
            return {"value": STATE_ON if value else STATE_OFF}
        return {"value": f"{value} {UnitOfElectricCurrent.AMPERE}"}

    def command_verified(self, result: Verification[int]) -> None:
        """Show a repair while the charger keeps refusing a command; clear it once applied."""
        command = result.command
        repair = issue_id("command_failed", self.config_entry, self.subentry_id, command.parameter)
        if result.applied:
            ir.async_delete_issue(self.hass, DOMAIN, repair)
        elif result.gave_up:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                repair,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="command_failed",
                translation_placeholders={
                    "device_url": device_url(self.hass, self.config_entry, self.unique_id_prefix),
                    "parameter": command.parameter,
                    "value": str(command.value),
                    "attempts": str(command.attempt),
                    "actual": str(result.actual),
                },
            )

    def _schedule_verification(self, sent_at: float) -> None:
        """Read soon after a command with a spare token, else let the regular read verify.

        Only a token that is there already is spent: waiting for the next one to refill
        would pull every later read forward and, over a day, read more often than the
        regular 15-minute cadence.
        """
        at = sent_at + VERIFY_DELAY
        regular = (self._last_read or sent_at) + STATUS_INTERVAL.total_seconds()
        if at < regular and self.budget.status.available(at):
            self._schedule_read(at)
