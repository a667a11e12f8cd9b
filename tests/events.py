"""What every vendor's command-result events must hold, checked the same way for each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeassistant.core import Event

FIELDS = frozenset(
    {"device_id", "parameter", "requested", "result", "actual", "attempt", "will_retry"}
)
# A request that ends (ViriCiti's limits) carries both, never one alone.
END_FIELDS = frozenset({"end_time", "actual_end_time"})
RESULTS = frozenset({"applied", "failed", "refused", "offline", "expired"})


def assert_command_results(events: Sequence[Event[Any]]) -> None:
    """Fail unless each event has every field of the one schema and a documented result."""
    assert events, "no command result was fired"
    for event in events:
        data = event.data
        assert set(data) in (FIELDS, FIELDS | END_FIELDS), sorted(data)
        assert type(data["result"]) is str
        assert data["result"] in RESULTS
        assert isinstance(data["device_id"], str)
        assert isinstance(data["parameter"], str)
        assert type(data["attempt"]) is int
        assert data["attempt"] >= 1
        assert type(data["will_retry"]) is bool
        for value in (data["requested"], data["actual"]):
            assert not isinstance(value, tuple)  # JSON has lists, and so do automations
        if data["result"] in {"refused", "offline", "expired"}:
            # Nothing was read back, and nothing goes out again.
            assert data["actual"] is None
            assert data["will_retry"] is False
