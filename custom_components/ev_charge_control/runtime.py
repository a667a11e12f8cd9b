"""What a config entry keeps at run time, whatever its vendor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import EvChargeCoordinator
from .entity import EvChargeEntity, EvChargeEntityDescription

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


type EvChargeConfigEntry = ConfigEntry[VendorRuntime]
