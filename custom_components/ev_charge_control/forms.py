"""What every vendor's forms share: the selectors, the collapsed API address, the checks."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_address
import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import CONF_BASE_URL, HA_2026_9

if TYPE_CHECKING and HA_2026_9:
    # Home Assistant 2026.9 and newer validate with probatio, installed under voluptuous's
    # name at run time; its types are what their signatures ask for.
    import probatio as vol
else:
    import voluptuous as vol

PASSWORD: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL_FIELD: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
USERNAME: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
)

# A host name: dot-separated labels of letters, digits, hyphens (and underscores, which
# container and test networks use); an international name arrives here IDNA-encoded.
_HOST_NAME: Final = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?")

# The form section that holds the API address, collapsed: only for simulators and test systems.
ADVANCED: Final = "advanced"


def with_sections(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the form's values with the fields of its sections beside the others."""
    values: dict[str, Any] = {}
    for key, value in user_input.items():
        if isinstance(value, Mapping):
            values.update(value)
        else:
            values[key] = value
    return values


def advanced_section(base_url: str) -> dict[vol.Marker, Any]:
    """Return the collapsed section asking for the API address."""
    return {
        vol.Required(ADVANCED): section(
            vol.Schema({vol.Required(CONF_BASE_URL, default=base_url): URL_FIELD}),
            {"collapsed": True},
        )
    }


async def async_valid_time_zone(name: str) -> bool:
    """Tell whether a time zone exists (its data is loaded off the event loop).

    Home Assistant's lookup says "none" only for a name of no zone file; a name that is no
    relative path (``../x``, ``/etc/x``, a NUL) or is too long for a file name raises instead.
    """
    if not name:
        return False
    try:
        return await dt_util.async_get_time_zone(name) is not None
    except ValueError, OSError:
        return False


def _valid_host(host: str) -> bool:
    """Tell whether a URL's host (IDNA-encoded) is an IP address or a name a resolver takes."""
    try:
        ip_address(host)
    except ValueError:
        return _HOST_NAME.fullmatch(host) is not None
    return True


def valid_base_url(value: str) -> str | None:
    """Return the URL without a trailing slash, or None when it is no http(s) URL."""
    try:
        url = URL(value.strip())
        # yarl checks the port only when asked, and takes a host with spaces in it.
        if url.scheme not in ("http", "https") or not url.raw_host or url.port is None:
            return None
    except ValueError:
        return None
    if not _valid_host(url.raw_host):
        return None
    return str(url).rstrip("/")


def update_reason(reconfiguring: bool) -> str:
    """Return the abort reason that closes a successful reauth or reconfigure."""
    return "reconfigure_successful" if reconfiguring else "reauth_successful"
