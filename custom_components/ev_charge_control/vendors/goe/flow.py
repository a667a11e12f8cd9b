"""The go-e flows: an entry per API access with its first charger; a subentry flow per charger."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import math
import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY
from homeassistant.helpers.selector import (
    FileSelector,
    FileSelectorConfig,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.util import dt as dt_util

from ...api.errors import (
    ApiError,
    AuthenticationError,
    ChargerUnreachableError,
    NotSentError,
    RateLimitedError,
)
from ...api.goe import DEFAULT_BASE_URL, GoeClient
from ...const import CONF_BASE_URL, CONF_VENDOR, DOMAIN, HA_2026_9, LOGGER
from ...forms import (
    ADVANCED,
    PASSWORD,
    advanced_section,
    valid_base_url,
    with_sections,
)
from ...session import async_get_session
from .budget import async_get_goe_budget
from .bulk import ChargerLine, clean_serial, clean_token, listing, read_chargers
from .const import CONF_GRID_TOKEN, CONF_SERIAL, DEFAULT_TITLE, SUBENTRY_CHARGER, VENDOR_GOE
from .descriptions import ENABLED_PER_CHARGER

if TYPE_CHECKING and HA_2026_9:
    import probatio as vol
else:
    import voluptuous as vol


# The entry is added without a check: go-e's budget allows no read now (create_entry text).
UNCHECKED = "unchecked"

# The bulk form: a pasted list, an uploaded file (a CSV or text file of the same lines).
CONF_LINES: Final = "lines"
CONF_FILE: Final = "file"
BULK_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_LINES): TextSelector(TextSelectorConfig(multiline=True)),
        vol.Optional(CONF_FILE): FileSelector(FileSelectorConfig(accept=".csv,.txt")),
    }
)
# A list holds at most this many chargers (and its file this many bytes): what a fleet needs,
# without letting one paste keep Home Assistant busy for minutes.
MAX_BULK_LINES: Final = 10_000
MAX_BULK_BYTES: Final = 2_000_000
# Validating reads in flight at once: each charger has its own budget at go-e, but a thousand
# requests at once would still be a burst on the API and on Home Assistant's connections.
BULK_PARALLEL_READS: Final = 12
# What became of the chargers of a list (the placeholders of the bulk_done text).
BULK_REASONS: Final = (
    "unchecked",
    "configured",
    "duplicate",
    "invalid_auth",
    "cannot_connect",
    "unknown",
    "full",
)


async def async_validate_charger(
    hass: HomeAssistant, serial: str, token: str, base_url: str, *, may_defer: bool = False
) -> tuple[str | None, dict[str, str]]:
    """Make the one status request that validates; return an error key and placeholders.

    ``may_defer``: when the charger's budget has no read left (two tries with a mistyped
    token spend it), return ``UNCHECKED`` instead of an error: the new entry's first read,
    when go-e allows it, checks the token (and asks for it again if go-e refuses it).
    """
    budget = await async_get_goe_budget(hass, serial)
    now = time.time()
    if not await budget.async_take_read(now):
        at = budget.status.next_available(now)
        if may_defer:
            local = dt_util.as_local(dt_util.utc_from_timestamp(at))
            return UNCHECKED, {"time": local.strftime("%H:%M")}
        minutes = math.ceil((at - now) / 60)
        return "rate_limited", {"minutes": str(max(1, minutes))}
    client = GoeClient(async_get_session(hass), serial, token, base_url=base_url)
    try:
        status = await client.status()
    except NotSentError as err:
        # No connection was made: go-e saw nothing, so the read costs nothing.
        await budget.async_give_back_read(time.time())
        LOGGER.debug("go-e %s: validation not sent: %s", serial, err)
        return "cannot_connect", {}
    except AuthenticationError:
        return "invalid_auth", {}
    except RateLimitedError:
        await budget.async_rate_limited(time.time())
        minutes = math.ceil(budget.status.interval / 60)
        return "rate_limited", {"minutes": str(minutes)}
    except ChargerUnreachableError:
        # The token is good; the charger is just offline right now.
        return None, {}
    except ApiError as err:
        LOGGER.debug("go-e %s: validation failed: %s", serial, err)
        return "cannot_connect", {}
    except Exception:  # noqa: BLE001 - the form must show "unknown", not crash
        LOGGER.exception("go-e %s: unexpected error while validating", serial)
        return "unknown", {}
    budget.remember(status, time.time())
    await budget.async_save()
    return None, {}


def configured_serials(hass: HomeAssistant) -> set[str]:
    """Return the serials of every go-e charger configured, in any entry."""
    return {
        subentry.data[CONF_SERIAL]
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if entry.data.get(CONF_VENDOR) == VENDOR_GOE
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_CHARGER
    }


def charger_schema(
    user_input: Mapping[str, Any], *, with_serial: bool, with_name: bool, with_url: bool
) -> vol.Schema:
    """Return the form of a charger: serial, grid token, name; the API address when asked."""
    fields: dict[vol.Marker, Any] = {}
    if with_serial:
        fields[vol.Required(CONF_SERIAL, default=user_input.get(CONF_SERIAL, ""))] = str
    fields[vol.Required(CONF_GRID_TOKEN)] = PASSWORD
    if with_name:
        fields[vol.Optional(CONF_NAME)] = str
    if with_url:
        fields.update(advanced_section(user_input.get(CONF_BASE_URL, DEFAULT_BASE_URL)))
    return vol.Schema(fields)


def check_serial(value: object, errors: dict[str, str]) -> str:
    """Return the serial in its normal form; note the error when it is none."""
    if (serial := clean_serial(str(value))) is None:
        errors[CONF_SERIAL] = "invalid_serial"
        return ""
    return serial


def check_token(value: object, errors: dict[str, str]) -> str:
    """Return the grid token without spaces; note the error when it has not its shape."""
    if (token := clean_token(str(value))) is None:
        errors[CONF_GRID_TOKEN] = "invalid_grid_token"
        return "".join(str(value).split())
    return token


def check_url(value: object, errors: dict[str, str]) -> str:
    """Return the API address without a trailing slash; note the error when it is none."""
    base_url = valid_base_url(str(value))
    if base_url is None:
        errors[ADVANCED] = "invalid_base_url"
    return base_url or DEFAULT_BASE_URL


def charger_data(serial: str, token: str, name: str) -> dict[str, str]:
    """Return a charger subentry's data; the name only when the user gave one."""
    return {CONF_SERIAL: serial, CONF_GRID_TOKEN: token} | ({CONF_NAME: name} if name else {})


def charger_title(serial: str, name: str) -> str:
    """Return a charger subentry's title: its name, else "go-e" and its serial."""
    return name or f"go-e {serial}"


class GoeFlow(ConfigFlow):
    """Add a go-e access (an API address) with its first charger; change the address."""

    async def async_step_goe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the first charger's serial and grid token (and a name for the entry)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        # What the user typed stays in the form after an error, the token too.
        typed = user_input
        if user_input is not None:
            values = with_sections(user_input)
            serial = check_serial(values[CONF_SERIAL], errors)
            token = check_token(values[CONF_GRID_TOKEN], errors)
            base_url = check_url(values.get(CONF_BASE_URL, DEFAULT_BASE_URL), errors)
            if not errors and serial in configured_serials(self.hass):
                return self.async_abort(reason="already_configured")
            if not errors:
                error, placeholders = await async_validate_charger(
                    self.hass, serial, token, base_url, may_defer=True
                )
                if error in (None, UNCHECKED):
                    name = str(values.get(CONF_NAME, "")).strip()
                    return self.async_create_entry(
                        title=DEFAULT_TITLE,
                        data={CONF_VENDOR: VENDOR_GOE, CONF_BASE_URL: base_url},
                        subentries=[
                            ConfigSubentryData(
                                data=charger_data(serial, token, name),
                                subentry_type=SUBENTRY_CHARGER,
                                title=charger_title(serial, name),
                                unique_id=serial,
                            )
                        ],
                        description=error,
                        description_placeholders=placeholders or None,
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id="goe",
            data_schema=self.add_suggested_values_to_schema(
                charger_schema(user_input or {}, with_serial=True, with_name=True, with_url=True),
                typed,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_goe_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API address every charger of the entry is reached at."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            base_url = check_url(with_sections(user_input).get(CONF_BASE_URL, ""), errors)
            if not errors:
                # The entry follows its subentries with an update listener, which also sets
                # it up again for a new address (Home Assistant forbids reloading it here).
                return self.async_update_and_abort(
                    entry,
                    data_updates={CONF_BASE_URL: base_url},
                    reason="reconfigure_successful",
                )
        return self.async_show_form(
            step_id="goe_reconfigure",
            data_schema=vol.Schema(advanced_section(entry.data[CONF_BASE_URL])),
            errors=errors,
        )


def charger_room(hass: HomeAssistant, entry: ConfigEntry[Any]) -> int:
    """Return how many more chargers the entry takes with their entities enabled.

    Home Assistant adds at most 10,000 enabled entities to one entry and refuses the rest: a
    charger beyond would have none. The chargers added whose entities are not registered yet
    (they are on their way) count as well.
    """
    registry = er.async_get(hass)
    enabled = registry.entities.get_enabled_count_for_config_entry_id(entry.entry_id)
    registered = {
        entity.config_subentry_id
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id)
    }
    coming = sum(
        subentry.subentry_type == SUBENTRY_CHARGER and subentry.subentry_id not in registered
        for subentry in entry.subentries.values()
    )
    free = MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY - enabled
    return max(0, free // ENABLED_PER_CHARGER - coming)


def _full(entry: ConfigEntry[Any]) -> dict[str, str]:
    chargers = sum(s.subentry_type == SUBENTRY_CHARGER for s in entry.subentries.values())
    return {"chargers": str(chargers), "max": str(MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY)}


class GoeChargerFlow(ConfigSubentryFlow):
    """Add go-e chargers to an entry, one or a whole list; give a charger a new grid token."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Let the user add one charger or a list of them, while the entry has room."""
        entry = self._get_entry()
        if charger_room(self.hass, entry) < 1:
            return self.async_abort(reason="entry_full", description_placeholders=_full(entry))
        return self.async_show_menu(step_id="user", menu_options=["one", "bulk"])

    async def async_step_one(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for a charger's serial, grid token and name; check them with one read."""
        entry = self._get_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            serial = check_serial(user_input[CONF_SERIAL], errors)
            token = check_token(user_input[CONF_GRID_TOKEN], errors)
            if not errors and serial in configured_serials(self.hass):
                return self.async_abort(reason="already_configured")
            if not errors:
                error, placeholders = await async_validate_charger(
                    self.hass, serial, token, entry.data[CONF_BASE_URL], may_defer=True
                )
                if error in (None, UNCHECKED):
                    name = str(user_input.get(CONF_NAME, "")).strip()
                    return self.async_create_entry(
                        title=charger_title(serial, name),
                        data=charger_data(serial, token, name),
                        unique_id=serial,
                        description=error,
                        description_placeholders=placeholders or None,
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id="one",
            data_schema=self.add_suggested_values_to_schema(
                charger_schema(user_input or {}, with_serial=True, with_name=True, with_url=False),
                user_input,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_bulk(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Take a list of chargers, pasted or uploaded; add those whose line and token are good.

        A line of the wrong shape is a typo the user fixes in the form: the list comes back
        with the lines named and nothing is added. Each charger's validating read is another
        matter: it has been spent, so what go-e accepted is added and the rest is reported.
        """
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"max": str(MAX_BULK_LINES)}
        if user_input is not None:
            sources = [("", str(user_input.get(CONF_LINES) or ""))]
            if file_id := user_input.get(CONF_FILE):
                try:
                    sources.append(
                        await self.hass.async_add_executor_job(_read_upload, self.hass, file_id)
                    )
                except (OSError, ValueError) as err:
                    LOGGER.debug("go-e bulk add: uploaded file not read: %s", type(err).__name__)
                    errors[CONF_FILE] = "bulk_file_unreadable"
            if not errors:
                # Off the event loop: a list of thousands of lines takes a while to read.
                chargers = await self.hass.async_add_executor_job(read_chargers, sources)
                if chargers.malformed_count:
                    errors["base"] = "bulk_malformed"
                    placeholders |= {"count": str(chargers.malformed_count)} | {
                        reason: listing(labels) for reason, labels in chargers.malformed.items()
                    }
                elif not chargers.chargers:
                    errors["base"] = "bulk_empty"
                elif len(chargers.chargers) > MAX_BULK_LINES:
                    errors["base"] = "bulk_too_many"
                else:
                    return await self._async_add_chargers(chargers.chargers)
        return self.async_show_form(
            step_id="bulk",
            data_schema=self.add_suggested_values_to_schema(
                BULK_SCHEMA, {CONF_LINES: user_input.get(CONF_LINES)} if user_input else None
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_add_chargers(self, lines: list[ChargerLine]) -> SubentryFlowResult:
        """Check each new charger with one read (a few at a time), add the good ones, report."""
        entry = self._get_entry()
        base_url: str = entry.data[CONF_BASE_URL]
        configured = configured_serials(self.hass)
        seen: set[str] = set()
        outcome: dict[str, list[ChargerLine]] = {reason: [] for reason in BULK_REASONS}
        new: list[ChargerLine] = []
        for line in lines:
            if line.serial in seen:
                outcome["duplicate"].append(line)
            elif line.serial in configured:
                outcome["configured"].append(line)
            else:
                seen.add(line.serial)
                new.append(line)
        # No read for a charger the entry has no room for: it could not be added.
        room = charger_room(self.hass, entry)
        outcome["full"].extend(new[room:])
        new = new[:room]

        # A few workers share the list: the reads in flight stay bounded, and a thousand
        # lines do not become a thousand tasks started at once.
        errors: dict[int, str | None] = {}
        waiting = iter(enumerate(new))

        async def worker() -> None:
            for index, line in waiting:
                errors[index], _ = await async_validate_charger(
                    self.hass, line.serial, line.token, base_url, may_defer=True
                )

        await asyncio.gather(*(worker() for _ in range(min(BULK_PARALLEL_READS, len(new)))))

        good: list[ChargerLine] = []
        for index, line in enumerate(new):
            error = errors[index]
            if error in (None, UNCHECKED, "rate_limited"):
                # Unchecked (go-e's budget for it is spent): its first read checks the token.
                if error is not None:
                    outcome["unchecked"].append(line)
                good.append(line)
            else:
                outcome[error if error in outcome else "unknown"].append(line)
        added: list[ChargerLine] = []
        for line in good:
            # Each addition calls the runtime's update listener at once: it starts the charger
            # and adds its entities; the event loop goes on between two of them.
            await asyncio.sleep(0)
            # Another flow may have added it meanwhile (no await between check and adding).
            if line.serial in configured_serials(self.hass):
                outcome["configured"].append(line)
                if line in outcome["unchecked"]:
                    outcome["unchecked"].remove(line)
                continue
            self.hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(charger_data(line.serial, line.token, line.name)),
                    subentry_type=SUBENTRY_CHARGER,
                    title=charger_title(line.serial, line.name),
                    unique_id=line.serial,
                ),
            )
            added.append(line)
        LOGGER.info(
            "go-e bulk add: %s of %s chargers added (%s)",
            len(added),
            len(lines),
            ", ".join(f"{reason} {len(found)}" for reason, found in outcome.items() if found),
        )
        return self.async_abort(
            reason="bulk_done",
            description_placeholders={"added": str(len(added)), "total": str(len(lines))}
            | {reason: listing(found) for reason, found in outcome.items()},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the charger's new grid token; check it with one read."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        serial: str = subentry.data[CONF_SERIAL]
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"serial": serial}
        if user_input is not None:
            token = check_token(user_input[CONF_GRID_TOKEN], errors)
            if not errors:
                error, extra = await async_validate_charger(
                    self.hass, serial, token, entry.data[CONF_BASE_URL]
                )
                placeholders.update(extra)
                if error is None:
                    # The runtime takes the new token without a reload (update listener).
                    return self.async_update_and_abort(
                        entry, subentry, data_updates={CONF_GRID_TOKEN: token}
                    )
                errors["base"] = error
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=charger_schema({}, with_serial=False, with_name=False, with_url=False),
            errors=errors,
            description_placeholders=placeholders,
        )


def _read_upload(hass: HomeAssistant, file_id: str) -> tuple[str, str]:
    """Return an uploaded list's label prefix (its file name) and its text; in the executor."""
    with process_uploaded_file(hass, file_id) as path:
        if path.stat().st_size > MAX_BULK_BYTES:
            raise ValueError("file too large")
        raw = path.read_bytes()
        name = path.name
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A spreadsheet's export in a Windows code page: serials and tokens are ASCII anyway.
        text = raw.decode("cp1252", errors="replace")
    return f"{name}:", text


class GoeTokenRepairFlow(RepairsFlow):
    """The fix of a refused grid token: ask for the charger's new one, check it, use it."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._entry_id = str(data.get("entry_id"))
        self._subentry_id = str(data.get("subentry_id"))

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Show the form of the charger's new grid token."""
        return await self.async_step_token()

    async def async_step_token(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Ask for the new grid token; check its shape, then one read within the budget."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        subentry = entry.subentries.get(self._subentry_id) if entry is not None else None
        if entry is None or subentry is None:
            return self.async_abort(reason="charger_removed")
        serial: str = subentry.data[CONF_SERIAL]
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"serial": serial, "charger": subentry.title}
        if user_input is not None:
            token = check_token(user_input[CONF_GRID_TOKEN], errors)
            if not errors:
                error, extra = await async_validate_charger(
                    self.hass, serial, token, entry.data[CONF_BASE_URL]
                )
                placeholders.update(extra)
                if error is None:
                    # The runtime resumes the charger with the new token (update listener);
                    # Home Assistant deletes the issue once this flow ends.
                    self.hass.config_entries.async_update_subentry(
                        entry, subentry, data={**subentry.data, CONF_GRID_TOKEN: token}
                    )
                    return self.async_create_entry(data={})
                errors["base"] = error
        return self.async_show_form(
            step_id="token",
            data_schema=charger_schema({}, with_serial=False, with_name=False, with_url=False),
            errors=errors,
            description_placeholders=placeholders,
        )


def create_token_repair_flow(data: Mapping[str, Any] | None) -> RepairsFlow:
    """Return the fix flow of a refused grid token (its issue's data names the charger)."""
    return GoeTokenRepairFlow(data or {})
