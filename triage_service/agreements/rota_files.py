"""Reading an on-call rota (dienstrooster) from a CSV or iCalendar file, with an error per line.

What a rota maker uploads comes out of a spreadsheet or a planning tool, so every problem is reported with
the line of the file it is on, in words a rota maker can act on (translated on the screen, English on the
console), and all problems at once: fixing a file one error per upload wastes an afternoon.

**CSV**: a header row, then one shift per row. Columns ``begin, einde, dienst, achterwacht`` (or the English
``start, end, on_call, backup``), separated by ``;`` (Dutch spreadsheets) or ``,``, in any order. Times are
``YYYY-MM-DD HH:MM`` in Dutch time (Europe/Amsterdam); ``dienst`` (the specialist on call) and ``achterwacht``
(the named backup) are 8-digit AGB codes.

**iCalendar** (RFC 5545): one VEVENT per shift. DTSTART and DTEND with a TZID or in UTC (a time without either
is read as Dutch time); the specialist on call is the ATTENDEE with ``ROLE=REQ-PARTICIPANT`` (the default role
when none is given) and the backup the ATTENDEE with ``ROLE=OPT-PARTICIPANT``, each as
``urn:oid:2.16.840.1.113883.2.4.6.1:<AGB>``: 2.16.840.1.113883.2.4.6.1 is the OID of the AGB register (Vektis),
the identifier system Dutch HL7 messages use for AGB codes. Attendees with another role (a CHAIR, a
NON-PARTICIPANT) are not part of the shift and are passed by.

This module checks the file on its own; whether the AGB codes are specialists of the organisation and the
shifts fit each other and the rota already kept is agreements/rota.py.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from triage_service.errors import N_, InvalidInput
from triage_service.routing.working_time import AMSTERDAM

AGB_OID = "2.16.840.1.113883.2.4.6.1"
AGB_URN = f"urn:oid:{AGB_OID}:"
TIME_FORMAT = "%Y-%m-%d %H:%M"
#: The CSV columns and the names a header may give them (Dutch first: the rota makers are Dutch).
COLUMNS = {"begin": ("begin", "start"), "einde": ("einde", "end"), "dienst": ("dienst", "on_call"),
           "achterwacht": ("achterwacht", "backup")}
_AGB = re.compile(r"\d{8}")


@dataclass(frozen=True)
class RotaError:
    """One problem: where (file, line, field as the file names it) and what, as a message to translate.

    ``message`` is an English msgid with ``%(name)s`` placeholders filled from ``params`` after translation,
    so the inbox shows it in Dutch and the console in English."""

    file: str
    line: int
    field: str
    message: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def text(self, translate: Any = None) -> str:
        template = translate(self.message) if translate else self.message
        return str(template) % dict(self.params) if self.params else str(template)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: {self.field}:" if self.field else f"{self.file}:{self.line}:"
        return f"{where} {self.text()}"


class RotaRefused(InvalidInput):
    """A rota file or a shift that cannot be stored, with every problem found; nothing was stored."""

    def __init__(self, errors: list[RotaError]):
        ordered = sorted(errors, key=lambda e: e.line)
        super().__init__("; ".join(map(str, ordered)))
        self.errors = ordered


@dataclass(frozen=True)
class ShiftLine:
    """A shift as a file gives it; a value that could not be read is None (its error is in the errors)."""

    line: int
    starts_at: datetime | None
    ends_at: datetime | None
    on_call_agb: str | None
    backup_agb: str | None
    #: The names this file gives the four fields (a CSV header's words, or the iCalendar properties).
    names: tuple[str, str, str, str] = ("begin", "einde", "dienst", "achterwacht")


@dataclass
class RotaFile:
    name: str
    #: "csv" or "ical" (OnCallShift.source).
    source: str
    lines: list[ShiftLine]
    errors: list[RotaError]


def read_rota_file(name: str, data: bytes) -> RotaFile:
    """The shifts of an uploaded or given file: iCalendar by its ``.ics`` name or its BEGIN:VCALENDAR, else CSV."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Dutch Windows save CSV as Windows-1252; the rota's codes and times are ASCII anyway.
        text = data.decode("cp1252", errors="replace")
    is_ical = name.lower().endswith((".ics", ".ical", ".ifb")) or text.lstrip().upper().startswith("BEGIN:VCALENDAR")
    rota = read_ical(name, text) if is_ical else read_csv(name, text)
    if not rota.lines and not rota.errors:
        rota.errors.append(RotaError(name, 1, "", N_("The file has no shifts")))
    return rota


# -- CSV ---------------------------------------------------------------------------------------------------


def read_csv(name: str, text: str) -> RotaFile:
    rota = RotaFile(name, "csv", [], [])
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    if not header_line:
        return rota
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    positions: dict[str, int] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = _without_trailing_empty(cells)
        if header is None:
            header = [cell.strip().lower() for cell in row]
            found = _columns(name, reader.line_num, header, rota.errors)
            if found is None:
                return rota
            positions = found
            continue
        rota.lines.append(_csv_shift(name, reader.line_num, row, header, positions, rota.errors))
    return rota


def _without_trailing_empty(cells: list[str]) -> list[str]:
    """A spreadsheet often ends every row with a separator: the empty cells after the last are no column."""
    while cells and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _columns(name: str, line: int, header: list[str], errors: list[RotaError]) -> dict[str, int] | None:
    """Where each column is; None (with the errors) when a column is missing, unknown or given twice."""
    wanted = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
    positions: dict[str, int] = {}
    before = len(errors)
    for index, word in enumerate(header):
        column = wanted.get(word.replace("-", "_").replace(" ", "_"))
        if column is None:
            errors.append(RotaError(name, line, word, N_(
                "Unknown column %(column)s: the columns are begin, einde, dienst and achterwacht"), {"column": word}))
        elif column in positions:
            errors.append(RotaError(name, line, word, N_("The column %(column)s is there twice"), {"column": column}))
        else:
            positions[column] = index
    for column in COLUMNS:
        if column not in positions:
            errors.append(RotaError(name, line, column, N_(
                "The column %(column)s is missing: the first row names the columns begin, einde, dienst and "
                "achterwacht"), {"column": column}))
    return positions if len(errors) == before else None


def _csv_shift(name: str, line: int, row: list[str], header: list[str], positions: dict[str, int],
               errors: list[RotaError]) -> ShiftLine:
    if len(row) != len(header):
        errors.append(RotaError(name, line, "", N_(
            "This row has %(found)d cells, the first row %(expected)d: is a separator missing or too many?"),
            {"found": len(row), "expected": len(header)}))
    names = tuple(header[positions[c]] for c in COLUMNS)

    def cell(column: str) -> str:
        index = positions[column]
        return row[index].strip() if index < len(row) else ""

    return ShiftLine(line, _local_time(name, line, names[0], cell("begin"), errors),
                     _local_time(name, line, names[1], cell("einde"), errors),
                     _agb(name, line, names[2], cell("dienst"), errors),
                     _agb(name, line, names[3], cell("achterwacht"), errors),
                     (names[0], names[1], names[2], names[3]))


def _local_time(name: str, line: int, column: str, value: str, errors: list[RotaError]) -> datetime | None:
    if not value:
        errors.append(RotaError(name, line, column, N_("Fill in a date and time, such as 2026-11-23 08:00")))
        return None
    try:
        wall = datetime.strptime(value.replace("T", " "), TIME_FORMAT)
    except ValueError:
        errors.append(RotaError(name, line, column, N_(
            "%(value)s is not a date and time such as 2026-11-23 08:00"), {"value": value}))
        return None
    return dutch_time(wall, lambda message: errors.append(
        RotaError(name, line, column, message, {"value": value})))


def dutch_time(wall: datetime, refuse: Any) -> datetime | None:
    """A wall-clock time in the Netherlands as UTC, or None after ``refuse(message)`` for a time that does not
    exist (the hour skipped in spring) or exists twice (the hour repeated in autumn): a rota must say which."""
    first, second = wall.replace(tzinfo=AMSTERDAM, fold=0), wall.replace(tzinfo=AMSTERDAM, fold=1)
    if first.astimezone(UTC).astimezone(AMSTERDAM).replace(tzinfo=None) != wall:
        refuse(N_("%(value)s does not exist in Dutch time: the clocks go forward an hour that night"))
        return None
    if first.utcoffset() != second.utcoffset():
        refuse(N_("%(value)s happens twice in Dutch time: the clocks go back an hour that night; choose another "
                  "time"))
        return None
    return first.astimezone(UTC)


def _agb(name: str, line: int, column: str, value: str, errors: list[RotaError]) -> str | None:
    if not value:
        errors.append(RotaError(name, line, column, N_("Fill in the specialist's AGB code (8 digits)")))
        return None
    if not _AGB.fullmatch(value):
        errors.append(RotaError(name, line, column, N_("%(value)s is not an AGB code (8 digits)"),
                                {"value": value}))
        return None
    return value


# -- iCalendar ---------------------------------------------------------------------------------------------


def read_ical(name: str, text: str) -> RotaFile:
    import icalendar

    rota = RotaFile(name, "ical", [], [])
    if not text.strip():
        return rota
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError:
        rota.errors.append(RotaError(name, _bad_content_line(text), "", N_(
            "This line is not valid iCalendar (a file from a calendar program, .ics)")))
        return rota
    places = _event_lines(text)
    for index, event in enumerate(calendar.walk("VEVENT")):
        lines = places[index] if index < len(places) else {}
        rota.lines.append(_ical_shift(name, event, lines, rota.errors))
    return rota


def _physical_lines(text: str) -> list[tuple[int, str]]:
    """The content lines with the number of the line each starts on: a line that begins with a space or a
    tab continues the one before (RFC 5545 section 3.1, folding)."""
    unfolded: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] = (unfolded[-1][0], unfolded[-1][1] + line[1:])
        elif line.strip():
            unfolded.append((number, line))
    return unfolded


def _bad_content_line(text: str) -> int:
    from icalendar.parser import Contentline

    for number, line in _physical_lines(text):
        try:
            Contentline(line).parts()  # type: ignore[no-untyped-call]
        except ValueError:
            return number
    return 1


def _event_lines(text: str) -> list[dict[str, list[int]]]:
    """Per VEVENT in file order: where it begins ("BEGIN") and where each of its own properties is."""
    events: list[dict[str, list[int]]] = []
    stack: list[str] = []
    for number, line in _physical_lines(text):
        key = re.split(r"[;:]", line, maxsplit=1)[0].strip().upper()
        value = line.split(":", 1)[1].strip().upper() if ":" in line else ""
        if key == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({"BEGIN": [number]})
        elif key == "END":
            if stack:
                stack.pop()
        elif stack and stack[-1] == "VEVENT" and events:
            events[-1].setdefault(key, []).append(number)
    return events


def _ical_shift(name: str, event: Any, lines: dict[str, list[int]], errors: list[RotaError]) -> ShiftLine:
    begin = lines.get("BEGIN", [1])[0]

    def at(prop: str, index: int = 0) -> int:
        found = lines.get(prop, [])
        return found[index] if index < len(found) else begin

    broken = {prop.upper() for prop, _ in getattr(event, "errors", [])}
    starts = _ical_time(name, event, "DTSTART", at("DTSTART"), broken, errors)
    ends = _ical_time(name, event, "DTEND", at("DTEND"), broken, errors)
    if "DTEND" not in event and "DURATION" in event:
        try:
            ends = starts + event["DURATION"].dt if starts is not None else None
        except (AttributeError, TypeError, ValueError):
            errors.append(RotaError(name, at("DURATION"), "DURATION", N_("The DURATION cannot be read")))
    elif "DTEND" not in event:
        errors.append(RotaError(name, begin, "DTEND", N_("The event has no end (DTEND): when does the shift end?")))
    on_call, backup = _attendees(name, event, at, errors)
    return ShiftLine(begin, starts, ends, on_call, backup, ("DTSTART", "DTEND", "ATTENDEE", "ATTENDEE"))


def _ical_time(name: str, event: Any, prop: str, line: int, broken: set[str],
               errors: list[RotaError]) -> datetime | None:
    if prop in broken:
        errors.append(RotaError(name, line, prop, N_("%(property)s cannot be read as a date and time"),
                                {"property": prop}))
        return None
    if prop not in event:
        if prop == "DTSTART":
            errors.append(RotaError(name, line, prop, N_("The event has no start (DTSTART): when does the shift "
                                                         "start?")))
        return None
    value = event[prop].dt
    if not isinstance(value, datetime):  # a DATE: an all-day event
        errors.append(RotaError(name, line, prop, N_(
            "%(property)s is a whole day without a time: give the time the shift starts and ends"),
            {"property": prop}))
        return None
    tzid = event[prop].params.get("TZID")
    if value.tzinfo is None and tzid:
        errors.append(RotaError(name, line, prop, N_(
            "The time zone %(tzid)s is unknown: use TZID=Europe/Amsterdam or a time in UTC"), {"tzid": tzid}))
        return None
    if value.tzinfo is None:  # floating time: the rota is a Dutch one
        text = value.strftime(TIME_FORMAT)
        return dutch_time(value, lambda message: errors.append(RotaError(name, line, prop, message, {"value": text})))
    return value.astimezone(UTC)


def _attendees(name: str, event: Any, at: Any, errors: list[RotaError]) -> tuple[str | None, str | None]:
    found: dict[str, list[tuple[int, str | None]]] = {"REQ-PARTICIPANT": [], "OPT-PARTICIPANT": []}
    attendees = event.get("ATTENDEE", [])
    for index, attendee in enumerate(attendees if isinstance(attendees, list) else [attendees]):
        role = str(attendee.params.get("ROLE", "REQ-PARTICIPANT")).upper()
        if role not in found:
            continue
        line, value = at("ATTENDEE", index), str(attendee).strip()
        agb = value[len(AGB_URN):] if value.lower().startswith(AGB_URN) else None
        if agb is None or not _AGB.fullmatch(agb):
            errors.append(RotaError(name, line, "ATTENDEE", N_(
                "%(value)s is not an AGB code: write urn:oid:2.16.840.1.113883.2.4.6.1: followed by the 8-digit "
                "AGB code"), {"value": value}))
            agb = None
        found[role].append((line, agb))
    begin = at("BEGIN")
    picked: list[str | None] = []
    for role, missing, twice in (
            ("REQ-PARTICIPANT", N_("Nobody on call: give the specialist on call as ATTENDEE;ROLE=REQ-PARTICIPANT"),
             N_("More than one specialist on call (ROLE=REQ-PARTICIPANT): a shift has one")),
            ("OPT-PARTICIPANT", N_("No backup: give the backup as ATTENDEE;ROLE=OPT-PARTICIPANT"),
             N_("More than one backup (ROLE=OPT-PARTICIPANT): a shift has one"))):
        if not found[role]:
            errors.append(RotaError(name, begin, "ATTENDEE", missing))
        elif len(found[role]) > 1:
            errors.append(RotaError(name, found[role][1][0], "ATTENDEE", twice))
        picked.append(found[role][0][1] if len(found[role]) == 1 else None)
    return picked[0], picked[1]


# -- a shift from the inbox's form -------------------------------------------------------------------------

#: The form's fields, as ShiftLine names them: errors go beside them.
FORM_NAMES = ("start", "end", "on_call", "backup")


def read_form_shift(values: Mapping[str, str]) -> tuple[ShiftLine, list[RotaError]]:
    """A shift as the inbox's form gives it (a date and a time each for start and end, two AGB codes)."""
    errors: list[RotaError] = []

    def moment(field: str) -> datetime | None:
        day, time = values.get(f"{field}_date", "").strip(), values.get(f"{field}_time", "").strip()
        return _local_time("", 0, field, f"{day} {time}".strip(), errors)

    def agb(field: str) -> str | None:
        return _agb("", 0, field, values.get(field, "").strip(), errors)

    line = ShiftLine(0, moment("start"), moment("end"), agb("on_call"), agb("backup"), FORM_NAMES)
    return line, errors
