"""What the fuzzed flows share: how a submission ended, and the checks of a form that came back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from homeassistant.data_entry_flow import FlowResultType, InvalidData
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


class Flows(Protocol):
    """What the fuzzed flows are submitted through: a flow manager of any kind."""

    async def async_configure(self, flow_id: str, user_input: Any = None) -> Any:
        """Submit ``user_input`` to the flow."""

    def async_abort(self, flow_id: str) -> None:
        """Close the flow."""


async def submit(
    flows: Flows,
    flow_id: str,
    user_input: Any,
    strings: dict[str, Any],
    sent: Callable[[], int],
    unchanged: Callable[[], bool],
) -> Any | None:
    """Submit one form; return the result when it ended the flow, None when it came back.

    Input refused, by Home Assistant's schema or by the flow (with a translated error), sent
    no request the flow could have spared and changed nothing (``unchanged``); its flow is
    closed so that the next example starts afresh.
    """
    requests = sent()
    try:
        result = await flows.async_configure(flow_id, user_input)
    except InvalidData:
        refused_by_schema()
        assert sent() == requests, f"a request went out for {user_input!r}"
        assert unchanged()
        flows.async_abort(flow_id)
        return None
    translated(result, strings)
    if result["type"] is FlowResultType.FORM:
        check_form(result, requests, sent)
        assert unchanged()
        flows.async_abort(flow_id)
        return None
    return result
