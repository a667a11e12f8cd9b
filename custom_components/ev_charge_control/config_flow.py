"""Config flow: a menu of vendors, one step per vendor, reauth and reconfigure."""

from __future__ import annotations

from collections.abc import Mapping
import math
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    BooleanSelector,
    DurationSelector,
    DurationSelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import dt as dt_util
from yarl import URL

from .api.easee import (
    DEFAULT_BASE_URL as EASEE_BASE_URL,
    EaseeClient,
    EaseeTokens,
    RequestKind,
    account_id,
)
from .api.errors import (
    AccountBlockedError,
    ApiError,
    AuthenticationError,
    ChargerUnreachableError,
    NotFoundError,
    RateLimitedError,
)
from .api.goe import DEFAULT_BASE_URL, GoeClient, is_valid_grid_token, normalize_serial
from .api.viriciti import DEFAULT_BASE_URL as VIRICITI_BASE_URL, ViricitiClient, ViricitiGroup
from .budget import OverBudgetError
from .const import (
    CONF_BASE_URL,
    CONF_DEFAULT_DURATION,
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_GRID_TOKEN,
    CONF_GROUP_ID,
    CONF_KEEP_DYNAMIC_LIMITS,
    CONF_SERIAL,
    CONF_STATE_INTERVAL,
    CONF_TIME_ZONE,
    CONF_TOKENS,
    CONF_VENDOR,
    DEFAULT_LIMIT_DURATION,
    DEFAULT_STATE_INTERVAL,
    DOMAIN,
    LOGGER,
    MAX_LIMIT_DURATION,
    MAX_STATE_INTERVAL,
    MIN_STATE_INTERVAL,
    VENDOR_EASEE,
    VENDOR_GOE,
    VENDOR_VIRICITI,
)
from .session import async_get_session, async_user_agent
from .vendors.easee.account import (
    EaseeAccount,
    async_get_easee_account,
    async_note_easee_ban,
    async_note_easee_pause,
    easee_pause_until,
)
from .vendors.goe import async_get_goe_budget

if TYPE_CHECKING:
    # Home Assistant 2026.9 and newer validate with probatio, installed under voluptuous's
    # name at run time; its types are what their signatures ask for.
    import probatio as vol
else:
    import voluptuous as vol

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_USERNAME = TextSelector(TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username"))
# Without a usable Retry-After, the form asks for this long a pause.
_EASEE_RETRY_MINUTES = 60
# A dynamic limit's time to live: up to a day (0 = until the charger resets it).
_MAX_TTL_MINUTES = 1440


# The form section that holds the API address, collapsed: only for simulators and test systems.
ADVANCED = "advanced"


def _with_sections(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return the form's values with the fields of its sections beside the others."""
    values: dict[str, Any] = {}
    for key, value in user_input.items():
        if isinstance(value, Mapping):
            values.update(value)
        else:
            values[key] = value
    return values


def _advanced(base_url: str) -> dict[vol.Marker, Any]:
    """Return the collapsed section asking for the API address."""
    return {
        vol.Required(ADVANCED): section(
            vol.Schema({vol.Required(CONF_BASE_URL, default=base_url): _URL}),
            {"collapsed": True},
        )
    }


async def _async_valid_time_zone(name: str) -> bool:
    """Tell whether a time zone exists (its data is loaded off the event loop)."""
    return bool(name) and await dt_util.async_get_time_zone(name) is not None


def _valid_base_url(value: str) -> str | None:
    """Return the URL without a trailing slash, or None when it is no http(s) URL."""
    try:
        url = URL(value.strip())
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host:
        return None
    return str(url).rstrip("/")


class EvChargeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a charger (or account, or group) of one of the supported vendors."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlowWithReload:
        """Return the options flow (Easee: polling and dynamic limits)."""
        return EvChargeOptionsFlow()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Only vendors with something to tune have options."""
        return config_entry.data.get(CONF_VENDOR) in (VENDOR_EASEE, VENDOR_VIRICITI)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user pick the vendor."""
        return self.async_show_menu(
            step_id="user", menu_options=[VENDOR_GOE, VENDOR_EASEE, VENDOR_VIRICITI]
        )

    async def _async_validate_goe(
        self, serial: str, token: str, base_url: str
    ) -> tuple[str | None, dict[str, str]]:
        """Make the one status request that validates; return an error key and placeholders."""
        budget = await async_get_goe_budget(self.hass, serial)
        now = time.time()
        if not await budget.async_take_read(now):
            minutes = math.ceil((budget.status.next_available(now) - now) / 60)
            return "rate_limited", {"minutes": str(max(1, minutes))}
        client = GoeClient(async_get_session(self.hass), serial, token, base_url=base_url)
        try:
            status = await client.status()
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
        fields[vol.Required(CONF_GRID_TOKEN)] = _PASSWORD
        fields.update(_advanced(user_input.get(CONF_BASE_URL, DEFAULT_BASE_URL)))
        return vol.Schema(fields)

    def _check_token_and_url(
        self, user_input: Mapping[str, Any], errors: dict[str, str]
    ) -> tuple[str, str]:
        token = "".join(str(user_input[CONF_GRID_TOKEN]).split())
        if not is_valid_grid_token(token):
            errors[CONF_GRID_TOKEN] = "invalid_grid_token"
        base_url = _valid_base_url(str(user_input.get(CONF_BASE_URL, DEFAULT_BASE_URL)))
        if base_url is None:
            errors[ADVANCED] = "invalid_base_url"
        return token, base_url or DEFAULT_BASE_URL

    async def async_step_goe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a go-e charger's serial and grid token."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            user_input = _with_sections(user_input)
            serial = ""
            try:
                serial = normalize_serial(str(user_input[CONF_SERIAL]))
            except ValueError:
                errors[CONF_SERIAL] = "invalid_serial"
            token, base_url = self._check_token_and_url(user_input, errors)
            if not errors:
                await self.async_set_unique_id(serial)
                self._abort_if_unique_id_configured()
                error, placeholders = await self._async_validate_goe(serial, token, base_url)
                if error is None:
                    return self.async_create_entry(
                        title=f"go-eCharger {serial}",
                        data={
                            CONF_VENDOR: VENDOR_GOE,
                            CONF_SERIAL: serial,
                            CONF_GRID_TOKEN: token,
                            CONF_BASE_URL: base_url,
                        },
                    )
                errors["base"] = error
        return self.async_show_form(
            step_id="goe",
            data_schema=self._goe_schema(user_input or {}, with_serial=True),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start re-authentication when the vendor refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new grid token (go-e) or password (Easee)."""
        entry = self._get_reauth_entry()
        if entry.data.get(CONF_VENDOR) == VENDOR_EASEE:
            return await self._async_step_easee_update("reauth_confirm", entry, user_input)
        if entry.data.get(CONF_VENDOR) == VENDOR_VIRICITI:
            return await self._async_step_viriciti_update("reauth_confirm", entry, user_input)
        return await self._async_step_goe_update("reauth_confirm", entry, user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the credentials (and, in the form's advanced section, the API address)."""
        entry = self._get_reconfigure_entry()
        if entry.data.get(CONF_VENDOR) == VENDOR_EASEE:
            return await self._async_step_easee_update("reconfigure", entry, user_input)
        if entry.data.get(CONF_VENDOR) == VENDOR_VIRICITI:
            return await self._async_step_viriciti_update("reconfigure", entry, user_input)
        return await self._async_step_goe_update("reconfigure", entry, user_input)

    async def _async_step_goe_update(
        self, step_id: str, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"serial": entry.data[CONF_SERIAL]}
        if user_input is not None:
            values = {CONF_BASE_URL: entry.data[CONF_BASE_URL], **_with_sections(user_input)}
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
                        reason=(
                            "reconfigure_successful"
                            if self.source == SOURCE_RECONFIGURE
                            else "reauth_successful"
                        ),
                    )
                errors["base"] = error
        return self.async_show_form(
            step_id=step_id,
            data_schema=self._goe_schema(
                {CONF_BASE_URL: entry.data[CONF_BASE_URL]}, with_serial=False
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    # Easee

    async def _async_easee_account(self, username: str, known: str | None) -> EaseeAccount | None:
        """Return the budget of the account a login is for, when it is known before the login."""
        if known is None:
            # A new flow for an account that is already set up (same user name) still counts.
            known = next(
                (
                    entry.unique_id
                    for entry in self._async_current_entries(include_ignore=False)
                    if entry.data.get(CONF_VENDOR) == VENDOR_EASEE
                    and str(entry.data.get(CONF_USERNAME, "")).strip().lower() == username.lower()
                ),
                None,
            )
        return None if known is None else await async_get_easee_account(self.hass, known)

    async def _async_login_easee(
        self, username: str, password: str, base_url: str, known: str | None = None
    ) -> tuple[str | None, dict[str, str], EaseeTokens | None]:
        """Log in once; return an error key and placeholders, or the tokens.

        The login counts in the account's request window like every other request of the
        account: through its budget when the account is known (reauth, reconfigure, an account
        set up already), else added to the window once the token names the account.
        """
        # Easee limits by IP: while any account here waits (or a login was just refused with
        # a rate limit), a login would only add a strike towards a 24-hour block.
        now = time.time()
        if (until := easee_pause_until(self.hass, now)) is not None:
            return "rate_limited", {"minutes": str(max(1, math.ceil((until - now) / 60)))}, None
        account = await self._async_easee_account(username, known)
        sent: list[float] = []

        def count(kind: RequestKind) -> None:
            if account is not None:
                account.gate(kind)  # raises OverBudgetError: nothing is sent
            sent.append(time.time())

        client = EaseeClient(
            async_get_session(self.hass),
            username,
            password,
            base_url=base_url,
            user_agent=async_user_agent(self.hass),
            request_gate=count,
        )
        try:
            tokens = await client.login()
        except OverBudgetError as err:
            minutes = max(1, math.ceil((err.retry_at - time.time()) / 60))
            return "rate_limited", {"minutes": str(minutes)}, None
        except AuthenticationError:
            return "invalid_auth", {}, None
        except AccountBlockedError:
            # Easee bans for 24 hours: a shorter wait would only strike again.
            until = async_note_easee_ban(self.hass)
            return "rate_limited", {"minutes": str(round((until - time.time()) / 60))}, None
        except RateLimitedError as err:
            seconds = (
                _EASEE_RETRY_MINUTES * 60 if err.retry_after is None else max(0, err.retry_after)
            )
            async_note_easee_pause(self.hass, time.time() + seconds)
            return "rate_limited", {"minutes": str(max(1, math.ceil(seconds / 60)))}, None
        except ApiError as err:
            LOGGER.debug("Easee: login failed: %s", err)
            return "cannot_connect", {}, None
        except Exception:  # noqa: BLE001 - the form must show "unknown", not crash
            LOGGER.exception("Easee: unexpected error while logging in")
            return "unknown", {}, None
        if account is None:
            account = await async_get_easee_account(
                self.hass, account_id(tokens.access_token, username)
            )
            account.async_record(sent)
        return None, {}, tokens

    def _easee_schema(
        self, defaults: Mapping[str, Any], *, with_username: bool = True
    ) -> vol.Schema:
        fields: dict[vol.Marker, Any] = {}
        if with_username:
            fields[vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, ""))] = _USERNAME
        fields[vol.Required(CONF_PASSWORD)] = _PASSWORD
        fields.update(_advanced(defaults.get(CONF_BASE_URL, EASEE_BASE_URL)))
        return vol.Schema(fields)

    async def async_step_easee(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for an Easee account's user name and password."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            user_input = _with_sections(user_input)
            username = str(user_input[CONF_USERNAME]).strip()
            password = str(user_input[CONF_PASSWORD])
            base_url = _valid_base_url(str(user_input.get(CONF_BASE_URL, EASEE_BASE_URL)))
            if base_url is None:
                errors[ADVANCED] = "invalid_base_url"
            else:
                error, placeholders, tokens = await self._async_login_easee(
                    username, password, base_url
                )
                if tokens is not None:
                    await self.async_set_unique_id(account_id(tokens.access_token, username))
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(
                        title=f"Easee {username}",
                        data={
                            CONF_VENDOR: VENDOR_EASEE,
                            CONF_USERNAME: username,
                            CONF_PASSWORD: password,
                            CONF_BASE_URL: base_url,
                            CONF_TOKENS: tokens.as_dict(),
                        },
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id="easee",
            data_schema=self._easee_schema(user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_step_easee_update(
        self, step_id: str, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        reauth = step_id == "reauth_confirm"
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"username": entry.data[CONF_USERNAME]}
        if user_input is not None:
            values = {
                CONF_BASE_URL: entry.data[CONF_BASE_URL],
                CONF_USERNAME: entry.data[CONF_USERNAME],
                **_with_sections(user_input),
            }
            username = str(values[CONF_USERNAME]).strip()
            base_url = _valid_base_url(str(values[CONF_BASE_URL]))
            if base_url is None:
                errors[ADVANCED] = "invalid_base_url"
            else:
                error, extra, tokens = await self._async_login_easee(
                    username, str(values[CONF_PASSWORD]), base_url, entry.unique_id
                )
                placeholders.update(extra)
                if tokens is not None:
                    await self.async_set_unique_id(account_id(tokens.access_token, username))
                    self._abort_if_unique_id_mismatch(reason="wrong_account")
                    return self.async_update_reload_and_abort(
                        entry,
                        data_updates={
                            CONF_USERNAME: username,
                            CONF_PASSWORD: str(values[CONF_PASSWORD]),
                            CONF_BASE_URL: base_url,
                            CONF_TOKENS: tokens.as_dict(),
                        },
                        reason="reauth_successful" if reauth else "reconfigure_successful",
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id=f"easee_{step_id}",
            data_schema=self._easee_schema(
                {
                    CONF_BASE_URL: entry.data[CONF_BASE_URL],
                    CONF_USERNAME: entry.data[CONF_USERNAME],
                },
                with_username=not reauth,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_easee_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Easee password again (the form's own step id)."""
        return await self.async_step_reauth_confirm(user_input)

    async def async_step_easee_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the Easee credentials (the form's own step id)."""
        return await self.async_step_reconfigure(user_input)

    # ViriCiti

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
            vol.Required(CONF_API_KEY): _PASSWORD,
            **_advanced(defaults.get(CONF_BASE_URL, VIRICITI_BASE_URL)),
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
        base_url = _valid_base_url(str(user_input.get(CONF_BASE_URL, VIRICITI_BASE_URL)))
        if base_url is None:
            errors[ADVANCED] = "invalid_base_url"
        return api_key, group_id, base_url or VIRICITI_BASE_URL

    async def async_step_viriciti(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a ViriCiti API key, a charger group and the group's time zone."""
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = _with_sections(user_input)
        defaults: Mapping[str, Any] = user_input or {CONF_TIME_ZONE: self.hass.config.time_zone}
        if user_input is not None:
            api_key, group_id, base_url = self._check_viriciti(user_input, errors)
            time_zone = str(user_input.get(CONF_TIME_ZONE) or self.hass.config.time_zone).strip()
            if not await _async_valid_time_zone(time_zone):
                errors[CONF_TIME_ZONE] = "invalid_time_zone"
            if not errors:
                await self.async_set_unique_id(group_id)
                self._abort_if_unique_id_configured()
                error, group = await self._async_read_group(api_key, group_id, base_url)
                if group is not None:
                    return self.async_create_entry(
                        title=group.title,
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
            step_id="viriciti", data_schema=vol.Schema(fields), errors=errors
        )

    async def _async_step_viriciti_update(
        self, step_id: str, entry: ConfigEntry, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Take a new API key (and, reconfiguring, a new address in the advanced section)."""
        errors: dict[str, str] = {}
        group_id: str = entry.data[CONF_GROUP_ID]
        if user_input is not None:
            values = {CONF_BASE_URL: entry.data[CONF_BASE_URL], **_with_sections(user_input)}
            values[CONF_GROUP_ID] = group_id
            api_key, _, base_url = self._check_viriciti(values, errors)
            if not errors:
                error, group = await self._async_read_group(api_key, group_id, base_url)
                if group is not None:
                    return self.async_update_reload_and_abort(
                        entry,
                        data_updates={CONF_API_KEY: api_key, CONF_BASE_URL: base_url},
                        reason=(
                            "reconfigure_successful"
                            if self.source == SOURCE_RECONFIGURE
                            else "reauth_successful"
                        ),
                    )
                errors["base"] = error or "unknown"
        fields = self._viriciti_fields(
            {CONF_BASE_URL: entry.data[CONF_BASE_URL]} if step_id == "reconfigure" else {}
        )
        if step_id != "reconfigure":
            fields = {key: value for key, value in fields.items() if key == CONF_API_KEY}
        return self.async_show_form(
            step_id=f"viriciti_{step_id}",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"group": entry.title, "group_id": group_id},
        )

    async def async_step_viriciti_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the ViriCiti API key again (the form's own step id)."""
        return await self.async_step_reauth_confirm(user_input)

    async def async_step_viriciti_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the ViriCiti API key or address (the form's own step id)."""
        return await self.async_step_reconfigure(user_input)


class EvChargeOptionsFlow(OptionsFlowWithReload):
    """Options of an Easee account (reads, dynamic limits) or a ViriCiti group (zone, duration)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options of the entry's vendor."""
        if self.config_entry.data.get(CONF_VENDOR) == VENDOR_VIRICITI:
            return await self.async_step_viriciti(user_input)
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_STATE_INTERVAL: int(user_input[CONF_STATE_INTERVAL]),
                    CONF_KEEP_DYNAMIC_LIMITS: bool(user_input[CONF_KEEP_DYNAMIC_LIMITS]),
                    CONF_DYNAMIC_CURRENT_TTL: int(user_input[CONF_DYNAMIC_CURRENT_TTL]),
                }
            )
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_STATE_INTERVAL,
                    default=options.get(CONF_STATE_INTERVAL, DEFAULT_STATE_INTERVAL),
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=MIN_STATE_INTERVAL,
                        max=MAX_STATE_INTERVAL,
                        step=1,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
                vol.Required(
                    CONF_KEEP_DYNAMIC_LIMITS,
                    default=options.get(CONF_KEEP_DYNAMIC_LIMITS, False),
                ): BooleanSelector(),
                vol.Required(
                    CONF_DYNAMIC_CURRENT_TTL,
                    default=options.get(CONF_DYNAMIC_CURRENT_TTL, 0),
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0,
                        max=_MAX_TTL_MINUTES,
                        step=1,
                        unit_of_measurement="min",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)

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
            if not await _async_valid_time_zone(time_zone):
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
