"""The ViriCiti action: an external group limit until an end time or for a duration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from ...actions import action_error, device_identifiers, loaded_runtimes
from ...const import DOMAIN, HA_2026_9
from .coordinator import ViricitiLimitCoordinator
from .descriptions import positive_kw
from .runtime import ViricitiRuntime

if TYPE_CHECKING and HA_2026_9:
    # As in config_flow: probatio's types, voluptuous's name at run time.
    import probatio as vol
else:
    import voluptuous as vol

SERVICE_SET_GROUP_LIMIT: Final = "set_group_limit"

ATTR_LIMIT: Final = "limit"
ATTR_END_TIME: Final = "end_time"
ATTR_DURATION: Final = "duration"


def _duration(value: object) -> timedelta:
    """Read a duration as Home Assistant does; one beyond a timedelta's range is invalid."""
    try:
        duration: timedelta = cv.time_period(value)
    except OverflowError:  # timedelta(seconds=1e15) overflows instead of refusing
        raise vol.Invalid("duration too long") from None
    return duration


# Range checks happen in the handler, so every refusal is a translated message.
SET_GROUP_LIMIT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_LIMIT): vol.Coerce(float),
        vol.Optional(ATTR_END_TIME): cv.datetime,
        vol.Optional(ATTR_DURATION): _duration,
    }
)


def _group(hass: HomeAssistant, device_id: str) -> ViricitiLimitCoordinator:
    identifiers = device_identifiers(hass, device_id)
    for runtime in loaded_runtimes(hass, ViricitiRuntime):
        for group in runtime.groups.values():
            if group.limit.unique_id_prefix in identifiers:
                return group.limit
    raise action_error("not_a_viriciti_group")


def _end(call: ServiceCall, default: timedelta, now: datetime) -> datetime:
    """Return when the limit ends: its end time, else now plus its duration (or the default)."""
    if ATTR_END_TIME in call.data:
        return dt_util.as_utc(call.data[ATTR_END_TIME])
    duration: timedelta = call.data.get(ATTR_DURATION, default)
    if duration <= timedelta(0):
        raise action_error("duration_not_positive")
    return now + duration


async def _async_set_group_limit(call: ServiceCall) -> None:
    group = _group(call.hass, call.data[ATTR_DEVICE_ID])
    limit = positive_kw(call.data[ATTR_LIMIT])
    now = dt_util.utcnow()
    if ATTR_END_TIME in call.data and ATTR_DURATION in call.data:
        raise action_error("end_time_and_duration")
    try:
        end: datetime | None = _end(call, group.default_duration, now)
    except OverflowError:  # "9999-12-31T23:59:59" west of UTC, or a duration of millennia
        end = None
    # Later steps add to the end (a slot, a margin): it keeps a year of room for them.
    if end is None or end.year >= datetime.max.year:
        raise action_error("end_time_out_of_range")
    if end <= now:
        raise action_error("end_time_in_past", end_time=dt_util.as_local(end).isoformat())
    await group.async_request_limit(limit, end)


@callback
def async_register_actions(hass: HomeAssistant) -> None:
    """Register the ViriCiti action."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_GROUP_LIMIT, _async_set_group_limit, schema=SET_GROUP_LIMIT_SCHEMA
    )
