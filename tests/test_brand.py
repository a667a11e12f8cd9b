"""Home Assistant serves the integration's brand images from its brand/ folder.

Home Assistant 2026.3 and newer serve a custom integration's brand/ folder at
/api/brands/integration/<domain>/<image>, ahead of the brands CDN; without the folder the UI shows
a placeholder (and a broken image in the device picker). tests/scripts/test_brand.py checks the
images themselves.
"""

from __future__ import annotations

import importlib.util

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.ev_charge_control.const import DOMAIN
from scripts import brand

FOLDER = brand.BRAND
NAMES = (
    "icon.png",
    "dark_icon.png",
    "icon@2x.png",
    "dark_icon@2x.png",
    "logo.png",
    "dark_logo.png",
    "logo@2x.png",
    "dark_logo@2x.png",
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("homeassistant.components.brands") is None,
    reason="this Home Assistant has no brands integration (2026.3 added it): the UI takes "
    "images from the brands CDN only",
)


@pytest.mark.parametrize("name", NAMES)
async def test_home_assistant_serves_each_image_from_the_folder(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, name: str
) -> None:
    """Served from brand/, not a fallback and not the CDN (tests have no network)."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()

    response = await client.get(f"/api/brands/integration/{DOMAIN}/{name}")

    assert response.status == 200
    assert response.content_type == "image/png"
    assert await response.read() == (FOLDER / name).read_bytes()


async def test_the_frontend_fetches_the_icon_with_its_brands_token(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """An <img> sends no Authorization header: the frontend adds the token it asked for."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client_no_auth()
    url = f"/api/brands/integration/{DOMAIN}/icon.png"
    assert (await client.get(url)).status == 403

    websocket = await hass_ws_client(hass)
    await websocket.send_json_auto_id({"type": "brands/access_token"})
    answer = await websocket.receive_json()
    assert answer["success"]

    response = await client.get(url, params={"token": answer["result"]["token"]})

    assert response.status == 200
    assert await response.read() == (FOLDER / "icon.png").read_bytes()
