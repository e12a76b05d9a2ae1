"""Answer norms count Dutch working time: weekdays 08:00-17:00, no weekends, no public holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from triage_service.routing.working_time import AMSTERDAM, add_working_days, add_working_hours, due_at, is_working_day


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)  # type: ignore[misc]


def test_two_working_days_from_tuesday_morning_end_on_thursday_morning() -> None:
    assert add_working_days(local(2026, 11, 24, 10, 0), 2) == local(2026, 11, 26, 10, 0).astimezone(UTC)


def test_working_days_skip_the_weekend() -> None:
    assert add_working_days(local(2026, 11, 27, 14, 30), 1) == local(2026, 11, 30, 14, 30)


def test_working_days_skip_christmas_and_the_weekend_after_it() -> None:
    # Thursday 24 December 2026 + 2: Christmas (Fri), Second Christmas Day (Sat), Sunday are skipped.
    assert add_working_days(local(2026, 12, 24, 10, 0), 2) == local(2026, 12, 29, 10, 0)


def test_kings_day_is_not_a_working_day() -> None:
    assert not is_working_day(local(2027, 4, 27, 12).date())
    assert add_working_days(local(2027, 4, 26, 9, 0), 1) == local(2027, 4, 28, 9, 0)


def test_a_request_sent_on_saturday_starts_its_clock_on_monday_morning() -> None:
    assert add_working_days(local(2026, 11, 28, 12, 0), 1) == local(2026, 12, 1, 8, 0)


def test_a_request_sent_in_the_evening_starts_its_clock_the_next_morning() -> None:
    assert add_working_hours(local(2026, 11, 24, 20, 0), 2) == local(2026, 11, 25, 10, 0)


def test_working_hours_carry_over_the_weekend() -> None:
    # Friday 16:00 + 4 working hours: one hour on Friday, three on Monday morning.
    assert add_working_hours(local(2026, 11, 27, 16, 0), 4) == local(2026, 11, 30, 11, 0)


def test_working_days_keep_the_local_clock_time_across_the_switch_to_summer_time() -> None:
    # Thursday 25 March 2027 (winter time) + 2 working days: Good Friday, the weekend in which summer
    # time starts, and Easter Monday are skipped -> Wednesday 31 March, 10:00 local (summer time).
    assert add_working_days(local(2027, 3, 25, 10, 0), 2) == local(2027, 3, 31, 10, 0)


@pytest.mark.parametrize(("norm", "expected"), [({"working_days": 3}, local(2026, 11, 26, 9, 0)),
                                                ({"working_hours": 8}, local(2026, 11, 23, 17, 0))])
def test_due_at_reads_the_agreements_norm(norm: dict[str, int], expected: datetime) -> None:
    assert due_at(local(2026, 11, 23, 9, 0), norm) == expected
