"""Diagnostics for a config entry, with every secret redacted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import TO_REDACT
from .runtime import EvChargeConfigEntry

# Shorter redacted values (a site's "1") only redact an equal string, not every one holding them.
_MIN_CONTAINED: Final = 4


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvChargeConfigEntry
) -> dict[str, Any]:
    """Return the entry's configuration and its vendor's state."""
    data = {
        "entry": {
            "title": entry.title,
            "data": dict(entry.data),
            "options": dict(entry.options),
        },
        "runtime": entry.runtime_data.diagnostics(),
    }
    # A secret may also sit under a harmless key: a charger never renamed is named by its
    # serial. Every string that holds a redacted value is redacted too.
    secrets = _redacted_strings(data)
    return _scrub(async_redact_data(data, TO_REDACT), secrets)


def _redacted_strings(value: object) -> frozenset[str]:
    """Return every non-empty string kept under a key of TO_REDACT."""
    found: set[str] = set()

    def walk(item: object, redacted: bool) -> None:
        if isinstance(item, Mapping):
            for key, child in item.items():
                walk(child, redacted or key in TO_REDACT)
        elif isinstance(item, list | tuple | set | frozenset):
            for child in item:
                walk(child, redacted)
        elif redacted and isinstance(item, str) and item.strip():
            found.add(item.strip())

    walk(value, False)
    return frozenset(found)


def _scrub[T](value: T, secrets: frozenset[str]) -> T:
    """Redact every string that is, or holds, one of the secrets."""
    if isinstance(value, dict):
        return cast(T, {key: _scrub(item, secrets) for key, item in value.items()})
    if isinstance(value, list):
        return cast(T, [_scrub(item, secrets) for item in value])
    if isinstance(value, str) and value != REDACTED and _holds_secret(value, secrets):
        return cast(T, REDACTED)
    return value


def _holds_secret(value: str, secrets: frozenset[str]) -> bool:
    text = value.strip()
    return text in secrets or any(
        len(secret) >= _MIN_CONTAINED and secret in text for secret in secrets
    )
