"""The vendor registry: one line per vendor; the core iterates it and names no vendor."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from homeassistant.config_entries import ConfigEntry, ConfigFlow
from homeassistant.exceptions import ConfigEntryError

from ..const import CONF_VENDOR, DOMAIN
from ..vendor import Vendor
from .easee import EASEE
from .goe import GOE
from .viriciti import VIRICITI

VENDORS: Final[Mapping[str, Vendor]] = MappingProxyType(
    {vendor.key: vendor for vendor in (GOE, EASEE, VIRICITI)}
)

if TYPE_CHECKING:
    VendorFlows = ConfigFlow
else:
    # One class holding every vendor's steps (each vendor's flow is a ConfigFlow mixin).
    VendorFlows = type("VendorFlows", tuple(vendor.flow for vendor in VENDORS.values()), {})


def vendor_of(entry: ConfigEntry) -> Vendor:
    """Return the vendor of an entry; an entry of a vendor we do not know raises."""
    key = entry.data.get(CONF_VENDOR)
    if (vendor := VENDORS.get(str(key))) is None:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="unknown_vendor",
            translation_placeholders={"vendor": str(key)},
        )
    return vendor
