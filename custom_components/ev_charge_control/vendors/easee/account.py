"""The request budget of one Easee account: a 5-minute window, back-offs and flash writes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
import time
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from ... import issues
from ...api.easee import RequestKind
from ...budget import OverBudgetError, SlidingWindow
from ...const import DOMAIN, LOGGER

# Integrations that polled every 30 s on several endpoints were blocked. We stay far below:
# all requests of an account together at most 100 per 5 minutes, and reads leave the last
# 20 of them to writes (and logins), so a command never waits behind polling.
WINDOW_LIMIT: Final = 100
WINDOW_SECONDS: Final = 300.0
READ_RESERVE: Final = 20
# When the cloud says "429" without a usable Retry-After.
DEFAULT_RETRY_AFTER: Final = 60.0
# Easee bans an IP for 24 hours (a 403 "Too many requests", a bare 403 "Forbidden", a 429
# "blocked for 24 hours from the last request"); a request during the ban restarts it.
BLOCK_SECONDS: Final = 24 * 3600.0
# maxChargerCurrent (and the circuit's max and offline limits) live in flash.
FLASH_INTERVAL: Final = 3600.0

STORE_VERSION: Final = 1
SAVE_DELAY: Final = 1.0
DATA_EASEE_ACCOUNTS: HassKey[dict[str, EaseeAccount]] = HassKey(f"{DOMAIN}_easee_accounts")
# Until when a config flow's login was refused with a rate limit (Easee limits by IP).
DATA_EASEE_FLOW_PAUSE: HassKey[float] = HassKey(f"{DOMAIN}_easee_flow_pause")


def _now() -> float:
    return time.time()


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


class EaseeAccount:
    """Everything about one Easee account that must outlive a reload or a restart.

    The request window, a back-off the cloud asked for, a block, when each flash setting was
    last written, waiting writes and the limits the user wants kept. Saved with ``Store``.
    """

    def __init__(self, hass: HomeAssistant, account_id: str) -> None:
        self.hass = hass
        self.account_id = account_id
        self.window = SlidingWindow(WINDOW_LIMIT, WINDOW_SECONDS)
        self.backoff_until: float | None = None
        self.blocked_until: float | None = None
        self.flash_written: dict[str, float] = {}
        self.queues: dict[str, Mapping[str, object]] = {}
        self.kept: dict[str, dict[str, Any]] = {}
        # The last chargers/sites read, so a restart within 6 hours needs no structure read.
        self.structure: dict[str, Any] = {}
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.easee_{account_id}"
        )
        self._lock = asyncio.Lock()
        self._loaded = False

    @property
    def issue_id(self) -> str | None:
        """Return the id of the repair issue shown while the account is blocked.

        Made from the id of the account's config entry, not from the account (a user id or an
        e-mail address). None while the account has no entry (a config flow's login).
        """
        entry = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, self.account_id)
        return None if entry is None else issues.issue_id("easee_blocked", entry)

    async def async_ensure_loaded(self) -> None:
        """Load the saved state once."""
        async with self._lock:
            if self._loaded:
                return
            data = await self._store.async_load() or {}
            now = _now()
            if isinstance(window := data.get("window"), Mapping):
                self.window.restore(window, now)
            self.backoff_until = _number(data.get("backoff_until"))
            self.blocked_until = _number(data.get("blocked_until"))
            # Older versions also saved "one_off_plans": Easee ends those plans itself now.
            for name, target in (("flash_written", self.flash_written),):
                if isinstance(saved := data.get(name), Mapping):
                    target.update(
                        {str(k): v for k, raw in saved.items() if (v := _number(raw)) is not None}
                    )
            if isinstance(queues := data.get("queues"), Mapping):
                self.queues = {str(k): v for k, v in queues.items() if isinstance(v, Mapping)}
            if isinstance(structure := data.get("structure"), Mapping):
                self.structure = dict(structure)
            if isinstance(kept := data.get("kept"), Mapping):
                self.kept = {str(k): dict(v) for k, v in kept.items() if isinstance(v, Mapping)}
            self._loaded = True
            if self.blocked_until is not None and self.blocked_until > now:
                # The repair issue is not kept across a restart; the ban and its silence are.
                self._async_show_blocked_issue()

    def as_dict(self) -> dict[str, Any]:
        """Return the saved form."""
        return {
            "window": self.window.as_dict(),
            "backoff_until": self.backoff_until,
            "blocked_until": self.blocked_until,
            "flash_written": self.flash_written,
            "queues": self.queues,
            "kept": self.kept,
            "structure": self.structure,
        }

    @callback
    def async_schedule_save(self) -> None:
        """Save soon: many requests in a row cost one write to disk."""
        self._store.async_delay_save(self.as_dict, SAVE_DELAY)

    async def async_save(self) -> None:
        """Save now."""
        await self._store.async_save(self.as_dict())

    # The gate every request of the account passes.

    def pause_until(self, now: float) -> float | None:
        """Return when a block or a back-off ends, None when neither holds now."""
        ends = [end for end in (self.blocked_until, self.backoff_until) if end and end > now]
        return max(ends) if ends else None

    def can_read(self, now: float, count: int = 1) -> bool:
        """Tell whether ``count`` reads may go out now, one after the other."""
        return self.pause_until(now) is None and self.window.available(
            now, READ_RESERVE + count - 1
        )

    def next_read(self, now: float) -> float:
        """Return when the next read may go out."""
        return max(self.pause_until(now) or now, self.window.next_available(now, READ_RESERVE))

    def gate(self, kind: RequestKind) -> Callable[[], None]:
        """Count a request that is about to go out, or refuse it with OverBudgetError.

        Return what gives the request's place in the window back when it never reached
        Easee (no connection was made): that one place, no other.
        """
        now = _now()
        if self.blocked_until is not None and now < self.blocked_until:
            raise OverBudgetError(self.blocked_until, blocked=True)
        if self.backoff_until is not None and now < self.backoff_until:
            raise OverBudgetError(self.backoff_until)
        reserve = READ_RESERVE if kind == "read" else 0
        if (taken := self.window.take(now, reserve)) is None:
            raise OverBudgetError(self.window.next_available(now, reserve))
        self.async_schedule_save()

        def never_left() -> None:
            self.window.give_back(taken)
            self.async_schedule_save()

        return never_left

    @callback
    def async_record(self, sent: Iterable[float]) -> None:
        """Count requests that went out before the account was known (a config flow's login)."""
        for moment in sent:
            self.window.record(moment)
        self.async_schedule_save()

    @callback
    def async_rate_limited(self, retry_after: float | None) -> float:
        """Pause every request of the account as the cloud asked; return when it ends."""
        until = _now() + (retry_after if retry_after and retry_after > 0 else DEFAULT_RETRY_AFTER)
        self.backoff_until = max(self.backoff_until or 0.0, until)
        LOGGER.warning(
            "Easee answered 'too many requests'; every request of this account waits until %s",
            dt_util.utc_from_timestamp(self.backoff_until).isoformat(timespec="seconds"),
        )
        self.async_schedule_save()
        return self.backoff_until

    @callback
    def async_blocked(self) -> float:
        """Stop all traffic for a day after Easee blocked us, and tell the user."""
        now = _now()
        started = self.blocked_until is None or self.blocked_until <= now
        # Each answer of a ban counts from then: a request that was already on its way when the
        # ban began restarts the 24 hours.
        self.blocked_until = max(self.blocked_until or 0.0, now + BLOCK_SECONDS)
        if started:
            LOGGER.error(
                "Easee blocked requests from this Home Assistant; "
                "no request of this account goes out before %s",
                dt_util.utc_from_timestamp(self.blocked_until).isoformat(timespec="seconds"),
            )
        self._async_show_blocked_issue()
        self.async_schedule_save()
        return self.blocked_until

    @callback
    def _async_show_blocked_issue(self) -> None:
        if self.blocked_until is None or (repair := self.issue_id) is None:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            repair,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="easee_blocked",
            translation_placeholders={
                "until": dt_util.as_local(dt_util.utc_from_timestamp(self.blocked_until)).strftime(
                    "%Y-%m-%d %H:%M"
                )
            },
        )

    @callback
    def async_request_succeeded(self) -> None:
        """Forget a block that ran out once a request went through again."""
        if self.blocked_until is not None and self.blocked_until <= _now():
            self.blocked_until = None
            if (repair := self.issue_id) is not None:
                ir.async_delete_issue(self.hass, DOMAIN, repair)
            self.async_schedule_save()

    # Flash

    def flash_ready_at(self, key: str) -> float:
        """Return when the flash setting ``key`` may be written again."""
        written = self.flash_written.get(key)
        return 0.0 if written is None else written + FLASH_INTERVAL

    @callback
    def async_flash_written(self, key: str, now: float) -> None:
        """Note a flash write."""
        self.flash_written[key] = now
        self.async_schedule_save()


async def async_get_easee_account(hass: HomeAssistant, account_id: str) -> EaseeAccount:
    """Return the one budget of an account, loading it on first use."""
    accounts = hass.data.setdefault(DATA_EASEE_ACCOUNTS, {})
    if (account := accounts.get(account_id)) is None:
        account = accounts[account_id] = EaseeAccount(hass, account_id)
    await account.async_ensure_loaded()
    return account


def easee_pause_until(hass: HomeAssistant, now: float) -> float | None:
    """Return when Easee takes requests from this Home Assistant again (None: it does now).

    Easee limits by IP, so a back-off or block of any account (or of a config flow's login)
    holds for a login of any other too.
    """
    ends = [
        end
        for account in hass.data.get(DATA_EASEE_ACCOUNTS, {}).values()
        if (end := account.pause_until(now)) is not None
    ]
    if (flow := hass.data.get(DATA_EASEE_FLOW_PAUSE)) is not None and flow > now:
        ends.append(flow)
    return max(ends) if ends else None


@callback
def async_note_easee_pause(hass: HomeAssistant, until: float) -> None:
    """Remember that a config flow's login was refused with a rate limit until ``until``."""
    hass.data[DATA_EASEE_FLOW_PAUSE] = max(hass.data.get(DATA_EASEE_FLOW_PAUSE, 0.0), until)


@callback
def async_note_easee_ban(hass: HomeAssistant) -> float:
    """Remember that a config flow's login met a ban; return when it ends.

    Easee bans the IP, so every account of this Home Assistant goes silent (and says so) too.
    """
    until = _now() + BLOCK_SECONDS
    async_note_easee_pause(hass, until)
    for account in hass.data.get(DATA_EASEE_ACCOUNTS, {}).values():
        account.async_blocked()
    return until
