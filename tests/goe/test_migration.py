"""From version 1 (an entry per go-e charger) to version 2 (an entry per API address).

What must survive the update: the entity ids (and so history, dashboards and automations),
the devices, each charger's request budget and its waiting commands.
"""

from __future__ import annotations

import time

from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import CONF_BASE_URL, CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.issues import issue_id
from custom_components.ev_charge_control.vendors.goe.budget import (
    PARAMETER_CURRENT,
    async_get_goe_budget,
)
from custom_components.ev_charge_control.vendors.goe.const import (
    CONF_GRID_TOKEN,
    CONF_SERIAL,
    DEFAULT_TITLE,
    SUBENTRY_CHARGER,
    VENDOR_GOE,
)
from simulators.goe import GoeSimulator
from tests.conftest import secret
from tests.goe.fixtures import GOE_OTHER_TOKEN, GOE_SERIAL, GOE_TOKEN, goe_v1_entry

SECOND = "000124"
THIRD = "000125"
ELSEWHERE = "000126"
THIRD_TOKEN = secret("Th1rdT0kenTh1rdT0kenTh1rdT0ken33")
ELSEWHERE_TOKEN = secret("E1sewhereT0kenE1sewhereT0kenE1se")


def _register(
    hass: HomeAssistant, entry: MockConfigEntry, serial: str, entity_id: str
) -> tuple[str, str]:
    """Register a version-1 charger's device and its power sensor as version 1 left them."""
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, f"goe_{serial}")},
        manufacturer="go-e",
        name=f"go-eCharger {serial}",
    )
    entity = er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        f"goe_{serial}_power",
        config_entry=entry,
        device_id=device.id,
        suggested_object_id=entity_id.split(".")[1],
    )
    assert entity.entity_id == entity_id
    return device.id, entity.entity_id


async def test_chargers_at_one_address_become_subentries_of_one_entry(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Three version-1 entries at one address merge; one at another address stays apart.

    Entity and device ids stay, a disabled entry's charger stays disabled, the budgets and the
    waiting command stay (no read at set-up the budget does not allow), old issues go.
    """
    goe_sim.add_charger(SECOND, GOE_OTHER_TOKEN, car_connected=False)
    goe_sim.add_charger(THIRD, THIRD_TOKEN, car_connected=False)
    elsewhere_sim = GoeSimulator(latency_scale=0)
    elsewhere_sim.add_charger(ELSEWHERE, ELSEWHERE_TOKEN, car_connected=False)
    await elsewhere_sim.start()
    try:
        url = goe_sim.base_url
        first = goe_v1_entry(url, GOE_SERIAL, GOE_TOKEN, title="Garage")  # the user's name
        second = goe_v1_entry(url, SECOND, GOE_OTHER_TOKEN)
        third = goe_v1_entry(url, THIRD, THIRD_TOKEN, disabled_by=ConfigEntryDisabler.USER)
        other = goe_v1_entry(elsewhere_sim.base_url, ELSEWHERE, ELSEWHERE_TOKEN)
        for entry in (third, first, second, other):
            entry.add_to_hass(hass)
        devices = {
            GOE_SERIAL: _register(hass, first, GOE_SERIAL, "sensor.garage_power"),
            SECOND: _register(hass, second, SECOND, "sensor.go_echarger_000124_power"),
            THIRD: _register(hass, third, THIRD, "sensor.go_echarger_000125_power"),
        }
        # Version 1 left an issue under its ids, a spent budget and a waiting command.
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"goe_{SECOND}_set_current_failed",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="command_failed",
        )
        now = time.time()
        budget = await async_get_goe_budget(hass, SECOND)
        while budget.status.try_take(now):
            pass
        assert budget.commands.request(PARAMETER_CURRENT, 10, now, None)
        await budget.async_save()

        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()

        entries = hass.config_entries.async_entries(DOMAIN)
        assert [e.entry_id for e in entries] == [first.entry_id, other.entry_id]
        assert {e.version for e in entries} == {2}
        assert first.title == DEFAULT_TITLE
        assert first.unique_id is None
        assert dict(first.data) == {CONF_VENDOR: VENDOR_GOE, CONF_BASE_URL: url}
        chargers = {s.unique_id: s for s in first.subentries.values()}
        assert set(chargers) == {GOE_SERIAL, SECOND, THIRD}
        assert {s.subentry_type for s in chargers.values()} == {SUBENTRY_CHARGER}
        assert chargers[GOE_SERIAL].title == "Garage"
        assert dict(chargers[SECOND].data) == {
            CONF_SERIAL: SECOND,
            CONF_GRID_TOKEN: GOE_OTHER_TOKEN,
        }
        assert [s.unique_id for s in other.subentries.values()] == [ELSEWHERE]

        device_registry = dr.async_get(hass)
        entity_registry = er.async_get(hass)
        for serial, (device_id, entity_id) in devices.items():
            subentry_id = chargers[serial].subentry_id
            device = device_registry.async_get(device_id)
            assert device is not None
            assert (device.config_entry_id, device.config_subentry_id) == (
                first.entry_id,
                subentry_id,
            )
            entity = entity_registry.async_get(entity_id)
            assert entity is not None
            assert (entity.config_entry_id, entity.config_subentry_id) == (
                first.entry_id,
                subentry_id,
            )
        # The charger of the disabled entry stays off; the others run.
        third_device = device_registry.async_get(devices[THIRD][0])
        assert third_device is not None
        assert third_device.disabled_by is dr.DeviceEntryDisabler.USER
        assert first.state is ConfigEntryState.LOADED
        assert hass.states.get("sensor.garage_power") is not None
        assert hass.states.get("sensor.garage_power").state == "11040"

        # The spent budget and the waiting command are the charger's still: no read yet, the
        # command shown as pending; the issue under the old id is gone.
        assert goe_sim.status_requests(SECOND) == []
        pending = hass.states.get("sensor.go_echarger_000124_pending_command")
        assert pending is not None
        assert pending.state == PARAMETER_CURRENT
        assert (
            ir.async_get(hass).async_get_issue(DOMAIN, f"goe_{SECOND}_set_current_failed") is None
        )
        assert (
            ir.async_get(hass).async_get_issue(
                DOMAIN, issue_id("command_failed", first, chargers[SECOND].subentry_id)
            )
            is None
        )
    finally:
        await elsewhere_sim.stop()


async def test_disabled_entries_only_stay_disabled_and_keep_their_entities(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """Every entry at an address disabled: the merged entry is disabled, nothing is lost."""
    url = goe_sim.base_url
    first = goe_v1_entry(url, GOE_SERIAL, GOE_TOKEN, disabled_by=ConfigEntryDisabler.USER)
    second = goe_v1_entry(url, SECOND, GOE_OTHER_TOKEN, disabled_by=ConfigEntryDisabler.USER)
    for entry in (first, second):
        entry.add_to_hass(hass)
    ids = {
        GOE_SERIAL: _register(hass, first, GOE_SERIAL, "sensor.go_echarger_000123_power"),
        SECOND: _register(hass, second, SECOND, "sensor.go_echarger_000124_power"),
    }

    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()

    (merged,) = hass.config_entries.async_entries(DOMAIN)
    assert merged.entry_id == first.entry_id
    assert merged.disabled_by is ConfigEntryDisabler.USER
    assert {s.unique_id for s in merged.subentries.values()} == {GOE_SERIAL, SECOND}
    for device_id, entity_id in ids.values():
        device = dr.async_get(hass).async_get(device_id)
        entity = er.async_get(hass).async_get(entity_id)
        assert device is not None
        assert entity is not None
        assert device.config_entry_id == entity.config_entry_id == merged.entry_id
    assert goe_sim.status_requests() == []


async def test_a_version_1_entry_added_later_is_migrated_alone(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """An entry of version 1 set up after the integration (a restored backup): one subentry."""
    assert await async_setup_component(hass, DOMAIN, {})
    entry = goe_v1_entry(goe_sim.base_url, GOE_SERIAL, GOE_TOKEN)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.version == 2
    assert [s.unique_id for s in entry.subentries.values()] == [GOE_SERIAL]
    assert entry.state is ConfigEntryState.LOADED


async def test_an_entry_of_a_later_version_is_not_touched(
    hass: HomeAssistant, goe_sim: GoeSimulator
) -> None:
    """An entry a newer release wrote fails to set up instead of being misread."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        version=3,
        data={CONF_VENDOR: VENDOR_GOE, CONF_BASE_URL: goe_sim.base_url},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert goe_sim.status_requests() == []
