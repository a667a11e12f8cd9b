"""The ViriCiti steps of the config flow (API key, group, time zone) and its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import DurationSelector, DurationSelectorConfig

from ...api.errors import ApiError, AuthenticationError, NotFoundError, RateLimitedError
from ...api.viriciti import DEFAULT_BASE_URL as VIRICITI_BASE_URL, ViricitiClient, ViricitiGroup
from ...const import CONF_BASE_URL, CONF_VENDOR, HA_2026_9, LOGGER
from ...forms import (
    ADVANCED,
    PASSWORD,
    advanced_section,
    async_valid_time_zone,
    update_reason,
    valid_base_url,
    with_sections,
)
from ...session import async_get_session
from .const import (
    CONF_DEFAULT_DURATION,
    CONF_GROUP_ID,
    CONF_TIME_ZONE,
    DEFAULT_LIMIT_DURATION,
    MAX_LIMIT_DURATION,
    VENDOR_VIRICITI,
)

if TYPE_CHECKING and HA_2026_9:
    import probatio as vol
else:
    import voluptuous as vol


class ViricitiFlow(ConfigFlow):
    """Add a ViriCiti charger group by API key and group id; take a new key."""

    async def _async_read_group(
        self, api_key: str, group_id: str, base_url: str
    ) -> tuple[str | None, ViricitiGroup | None]:
        """Read the group once; return an error key or the group."""
        try:
            client = ViricitiClient(
                async_get_session(self.hass), api_key, group_id, base_url=base_url
            )
            group = await client.get_group()
        except AuthenticationError:
            return "invalid_auth", None
        except NotFoundError:
            return "group_not_found", None
        except RateLimitedError as err:
            LOGGER.debug("ViriCiti %s: validation rate limited: %s", group_id, err)
            return "cannot_connect", None
        except ApiError as err:
            LOGGER.debug("ViriCiti %s: validation failed: %s", group_id, err)
            return "cannot_connect", None
        except Exception:  # noqa: BLE001 - the form must show "unknown", not crash
            LOGGER.exception("ViriCiti %s: unexpected error while validating", group_id)
            return "unknown", None
        return None, group

    def _viriciti_fields(self, defaults: Mapping[str, Any]) -> dict[vol.Marker, Any]:
        return {
            vol.Required(CONF_API_KEY): PASSWORD,
            **advanced_section(defaults.get(CONF_BASE_URL, VIRICITI_BASE_URL)),
        }

    def _check_viriciti(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> tuple[str, str, str]:
        """Return the API key, group id and base URL; note field errors."""
        api_key = str(user_input[CONF_API_KEY]).strip()
        if not api_key:
            errors[CONF_API_KEY] = "invalid_api_key"
        group_id = str(user_input[CONF_GROUP_ID]).strip()
        if not group_id or group_id in {".", ".."}:
            errors[CONF_GROUP_ID] = "group_not_found"
        base_url = valid_base_url(str(user_input.get(CONF_BASE_URL, VIRICITI_BASE_URL)))
        if base_url is None:
            errors[ADVANCED] = "invalid_base_url"
        return api_key, group_id, base_url or VIRICITI_BASE_URL

    async def async_step_viriciti(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a ViriCiti API key, a charger group and the group's time zone."""
        typed: dict[str, Any] | None = None
        errors: dict[str, str] = {}
        if user_input is not None:
            typed = user_input
            user_input = with_sections(user_input)
        defaults: Mapping[str, Any] = user_input or {CONF_TIME_ZONE: self.hass.config.time_zone}
        if user_input is not None:
            api_key, group_id, base_url = self._check_viriciti(user_input, errors)
            time_zone = str(user_input.get(CONF_TIME_ZONE) or self.hass.config.time_zone).strip()
            if not await async_valid_time_zone(time_zone):
                errors[CONF_TIME_ZONE] = "invalid_time_zone"
            if not errors:
                await self.async_set_unique_id(group_id, raise_on_progress=False)
                self._abort_if_unique_id_configured()
                error, group = await self._async_read_group(api_key, group_id, base_url)
                if group is not None:
                    return self.async_create_entry(
                        title=f"ViriCiti {group.title}",
                        data={
                            CONF_VENDOR: VENDOR_VIRICITI,
                            CONF_API_KEY: api_key,
                            CONF_GROUP_ID: group_id,
                            CONF_BASE_URL: base_url,
                        },
                        options={
                            CONF_TIME_ZONE: time_zone,
                            CONF_DEFAULT_DURATION: DEFAULT_LIMIT_DURATION,
                        },
                    )
                errors["base"] = error or "unknown"
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_GROUP_ID, default=defaults.get(CONF_GROUP_ID, "")): str,
            **self._viriciti_fields(defaults),
            vol.Required(
                CONF_TIME_ZONE, default=defaults.get(CONF_TIME_ZONE, self.hass.config.time_zone)
            ): str,
        }
        return self.async_show_form(
            step_id="viriciti",
            # What the user typed stays in the form after an error, the API key too.
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), typed),
            errors=errors,
        )

    async def _async_step_viriciti_update(
        self, step_id: str, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Take a new API key (and, reconfiguring, a new address in the advanced section)."""
        errors: dict[str, str] = {}
        group_id: str = entry.data[CONF_GROUP_ID]
        if user_input is not None:
            values = {CONF_BASE_URL: entry.data[CONF_BASE_URL], **with_sections(user_input)}
            values[CONF_GROUP_ID] = group_id
            api_key, _, base_url = self._check_viriciti(values, errors)
            if not errors:
                error, group = await self._async_read_group(api_key, group_id, base_url)
                if group is not None:
                    return self.async_update_reload_and_abort(
                        entry,
                        data_updates={CONF_API_KEY: api_key, CONF_BASE_URL: base_url},
                        reason=update_reason(step_id == "reconfigure"),
                    )
                errors["base"] = error or "unknown"
        fields = self._viriciti_fields(
            {CONF_BASE_URL: entry.data[CONF_BASE_URL]} if step_id == "reconfigure" else {}
        )
        if step_id != "reconfigure":
            fields = {key: value for key, value in fields.items() if key == CONF_API_KEY}
        return self.async_show_form(
            step_id=f"viriciti_{step_id}",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), user_input),
            errors=errors,
            description_placeholders={"group": entry.title, "group_id": group_id},
        )

    async def async_step_viriciti_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the ViriCiti API key again."""
        return await self._async_step_viriciti_update(
            "reauth_confirm", self._get_reauth_entry(), user_input
        )

    async def async_step_viriciti_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the ViriCiti API key or address."""
        return await self._async_step_viriciti_update(
            "reconfigure", self._get_reconfigure_entry(), user_input
        )


class ViricitiOptionsFlow(OptionsFlowWithReload):
    """Options of a ViriCiti group: its time zone and how long a limit from the number lasts."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the group's options (the form's step id is the vendor's)."""
        return await self.async_step_viriciti(user_input)

    async def async_step_viriciti(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Options of a ViriCiti group: its time zone and how long a limit from the number lasts."""
        errors: dict[str, str] = {}
        options = self.config_entry.options
        if user_input is not None:
            time_zone = str(user_input[CONF_TIME_ZONE]).strip()
            duration = cv.time_period_dict(user_input[CONF_DEFAULT_DURATION])
            minutes = round(duration.total_seconds() / 60)
            if not await async_valid_time_zone(time_zone):
                errors[CONF_TIME_ZONE] = "invalid_time_zone"
            if not 1 <= minutes <= MAX_LIMIT_DURATION:
                errors[CONF_DEFAULT_DURATION] = "invalid_duration"
            if not errors:
                return self.async_create_entry(
                    data={CONF_TIME_ZONE: time_zone, CONF_DEFAULT_DURATION: minutes}
                )
        minutes = int(options.get(CONF_DEFAULT_DURATION, DEFAULT_LIMIT_DURATION))
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_TIME_ZONE,
                    default=options.get(CONF_TIME_ZONE, self.hass.config.time_zone),
                ): str,
                vol.Required(
                    CONF_DEFAULT_DURATION,
                    default={"hours": minutes // 60, "minutes": minutes % 60},
                ): DurationSelector(DurationSelectorConfig(enable_day=False)),
            }
        )
        return self.async_show_form(step_id="viriciti", data_schema=schema, errors=errors)
