"""The integration's HTTP session: it never sends a request twice on its own."""

from __future__ import annotations

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.loader import async_get_loaded_integration
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

DATA_SESSION: HassKey[aiohttp.ClientSession] = HassKey(f"{DOMAIN}_session")


@callback
def async_get_session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return the session shared by every vendor client (closed when Home Assistant stops)."""
    if (session := hass.data.get(DATA_SESSION)) is None:
        # Not tied to the config entry that happens to ask first: every entry shares it.
        session = async_create_clientsession(hass, auto_cleanup=False)

        @callback
        def _detach(_: Event) -> None:
            # Home Assistant closes the connector it lent; closing the session ourselves
            # would close that shared connector too.
            session.detach()

        hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, _detach)
        # aiohttp re-sends a GET once when the connection drops. go-e commands are GETs that
        # may have reached the cloud already: a second one inside the 15-minute slot would
        # break the vendor's limit, so a lost answer is an error and waits for the next slot.
        session._retry_connection = False  # noqa: SLF001
        hass.data[DATA_SESSION] = session
    return session


@callback
def async_user_agent(hass: HomeAssistant) -> str:
    """Return the User-Agent that names the integration and its version (from its manifest)."""
    return f"{DOMAIN}/{async_get_loaded_integration(hass, DOMAIN).version}"
