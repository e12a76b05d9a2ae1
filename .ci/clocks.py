"""The shifted system clocks CI runs the suite at, as libfaketime offsets in seconds from now ("+N").

An offset, not a start time ("@..."): a start time restarts the clock in every process that loads
libfaketime, so a server started minutes into the run would be minutes behind the tests that call it.

Computed from today, so they are always ahead of the real date: a Friday at 17:30 Dutch time (the end of a
working week, when working-day norms jump over the weekend), 31 December at 23:59 (a year and a holiday
begin during the run) and two minutes before the switch to winter time (the last Sunday of October,
03:00 CEST becomes 02:00 CET during the run)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC)


def friday_evening(today: datetime) -> datetime:
    day = today.date() + timedelta(days=(4 - today.weekday()) % 7 or 7)
    return _utc(datetime(day.year, day.month, day.day, 17, 30, tzinfo=AMSTERDAM))


def new_years_eve(today: datetime) -> datetime:
    return _utc(datetime(today.year, 12, 31, 23, 59, tzinfo=AMSTERDAM))


def winter_time_switch(today: datetime) -> datetime:
    year = today.year if today.month < 10 else today.year + 1
    last_sunday = max(datetime(year, 10, day, tzinfo=UTC) for day in range(25, 32)
                      if datetime(year, 10, day).weekday() == 6)
    return last_sunday + timedelta(minutes=58)  # the switch is 01:00 UTC


if __name__ == "__main__":
    today = datetime.now(AMSTERDAM)  # CI's own tool, not the service: the real date is the point
    clocks = {"friday": friday_evening, "newyear": new_years_eve, "wintertime": winter_time_switch}
    target = clocks[sys.argv[1]](today)
    print(f"+{int((target - today).total_seconds())}" if len(sys.argv) < 3 else target.isoformat())
