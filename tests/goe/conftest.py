"""go-e tests run on a frozen clock that starts before Home Assistant does."""

from __future__ import annotations

import pytest

from tests.clock import freeze_at
from tests.goe import fixtures

START = "2026-11-21 12:00:00+00:00"

goe_sim = fixtures.goe_sim
goe_entry = fixtures.goe_entry
init_goe = fixtures.init_goe


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time for every test (the client tests too), before any timer is scheduled."""
    freeze_at(request, START, hass_only=False)
