"""The ViriCiti flows: an entry per API key with its first group; a subentry flow per group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import DurationSelector, DurationSelectorConfig

from ...api.errors import ApiError, AuthenticationError, NotFoundError, RateLimitedError
from ...api.viriciti import DEFAULT_BASE_URL as VIRICITI_BASE_URL, ViricitiClient, ViricitiGroup
from ...const import CONF_BASE_URL, CONF_VENDOR, DOMAIN, HA_2026_9, LOGGER
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
    DEFAULT_TITLE,
    MAX_LIMIT_DURATION,
    SUBENTRY_GROUP,
    VENDOR_VIRICITI,
)

if TYPE_CHECKING and HA_2026_9:
    import probatio as vol
else:
    import voluptuous as vol


async def async_read_group(
    hass: HomeAssistant, api_key: str, group_id: str, base_url: str
) -> tuple[str | None, ViricitiGroup | None]:
    """Read the group once (the one request that validates); return an error key or the group.

    Reads have no documented limit; the group's write slot is not touched.
    """
    try:
        client = ViricitiClient(async_get_session(hass), api_key, group_id, base_url=base_url)
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


def viriciti_entries(hass: HomeAssistant) -> list[ConfigEntry]:
    """Return every ViriCiti entry."""
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if entry.data.get(CONF_VENDOR) == VENDOR_VIRICITI
    ]


def configured_groups(hass: HomeAssistant) -> set[str]:
    """Return the ids of every ViriCiti group configured, under any key."""
    return {
        subentry.data[CONF_GROUP_ID]
        for entry in viriciti_entries(hass)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_GROUP
    }


def check_api_key(value: object, errors: dict[str, str]) -> str:
    """Return the API key without surrounding spaces; note the error when it can be none.

    The key travels in a header: empty, or with a control character (a line break, a NUL),
    it is no key, and the request would not even leave.
    """
    api_key = str(value).strip()
    if not api_key or not api_key.isprintable():
        errors[CONF_API_KEY] = "invalid_api_key"
    return api_key


def check_group_id(value: object, errors: dict[str, str]) -> str:
    """Return the group id without surrounding spaces; note the error when it can be none."""
    group_id = str(value).strip()
    if not group_id or group_id in {".", ".."}:
        errors[CONF_GROUP_ID] = "group_not_found"
    return group_id


def check_url(value: object, errors: dict[str, str]) -> str:
    """Return the API address without a trailing slash; note the error when it is none."""
    base_url = valid_base_url(str(value))
    if base_url is None:
        errors[ADVANCED] = "invalid_base_url"
    return base_url or VIRICITI_BASE_URL


async def async_check_time_zone(value: object, errors: dict[str, str]) -> str:
    """Return the time zone's name; note the error when there is no such zone."""
    time_zone = str(value).strip()
    if not await async_valid_time_zone(time_zone):
        errors[CONF_TIME_ZONE] = "invalid_time_zone"
    return time_zone


def group_data(
    group_id: str, time_zone: str, minutes: int = DEFAULT_LIMIT_DURATION
) -> dict[str, Any]:
    """Return a group subentry's data."""
    return {CONF_GROUP_ID: group_id, CONF_TIME_ZONE: time_zone, CONF_DEFAULT_DURATION: minutes}


def group_fields(defaults: Mapping[str, Any], time_zone: str) -> dict[vol.Marker, Any]:
    """Return the fields naming a group: its id and its time zone."""
    return {
        vol.Required(CONF_GROUP_ID, default=defaults.get(CONF_GROUP_ID, "")): str,
        vol.Required(CONF_TIME_ZONE, default=defaults.get(CONF_TIME_ZONE, time_zone)): str,
    }


def _key_taken(hass: HomeAssistant, api_key: str, base_url: str, *, but: str | None = None) -> bool:
    """Tell whether another ViriCiti entry has this key at this address."""
    return any(
        entry.entry_id != but
        and entry.data.get(CONF_API_KEY) == api_key
        and entry.data.get(CONF_BASE_URL) == base_url
        for entry in viriciti_entries(hass)
    )


class ViricitiFlow(ConfigFlow):
    """Add a ViriCiti API key with its first charger group; take a new key or address."""

    async def async_step_viriciti(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a ViriCiti API key, a first charger group and the group's time zone."""
        errors: dict[str, str] = {}
        values: Mapping[str, Any] = {}
        if user_input is not None:
            values = with_sections(user_input)
            group_id = check_group_id(values[CONF_GROUP_ID], errors)
            api_key = check_api_key(values[CONF_API_KEY], errors)
            base_url = check_url(values.get(CONF_BASE_URL, VIRICITI_BASE_URL), errors)
            time_zone = await async_check_time_zone(
                values.get(CONF_TIME_ZONE) or self.hass.config.time_zone, errors
            )
            if not errors and group_id in configured_groups(self.hass):
                return self.async_abort(reason="already_configured")
            if not errors and _key_taken(self.hass, api_key, base_url):
                # One entry per key: its groups are added to it.
                return self.async_abort(reason="viriciti_key_configured")
            if not errors:
                error, group = await async_read_group(self.hass, api_key, group_id, base_url)
                if group is not None:
                    return self.async_create_entry(
                        title=str(values.get(CONF_NAME) or "").strip() or DEFAULT_TITLE,
                        data={
                            CONF_VENDOR: VENDOR_VIRICITI,
                            CONF_API_KEY: api_key,
                            CONF_BASE_URL: base_url,
                        },
                        subentries=[
                            ConfigSubentryData(
                                data=group_data(group_id, time_zone),
                                subentry_type=SUBENTRY_GROUP,
                                title=group.title,
                                unique_id=group_id,
                            )
                        ],
                    )
                errors["base"] = error or "unknown"
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_GROUP_ID, default=values.get(CONF_GROUP_ID, "")): str,
            vol.Required(CONF_API_KEY): PASSWORD,
            **advanced_section(values.get(CONF_BASE_URL, VIRICITI_BASE_URL)),
            vol.Required(
                CONF_TIME_ZONE, default=values.get(CONF_TIME_ZONE, self.hass.config.time_zone)
            ): str,
            vol.Optional(CONF_NAME): str,
        }
        return self.async_show_form(
            step_id="viriciti",
            # What the user typed stays in the form after an error, the API key too.
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), user_input),
            errors=errors,
        )

    async def _async_step_viriciti_update(
        self, step_id: str, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Take a new API key (and, reconfiguring, a new address in the advanced section).

        The key is the entry's: it is checked once, with a read of one of its groups.
        """
        errors: dict[str, str] = {}
        groups = [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_GROUP]
        if user_input is not None:
            values = {CONF_BASE_URL: entry.data[CONF_BASE_URL], **with_sections(user_input)}
            api_key = check_api_key(values[CONF_API_KEY], errors)
            base_url = check_url(values[CONF_BASE_URL], errors)
            if not errors and _key_taken(self.hass, api_key, base_url, but=entry.entry_id):
                return self.async_abort(reason="viriciti_key_configured")
            if not errors:
                error: str | None = None
                if groups:
                    error, _ = await async_read_group(
                        self.hass, api_key, groups[0].data[CONF_GROUP_ID], base_url
                    )
                if error is None:
                    updates = {CONF_API_KEY: api_key, CONF_BASE_URL: base_url}
                    reason = update_reason(step_id == "reconfigure")
                    if entry.update_listeners:
                        # The running entry follows its data itself and sets itself up again
                        # (Home Assistant forbids reloading it from here).
                        return self.async_update_and_abort(
                            entry, data_updates=updates, reason=reason
                        )
                    return self.async_update_reload_and_abort(
                        entry, data_updates=updates, reason=reason
                    )
                errors["base"] = error
        fields: dict[vol.Marker, Any] = {vol.Required(CONF_API_KEY): PASSWORD}
        if step_id == "reconfigure":
            fields.update(advanced_section(entry.data[CONF_BASE_URL]))
        return self.async_show_form(
            step_id=f"viriciti_{step_id}",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), user_input),
            errors=errors,
            description_placeholders={"entry": entry.title},
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


class ViricitiGroupFlow(ConfigSubentryFlow):
    """Add a charger group to a ViriCiti entry; change a group's time zone or limit duration."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for a group's id and time zone; check the group with one read with the key."""
        entry = self._get_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            group_id = check_group_id(user_input[CONF_GROUP_ID], errors)
            time_zone = await async_check_time_zone(user_input[CONF_TIME_ZONE], errors)
            if not errors and group_id in configured_groups(self.hass):
                return self.async_abort(reason="already_configured")
            if not errors:
                error, group = await async_read_group(
                    self.hass, entry.data[CONF_API_KEY], group_id, entry.data[CONF_BASE_URL]
                )
                if group is not None:
                    return self.async_create_entry(
                        title=group.title,
                        data=group_data(group_id, time_zone),
                        unique_id=group_id,
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(group_fields(user_input or {}, self.hass.config.time_zone)),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the group's time zone and how long a limit from the number lasts."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        data = subentry.data
        errors: dict[str, str] = {}
        if user_input is not None:
            time_zone = await async_check_time_zone(user_input[CONF_TIME_ZONE], errors)
            duration = cv.time_period_dict(user_input[CONF_DEFAULT_DURATION])
            minutes = round(duration.total_seconds() / 60)
            if not 1 <= minutes <= MAX_LIMIT_DURATION:
                errors[CONF_DEFAULT_DURATION] = "invalid_duration"
            if not errors:
                # The running entry takes them without a reload (update listener).
                return self.async_update_and_abort(
                    entry,
                    subentry,
                    data_updates={CONF_TIME_ZONE: time_zone, CONF_DEFAULT_DURATION: minutes},
                )
        minutes = int(data.get(CONF_DEFAULT_DURATION, DEFAULT_LIMIT_DURATION))
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_TIME_ZONE,
                    default=data.get(CONF_TIME_ZONE, self.hass.config.time_zone),
                ): str,
                vol.Required(
                    CONF_DEFAULT_DURATION,
                    default={"hours": minutes // 60, "minutes": minutes % 60},
                ): DurationSelector(DurationSelectorConfig(enable_day=False)),
            }
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
            description_placeholders={"group": subentry.title},
        )
