"""The ViriCiti timeframe schedule, checked against the simulator's model of a group's limit."""

from __future__ import annotations

from collections.abc import Sequence
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_charge_control.api.viriciti import ViricitiTimeframe
from custom_components.ev_charge_control.api.viriciti_schedule import Schedule, ScheduleNow
from simulators.viriciti import ViricitiSimulator

UTC = dt.UTC
AMS = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
DEFAULT = 400.0
GROUP = "Depot"
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)
QUARTER = dt.timedelta(minutes=15)

# name, start cron, end cron, limit (kW)
type Frame = tuple[str, str, str, float]
# limit, timeframe name, next change (UTC), next limit
type Answer = tuple[float | None, str | None, dt.datetime | None, float | None]

EVENING: Frame = ("evening", "0 16 * * 1-5", "0 0 * * 1-5", 200)
# A depot: evening peak on weekdays until midnight, a cheaper night, a morning peak, weekend
# daytime, and a midday cap that only counts on weekdays (the weekend one is lower).
DEPOT: tuple[Frame, ...] = (
    EVENING,
    ("night", "0 0 * * *", "0 6 * * *", 150),
    ("morning", "30 7 * * 1-5", "15 9 * * 1-5", 120),
    ("weekend", "0 8 * * 6,0", "0 20 * * 6,0", 300),
    ("midday", "0 11 * * *", "0 15 * * *", 350),
)
# Around a clock change: one timeframe spans the changed hour, one starts inside it.
CHANGEOVER: tuple[Frame, ...] = (
    ("early", "0 1 * * *", "0 3 * * *", 110),
    ("small hours", "30 2 * * *", "0 5 * * *", 90),
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Leave Home Assistant out: without it time is not faked, and cron walks stay fast."""


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, zone: ZoneInfo = AMS
) -> dt.datetime:
    """Return a wall-clock time of a zone as UTC (aware times in a fold compare oddly)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


def timeframe(frame: Frame, *, active: bool = True) -> ViricitiTimeframe:
    name, start, end, limit = frame
    return ViricitiTimeframe(name, start, end, limit, active)


def schedule(
    frames: Sequence[Frame], zone: ZoneInfo = AMS, default: float | None = DEFAULT
) -> Schedule:
    return Schedule([timeframe(frame) for frame in frames], default, zone)


def answer(now: ScheduleNow) -> Answer:
    name = None if now.timeframe is None else now.timeframe.name
    return now.limit, name, now.next_change, now.next_limit


class Oracle:
    """The simulator's scheduled-or-default limit of one group, at any moment."""

    def __init__(self, frames: Sequence[Frame], zone: ZoneInfo) -> None:
        # No lookahead: the limit the schedule puts in force, without an anticipated drop.
        self._sim = ViricitiSimulator(clock=lambda: 0.0, lookahead=0)
        self._seen: dict[float, tuple[float | None, str | None]] = {}
        self._sim.add_group(
            GROUP,
            time_zone=str(zone),
            default_limit=DEFAULT,
            timeframes=[
                {"name": name, "start": start, "end": end, "limit": limit}
                for name, start, end, limit in frames
            ],
        )

    def scheduled(self, moment: dt.datetime) -> tuple[float | None, str | None]:
        """Return the scheduled limit and its timeframe's name (None, None: the default)."""
        key = moment.timestamp()
        if key not in self._seen:
            frame = self._sim.state(GROUP, at=key).scheduled
            self._seen[key] = (None, None) if frame is None else (frame.limit, frame.name)
        return self._seen[key]

    def limit(self, moment: dt.datetime) -> float:
        """Return the scheduled-or-default limit."""
        limit = self.scheduled(moment)[0]
        return DEFAULT if limit is None else limit

    def changes(self, first: dt.datetime, last: dt.datetime) -> list[tuple[dt.datetime, float]]:
        """Return every change of the limit in (first, last], to the minute (first: whole).

        Sampled each quarter hour and bisected to the minute where a quarter ends on another
        limit than it began with: the schedules here hold every limit for a quarter hour.
        """
        changes: list[tuple[dt.datetime, float]] = []
        moment, value = first, self.limit(first)
        while moment < last:
            end = moment + QUARTER
            while self.limit(end) != value:
                before, after = moment, end  # value at before, another at after
                while after - before > MINUTE:
                    middle = before + (after - before) // 2 // MINUTE * MINUTE
                    if self.limit(middle) == value:
                        before = middle
                    else:
                        after = middle
                value = self.limit(after)
                changes.append((after, value))
                moment = after
            moment = end
        return changes


# --- days travelled against the simulator ---------------------------------------------------------


# Odd steps drift across every minute of the hour; the quarter hours meet every boundary.
ODD_STEP = dt.timedelta(minutes=35)


@pytest.mark.parametrize(
    ("frames", "zone", "first", "days", "step"),
    [
        pytest.param(DEPOT, AMS, local(2026, 6, 1), 7, QUARTER, id="depot-amsterdam"),
        pytest.param(
            CHANGEOVER, AMS, local(2027, 3, 24), 7, QUARTER, id="amsterdam-spring-forward"
        ),
        pytest.param(CHANGEOVER, AMS, local(2026, 10, 21), 7, QUARTER, id="amsterdam-fall-back"),
        # Friday to Monday, half an hour off the whole hours of UTC.
        pytest.param(
            DEPOT, KOLKATA, local(2026, 1, 16, zone=KOLKATA), 3, ODD_STEP, id="depot-kolkata"
        ),
        # Saturday to Tuesday, over the Sunday the clocks go forward at 02:00.
        pytest.param(
            (*CHANGEOVER, EVENING),
            NEW_YORK,
            local(2026, 3, 7, zone=NEW_YORK),
            3,
            ODD_STEP,
            id="new-york-spring-forward",
        ),
    ],
)
def test_travelled_schedule_matches_simulator(
    frames: Sequence[Frame], zone: ZoneInfo, first: dt.datetime, days: int, step: dt.timedelta
) -> None:
    """Through the days: the limit, its timeframe, the next change and the limit it brings."""
    group = schedule(frames, zone)
    oracle = Oracle(frames, zone)
    moments = [first + index * step for index in range(dt.timedelta(days=days) // step + 1)]
    answers = [group.at(moment) for moment in moments]
    assert all(now.next_change is not None for now in answers)
    changes = oracle.changes(first, max(now.next_change for now in answers if now.next_change))
    assert len(changes) >= 2 * days  # the walk crosses changes every day

    failures: list[str] = []
    for moment, now in zip(moments, answers, strict=True):
        limit = oracle.limit(moment)
        change, next_limit = next((at, value) for at, value in changes if at > moment)
        expected: Answer = (*oracle.scheduled(moment), change, next_limit)
        if answer(now) != expected:
            failures.append(f"{moment.astimezone(zone)}: {answer(now)} != {expected}")
            continue
        assert now.next_change is not None
        # The next change itself, sampled on both sides of it.
        if oracle.limit(now.next_change - SECOND) != limit:
            failures.append(f"{moment.astimezone(zone)}: changes before {now.next_change}")
        if oracle.limit(now.next_change) != now.next_limit:
            failures.append(f"{moment.astimezone(zone)}: no change to {now.next_limit}")
    assert not failures, "\n".join(failures[:10])


# --- the rules, case by case ---------------------------------------------------------------------

SUNDAY_0: Frame = ("sunday", "0 8 * * 0", "0 18 * * 0", 250)
SUNDAY_7: Frame = ("sunday", "0 8 * * 7", "0 18 * * 7", 250)
SUNDAY_NIGHT_0: Frame = ("sunday night", "0 20 * * 0", "0 0 * * 0", 250)
SUNDAY_NIGHT_7: Frame = ("sunday night", "0 20 * * 7", "0 0 * * 7", 250)
FRIDAY: Frame = ("friday", "0 16 * * 5", "0 0 * * 5", 200)
# Saturday 00:00 until the end of Sunday.
WEEKEND: Frame = ("weekend", "0 0 * * 6", "0 0 * * 0", 300)
DAY: Frame = ("day", "0 6 * * *", "0 22 * * *", 250)
PEAK: Frame = ("peak", "0 16 * * *", "0 20 * * *", 150)
MORNING: Frame = ("morning", "0 8 * * *", "0 12 * * *", 200)
LATE_MORNING: Frame = ("late morning", "0 10 * * *", "0 14 * * *", 200)

# 2026-06-05 is a Friday; 2026-06-07 a Sunday (CEST, UTC+2).
RULES = [
    pytest.param(
        [FRIDAY],
        local(2026, 6, 5, 15),
        (None, None, local(2026, 6, 5, 16), 200),
        id="friday-before",
    ),
    pytest.param(
        [FRIDAY],
        local(2026, 6, 5, 16),
        (200, "friday", local(2026, 6, 6), DEFAULT),
        id="friday-midnight-end-is-end-of-friday",
    ),
    pytest.param(
        [FRIDAY],
        local(2026, 6, 5, 23, 59),
        (200, "friday", local(2026, 6, 6), DEFAULT),
        id="friday-last-minute",
    ),
    pytest.param(
        [FRIDAY],
        local(2026, 6, 6),
        (None, None, local(2026, 6, 12, 16), 200),
        id="friday-over",
    ),
    pytest.param(
        [EVENING],
        local(2026, 6, 5, 23),
        (200, "evening", local(2026, 6, 6), DEFAULT),
        id="weekday-range-midnight-end",
    ),
    pytest.param(
        [SUNDAY_0],
        local(2026, 6, 6, 12),
        (None, None, local(2026, 6, 7, 8), 250),
        id="sunday-0-not-saturday",
    ),
    pytest.param(
        [SUNDAY_0],
        local(2026, 6, 7, 12),
        (250, "sunday", local(2026, 6, 7, 18), DEFAULT),
        id="sunday-0",
    ),
    pytest.param(
        [SUNDAY_7],
        local(2026, 6, 7, 12),
        (250, "sunday", local(2026, 6, 7, 18), DEFAULT),
        id="sunday-7",
    ),
    pytest.param(
        [SUNDAY_7],
        local(2026, 6, 8, 12),
        (None, None, local(2026, 6, 14, 8), 250),
        id="sunday-7-not-monday",
    ),
    pytest.param(
        [SUNDAY_NIGHT_0],
        local(2026, 6, 7, 23, 59),
        (250, "sunday night", local(2026, 6, 8), DEFAULT),
        id="sunday-0-midnight-end",
    ),
    pytest.param(
        [SUNDAY_NIGHT_7],
        local(2026, 6, 7, 23, 59),
        (250, "sunday night", local(2026, 6, 8), DEFAULT),
        id="sunday-7-midnight-end",
    ),
    pytest.param(
        [WEEKEND],
        local(2026, 6, 3, 12),
        (None, None, local(2026, 6, 6), 300),
        id="weekend-on-wednesday",
    ),
    pytest.param(
        [WEEKEND],
        local(2026, 6, 6),
        (300, "weekend", local(2026, 6, 8), DEFAULT),
        id="weekend-saturday-midnight",
    ),
    pytest.param(
        [WEEKEND],
        local(2026, 6, 7, 23),
        (300, "weekend", local(2026, 6, 8), DEFAULT),
        id="weekend-sunday-night",
    ),
    pytest.param(
        [DAY, PEAK],
        local(2026, 6, 3, 12),
        (250, "day", local(2026, 6, 3, 16), 150),
        id="overlap-before",
    ),
    pytest.param(
        [DAY, PEAK],
        local(2026, 6, 3, 17),
        (150, "peak", local(2026, 6, 3, 20), 250),
        id="overlap-lowest-wins",
    ),
    pytest.param(
        [PEAK, DAY],
        local(2026, 6, 3, 17),
        (150, "peak", local(2026, 6, 3, 20), 250),
        id="overlap-lowest-wins-in-any-order",
    ),
    pytest.param(
        [MORNING, LATE_MORNING],
        local(2026, 6, 3, 9),
        (200, "morning", local(2026, 6, 3, 14), DEFAULT),
        id="overlap-same-limit-changes-only-at-the-last-end",
    ),
    pytest.param(
        [LATE_MORNING, MORNING],
        local(2026, 6, 3, 11),
        (200, "late morning", local(2026, 6, 3, 14), DEFAULT),
        id="overlap-equal-limits-first-listed",
    ),
]


@pytest.mark.parametrize(("frames", "moment", "expected"), RULES)
def test_rules(frames: Sequence[Frame], moment: dt.datetime, expected: Answer) -> None:
    """Midnight ends, Sunday as 0 and 7, weekends and overlaps: as documented and simulated."""
    assert answer(schedule(frames).at(moment)) == expected

    oracle = Oracle(frames, AMS)
    limit, name, change, next_limit = expected
    assert change is not None
    assert oracle.scheduled(moment) == (limit, name)
    assert oracle.limit(change - SECOND) == oracle.limit(moment)
    assert oracle.limit(change) == next_limit


@pytest.mark.parametrize(
    "end",
    [
        "0 0 * * 5",
        "00 00 * * 5",
        "0 0 * * FRI",
        "0 0 * * 1-5",
        "000 0 * * 5",
    ],
)
def test_midnight_end_spellings(end: str) -> None:
    """Every way of writing midnight for an end means the end of that day."""
    frames = [("friday", "0 16 * * 5", end, 200.0)]
    moment = local(2026, 6, 5, 23)
    expected: Answer = (200, "friday", local(2026, 6, 6), DEFAULT)
    oracle = Oracle(frames, AMS)
    assert oracle.limit(local(2026, 6, 6) - SECOND) == 200
    assert oracle.limit(local(2026, 6, 6)) == DEFAULT
    assert answer(schedule(frames).at(moment)) == expected


# A low limit at noon that must not count: the day then shows the evening only.
LUNCH = ("lunch", "0 12 * * *", "0 14 * * *")


@pytest.mark.parametrize(
    "ignored",
    [
        pytest.param(ViricitiTimeframe(*LUNCH, 50, active=False), id="inactive"),
        pytest.param(ViricitiTimeframe(*LUNCH, None, active=True), id="no-limit"),
        pytest.param(ViricitiTimeframe("x", "nope", "0 14 * * *", 50, True), id="words"),
        pytest.param(ViricitiTimeframe("x", "0 24 * * *", "0 14 * * *", 50, True), id="hour-24"),
        pytest.param(ViricitiTimeframe("x", "0 12 * * 8", "0 14 * * *", 50, True), id="dow-8"),
        pytest.param(ViricitiTimeframe("x", "0 12 * *", "0 14 * * *", 50, True), id="4-fields"),
        pytest.param(ViricitiTimeframe("x", "", "0 14 * * *", 50, True), id="empty"),
        pytest.param(ViricitiTimeframe("x", "0 12 * * *", "61 13 * * *", 50, True), id="bad-end"),
        pytest.param(ViricitiTimeframe("x", "0 12 30 2 *", "0 14 * * *", 50, True), id="feb-30"),
    ],
)
def test_unusable_timeframe_is_ignored(ignored: ViricitiTimeframe) -> None:
    """A timeframe without a limit, switched off, or with a cron nobody can read changes nothing."""
    evening = timeframe(EVENING)
    with_ignored = Schedule([ignored, evening], DEFAULT, AMS)
    assert with_ignored.timeframes == (evening,)
    oracle = Oracle([EVENING], AMS)
    for hour in (11, 12, 13, 14, 17):
        moment = local(2026, 6, 3, hour)
        now = with_ignored.at(moment)
        assert now == Schedule([evening], DEFAULT, AMS).at(moment)
        assert oracle.limit(moment) == (DEFAULT if now.limit is None else now.limit)
    lunchtime = with_ignored.at(local(2026, 6, 3, 13))
    assert answer(lunchtime) == (None, None, local(2026, 6, 3, 16), 200)


@pytest.mark.parametrize(
    "timeframes",
    [
        pytest.param([], id="none"),
        pytest.param([ViricitiTimeframe("x", "nope", "0 14 * * *", 50, True)], id="only-bad"),
        pytest.param([timeframe(EVENING, active=False)], id="only-inactive"),
    ],
)
def test_no_timeframes_never_change(timeframes: list[ViricitiTimeframe]) -> None:
    """Without a usable timeframe the default holds, and no change is ahead."""
    now = Schedule(timeframes, DEFAULT, AMS).at(local(2026, 6, 3, 12))
    assert now == ScheduleNow(limit=None, timeframe=None, next_change=None, next_limit=None)


def test_unknown_default_still_finds_changes() -> None:
    """Without a default limit, entering and leaving a timeframe are still changes."""
    group = schedule([EVENING], default=None)
    assert answer(group.at(local(2026, 6, 3, 12))) == (None, None, local(2026, 6, 3, 16), 200)
    assert answer(group.at(local(2026, 6, 3, 17))) == (200, "evening", local(2026, 6, 4), None)


# --- time zones and clock changes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "utc_hour", "utc_minute"),
    [
        pytest.param(AMS, dt.date(2026, 1, 14), 15, 0, id="amsterdam-winter"),
        pytest.param(AMS, dt.date(2026, 7, 15), 14, 0, id="amsterdam-summer"),
        pytest.param(NEW_YORK, dt.date(2026, 1, 14), 21, 0, id="new-york-winter"),
        pytest.param(NEW_YORK, dt.date(2026, 7, 15), 20, 0, id="new-york-summer"),
        pytest.param(KOLKATA, dt.date(2026, 1, 14), 10, 30, id="kolkata-winter"),
        pytest.param(KOLKATA, dt.date(2026, 7, 15), 10, 30, id="kolkata-summer"),
    ],
)
def test_local_start_in_utc(zone: ZoneInfo, day: dt.date, utc_hour: int, utc_minute: int) -> None:
    """A 16:00 start is 16:00 on the group's wall clock, whatever UTC says."""
    noon = local(day.year, day.month, day.day, 12, zone=zone)
    now = schedule([EVENING], zone).at(noon)
    start = dt.datetime.combine(day, dt.time(utc_hour, utc_minute), UTC)
    assert (now.next_change, now.next_limit) == (start, 200)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 2027-03-28: 02:00 CET is 03:00 CEST; 02:30 never happens, cron runs it at 03:00.
        pytest.param(
            dt.datetime(2027, 3, 28, 0, 30, tzinfo=UTC),  # 01:30 CET
            (110, "early", dt.datetime(2027, 3, 28, 1, tzinfo=UTC), 90),
            id="spring-before-the-gap",
        ),
        pytest.param(
            dt.datetime(2027, 3, 28, 1, tzinfo=UTC),  # 03:00 CEST
            (90, "small hours", dt.datetime(2027, 3, 28, 3, tzinfo=UTC), DEFAULT),
            id="spring-after-the-gap",
        ),
        # 2026-10-25: 03:00 CEST is 02:00 CET; 01:00 CEST until 03:00 CET is three hours.
        pytest.param(
            dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC),  # 01:30 CEST
            (110, "early", dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), 90),
            id="fall-first-pass",
        ),
        pytest.param(
            dt.datetime(2026, 10, 25, 1, 15, tzinfo=UTC),  # 02:15 CET, the second pass
            (90, "small hours", dt.datetime(2026, 10, 25, 4, tzinfo=UTC), DEFAULT),
            id="fall-second-pass",
        ),
        pytest.param(
            dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC),  # 03:30 CET
            (90, "small hours", dt.datetime(2026, 10, 25, 4, tzinfo=UTC), DEFAULT),
            id="fall-after-early-ends",
        ),
    ],
)
def test_amsterdam_clock_change(moment: dt.datetime, expected: Answer) -> None:
    """Timeframes in and around the changed hour, asked in UTC or in the group's zone."""
    group = schedule(CHANGEOVER)
    assert answer(group.at(moment)) == expected
    assert answer(group.at(moment.astimezone(AMS))) == expected

    oracle = Oracle(CHANGEOVER, AMS)
    limit, name, change, next_limit = expected
    assert change is not None
    assert oracle.scheduled(moment) == (limit, name)
    assert oracle.limit(change - SECOND) == limit
    assert oracle.limit(change) == next_limit


# The last minute before the clocks go back, while a timeframe that started in the hour about
# to repeat is running: 02:59:30 CEST in Amsterdam, 01:59:30 EDT in New York.
LAST_MINUTE = [
    pytest.param(
        AMS,
        dt.datetime(2026, 10, 25, 0, 59, 30, tzinfo=UTC),
        (90, "small hours", dt.datetime(2026, 10, 25, 4, tzinfo=UTC), DEFAULT),
        id="amsterdam",
    ),
    pytest.param(
        NEW_YORK,
        dt.datetime(2026, 11, 1, 5, 59, 30, tzinfo=UTC),
        (110, "early", dt.datetime(2026, 11, 1, 7, 30, tzinfo=UTC), 90),
        id="new-york",
    ),
]


@pytest.mark.parametrize(("zone", "moment", "expected"), LAST_MINUTE)
def test_last_minute_before_clocks_go_back(
    zone: ZoneInfo, moment: dt.datetime, expected: Answer
) -> None:
    """The running timeframe stays in force until its end, across the repeated hour."""
    group = schedule(CHANGEOVER, zone)
    assert answer(group.at(moment)) == expected
    assert answer(group.at(moment.astimezone(zone))) == expected


@pytest.mark.parametrize(("zone", "moment", "expected"), LAST_MINUTE)
def test_simulator_agrees_in_last_minute_before_clocks_go_back(
    zone: ZoneInfo, moment: dt.datetime, expected: Answer
) -> None:
    """The simulator keeps the running timeframe in the last minute before the repeated hour."""
    assert Oracle(CHANGEOVER, zone).scheduled(moment) == expected[:2]
