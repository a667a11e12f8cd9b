"""The one read-error translator: every client error becomes the message a user sees."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest

from custom_components.ev_charge_control.api import errors
from custom_components.ev_charge_control.api.errors import (
    AccountBlockedError,
    AnswerLostError,
    ApiError,
    AuthenticationError,
    ChargerOfflineError,
    ChargerUnreachableError,
    CommandRefusedError,
    EvChargeControlError,
    ExternalLimitsNotAllowedError,
    NotFoundError,
    NotSentError,
    PermissionDeniedError,
    RateLimitedError,
)
from custom_components.ev_charge_control.budget import OverBudgetError
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.errors import not_ready, read_failure

INTEGRATION = Path(__file__).parents[1] / "custom_components" / DOMAIN
# 2027-01-15 08:00:00 UTC and a fraction: a time placeholder shows whole seconds.
AT = 1_800_000_000.75
AT_TEXT = "2027-01-15T08:00:00+00:00"
FIVE_MINUTES = timedelta(minutes=5)

CASES = [
    pytest.param(
        AuthenticationError("refused"), {}, "invalid_auth", None, None, id="authentication"
    ),
    pytest.param(RateLimitedError("slow"), {}, "rate_limited", None, None, id="rate_limited"),
    pytest.param(
        RateLimitedError("slow", retry_after=30),
        {},
        "rate_limited",
        None,
        None,
        id="rate_limited_retry_after_without_interval",
    ),
    pytest.param(
        RateLimitedError("slow", retry_after=30),
        {"interval": FIVE_MINUTES},
        "rate_limited",
        None,
        300.0,
        id="rate_limited_never_sooner_than_the_interval",
    ),
    pytest.param(
        RateLimitedError("slow", retry_after=900),
        {"interval": FIVE_MINUTES},
        "rate_limited",
        None,
        900.0,
        id="rate_limited_waits_for_retry_after",
    ),
    pytest.param(
        RateLimitedError("slow"),
        {"interval": FIVE_MINUTES},
        "rate_limited",
        None,
        None,
        id="rate_limited_no_retry_after_with_interval",
    ),
    pytest.param(
        RateLimitedError("slow", retry_after=5),
        {"retry_after": 120.0},
        "rate_limited",
        None,
        120.0,
        id="rate_limited_the_budget_says_when",
    ),
    pytest.param(
        RateLimitedError("slow"),
        {"retry_after": 0.2},
        "rate_limited",
        None,
        1.0,
        id="rate_limited_at_least_a_second",
    ),
    pytest.param(
        AccountBlockedError("banned"),
        {"blocked_until": AT},
        "account_blocked",
        {"time": AT_TEXT},
        None,
        id="account_blocked",
    ),
    pytest.param(
        AccountBlockedError("banned"),
        {},
        "rate_limited",
        None,
        None,
        id="account_blocked_without_an_end_is_a_rate_limit",
    ),
    pytest.param(
        NotFoundError("gone"),
        {"not_found_key": "not_found"},
        "not_found",
        None,
        None,
        id="not_found",
    ),
    pytest.param(
        NotFoundError("gone"),
        {"not_found_key": "group_not_found", "interval": FIVE_MINUTES},
        "group_not_found",
        None,
        None,
        id="group_not_found",
    ),
    pytest.param(
        NotFoundError("gone"),
        {},
        "api_error",
        {"error": "gone"},
        None,
        id="not_found_without_a_key",
    ),
    pytest.param(
        PermissionDeniedError("not yours"),
        {},
        "access_refused",
        {"error": "not yours"},
        None,
        id="permission_denied",
    ),
    pytest.param(
        ChargerUnreachableError("no answer"),
        {},
        "charger_unreachable",
        None,
        None,
        id="charger_unreachable",
    ),
    pytest.param(
        ChargerOfflineError("offline"),
        {},
        "charger_unreachable",
        None,
        None,
        id="charger_offline",
    ),
    pytest.param(
        ApiError("HTTP 500"),
        {"interval": FIVE_MINUTES},
        "api_error",
        {"error": "HTTP 500"},
        None,
        id="api_error",
    ),
    pytest.param(
        NotSentError("no connection"),
        {},
        "api_error",
        {"error": "no connection"},
        None,
        id="not_sent",
    ),
    pytest.param(
        AnswerLostError("no answer in time"),
        {},
        "api_error",
        {"error": "no answer in time"},
        None,
        id="answer_lost",
    ),
    pytest.param(
        CommandRefusedError("refused", 3),
        {},
        "api_error",
        {"error": "refused"},
        None,
        id="command_refused",
    ),
    pytest.param(
        ExternalLimitsNotAllowedError("no"),
        {},
        "api_error",
        {"error": "no"},
        None,
        id="external_limits_not_allowed",
    ),
    pytest.param(
        EvChargeControlError("odd"),
        {},
        "api_error",
        {"error": "odd"},
        None,
        id="any_other_client_error",
    ),
    pytest.param(
        OverBudgetError(AT),
        {},
        "waiting_for_budget",
        {"time": AT_TEXT},
        None,
        id="over_budget",
    ),
    pytest.param(
        OverBudgetError(AT, blocked=True),
        {"retry_after": 42.0},
        "waiting_for_budget",
        {"time": AT_TEXT},
        42.0,
        id="over_budget_retry_after",
    ),
    pytest.param(
        OverBudgetError(AT),
        {"retry_after": 0.0},
        "waiting_for_budget",
        {"time": AT_TEXT},
        1.0,
        id="over_budget_at_least_a_second",
    ),
]


def _exceptions(path: Path) -> dict[str, Any]:
    exceptions: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["exceptions"]
    return exceptions


STRINGS = _exceptions(INTEGRATION / "strings.json")
ENGLISH = _exceptions(INTEGRATION / "translations" / "en.json")


@pytest.mark.parametrize(("err", "context", "key", "placeholders", "retry_after"), CASES)
def test_read_failure(
    err: EvChargeControlError | OverBudgetError,
    context: dict[str, Any],
    key: str,
    placeholders: dict[str, str] | None,
    retry_after: float | None,
) -> None:
    """Each client error reads as its own message, with the wait Home Assistant honours."""
    failure = read_failure(err, **context)

    expected = ConfigEntryAuthFailed if key == "invalid_auth" else UpdateFailed
    assert type(failure) is expected
    assert failure.translation_domain == DOMAIN
    assert failure.translation_key == key
    assert failure.translation_placeholders == placeholders
    assert getattr(failure, "retry_after", None) == retry_after
    # The message the user reads exists, in both files, and names exactly these placeholders.
    for exceptions in (STRINGS, ENGLISH):
        message = exceptions[key]["message"]
        assert set(re.findall(r"{(\w+)}", message)) == set(placeholders or {})


def test_every_client_error_is_translated() -> None:
    """A new error in the client's tree fails here until its message is decided."""
    tested = {type(case.values[0]) for case in CASES}
    tree: set[type[EvChargeControlError]] = set()
    todo: list[type[EvChargeControlError]] = [EvChargeControlError]
    while todo:
        kind = todo.pop()
        tree.add(kind)
        todo.extend(kind.__subclasses__())
    assert {kind for kind in tree if kind.__module__ == errors.__name__} <= tested
    assert OverBudgetError in tested


def test_a_set_up_says_what_the_read_said() -> None:
    """A failed first read keeps its translated message when the set-up is retried."""
    failure = read_failure(OverBudgetError(AT))
    setup = not_ready(failure)
    assert type(setup) is ConfigEntryNotReady
    assert setup.translation_domain == DOMAIN
    assert setup.translation_key == "waiting_for_budget"
    assert setup.translation_placeholders == {"time": AT_TEXT}
