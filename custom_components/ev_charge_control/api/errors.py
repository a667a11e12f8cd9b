"""The exception tree shared by every vendor client."""

from __future__ import annotations


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


class AccountBlockedError(RateLimitedError):
    """The vendor blocked us for a long time (Easee: 403 "Too many requests", about 24 h)."""


class NotFoundError(ApiError):
    """The vendor does not know the charger, site or circuit asked for."""


class ExternalLimitsNotAllowedError(ApiError):
    """The vendor refused an external limit: the group is not configured to accept one."""
