"""Easee's ban answers and its per-resource 403, as tests/fixtures/easee_bans.json records them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry

ANSWERS: Final[dict[str, dict[str, Any]]] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "easee_bans.json").read_text(encoding="utf-8")
)
# Every form in which Easee bans an IP (their names are also the simulator's fault kinds).
BAN_FORMS: Final = ("blocked_403", "forbidden_403", "blocked_429")


def blocked_issue_id(entry: ConfigEntry) -> str:
    """Return the id of the repair issue an account's ban raises: its entry's, not the account's."""
    return f"easee_blocked_{entry.entry_id}"


def answer_body(form: str) -> object:
    """Return the body of an answer: its JSON, or its text as bytes."""
    answer = ANSWERS[form]
    return answer["json"] if "json" in answer else answer["text"].encode()
