"""quality_scale.yaml lists every rule, and the statuses the code can show are backed by it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
import re
from typing import Any

from homeassistant.const import Platform
from homeassistant.util.yaml import load_yaml_dict
import pytest

from custom_components.ev_charge_control import entity as entity_module
from custom_components.ev_charge_control.const import DOMAIN
from custom_components.ev_charge_control.vendors import VENDORS

INTEGRATION = Path(__file__).parents[1] / "custom_components" / DOMAIN
# Every rule of the scale (Bronze, Silver, Gold, Platinum), as core's quality_scale.yaml files
# list them.
RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
    "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry", "action-exceptions", "config-entry-unloading",
    "docs-configuration-parameters", "docs-installation-parameters", "entity-unavailable",
    "integration-owner", "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage", "devices", "diagnostics", "discovery-update-info", "discovery",
    "docs-data-update", "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices", "async-dependency",
    "inject-websession", "strict-typing",
}  # fmt: skip
# Home Assistant's exceptions a user sees: each raise must name its translation.
TRANSLATED = {
    "HomeAssistantError",
    "ServiceValidationError",
    "ConfigEntryError",
    "ConfigEntryNotReady",
    "ConfigEntryAuthFailed",
    "UpdateFailed",
}


def _rules() -> dict[str, Any]:
    rules: dict[str, Any] = load_yaml_dict(INTEGRATION / "quality_scale.yaml")["rules"]
    return rules


def _status(rule: str) -> str:
    value = _rules()[rule]
    return str(value if isinstance(value, str) else value["status"])


def test_every_rule_is_listed_with_a_status_and_a_reason_where_not_done() -> None:
    rules = _rules()
    assert set(rules) == RULES
    for rule, value in rules.items():
        if isinstance(value, str):
            assert value == "done", rule
        else:
            assert value["status"] in ("exempt", "todo"), rule
            assert value["comment"].strip(), rule


def test_parallel_updates_in_every_platform() -> None:
    assert _status("parallel-updates") == "done"
    for platform in Platform:
        if (INTEGRATION / f"{platform}.py").is_file():
            module = importlib.import_module(f"custom_components.{DOMAIN}.{platform}")
            assert isinstance(getattr(module, "PARALLEL_UPDATES", None), int), platform


def test_entities_have_names_from_translations_and_unique_ids() -> None:
    assert _status("has-entity-name") == "done"
    assert _status("entity-unique-id") == "done"
    source = Path(entity_module.__file__).read_text(encoding="utf-8")
    assert "    _attr_has_entity_name = True\n" in source
    assert "self._attr_unique_id = " in source


@pytest.mark.parametrize("path", sorted(INTEGRATION.rglob("*.py")), ids=lambda p: p.name)
def test_every_raise_a_user_sees_is_translated(path: Path) -> None:
    assert _status("exception-translations") == "done"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name in TRANSLATED:
            keywords = {keyword.arg for keyword in node.exc.keywords}
            assert "translation_key" in keywords, f"{path.name}:{node.lineno} raises {name}"


def test_what_the_done_rules_need_is_there() -> None:
    """Files and hooks whose absence would make a 'done' untrue."""
    assert _status("brands") == "done"
    assert (INTEGRATION / "brand" / "icon.png").is_file()
    assert _status("diagnostics") == "done"
    assert "async_get_config_entry_diagnostics" in (INTEGRATION / "diagnostics.py").read_text()
    assert _status("stale-devices") == "done"
    init = (INTEGRATION / "__init__.py").read_text(encoding="utf-8")
    assert "async def async_remove_config_entry_device(" in init
    assert _status("icon-translations") == "done"
    assert (INTEGRATION / "icons.json").is_file()
    assert _status("common-modules") == "done"
    assert (INTEGRATION / "coordinator.py").is_file()
    assert _status("repair-issues") == "done"
    assert (INTEGRATION / "issues.py").is_file()
    assert _status("docs-removal-instructions") == "done"
    readme = (INTEGRATION.parents[1] / "README.md").read_text(encoding="utf-8")
    for section in ("## Removing the integration", "## Examples", "## Troubleshooting"):
        assert section in readme


def _sections(text: str, level: str) -> dict[str, str]:
    """Return the README's sections of a heading level (``## ``, ``### ``): title -> body."""
    parts = re.split(rf"^{level}(?!#)(.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_the_known_limitations_are_documented_per_vendor() -> None:
    """The README says what the integration cannot do: for all vendors and for each one."""
    assert _status("docs-known-limitations") == "done"
    readme = (INTEGRATION.parents[1] / "README.md").read_text(encoding="utf-8")
    body = _sections(readme, "## ")["Known limitations"]
    subsections = _sections(body, "### ")
    # A vendor's subsection is titled by its name: go-e for the key goe.
    keys = {re.sub(r"[^a-z0-9]", "", title.lower()): title for title in subsections}
    assert set(keys) == {"allvendors", *VENDORS}, list(subsections)
    for title, text in subsections.items():
        assert text.count("\n- **") >= 3, f"{title}: fewer than three limitations"


# The README section each docs rule asks for.
DOCS_SECTIONS = {
    "docs-removal-instructions": "Removing the integration",
    "docs-examples": "Examples",
    "docs-troubleshooting": "Troubleshooting",
    "docs-known-limitations": "Known limitations",
    "docs-supported-devices": "Supported devices and functions",
    "docs-supported-functions": "Supported devices and functions",
    "docs-data-update": "How the data is updated",
}


@pytest.mark.parametrize("rule", DOCS_SECTIONS)
def test_each_docs_rule_has_its_readme_section(rule: str) -> None:
    """A docs rule marked done has its section, and a per-vendor one covers every vendor."""
    assert _status(rule) == "done"
    readme = (INTEGRATION.parents[1] / "README.md").read_text(encoding="utf-8")
    body = _sections(readme, "## ")[DOCS_SECTIONS[rule]]
    assert len(body.split()) >= 80, "a heading with next to nothing under it"
    if rule in ("docs-supported-devices", "docs-data-update"):
        rows = {
            re.sub(r"[^a-z0-9]", "", line.split("|")[1].lower())
            for line in body.splitlines()
            if line.startswith("| ")
        }
        assert set(VENDORS) <= rows, f"{DOCS_SECTIONS[rule]}: a row per vendor"
