"""What the go-e flow tests share: the texts, starting and submitting the subentry flows."""

from __future__ import annotations

from collections.abc import Generator
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, SubentryFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.vendors.goe.const import SUBENTRY_CHARGER
from simulators.goe import GoeSimulator
from tests.flow import assert_form_translated, sections

ALL_STRINGS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json").read_text(
        encoding="utf-8"
    )
)
STRINGS: dict[str, Any] = ALL_STRINGS["config"]
CHARGER_STRINGS: dict[str, Any] = ALL_STRINGS["config_subentries"][SUBENTRY_CHARGER]
FIX_STRINGS: dict[str, Any] = ALL_STRINGS["issues"]["goe_token_refused"]["fix_flow"]


@pytest.fixture
def real_cloud() -> None:
    """Keep go-e's real address in the form (the test sends nothing there)."""


@pytest.fixture(autouse=True)
def goe_cloud(request: pytest.FixtureRequest, goe_sim: GoeSimulator) -> Generator[GoeSimulator]:
    """Make the simulator the go-e cloud a form offers when its advanced section is left alone."""
    if "real_cloud" in request.fixturenames:
        yield goe_sim
        return
    with patch(
        "custom_components.ev_charge_control.vendors.goe.flow.DEFAULT_BASE_URL", goe_sim.base_url
    ):
        yield goe_sim


def assert_error(result: Any, field: str, error: str) -> None:
    """Check the form came back with one error."""
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: error}


async def start_charger_flow(
    hass: HomeAssistant, entry: MockConfigEntry, option: str = "one"
) -> SubentryFlowResult:
    """Open the entry's "Add charger", pick ``option`` in its menu and return its empty form."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["one", "bulk"]
    assert_form_translated(result, CHARGER_STRINGS)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": option}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == option
    assert result["errors"] == {}
    assert_form_translated(result, CHARGER_STRINGS)
    return result


async def start_charger_reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str
) -> SubentryFlowResult:
    """Open a charger's Reconfigure and return its form."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert_form_translated(result, CHARGER_STRINGS)
    return result


async def submit_charger(
    hass: HomeAssistant, result: SubentryFlowResult, **user_input: Any
) -> SubentryFlowResult:
    """Submit a subentry form as the frontend does; what comes back must be translated."""
    for name, value in sections(result).items():
        user_input.setdefault(name, dict(value.schema({})))
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
    assert_form_translated(result, CHARGER_STRINGS)
    return result


def suggested_lines(result: SubentryFlowResult) -> str | None:
    """Return the list the bulk form shows filled in, from what the user sent."""
    for field in result["data_schema"].schema:
        if str(field) == "lines":
            return (field.description or {}).get("suggested_value")
    return None
