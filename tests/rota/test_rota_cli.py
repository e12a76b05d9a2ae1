"""The rota from the console: `triage-service rota import` and `rota show`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from tests.conftest import FrozenClock
from tests.rota.conftest import AALBERS, BOS, CLAES, HOSPITAL_AGB, Hospital, ams, rota_of
from triage_service import cli


@pytest.fixture
def runner(app: Flask, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(cli, "_app", lambda: app)
    return CliRunner()


def write(tmp_path: Path, text: str, name: str = "rooster.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


ROTA = ("begin;einde;dienst;achterwacht\n"
        f"2026-11-23 08:00;2026-11-24 08:00;{AALBERS};{BOS}\n"
        f"2026-11-24 08:00;2026-11-25 08:00;{BOS};{CLAES}\n")


def test_a_rota_is_imported_and_shown_with_who_is_on_call_now(runner: CliRunner, app: Flask, hospital: Hospital,
                                                               clock: FrozenClock, tmp_path: Path) -> None:
    result = runner.invoke(cli.main, ["rota", "import", write(tmp_path, ROTA), "--organisation", HOSPITAL_AGB,
                                      "--specialism", "0320"])
    assert result.exit_code == 0, result.output
    assert "Imported 2 shifts from 2026-11-23 08:00 until 2026-11-25 08:00 (Dutch time)" in result.output
    assert len(rota_of(app, hospital)) == 2

    clock.now = ams("2026-11-24 03:00")
    shown = runner.invoke(cli.main, ["rota", "show", "--organisation", HOSPITAL_AGB, "--specialism", "0320",
                                     "--days", "2"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        f"2026-11-23 08:00 .. 2026-11-24 08:00  on call: {AALBERS} dr. A. Aalbers  backup: {BOS} dr. B. Bos"
        "  <- on call now",
        f"2026-11-24 08:00 .. 2026-11-25 08:00  on call: {BOS} dr. B. Bos  backup: {CLAES} dr. C. Claes",
        "2026-11-25 08:00 .. 2026-11-26 03:00  NOBODY ON CALL"]


def test_a_wrong_rota_prints_every_problem_with_its_line_and_imports_nothing(
        runner: CliRunner, app: Flask, hospital: Hospital, tmp_path: Path) -> None:
    text = ROTA + f"2026-11-25 09:00;2026-11-26 08:00;{CLAES};{CLAES}\n2026-11-26 08:00;x;{AALBERS};{BOS}\n"
    result = runner.invoke(cli.main, ["rota", "import", write(tmp_path, text), "--organisation", HOSPITAL_AGB,
                                      "--specialism", "0320"])
    assert result.exit_code != 0
    assert result.output.splitlines() == [
        "rooster.csv:4: achterwacht: The backup must be someone else than the specialist on call",
        "rooster.csv:4: begin: Nobody is on call from 2026-11-25 08:00 to 2026-11-25 09:00, between the shift on "
        "line 3 and this one",
        "rooster.csv:5: einde: x is not a date and time such as 2026-11-23 08:00",
        "Nothing was imported: 3 problem(s)."]
    assert rota_of(app, hospital) == []


def test_an_icalendar_file_is_imported_from_the_console_too(runner: CliRunner, app: Flask, hospital: Hospital,
                                                             tmp_path: Path) -> None:
    urn = "urn:oid:2.16.840.1.113883.2.4.6.1"
    text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//NL\r\nBEGIN:VEVENT\r\nUID:a@test\r\n"
            "DTSTART:20261123T070000Z\r\nDTEND:20261124T070000Z\r\n"
            f"ATTENDEE;ROLE=REQ-PARTICIPANT:{urn}:{CLAES}\r\nATTENDEE;ROLE=OPT-PARTICIPANT:{urn}:{AALBERS}\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
    result = runner.invoke(cli.main, ["rota", "import", write(tmp_path, text, "rooster.ics"), "--organisation",
                                      HOSPITAL_AGB, "--specialism", "0320"])
    assert result.exit_code == 0, result.output
    assert rota_of(app, hospital) == [("2026-11-23 08:00", "2026-11-24 08:00", CLAES, AALBERS)]


@pytest.mark.parametrize(("organisation", "specialism", "message"), [
    ("06999999", "0320", "No specialist organisation with AGB 06999999"),
    ("03012345", "0320", "No specialist organisation with AGB 03012345"),  # a GP practice
    (HOSPITAL_AGB, "0330", "Testziekenhuis Oost has no specialists of specialism 0330 (it has: 0310, 0320)"),
])
def test_a_rota_for_an_unknown_organisation_or_specialism_is_refused(
        runner: CliRunner, hospital: Hospital, tmp_path: Path, organisation: str, specialism: str,
        message: str) -> None:
    for command in (["import", write(tmp_path, ROTA)], ["show"]):
        result = runner.invoke(cli.main, ["rota", *command, "--organisation", organisation, "--specialism",
                                          specialism])
        assert result.exit_code == 2
        assert message in result.output


@pytest.mark.parametrize("options", [["--organisation-agb", "03012345"], ["--practitioner-agb", "03100001"], []])
def test_a_rota_makers_account_belongs_to_a_specialist_organisation(runner: CliRunner, options: list[str]) -> None:
    result = runner.invoke(cli.main, ["create-user", "--username", "rooster-fout", "--name", "R", "--role",
                                      "rota-maker", *options], input="een-lang-wachtwoord\neen-lang-wachtwoord\n")
    assert result.exit_code == 2
    assert "A rota maker's account needs --organisation-agb (the specialist organisation's AGB)" in result.output


def test_a_rota_makers_account_is_created_for_the_hospital(runner: CliRunner, app: Flask) -> None:
    from sqlalchemy import delete

    from triage_service.database import session_scope
    from triage_service.models import User

    result = runner.invoke(cli.main, ["create-user", "--username", "rooster-nieuw", "--name", "R. Rooster", "--role",
                                      "rota-maker", "--organisation-agb", "06010001"],
                           input="een-lang-wachtwoord\neen-lang-wachtwoord\n")
    assert result.exit_code == 0, result.output
    with session_scope(app) as session:
        session.execute(delete(User).where(User.username == "rooster-nieuw"))
