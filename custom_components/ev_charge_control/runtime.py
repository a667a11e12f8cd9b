"""What a config entry keeps at run time, whatever its vendor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvChargeCoordinator
from .entity import EvChargeEntity, EvChargeEntityDescription
from .issues import async_delete_entry_issues

type EntitySpec = tuple[EvChargeCoordinator[Any], EvChargeEntityDescription[Any]]
type EntityClass = Callable[[EvChargeCoordinator[Any], Any], EvChargeEntity]


@dataclass(frozen=True, slots=True)
class _Adder:
    """How a platform adds entities: its callback, and the entity class of its descriptions."""

    add_entities: AddConfigEntryEntitiesCallback
    entity_class: EntityClass
    description_class: type[EvChargeEntityDescription[Any]]

    def __call__(self, specs: Iterable[EntitySpec]) -> None:
        """Add the entities of the platform's descriptions, each with its device's subentry."""
        by_subentry: dict[str | None, list[EvChargeEntity]] = {}
        for coordinator, description in specs:
            if isinstance(description, self.description_class):
                entities = by_subentry.setdefault(coordinator.subentry_id, [])
                entities.append(self.entity_class(coordinator, description))
        for subentry_id, entities in by_subentry.items():
            self.add_entities(entities, config_subentry_id=subentry_id)


class VendorRuntime(ABC):
    """The running side of one config entry: coordinators, budgets and descriptions."""

    platforms: tuple[Platform, ...]

    # True: the entry holds its chargers (or groups) as subentries, added and removed while it
    # runs; every change of the entry reaches ``async_entry_updated`` (no reload).
    follows_subentries: bool = False

    # The options the runtime was built with (a change of options reloads the entry).
    options: dict[str, Any]

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self._adders: dict[Platform, _Adder] = {}
        self.options = dict(options or {})

    @callback
    def async_register_platform(
        self,
        platform: Platform,
        add_entities: AddConfigEntryEntitiesCallback,
        entity_class: EntityClass,
        description_class: type[EvChargeEntityDescription[Any]],
    ) -> None:
        """Add a platform's entities now, and keep its callback for devices found later.

        ``entity_class`` is built for each of the platform's descriptions (the instances of
        ``description_class``); a device of a subentry gets its entities through the subentry.
        """
        add = self._adders[platform] = _Adder(add_entities, entity_class, description_class)
        add(self.entity_specs(platform))

    @callback
    def async_add_specs(self, platform: Platform, specs: Iterable[EntitySpec]) -> None:
        """Add entities of a device that appeared after set-up."""
        if (add := self._adders.get(platform)) is not None:
            add(specs)

    @abstractmethod
    def entity_specs(self, platform: Platform) -> Iterable[EntitySpec]:
        """Return the (coordinator, description) pairs that become entities of a platform."""

    @abstractmethod
    async def async_start(self) -> None:
        """Fetch (or restore) the first data; raise ConfigEntryAuthFailed on bad credentials."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Cancel timers and save what must survive the unload."""

    def device_is_current(self, identifiers: set[str]) -> bool:
        """Tell whether the vendor still reports the device with these identifiers (ours).

        False lets the user delete the device. By default every device is current: a vendor
        that cannot tell a gone device from one it merely did not read refuses every deletion.
        """
        return True

    @callback  # noqa: B027 (optional: a vendor that keeps nothing of a gone device)
    def async_forget_device(self, identifiers: set[str]) -> None:
        """Forget a device the user deletes, so that it is added again should it come back."""

    async def async_entry_updated(self, entry: ConfigEntry[Any]) -> None:  # noqa: B027 (optional)
        """Follow a change of the entry's subentries (added, removed, changed) or data.

        Only called for a runtime that ``follows_subentries``: Home Assistant's update listener
        forbids the reload that options and reconfigure flows ask for otherwise.
        """

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Return the vendor's state for a diagnostics dump (redacted by the caller)."""


class SubentryRuntime(VendorRuntime):
    """A runtime whose entry holds a subentry per charger (or group), followed while it runs.

    Subentries added, removed or changed reach ``async_entry_updated`` (one call per change,
    as concurrent tasks: a bulk add is a thousand of them). Each change is claimed before the
    first await, so nothing is started twice; a change of the entry's own data (its address
    or key reaches every subentry) sets the entry up again.
    """

    follows_subentries = True
    # The type of the subentries the runtime runs (others are left alone).
    subentry_type: str

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        super().__init__()
        self._hass = hass
        self._entry = entry
        self._data = dict(entry.data)
        # By subentry id: the subentry's data its runtime part was built or last updated with.
        self._built_from: dict[str, Mapping[str, Any]] = {}

    def subentries(self, entry: ConfigEntry[Any]) -> dict[str, ConfigSubentry]:
        """Return the entry's subentries of the runtime's type, by id."""
        return {
            subentry_id: subentry
            for subentry_id, subentry in entry.subentries.items()
            if subentry.subentry_type == self.subentry_type
        }

    def claim(self, subentry: ConfigSubentry) -> None:
        """Note that ``subentry``, as it is now, is built (at the start)."""
        self._built_from[subentry.subentry_id] = subentry.data

    def is_current(self, subentry_id: str) -> bool:
        """Tell whether the subentry is still there (not removed while something awaited)."""
        return subentry_id in self._built_from

    def built_from(self, subentry_id: str) -> Mapping[str, Any]:
        """Return the subentry's newest data (a change while it started comes after)."""
        return self._built_from[subentry_id]

    async def async_entry_updated(self, entry: ConfigEntry[Any]) -> None:
        """Start the subentries added, stop the removed, hand changes to the changed."""
        if dict(entry.data) != self._data:
            self._hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        current = self.subentries(entry)
        for subentry_id in [s for s in self._built_from if s not in current]:
            # Home Assistant has removed its devices and entities already.
            del self._built_from[subentry_id]
            async_delete_entry_issues(self._hass, entry, subentry_id)
            await self.async_subentry_removed(subentry_id)
        for subentry_id, subentry in current.items():
            before = self._built_from.get(subentry_id)
            if before is subentry.data:
                continue
            self._built_from[subentry_id] = subentry.data
            if before is None:
                await self.async_subentry_added(subentry)
            else:
                await self.async_subentry_changed(subentry, before)

    @abstractmethod
    async def async_subentry_added(self, subentry: ConfigSubentry) -> None:
        """Build and start what runs the subentry; add its entities."""

    @abstractmethod
    async def async_subentry_removed(self, subentry_id: str) -> None:
        """Stop for good what ran the subentry (if it got as far as running)."""

    @abstractmethod
    async def async_subentry_changed(
        self, subentry: ConfigSubentry, before: Mapping[str, Any]
    ) -> None:
        """Take the subentry's new data (``before``: what it ran with)."""


type EvChargeConfigEntry = ConfigEntry[VendorRuntime]
