"""Reading rota files on their own (no database): CSV and iCalendar, each problem on its line."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from triage_service.agreements.rota_files import RotaFile, read_form_shift, read_rota_file


def csv_rota(*rows: str, header: str = "begin;einde;dienst;achterwacht") -> RotaFile:
    return read_rota_file("rooster.csv", "\n".join([header, *rows]).encode())


def problems(rota: RotaFile) -> list[str]:
    return [str(error) for error in sorted(rota.errors, key=lambda e: (e.line, str(e)))]


def test_a_csv_rota_with_semicolons_is_read_in_dutch_time() -> None:
    rota = csv_rota("2026-11-23 08:00;2026-11-24 08:00;03990001;03990002",
                    "2026-11-24 08:00;2026-11-25 08:00;03990002;03990001")
    assert rota.errors == []
    assert rota.source == "csv"
    first, second = rota.lines
    assert (first.line, first.starts_at, first.on_call_agb, first.backup_agb) == (
        2, datetime(2026, 11, 23, 7, 0, tzinfo=UTC), "03990001", "03990002")
    assert second.ends_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def test_a_csv_rota_with_commas_english_column_names_any_order_and_a_bom_is_read_too() -> None:
    data = "\ufeffon_call,backup,start,end\r\n03990001,03990002,2026-07-01 08:00,2026-07-02 08:00\r\n".encode()
    rota = read_rota_file("rota.csv", data)
    assert rota.errors == []
    assert rota.lines[0].starts_at == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # summer time: UTC+2
    assert rota.lines[0].names == ("start", "end", "on_call", "backup")


def test_a_csv_rota_saved_by_a_dutch_windows_spreadsheet_with_trailing_separators_is_read() -> None:
    data = ("begin;einde;dienst;achterwacht;;\n2026-11-23 08:00;2026-11-24 08:00;03990001;03990002;;\n"
            "2026-11-24 08:00;2026-11-25 08:00;03990002;Bos \u00e9\n")
    rota = read_rota_file("rooster.csv", data.encode("cp1252"))
    assert [line.on_call_agb for line in rota.lines] == ["03990001", "03990002"]
    assert problems(rota) == ["rooster.csv:3: achterwacht: Bos \u00e9 is not an AGB code (8 digits)"]


def test_blank_rows_are_passed_by_and_line_numbers_stay_those_of_the_file() -> None:
    rota = csv_rota("", "2026-11-23 08:00;2026-11-24 08:00;03990001;03990002", "", "x;2026-11-25 08:00;03990002;"
                    "03990001")
    assert [line.line for line in rota.lines] == [3, 5]
    assert problems(rota) == ["rooster.csv:5: begin: x is not a date and time such as 2026-11-23 08:00"]


def test_every_bad_cell_of_a_csv_rota_is_reported_at_once_with_its_line_and_column() -> None:
    rota = csv_rota("2026-11-23 08:00;2026-11-24 08:00;0399000;03990002",
                    "2026-13-24 08:00;;03990002;abc",
                    "2026-11-25 08:00;2026-11-26 08:00;03990001",
                    "2026-03-29 02:30;2026-10-25 02:30;03990001;03990002")
    assert problems(rota) == [
        "rooster.csv:2: dienst: 0399000 is not an AGB code (8 digits)",
        "rooster.csv:3: achterwacht: abc is not an AGB code (8 digits)",
        "rooster.csv:3: begin: 2026-13-24 08:00 is not a date and time such as 2026-11-23 08:00",
        "rooster.csv:3: einde: Fill in a date and time, such as 2026-11-23 08:00",
        "rooster.csv:4: This row has 3 cells, the first row 4: is a separator missing or too many?",
        "rooster.csv:4: achterwacht: Fill in the specialist's AGB code (8 digits)",
        "rooster.csv:5: begin: 2026-03-29 02:30 does not exist in Dutch time: the clocks go forward an hour that "
        "night",
        "rooster.csv:5: einde: 2026-10-25 02:30 happens twice in Dutch time: the clocks go back an hour that night; "
        "choose another time",
    ]


def test_a_csv_rota_with_wrong_columns_names_what_is_missing_and_what_is_unknown() -> None:
    rota = csv_rota("2026-11-23 08:00;2026-11-24 08:00;03990001;03990002", header="begin;eind;dienst;dienst")
    assert problems(rota) == [
        "rooster.csv:1: achterwacht: The column achterwacht is missing: the first row names the columns begin, "
        "einde, dienst and achterwacht",
        "rooster.csv:1: dienst: The column dienst is there twice",
        "rooster.csv:1: eind: Unknown column eind: the columns are begin, einde, dienst and achterwacht",
        "rooster.csv:1: einde: The column einde is missing: the first row names the columns begin, einde, dienst "
        "and achterwacht",
    ]
    assert rota.lines == []


def test_an_empty_file_or_one_with_only_a_header_has_no_shifts() -> None:
    for data in (b"", b"\n\n", b"begin;einde;dienst;achterwacht\n", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                 b"PRODID:-//test//NL\r\nEND:VCALENDAR\r\n"):
        assert problems(read_rota_file("rooster.csv", data)) == ["rooster.csv:1: The file has no shifts"], data


URN = "urn:oid:2.16.840.1.113883.2.4.6.1"


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//NL\r\n{body}END:VCALENDAR\r\n".replace(
        "\n\r\n", "\r\n").replace("\n", "\r\n").replace("\r\r", "\r").encode()


def event(start: str = "DTSTART;TZID=Europe/Amsterdam:20261123T080000",
          end: str = "DTEND;TZID=Europe/Amsterdam:20261124T080000", on_call: str = f"{URN}:03990001",
          backup: str = f"{URN}:03990002") -> str:
    uid = re.sub(r"[^0-9A-Z]", "", start + end)
    return (f"UID:{uid}@test\n{start}\n{end}\nATTENDEE;ROLE=REQ-PARTICIPANT;CN=dr. A. Aalbers:{on_call}\n"
            f"ATTENDEE;ROLE=OPT-PARTICIPANT:{backup}")


def test_an_icalendar_rota_gives_a_shift_per_event_with_the_on_call_and_backup_attendees() -> None:
    rota = read_rota_file("rooster.ics", ics(
        event(), event("DTSTART:20261124T070000Z", "DURATION:PT24H", on_call=f"{URN}:03990002",
                       backup=f"{URN.upper()}:03990001")))
    assert rota.errors == []
    assert rota.source == "ical"
    first, second = rota.lines
    assert (first.line, first.starts_at, first.ends_at, first.on_call_agb, first.backup_agb) == (
        4, datetime(2026, 11, 23, 7, 0, tzinfo=UTC), datetime(2026, 11, 24, 7, 0, tzinfo=UTC), "03990001",
        "03990002")
    assert (second.line, second.starts_at, second.ends_at, second.on_call_agb, second.backup_agb) == (
        11, datetime(2026, 11, 24, 7, 0, tzinfo=UTC), datetime(2026, 11, 25, 7, 0, tzinfo=UTC), "03990002",
        "03990001")


def test_an_attendee_without_a_role_is_on_call_and_a_chair_is_passed_by() -> None:
    rota = read_rota_file("rooster.ics", ics(
        f"DTSTART:20261123T070000Z\nDTEND:20261124T070000Z\nATTENDEE:{URN}:03990001\n"
        f"ATTENDEE;ROLE=CHAIR:mailto:planning@ziekenhuis.example\nATTENDEE;ROLE=OPT-PARTICIPANT:{URN}:03990002"))
    assert rota.errors == []
    assert (rota.lines[0].on_call_agb, rota.lines[0].backup_agb) == ("03990001", "03990002")


def test_a_time_without_a_zone_is_dutch_time_and_an_unknown_zone_is_refused() -> None:
    rota = read_rota_file("rooster.ics", ics(
        event("DTSTART:20260701T080000", "DTEND;TZID=Mars/Olympus:20260702T080000")))
    assert rota.lines[0].starts_at == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert problems(rota) == ["rooster.ics:7: DTEND: The time zone Mars/Olympus is unknown: use "
                              "TZID=Europe/Amsterdam or a time in UTC"]


def test_every_bad_property_of_an_icalendar_rota_is_reported_on_its_own_line() -> None:
    rota = read_rota_file("rooster.ics", ics(
        event("DTSTART:2026112XT080000Z", "DTEND;VALUE=DATE:20261124", on_call="mailto:aalbers@example.nl"),
        "UID:2\nDTSTART:20261124T070000Z\nSUMMARY:nobody",
        event(backup=f"{URN}:03990002\nATTENDEE;ROLE=OPT-PARTICIPANT:{URN}:03990003")))
    assert problems(rota) == [
        "rooster.ics:6: DTSTART: DTSTART cannot be read as a date and time",
        "rooster.ics:7: DTEND: DTEND is a whole day without a time: give the time the shift starts and ends",
        "rooster.ics:8: ATTENDEE: mailto:aalbers@example.nl is not an AGB code: write "
        "urn:oid:2.16.840.1.113883.2.4.6.1: followed by the 8-digit AGB code",
        # The second event (from its BEGIN:VEVENT on line 11) has neither an end nor attendees.
        "rooster.ics:11: ATTENDEE: No backup: give the backup as ATTENDEE;ROLE=OPT-PARTICIPANT",
        "rooster.ics:11: ATTENDEE: Nobody on call: give the specialist on call as ATTENDEE;ROLE=REQ-PARTICIPANT",
        "rooster.ics:11: DTEND: The event has no end (DTEND): when does the shift end?",
        "rooster.ics:22: ATTENDEE: More than one backup (ROLE=OPT-PARTICIPANT): a shift has one",
    ]


def test_a_file_that_is_not_icalendar_is_refused_at_the_line_that_breaks() -> None:
    data = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nthis is not a property\r\nEND:VCALENDAR\r\n"
    assert problems(read_rota_file("rooster.ics", data)) == [
        "rooster.ics:3: This line is not valid iCalendar (a file from a calendar program, .ics)"]


def test_folded_lines_count_where_they_start() -> None:
    rota = read_rota_file("rooster.ics", ics(
        f"DTSTART:20261123T070000Z\nDTEND:20261124T070000Z\nATTENDEE;ROLE=REQ-PARTICIPANT;CN=dr. A.\n"
        f"  Aalbers:{URN}:03990001\nATTENDEE;ROLE=OPT-PARTICIPANT:{URN}:0399"))
    assert problems(rota) == ["rooster.ics:9: ATTENDEE: urn:oid:2.16.840.1.113883.2.4.6.1:0399 is not an AGB "
                              "code: write urn:oid:2.16.840.1.113883.2.4.6.1: followed by the 8-digit AGB code"]


def test_the_inbox_form_gives_a_shift_with_errors_beside_its_fields() -> None:
    line, errors = read_form_shift({"start_date": "2026-11-23", "start_time": "08:00", "end_date": "2026-11-24",
                                    "end_time": "", "on_call": "03990001", "backup": ""})
    assert line.starts_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert {(e.field, e.message) for e in errors} == {
        ("end", "%(value)s is not a date and time such as 2026-11-23 08:00"),
        ("backup", "Fill in the specialist's AGB code (8 digits)")}
