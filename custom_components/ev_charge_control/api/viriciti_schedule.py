"""A ViriCiti group's timeframe schedule: which limit the crons put in force, and when it changes.

Pure logic over the group's timeframes (no I/O, no Home Assistant). The rules, from the vendor
document and its notes:

- ``start`` and ``end`` are cron expressions in the group's time zone, day of week 0 = Sunday
  (evaluated with cronsim, the library Home Assistant itself pins).
- A timeframe runs from a ``start`` firing until the first ``end`` firing after it. An ``end``
  of ``0 0 * * …`` is the midnight at the END of the day it names: ``0 16 * * 5`` until
  ``0 0 * * 5`` is Friday 16:00 until Saturday 00:00.
- Outside all timeframes the group's default limit holds; where timeframes overlap, the lowest
  limit wins.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
import datetime as dt
from itertools import takewhile
from typing import Final
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from .viriciti import ViricitiTimeframe

# How far ahead the next change is looked for: every weekly schedule changes within a week.
HORIZON: Final = dt.timedelta(days=8)
_MINUTE: Final = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """One run of a timeframe: from ``start`` until ``end`` (aware, UTC)."""

    start: dt.datetime
    end: dt.datetime
    timeframe: ViricitiTimeframe


@dataclass(frozen=True, slots=True)
class ScheduleNow:
    """What the schedule says at one moment.

    ``limit`` is the scheduled limit in force (None outside all timeframes, where the default
    holds), ``timeframe`` the one it comes from; ``next_change`` is when the
    scheduled-or-default limit next changes (None: not within ``HORIZON``), to ``next_limit``.
    """

    limit: float | None
    timeframe: ViricitiTimeframe | None
    next_change: dt.datetime | None
    next_limit: float | None


def valid_cron(expression: str) -> bool:
    """Tell whether cronsim can read an expression (timeframes with others are left out)."""
    try:
        CronSim(expression, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    except CronSimError:
        return False
    return True


def _is_midnight(expression: str) -> bool:
    fields = expression.split()
    return len(fields) >= 2 and all(f.isdigit() and int(f) == 0 for f in fields[:2])


def _fires_after(expression: str, moment: dt.datetime) -> Iterator[dt.datetime]:
    """Yield the firings strictly after ``moment`` (aware, in the group's zone)."""
    yield from CronSim(expression, moment)


def _latest_fire(expression: str, moment: dt.datetime) -> dt.datetime | None:
    """Return the latest firing at or before ``moment``."""
    # cronsim's reverse mode drops the seconds and looks from one minute before.
    return next(CronSim(expression, moment + _MINUTE, reverse=True), None)


def _end_after(expression: str, start: dt.datetime) -> dt.datetime | None:
    """Return when a run that started at ``start`` ends (None: never within cronsim's reach)."""
    zone = start.tzinfo
    if not _is_midnight(expression):
        return next(_fires_after(expression, start), None)
    # "0 0 … D" ends day D: the first such day on or after the start's day, at its end.
    day_start = dt.datetime.combine(start.date(), dt.time(0), zone)
    fire = next(_fires_after(expression, day_start - _MINUTE), None)
    if fire is None:
        return None
    return dt.datetime.combine(fire.date() + dt.timedelta(days=1), dt.time(0), zone)


class Schedule:
    """The timeframes of one group in its time zone, with its default limit."""

    def __init__(
        self,
        timeframes: Sequence[ViricitiTimeframe],
        default_limit: float | None,
        zone: ZoneInfo,
    ) -> None:
        self.zone = zone
        self.default_limit = default_limit
        self.timeframes = tuple(
            tf
            for tf in timeframes
            if tf.active and tf.limit is not None and valid_cron(tf.start) and valid_cron(tf.end)
        )

    def windows(self, first: dt.datetime, last: dt.datetime) -> list[ScheduleWindow]:
        """Return the runs of every timeframe that overlap [first, last]."""
        first_local = first.astimezone(self.zone)
        runs: list[ScheduleWindow] = []
        for timeframe in self.timeframes:
            latest = _latest_fire(timeframe.start, first_local)
            starts = [] if latest is None else [latest]
            starts += takewhile(
                lambda start: start <= last, _fires_after(timeframe.start, first_local)
            )
            for start in starts:
                end = _end_after(timeframe.end, start)
                if end is None or end > first:
                    runs.append(
                        ScheduleWindow(
                            start.astimezone(dt.UTC),
                            (end or dt.datetime.max.replace(tzinfo=dt.UTC)).astimezone(dt.UTC),
                            timeframe,
                        )
                    )
        return runs

    @staticmethod
    def _lowest(runs: Sequence[ScheduleWindow], moment: dt.datetime) -> ViricitiTimeframe | None:
        running = [run.timeframe for run in runs if run.start <= moment < run.end]
        if not running:
            return None
        # The first of equally low ones, as the group lists them.
        return min(running, key=lambda tf: tf.limit or 0.0)

    def _value(self, timeframe: ViricitiTimeframe | None) -> float | None:
        return self.default_limit if timeframe is None else timeframe.limit

    def at(self, moment: dt.datetime) -> ScheduleNow:
        """Return the scheduled limit at ``moment`` (aware) and the schedule's next change."""
        runs = self.windows(moment, moment + HORIZON)
        timeframe = self._lowest(runs, moment)
        now_value = self._value(timeframe)
        edges = sorted(
            {
                edge
                for run in runs
                for edge in (run.start, run.end)
                if moment < edge <= moment + HORIZON
            }
        )
        for edge in edges:
            value = self._value(self._lowest(runs, edge))
            if value != now_value:
                return ScheduleNow(timeframe.limit if timeframe else None, timeframe, edge, value)
        return ScheduleNow(timeframe.limit if timeframe else None, timeframe, None, None)
