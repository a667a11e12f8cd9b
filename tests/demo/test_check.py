"""`scripts/demo --check`'s verdict on an entity's state, at every hour of the demo's day."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_charge_control.api.viriciti import _timeframe
from custom_components.ev_charge_control.api.viriciti_schedule import Schedule
from demo.check import MAY_BE_UNKNOWN, log_problems, state_problem
from simulators.viriciti import DEMO_GROUP as VIRICITI_GROUP, ViricitiSimulator, add_demo
from simulators.viriciti_vendor import DEMO_TIME_ZONE as VIRICITI_TIME_ZONE

GROUP_SENSOR = "sensor.depot_{}"


def _demo_schedule() -> Schedule:
    """The demo group's schedule as the integration works it out from the simulator's answer."""
    sim = ViricitiSimulator()
    add_demo(sim)
    answer = sim.group_json(sim.groups[VIRICITI_GROUP])
    raw = answer["timeframes"]
    assert isinstance(raw, list)
    timeframes = [tf for tf in (_timeframe(item) for item in raw) if tf is not None]
    limit = answer["groupLimit"]
    assert isinstance(limit, int | float)
    return Schedule(timeframes, float(limit), ZoneInfo(VIRICITI_TIME_ZONE))


def _shown(value: object) -> str:
    """Return a sensor value as Home Assistant's state shows it."""
    if value is None:
        return "unknown"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


# Every hour of a winter day and of the day the clocks go forward (UTC), as a CI run may start.
MOMENTS = [dt.datetime(2026, 1, 14, hour, 28, tzinfo=dt.UTC) for hour in range(24)] + [
    dt.datetime(2026, 3, 29, hour, 28, tzinfo=dt.UTC) for hour in range(24)
]


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.strftime("%m-%d %H:%M"))
def test_the_check_accepts_the_demo_group_at_any_hour(moment: dt.datetime) -> None:
    """The ViriCiti group's schedule sensors pass the check whatever the time of day."""
    now = _demo_schedule().at(moment)
    for key, value in (("scheduled_limit", now.limit), ("next_limit_change", now.next_change)):
        entity_id = GROUP_SENSOR.format(key)
        assert state_problem(entity_id, key, _shown(value)) is None


def test_the_demo_day_has_hours_outside_every_timeframe() -> None:
    """The case that failed CI at 14:28 UTC is real: the check must meet an unknown limit."""
    schedule = _demo_schedule()
    limits = {schedule.at(moment).limit for moment in MOMENTS}
    assert None in limits
    assert {100.0, 200.0} <= limits


def test_unknown_is_a_problem_unless_the_key_may_be_unknown() -> None:
    assert state_problem("sensor.depot_group_limit", "group_limit", "unknown") == (
        "sensor.depot_group_limit=unknown"
    )
    assert state_problem("sensor.x_power", "power", None) == "sensor.x_power=None"
    assert state_problem("sensor.x_power", "power", "unavailable") == "sensor.x_power=unavailable"
    assert state_problem("sensor.x_power", "power", "0.0") is None
    # A button's state is when it was last pressed: unknown until the first press.
    assert state_problem("button.x_reboot", "reboot", "unknown") is None
    for key in MAY_BE_UNKNOWN:
        assert state_problem(f"sensor.x_{key}", key, "unknown") is None
        assert state_problem(f"sensor.x_{key}", key, "unavailable") is not None


LOG_LINES = [
    "2026-11-29 17:00:00.000 WARNING (MainThread) [homeassistant.loader] We found a custom "
    "integration ev_charge_control which has not been tested by Home Assistant.",
    "2026-11-29 17:00:01.000 WARNING (MainThread) [homeassistant.helpers.frame] Detected that "
    "custom integration 'ev_charge_control' calls `device_registry.async_get_device`",
    "2026-11-29 17:00:02.000 ERROR (MainThread) [homeassistant.components.met] Error occurred "
    "loading flow for integration met: No module named 'metno'",
    "2026-11-29 17:00:03.000 ERROR (MainThread) [custom_components.ev_charge_control] gave up",
    "2026-11-29 17:00:04.000 WARNING (MainThread) [homeassistant.util.loop] Detected blocking "
    "call to open inside the event loop by custom integration",
    "2026-11-29 17:00:05.000 ERROR (MainThread) [homeassistant] Error doing job: Task exception "
    "was never retrieved (task: None)",
    "Traceback (most recent call last):",
    "homeassistant.data_entry_flow.UnknownHandler",
    "2026-11-29 17:00:06.000 CRITICAL (MainThread) [homeassistant.setup] boom",
    "2026-11-29 17:00:07.000 WARNING (MainThread) [aiohttp_fast_zlib] zlib_ng and isal are not "
    "available, falling back to zlib, performance will be degraded.",
    "2026-11-29 17:00:08.000 INFO (MainThread) [homeassistant.setup] ERROR (MainThread) quoted",
    "2026-11-29 17:00:09.000 WARNING (Recorder) [homeassistant] Task exception was never retrieved",
]


def test_the_log_check_finds_every_error_and_every_report_of_our_code() -> None:
    """The demo starts clean: another integration's error fails the check as ours does."""
    problems = log_problems("\n".join(LOG_LINES))
    assert problems == [LOG_LINES[i] for i in (1, 2, 3, 4, 5, 8, 11)]


def test_a_clean_log_passes() -> None:
    clean = [LOG_LINES[i] for i in (0, 9, 10)]
    assert log_problems("\n".join(clean)) == []


MISSING_LINES = [
    "2026-11-29 17:00:00.000 ERROR (MainThread) [homeassistant.setup] Setup failed for "
    "'assist_pipeline': Unable to import component: No module named 'pymicro_vad'",
    "2026-11-29 17:00:00.001 ERROR (MainThread) [haffmpeg.core] FFmpeg fails [Errno 2] No such "
    "file or directory: 'ffmpeg'",
    "2026-11-29 17:00:00.002 ERROR (ImportExecutor_0) [homeassistant.components.camera.img_util] "
    "Error loading libturbojpeg; Camera snapshot performance will be sub-optimal",
]


def test_nothing_is_excused() -> None:
    """What the demo used to lack (assist's libraries, ffmpeg, libturbojpeg) is an error now."""
    assert log_problems("\n".join(MISSING_LINES)) == MISSING_LINES
