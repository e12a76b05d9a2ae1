"""Agreement files that admit the out-of-hours post: refused with their line when the post could not be served
day and night, and matched by requester, priority and hour."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from flask import Flask

from triage_service.agreements.importer import AgreementImportError, import_agreements
from triage_service.database import session_scope
from triage_service.routing.matching import in_hours
from triage_service.routing.working_time import due_at, is_office_hours

HAP_CARDIOLOGY = (Path(__file__).resolve().parents[2] / "config" / "agreements" / "hap-cardiologie.yaml").read_text(
    encoding="utf-8")


def _errors(app: Flask, tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    file = tmp_path / "hap.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(AgreementImportError) as caught, session_scope(app) as session:
        import_agreements(session, file)
    return [(e.line, e.field, e.message) for e in caught.value.errors]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_profile_for_the_post_with_an_urgent_norm_in_working_days_is_refused(app: Flask, tmp_path: Path) -> None:
    text = HAP_CARDIOLOGY.replace("urgent: {hours: 2}", "urgent: {working_days: 1}")
    [(line, field, message)] = _errors(app, tmp_path, text)
    assert (line, field) == (_line(text, "requesters: [out-of-hours-post]"), "profiles.0.requesters")
    assert "urgent must run day and night" in message


def test_a_profile_for_the_post_without_any_post_named_is_refused(app: Flask, tmp_path: Path) -> None:
    text = HAP_CARDIOLOGY.replace('out_of_hours_posts:\n  - {agb: "04010001", name: Huisartsenpost Rijnmond}\n', "")
    [(_, field, message)] = _errors(app, tmp_path, text)
    assert field == "profiles.0.requesters" and "names none" in message


@pytest.mark.parametrize(("norm", "field"), [("{minutes: 2}", "answer_norms.stat.value.minutes"),
                                             ("{hours: 100}", "answer_norms.stat.value.hours"),
                                             ("{hours: 1, minutes: 30}", "answer_norms.stat.value")])
def test_a_clock_norm_out_of_range_or_doubled_is_refused(app: Flask, tmp_path: Path, norm: str, field: str) -> None:
    text = HAP_CARDIOLOGY.replace("stat: {minutes: 30}", f"stat: {norm}")
    assert [f for _, f, _ in _errors(app, tmp_path, text)] == [field]


def test_a_call_out_that_repeats_no_sooner_than_it_escalates_is_refused(app: Flask, tmp_path: Path) -> None:
    text = HAP_CARDIOLOGY.replace("callout: {repeat_minutes: 5, escalate_after_minutes: 15}",
                                  "callout: {repeat_minutes: 15, escalate_after_minutes: 15}")
    [(_, field, message)] = _errors(app, tmp_path, text)
    assert field == "callout.repeat_minutes" and "shorter" in message


def test_an_unknown_requester_and_a_malformed_hour_are_refused(app: Flask, tmp_path: Path) -> None:
    text = HAP_CARDIOLOGY.replace("requesters: [out-of-hours-post]", "requesters: [hospital]").replace(
        "priorities: [urgent, asap, stat]",
        'priorities: [urgent, asap, stat]\n    hours: {from: "25:00", until: "08:00"}')
    fields = {f for _, f, _ in _errors(app, tmp_path, text)}
    assert fields == {"profiles.0.requesters.0", "profiles.0.hours.from"}


def test_an_hours_window_may_run_past_midnight() -> None:
    night = (time(17, 0), time(8, 0))
    assert in_hours(night, time(23, 30)) and in_hours(night, time(7, 59)) and not in_hours(night, time(8, 0))
    assert in_hours((time(8, 0), time(17, 0)), time(12, 0)) and not in_hours((time(8, 0), time(17, 0)), time(17, 0))
    assert in_hours(None, time(3, 0))


def test_clock_norms_run_through_the_weekend_and_working_norms_do_not() -> None:
    from datetime import UTC, datetime, timedelta

    friday_night = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    assert due_at(friday_night, {"hours": 2}) == friday_night + timedelta(hours=2)
    assert due_at(friday_night, {"minutes": 30}) == friday_night + timedelta(minutes=30)
    assert due_at(friday_night, {"working_hours": 2}) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 10:00
    assert not is_office_hours(friday_night) and is_office_hours(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
