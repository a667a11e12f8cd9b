"""The diagnostics file a user downloads, whole: Home Assistant's part and the repair issues too."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
import json
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator


async def download_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    user: MockUser,
    entry: MockConfigEntry,
) -> dict[str, Any]:
    """Return the whole file "Download diagnostics" of an entry gives ``user``, not only our part.

    Home Assistant adds the integration's repair issues to it (``issues``), unredacted: the
    test plugin's ``get_diagnostics_for_config_entry`` leaves them out. The user logs in anew:
    a token from the test's start has run out in a test that travelled half an hour.
    """
    assert await async_setup_component(hass, "diagnostics", {})
    refresh_token = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    client = await hass_client(hass.auth.async_create_access_token(refresh_token))
    response = await client.get(f"/api/diagnostics/config_entry/{entry.entry_id}")
    assert response.status == HTTPStatus.OK
    dump: dict[str, Any] = await response.json()
    return dump


def leaked(value: object, secrets: Iterable[str | int]) -> set[str]:
    """Return the secrets anywhere in ``value`` written as JSON.

    A number only counts standing alone: a timestamp or a duration may hold its digits by chance.
    """
    text = json.dumps(value)
    found: set[str] = set()
    for secret in map(str, secrets):
        pattern = rf"(?<![\d.]){re.escape(secret)}(?!\d)" if secret.isdigit() else re.escape(secret)
        if re.search(pattern, text):
            found.add(secret)
    return found


def issue_ids(dump: dict[str, Any]) -> list[str]:
    """Return the ids of the repair issues in a dump (Home Assistant adds only ours)."""
    return [issue["issue_id"] for issue in dump["issues"]]
