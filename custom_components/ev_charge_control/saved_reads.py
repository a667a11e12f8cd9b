"""Reads kept in a file between starts, written seldom: at stop, at an unload, or hourly."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
import datetime as dt
import types
from typing import Any, Final, TypeAliasType, Union, get_args, get_origin, get_type_hints

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

# A read is written an hour after it at the latest; Home Assistant's final write (a restart,
# which unloads no entry) writes it before that.
READ_SAVE_DELAY: Final = 3600.0
STORE_VERSION: Final = 1


def dump(value: object) -> object:
    """Return a read's dataclass (or any part of it) in a form JSON can hold."""
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: dump(getattr(value, field.name)) for field in fields(value)}
    if isinstance(value, dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [dump(item) for item in value]
    return value


def load[T](kind: type[T], raw: object) -> T:
    """Build a dataclass back from what ``dump`` made; ValueError or TypeError: it does not fit."""
    value = _load(kind, raw)
    if not isinstance(value, kind):
        raise TypeError(kind.__name__)
    return value


def _load(kind: Any, raw: object) -> object:
    if isinstance(kind, TypeAliasType):
        return _load(kind.__value__, raw)
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        for option in get_args(kind):
            try:
                return _load(option, raw)
            except (ValueError, TypeError, KeyError) as err:
                last: Exception = err
        raise ValueError(str(kind)) from last
    if kind is type(None):
        if raw is not None:
            raise ValueError("not None")
        return None
    if isinstance(kind, type) and is_dataclass(kind):
        if not isinstance(raw, Mapping):
            raise ValueError(kind.__name__)
        hints = get_type_hints(kind)
        return kind(**{f.name: _load(hints[f.name], raw[f.name]) for f in fields(kind) if f.init})
    if origin is tuple:
        args = get_args(kind)
        if not isinstance(raw, list):
            raise ValueError("not a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], item) for item in raw)
        return tuple(_load(arg, item) for arg, item in zip(args, raw, strict=True))
    return _load_plain(kind, raw)


def _load_plain(kind: object, raw: object) -> object:
    if kind is dt.datetime and isinstance(raw, str):
        return dt.datetime.fromisoformat(raw)
    if kind is dt.time and isinstance(raw, str):
        return dt.time.fromisoformat(raw)
    if kind is bool and isinstance(raw, bool):
        return raw
    if kind is int and type(raw) is int:
        return raw
    if kind is float and isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if kind is str and isinstance(raw, str):
        return raw
    raise ValueError(f"{raw!r} is no {kind}")


async def async_remove_saved_reads(hass: HomeAssistant, key: str) -> None:
    """Delete a file of saved reads (its entry was deleted)."""
    await Store[dict[str, Any]](hass, STORE_VERSION, key).async_remove()


class SavedReads:
    """The newest slow reads of one entry, with their times, in a file of their own.

    What is written is collected when the file is written (``collect``), not at each read: a
    read only asks for a write within the hour, so a poller reading every minute costs no
    write to disk, and Home Assistant's final write keeps what was shown last. Kept with
    where it came from (``source``): after a move to another account or API nothing of the
    old one is shown.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        key: str,
        source: str,
        collect: Callable[[], dict[str, Any]],
    ) -> None:
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, key)
        self._source = source
        self._collect = collect
        self._write_asked = False
        self._loaded = False
        # What the file held at the start: {key: what was saved under it}.
        self.saved: dict[str, Any] = {}

    async def async_load(self) -> None:
        """Load what the last start saved, if it came from the same source."""
        data = await self._store.async_load() or {}
        reads = data.get("reads")
        if data.get("source") == self._source and isinstance(reads, Mapping):
            self.saved = {str(key): value for key, value in reads.items()}
        self._loaded = True

    @callback
    def async_read_done(self) -> None:
        """Note a read: the file is written within the hour (or at stop), once for many."""
        if self._write_asked or not self._loaded:
            return
        self._write_asked = True
        self._store.async_delay_save(self._data, READ_SAVE_DELAY)

    def _data(self) -> dict[str, Any]:
        self._write_asked = False
        return {"source": self._source, "reads": self._collect()}

    async def async_save(self) -> None:
        """Write now (the entry unloads); not before the file was loaded (nothing is known)."""
        if self._loaded:
            await self._store.async_save(self._data())
