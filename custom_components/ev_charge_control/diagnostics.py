"""Diagnostics for a config entry, redacted by one rule for every vendor.

The rule:

1. Redacted by key (``TO_REDACT`` in ``const.py``, the shared list, and the keys each vendor
   adds in its registry entry, ``Vendor.redact``): credentials (passwords,
   tokens, API keys); who the customer is (user names, user and account ids, entry and group
   titles, which are named after the account, the group or the serial); what the device is
   (serials, charger and station ids, back plates, ViriCiti group ids). Every key that names an
   identifier, ``id`` or ending in ``_id`` or ``_ids``, is redacted too, listed or not: an id
   hidden as a site's ``id`` is the same id as a circuit's ``site_id``.
2. Redacted by value: every string anywhere in the dump that is, or holds, a value redacted by
   key — a go-e entry titled after its serial, a client's repr naming it, an Easee charger never
   renamed and so named by its serial. Numbers, and strings shorter than four characters (a
   site's ``1``), only redact an equal string: a timestamp may hold a user id's digits by chance.
3. Everything else stays: states, settings, counts, budgets, timestamps, queues, names the user
   gave, base URLs — what a support person reads a dump for.

Every value comes out JSON-plain first: instants, dates and clock times as ISO text,
enums as their value, dataclasses as dicts, anything else (a duration too) as its text,
which rule 2 then reads.

A vendor's runtime only hands over its data (``VendorRuntime.diagnostics``); it redacts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, time
from enum import Enum
from typing import Any, Final, cast

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from .const import TO_REDACT
from .runtime import EvChargeConfigEntry
from .vendors import vendor_of

_MIN_CONTAINED: Final = 4


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: EvChargeConfigEntry
) -> dict[str, Any]:
    """Return the entry's configuration and its vendor's state, redacted by the rule above."""
    data: dict[str, Any] = _plain(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
                "subentries": [
                    {
                        "subentry_type": subentry.subentry_type,
                        "title": subentry.title,
                        "data": dict(subentry.data),
                    }
                    for subentry in entry.subentries.values()
                ],
            },
            "runtime": entry.runtime_data.diagnostics(),
        }
    )
    keys = _Keys(TO_REDACT | vendor_of(entry).redact)
    return _scrub(async_redact_data(data, keys), _Secrets.of(data, keys))


def _plain(value: object) -> Any:
    """Return ``value`` as JSON holds it: dicts with text keys, lists, text, numbers, null."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return _plain(value.value)
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    # datetime is a date.
    if isinstance(value, date | time):
        return value.isoformat()
    # A duration as Python writes it ("1:00:00"), anything else as its text.
    return str(value)


@dataclass(frozen=True, slots=True)
class _Keys:
    """The keys whose values are redacted: those listed, and every key naming an identifier."""

    listed: frozenset[str]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (
            key in self.listed or key == "id" or key.endswith(("_id", "_ids"))
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.listed)


@dataclass(frozen=True, slots=True)
class _Secrets:
    """The values redacted by key: strings redact a string holding them, numbers an equal one."""

    texts: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def of(cls, value: object, keys: _Keys) -> _Secrets:
        """Return every non-empty string or number kept under one of the keys."""
        texts: set[str] = set()
        numbers: set[str] = set()

        def walk(item: object, redacted: bool) -> None:
            if isinstance(item, Mapping):
                for key, child in item.items():
                    walk(child, redacted or key in keys)
            elif isinstance(item, list):
                for child in item:
                    walk(child, redacted)
            elif not redacted or isinstance(item, bool):
                return
            elif isinstance(item, str) and item.strip():
                texts.add(item.strip())
            elif isinstance(item, int):
                numbers.add(str(item))

        walk(value, False)
        return cls(frozenset(texts), frozenset(numbers))

    def held_by(self, value: str) -> bool:
        """Return whether ``value`` is, or holds, a redacted value."""
        text = value.strip()
        return (
            text in self.texts
            or text in self.numbers
            or any(len(secret) >= _MIN_CONTAINED and secret in text for secret in self.texts)
        )


def _scrub[T](value: T, secrets: _Secrets) -> T:
    """Redact every string that is, or holds, one of the redacted values."""
    if isinstance(value, dict):
        return cast(T, {key: _scrub(item, secrets) for key, item in value.items()})
    if isinstance(value, list):
        return cast(T, [_scrub(item, secrets) for item in value])
    if isinstance(value, str) and value != REDACTED and secrets.held_by(value):
        return cast(T, REDACTED)
    return value
