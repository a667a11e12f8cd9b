"""The integration keeps the rules Home Assistant's hassfest checks a custom integration by.

hassfest (`script/hassfest/` of Home Assistant's core repository) is not in the
`homeassistant` wheel, and CI reaches no GitHub to fetch it: GitHub runs it
(`.github/workflows/validate.yml`), and these tests check the same rules here, written anew
from hassfest's rules for a custom integration (its `--integration-path` mode): the manifest
(keys, their order, version, IoT class, integration type, dependencies, requirements), the
translations (`strings.json` and `translations/en.json`), `services.yaml`, `icons.json`, the
config schema of `__init__.py`, the config flow and `quality_scale.yaml`. Where a rule can be
checked with Home Assistant's own validators (selectors, slugs, HTML in strings), they are used.

Each check is a function that returns what is wrong; a test runs it on the integration's files
(nothing may be wrong) and `test_*_sees_*` tests run it on a copy broken on purpose (it must
say so). The checks walk whatever sections, steps, subentry types and services the files
have: none names today's steps.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
import copy
import functools
import itertools
import json
import logging
from pathlib import Path
import re
import string
import sys
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
import homeassistant.components
from homeassistant.const import Platform
from homeassistant.helpers import config_validation as cv, selector
from homeassistant.util.yaml import load_yaml_dict
from packaging.requirements import InvalidRequirement, Requirement
import pytest
import voluptuous as vol
from voluptuous.humanize import humanize_error

from custom_components.ev_charge_control.const import DOMAIN

INTEGRATION = Path(__file__).parents[1] / "custom_components" / DOMAIN
CORE_COMPONENTS = Path(homeassistant.components.__file__).parent
PLATFORMS = {platform.value for platform in Platform}

type Json = dict[str, Any]
type Breakage = Callable[[Json], object]


def _json(name: str) -> Json:
    data: Json = json.loads((INTEGRATION / name).read_text(encoding="utf-8"))
    return data


def _files() -> dict[str, Json]:
    """Return the integration's files hassfest reads, parsed."""
    return {
        "manifest": _json("manifest.json"),
        "strings": _json("strings.json"),
        "en": _json("translations/en.json"),
        "icons": _json("icons.json"),
        "services": load_yaml_dict(INTEGRATION / "services.yaml"),
        "quality_scale": load_yaml_dict(INTEGRATION / "quality_scale.yaml"),
    }


@functools.cache
def _parsed() -> Mapping[str, ast.Module]:
    return {
        path.relative_to(INTEGRATION).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(INTEGRATION.rglob("*.py"))
    }


def _sources() -> dict[str, ast.Module]:
    """Return every module of the integration, parsed, by its path inside the integration.

    The trees are shared between tests: a test replaces a module, it never changes one.
    """
    return dict(_parsed())


def _invalid(schema: Callable[[Any], Any], data: Any) -> list[str]:
    try:
        schema(data)
    except vol.Invalid as err:
        return [humanize_error(data, err)]
    return []


# --- manifest -----------------------------------------------------------------------------

IOT_CLASSES = (
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
)
# "virtual" is for brand placeholders in core; a custom integration is one of these.
INTEGRATION_TYPES = ("device", "entity", "hardware", "helper", "hub", "service", "system")
QUALITY_SCALES = ("bronze", "silver", "gold", "platinum", "internal", "legacy", "custom")


def _version(value: Any) -> str:
    """Accept a version in one of the schemes Home Assistant's loader and hassfest accept."""
    text = str(value)
    if AwesomeVersion(text).strategy not in {
        AwesomeVersionStrategy.CALVER,
        AwesomeVersionStrategy.SEMVER,
        AwesomeVersionStrategy.SIMPLEVER,
        AwesomeVersionStrategy.BUILDVER,
        AwesomeVersionStrategy.PEP440,
    }:
        raise vol.Invalid(f"{text!r} is not a version")
    return text


def _https(value: Any) -> str:
    text = vol.Url()(value)
    if not text.startswith("https://"):
        raise vol.Invalid("needs https://")
    return str(text)


MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Required("codeowners"): [vol.Match(r"^@[\w.-]+(/[\w.-]+)?$")],
        vol.Required("documentation"): _https,
        vol.Required("version"): vol.All(str, _version),
        vol.Required("iot_class"): vol.In(IOT_CLASSES),
        vol.Optional("integration_type"): vol.In(INTEGRATION_TYPES),
        vol.Optional("config_flow"): bool,
        vol.Optional("issue_tracker"): vol.Url(),
        vol.Optional("requirements"): [str],
        vol.Optional("dependencies"): [str],
        vol.Optional("after_dependencies"): [str],
        vol.Optional("loggers"): [str],
        vol.Optional("quality_scale"): vol.In(QUALITY_SCALES),
        vol.Optional("single_config_entry"): bool,
        vol.Optional("import_executor"): bool,
        vol.Optional("disabled"): str,
        # Discovery: a cloud integration has none, but they are manifest keys all the same.
        vol.Optional("bluetooth"): list,
        vol.Optional("dhcp"): list,
        vol.Optional("homekit"): dict,
        vol.Optional("mqtt"): [str],
        vol.Optional("ssdp"): list,
        vol.Optional("usb"): list,
        vol.Optional("zeroconf"): list,
    }
)


def manifest_errors(manifest: Json, folder: str) -> list[str]:
    """Check the manifest as hassfest checks a custom integration's."""
    errors = _invalid(MANIFEST_SCHEMA, manifest)
    domain = manifest.get("domain")
    if domain != folder:
        errors.append(f"domain {domain!r} is not the folder's name {folder!r}")
    if domain and (CORE_COMPONENTS / str(domain)).exists():
        errors.append(f"domain {domain!r} is a built-in integration's: the custom one hides it")
    keys = list(manifest)
    expected = [
        *(key for key in ("domain", "name") if key in manifest),
        *sorted(key for key in keys if key not in ("domain", "name")),
    ]
    if keys != expected:
        errors.append(f"keys not in order (domain, name, then a to z): {keys}")
    dependencies = manifest.get("dependencies", [])
    after = manifest.get("after_dependencies", [])
    for dependency in (*dependencies, *after):
        if not (CORE_COMPONENTS / dependency).is_dir():
            errors.append(f"dependency {dependency!r} is no Home Assistant integration")
    errors.extend(
        f"{dependency!r} is both a dependency and an after_dependency"
        for dependency in set(dependencies) & set(after)
    )
    return errors


def requirement_errors(requirements: list[str]) -> list[str]:
    """Check each requirement is a parsable, bounded pip requirement and no standard module."""
    errors: list[str] = []
    for line in requirements:
        if " " in line:
            errors.append(f"{line!r} contains a space")
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as err:
            errors.append(f"{line!r}: {err}")
            continue
        if not requirement.specifier:
            errors.append(f"{line!r} names no version")
        errors.extend(
            f"{line!r}: cannot read the version {spec.version!r}"
            for spec in requirement.specifier
            if AwesomeVersion(spec.version).strategy == AwesomeVersionStrategy.UNKNOWN
        )
        if requirement.name.replace("-", "_").lower() in sys.stdlib_module_names:
            errors.append(f"{line!r} is a module of Python's standard library")
    return errors


# Integrations Home Assistant loads itself, or that are only base classes: importing them
# needs no dependency (hassfest's list is longer; these are the ones a hub might import).
ALWAYS_THERE = {
    "homeassistant",
    "persistent_notification",
    "frontend",
    "websocket_api",
    "system_health",
    "system_log",
    "webhook",
}


def _imported_components(module: ast.Module) -> set[str]:
    """Return the Home Assistant integrations a module imports, outside TYPE_CHECKING."""
    found: set[str] = set()
    skipped = {
        id(child)
        for node in ast.walk(module)
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    for node in ast.walk(module):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("homeassistant.components."):
                found.add(node.module.split(".")[2])
            elif node.module == "homeassistant.components":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[2]
                for alias in node.names
                if alias.name.startswith("homeassistant.components.")
            )
    return found


def import_errors(manifest: Json, sources: Mapping[str, ast.Module]) -> list[str]:
    """Check every integration the code imports is a platform, ours, or a declared dependency."""
    own = {Path(name).parts[0].removesuffix(".py") for name in sources}
    allowed = (
        PLATFORMS
        | ALWAYS_THERE
        | own
        | {manifest["domain"]}
        | set(manifest.get("dependencies", []))
        | set(manifest.get("after_dependencies", []))
    )
    return [
        f"{name} imports the integration {component!r}, not in dependencies or after_dependencies"
        for name, module in sources.items()
        for component in sorted(_imported_components(module) - allowed)
    ]


# --- translations -------------------------------------------------------------------------

_KEY_CHARACTERS = set(string.ascii_lowercase + string.digits + "-_")
_QUOTED_PLACEHOLDER = re.compile(r"'\{\w*\}'")
_LINK = re.compile(
    r"\b(?:(?:https?|ftps?|mqtts?|scp|socks5|socket)://|www\.)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"\[%key:[^%\]]+%\]")


def translation_key(value: Any) -> str:
    """Accept a translation key: a-z, 0-9, - and _, no separator first, last or doubled."""
    text = str(value)
    separators = "-_"
    if (
        not text
        or not set(text) <= _KEY_CHARACTERS
        or text[0] in separators
        or text[-1] in separators
        or any(a in separators and b in separators for a, b in itertools.pairwise(text))
    ):
        raise vol.Invalid(f"{text!r} is no translation key")
    return text


def placeholders(text: str) -> set[str]:
    """Return the placeholder names of a translated string."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _text(*, allow_placeholders: bool = True) -> Callable[[Any], str]:
    def validate(value: Any) -> str:
        text = cv.string_with_no_html(value)
        if not isinstance(value, str):
            raise vol.Invalid("not a string")
        if text != text.strip():
            raise vol.Invalid("leading or trailing white space")
        if _QUOTED_PLACEHOLDER.search(text):
            raise vol.Invalid("a placeholder in single quotes")
        if _LINK.search(text):
            raise vol.Invalid("an address in the text: pass it as a placeholder")
        if "[%key:" in text and not _REFERENCE.fullmatch(text):
            raise vol.Invalid("a reference combined with other text")
        try:
            names = placeholders(text)
        except ValueError as err:
            raise vol.Invalid(f"unbalanced braces: {err}") from err
        if names and not allow_placeholders:
            raise vol.Invalid("placeholders are not allowed here")
        for name in names:
            if not name.isidentifier():
                raise vol.Invalid(f"placeholder {{{name}}} is not an identifier")
        return text

    return validate


TEXT = _text()
PLAIN = _text(allow_placeholders=False)


def _keyed(value: Any, *, keys: Callable[[Any], Any] = translation_key) -> Any:
    return cv.schema_with_slug_keys(value, slug_validator=keys)


def _data_descriptions_name_fields(value: Json) -> Json:
    for step_id, step in value["step"].items():
        for where in (step, *step.get("sections", {}).values()):
            if extra := set(where.get("data_description", {})) - set(where.get("data", {})):
                raise vol.Invalid(f"step {step_id}: data_description of no field {sorted(extra)}")
    return value


def _flow_schema(*, subentry: bool = False) -> vol.All:
    texts = {str: TEXT}
    schema: dict[Any, Any] = {
        vol.Optional("flow_title"): TEXT,
        vol.Required("step"): {
            str: {
                vol.Optional("title"): TEXT,
                vol.Optional("description"): TEXT,
                vol.Optional("data"): texts,
                vol.Optional("data_description"): texts,
                vol.Optional("menu_options"): texts,
                vol.Optional("menu_option_descriptions"): texts,
                vol.Optional("submit"): TEXT,
                vol.Optional("sections"): {
                    str: {
                        vol.Optional("name"): TEXT,
                        vol.Optional("description"): TEXT,
                        vol.Optional("data"): texts,
                        vol.Optional("data_description"): texts,
                    }
                },
            }
        },
        vol.Optional("error"): texts,
        vol.Optional("abort"): texts,
        vol.Optional("progress"): texts,
        vol.Optional("create_entry"): texts,
    }
    if subentry:
        schema[vol.Required("entry_type")] = TEXT
        schema[vol.Required("initiate_flow")] = {vol.Required("user"): TEXT, str: TEXT}
    else:
        schema[vol.Optional("initiate_flow")] = {vol.Required("user"): TEXT}
    return vol.All(vol.Schema(schema), _data_descriptions_name_fields)


_FIELDS = _keyed(
    {vol.Required("name"): TEXT, vol.Required("description"): TEXT, vol.Optional("example"): TEXT}
)
_ACTIONS = _keyed(
    {
        vol.Required("name"): TEXT,
        vol.Required("description"): TEXT,
        vol.Optional("fields"): _FIELDS,
        vol.Optional("sections"): _keyed(
            {vol.Required("name"): TEXT, vol.Optional("description"): TEXT}
        ),
    }
)
STRINGS_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): TEXT,
        vol.Optional("config"): _flow_schema(),
        vol.Optional("config_subentries"): _keyed(
            _flow_schema(subentry=True), keys=vol.Any("_", cv.slug)
        ),
        vol.Optional("options"): _flow_schema(),
        vol.Optional("selector"): _keyed(
            {
                vol.Optional("options"): _keyed(TEXT),
                vol.Optional("choices"): _keyed(TEXT),
                vol.Optional("unit_of_measurement"): _keyed(TEXT),
                vol.Optional("fields"): _FIELDS,
            },
            keys=vol.Any("_", cv.slug),
        ),
        vol.Optional("device_automation"): {
            vol.Optional(kind): {str: TEXT}
            for kind in (
                "action_type",
                "condition_type",
                "trigger_type",
                "trigger_subtype",
                "extra_fields",
                "extra_fields_descriptions",
            )
        },
        vol.Optional("system_health"): {vol.Optional("info"): _keyed(TEXT)},
        vol.Optional("issues"): {
            str: vol.All(
                cv.has_at_least_one_key("description", "fix_flow"),
                vol.Schema(
                    {
                        vol.Required("title"): TEXT,
                        vol.Exclusive("description", "fixable"): TEXT,
                        vol.Exclusive("fix_flow", "fixable"): _flow_schema(),
                    }
                ),
            )
        },
        vol.Optional("device"): _keyed({vol.Optional("name"): TEXT}),
        vol.Optional("entity"): cv.schema_with_slug_keys(
            _keyed(
                {
                    vol.Optional("name"): TEXT,
                    vol.Optional("state"): _keyed(PLAIN),
                    vol.Optional("state_attributes"): _keyed(
                        {vol.Optional("name"): PLAIN, vol.Optional("state"): _keyed(PLAIN)}
                    ),
                    vol.Optional("unit_of_measurement"): PLAIN,
                }
            ),
            slug_validator=vol.In(sorted(PLATFORMS)),
        ),
        vol.Optional("exceptions"): cv.schema_with_slug_keys(
            {vol.Optional("message"): TEXT}, slug_validator=cv.slug
        ),
        vol.Optional("services"): _ACTIONS,
        vol.Optional("conditions"): _ACTIONS,
        vol.Optional("triggers"): _ACTIONS,
    }
)


def strings_errors(strings: Json, english: Json) -> list[str]:
    """Check strings.json as hassfest does, and that translations/en.json is the same."""
    errors = [f"strings.json: {error}" for error in _invalid(STRINGS_SCHEMA, strings)]
    if english != strings:
        errors.append("translations/en.json differs from strings.json")
    return errors


def _literal_keys(node: ast.expr | None) -> set[str] | None:
    """Return the keys of a dict literal of constant keys; None when they cannot be known."""
    if node is None:
        return set()
    if isinstance(node, ast.Dict) and all(
        isinstance(key, ast.Constant) and isinstance(key.value, str) for key in node.keys
    ):
        return {key.value for key in node.keys if isinstance(key, ast.Constant)}
    return None


def _translated_calls(sources: Mapping[str, ast.Module]) -> Iterator[tuple[str, ast.Call]]:
    for name, module in sources.items():
        for node in ast.walk(module):
            if isinstance(node, ast.Call):
                keywords = {keyword.arg for keyword in node.keywords}
                if "translation_key" in keywords:
                    yield f"{name}:{node.lineno}", node


def _error_helpers(sources: Mapping[str, ast.Module]) -> dict[str, int]:
    """Return the functions that build a translated exception from (key, **placeholders).

    ``def action_error(key, **placeholders)`` returning ``…Error(translation_domain=…,
    translation_key=key, translation_placeholders=placeholders)``: by name, with the position
    of the key among the arguments.
    """
    helpers: dict[str, int] = {}
    for module in sources.values():
        for function in ast.walk(module):
            if not isinstance(function, ast.FunctionDef) or function.args.kwarg is None:
                continue
            params = [arg.arg for arg in function.args.args]
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                keywords = {keyword.arg: keyword.value for keyword in node.keywords}
                key = keywords.get("translation_key")
                given = keywords.get("translation_placeholders")
                if (
                    "translation_domain" in keywords
                    and isinstance(key, ast.Name)
                    and key.id in params
                    and isinstance(given, ast.Name)
                    and given.id == function.args.kwarg.arg
                ):
                    helpers[function.name] = params.index(key.id)
    return helpers


def _helper_calls(
    sources: Mapping[str, ast.Module],
) -> Iterator[tuple[str, str, set[str]]]:
    """Yield where a helper of ``_error_helpers`` is called: the key and the placeholders."""
    helpers = _error_helpers(sources)
    for name, module in sources.items():
        for node in ast.walk(module):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in helpers or len(node.args) <= helpers[called]:
                continue
            key = node.args[helpers[called]]
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and all(keyword.arg is not None for keyword in node.keywords)
            ):
                given = {str(keyword.arg) for keyword in node.keywords}
                yield f"{name}:{node.lineno}", key.value, given


def placeholder_errors(strings: Json, sources: Mapping[str, ast.Module]) -> list[str]:
    """Check each raise and repair issue names a message that exists, with its placeholders.

    Home Assistant fills a message's placeholders from ``translation_placeholders``: one it
    lacks leaves the message unformatted, one the message lacks says the two drifted apart.
    """
    errors: list[str] = []
    for where, call in _translated_calls(sources):
        keywords = {keyword.arg: keyword.value for keyword in call.keywords}
        key_node = keywords["translation_key"]
        if not (isinstance(key_node, ast.Constant) and isinstance(key_node.value, str)):
            continue
        key = key_node.value
        func = call.func
        func_name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if func_name.endswith("create_issue"):
            entry = strings.get("issues", {}).get(key)
            section = "issues"
        elif "translation_domain" in keywords:
            entry = strings.get("exceptions", {}).get(key)
            section = "exceptions"
        else:
            continue  # an entity description or a selector: their keys are checked elsewhere
        if entry is None:
            errors.append(f"{where}: {section}.{key} is not in strings.json")
            continue
        wanted = set().union(
            *(placeholders(text) for text in entry.values() if isinstance(text, str))
        )
        given = _literal_keys(keywords.get("translation_placeholders"))
        if given is not None and given != wanted:
            errors.append(
                f"{where}: {section}.{key} takes {sorted(wanted)}, the code gives {sorted(given)}"
            )
    for where, key, given in _helper_calls(sources):
        if (entry := strings.get("exceptions", {}).get(key)) is None:
            errors.append(f"{where}: exceptions.{key} is not in strings.json")
        elif given != (wanted := placeholders(entry.get("message", ""))):
            errors.append(
                f"{where}: exceptions.{key} takes {sorted(wanted)}, the code gives {sorted(given)}"
            )
    return errors


def _flow_classes(sources: Mapping[str, ast.Module]) -> dict[str, set[str]]:
    """Return the steps (``async_step_<id>``) of every flow class, by the kind of flow."""
    steps: dict[str, set[str]] = {"config": set(), "options": set(), "subentry": set()}
    for module in sources.values():
        for node in ast.walk(module):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = " ".join(ast.unparse(base) for base in node.bases)
            kind = (
                "subentry"
                if "SubentryFlow" in bases
                else "options"
                if "OptionsFlow" in bases
                else "config"
                if "ConfigFlow" in bases or "RepairsFlow" in bases or "Flows" in bases
                else None
            )
            if kind is None:
                continue
            steps[kind].update(
                item.name.removeprefix("async_step_")
                for item in node.body
                if isinstance(item, ast.AsyncFunctionDef) and item.name.startswith("async_step_")
            )
    return steps


def step_errors(strings: Json, sources: Mapping[str, ast.Module]) -> list[str]:
    """Check each translated step is a step some flow of that kind has: none is left over."""
    steps = _flow_classes(sources)
    sections: list[tuple[str, Json, str]] = [
        ("config", strings.get("config", {}), "config"),
        ("options", strings.get("options", {}), "options"),
    ]
    sections += [
        (f"config_subentries.{kind}", flow, "subentry")
        for kind, flow in strings.get("config_subentries", {}).items()
    ]
    sections += [
        (f"issues.{key}.fix_flow", issue["fix_flow"], "config")
        for key, issue in strings.get("issues", {}).items()
        if "fix_flow" in issue
    ]
    return [
        f"{where}.step.{step} has no async_step_{step} in any {kind} flow"
        for where, flow, kind in sections
        for step in flow.get("step", {})
        if step not in steps[kind]
    ]


# --- services -----------------------------------------------------------------------------


def _present(value: Any) -> Any:
    if value is None:
        raise vol.Invalid("empty")
    return value


_FIELD_SCHEMA = vol.Schema(
    {
        vol.Optional("example"): _present,
        vol.Optional("default"): _present,
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): selector.validate_selector,
        vol.Optional("filter"): dict,
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)
_SECTION_SCHEMA = vol.Schema(
    {
        vol.Optional("collapsed"): bool,
        vol.Required("fields"): {str: _FIELD_SCHEMA},
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)


def _fields_once(fields: Json) -> Json:
    seen: set[str] = set()
    for key, value in fields.items():
        names = list(value["fields"]) if value and "fields" in value else [key]
        for name in names:
            if name in seen:
                raise vol.Invalid(f"field {name} twice")
            seen.add(name)
    return fields


SERVICES_SCHEMA = vol.Schema(
    {
        cv.slug: vol.Any(
            None,
            vol.Schema(
                {
                    vol.Optional("target"): vol.Any(selector.TargetSelector.CONFIG_SCHEMA, None),
                    vol.Optional("fields"): vol.All(
                        {str: vol.Any(_SECTION_SCHEMA, _FIELD_SCHEMA)}, _fields_once
                    ),
                    vol.Optional("name"): str,
                    vol.Optional("description"): str,
                }
            ),
        )
    }
)


def _registered_services(sources: Mapping[str, ast.Module]) -> set[str]:
    """Return the actions the code registers (their names, where they are constants)."""
    constants = {
        target.id: node.value.value
        for module in sources.values()
        for node in ast.walk(module)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    names: set[str] = set()
    for module in sources.values():
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr
                in ("async_register", "register", "async_register_entity_service")
                and len(node.args) >= 2
            ):
                service = (
                    node.args[1] if node.func.attr != "async_register_entity_service" else None
                )
                if isinstance(service, ast.Constant) and isinstance(service.value, str):
                    names.add(service.value)
                elif isinstance(service, ast.Name) and service.id in constants:
                    names.add(constants[service.id])
    return names


def services_errors(services: Json, strings: Json, registered: set[str]) -> list[str]:
    """Check services.yaml, and that every action and field has a name and a description."""
    errors = [f"services.yaml: {error}" for error in _invalid(SERVICES_SCHEMA, services)]
    if errors:
        return errors
    errors.extend(
        f"the code registers {name!r}, services.yaml does not describe it"
        for name in sorted(registered - set(services))
    )
    translated = strings.get("services", {})
    for name, service in services.items():
        text = translated.get(name, {})
        errors.extend(
            f"services.{name}.{key} is not translated"
            for key in ("name", "description")
            if key not in (service or {}) and key not in text
        )
        for field, spec in (service or {}).get("fields", {}).items():
            if "fields" in spec:
                if "name" not in spec and "name" not in text.get("sections", {}).get(field, {}):
                    errors.append(f"services.{name}.sections.{field}.name is not translated")
                continue
            texts = text.get("fields", {}).get(field, {})
            errors.extend(
                f"services.{name}.fields.{field}.{key} is not translated"
                for key in ("name", "description")
                if key not in spec and key not in texts
            )
            selector_key = (spec.get("selector") or {}).get("select", {}) or {}
            if (key := selector_key.get("translation_key")) and key not in strings.get(
                "selector", {}
            ):
                errors.append(f"services.{name}.fields.{field}: no selector.{key} in strings")
        described = set((service or {}).get("fields", {}))
        errors.extend(
            f"services.{name}.fields.{field} is translated but services.yaml has no such field"
            for field in sorted(set(text.get("fields", {})) - described)
        )
    errors.extend(
        f"services.{name} is translated but services.yaml has no such action"
        for name in sorted(set(translated) - set(services))
    )
    return errors


# --- icons --------------------------------------------------------------------------------


def _icon(value: Any) -> str:
    text = cv.string_with_no_html(value)
    if not isinstance(value, str) or not text.startswith("mdi:") or text == "mdi:":
        raise vol.Invalid(f"{value!r} is no Material Design icon (mdi:…)")
    return text


def _state_icons_differ(value: Json) -> Json:
    for key, icons in value.items():
        default = icons.get("default")
        for state, icon in icons.get("state", {}).items():
            if icon == default:
                raise vol.Invalid(f"{key}.state.{state} repeats the default icon")
    return value


_STATE_ICONS = _keyed(_icon)
_ENTITY_ICONS = vol.All(
    _keyed(
        {
            vol.Optional("default"): _icon,
            vol.Optional("state"): _STATE_ICONS,
            vol.Optional("range"): {vol.Coerce(float): _icon},
            vol.Optional("state_attributes"): vol.All(
                _keyed({vol.Optional("default"): _icon, vol.Optional("state"): _STATE_ICONS}),
                _state_icons_differ,
            ),
        }
    ),
    _state_icons_differ,
)
_FLOW_ICONS = vol.Schema({"step": {str: {"section": {str: _icon}}}})
ICONS_SCHEMA = vol.Schema(
    {
        vol.Optional("config"): _FLOW_ICONS,
        vol.Optional("options"): _FLOW_ICONS,
        vol.Optional("issues"): {str: {"fix_flow": _FLOW_ICONS}},
        vol.Optional("services"): _keyed(
            vol.Any(
                _icon,
                {vol.Optional("service"): _icon, vol.Optional("sections"): _keyed(_icon)},
            )
        ),
        vol.Optional("entity"): cv.schema_with_slug_keys(
            _ENTITY_ICONS, slug_validator=vol.In(sorted(PLATFORMS))
        ),
    }
)


# States an entity of the platform has without translating them (a switch is on or off).
PLATFORM_STATES = {"binary_sensor": {"on", "off"}, "switch": {"on", "off"}}


def icons_errors(icons: Json, strings: Json, services: Json) -> list[str]:
    """Check icons.json, that its entities and states are translated, and every action's icon."""
    errors = [f"icons.json: {error}" for error in _invalid(ICONS_SCHEMA, icons)]
    if errors:
        return errors
    entities = strings.get("entity", {})
    for platform, keys in icons.get("entity", {}).items():
        for key, icon in keys.items():
            texts = entities.get(platform, {}).get(key)
            if texts is None:
                errors.append(f"icons entity.{platform}.{key}: no such translation_key")
                continue
            errors.extend(
                f"icons entity.{platform}.{key}.state.{state}: the entity has no such state"
                for state in icon.get("state", {})
                if state not in texts.get("state", {})
                and state not in PLATFORM_STATES.get(platform, set())
            )
    service_icons = icons.get("services", {})
    errors.extend(f"action {name} has no icon" for name in services if name not in service_icons)
    errors.extend(
        f"icon for {name}, which services.yaml does not have"
        for name in service_icons
        if name not in services
    )
    return errors


# --- config schema and config flow --------------------------------------------------------


def _defines(module: ast.Module, name: str) -> bool:
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return True
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
        ):
            return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (alias.asname or alias.name) == name for alias in node.names
        ):
            return True
    return False


def config_schema_errors(manifest: Json, init: ast.Module) -> list[str]:
    """An ``async_setup`` needs a CONFIG_SCHEMA; a config-entry-only one says so."""
    if not (_defines(init, "async_setup") or _defines(init, "setup")):
        return []
    if not any(
        _defines(init, name)
        for name in ("CONFIG_SCHEMA", "PLATFORM_SCHEMA", "PLATFORM_SCHEMA_BASE")
    ):
        return ["__init__.py sets up (async_setup) without a CONFIG_SCHEMA"]
    schema = next(
        (
            node.value
            for node in init.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "CONFIG_SCHEMA" for t in node.targets)
        ),
        None,
    )
    if manifest.get("config_flow") and not (
        isinstance(schema, ast.Call)
        and ast.unparse(schema.func).endswith("config_entry_only_config_schema")
    ):
        return ["set up by config entries only, but CONFIG_SCHEMA is not config_entry_only"]
    return []


def config_flow_errors(
    manifest: Json, files: set[str], sources: Mapping[str, ast.Module]
) -> list[str]:
    """A manifest with config_flow has a config_flow.py whose flow is the domain's, and back."""
    has_file = "config_flow.py" in files
    if bool(manifest.get("config_flow")) != has_file:
        return [
            f"manifest config_flow is {manifest.get('config_flow')}, config_flow.py exists: {has_file}"
        ]
    if not has_file:
        return []
    for node in ast.walk(sources["config_flow.py"]):
        if isinstance(node, ast.ClassDef) and any(
            keyword.arg == "domain" for keyword in node.keywords
        ):
            return []
    return ["config_flow.py has no flow class registered for the domain (class …(…, domain=…))"]


# --- quality_scale.yaml -------------------------------------------------------------------

RULES = {
    "bronze": (
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ),
    "gold": (
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}  # fmt: skip
QUALITY_SCALE_SCHEMA = vol.Schema(
    {
        vol.Required("rules"): {
            vol.Optional(rule): vol.Any(
                vol.In(["todo", "done"]),
                {vol.Required("status"): vol.In(["todo", "done"]), vol.Optional("comment"): str},
                {vol.Required("status"): "exempt", vol.Required("comment"): str},
            )
            for tier in RULES.values()
            for rule in tier
        }
    }
)


def quality_scale_errors(data: Json) -> list[str]:
    """Check quality_scale.yaml has hassfest's shape: known rules, an exemption with a reason."""
    return [f"quality_scale.yaml: {error}" for error in _invalid(QUALITY_SCALE_SCHEMA, data)]


def _function(module: ast.Module, name: str) -> ast.AsyncFunctionDef | None:
    return next(
        (
            node
            for node in module.body
            if isinstance(node, ast.AsyncFunctionDef) and node.name == name
        ),
        None,
    )


def _calls(module: ast.AST, name: str) -> bool:
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        for node in ast.walk(module)
    )


def _defines_anywhere(module: ast.AST, name: str) -> bool:
    return any(
        isinstance(node, ast.AsyncFunctionDef) and node.name == name for node in ast.walk(module)
    )


# Where hassfest looks for an entry argument typed ``<Something>ConfigEntry`` (strict-typing):
# module -> function -> position of the entry among the arguments (1-based).
_TYPED_ENTRY = {
    "__init__.py": {
        "async_setup_entry": 2,
        "async_unload_entry": 2,
        "async_remove_entry": 2,
        "async_migrate_entry": 2,
        "async_remove_config_entry_device": 2,
    },
    "diagnostics.py": {
        "async_get_config_entry_diagnostics": 2,
        "async_get_device_diagnostics": 2,
    },
    **{f"{platform}.py": {"async_setup_entry": 2} for platform in sorted(PLATFORMS)},
}


def _runtime_data_errors(sources: Mapping[str, ast.Module], rules_done: set[str]) -> list[str]:
    setup = _function(sources["__init__.py"], "async_setup_entry")
    if setup is None or len(setup.args.args) != 2:
        return ["__init__.py has no async_setup_entry(hass, entry)"]
    entry = setup.args.args[1].arg
    errors = []
    if not any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == entry
        and node.attr == "runtime_data"
        and isinstance(node.ctx, ast.Store)
        for node in ast.walk(setup)
    ):
        errors.append("async_setup_entry does not set entry.runtime_data")
    if "strict-typing" in rules_done:
        for module_name, functions in _TYPED_ENTRY.items():
            if module_name not in sources:
                continue
            for name, position in functions.items():
                function = _function(sources[module_name], name)
                if function is None:
                    continue
                args = function.args.args
                annotation = args[position - 1].annotation if len(args) >= position else None
                if not (
                    isinstance(annotation, ast.Name)
                    and re.fullmatch(r"[A-Za-z]+ConfigEntry", annotation.id)
                ):
                    errors.append(f"{module_name} {name}: the entry is not a typed ConfigEntry")
    return errors


def _flow_modules(sources: Mapping[str, ast.Module]) -> list[ast.Module]:
    """Return config_flow.py and the modules of the flow classes it is made of (the vendors')."""
    return [
        module
        for name, module in sources.items()
        if name == "config_flow.py"
        or any(
            isinstance(node, ast.ClassDef)
            and any(ast.unparse(base).endswith("ConfigFlow") for base in node.bases)
            for node in module.body
        )
    ]


def rule_errors(
    manifest: Json, sources: Mapping[str, ast.Module], rules: Json
) -> dict[str, list[str]]:
    """Check what hassfest checks of the rules quality_scale.yaml marks done.

    hassfest runs these for core integrations only; they hold here all the same. Unlike
    hassfest, which reads config_flow.py alone, the flow is config_flow.py and the vendors'
    flow classes it is made of.
    """
    init = sources["__init__.py"]
    flows = _flow_modules(sources)
    done = {
        rule
        for rule, value in rules.items()
        if (value if isinstance(value, str) else value["status"]) == "done"
    }
    has_config_flow = manifest.get("config_flow") and "config_flow.py" in sources
    raises = {"ConfigEntryNotReady", "ConfigEntryAuthFailed", "ConfigEntryError"}
    checks: dict[str, Callable[[], list[str]]] = {
        "config-flow": lambda: [] if has_config_flow else ["no config flow"],
        "runtime-data": lambda: _runtime_data_errors(sources, done),
        "test-before-setup": lambda: (
            []
            if (setup := _function(init, "async_setup_entry"))
            and (
                _calls(setup, "async_config_entry_first_refresh")
                or any(
                    isinstance(node, ast.Raise)
                    and node.exc is not None
                    and ast.unparse(node.exc).split("(")[0].split(".")[-1] in raises
                    for module in sources.values()
                    for node in ast.walk(module)
                )
            )
            else ["set-up raises none of ConfigEntryNotReady, …AuthFailed, …Error"]
        ),
        "unique-config-entry": lambda: (
            []
            if manifest.get("single_config_entry")
            or any(_calls(module, "_async_abort_entries_match") for module in flows)
            or (
                any(_calls(module, "async_set_unique_id") for module in flows)
                and any(_calls(module, "_abort_if_unique_id_configured") for module in flows)
            )
            else ["the flow lets the same account or device be added twice"]
        ),
        "config-entry-unloading": lambda: (
            [] if _function(init, "async_unload_entry") else ["no async_unload_entry"]
        ),
        "reauthentication-flow": lambda: (
            []
            if _defines_anywhere(sources["config_flow.py"], "async_step_reauth")
            else ["config_flow.py has no async_step_reauth"]
        ),
        "reconfiguration-flow": lambda: (
            []
            if _defines_anywhere(sources["config_flow.py"], "async_step_reconfigure")
            else ["config_flow.py has no async_step_reconfigure"]
        ),
        "diagnostics": lambda: (
            []
            if "diagnostics.py" in sources
            and any(
                _defines_anywhere(sources["diagnostics.py"], name)
                for name in (
                    "async_get_config_entry_diagnostics",
                    "async_get_device_diagnostics",
                )
            )
            else ["no diagnostics"]
        ),
        "parallel-updates": lambda: [
            f"{platform}.py sets no PARALLEL_UPDATES"
            for platform in sorted(PLATFORMS)
            if f"{platform}.py" in sources
            and not _defines(sources[f"{platform}.py"], "PARALLEL_UPDATES")
        ],
    }
    return {rule: check() for rule, check in checks.items() if rule in done}


# --- the integration as it is -------------------------------------------------------------


CHECKS: dict[str, Callable[[dict[str, Json], Mapping[str, ast.Module]], list[str]]] = {
    "manifest": lambda files, _: manifest_errors(files["manifest"], INTEGRATION.name),
    "requirements": lambda files, _: requirement_errors(files["manifest"].get("requirements", [])),
    "imports": lambda files, sources: import_errors(files["manifest"], sources),
    "translations": lambda files, _: strings_errors(files["strings"], files["en"]),
    "placeholders": lambda files, sources: placeholder_errors(files["strings"], sources),
    "steps": lambda files, sources: step_errors(files["strings"], sources),
    "services": lambda files, sources: services_errors(
        files["services"], files["en"], _registered_services(sources)
    ),
    "icons": lambda files, _: icons_errors(files["icons"], files["strings"], files["services"]),
    "config_schema": lambda files, sources: config_schema_errors(
        files["manifest"], sources["__init__.py"]
    ),
    "config_flow": lambda files, sources: config_flow_errors(
        files["manifest"], set(sources), sources
    ),
    "quality_scale": lambda files, _: quality_scale_errors(files["quality_scale"]),
    "quality_scale_rules": lambda files, sources: [
        f"[{rule}] {error}"
        for rule, errors in rule_errors(
            files["manifest"], sources, files["quality_scale"]["rules"]
        ).items()
        for error in errors
    ],
}


@pytest.mark.parametrize("check", CHECKS)
def test_the_integration_passes(check: str) -> None:
    """Nothing hassfest (or its rule, here) would find wrong."""
    assert CHECKS[check](_files(), _sources()) == []


def test_the_checks_see_what_the_integration_has() -> None:
    """The checks look at real content, not at nothing: a check of empty files proves little."""
    files = _files()
    sources = _sources()
    assert _registered_services(sources) == set(files["services"]) != set()
    assert _flow_classes(sources)["config"] >= set(files["strings"]["config"]["step"])
    assert sum(1 for _ in _translated_calls(sources)) > 20
    assert sum(1 for _ in _helper_calls(sources)) > 5
    assert files["strings"]["entity"]
    assert files["icons"]["entity"]
    assert _imported_components(sources["diagnostics.py"]) == {"diagnostics"}


def test_config_schema_refuses_yaml_set_up(caplog: pytest.LogCaptureFixture) -> None:
    """The CONFIG_SCHEMA is Home Assistant's config-entry-only one: YAML is reported."""
    from custom_components.ev_charge_control import CONFIG_SCHEMA  # noqa: PLC0415

    with caplog.at_level(logging.ERROR):
        assert CONFIG_SCHEMA({DOMAIN: {"anything": 1}}) == {DOMAIN: {"anything": 1}}
    assert "does not support YAML setup" in caplog.text


# --- each check fails on a file broken on purpose -----------------------------------------


def _pop(data: Json, *path: str) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


def _set(data: Json, value: Any, *path: str) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def _first(mapping: Json) -> str:
    return next(iter(mapping))


def _first_field(strings: Json) -> tuple[str, str]:
    service = _first(strings["services"])
    return service, _first(strings["services"][service]["fields"])


def _first_subentry_step(strings: Json) -> tuple[str, str, str]:
    kind = _first(strings["config_subentries"])
    return kind, "step", _first(strings["config_subentries"][kind]["step"])


MANIFEST_BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "no version": (lambda m: m.pop("version"), "version"),
    "a version no scheme reads": (lambda m: m.update(version="first"), "not a version"),
    "an unknown key": (lambda m: m.update(homeassistant="2026.8.0"), "'homeassistant'"),
    "an unknown IoT class": (lambda m: m.update(iot_class="cloud"), "iot_class"),
    "no IoT class": (lambda m: m.pop("iot_class"), "iot_class"),
    "an unknown integration type": (lambda m: m.update(integration_type="bridge"), "integration_type"),
    "config_flow not a bool": (lambda m: m.update(config_flow="yes"), "config_flow"),
    "documentation over http": (lambda m: m.update(documentation="http://example.com"), "https"),
    "no code owner list": (lambda m: m.update(codeowners="@someone"), "codeowners"),
    "a missing dependency": (lambda m: m.update(dependencies=["no_such_thing"]), "no Home Assistant integration"),
    "a dependency twice": (
        lambda m: m.update(dependencies=["http"], after_dependencies=["http"]),
        "both",
    ),
    "keys out of order": (lambda m: m.update(aaa := {"name": m.pop("name")}) or aaa, "order"),
    "another domain": (lambda m: m.update(domain="ev_charge"), "folder"),
    "a core domain": (lambda m: m.update(domain="peblar"), "built-in"),
}  # fmt: skip


@pytest.mark.parametrize("breakage", MANIFEST_BREAKAGES, ids=str)
def test_manifest_check_sees(breakage: str) -> None:
    manifest = _files()["manifest"]
    change, words = MANIFEST_BREAKAGES[breakage]
    change(manifest)
    errors = manifest_errors(manifest, INTEGRATION.name)
    assert any(words in error for error in errors), errors


@pytest.mark.parametrize(
    ("requirement", "words"),
    [
        ("cronsim >=2.6", "space"),
        ("cronsim", "no version"),
        ("cronsim>=two", "version"),
        ("asyncio>=3.4", "standard library"),
        ("cronsim>=>2", "cronsim>=>2"),
    ],
)
def test_requirement_check_sees(requirement: str, words: str) -> None:
    errors = requirement_errors([requirement])
    assert any(words in error for error in errors), errors


def test_import_check_sees_an_undeclared_integration() -> None:
    sources = dict(_sources())
    sources["vendors/extra.py"] = ast.parse(
        "from homeassistant.components.recorder import get_instance\n"
        "import homeassistant.components.http\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from homeassistant.components.zone import Zone\n"
    )
    manifest = _files()["manifest"]
    errors = import_errors(manifest, sources)
    assert [error.split("'")[1] for error in errors] == ["http", "recorder"], errors
    manifest["after_dependencies"] = ["http", "recorder"]
    assert import_errors(manifest, sources) == []


STRINGS_BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "an unknown section": (lambda s: s.update(extra={"x": "y"}), "'extra'"),
    "an unknown key in a step": (
        lambda s: _set(s, "Title", "config", "step", _first(s["config"]["step"]), "heading"),
        "heading",
    ),
    "a data description of no field": (
        lambda s: _set(s, "Text.", "options", "step", _first(s["options"]["step"]), "data_description", "nothing"),
        "data_description",
    ),
    "a subentry type without its button": (
        lambda s: _pop(s, "config_subentries", _first(s["config_subentries"]), "initiate_flow"),
        "initiate_flow",
    ),
    "a subentry type without its name": (
        lambda s: _pop(s, "config_subentries", _first(s["config_subentries"]), "entry_type"),
        "entry_type",
    ),
    "a subentry step with HTML": (
        lambda s: _set(s, "<b>Bold</b>", "config_subentries", *_first_subentry_step(s), "title"),
        "HTML",
    ),
    "an issue with neither description nor fix flow": (
        lambda s: _pop(s, "issues", _first(s["issues"]), "description"),
        "description",
    ),
    "an issue without a title": (lambda s: _pop(s, "issues", _first(s["issues"]), "title"), "title"),
    "an exception key with capitals": (
        lambda s: _set(s, {"message": "Text."}, "exceptions", "Not_A_Slug"),
        "Not_A_Slug",
    ),
    "an action without a description": (
        lambda s: _pop(s, "services", _first(s["services"]), "description"),
        "description",
    ),
    "an action field without a name": (
        lambda s: _pop(s, "services", _first_field(s)[0], "fields", _first_field(s)[1], "name"),
        "name",
    ),
    "an entity platform Home Assistant does not have": (
        lambda s: _set(s, {"x": {"name": "X"}}, "entity", "gauge"),
        "must be one of",
    ),
    "an entity key with capitals": (
        lambda s: _set(s, {"name": "X"}, "entity", "sensor", "Power2"),
        "Power2",
    ),
    "a placeholder in an entity state": (
        lambda s: _set(s, "At {time}", "entity", "sensor", _first(s["entity"]["sensor"]), "state", "x"),
        "placeholders are not allowed",
    ),
    "a placeholder in single quotes": (
        lambda s: _set(s, "Give '{value}'.", "exceptions", "quoted", "message"),
        "single quotes",
    ),
    "a placeholder that is no name": (
        lambda s: _set(s, "Give {1 value}.", "exceptions", "numbered", "message"),
        "identifier",
    ),
    "unbalanced braces": (lambda s: _set(s, "Give {value.", "exceptions", "open", "message"), "braces"),
    "an address in a text": (
        lambda s: _set(s, "See https://example.com/help.", "exceptions", "link", "message"),
        "address",
    ),
    "trailing white space": (lambda s: _set(s, "Text. ", "exceptions", "space", "message"), "white space"),
    "a combined reference": (
        lambda s: _set(s, "[%key:common::config_flow::error::unknown%] Really.", "exceptions", "ref", "message"),
        "reference",
    ),
    "a selector option key with capitals": (
        lambda s: _set(s, {"options": {"Upper": "Upper"}}, "selector", "choice"),
        "Upper",
    ),
}  # fmt: skip


@pytest.mark.parametrize("breakage", STRINGS_BREAKAGES, ids=str)
def test_strings_check_sees(breakage: str) -> None:
    strings = _files()["strings"]
    # Give every section the breakages walk, as later strings may: the checks are general.
    strings.setdefault("issues", {}).setdefault("one", {"title": "T", "description": "D."})
    change, words = STRINGS_BREAKAGES[breakage]
    change(strings)
    errors = strings_errors(strings, strings)
    assert any(words in error for error in errors), errors


def test_strings_check_sees_english_drift_apart() -> None:
    files = _files()
    english = copy.deepcopy(files["en"])
    _set(english, "Other words.", "exceptions", _first(english["exceptions"]), "message")
    assert strings_errors(files["strings"], english) == [
        "translations/en.json differs from strings.json"
    ]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (
            "raise HomeAssistantError(translation_domain=DOMAIN, translation_key='no_such_key')",
            "exceptions.no_such_key is not in strings.json",
        ),
        (
            "raise HomeAssistantError(translation_domain=DOMAIN, translation_key='device_not_found')",
            "takes ['device_id'], the code gives []",
        ),
        (
            "raise ServiceValidationError(translation_domain=DOMAIN, translation_key='plan_empty',"
            " translation_placeholders={'start': '1'})",
            "takes [], the code gives ['start']",
        ),
        (
            "ir.async_create_issue(hass, DOMAIN, 'x', translation_key='easee_blocked',"
            " translation_placeholders={'until': '1', 'device_url': '/'})",
            "issues.easee_blocked takes ['until']",
        ),
        (
            "ir.async_create_issue(hass, DOMAIN, 'x', translation_key='not_an_issue')",
            "issues.not_an_issue is not in strings.json",
        ),
        (
            "def refusal(key, **values):\n"
            "    return ServiceValidationError(translation_domain=DOMAIN, translation_key=key,"
            " translation_placeholders=values)\n"
            "raise refusal('device_not_found', device=device_id)\n",
            "exceptions.device_not_found takes ['device_id'], the code gives ['device']",
        ),
        (
            "def refusal(key, **values):\n"
            "    return ServiceValidationError(translation_domain=DOMAIN, translation_key=key,"
            " translation_placeholders=values)\n"
            "raise refusal('no_such_refusal')\n",
            "exceptions.no_such_refusal is not in strings.json",
        ),
    ],
)
def test_placeholder_check_sees(code: str, words: str) -> None:
    files = _files()
    sources = {"extra.py": ast.parse(code)}
    errors = placeholder_errors(files["strings"], sources)
    assert any(words in error for error in errors), errors


def test_step_check_sees_a_step_no_flow_has() -> None:
    files = _files()
    sources = _sources()
    strings = files["strings"]
    _set(strings, {"title": "Old"}, "config", "step", "goe_legacy")
    kind = _first(strings["config_subentries"])
    _set(strings, {"title": "Old"}, "config_subentries", kind, "step", "bulk_legacy")
    _set(strings, {"title": "Old"}, "options", "step", "advanced_legacy")
    assert step_errors(strings, sources) == [
        "config.step.goe_legacy has no async_step_goe_legacy in any config flow",
        "options.step.advanced_legacy has no async_step_advanced_legacy in any options flow",
        f"config_subentries.{kind}.step.bulk_legacy has no async_step_bulk_legacy in any subentry flow",
    ]


SERVICES_BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "an unknown selector": (
        lambda f: _set(f["services"], {"colour": {}}, _first(f["services"]), "fields", "extra", "selector"),
        "colour",
    ),
    "a bad number selector": (
        lambda f: _set(f["services"], {"number": {"min": "low"}}, _first(f["services"]), "fields", "extra", "selector"),
        "min",
    ),
    "an unknown field key": (
        lambda f: _set(f["services"], 1, _first(f["services"]), "fields", "device_id", "maximum"),
        "maximum",
    ),
    "an empty example": (
        lambda f: _set(f["services"], None, _first(f["services"]), "fields", "device_id", "example"),
        "example",
    ),
    "a field twice across a section": (
        lambda f: _set(f["services"], {"fields": {"device_id": {}}}, _first(f["services"]), "fields", "more"),
        "twice",
    ),
    "an action name that is no slug": (
        lambda f: f["services"].update({"Set-Limit": None}),
        "Set-Limit",
    ),
    "an action without translations": (
        lambda f: f["services"].update(new_action={"fields": {}}),
        "services.new_action.name is not translated",
    ),
    "a field without translations": (
        lambda f: _set(f["services"], {"selector": {"boolean": {}}}, _first(f["services"]), "fields", "new_field"),
        "new_field.name is not translated",
    ),
    "a translated field services.yaml lacks": (
        lambda f: _pop(f["services"], *_first_field(f["en"])[0:1], "fields", _first_field(f["en"])[1]),
        "services.yaml has no such field",
    ),
    "a translated action services.yaml lacks": (
        lambda f: f["services"].pop(_first(f["services"])),
        "services.yaml has no such action",
    ),
    "a select selector's missing translations": (
        lambda f: _set(
            f["services"],
            {"select": {"options": ["a", "b"], "translation_key": "no_such_selector"}},
            _first(f["services"]), "fields", _first_field(f["en"])[1], "selector",
        ),
        "no selector.no_such_selector",
    ),
}  # fmt: skip


@pytest.mark.parametrize("breakage", SERVICES_BREAKAGES, ids=str)
def test_services_check_sees(breakage: str) -> None:
    files = _files()
    change, words = SERVICES_BREAKAGES[breakage]
    change(files)
    errors = services_errors(files["services"], files["en"], set())
    assert any(words in error for error in errors), errors


def test_services_check_sees_an_action_registered_without_a_description() -> None:
    files = _files()
    errors = services_errors(files["services"], files["en"], {*files["services"], "reboot"})
    assert errors == ["the code registers 'reboot', services.yaml does not describe it"]


ICONS_BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "an icon without mdi:": (
        lambda i: _set(i, "transmission-tower", "services", _first(i["services"]), "service"),
        "Material Design",
    ),
    "an unknown section": (lambda i: i.update(entity_component={}), "entity_component"),
    "an entity icon of no translation key": (
        lambda i: _set(i, {"default": "mdi:flash"}, "entity", "sensor", "no_such_sensor"),
        "no such translation_key",
    ),
    "a state icon of no state": (
        lambda i: _set(i, "mdi:flash", "entity", "sensor", "car_state", "state", "flying"),
        "no such state",
    ),
    "a switch state icon a switch never has": (
        lambda i: _set(i, "mdi:flash", "entity", "switch", _first(i["entity"]["switch"]), "state", "unknown"),
        "no such state",
    ),
    "a state icon the same as the default": (
        lambda i: _set(i, i["entity"]["sensor"]["car_state"]["default"], "entity", "sensor", "car_state", "state", "idle"),
        "repeats the default icon",
    ),
    "an action without an icon": (lambda i: i["services"].pop(_first(i["services"])), "has no icon"),
    "an icon of no action": (
        lambda i: _set(i, {"service": "mdi:flash"}, "services", "no_such_action"),
        "services.yaml does not have",
    ),
    "an icon key with capitals": (
        lambda i: _set(i, {"default": "mdi:flash"}, "entity", "sensor", "Car_State"),
        "Car_State",
    ),
}  # fmt: skip


@pytest.mark.parametrize("breakage", ICONS_BREAKAGES, ids=str)
def test_icons_check_sees(breakage: str) -> None:
    files = _files()
    change, words = ICONS_BREAKAGES[breakage]
    change(files["icons"])
    errors = icons_errors(files["icons"], files["strings"], files["services"])
    assert any(words in error for error in errors), errors


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("async def async_setup(hass, config):\n    return True\n", "without a CONFIG_SCHEMA"),
        (
            "CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)\n"
            "async def async_setup(hass, config):\n    return True\n",
            "not config_entry_only",
        ),
    ],
)
def test_config_schema_check_sees(code: str, words: str) -> None:
    errors = config_schema_errors(_files()["manifest"], ast.parse(code))
    assert any(words in error for error in errors), errors
    assert config_schema_errors(_files()["manifest"], ast.parse("X = 1\n")) == []


def test_config_flow_check_sees() -> None:
    manifest = _files()["manifest"]
    sources = _sources()
    files = set(sources)
    assert config_flow_errors(manifest, files - {"config_flow.py"}, sources)
    assert config_flow_errors({**manifest, "config_flow": False}, files, sources)
    unregistered = {**sources, "config_flow.py": ast.parse("class Flow(ConfigFlow):\n    pass\n")}
    assert config_flow_errors(manifest, files, unregistered) == [
        "config_flow.py has no flow class registered for the domain (class …(…, domain=…))"
    ]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"no-such-rule": "done"}, "no-such-rule"),
        ({"discovery": "exempt"}, "discovery"),
        ({"discovery": {"status": "exempt"}}, "discovery"),
        ({"brands": "finished"}, "brands"),
    ],
)
def test_quality_scale_check_sees(change: Json, words: str) -> None:
    data = _files()["quality_scale"]
    data["rules"].update(change)
    errors = quality_scale_errors(data)
    assert any(words in error for error in errors), errors


def test_quality_scale_rules_are_hassfests() -> None:
    """The rule list here and tests/test_quality_scale.py's are the same."""
    from tests.test_quality_scale import RULES as LISTED  # noqa: PLC0415

    assert {rule for tier in RULES.values() for rule in tier} == LISTED


def test_the_rule_checks_run_for_the_rules_marked_done() -> None:
    """Every check runs (the rules are done), and a rule not done is not checked."""
    files = _files()
    rules = files["quality_scale"]["rules"]
    checked = rule_errors(files["manifest"], _sources(), rules)
    assert set(checked) == {
        "config-flow", "runtime-data", "test-before-setup", "unique-config-entry",
        "config-entry-unloading", "reauthentication-flow", "reconfiguration-flow",
        "diagnostics", "parallel-updates",
    }  # fmt: skip
    rules["diagnostics"] = "todo"
    assert "diagnostics" not in rule_errors(files["manifest"], _sources(), rules)


def _without(source: str, old: str, new: str) -> Callable[[dict[str, ast.Module]], object]:
    def change(sources: dict[str, ast.Module]) -> None:
        text = (INTEGRATION / source).read_text(encoding="utf-8")
        assert old in text, old
        sources[source] = ast.parse(text.replace(old, new))

    return change


RULE_BREAKAGES: dict[str, tuple[Callable[[dict[str, ast.Module]], object], str]] = {
    "runtime-data": (_without("__init__.py", "entry.runtime_data = runtime", "runtime_data = runtime"), "does not set entry.runtime_data"),
    "runtime-data, typed": (_without("diagnostics.py", "entry: EvChargeConfigEntry", "entry: ConfigEntry"), "not a typed ConfigEntry"),
    "config-entry-unloading": (_without("__init__.py", "async def async_unload_entry(", "async def unload_entry("), "no async_unload_entry"),
    "reauthentication-flow": (_without("config_flow.py", "async def async_step_reauth(", "async def reauth("), "no async_step_reauth"),
    "reconfiguration-flow": (_without("config_flow.py", "async def async_step_reconfigure(", "async def reconfigure("), "no async_step_reconfigure"),
    "diagnostics": (lambda sources: sources.pop("diagnostics.py"), "no diagnostics"),
    "parallel-updates": (_without("sensor.py", "PARALLEL_UPDATES", "PARALLEL"), "sensor.py sets no PARALLEL_UPDATES"),
    "unique-config-entry": (
        lambda sources: [
            sources.update({name: ast.parse(ast.unparse(module).replace("_abort_if_unique_id_configured", "_nothing"))})
            for name, module in list(sources.items())
        ],
        "added twice",
    ),
    "test-before-setup": (
        lambda sources: [
            sources.update({name: ast.parse(ast.unparse(module).replace("ConfigEntry", "Entry"))})
            for name, module in list(sources.items())
        ],
        "raises none of",
    ),
}  # fmt: skip


@pytest.mark.parametrize("breakage", RULE_BREAKAGES, ids=str)
def test_rule_check_sees(breakage: str) -> None:
    files = _files()
    sources = dict(_sources())
    change, words = RULE_BREAKAGES[breakage]
    change(sources)
    errors = [
        error
        for errors in rule_errors(
            files["manifest"], sources, files["quality_scale"]["rules"]
        ).values()
        for error in errors
    ]
    assert any(words in error for error in errors), errors


def test_config_flow_rule_check_sees_a_manifest_without_it() -> None:
    files = _files()
    manifest = {**files["manifest"], "config_flow": False}
    assert rule_errors(manifest, _sources(), files["quality_scale"]["rules"])["config-flow"] == [
        "no config flow"
    ]
