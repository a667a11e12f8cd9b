"""Easee accounts: one budget and poller per account, a coordinator per charger and circuit."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
import time
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
)
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from ...api.easee import EaseeCharger, EaseeCircuit, EaseeClient, EaseeSite, EaseeTokens
from ...api.easee_stream import EaseeStream, stream_url
from ...api.errors import (
    AccountBlockedError,
    AuthenticationError,
    EvChargeControlError,
    NotFoundError,
    RateLimitedError,
)
from ...budget import OverBudgetError
from ...const import CONF_BASE_URL, DOMAIN, LOGGER, LONG_LIVED_TASK
from ...errors import not_ready, read_failure
from ...issues import async_delete_legacy_issues
from ...runtime import EntitySpec, EvChargeConfigEntry, VendorRuntime
from ...saved_reads import SavedReads, async_remove_saved_reads, dump, load
from ...session import async_get_session, async_user_agent
from .account import EaseeAccount, async_get_easee_account
from .const import (
    CONF_DYNAMIC_CURRENT_TTL,
    CONF_KEEP_DYNAMIC_LIMITS,
    CONF_SITE_IDS,
    CONF_STATE_INTERVAL,
    CONF_TOKENS,
    DEFAULT_STATE_INTERVAL,
)
from .coordinator import (
    PLAN_READS,
    EaseeChargerCoordinator,
    EaseeChargerData,
    EaseeCircuitCoordinator,
    EaseeCircuitData,
)
from .descriptions import CHARGER_DESCRIPTIONS, CIRCUIT_DESCRIPTIONS
from .stream import EaseeStreamRunner

STRUCTURE_INTERVAL: Final = timedelta(hours=6)
# Easee answers a site's details about 10 times an hour: whatever asks for the structure again
# (a charger gone, a failed set-up retried), it is read at most this often in an hour.
STRUCTURE_READS_PER_HOUR: Final = 5
STRUCTURE_WINDOW: Final = timedelta(hours=1)
# While the stream is up, REST only reconciles: each state this often (configs every 15 min).
RECONCILE_INTERVAL: Final = timedelta(minutes=15)
# Where the hub is, when not beside the REST base URL (Easee's own cloud: its own host).
CONF_STREAM_URL: Final = "stream_url"


def _now() -> float:
    return time.time()


def _utc(timestamp: float) -> datetime:
    return dt_util.utc_from_timestamp(timestamp)


class EaseeSiteReader:
    """One site: every charger's state and config in one request per state interval."""

    def __init__(self, runtime: EaseeRuntime, site_id: int) -> None:
        self.runtime = runtime
        self.site_id = site_id
        self.attempt: float | None = None

    def chargers(self) -> list[EaseeChargerCoordinator]:
        """Return the account's chargers on this site."""
        return [
            charger
            for charger in self.runtime.chargers.values()
            if charger.site is not None
            and charger.site.id == self.site_id
            and self.runtime.reads_site_of(charger)
        ]

    def due(self, now: float) -> bool:
        """Tell whether the poller should read the site now."""
        return self.attempt is None or now - self.attempt >= self.runtime.state_interval

    def next_at(self) -> float:
        """Return when the next read is due."""
        return (self.attempt or 0.0) + self.runtime.state_interval

    async def async_refresh(self) -> None:
        """Read the site's state; hand each charger its part, then read the plans due."""
        runtime = self.runtime
        self.attempt = _now()
        chargers = self.chargers()
        try:
            site_state = await runtime.client.get_site_state(self.site_id)
        except OverBudgetError as err:
            for charger in chargers:
                charger.async_site_read_failed(read_failure(err), keep=True)
            return
        except EvChargeControlError as err:
            failure = runtime.async_handle_read_error(err)
            if isinstance(failure, ConfigEntryAuthFailed):
                runtime.entry.async_start_reauth(runtime.hass)
            # The account waiting (429) is not the chargers' fault: they keep their values.
            for charger in chargers:
                charger.async_site_read_failed(failure, keep=isinstance(err, RateLimitedError))
            return
        runtime.account.async_request_succeeded()
        read_at = _now()
        for charger in chargers:
            charger.async_site_read(site_state.chargers.get(charger.charger_id), read_at)
        # Charge plans are not in the site's state: each charger's is read on its own interval.
        for charger in chargers:
            if charger.plan_due(_now()):
                # Both plans or neither: a basic plan read alone would be read again.
                if not runtime.account.can_read(_now(), PLAN_READS):
                    break
                await charger.async_read_plan()


def _identifiers(chargers: set[str], circuits: set[int], sites: set[int]) -> set[str]:
    """Return the device identifiers (ours) of these chargers, circuits and sites."""
    return (
        {f"easee_{c}" for c in chargers}
        | {f"easee_circuit_{c}" for c in circuits}
        | {f"easee_site_{s}" for s in sites}
    )


class EaseeRuntime(VendorRuntime):
    """The running side of one Easee config entry (one account, all its chargers)."""

    platforms = (
        Platform.BINARY_SENSOR,
        Platform.BUTTON,
        Platform.NUMBER,
        Platform.SENSOR,
        Platform.SWITCH,
    )

    def __init__(
        self,
        hass: HomeAssistant,
        entry: EvChargeConfigEntry,
        account: EaseeAccount,
    ) -> None:
        super().__init__(dict(entry.options))
        self.hass = hass
        self.entry = entry
        self.account = account
        tokens = entry.data.get(CONF_TOKENS)
        self.client = EaseeClient(
            async_get_session(hass),
            entry.data[CONF_USERNAME],
            entry.data[CONF_PASSWORD],
            base_url=entry.data[CONF_BASE_URL],
            user_agent=async_user_agent(hass),
            tokens=EaseeTokens.from_dict(tokens) if isinstance(tokens, Mapping) else None,
            on_tokens=self._save_tokens,
            request_gate=account.gate,
        )
        self.stream = EaseeStreamRunner(
            self,
            EaseeStream(
                self.client,
                async_get_session(hass),
                url=entry.data.get(CONF_STREAM_URL) or stream_url(entry.data[CONF_BASE_URL]),
                user_agent=async_user_agent(hass),
            ),
        )
        self.chargers: dict[str, EaseeChargerCoordinator] = {}
        self.circuits: dict[int, EaseeCircuitCoordinator] = {}
        # The followed sites in detail; every site of the account by name (the options' list).
        self.sites: dict[int, EaseeSite] = {}
        self.account_sites: dict[int, str] = {}
        self.site_readers: dict[int, EaseeSiteReader] = {}
        # The entity keys each circuit was given: a master found later adds only what is new.
        self._circuit_keys: dict[int, set[str]] = {}
        self.structure_at: float | None = None
        self.structure_wanted = False
        self._poll_lock = asyncio.Lock()
        self._unsub_poll: CALLBACK_TYPE | None = None
        # What the slow reads showed, for the next start (keyed by the account and its API).
        self.reads = SavedReads(
            hass,
            reads_key(entry),
            f"{entry.data[CONF_BASE_URL]} {entry.unique_id}",
            self._collect_reads,
        )
        # Until when a start whose last run streamed waits for the stream before reading
        # states by REST (the stream's subscription brings the values).
        self._stream_expected_until: float | None = None
        # Only a started runtime polls; set-up failing or the entry unloading stops it for good.
        self._running = False

    @property
    def state_interval(self) -> float:
        """Return how often each charger's state is read, in seconds.

        The configured interval while the stream is down; while it is up the stream brings
        the values and REST only reconciles, every 15 minutes.
        """
        configured = float(self.options.get(CONF_STATE_INTERVAL, DEFAULT_STATE_INTERVAL))
        if self.stream.up or self._stream_expected(_now()):
            return max(configured, RECONCILE_INTERVAL.total_seconds())
        return configured

    def _stream_expected(self, now: float) -> bool:
        until = self._stream_expected_until
        return until is not None and now < until

    @callback
    def async_stream_changed(self) -> None:
        """Poll at the pace the stream now allows (it came up or went down); show it."""
        if self._running:
            self._schedule_poll()
        for charger in self.chargers.values():
            charger.async_update_listeners()

    @property
    def followed_sites(self) -> frozenset[int] | None:
        """Return the ids of the sites the entry follows; None: every site, new ones too."""
        return followed_sites(self.options)

    def follows(self, site_id: int) -> bool:
        """Tell whether the entry follows a site."""
        chosen = self.followed_sites
        return chosen is None or site_id in chosen

    @callback
    def _save_tokens(self, tokens: EaseeTokens) -> None:
        """Keep fresh tokens in the entry, so a restart needs no login."""
        self.hass.config_entries.async_update_entry(
            self.entry, data={**self.entry.data, CONF_TOKENS: tokens.as_dict()}
        )

    # Entities

    def entity_specs(self, platform: Platform) -> list[EntitySpec]:
        """Return the entities of a platform for every charger and circuit."""
        specs: list[EntitySpec] = []
        for charger in self.chargers.values():
            specs.extend(self._charger_specs(charger, platform))
        for circuit in self.circuits.values():
            specs.extend(self._circuit_specs_once(circuit, platform, setting_up=True))
        return specs

    @staticmethod
    def _charger_specs(
        coordinator: EaseeChargerCoordinator, platform: Platform
    ) -> list[EntitySpec]:
        return [
            (coordinator, description)
            for description in CHARGER_DESCRIPTIONS.get(platform, ())
            if description.exists_fn(coordinator)
        ]

    @staticmethod
    def _circuit_specs(
        coordinator: EaseeCircuitCoordinator, platform: Platform
    ) -> list[EntitySpec]:
        return [
            (coordinator, description)
            for description in CIRCUIT_DESCRIPTIONS.get(platform, ())
            if description.exists_fn(coordinator)
        ]

    # Errors

    @callback
    def async_handle_read_error(
        self, err: EvChargeControlError
    ) -> ConfigEntryAuthFailed | UpdateFailed:
        """Note what a failed read says about the account; return what the coordinator raises.

        A ban stops the account for a day, a rate limit pauses it, a charger or circuit gone
        has the structure read again; a refused read of one resource pauses nothing.
        Schedules nothing: the running poller waits for the pause the account now records.
        """
        blocked_until: float | None = None
        if isinstance(err, AccountBlockedError):
            blocked_until = self.account.async_blocked()
        elif isinstance(err, RateLimitedError):
            self.account.async_rate_limited(err.retry_after)
        elif isinstance(err, NotFoundError):
            # A charger or circuit went away: look at the account's structure again.
            self.structure_wanted = True
        return read_failure(err, blocked_until=blocked_until, not_found_key="not_found")

    def async_handle_write_error(self, err: EvChargeControlError) -> float | None:
        """Note what a failed write says about the account; return when writes may go again."""
        if isinstance(err, AuthenticationError):
            self.entry.async_start_reauth(self.hass)
            return _now() + self.state_interval
        if isinstance(err, AccountBlockedError):
            return self.account.async_blocked()
        if isinstance(err, RateLimitedError):
            return self.account.async_rate_limited(err.retry_after)
        if isinstance(err, NotFoundError):
            self.structure_wanted = True
        return None

    # Structure

    async def _async_read_structure(
        self,
    ) -> tuple[list[EaseeCharger], list[EaseeSite], dict[int, str]]:
        chargers = await self.client.get_chargers()
        account_sites = await self.client.get_site_names()
        # Only the followed sites in detail: a partner account with many sites stays in budget.
        sites = [
            await self.client.get_site(site_id)
            for site_id in account_sites
            if self.follows(site_id)
        ]
        return chargers, sites, account_sites

    def _structure_attempts(self, now: float) -> list[float]:
        """Return when the structure was read (or tried) within the last hour."""
        saved = self.account.structure.get("attempts")
        window = STRUCTURE_WINDOW.total_seconds()
        return [
            float(at)
            for at in (saved if isinstance(saved, list) else [])
            if isinstance(at, int | float) and now - window < at <= now
        ]

    def _structure_allowed(self, now: float) -> bool:
        return len(self._structure_attempts(now)) < STRUCTURE_READS_PER_HOUR

    def _structure_allowed_at(self, now: float) -> float:
        attempts = sorted(self._structure_attempts(now))
        if len(attempts) < STRUCTURE_READS_PER_HOUR:
            return now
        return attempts[-STRUCTURE_READS_PER_HOUR] + STRUCTURE_WINDOW.total_seconds()

    async def async_refresh_structure(self) -> None:
        """Read chargers, sites and circuits; add what is new, remove what is gone."""
        self.structure_wanted = False
        # Kept with the account (and saved): a reload or a retried set-up sees them too.
        now = _now()
        attempts = [*self._structure_attempts(now), now]
        self.account.structure = {**self.account.structure, "attempts": attempts}
        self.account.async_schedule_save()
        chargers, sites, account_sites = await self._async_read_structure()
        self.structure_at = _now()
        self.account.structure = {
            "attempts": attempts,
            "at": self.structure_at,
            "chargers": [asdict(charger) for charger in chargers],
            "sites": [asdict(site) for site in sites],
            "account_sites": [{"id": key, "name": name} for key, name in account_sites.items()],
        }
        self.account.async_schedule_save()
        self._apply_structure(chargers, sites, account_sites)

    def _apply_structure(
        self,
        chargers: list[EaseeCharger],
        sites: list[EaseeSite],
        account_sites: dict[int, str],
    ) -> None:
        registry = dr.async_get(self.hass)
        self.account_sites = account_sites
        if self.stream.up and any(charger.id not in self.chargers for charger in chargers):
            self.entry.async_create_background_task(
                self.hass, self.stream.async_subscribe_new(), f"{DOMAIN} Easee subscribe"
            )
        sites = [site for site in sites if site.id in account_sites and self.follows(site.id)]
        if missing := (self.followed_sites or frozenset()) - account_sites.keys():
            LOGGER.warning(
                "Easee: %s of the sites chosen in the options are no longer in the account",
                len(missing),
            )
        placed: dict[str, tuple[EaseeSite, EaseeCircuit]] = {}
        for site in sites:
            for circuit in site.circuits:
                for charger_id in circuit.charger_ids:
                    placed[charger_id] = (site, circuit)
        if self.followed_sites is not None:
            # Chosen sites: a charger on no followed site is not followed, one on no site at
            # all neither (each would cost its own reads, the budget the choice is made for).
            chargers = [charger for charger in chargers if charger.id in placed]
        new_chargers: list[EaseeChargerCoordinator] = []
        for charger in chargers:
            coordinator = self.chargers.get(charger.id)
            if coordinator is None:
                coordinator = EaseeChargerCoordinator(self.hass, self.entry, self, charger)
                self.chargers[charger.id] = coordinator
                new_chargers.append(coordinator)
            else:
                coordinator.charger = charger
        self.sites = {site.id: site for site in sites}
        self.site_readers = {
            site.id: self.site_readers.get(site.id) or EaseeSiteReader(self, site.id)
            for site in sites
        }
        for site in sites:
            registry.async_get_or_create(
                config_entry_id=self.entry.entry_id,
                identifiers={(DOMAIN, f"easee_site_{site.id}")},
                manufacturer="Easee",
                model="Site",
                name=site.name,
            )
        new_circuits: list[EaseeCircuitCoordinator] = []
        seen_circuits: set[int] = set()
        for site in sites:
            for circuit in site.circuits:
                seen_circuits.add(circuit.id)
                circuit_coordinator = self.circuits.get(circuit.id)
                if circuit_coordinator is None:
                    circuit_coordinator = EaseeCircuitCoordinator(
                        self.hass, self.entry, self, site, circuit
                    )
                    self.circuits[circuit.id] = circuit_coordinator
                    new_circuits.append(circuit_coordinator)
                circuit_coordinator.place(site, circuit)
                registry.async_get_or_create(
                    config_entry_id=self.entry.entry_id, **circuit_coordinator.device_info
                )
        # Placed once their circuits are registered: a device names its parent by registry id.
        for coordinator in self.chargers.values():
            coordinator.place(*(placed.get(coordinator.charger_id) or (None, None)))
            registry.async_get_or_create(
                config_entry_id=self.entry.entry_id, **coordinator.device_info
            )
        self.async_follow_masters(added=new_circuits)
        self._remove_gone({c.id for c in chargers}, seen_circuits, {s.id for s in sites})
        for platform in self.platforms:
            specs: list[EntitySpec] = []
            for coordinator in new_chargers:
                specs.extend(self._charger_specs(coordinator, platform))
            for circuit_coordinator in new_circuits:
                specs.extend(self._circuit_specs_once(circuit_coordinator, platform))
            if specs:
                self.async_add_specs(platform, specs)
        for coordinator in new_chargers:
            LOGGER.debug("Easee: charger %s added", coordinator.charger_id)

    @callback
    def async_follow_masters(self, added: list[EaseeCircuitCoordinator] | None = None) -> None:
        """Let each circuit follow its master charger, as the site (or a config) now names it.

        ``added``: circuits whose entities are about to be added anyway. Any other circuit that
        finds its first master only now (named by a config) gets its master-only entities here.
        """
        for circuit in self.circuits.values():
            master = self._master_of(circuit.circuit)
            if master is circuit.master:
                continue
            circuit.follow(master)
            if added is not None and circuit in added:
                continue
            for platform in self.platforms:
                if specs := self._circuit_specs_once(circuit, platform):
                    self.async_add_specs(platform, specs)

    def _master_of(self, circuit: EaseeCircuit) -> EaseeChargerCoordinator | None:
        # The site's back plates name the master; without them, a charger's config does.
        if circuit.master_id is not None:
            return self.chargers.get(circuit.master_id)
        return next(
            (
                self.chargers[charger_id]
                for charger_id in circuit.charger_ids
                if charger_id in self.chargers and self.chargers[charger_id].is_master
            ),
            None,
        )

    def _circuit_specs_once(
        self, circuit: EaseeCircuitCoordinator, platform: Platform, *, setting_up: bool = False
    ) -> list[EntitySpec]:
        """Return a circuit's entities of a platform that were not handed out before.

        Before the platform is set up nothing is handed out: its set-up takes them all.
        """
        if not setting_up and platform not in self._adders:
            return []
        given = self._circuit_keys.setdefault(circuit.circuit.id, set())
        specs = [
            spec for spec in self._circuit_specs(circuit, platform) if spec[1].key not in given
        ]
        given.update(spec[1].key for spec in specs)
        return specs

    def _remove_gone(self, chargers: set[str], circuits: set[int], sites: set[int]) -> None:
        for charger_id in [c for c in self.chargers if c not in chargers]:
            LOGGER.info("Easee: charger %s is no longer in the account; removing it", charger_id)
            coordinator = self.chargers.pop(charger_id)
            self.entry.async_create_background_task(
                self.hass, coordinator.async_stop(), f"{DOMAIN} stop {charger_id}"
            )
        for circuit_id in [c for c in self.circuits if c not in circuits]:
            circuit = self.circuits.pop(circuit_id)
            self._circuit_keys.pop(circuit_id, None)
            self.entry.async_create_background_task(
                self.hass, circuit.async_stop(), f"{DOMAIN} stop circuit {circuit_id}"
            )
        keep = {(DOMAIN, value) for value in _identifiers(chargers, circuits, sites)}
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            if not device.identifiers & keep:
                # Gone, or on a site no longer followed: its entities go with it. (Not
                # remove_config_entry_id: deprecated, a device belongs to one entry now.)
                registry.async_remove_device(device.id)

    def device_is_current(self, identifiers: set[str]) -> bool:
        """Tell whether the account's structure, as last read, still holds the device."""
        return bool(
            identifiers & _identifiers(set(self.chargers), set(self.circuits), set(self.sites))
        )

    def _restore_structure(self, *, partial: bool = False) -> bool:
        """Build chargers and circuits from the saved structure; False when there is none.

        Saved with other sites chosen, it may lack a followed site's details: then it is not
        used unless ``partial`` (nothing better now); the structure is read when it may be.
        """
        saved = self.account.structure
        try:
            at = float(saved["at"])
            chargers = [EaseeCharger(**item) for item in saved["chargers"]]
            sites = [
                EaseeSite(
                    id=item["id"],
                    name=item["name"],
                    circuits=tuple(
                        EaseeCircuit(**{**circuit, "charger_ids": tuple(circuit["charger_ids"])})
                        for circuit in item["circuits"]
                    ),
                )
                for item in saved["sites"]
            ]
            # Saved before the sites could be chosen, every site was read in detail.
            account_sites = (
                {int(item["id"]): str(item["name"]) for item in saved["account_sites"]}
                if "account_sites" in saved
                else {site.id: site.name for site in sites}
            )
        except KeyError, TypeError, ValueError:
            return False
        detailed = {site.id for site in sites}
        complete = all(site_id in detailed for site_id in account_sites if self.follows(site_id))
        if not complete and not partial:
            return False
        # Saved before the sites named their masters (master_id): the next read tells.
        self.structure_at = at
        self.structure_wanted = not complete
        self._apply_structure(chargers, sites, account_sites)
        return True

    # Saved reads

    def _collect_reads(self) -> dict[str, Any]:
        """Return what the file keeps: the newest read of each charger and circuit followed.

        Nothing of a charger or circuit the entry no longer follows: it goes with this write.
        """
        saved_chargers = self.reads.saved.get("chargers")
        saved_circuits = self.reads.saved.get("circuits")
        chargers: dict[str, Any] = {}
        for charger_id, charger in self.chargers.items():
            charger_data: EaseeChargerData | None = charger.data
            if charger_data is not None:
                chargers[charger_id] = dump(charger_data)
            elif isinstance(saved_chargers, Mapping) and charger_id in saved_chargers:
                chargers[charger_id] = saved_chargers[charger_id]  # not read since the start
        circuits: dict[str, Any] = {}
        for circuit_id, circuit in self.circuits.items():
            key = str(circuit_id)
            circuit_data: EaseeCircuitData | None = circuit.data
            if circuit_data is not None:
                circuits[key] = dump(circuit_data)
            elif isinstance(saved_circuits, Mapping) and key in saved_circuits:
                circuits[key] = saved_circuits[key]
        return {"stream_up": self.stream.up, "chargers": chargers, "circuits": circuits}

    def _restore_reads(self, now: float) -> None:
        """Show what the last run read, where its interval has not ended; that is read later.

        A read whose interval ended is made at once, as without saved reads. A last run that
        streamed left states read up to a reconcile ago: the stream, connecting now, brings
        the values, and states are read by REST only if it is not up within a state interval.
        """
        saved = self.reads.saved
        chargers, circuits = saved.get("chargers"), saved.get("circuits")
        configured = float(self.options.get(CONF_STATE_INTERVAL, DEFAULT_STATE_INTERVAL))
        state_window = configured
        if saved.get("stream_up") is True:
            self._stream_expected_until = now + configured
            state_window = max(configured, RECONCILE_INTERVAL.total_seconds())
        # A circuit's write is verified by its master's state: that state is read at once.
        verifying = {
            circuit.master.charger_id
            for circuit in self.circuits.values()
            if circuit.queue.awaiting and circuit.master is not None
        }
        for charger_id, charger in self.chargers.items():
            raw = chargers.get(charger_id) if isinstance(chargers, Mapping) else None
            if raw is None or charger_id in verifying:
                continue
            try:
                data = load(EaseeChargerData, raw)
            except ValueError, TypeError, KeyError:
                continue
            charger.async_restore(data, now, state_window)
        for reader in self.site_readers.values():
            times = [charger.state_attempt for charger in reader.chargers()]
            if times and all(at is not None for at in times):
                reader.attempt = min(at for at in times if at is not None)
        for circuit_id, circuit in self.circuits.items():
            raw = circuits.get(str(circuit_id)) if isinstance(circuits, Mapping) else None
            if raw is None:
                continue
            try:
                settings = load(EaseeCircuitData, raw)
            except ValueError, TypeError, KeyError:
                continue
            circuit.async_restore(settings, now)
        if (isinstance(chargers, Mapping) and chargers.keys() - self.chargers.keys()) or (
            isinstance(circuits, Mapping) and circuits.keys() - {str(c) for c in self.circuits}
        ):
            self.reads.async_read_done()  # what is no longer followed goes with the next write

    # Polling

    def _structure_due(self, now: float) -> bool:
        return self._structure_allowed(now) and (
            self.structure_wanted
            or self.structure_at is None
            or now - self.structure_at >= STRUCTURE_INTERVAL.total_seconds()
        )

    def _read_by_charger(self) -> list[EaseeChargerCoordinator]:
        """Return the chargers on no site the poller reads: each is read on its own."""
        return [charger for charger in self.chargers.values() if not self.reads_site_of(charger)]

    def reads_site_of(self, charger: EaseeChargerCoordinator) -> bool:
        """Tell whether a charger's state and config come with its site's state."""
        return charger.site is not None and charger.site.id in self.site_readers

    def _site_readers(self) -> list[EaseeSiteReader]:
        return [reader for reader in self.site_readers.values() if reader.chargers()]

    async def async_start(self) -> None:
        """Learn the account's chargers (saved or read), read what is due and start polling."""
        # Home Assistant runs an entry's on-unload callbacks when it unloads AND when its set-up
        # fails (async_unload_entry is only called for a loaded entry): no timer outlives either.
        self.entry.async_on_unload(self._async_cancel_timers)
        self._running = True
        try:
            await self._async_start()
        except BaseException:
            self._async_cancel_timers()
            raise
        # The entry owns the task: unloading it (or a failed set-up) cancels it.
        self.entry.async_create_background_task(
            self.hass, self.stream.async_run(), f"{DOMAIN} Easee stream {LONG_LIVED_TASK}"
        )

    async def _async_start(self) -> None:
        await self.reads.async_load()
        now = _now()
        if self.structure_at is None and not (
            now - float(self.account.structure.get("at", 0)) < STRUCTURE_INTERVAL.total_seconds()
            and self._restore_structure()
        ):
            if not self._structure_allowed(now):
                # Read a moment ago (a set-up retried): the sites' limit says wait.
                if not self._restore_structure(partial=True):
                    raise ConfigEntryNotReady(
                        translation_domain=DOMAIN,
                        translation_key="structure_spacing",
                        translation_placeholders={
                            "time": _utc(self._structure_allowed_at(now)).isoformat(
                                timespec="seconds"
                            )
                        },
                    )
            else:
                await self._async_first_structure()
        self._restore_reads(_now())
        await self.async_poll()
        for charger in self.chargers.values():
            charger.writer.schedule()  # resume writes saved before a restart
        for circuit in self.circuits.values():
            circuit.writer.schedule()

    async def _async_first_structure(self) -> None:
        """Read the structure at set-up; a saved one stands in when the read fails."""
        try:
            await self.async_refresh_structure()
        except OverBudgetError as err:
            if not self._restore_structure(partial=True):
                raise not_ready(read_failure(err)) from err
        except EvChargeControlError as err:
            failure = self.async_handle_read_error(err)
            if isinstance(failure, ConfigEntryAuthFailed):
                raise failure from err
            if not self._restore_structure(partial=True):
                raise not_ready(failure) from err

    async def async_poll(self) -> None:
        """Read whatever is due, oldest first, as far as the budget allows."""
        async with self._poll_lock:
            if not self._running:
                return
            now = _now()
            try:
                if self._structure_due(now) and self.account.can_read(now):
                    await self.async_refresh_structure()
            except OverBudgetError:
                pass
            except EvChargeControlError as err:
                LOGGER.warning("Easee: reading the account's chargers failed: %s", err)
                self.async_handle_read_error(err)
                self.structure_at = now  # try again at the next structure interval
                if isinstance(err, AuthenticationError):
                    self.entry.async_start_reauth(self.hass)
            # Chargers and circuits in one line, the longest overdue first: with a budget too
            # small for everything, nobody starves.
            due: list[
                tuple[float, EaseeSiteReader | EaseeChargerCoordinator | EaseeCircuitCoordinator]
            ] = [(reader.next_at(), reader) for reader in self._site_readers() if reader.due(now)]
            due += [
                (charger.next_state_at(), charger)
                for charger in self._read_by_charger()
                if charger.state_due(now)
            ]
            due += [
                (circuit.next_settings_at(), circuit)
                for circuit in self.circuits.values()
                if circuit.settings_due(now)
            ]
            due.sort(key=lambda item: item[0])
            for _, coordinator in due:
                if not self.account.can_read(_now()):
                    break
                await coordinator.async_refresh()
            # A config may name a circuit's master the site did not.
            self.async_follow_masters()
            self._schedule_poll()

    def _next_poll(self, now: float) -> float:
        due = [reader.next_at() for reader in self._site_readers()]
        due += [charger.next_state_at() for charger in self._read_by_charger()]
        due += [circuit.next_settings_at() for circuit in self.circuits.values()]
        structure_at = (self.structure_at or now) + STRUCTURE_INTERVAL.total_seconds()
        due.append(max(structure_at, self._structure_allowed_at(now)))
        if self._stream_expected(now) and (until := self._stream_expected_until) is not None:
            due.append(until)  # no stream by then: the states are read by REST
        at = max(now, min(due))
        if not self.account.can_read(at):
            at = max(at, self.account.next_read(at))
        return at

    @callback
    def _schedule_poll(self) -> None:
        if self._unsub_poll is not None:
            self._unsub_poll()
            self._unsub_poll = None
        if not self._running:
            return

        @callback
        def _poll(_: datetime) -> None:
            self._unsub_poll = None
            self.entry.async_create_background_task(
                self.hass, self.async_poll(), f"{DOMAIN} Easee poll"
            )

        self._unsub_poll = async_track_point_in_utc_time(
            self.hass, _poll, _utc(self._next_poll(_now()))
        )

    @callback
    def _async_cancel_timers(self) -> None:
        """Stop polling and cancel every timer of the runtime."""
        self._running = False
        self.stream.stopped = True
        if self._unsub_poll is not None:
            self._unsub_poll()
            self._unsub_poll = None
        for charger in self.chargers.values():
            charger.writer.cancel()
        for circuit in self.circuits.values():
            circuit.writer.cancel()

    async def async_stop(self) -> None:
        """Cancel the poller and every timer; save the account."""
        self._async_cancel_timers()
        await self.stream.async_stop()
        for charger in self.chargers.values():
            await charger.async_stop()
        for circuit in self.circuits.values():
            await circuit.async_stop()
        await self.account.async_save()
        await self.reads.async_save()

    def diagnostics(self) -> dict[str, Any]:
        """Return the account's chargers, circuits, budget and queues."""
        return {
            "budget": {
                "requests_in_window": len(self.account.window.sent),
                "backoff_until": self.account.backoff_until,
                "blocked_until": self.account.blocked_until,
                "flash_written": list(self.account.flash_written.values()),
            },
            "stream": self.stream.diagnostics(),
            "structure_at": self.structure_at,
            # Counts only: the ids are the customer's (and redacted wherever they stand).
            "followed_sites": {
                "chosen": "all" if self.followed_sites is None else len(self.followed_sites),
                "followed": len(self.sites),
                "in_account": len(self.account_sites),
            },
            "sites": [asdict(site) for site in self.sites.values()],
            "chargers": [
                {
                    "charger": asdict(coordinator.charger),
                    "state": asdict(coordinator.data.state)
                    if coordinator.data and coordinator.data.state
                    else None,
                    "config": asdict(coordinator.data.config)
                    if coordinator.data and coordinator.data.config
                    else None,
                    # In Easee's own shape (UTC instants, "HH:MMZ"), as read.
                    "plan": {
                        "basic": coordinator.data.basic_plan.as_body()
                        if coordinator.data.basic_plan
                        else None,
                        "weekly": coordinator.data.weekly_plan.as_body()
                        if coordinator.data.weekly_plan
                        else None,
                    }
                    if coordinator.data
                    else None,
                    "queue": coordinator.queue.as_dict(),
                    "last_update_success": coordinator.last_update_success,
                }
                for coordinator in self.chargers.values()
            ],
            "circuits": [
                {
                    "settings": asdict(circuit.data.settings)
                    if circuit.data and circuit.data.settings
                    else None,
                    "queue": circuit.queue.as_dict(),
                }
                for circuit in self.circuits.values()
            ],
            "options": {
                CONF_STATE_INTERVAL: self.state_interval,
                CONF_KEEP_DYNAMIC_LIMITS: bool(self.options.get(CONF_KEEP_DYNAMIC_LIMITS)),
                CONF_DYNAMIC_CURRENT_TTL: self.options.get(CONF_DYNAMIC_CURRENT_TTL, 0),
            },
        }


def followed_sites(options: Mapping[str, Any]) -> frozenset[int] | None:
    """Return the ids of the sites an entry's options choose; None: every site."""
    chosen = options.get(CONF_SITE_IDS)
    ids = frozenset(
        int(item) for item in (chosen if isinstance(chosen, list) else []) if str(item).isdigit()
    )
    return ids or None


def reads_key(entry: ConfigEntry) -> str:
    """Return the key of an entry's file of saved reads."""
    return f"{DOMAIN}.easee_reads_{entry.entry_id}"


async def async_remove_easee_entry(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Delete the deleted entry's saved reads; the account's budget stays."""
    await async_remove_saved_reads(hass, reads_key(entry))


async def async_setup_easee(hass: HomeAssistant, entry: EvChargeConfigEntry) -> EaseeRuntime:
    """Build the runtime of an Easee config entry."""
    async_delete_legacy_issues(hass, f"easee_{entry.unique_id}_blocked")
    account = await async_get_easee_account(hass, str(entry.unique_id))
    return EaseeRuntime(hass, entry, account)
