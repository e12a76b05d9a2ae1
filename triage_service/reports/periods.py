"""Reporting periods are calendar months in Dutch time: a consult answered at 00:30 on 1 December
(Amsterdam) belongs to December, although it is still November in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from triage_service.routing.working_time import AMSTERDAM

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11``; raises ValueError with a message fit for a field error."""
        match = _MONTH.match(text)
        if match is None:
            raise ValueError("a month is written as YYYY-MM, e.g. 2026-11")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def start(self) -> datetime:
        """The first moment of the month in Amsterdam, in UTC."""
        return local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """The first moment after the month (exclusive), in UTC."""
        return self.next.start


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM).astimezone(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()
