"""Diagnostics of an Easee entry: the chargers, queues and budget, without secrets or serials."""

from __future__ import annotations

import json
import re

from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulators.easee import EaseeSimulator
from tests.conftest import setup_entry
from tests.easee.conftest import CHARGERS, EASEE_PASSWORD, EASEE_USERNAME, USER_ID

REDACTED = "**REDACTED**"


async def _set_max_current(hass: HomeAssistant, value: int) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: "number.garage_max_current", ATTR_VALUE: value},
        blocking=True,
    )


# Loading the diagnostics HTTP view imports hassio, whose models cannot be built under freezegun.
@pytest.mark.real_time
async def test_diagnostics_show_the_account_without_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    easee_sim: EaseeSimulator,
    init_easee: MockConfigEntry,
) -> None:
    """The dump shows states, queues and budget; no password, token, user name or user id."""
    # One flash write goes out and awaits confirmation; the next waits its hour in the queue.
    await _set_max_current(hass, 16)
    await _set_max_current(hass, 20)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_easee)
    text = json.dumps(diagnostics)

    secrets = easee_sim.issued_secrets()
    assert len(secrets) == 2  # the login's access and refresh token
    for secret in (*secrets, EASEE_PASSWORD, EASEE_USERNAME, EASEE_USERNAME.split("@")[0]):
        assert secret not in text
    # The user id as a value of its own (a timestamp may hold the same digits by chance).
    assert re.search(rf"(?<![\d.]){USER_ID}(?!\d)", text) is None
    assert diagnostics["entry"]["title"] == REDACTED
    assert diagnostics["entry"]["data"]["password"] == REDACTED
    assert diagnostics["entry"]["data"]["username"] == REDACTED

    runtime = diagnostics["runtime"]
    chargers = {charger["charger"]["name"]: charger for charger in runtime["chargers"]}
    assert sorted(chargers) == ["Carport", "Driveway", "Garage", "Office 1", "Office 2"]
    garage = chargers["Garage"]
    assert garage["charger"]["id"] == REDACTED
    assert garage["state"]["op_mode"] == 3
    assert garage["state"]["lifetime_energy"] == pytest.approx(1520.5, abs=0.1)
    assert garage["config"]["max_charger_current"] == 32
    assert garage["last_update_success"] is True
    queue = garage["queue"]
    assert [(c["parameter"], c["value"]) for c in queue["awaiting"]] == [
        ("max_charger_current", 16)
    ]
    assert [(c["parameter"], c["value"]) for c in queue["pending"]] == [("max_charger_current", 20)]
    assert chargers["Driveway"]["queue"] == {"last_sent": None, "pending": [], "awaiting": []}
    assert len(runtime["circuits"]) == 3
    assert all(circuit["settings"] is not None for circuit in runtime["circuits"])
    budget = runtime["budget"]
    # Every request so far (login, structure, reads, the write) counts in the window.
    assert budget["requests_in_window"] == len(easee_sim.requests)
    assert budget["backoff_until"] is None
    assert budget["blocked_until"] is None
    assert len(budget["flash_written"]) == 1
    assert runtime["options"]["state_interval"] == 60
    assert [site["name"] for site in runtime["sites"]] == ["Home", "Office"]


@pytest.mark.real_time
async def test_diagnostics_hold_no_charger_serial(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_easee: MockConfigEntry,
) -> None:
    """A serial identifies the charger (and its owner): none may be in a dump shared in public."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_easee)
    text = json.dumps(diagnostics)
    assert [serial for serial in CHARGERS if serial in text] == []
    assert "EH0000" not in text


@pytest.mark.real_time
async def test_diagnostics_hide_a_charger_named_by_its_serial(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    easee_sim: EaseeSimulator,
    easee_entry: MockConfigEntry,
) -> None:
    """A charger never renamed in the Easee app is named by its serial: that name is redacted."""
    easee_sim.add_charger("EH000006", 12, name="")
    await setup_entry(hass, easee_entry)
    assert easee_sim.charger("EH000006").name == "EH000006"  # what GET /api/chargers says

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, easee_entry)
    text = json.dumps(diagnostics)
    assert [serial for serial in (*CHARGERS, "EH000006") if serial in text] == []
    names = sorted(charger["charger"]["name"] for charger in diagnostics["runtime"]["chargers"])
    assert names == sorted(["Carport", "Driveway", "Garage", "Office 1", "Office 2", REDACTED])
