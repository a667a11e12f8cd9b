"""The go-e steps of the config flow: serial and grid token, reauth and reconfigure."""

from __future__ import annotations

from collections.abc import Mapping
import math
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.util import dt as dt_util

from ...api.errors import (
    ApiError,
    AuthenticationError,
    ChargerUnreachableError,
    NotSentError,
    RateLimitedError,
)
from ...api.goe import DEFAULT_BASE_URL, GoeClient, is_valid_grid_token, normalize_serial
from ...const import CONF_BASE_URL, CONF_VENDOR, HA_2026_9, LOGGER
from ...forms import (
    ADVANCED,
    PASSWORD,
    advanced_section,
    update_reason,
    valid_base_url,
    with_sections,
)
from ...session import async_get_session
from .budget import async_get_goe_budget
from .const import CONF_GRID_TOKEN, CONF_SERIAL, VENDOR_GOE

if TYPE_CHECKING and HA_2026_9:
    import probatio as vol
else:
    import voluptuous as vol


# The entry is added without a check: go-e's budget allows no read now (create_entry text).
UNCHECKED = "unchecked"


class GoeFlow(ConfigFlow):
    """Add a go-e charger by its serial and grid token; take a new token."""

    async def _async_validate_goe(
        self, serial: str, token: str, base_url: str, *, may_defer: bool = False
    ) -> tuple[str | None, dict[str, str]]:
        """Make the one status request that validates; return an error key and placeholders.

        ``may_defer``: when the charger's budget has no read left (two tries with a mistyped
        token spend it), return ``UNCHECKED`` instead of an error: the new entry's first read,
        when go-e allows it, checks the token (and asks for it again if go-e refuses it).
        """
        budget = await async_get_goe_budget(self.hass, serial)
        now = time.time()
        if not await budget.async_take_read(now):
            at = budget.status.next_available(now)
            if may_defer:
                local = dt_util.as_local(dt_util.utc_from_timestamp(at))
                return UNCHECKED, {"time": local.strftime("%H:%M")}
            minutes = math.ceil((at - now) / 60)
            return "rate_limited", {"minutes": str(max(1, minutes))}
        client = GoeClient(async_get_session(self.hass), serial, token, base_url=base_url)
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

    def _goe_schema(self, user_input: Mapping[str, Any], *, with_serial: bool) -> vol.Schema:
        fields: dict[vol.Marker, Any] = {}
        if with_serial:
            fields[vol.Required(CONF_SERIAL, default=user_input.get(CONF_SERIAL, ""))] = str
        fields[vol.Required(CONF_GRID_TOKEN)] = PASSWORD
        fields.update(advanced_section(user_input.get(CONF_BASE_URL, DEFAULT_BASE_URL)))
        return vol.Schema(fields)

    def _check_token_and_url(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> tuple[str, str]:
        token = "".join(str(user_input[CONF_GRID_TOKEN]).split())
        if not is_valid_grid_token(token):
            errors[CONF_GRID_TOKEN] = "invalid_grid_token"
        base_url = valid_base_url(str(user_input.get(CONF_BASE_URL, DEFAULT_BASE_URL)))
        if base_url is None:
            errors[ADVANCED] = "invalid_base_url"
        return token, base_url or DEFAULT_BASE_URL

    async def async_step_goe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a go-e charger's serial and grid token."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        # What the user typed stays in the form after an error, the token too.
        typed = user_input
        if user_input is not None:
            user_input = with_sections(user_input)
            serial = ""
            try:
                serial = normalize_serial(str(user_input[CONF_SERIAL]))
            except ValueError:
                errors[CONF_SERIAL] = "invalid_serial"
            token, base_url = self._check_token_and_url(user_input, errors)
            if not errors:
                # Another window adding the same charger (or one left open) does not block
                # this one: whichever finishes first adds it, the other stops then.
                await self.async_set_unique_id(serial, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                error, placeholders = await self._async_validate_goe(
                    serial, token, base_url, may_defer=True
                )
                if error in (None, UNCHECKED):
                    return self.async_create_entry(
                        title=f"go-e {serial}",
                        data={
                            CONF_VENDOR: VENDOR_GOE,
                            CONF_SERIAL: serial,
                            CONF_GRID_TOKEN: token,
                            CONF_BASE_URL: base_url,
                        },
                        description=error,
                        description_placeholders=placeholders or None,
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id="goe",
            data_schema=self.add_suggested_values_to_schema(
                self._goe_schema(user_input or {}, with_serial=True), typed
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_goe_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new grid token after go-e refused the old one."""
        return await self._async_step_goe_update(
            "goe_reauth_confirm", self._get_reauth_entry(), user_input
        )

    async def async_step_goe_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the grid token (and, in the advanced section, the API address)."""
        return await self._async_step_goe_update(
            "goe_reconfigure", self._get_reconfigure_entry(), user_input
        )

    async def _async_step_goe_update(
        self, step_id: str, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"serial": entry.data[CONF_SERIAL]}
        if user_input is not None:
            values = {CONF_BASE_URL: entry.data[CONF_BASE_URL], **with_sections(user_input)}
            token, base_url = self._check_token_and_url(values, errors)
            if not errors:
                error, extra = await self._async_validate_goe(
                    entry.data[CONF_SERIAL], token, base_url
                )
                placeholders.update(extra)
                if error is None:
                    return self.async_update_reload_and_abort(
                        entry,
                        data_updates={CONF_GRID_TOKEN: token, CONF_BASE_URL: base_url},
                        reason=update_reason(step_id == "goe_reconfigure"),
                    )
                errors["base"] = error
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                self._goe_schema({CONF_BASE_URL: entry.data[CONF_BASE_URL]}, with_serial=False),
                user_input,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )
