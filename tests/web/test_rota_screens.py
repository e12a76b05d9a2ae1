"""The on-call rota in the inbox (/inbox/rooster): the rota maker adds, changes, deletes and uploads, with
errors beside the fields or by line; the organisation's specialists read it; nobody else gets in."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.rota.conftest import AALBERS, BOS, CLAES, DEKKER, Hospital, ams, hospital, rota_of  # noqa: F401
from tests.web.test_inbox import csrf, log_in
from triage_service.agreements.rota import import_rota
from triage_service.agreements.rota_files import read_rota_file
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS, DEMO_STAFF, DEMO_USERS
from triage_service.models import AuditEntry, OnCallShift

ROTA = ("begin;einde;dienst;achterwacht\n"
        f"2026-11-23 08:00;2026-11-24 08:00;{AALBERS};{BOS}\n"
        f"2026-11-24 08:00;2026-11-25 08:00;{BOS};{CLAES}\n"
        f"2026-11-25 08:00;2026-11-26 08:00;{CLAES};{AALBERS}\n")


def text(response: Any) -> str:
    """The page's words, without tags and with single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def logged_in(app: Flask, clock: FrozenClock, user: tuple[str, str]) -> FlaskClient:
    http = app.test_client()
    assert log_in(http, clock, user[0], DEMO_PASSWORD, user[1]).status_code == 302
    return http


@pytest.fixture
def maker(app: Flask, clock: FrozenClock, hospital: Hospital) -> FlaskClient:  # noqa: F811
    with session_scope(app) as session:
        import_rota(session, CLI_ACTOR, read_rota_file("rooster.csv", ROTA.encode()),
                    organisation_id=hospital.organisation_id, specialism="0320")
    return logged_in(app, clock, hospital.rota_maker)


def shift_ids(app: Flask, hospital: Hospital) -> list[str]:  # noqa: F811
    with session_scope(app) as session:
        return list(session.scalars(select(OnCallShift.id).where(
            OnCallShift.organisation_id == hospital.organisation_id).order_by(OnCallShift.starts_at)))


def post(http: FlaskClient, url: str, **data: Any) -> Any:
    return http.post(url, data={"csrf_token": csrf(http.get("/inbox/rooster")), **data},
                     content_type="multipart/form-data" if "file" in data else None)


def shift_form(start: str, end: str, on_call: str, backup: str, **extra: str) -> dict[str, str]:
    return {"start_date": start[:10], "start_time": start[11:], "end_date": end[:10], "end_time": end[11:],
            "on_call": on_call, "backup": backup, **extra}


def test_the_rota_maker_lands_on_the_rota_and_sees_who_is_on_call_now_in_words(
        app: Flask, maker: FlaskClient, clock: FrozenClock, hospital: Hospital) -> None:  # noqa: F811
    clock.now = ams("2026-11-24 03:00")
    maker = logged_in(app, clock, hospital.rota_maker)  # the night after: a new login
    home = maker.get("/")
    assert home.headers["Location"].endswith("/inbox/rooster")
    page = maker.get("/inbox/rooster")
    assert page.status_code == 200
    words = text(page)
    assert "Dienstrooster Testziekenhuis Oost" in words
    assert "Nu van dienst: dr. A. Aalbers, tot di 24 nov 08:00. Achterwacht: dr. B. Bos." in words
    assert words.count("Nu ") >= 2  # the badge on the current shift says it in words too
    assert "Wijzigen of verwijderen" in words and "Dienst toevoegen" in words
    # Dermatology has no shifts: nobody is on call, said as such for the whole fortnight.
    assert "Nu is niemand van dienst." in words and "Niemand van dienst" in words


def test_a_rota_maker_sees_no_consults_and_no_other_screen(maker: FlaskClient) -> None:
    for path in ("/inbox", "/dashboard", "/huisarts/"):
        response = maker.get(path)
        assert response.status_code == 302 and response.headers["Location"] in ("/", "http://localhost/"), path
    assert maker.post("/consults/x/answer", data={"csrf_token": csrf(maker.get("/inbox/rooster"))}).status_code == 403
    assert maker.get("/settings").status_code == 200
    assert "E-mail over nieuwe consulten" not in text(maker.get("/settings"))


def test_the_rota_maker_adds_a_shift_after_the_last(app: Flask, maker: FlaskClient, hospital: Hospital) -> None:  # noqa: F811
    page = maker.get("/inbox/rooster")
    # The add form proposes the next shift: from the end of the last, for a day.
    assert 'name="start_date" value="2026-11-26"' in page.get_data(as_text=True)
    response = post(maker, "/inbox/rooster/diensten", specialism="0320",
                    **shift_form("2026-11-26 08:00", "2026-11-27 08:00", BOS, CLAES))
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox/rooster#rooster-0320")
    assert "Dienst toegevoegd: dr. B. Bos is van dienst van do 26 nov 08:00 tot vr 27 nov 08:00." in text(
        maker.get("/inbox/rooster"))
    assert rota_of(app, hospital)[-1] == ("2026-11-26 08:00", "2026-11-27 08:00", BOS, CLAES)
    with session_scope(app) as session:
        shift = session.scalars(select(OnCallShift).where(OnCallShift.starts_at == ams("2026-11-26 08:00"))).one()
        assert shift.source == "inbox" and shift.created_by is not None


@pytest.mark.parametrize(("form", "messages"), [
    (shift_form("2026-11-25 20:00", "2026-11-27 08:00", BOS, CLAES),
     ["Deze dienst overlapt de dienst van dr. C. Claes van 2026-11-25 08:00 tot 2026-11-26 08:00"]),
    (shift_form("2026-11-26 08:00", "2026-11-26 07:00", BOS, BOS),
     ["De dienst moet eindigen na het begin", "De achterwacht moet iemand anders zijn dan wie dienst heeft"]),
    (shift_form("2026-11-26 08:00", "2026-11-27 08:00", DEKKER, ""),
     ["dr. D. Dekker (AGB 03990004) is geen specialist van dit specialisme",
      "Vul de AGB-code van de specialist in (8 cijfers)"]),
    (shift_form("2026-11-26 25:00", "", "0399", CLAES),
     ["2026-11-26 25:00 is geen datum en tijd zoals 2026-11-23 08:00", "Vul een datum en tijd in, zoals "
      "2026-11-23 08:00", "0399 is geen AGB-code (8 cijfers)"]),
])
def test_a_wrong_shift_is_refused_with_the_reasons_beside_the_fields_and_nothing_stored(
        app: Flask, maker: FlaskClient, hospital: Hospital, form: dict[str, str], messages: list[str]) -> None:  # noqa: F811
    before = rota_of(app, hospital)
    response = post(maker, "/inbox/rooster/diensten", specialism="0320", **form)
    assert response.status_code == 400
    words = text(response)
    assert "De dienst is niet toegevoegd" in words
    for message in messages:
        assert message in words
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html
    # On a long page the answer opens at the form (the action's fragment), and a summary at the top links there.
    assert 'action="/inbox/rooster/diensten#toevoegen-0320"' in html
    assert 'href="#toevoegen-0320">Cardiologie: het rooster is niet gewijzigd; zie de opmerkingen hieronder.' in html
    assert rota_of(app, hospital) == before


def test_the_rota_maker_moves_a_changeover_and_the_neighbour_moves_along(
        app: Flask, maker: FlaskClient, hospital: Hospital) -> None:  # noqa: F811
    middle = shift_ids(app, hospital)[1]
    page = maker.get(f"/inbox/rooster/diensten/{middle}")
    assert page.status_code == 200
    assert "als u het begin verschuift, schuift het einde daarvan mee" in text(page)
    response = post(maker, f"/inbox/rooster/diensten/{middle}",
                    **shift_form("2026-11-24 09:00", "2026-11-25 08:00", CLAES, BOS))
    assert response.status_code == 302
    words = text(maker.get("/inbox/rooster"))
    assert "Dienst gewijzigd: dr. C. Claes is van dienst van di 24 nov 09:00 tot wo 25 nov 08:00." in words
    assert "De dienst van dr. A. Aalbers schuift mee: nu van ma 23 nov 08:00 tot di 24 nov 09:00." in words
    assert rota_of(app, hospital)[:2] == [("2026-11-23 08:00", "2026-11-24 09:00", AALBERS, BOS),
                                          ("2026-11-24 09:00", "2026-11-25 08:00", CLAES, BOS)]


def test_a_change_that_swallows_a_neighbour_is_refused_on_the_shift_page(
        app: Flask, maker: FlaskClient, hospital: Hospital) -> None:  # noqa: F811
    middle = shift_ids(app, hospital)[1]
    response = post(maker, f"/inbox/rooster/diensten/{middle}",
                    **shift_form("2026-11-24 08:00", "2026-11-26 10:00", BOS, CLAES))
    assert response.status_code == 400
    assert ("De dienst zou eindigen nadat de volgende dienst van dr. C. Claes eindigt (2026-11-26 08:00): wijzig "
            "of verwijder die dienst eerst") in text(response)
    assert rota_of(app, hospital)[1] == ("2026-11-24 08:00", "2026-11-25 08:00", BOS, CLAES)


def test_deleting_a_shift_between_two_others_asks_who_takes_over(app: Flask, maker: FlaskClient,
                                                                 hospital: Hospital) -> None:  # noqa: F811
    middle = shift_ids(app, hospital)[1]
    refused = post(maker, f"/inbox/rooster/diensten/{middle}/verwijderen")
    assert refused.status_code == 400
    assert "kies wie de uren overneemt" in text(refused)
    assert len(rota_of(app, hospital)) == 3
    done = post(maker, f"/inbox/rooster/diensten/{middle}/verwijderen", give_to="previous")
    assert done.status_code == 302
    words = text(maker.get("/inbox/rooster"))
    assert "Dienst verwijderd: dr. B. Bos van di 24 nov 08:00 tot wo 25 nov 08:00." in words
    assert "De dienst van dr. A. Aalbers neemt de uren over: nu van ma 23 nov 08:00 tot wo 25 nov 08:00." in words
    assert rota_of(app, hospital)[0] == ("2026-11-23 08:00", "2026-11-25 08:00", AALBERS, BOS)


def test_the_rota_maker_uploads_a_csv_rota(app: Flask, maker: FlaskClient, hospital: Hospital) -> None:  # noqa: F811
    data = (f"begin,einde,dienst,achterwacht\n2026-11-26 08:00,2026-11-27 08:00,{AALBERS},{CLAES}\n"
            f"2026-11-27 08:00,2026-11-28 08:00,{CLAES},{BOS}\n").encode()
    response = post(maker, "/inbox/rooster/bestand", specialism="0320", file=(io.BytesIO(data), "december.csv"))
    assert response.status_code == 302
    assert ("Het rooster is ingelezen: 2 diensten van do 26 nov 08:00 tot za 28 nov 08:00; 0 eerdere diensten in "
            "die periode zijn vervangen.") in text(maker.get("/inbox/rooster"))
    assert len(rota_of(app, hospital)) == 5
    with session_scope(app) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.event == "rota.import")).all()


def test_a_wrong_upload_lists_every_line_in_dutch_and_stores_nothing(app: Flask, maker: FlaskClient,
                                                                      hospital: Hospital) -> None:  # noqa: F811
    data = (f"begin;einde;dienst;achterwacht\n2026-11-26 08:00;2026-11-27 08:00;{AALBERS};{AALBERS}\n"
            f"2026-11-27 09:00;2026-11-28 08:00;{CLAES};99999999\n").encode()
    response = post(maker, "/inbox/rooster/bestand", specialism="0320", file=(io.BytesIO(data), "fout.csv"))
    assert response.status_code == 400
    words = text(response)
    assert "Er is niets ingelezen" in words
    assert "Regel 2, achterwacht: De achterwacht moet iemand anders zijn dan wie dienst heeft" in words
    assert ("Regel 3, begin: Niemand is van dienst van 2026-11-27 08:00 tot 2026-11-27 09:00, tussen de dienst op "
            "regel 2 en deze") in words
    assert "Regel 3, achterwacht: Er is geen specialist met AGB-code 99999999 bekend" in words
    assert 'href="#bestand-0320">Cardiologie: het rooster is niet gewijzigd' in response.get_data(as_text=True)
    assert len(rota_of(app, hospital)) == 3


@pytest.mark.parametrize(("upload", "message"), [
    (None, "Kies een CSV- of iCalendar-bestand (.ics)."),
    ((io.BytesIO(b""), "leeg.csv"), "Regel 1: Het bestand bevat geen diensten"),
    ((io.BytesIO(b"x" * 1_000_001), "groot.csv"), "Het bestand is groter dan 1 MB"),
    ((io.BytesIO(b"BEGIN:VCALENDAR\r\nnonsense\r\n"), "agenda.ics"), "Regel 2: Deze regel is geen geldige "
                                                                     "iCalendar"),
])
def test_an_upload_without_a_usable_file_says_why(maker: FlaskClient, upload: Any, message: str) -> None:
    data = {"specialism": "0320", **({"file": upload} if upload else {})}
    response = maker.post("/inbox/rooster/bestand", data={"csrf_token": csrf(maker.get("/inbox/rooster")), **data},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in text(response)


def test_a_form_for_a_specialism_the_organisation_has_not_is_a_bad_request(maker: FlaskClient) -> None:
    response = post(maker, "/inbox/rooster/diensten", specialism="0330",
                    **shift_form("2026-11-26 08:00", "2026-11-27 08:00", BOS, CLAES))
    assert response.status_code == 400


def test_a_shift_that_does_not_exist_or_is_another_organisations_is_not_found(
        app: Flask, maker: FlaskClient, hospital: Hospital) -> None:  # noqa: F811
    assert maker.get("/inbox/rooster/diensten/unknown").status_code == 404
    assert post(maker, "/inbox/rooster/diensten/unknown/verwijderen").status_code == 404


def test_a_specialist_of_the_organisation_reads_the_rota_but_cannot_change_it(
        app: Flask, maker: FlaskClient, clock: FrozenClock, hospital: Hospital) -> None:  # noqa: F811
    specialist = logged_in(app, clock, hospital.cardiologist)
    page = specialist.get("/inbox/rooster")
    assert page.status_code == 200
    words = text(page)
    assert "dr. A. Aalbers" in words and "de roostermaker van uw organisatie wijzigt het" in words
    assert "Dienst toevoegen" not in words and "Wijzigen of verwijderen" not in words
    assert 'href="/inbox/rooster"' in page.get_data(as_text=True)  # the link in the header
    middle = shift_ids(app, hospital)[1]
    token = csrf(page)
    for url, data in ((f"/inbox/rooster/diensten/{middle}/verwijderen", {}),
                      ("/inbox/rooster/diensten", {"specialism": "0320"}),
                      (f"/inbox/rooster/diensten/{middle}", {})):
        assert specialist.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert specialist.get(f"/inbox/rooster/diensten/{middle}").status_code == 403
    assert len(rota_of(app, hospital)) == 3


def test_the_demo_cardiologist_sees_only_his_own_organisations_rota(
        app: Flask, maker: FlaskClient, clock: FrozenClock) -> None:
    mulder = next(u for u in DEMO_USERS if u[0] == "cardioloog")
    words = text(logged_in(app, clock, (mulder[0], mulder[3])).get("/inbox/rooster"))
    assert "Ziekenhuis Rivierenland" in words and "dr. A. Aalbers" not in words


def test_zorggroep_staff_and_gps_get_no_rota(app: Flask, clock: FrozenClock) -> None:
    staff = logged_in(app, clock, (DEMO_STAFF[0], DEMO_STAFF[3]))
    refused = staff.get("/inbox/rooster")
    assert refused.status_code == 403
    assert "Het dienstrooster wordt bijgehouden door de roostermaker" in text(refused)
    assert 'href="/inbox/rooster"' not in staff.get("/settings").get_data(as_text=True)
    clock.advance(seconds=30)
    gp = logged_in(app, clock, (DEMO_PRACTICE_USERS[0][0], DEMO_PRACTICE_USERS[0][4]))
    assert gp.get("/inbox/rooster").status_code == 302  # sent to the portal, as every inbox page
    assert gp.post("/inbox/rooster/diensten", data={"csrf_token": csrf(gp.get("/settings"))}).status_code == 403


def test_the_pages_are_in_english_on_the_language_switch(maker: FlaskClient) -> None:
    maker.post("/language", data={"csrf_token": csrf(maker.get("/inbox/rooster")), "lang": "en",
                                  "next": "/inbox/rooster"})
    words = text(maker.get("/inbox/rooster"))
    assert "On-call rota" in words and "Add a shift" in words


def test_viewing_the_rota_is_audited(app: Flask, maker: FlaskClient) -> None:
    maker.get("/inbox/rooster")
    with session_scope(app) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.event == "web.rota.view")).first() is not None

