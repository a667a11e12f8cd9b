"""What a config entry keeps at run time, whatever its vendor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import callback

from .coordinator import EvChargeCoordinator
from .entity import EvChargeEntityDescription

type EntitySpec = tuple[EvChargeCoordinator[Any], EvChargeEntityDescription[Any]]
type AddSpecs = Callable[[Iterable[EntitySpec]], None]


class VendorRuntime(ABC):
    """The running side of one config entry: coordinators, budgets and descriptions."""

    platforms: tuple[Platform, ...]

    # The options the runtime was built with (a change of options reloads the entry).
    options: dict[str, Any]

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self._adders: dict[Platform, AddSpecs] = {}
        self.options = dict(options or {})

    @callback
    def async_register_platform(self, platform: Platform, add: AddSpecs) -> None:
        """Add a platform's entities now, and keep its callback for devices found later."""
        self._adders[platform] = add
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

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Return the vendor's state for a diagnostics dump (redacted by the caller)."""


type EvChargeConfigEntry = ConfigEntry[VendorRuntime]
