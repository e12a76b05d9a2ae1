"""The rota against the database: who may be on call, no overlap, no gap, an import replaces its period, and a
change to one shift keeps the rota unbroken. Nothing is stored when anything is wrong."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import START
from tests.rota.conftest import AALBERS, BOS, CLAES, DEKKER, MULDER, Hospital, ams, rota_of
from triage_service.agreements.rota import (
    add_shift,
    change_shift,
    delete_shift,
    import_rota,
    shifts_between,
    uncovered_periods,
)
from triage_service.agreements.rota_files import RotaRefused, read_form_shift, read_rota_file
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.models import AuditEntry, OnCallShift

HEADER = "begin;einde;dienst;achterwacht"


def day(date: str, on_call: str, backup: str, until: str | None = None) -> str:
    """A 24-hour shift from 08:00 on ``date`` (to 08:00 on ``until``, the next day when not given)."""
    from datetime import date as date_type
    from datetime import timedelta

    end = until or (date_type.fromisoformat(date) + timedelta(days=1)).isoformat()
    return f"{date} 08:00;{end} 08:00;{on_call};{backup}"


def import_csv(app: Flask, hospital: Hospital, *rows: str, specialism: str = "0320") -> object:
    with session_scope(app) as session:
        return import_rota(session, CLI_ACTOR, read_rota_file("rooster.csv", "\n".join([HEADER, *rows]).encode()),
                           organisation_id=hospital.organisation_id, specialism=specialism)


def refusal(app: Flask, hospital: Hospital, *rows: str, specialism: str = "0320") -> list[str]:
    with pytest.raises(RotaRefused) as refused:
        import_csv(app, hospital, *rows, specialism=specialism)
    return [str(error) for error in refused.value.errors]


WEEK = [day("2026-11-23", AALBERS, BOS), day("2026-11-24", BOS, CLAES), day("2026-11-25", CLAES, AALBERS)]


def test_a_rota_is_imported_as_shifts_in_utc_and_audited(app: Flask, hospital: Hospital) -> None:
    result = import_csv(app, hospital, *WEEK)
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", AALBERS, BOS),
                                      ("2026-11-24 08:00", "2026-11-25 08:00", BOS, CLAES),
                                      ("2026-11-25 08:00", "2026-11-26 08:00", CLAES, AALBERS)]
    assert (result.stored, result.replaced) == (3, 0)  # type: ignore[attr-defined]
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "rota.import")).one()
        assert "specialism=0320" in (entry.detail or "") and "shifts=3" in (entry.detail or "")
        shift = session.scalars(select(OnCallShift).where(OnCallShift.practitioner.has(agb=BOS))).one()
        assert shift.source == "csv" and shift.starts_at == ams("2026-11-24 08:00")


def test_an_overlap_names_both_lines(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital, day("2026-11-23", AALBERS, BOS), "2026-11-24 06:00;2026-11-25 08:00;"
                   f"{BOS};{CLAES}") == ["rooster.csv:3: begin: This shift overlaps the shift on line 2 "
                                         "(2026-11-23 08:00 to 2026-11-24 08:00)"]
    assert rota_of(app, hospital) == []


def test_the_same_shift_twice_is_an_overlap(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital, WEEK[0], WEEK[0]) == [
        "rooster.csv:3: begin: This shift overlaps the shift on line 2 (2026-11-23 08:00 to 2026-11-24 08:00)"]


def test_a_gap_names_both_lines_and_the_hours_nobody_is_on_call(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital, WEEK[0], "2026-11-24 09:30;2026-11-25 08:00;" f"{BOS};{CLAES}") == [
        "rooster.csv:3: begin: Nobody is on call from 2026-11-24 08:00 to 2026-11-24 09:30, between the shift on "
        "line 2 and this one"]


def test_lines_in_any_order_are_checked_in_the_order_of_time(app: Flask, hospital: Hospital) -> None:
    import_csv(app, hospital, WEEK[2], WEEK[0], WEEK[1])
    assert len(rota_of(app, hospital)) == 3


def test_who_may_be_on_call_is_checked_for_each_shift(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital, day("2026-11-23", "03999999", AALBERS), day("2026-11-24", MULDER, BOS),
                   day("2026-11-25", DEKKER, CLAES), day("2026-11-26", BOS, BOS),
                   "2026-11-28 08:00;2026-11-27 08:00;" f"{AALBERS};{BOS}") == [
        "rooster.csv:2: dienst: No specialist with AGB code 03999999 is known",
        "rooster.csv:3: dienst: dr. P. Mulder (cardioloog) (AGB 03200001) is not a specialist of "
        "Testziekenhuis Oost",
        "rooster.csv:4: dienst: dr. D. Dekker (AGB 03990004) is not a specialist of this specialism",
        "rooster.csv:5: achterwacht: The backup must be someone else than the specialist on call",
        "rooster.csv:6: einde: The shift must end after it starts",
    ]


def test_a_gp_is_never_on_call_in_a_specialists_rota(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital, day("2026-11-23", AALBERS, "01012345")) == [
        "rooster.csv:2: achterwacht: dr. A. Jansen (AGB 01012345) is not a specialist of Testziekenhuis Oost"]


def test_errors_of_reading_and_of_checking_come_together(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital, day("2026-11-23", AALBERS, "1234"), day("2026-11-24", BOS, BOS)) == [
        "rooster.csv:2: achterwacht: 1234 is not an AGB code (8 digits)",
        "rooster.csv:3: achterwacht: The backup must be someone else than the specialist on call"]


def test_an_empty_file_is_refused(app: Flask, hospital: Hospital) -> None:
    assert refusal(app, hospital) == ["rooster.csv:1: The file has no shifts"]


def test_an_import_replaces_the_shifts_inside_its_period_and_keeps_those_around_it(app: Flask,
                                                                                  hospital: Hospital) -> None:
    import_csv(app, hospital, *WEEK)
    result = import_csv(app, hospital, day("2026-11-24", CLAES, BOS), day("2026-11-25", BOS, CLAES))
    assert (result.stored, result.replaced) == (2, 2)  # type: ignore[attr-defined]
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", AALBERS, BOS),
                                      ("2026-11-24 08:00", "2026-11-25 08:00", CLAES, BOS),
                                      ("2026-11-25 08:00", "2026-11-26 08:00", BOS, CLAES)]


def test_an_import_that_cuts_into_a_shift_outside_its_period_is_refused_and_stores_nothing(
        app: Flask, hospital: Hospital) -> None:
    import_csv(app, hospital, *WEEK)
    assert refusal(app, hospital, "2026-11-24 20:00;2026-11-25 08:00;" f"{CLAES};{BOS}") == [
        "rooster.csv:2: begin: This shift overlaps the shift of dr. B. Bos from 2026-11-24 08:00 to "
        "2026-11-25 08:00 in the rota, which reaches beyond this file's first or last shift: change that shift "
        "first, or start or end the file at its changeover"]
    assert rota_of(app, hospital)[1] == ("2026-11-24 08:00", "2026-11-25 08:00", BOS, CLAES)


def test_an_icalendar_rota_is_imported_like_a_csv_one(app: Flask, hospital: Hospital) -> None:
    urn = "urn:oid:2.16.840.1.113883.2.4.6.1"
    data = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//NL\r\nBEGIN:VEVENT\r\nUID:a@test\r\n"
            "DTSTART;TZID=Europe/Amsterdam:20261123T080000\r\nDTEND;TZID=Europe/Amsterdam:20261124T080000\r\n"
            f"ATTENDEE;ROLE=REQ-PARTICIPANT:{urn}:{AALBERS}\r\nATTENDEE;ROLE=OPT-PARTICIPANT:{urn}:{AALBERS}\r\n"
            "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:b@test\r\nDTSTART:20261124T090000Z\r\nDTEND:20261125T070000Z\r\n"
            f"ATTENDEE;ROLE=REQ-PARTICIPANT:{urn}:{BOS}\r\nATTENDEE;ROLE=OPT-PARTICIPANT:{urn}:{CLAES}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    with session_scope(app) as session, pytest.raises(RotaRefused) as refused:
        import_rota(session, CLI_ACTOR, read_rota_file("rooster.ics", data), organisation_id=hospital.organisation_id,
                    specialism="0320")
    assert [str(e) for e in refused.value.errors] == [
        "rooster.ics:4: ATTENDEE: The backup must be someone else than the specialist on call",
        "rooster.ics:11: DTSTART: Nobody is on call from 2026-11-24 08:00 to 2026-11-24 10:00, between the shift "
        "on line 4 and this one"]
    with session_scope(app) as session:
        import_rota(session, CLI_ACTOR, read_rota_file("rooster.ics", data.replace(
            f"OPT-PARTICIPANT:{urn}:{AALBERS}".encode(), f"OPT-PARTICIPANT:{urn}:{BOS}".encode()).replace(
            b"20261124T090000Z", b"20261124T070000Z")), organisation_id=hospital.organisation_id, specialism="0320")
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", AALBERS, BOS),
                                      ("2026-11-24 08:00", "2026-11-25 08:00", BOS, CLAES)]


def test_shifts_between_and_the_uncovered_hours_of_a_period(app: Flask, hospital: Hospital) -> None:
    import_csv(app, hospital, WEEK[0])
    import_csv(app, hospital, WEEK[2])
    with session_scope(app) as session:
        found = shifts_between(session, hospital.organisation_id, "0320", ams("2026-11-24 07:00"),
                               ams("2026-11-25 09:00"))
        assert [s.practitioner.agb for s in found] == [AALBERS, CLAES]
        assert uncovered_periods(found, ams("2026-11-24 07:00"), ams("2026-11-26 12:00")) == [
            (ams("2026-11-24 08:00"), ams("2026-11-25 08:00")), (ams("2026-11-26 08:00"), ams("2026-11-26 12:00"))]
        assert shifts_between(session, hospital.organisation_id, "0310", START, ams("2026-12-01 00:00")) == []


# -- one shift at a time ------------------------------------------------------------------------------------


def form(start: str, end: str, on_call: str, backup: str) -> dict[str, str]:
    return {"start_date": start[:10], "start_time": start[11:], "end_date": end[:10], "end_time": end[11:],
            "on_call": on_call, "backup": backup}


def shift_id(app: Flask, hospital: Hospital, index: int) -> str:
    with session_scope(app) as session:
        return session.scalars(select(OnCallShift.id).where(OnCallShift.organisation_id == hospital.organisation_id)
                               .order_by(OnCallShift.starts_at)).all()[index]


def test_a_shift_added_after_the_rota_may_not_overlap_it(app: Flask, hospital: Hospital) -> None:
    import_csv(app, hospital, *WEEK[:2])
    with session_scope(app) as session:
        line, errors = read_form_shift(form("2026-11-25 07:00", "2026-11-26 08:00", CLAES, AALBERS))
        with pytest.raises(RotaRefused) as refused:
            add_shift(session, CLI_ACTOR, hospital.organisation_id, "0320", line, read_errors=errors)
        assert [(e.field, e.text()) for e in refused.value.errors] == [
            ("start", "This shift overlaps the shift of dr. B. Bos from 2026-11-24 08:00 to 2026-11-25 08:00")]
    with session_scope(app) as session:
        line, errors = read_form_shift(form("2026-11-25 08:00", "2026-11-26 08:00", CLAES, AALBERS))
        add_shift(session, CLI_ACTOR, hospital.organisation_id, "0320", line, read_errors=errors)
    assert rota_of(app, hospital)[-1] == ("2026-11-25 08:00", "2026-11-26 08:00", CLAES, AALBERS)


def test_moving_a_changeover_moves_the_neighbouring_shift_with_it(app: Flask, hospital: Hospital) -> None:
    import_csv(app, hospital, *WEEK)
    middle = shift_id(app, hospital, 1)
    with session_scope(app) as session:
        line, _ = read_form_shift(form("2026-11-24 09:00", "2026-11-25 07:30", CLAES, BOS))
        change = change_shift(session, CLI_ACTOR, hospital.organisation_id, middle, line)
        assert len(change.moved) == 2
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 09:00", AALBERS, BOS),
                                      ("2026-11-24 09:00", "2026-11-25 07:30", CLAES, BOS),
                                      ("2026-11-25 07:30", "2026-11-26 08:00", CLAES, AALBERS)]


def test_a_change_that_would_swallow_a_neighbour_or_break_the_rules_is_refused(app: Flask,
                                                                              hospital: Hospital) -> None:
    import_csv(app, hospital, *WEEK)
    middle = shift_id(app, hospital, 1)
    with session_scope(app) as session:
        line, errors = read_form_shift(form("2026-11-23 08:00", "2026-11-26 09:00", DEKKER, DEKKER))
        with pytest.raises(RotaRefused) as refused:
            change_shift(session, CLI_ACTOR, hospital.organisation_id, middle, line, read_errors=errors)
        assert sorted(e.text() for e in refused.value.errors) == [
            "The backup must be someone else than the specialist on call",
            "The shift would end after the next shift of dr. C. Claes does (2026-11-26 08:00): change or delete "
            "that shift first",
            "The shift would start before the previous shift of dr. A. Aalbers does (2026-11-23 08:00): change or "
            "delete that shift first",
            "dr. D. Dekker (AGB 03990004) is not a specialist of this specialism",
            "dr. D. Dekker (AGB 03990004) is not a specialist of this specialism"]
    assert rota_of(app, hospital)[1] == ("2026-11-24 08:00", "2026-11-25 08:00", BOS, CLAES)


def test_a_shift_of_another_organisation_cannot_be_changed_or_deleted(app: Flask, hospital: Hospital) -> None:
    from triage_service.errors import NotFound

    import_csv(app, hospital, *WEEK)
    first = shift_id(app, hospital, 0)
    with session_scope(app) as session, pytest.raises(NotFound):
        delete_shift(session, CLI_ACTOR, "another-organisation", first)


def test_deleting_a_shift_between_two_others_asks_who_takes_over_its_hours(app: Flask, hospital: Hospital) -> None:
    import_csv(app, hospital, *WEEK)
    middle = shift_id(app, hospital, 1)
    with session_scope(app) as session, pytest.raises(RotaRefused) as refused:
        delete_shift(session, CLI_ACTOR, hospital.organisation_id, middle)
    assert refused.value.errors[0].field == "give_to"
    with session_scope(app) as session:
        delete_shift(session, CLI_ACTOR, hospital.organisation_id, middle, give_to="next")
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", AALBERS, BOS),
                                      ("2026-11-24 08:00", "2026-11-26 08:00", CLAES, AALBERS)]
    with session_scope(app) as session:
        delete_shift(session, CLI_ACTOR, hospital.organisation_id, shift_id(app, hospital, 1))  # the last: no gap
    with session_scope(app) as session:  # the trail is written at the commit
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("rota.%"))).all()
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", AALBERS, BOS)]
    assert events.count("rota.shift.delete") == 2
