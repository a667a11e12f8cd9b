"""Easee's charge plan answers, as tests/fixtures/easee_charge_plans.json records them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

PLANS: Final[dict[str, Any]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "easee_charge_plans.json").read_text(encoding="utf-8")
)
BASIC_DAILY: Final[dict[str, Any]] = PLANS["basic_daily"]
BASIC_ONE_OFF: Final[dict[str, Any]] = PLANS["basic_one_off"]
BASIC_START_ONLY: Final[dict[str, Any]] = PLANS["basic_start_only"]
WEEKLY: Final[dict[str, Any]] = PLANS["weekly"]
NOT_FOUND: Final[dict[str, Any]] = PLANS["not_found"]
