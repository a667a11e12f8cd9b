"""The Easee steps of the config flow (account login, reauth, reconfigure) and its options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import math
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
)

from ...api.easee import (
    DEFAULT_BASE_URL as EASEE_BASE_URL,
    EaseeClient,
    EaseeTokens,
    RequestKind,
    account_id,
)
from ...api.errors import AccountBlockedError, ApiError, AuthenticationError, RateLimitedError
from ...budget import OverBudgetError
from ...const import CONF_BASE_URL, CONF_VENDOR, HA_2026_9, LOGGER
from ...forms import (
    ADVANCED,
    PASSWORD,
    USERNAME,
    advanced_section,
    update_reason,
    valid_base_url,
    with_sections,
)
from ...session import async_get_session, async_user_agent
from .account import (
    EaseeAccount,
    async_get_easee_account,
    async_note_easee_ban,
    async_note_easee_pause,
    easee_pause_until,
)
from .const import (
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_KEEP_DYNAMIC_LIMITS,
    CONF_SITE_IDS,
    CONF_STATE_INTERVAL,
    CONF_TOKENS,
    DEFAULT_STATE_INTERVAL,
    MAX_STATE_INTERVAL,
    MIN_STATE_INTERVAL,
    VENDOR_EASEE,
)
from .runtime import EaseeRuntime, followed_sites

if TYPE_CHECKING and HA_2026_9:
    import probatio as vol
else:
    import voluptuous as vol

# Without a usable Retry-After, the form asks for this long a pause.
_EASEE_RETRY_MINUTES = 60
# A dynamic limit's time to live: up to a day (0 = until the charger resets it).
_MAX_TTL_MINUTES = 1440


class EaseeFlow(ConfigFlow):
    """Add an Easee account by its login; take a new password."""

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

        def count(kind: RequestKind) -> Callable[[], None]:
            # Raises OverBudgetError: nothing is sent.
            give_back = account.gate(kind) if account is not None else None
            moment = time.time()
            sent.append(moment)

            def never_left() -> None:
                # No connection was made: Easee saw nothing, the window counts nothing.
                sent.remove(moment)
                if give_back is not None:
                    give_back()

            return never_left

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
            fields[vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, ""))] = USERNAME
        fields[vol.Required(CONF_PASSWORD)] = PASSWORD
        fields.update(advanced_section(defaults.get(CONF_BASE_URL, EASEE_BASE_URL)))
        return vol.Schema(fields)

    async def async_step_easee(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for an Easee account's user name and password."""
        typed: dict[str, Any] | None = None
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            typed = user_input
            user_input = with_sections(user_input)
            username = str(user_input[CONF_USERNAME]).strip()
            password = str(user_input[CONF_PASSWORD])
            base_url = valid_base_url(str(user_input.get(CONF_BASE_URL, EASEE_BASE_URL)))
            if base_url is None:
                errors[ADVANCED] = "invalid_base_url"
            elif not username or not password:
                # A login that cannot succeed would still count towards Easee's login limit.
                errors["base"] = "credentials_missing"
            else:
                error, placeholders, tokens = await self._async_login_easee(
                    username, password, base_url
                )
                if tokens is not None:
                    await self.async_set_unique_id(
                        account_id(tokens.access_token, username), raise_on_progress=False
                    )
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
            # What the user typed stays in the form after an error, the password too.
            data_schema=self.add_suggested_values_to_schema(
                self._easee_schema(user_input or {}), typed
            ),
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
                **with_sections(user_input),
            }
            username = str(values[CONF_USERNAME]).strip()
            base_url = valid_base_url(str(values[CONF_BASE_URL]))
            if base_url is None:
                errors[ADVANCED] = "invalid_base_url"
            elif not username or not str(values[CONF_PASSWORD]):
                errors["base"] = "credentials_missing"
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
                        reason=update_reason(not reauth),
                    )
                errors["base"] = error or "unknown"
        return self.async_show_form(
            step_id=f"easee_{step_id}",
            data_schema=self.add_suggested_values_to_schema(
                self._easee_schema(
                    {
                        CONF_BASE_URL: entry.data[CONF_BASE_URL],
                        CONF_USERNAME: entry.data[CONF_USERNAME],
                    },
                    with_username=not reauth,
                ),
                user_input,
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_easee_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Easee password again."""
        return await self._async_step_easee_update(
            "reauth_confirm", self._get_reauth_entry(), user_input
        )

    async def async_step_easee_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the Easee credentials (and, in the advanced section, the API address)."""
        return await self._async_step_easee_update(
            "reconfigure", self._get_reconfigure_entry(), user_input
        )


class EaseeOptionsFlow(OptionsFlowWithReload):
    """Options of an Easee account: how often states are read, the dynamic limits, the sites."""

    def _account_sites(self) -> dict[int, str] | None:
        """Return the account's sites as the running entry knows them; None when it is not.

        The form asks Easee nothing: a request here would spend the account's budget.
        """
        entry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return None
        runtime = getattr(entry, "runtime_data", None)
        return runtime.account_sites if isinstance(runtime, EaseeRuntime) else None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the account's options."""
        options = self.config_entry.options
        account_sites = self._account_sites()
        errors: dict[str, str] = {}
        if user_input is not None:
            # The number selector lets NaN through: no comparison with its range refuses it.
            errors = {
                key: "not_a_number"
                for key in (CONF_STATE_INTERVAL, CONF_DYNAMIC_CURRENT_TTL)
                if not math.isfinite(float(user_input[key]))
            }
        if user_input is not None and not errors:
            data: dict[str, Any] = {
                CONF_STATE_INTERVAL: int(user_input[CONF_STATE_INTERVAL]),
                CONF_KEEP_DYNAMIC_LIMITS: bool(user_input[CONF_KEEP_DYNAMIC_LIMITS]),
                CONF_DYNAMIC_CURRENT_TTL: int(user_input[CONF_DYNAMIC_CURRENT_TTL]),
            }
            # Not loaded, the sites were not in the form: the choice stays as it was.
            chosen = (
                user_input.get(CONF_SITE_IDS, [])
                if account_sites is not None
                else options.get(CONF_SITE_IDS, [])
            )
            # None chosen is every site (no key): a site added later is followed too.
            if site_ids := sorted({str(site_id) for site_id in chosen}, key=int):
                data[CONF_SITE_IDS] = site_ids
            return self.async_create_entry(data=data)
        fields: dict[vol.Marker, Any] = {
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
        if account_sites is None:
            errors["base"] = "easee_sites_unknown"
        else:
            # A chosen site the account no longer has is not offered (and not kept).
            chosen = [
                str(site_id)
                for site_id in sorted(followed_sites(options) or ())
                if site_id in account_sites
            ]
            fields[vol.Optional(CONF_SITE_IDS, default=chosen)] = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=str(site_id), label=name)
                        for site_id, name in account_sites.items()
                    ],
                    # No mode: the frontend ticks boxes for a few sites, a dropdown for many.
                    multiple=True,
                )
            )
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields), errors=errors)
