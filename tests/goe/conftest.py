"""go-e tests run on a frozen clock that starts before Home Assistant does."""

from __future__ import annotations

import pytest

START = "2026-11-21 12:00:00+00:00"


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time before any timer is scheduled, so travelling never fires one early.

    Tests marked ``real_time`` keep the real clock (they measure a real timeout).
    """
    if request.node.get_closest_marker("real_time") is None:
        request.getfixturevalue("freezer").move_to(START)
