"""Back-referrals on the screens (issue 23, point 2): the cardiologist sends one from the inbox, the GP of De Linde
asks a question in the portal, the cardiologist answers, the GP takes the care over; bad input on the form is
answered beside each field; another practice's GP gets a 404; the zorggroep's dashboard counts it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.web.test_inbox import csrf, log_in
from triage_service.database import session_scope
from triage_service.demo import DEMO_PRACTICE_USERS
from triage_service.models import BackReferral, BackReferralStatus
from triage_service.security.demo_credentials import DEMO_STAFF, DEMO_USERS

CARDIOLOGIST = next(u for u in DEMO_USERS if u[0] == "cardioloog")
GP = next(u for u in DEMO_PRACTICE_USERS if u[0] == "huisarts")
OTHER_GP = next(u for u in DEMO_PRACTICE_USERS if u[0] == "huisarts-anker")
FORM = {"practice_agb": "03012345", "patient_bsn": "999911120", "patient_name": "J. de Vries",
        "patient_birth_date": "02-03-1948", "diagnosis_icpc": "K77", "diagnosis_text": "Stabiel hartfalen",
        "gp_plan": "CVRM: bloeddruk halfjaarlijks", "care_programme": "cvrm",
        "rereferral_criteria": "Toename dyspneu", "available_for": "Meekijkconsult bij twijfel",
        "available_until": "01-06-2027"}


def _client(app: Flask, clock: FrozenClock, who: tuple[Any, ...]) -> FlaskClient:
    client = app.test_client()
    log_in(client, clock, username=who[0], secret=who[-1])
    return client


def _send(app: Flask, clock: FrozenClock) -> tuple[FlaskClient, str]:
    cardiologist = _client(app, clock, CARDIOLOGIST)
    page = cardiologist.get("/inbox/terugverwijzingen/nieuw")
    assert page.status_code == 200
    assert "De Linde" in page.get_data(as_text=True)
    sent = cardiologist.post("/inbox/terugverwijzingen/nieuw", data={**FORM, "csrf_token": csrf(page)})
    assert sent.status_code == 302
    return cardiologist, sent.headers["Location"].rsplit("/", 1)[-1]


def test_a_gp_asks_a_question_and_takes_the_care_over_once_the_cardiologist_answered(
        app: Flask, clock: FrozenClock) -> None:
    cardiologist, back_id = _send(app, clock)
    gp = _client(app, clock, GP)
    listing = gp.get("/huisarts/terugverwijzingen").get_data(as_text=True)
    assert "J. de Vries" in listing
    page = gp.get(f"/huisarts/terugverwijzingen/{back_id}")
    assert "CVRM: bloeddruk halfjaarlijks" in page.get_data(as_text=True)
    empty = gp.post(f"/huisarts/terugverwijzingen/{back_id}/vraag", data={"question": "", "csrf_token": csrf(page)})
    assert empty.status_code == 400
    assert "Schrijf uw vraag" in empty.get_data(as_text=True)
    asked = gp.post(f"/huisarts/terugverwijzingen/{back_id}/vraag",
                    data={"question": "Welke streefwaarde?", "csrf_token": csrf(page)})
    assert asked.status_code == 302

    inbox_page = cardiologist.get(f"/inbox/terugverwijzingen/{back_id}")
    assert "Welke streefwaarde?" in inbox_page.get_data(as_text=True)
    answered = cardiologist.post(f"/inbox/terugverwijzingen/{back_id}/antwoord",
                                 data={"answer": "Systolisch onder 130.", "csrf_token": csrf(inbox_page)})
    assert answered.status_code == 302

    page = gp.get(f"/huisarts/terugverwijzingen/{back_id}")
    assert "Systolisch onder 130." in page.get_data(as_text=True)
    taken = gp.post(f"/huisarts/terugverwijzingen/{back_id}/overnemen", data={"csrf_token": csrf(page)},
                    follow_redirects=True)
    assert "U hebt de zorg overgenomen" in taken.get_data(as_text=True)
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        assert back.status == BackReferralStatus.ACCEPTED


def test_every_bad_field_of_the_inbox_form_is_named_and_nothing_is_sent(app: Flask, clock: FrozenClock) -> None:
    cardiologist = _client(app, clock, CARDIOLOGIST)
    page = cardiologist.get("/inbox/terugverwijzingen/nieuw")
    refused = cardiologist.post("/inbox/terugverwijzingen/nieuw", data={
        **FORM, "patient_bsn": "123456789", "diagnosis_icpc": "", "practice_agb": "99999999",
        "csrf_token": csrf(page)})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "elfproef" in text and "ICPC-1-NL-code" in text and "samenwerkingsafspraken" in text
    assert 'value="J. de Vries"' in text  # what was typed stays
    with session_scope(app) as session:
        assert session.scalars(select(BackReferral)).all() == []


def test_another_practice_gets_a_404_for_de_lindes_back_referral(app: Flask, clock: FrozenClock) -> None:
    _, back_id = _send(app, clock)
    other = _client(app, clock, OTHER_GP)
    assert other.get(f"/huisarts/terugverwijzingen/{back_id}").status_code == 404
    assert "J. de Vries" not in other.get("/huisarts/terugverwijzingen").get_data(as_text=True)


def test_the_zorggroep_dashboard_counts_the_back_referral(app: Flask, clock: FrozenClock) -> None:
    _send(app, clock)
    staff = _client(app, clock, DEMO_STAFF)
    page = staff.get("/dashboard").get_data(as_text=True)
    section = re.search(r'<section class="card" id="back-referrals".*?</section>', page, re.S)
    assert section is not None
    counts = re.findall(r'<th scope="row">([^<]+)</th><td class="number">(\d+)</td>', section.group(0))
    # By hand: one cardiology back-referral, waiting for the practice; the total the same.
    assert counts == [("Overgenomen", "0"), ("Openstaand", "1"), ("Vraag gesteld", "0")] * 2
    csv = staff.get("/dashboard/terugverwijzingen.csv?from=01-11-2026&to=30-11-2026")
    assert csv.status_code == 200
    assert csv.get_data(as_text=True).splitlines()[-1] == "2026-11-01/2026-11-30;totaal;0;1;0;1"
    assert staff.get("/dashboard/terugverwijzingen.csv?from=gisteren&to=30-11-2026").status_code == 400


def test_the_dermatologist_refers_back_from_a_consult_with_the_patient_filled_in(
        app: Flask, clock: FrozenClock, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    consult_id = gp.post("/fhir/ServiceRequest", consult_request).get_json()["id"]
    visser = app.test_client()
    log_in(visser, clock)
    page = visser.get(f"/inbox/terugverwijzingen/nieuw?consult={consult_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'value="03012345" selected' in text  # the practice that asked
    form = {name: value for name, value in re.findall(r'<input id="(\w+)" name="\w+" value="([^"]*)"', text)}
    assert form["diagnosis_icpc"] and form["patient_bsn"]
    sent = visser.post("/inbox/terugverwijzingen/nieuw", data={
        **form, "practice_agb": "03012345", "consult_id": consult_id, "diagnosis_text": "Eczeem, rustig",
        "gp_plan": "Indifferente crème", "rereferral_criteria": "Geen verbetering na 6 weken",
        "patient_birth_date": form["patient_birth_date"], "csrf_token": csrf(page)})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    back_id = sent.headers["Location"].rsplit("/", 1)[-1]
    request = gp.get(f"/fhir/ServiceRequest/terugverwijzing-{back_id}").get_json()
    assert request["basedOn"] == [{"reference": f"ServiceRequest/{consult_id}"}]
    cardiologist = _client(app, clock, CARDIOLOGIST)  # not the consult's specialist
    assert cardiologist.get(f"/inbox/terugverwijzingen/nieuw?consult={consult_id}").status_code == 404
