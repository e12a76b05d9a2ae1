"""Answer-time norms in Dutch working time.

Agreements state norms as working days or working hours (DOMAIN.md: "1 to 3
working days; urgent HAP questions: same shift"). Working time is Monday to
Friday, 08:00-17:00 Europe/Amsterdam, excluding the Dutch public holidays as
the ``holidays`` library knows them (no hand-kept list to go stale).

A request that arrives outside working time starts its clock at the next
working moment; "2 working days" from Tuesday 10:00 ends Thursday 10:00.

Norms in clock time (``{"hours": 2}``, ``{"minutes": 30}``) run day and night: they
are for the urgent questions of the out-of-hours post, which a specialist on call
answers at any hour (issue 20).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY_START = time(8, 0)
DAY_END = time(17, 0)


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NL", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=AMSTERDAM)


def next_working_moment(moment: datetime) -> datetime:
    """``moment`` itself when inside working time, else the start of the next working period (local time)."""
    local = moment.astimezone(AMSTERDAM)
    day = local.date()
    if is_working_day(day) and DAY_START <= local.time() < DAY_END:
        return local
    if is_working_day(day) and local.time() < DAY_START:
        return _at(day, DAY_START)
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return _at(day, DAY_START)


def add_working_days(start: datetime, days: int) -> datetime:
    local = next_working_moment(start)
    day = local.date()
    for _ in range(days):
        day += timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
    return _at(day, local.time().replace(tzinfo=None)).astimezone(UTC)


def add_working_hours(start: datetime, hours: int) -> datetime:
    remaining = timedelta(hours=hours)
    local = next_working_moment(start)
    while True:
        end_of_day = _at(local.date(), DAY_END)
        available = end_of_day - local
        if remaining <= available:
            return (local + remaining).astimezone(UTC)
        remaining -= available
        local = next_working_moment(end_of_day)


def is_clock_time(norm: dict[str, Any]) -> bool:
    """The norm runs day and night (hours or minutes), not in working time."""
    return "hours" in norm or "minutes" in norm


def is_office_hours(moment: datetime) -> bool:
    """Inside Dutch working time: a working day between 08:00 and 17:00."""
    return next_working_moment(moment) == moment.astimezone(AMSTERDAM)


def working_time_between(start: datetime, end: datetime) -> timedelta:
    """The working time from ``start`` to ``end`` (zero when ``end`` is not after ``start``): the hours of
    08:00-17:00 on working days that fall between them, so evenings, weekends and holidays count nothing."""
    total = timedelta()
    local = next_working_moment(start)
    finish = end.astimezone(AMSTERDAM)
    while local < finish:
        end_of_day = _at(local.date(), DAY_END)
        total += min(end_of_day, finish) - local
        local = next_working_moment(end_of_day)
    return total


def add_working_time(start: datetime, amount: timedelta) -> datetime:
    """``start`` plus ``amount`` of working time, carried over evenings, weekends and holidays."""
    remaining = amount
    local = next_working_moment(start)
    while True:
        end_of_day = _at(local.date(), DAY_END)
        if remaining <= end_of_day - local:
            return (local + remaining).astimezone(UTC)
        remaining -= end_of_day - local
        local = next_working_moment(end_of_day)


def norm_time_between(norm: dict[str, Any], start: datetime, end: datetime) -> timedelta:
    """The time from ``start`` to ``end`` as this norm counts it: clock time for hours or minutes, else
    working time. Negative (clock) or zero (working) when ``end`` is before ``start``."""
    if is_clock_time(norm):
        return end - start
    return working_time_between(start, end)


def add_norm_time(norm: dict[str, Any], start: datetime, amount: timedelta) -> datetime:
    """``start`` plus ``amount`` as this norm counts time (clock time or working time)."""
    if is_clock_time(norm):
        return (start + amount).astimezone(UTC)
    return add_working_time(start, amount)


def due_at(start: datetime, norm: dict[str, Any]) -> datetime:
    """The due time for an agreement norm: working days or hours, or clock hours or minutes."""
    if "hours" in norm:
        return (start + timedelta(hours=int(norm["hours"]))).astimezone(UTC)
    if "minutes" in norm:
        return (start + timedelta(minutes=int(norm["minutes"]))).astimezone(UTC)
    if "working_days" in norm:
        return add_working_days(start, int(norm["working_days"]))
    return add_working_hours(start, int(norm["working_hours"]))
