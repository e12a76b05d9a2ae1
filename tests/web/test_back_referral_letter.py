"""The back-referral as a letter (PDF, issue 23): the GP of De Linde files it in the patient's record and the
cardiologist who sent it keeps a copy; another practice and another specialist get a 404; taking it is audited
under the back-referral (and so found by the patient's BSN); the browser keeps no copy, and the file's name says
nothing about the patient."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.test import TestResponse

from tests.conftest import FrozenClock
from tests.web.test_back_referral_screens import FORM, GP, OTHER_GP, _client, _send
from tests.web.test_inbox import csrf
from triage_service.audit.queries import patient_history
from triage_service.database import session_scope
from triage_service.models import AuditEntry
from triage_service.security.demo_credentials import DEMO_USERS

OTHER_CARDIOLOGIST = next(u for u in DEMO_USERS if u[0] == "cardioloog2")


def _text(response: TestResponse) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)


def _is_a_pdf_not_kept(response: TestResponse) -> None:
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "no-store" in response.headers["Cache-Control"]
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="terugverwijzing-[0-9a-f]{8}\.pdf"', disposition), disposition
    assert FORM["patient_bsn"] not in disposition and "Vries" not in disposition


def test_the_practice_gets_the_letter_with_the_hand_over_in_dutch(app: Flask, clock: FrozenClock) -> None:
    _, back_id = _send(app, clock)
    gp = _client(app, clock, GP)

    letter = gp.get(f"/huisarts/terugverwijzingen/{back_id}/brief.pdf")

    _is_a_pdf_not_kept(letter)
    text = _text(letter)
    for expected in ("Terugverwijzing naar de huisarts", "dr. P. Mulder", "J. de Vries", "999911120",
                     "02-03-1948", "K77", "Stabiel hartfalen", "CVRM: bloeddruk halfjaarlijks",
                     "Cardiovasculair risicomanagement", "Toename dyspneu", "Meekijkconsult bij twijfel",
                     "tot en met 1 juni 2027", "Nog niet overgenomen"):
        assert expected in text, expected


def test_the_cardiologists_copy_holds_the_question_the_answer_and_who_took_the_care_over(
        app: Flask, clock: FrozenClock) -> None:
    cardiologist, back_id = _send(app, clock)
    gp = _client(app, clock, GP)
    page = gp.get(f"/huisarts/terugverwijzingen/{back_id}")
    gp.post(f"/huisarts/terugverwijzingen/{back_id}/vraag",
            data={"question": "Welke streefwaarde?", "csrf_token": csrf(page)})
    inbox_page = cardiologist.get(f"/inbox/terugverwijzingen/{back_id}")
    cardiologist.post(f"/inbox/terugverwijzingen/{back_id}/antwoord",
                      data={"answer": "Systolisch onder 130.", "csrf_token": csrf(inbox_page)})
    page = gp.get(f"/huisarts/terugverwijzingen/{back_id}")
    gp.post(f"/huisarts/terugverwijzingen/{back_id}/overnemen", data={"csrf_token": csrf(page)})

    letter = cardiologist.get(f"/inbox/terugverwijzingen/{back_id}/brief.pdf")

    _is_a_pdf_not_kept(letter)
    text = _text(letter)
    assert "Welke streefwaarde?" in text and "Systolisch onder 130." in text
    assert "Overgenomen op" in text and GP[1] in text


def test_another_practice_and_another_specialist_get_a_404(app: Flask, clock: FrozenClock) -> None:
    cardiologist, back_id = _send(app, clock)

    assert _client(app, clock, OTHER_GP).get(f"/huisarts/terugverwijzingen/{back_id}/brief.pdf").status_code == 404
    other = _client(app, clock, OTHER_CARDIOLOGIST)
    assert other.get(f"/inbox/terugverwijzingen/{back_id}/brief.pdf").status_code == 404
    # The practice's door is not the specialist's: the portal sends them to its own log-in.
    assert cardiologist.get(f"/huisarts/terugverwijzingen/{back_id}/brief.pdf").status_code == 302


def test_taking_the_letter_is_audited_and_found_by_the_patients_bsn(app: Flask, clock: FrozenClock) -> None:
    cardiologist, back_id = _send(app, clock)
    gp = _client(app, clock, GP)
    gp.get(f"/huisarts/terugverwijzingen/{back_id}/brief.pdf")
    cardiologist.get(f"/inbox/terugverwijzingen/{back_id}/brief.pdf")

    with session_scope(app) as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.event == "back-referral-letter")
                                  .order_by(AuditEntry.chain_index)).all()
        assert [(e.action.value, e.patient_ref, e.resource_id, e.detail) for e in exports] == [
            ("R", back_id, back_id, "pdf"), ("R", back_id, back_id, "pdf")]
        assert len({e.actor_id for e in exports}) == 2  # the GP and the cardiologist, each under their own name
        history = {e.id for e in patient_history(session, FORM["patient_bsn"])}
        assert {e.id for e in exports} <= history


def test_both_pages_link_to_the_letter(app: Flask, clock: FrozenClock) -> None:
    cardiologist, back_id = _send(app, clock)
    gp: FlaskClient = _client(app, clock, GP)

    for client, page in ((cardiologist, f"/inbox/terugverwijzingen/{back_id}"),
                         (gp, f"/huisarts/terugverwijzingen/{back_id}")):
        html = client.get(page).get_data(as_text=True)
        assert f'{page}/brief.pdf"' in html and "Brief (PDF)" in html
