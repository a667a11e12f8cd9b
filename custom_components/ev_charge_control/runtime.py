"""What a config entry keeps at run time, whatever its vendor."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform

from .entity import EvChargeCoordinator, EvChargeEntityDescription

type EntitySpec = tuple[EvChargeCoordinator[Any], EvChargeEntityDescription]


class VendorRuntime(ABC):
    """The running side of one config entry: coordinators, budgets and descriptions."""

    platforms: tuple[Platform, ...]

    @abstractmethod
    def entity_specs(self, platform: Platform) -> Iterable[EntitySpec]:
        """Return the (coordinator, description) pairs that become entities of a platform."""

    @abstractmethod
    async def async_start(self) -> None:
        """Fetch (or restore) the first data; raise ConfigEntryAuthFailed on bad credentials."""

    @abstractmethod
    async def async_stop(self) -> None:
        """Cancel timers and save what must survive the unload."""

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Return the vendor's state for a diagnostics dump (redacted by the caller)."""


type EvChargeConfigEntry = ConfigEntry[VendorRuntime]
