"""Where a test's clock stands: frozen before Home Assistant starts, travelled, never slept."""

from __future__ import annotations

import pytest


def freeze_at(request: pytest.FixtureRequest, start: str, *, hass_only: bool = True) -> None:
    """Freeze the clock at ``start`` before any timer is scheduled.

    So travelling never fires a timer early. A test's own ``freeze_time`` marker says where
    instead; tests marked ``real_time`` keep the real clock (they measure a real timeout);
    with ``hass_only``, tests without Home Assistant (a client against a simulator) do too.
    """
    if request.node.get_closest_marker("real_time") is not None:
        return
    if hass_only and "hass" not in request.fixturenames:
        return
    marker = request.node.get_closest_marker("freeze_time")
    request.getfixturevalue("freezer").move_to(marker.args[0] if marker else start)
