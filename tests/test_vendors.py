"""The vendor registry: every vendor brings its own steps, and the core names none of them."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
import re

from homeassistant.config_entries import ConfigFlow
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_charge_control import config_flow
from custom_components.ev_charge_control.config_flow import EvChargeConfigFlow
from custom_components.ev_charge_control.const import CONF_VENDOR, DOMAIN
from custom_components.ev_charge_control.vendor import Vendor
from custom_components.ev_charge_control.vendors import VENDORS, vendor_of

PACKAGE = Path(config_flow.__file__).parent
STRINGS = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
# The core: what a new vendor must not have to edit.
CORE = (
    "__init__.py",
    "config_flow.py",
    "services.py",
    "diagnostics.py",
    "const.py",
    "repairs.py",
    "migration.py",
)
CONFIG_STEPS = STRINGS["config"]["step"]


def _steps(flow: type[ConfigFlow]) -> set[str]:
    """Return the step ids a flow class defines itself (not those it inherits)."""
    return {
        name.removeprefix("async_step_")
        for name, _ in inspect.getmembers(flow, inspect.iscoroutinefunction)
        if name.startswith("async_step_") and name in vars(flow)
    }


def _code_words(path: Path) -> set[str]:
    """Return the names, attributes, imported modules and strings of a module's code.

    Docstrings and comments are prose, not code: they may name a vendor as an example.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.alias):
            words.add(node.name)
        elif isinstance(node, ast.ImportFrom):
            words.add(node.module or "")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            words.add(node.value)
    return words


@pytest.mark.parametrize("vendor", VENDORS.values(), ids=list(VENDORS))
def test_every_step_of_a_vendor_is_its_own(vendor: Vendor) -> None:
    """A vendor's flow has its menu step, reauth and reconfigure, all prefixed by its key."""
    steps = _steps(vendor.flow)
    assert {vendor.key, vendor.reconfigure_step} <= steps
    assert (vendor.reauth_step in steps) is vendor.reauth
    assert all(step == vendor.key or step.startswith(f"{vendor.key}_") for step in steps)
    # A ConfigFlow mixin: only the integration's class names the domain.
    assert getattr(vendor.flow, "domain", None) is None
    assert issubclass(EvChargeConfigFlow, vendor.flow)


def test_every_form_of_every_vendor_is_translated() -> None:
    """The menu offers every vendor, and each form a vendor shows has its texts."""
    assert list(STRINGS["config"]["step"]["user"]["menu_options"]) == list(VENDORS)
    for vendor in VENDORS.values():
        assert {vendor.key, vendor.reconfigure_step} <= set(CONFIG_STEPS)
        assert (vendor.reauth_step in CONFIG_STEPS) is vendor.reauth
    # No vendor owns a generic step id any more: the core dispatches reauth and reconfigure.
    assert not {"reauth_confirm", "reconfigure"} & set(CONFIG_STEPS)


def test_the_core_names_no_vendor() -> None:
    """The core iterates the registry: no vendor's key, package or class appears in its code."""
    pattern = re.compile("|".join(re.escape(key) for key in VENDORS), re.IGNORECASE)
    for name in CORE:
        named = sorted(word for word in _code_words(PACKAGE / name) if pattern.search(word))
        assert not named, f"{name} names {named}"


def test_a_vendor_is_listed_once_under_its_key() -> None:
    """The registry is keyed by what every entry stores; each vendor lives in its package."""
    for key, vendor in VENDORS.items():
        assert vendor.key == key
        assert (PACKAGE / "vendors" / key / "__init__.py").is_file()
    # A vendor's package __init__ only builds its registry entry.
    for key in VENDORS:
        lines = (PACKAGE / "vendors" / key / "__init__.py").read_text(encoding="utf-8")
        assert len(lines.splitlines()) < 40


def test_an_entry_of_an_unknown_vendor_raises(hass: HomeAssistant) -> None:
    """No fall-through: an entry naming a vendor we do not know is an error, translated."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_VENDOR: "nobody"})
    with pytest.raises(ConfigEntryError) as caught:
        vendor_of(entry)
    assert caught.value.translation_key == "unknown_vendor"
    assert caught.value.translation_placeholders == {"vendor": "nobody"}
    assert "unknown_vendor" in STRINGS["exceptions"]


@pytest.mark.parametrize("vendor", VENDORS.values(), ids=list(VENDORS))
def test_options_come_from_the_vendor(hass: HomeAssistant, vendor: Vendor) -> None:
    """An entry has options exactly when its vendor has an options flow, and gets that one."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_VENDOR: vendor.key})
    supported = EvChargeConfigFlow.async_supports_options_flow(entry)
    assert supported == (vendor.options_flow is not None)
    if vendor.options_flow is not None:
        flow = EvChargeConfigFlow.async_get_options_flow(entry)
        assert type(flow) is vendor.options_flow
