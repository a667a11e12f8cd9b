"""The exception tree shared by every vendor client."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
import math


class EvChargeControlError(Exception):
    """Base of every error a vendor client raises."""


class AuthenticationError(EvChargeControlError):
    """The credentials (token, password, API key) were refused."""


class RateLimitedError(EvChargeControlError):
    """The vendor refused the request because of its rate limit."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChargerUnreachableError(EvChargeControlError):
    """The vendor cloud answered, but could not reach the charger."""


class ApiError(EvChargeControlError):
    """Any other failure: an unexpected answer, HTTP error, timeout or lost connection."""


class NotSentError(ApiError):
    """The request never reached the vendor: no connection was made.

    A failed name lookup or a refused connection: the vendor's budget does not count it.
    """


class AnswerLostError(ApiError):
    """The request went out but its answer never came (a timeout, a dropped connection).

    The vendor may have acted on it: only a later read tells.
    """


class ChargerOfflineError(ChargerUnreachableError):
    """The vendor knows the charger is offline and passes nothing on (Easee: errorCode 410)."""


class CommandRefusedError(ApiError):
    """The charger itself refused the command: sending it again gets the same answer."""

    def __init__(self, message: str, result_code: int | str | None = None) -> None:
        super().__init__(message)
        self.result_code = result_code


class AccountBlockedError(RateLimitedError):
    """The vendor blocked us for a long time (Easee: an IP ban of about 24 h, in any form)."""


class PermissionDeniedError(ApiError):
    """The vendor refused this one request: the account may not see or change that resource."""


class NotFoundError(ApiError):
    """The vendor does not know the charger, site or circuit asked for."""


class ExternalLimitsNotAllowedError(ApiError):
    """The vendor refused an external limit: the group is not configured to accept one."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Read a Retry-After header as delay seconds or as an HTTP date; None when unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds: float | None = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except TypeError, ValueError:
        return None
    if when.tzinfo is None:  # "-0000": UTC with no source time zone
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)
