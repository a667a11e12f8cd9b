"""Deleting a device from its page: allowed once its vendor no longer reports it, refused before."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.config import device_registry as config_device_registry
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendors.easee.const import VENDOR_EASEE
from simulators.viriciti import ViricitiSimulator
from tests.clock import freeze_at
from tests.conftest import find_device, setup_entry, travel
from tests.easee.conftest import EASEE_PASSWORD, EASEE_USERNAME, USER_ID, running_account
from tests.goe import fixtures as goe_fixtures
from tests.goe.fixtures import GOE_SERIAL
from tests.viriciti.conftest import GROUP, build_groups, make_entry

START = "2026-11-21 12:00:00+00:00"
REJECTED = "rejected by integration"
STATION = f"viriciti_{GROUP}_CS-02"
STATION_SENSOR = "sensor.depot_north_cs_02_connector_1_limit"

goe_sim = goe_fixtures.goe_sim
goe_entry = goe_fixtures.goe_entry
init_goe = goe_fixtures.init_goe


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> None:
    """Freeze time before Home Assistant starts."""
    freeze_at(request, START)


@pytest.fixture
async def viriciti_sim(socket_enabled: None) -> AsyncGenerator[ViricitiSimulator]:
    """Start a ViriCiti simulator with the test groups."""
    sim = ViricitiSimulator(latency_scale=0, min_post_interval=300)
    build_groups(sim)
    await sim.start()
    yield sim
    await sim.stop()


type Connect = Callable[[], Awaitable[MockHAClientWebSocket]]


@pytest.fixture
async def ws(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_access_token: str
) -> Connect:
    """Return how to connect as the frontend does, with a fresh token (time travels)."""
    assert await async_setup_component(hass, "config", {})
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None

    async def connect() -> MockHAClientWebSocket:
        return await hass_ws_client(hass, hass.auth.async_create_access_token(refresh_token))

    return connect


async def delete(
    hass: HomeAssistant,
    connect: Connect,
    entry: MockConfigEntry,
    device: dr.DeviceEntry | None,
) -> dict[str, Any]:
    """Delete a device as its page's 'Delete' button does; return the answer."""
    assert device is not None
    client = await connect()
    if hasattr(config_device_registry, "websocket_remove_device"):
        # Home Assistant 2026.10 names the command config/device_registry/remove.
        message: dict[str, Any] = {"type": "config/device_registry/remove"}
    else:
        message = {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry.entry_id,
        }
    await client.send_json_auto_id({**message, "device_id": device.id})
    answer: dict[str, Any] = await client.receive_json()
    await hass.async_block_till_done()
    return answer


def refused(answer: dict[str, Any]) -> bool:
    """Tell whether the integration refused the deletion (not Home Assistant for another reason)."""
    return not answer["success"] and REJECTED in answer["error"]["message"]


async def test_viriciti_a_station_is_deleted_only_once_the_samples_leave_it_out(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ws: Connect,
    viriciti_sim: ViricitiSimulator,
) -> None:
    """The group and a listed station stay; one the newest sample leaves out may go (and come back)."""
    entry = await setup_entry(hass, make_entry(viriciti_sim))
    for identifier in (f"viriciti_{GROUP}", f"viriciti_{GROUP}_CS-01", STATION):
        assert refused(await delete(hass, ws, entry, find_device(hass, identifier)))
        assert find_device(hass, identifier) is not None

    viriciti_sim.remove_station(GROUP, "CS-02")
    await travel(hass, freezer, timedelta(minutes=5, seconds=30), step=timedelta(seconds=30))
    answer = await delete(hass, ws, entry, find_device(hass, STATION))
    assert answer["success"], answer
    assert find_device(hass, STATION) is None
    assert hass.states.get(STATION_SENSOR) is None
    assert find_device(hass, f"viriciti_{GROUP}_CS-01") is not None

    # Deleted by hand, the station is forgotten: back in the samples, it is added again.
    viriciti_sim.add_station(GROUP, "CS-02", [50])
    await travel(hass, freezer, timedelta(minutes=5, seconds=30), step=timedelta(seconds=30))
    assert find_device(hass, STATION) is not None
    assert hass.states.get(STATION_SENSOR).state == "50.0"


async def test_viriciti_a_station_of_an_earlier_run_may_be_deleted_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    ws: Connect,
    viriciti_sim: ViricitiSimulator,
) -> None:
    """A station that left while Home Assistant was stopped need not wait a day to be deleted."""
    entry = await setup_entry(hass, make_entry(viriciti_sim))
    assert await hass.config_entries.async_unload(entry.entry_id)
    viriciti_sim.remove_station(GROUP, "CS-02")
    await travel(hass, freezer, timedelta(hours=2))
    # Not loaded, the entry cannot tell: it refuses.
    assert refused(await delete(hass, ws, entry, find_device(hass, STATION)))

    await setup_entry(hass, entry)
    answer = await delete(hass, ws, entry, find_device(hass, STATION))
    assert answer["success"], answer
    assert find_device(hass, STATION) is None


async def test_easee_a_device_the_account_no_longer_holds_may_be_deleted(
    hass: HomeAssistant,
    ws: Connect,
    device_registry: dr.DeviceRegistry,
    socket_enabled: None,
) -> None:
    """Chargers, circuits and sites of the account stay; a device the account lost may go."""
    async with running_account() as sim:
        entry = await setup_entry(
            hass,
            MockConfigEntry(
                domain=DOMAIN,
                title=f"Easee {EASEE_USERNAME}",
                unique_id=str(USER_ID),
                data={
                    CONF_VENDOR: VENDOR_EASEE,
                    CONF_USERNAME: EASEE_USERNAME,
                    CONF_PASSWORD: EASEE_PASSWORD,
                    CONF_BASE_URL: sim.base_url,
                },
            ),
        )
        for identifier in ("easee_EH000001", "easee_circuit_11", "easee_site_1"):
            assert refused(await delete(hass, ws, entry, find_device(hass, identifier)))
            assert find_device(hass, identifier) is not None

        # A charger the account no longer holds (left by an older version of the integration).
        device_registry.async_get_or_create(
            config_entry_id=entry.entry_id, identifiers={(DOMAIN, "easee_EH999999")}
        )
        answer = await delete(hass, ws, entry, find_device(hass, "easee_EH999999"))
        assert answer["success"], answer
        assert find_device(hass, "easee_EH999999") is None
        assert find_device(hass, "easee_EH000001") is not None
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_goe_the_charger_is_the_entry_and_is_never_deleted_alone(
    hass: HomeAssistant, ws: Connect, init_goe: MockConfigEntry
) -> None:
    """A go-e entry is one charger: deleting its device means deleting the entry."""
    device = find_device(hass, f"goe_{GOE_SERIAL}")
    assert refused(await delete(hass, ws, init_goe, device))
    assert find_device(hass, f"goe_{GOE_SERIAL}") is not None
