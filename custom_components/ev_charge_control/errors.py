"""What a coordinator raises when a read fails: every vendor's client errors, translated once."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .api.errors import (
    AccountBlockedError,
    AuthenticationError,
    ChargerUnreachableError,
    EvChargeControlError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from .budget import OverBudgetError
from .const import DOMAIN

# Home Assistant reads again right away after a retry_after of 0: never sooner than this.
MIN_RETRY_AFTER = 1.0


def _time(timestamp: float) -> str:
    return dt_util.utc_from_timestamp(timestamp).isoformat(timespec="seconds")


def _retry_after(
    err: EvChargeControlError | OverBudgetError,
    retry_after: float | None,
    interval: timedelta | None,
) -> float | None:
    if not isinstance(err, RateLimitedError | OverBudgetError):
        return None
    if retry_after is None and interval is not None and isinstance(err, RateLimitedError):
        # Only a coordinator that polls by itself has a next read for Retry-After to put off.
        retry_after = err.retry_after
    if retry_after is None:
        return None
    return max(retry_after, MIN_RETRY_AFTER if interval is None else interval.total_seconds())


def read_failure(
    err: EvChargeControlError | OverBudgetError,
    *,
    retry_after: float | None = None,
    interval: timedelta | None = None,
    blocked_until: float | None = None,
    not_found_key: str | None = None,
) -> ConfigEntryAuthFailed | UpdateFailed:
    """Return what a coordinator raises for a failed read; the vendor's side effects come first.

    ``retry_after``: seconds until the vendor's own budget lets the next read go (a wait or a
    rate limit). ``interval``: the coordinator's own polling interval; a rate limit's
    Retry-After then puts the next read off, and no retry comes sooner than the interval.
    ``blocked_until``: when a ban the vendor recorded ends (``AccountBlockedError``; without
    it a ban is a rate limit). ``not_found_key``: the translation naming what the vendor no
    longer knows (without it, ``NotFoundError`` is an API error like any other).
    """
    retry = _retry_after(err, retry_after, interval)
    if isinstance(err, OverBudgetError):
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="waiting_for_budget",
            translation_placeholders={"time": _time(err.retry_at)},
            retry_after=retry,
        )
    if isinstance(err, AuthenticationError):
        return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth")
    if isinstance(err, AccountBlockedError) and blocked_until is not None:
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="account_blocked",
            translation_placeholders={"time": _time(blocked_until)},
            retry_after=retry,
        )
    if isinstance(err, RateLimitedError):
        return UpdateFailed(
            translation_domain=DOMAIN, translation_key="rate_limited", retry_after=retry
        )
    if isinstance(err, NotFoundError) and not_found_key is not None:
        return UpdateFailed(translation_domain=DOMAIN, translation_key=not_found_key)
    if isinstance(err, PermissionDeniedError):
        # That one resource is not the account's to read: the rest goes on.
        return UpdateFailed(
            translation_domain=DOMAIN,
            translation_key="access_refused",
            translation_placeholders={"error": str(err)},
        )
    if isinstance(err, ChargerUnreachableError):
        return UpdateFailed(translation_domain=DOMAIN, translation_key="charger_unreachable")
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="api_error",
        translation_placeholders={"error": str(err)},
    )


def not_ready(failure: HomeAssistantError) -> ConfigEntryNotReady:
    """Return the set-up's ConfigEntryNotReady that says what ``failure`` says."""
    return ConfigEntryNotReady(
        translation_domain=failure.translation_domain,
        translation_key=failure.translation_key,
        translation_placeholders=failure.translation_placeholders,
    )
