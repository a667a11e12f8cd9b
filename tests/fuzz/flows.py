"""What the fuzzed flows share: how a submission ended, and the checks of a form that came back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.data_entry_flow import FlowResultType
from hypothesis import event

from tests.flow import assert_form_translated


def outcome(result: Any) -> str:
    """Return how a submission ended, for hypothesis' statistics (--hypothesis-show-statistics)."""
    if result["type"] is FlowResultType.FORM:
        return f"form {sorted(result['errors'].values())}"
    return f"{result['type']} {result.get('reason', '')}".strip()


def refused_by_schema() -> None:
    """Note an input Home Assistant's own schema refused (shown at its field, flow not asked)."""
    event("refused by Home Assistant's schema")


def translated(result: Any, strings: dict[str, Any]) -> None:
    """Check what came back is translated, and note how the submission ended."""
    assert_form_translated(result, strings)
    event(outcome(result))


def check_form(result: Any, requests: int, sent: Callable[[], int]) -> None:
    """A form came back: with an error, never "unknown"; a refused field sent no request.

    An error on a field is the input's (the flow checks it before asking the vendor); an
    error on "base" is the vendor's answer. ``sent`` counts the requests at the simulator,
    ``requests`` is what it counted before the submission.
    """
    assert result["type"] is FlowResultType.FORM
    errors = set((result["errors"] or {}).values())
    assert errors, "a submitted form came back without an error"
    assert "unknown" not in errors, "the flow met an exception (see the log)"
    if set(result["errors"]) - {"base"}:
        assert sent() == requests, f"a request went out for {result['errors']!r}"
