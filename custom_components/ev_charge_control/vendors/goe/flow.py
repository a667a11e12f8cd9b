"""The go-e flows: an entry per API access with its first charger; a subentry flow per charger."""

from __future__ import annotations

from collections.abc import Mapping
import math
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...api.errors import (
    ApiError,
    AuthenticationError,
    ChargerUnreachableError,
    NotSentError,
    RateLimitedError,
)
from ...api.goe import DEFAULT_BASE_URL, GoeClient, is_valid_grid_token, normalize_serial
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
from .const import CONF_GRID_TOKEN, CONF_SERIAL, DEFAULT_TITLE, SUBENTRY_CHARGER, VENDOR_GOE

if TYPE_CHECKING and HA_2026_9:
    import probatio as vol
else:
    import voluptuous as vol


# The entry is added without a check: go-e's budget allows no read now (create_entry text).
UNCHECKED = "unchecked"


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
    try:
        return normalize_serial(str(value))
    except ValueError:
        errors[CONF_SERIAL] = "invalid_serial"
        return ""


def check_token(value: object, errors: dict[str, str]) -> str:
    """Return the grid token without spaces; note the error when it has not its shape."""
    token = "".join(str(value).split())
    if not is_valid_grid_token(token):
        errors[CONF_GRID_TOKEN] = "invalid_grid_token"
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


class GoeChargerFlow(ConfigSubentryFlow):
    """Add a go-e charger to an entry; give a charger a new grid token."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
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
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                charger_schema(user_input or {}, with_serial=True, with_name=True, with_url=False),
                user_input,
            ),
            errors=errors,
            description_placeholders=placeholders,
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
