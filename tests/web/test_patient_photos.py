"""Photos from the patient: a one-time link, valid 72 hours, opened with the patient's birth date."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.test_photos import tiny_pdf
from tests.web.test_inbox import csrf
from tests.web.test_portal import consult_form, gp_logs_in, send, sharp_photo
from triage_service.database import session_scope
from triage_service.models import AuditEntry, ConsultDraft, PatientUploadLink

BIRTH_DATE = "1968-04-12"  # the birth date of consult_form()'s patient


def a_draft_with_a_patient_link(gp_browser: FlaskClient) -> tuple[str, str]:
    """The GP saves a draft and makes a link for the patient; returns the draft's page and the link's path."""
    saved = send(gp_browser, consult_form(action="save"), photos=0)
    draft_page = saved.headers["Location"]
    page = gp_browser.get(draft_page)
    made = gp_browser.post(f"{draft_page}/patientlink", data={"csrf_token": csrf(page)})
    assert made.status_code == 200
    body = made.get_data(as_text=True)
    assert "<svg" in body and 'role="img"' in body  # the QR code, drawn in the page
    link = re.search(r'href="http://[^/"]+(/foto/[^"]+)"', body)
    assert link, "no link on the page"
    return draft_page, link.group(1)


def patient_confirms(patient: FlaskClient, link: str, birth_date: str = BIRTH_DATE) -> Any:
    page = patient.get(link)
    return patient.post(link, data={"csrf_token": csrf(page), "birth_date": birth_date})


def patient_sends(patient: FlaskClient, link: str, files: list[tuple[bytes, str, str]], checked: bool = False) -> Any:
    page = patient.get(link)
    data: dict[str, Any] = {"csrf_token": csrf(page),
                            "photos": [(io.BytesIO(body), name, kind) for body, name, kind in files]}
    if checked:
        data["photos_checked"] = "1"
    return patient.post(f"{link}/fotos", data=data, content_type="multipart/form-data")


@pytest.fixture
def gp_browser(app: Flask, clock: FrozenClock) -> FlaskClient:
    browser = app.test_client()
    gp_logs_in(browser, clock)
    return browser


@pytest.fixture
def patient(app: Flask) -> FlaskClient:
    return app.test_client()


def test_the_patient_confirms_the_birth_date_and_uploads_two_photos_into_the_draft(
        app: Flask, gp_browser: FlaskClient, patient: FlaskClient, gp: GPSystem) -> None:
    draft_page, link = a_draft_with_a_patient_link(gp_browser)
    first = patient.get(link).get_data(as_text=True)
    assert "Uw geboortedatum" in first and "Fictief" not in first and "dermatomycose" not in first

    assert patient_confirms(patient, link).status_code == 302
    thanks = patient_sends(patient, link, [(sharp_photo(), "overzicht.jpg", "image/jpeg"),
                                           (sharp_photo(), "dichtbij.jpg", "image/jpeg")])

    assert thanks.status_code == 200 and "Uw 2 foto's zijn naar uw huisarts verstuurd" in thanks.get_data(as_text=True)
    with session_scope(app) as session:
        draft = session.scalars(select(ConsultDraft)).one()
        assert [f.get("from_patient") for f in draft.files] == [True, True]
        link_row = session.scalars(select(PatientUploadLink)).one()
        assert link_row.used_at is not None and link_row.photo_count == 2
        events = set(session.scalars(select(AuditEntry.event).where(AuditEntry.actor_kind == "patient")))
        assert {"patient.birth-date", "fhir.create", "patient.upload.finish"} <= events
    assert "2 foto's ontvangen" in gp_browser.get(draft_page).get_data(as_text=True)
    used = patient.get(link)
    assert used.status_code == 410 and "al foto's verstuurd" in used.get_data(as_text=True)

    sent = send(gp_browser, consult_form(), photos=0, path=draft_page)
    assert sent.status_code == 302
    consult_id = sent.headers["Location"].rsplit("/", 1)[-1]
    request = gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()
    document = gp.get(f"/fhir/{request['supportingInfo'][0]['reference']}").get_json()
    assert document["author"][0]["type"] == "Patient"


def test_five_wrong_birth_dates_close_the_link(gp_browser: FlaskClient, patient: FlaskClient) -> None:
    _, link = a_draft_with_a_patient_link(gp_browser)
    for left in (4, 3, 2, 1):
        wrong = patient_confirms(patient, link, "1970-01-01")
        assert wrong.status_code == 400 and f"nog {left} keer" in wrong.get_data(as_text=True)
    closed = patient_confirms(patient, link, "1970-01-01")
    assert closed.status_code == 410 and "gesloten" in closed.get_data(as_text=True)
    assert patient.get(link).status_code == 410  # even the right birth date opens nothing now


def test_a_link_expires_after_72_hours(gp_browser: FlaskClient, patient: FlaskClient, clock: FrozenClock) -> None:
    _, link = a_draft_with_a_patient_link(gp_browser)
    clock.advance(hours=72)
    expired = patient.get(link)
    assert expired.status_code == 410 and "72 uur" in expired.get_data(as_text=True)


def test_an_unknown_link_is_not_found(patient: FlaskClient) -> None:
    response = patient.get("/foto/bestaat-niet")
    assert response.status_code == 404 and "bestaat niet" in response.get_data(as_text=True)


def test_what_is_not_a_photo_is_refused_and_nothing_is_stored(
        app: Flask, gp_browser: FlaskClient, patient: FlaskClient) -> None:
    _, link = a_draft_with_a_patient_link(gp_browser)
    patient_confirms(patient, link)
    for files in ([(tiny_pdf(), "brief.pdf", "application/pdf")], [(b"hallo", "foto.jpg", "image/jpeg")]):
        refused = patient_sends(patient, link, files, checked=True)
        assert refused.status_code == 400 and 'id="photos-error"' in refused.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.scalars(select(ConsultDraft)).one().files == []
        assert session.scalars(select(PatientUploadLink)).one().used_at is None


def test_photos_cannot_be_sent_before_the_birth_date_is_confirmed(
        app: Flask, gp_browser: FlaskClient, patient: FlaskClient) -> None:
    _, link = a_draft_with_a_patient_link(gp_browser)
    response = patient_sends(patient, link, [(sharp_photo(), "overzicht.jpg", "image/jpeg")])
    assert response.status_code == 302
    with session_scope(app) as session:
        assert session.scalars(select(ConsultDraft)).one().files == []


def test_a_link_needs_the_patient_s_birth_date_in_the_draft(gp_browser: FlaskClient) -> None:
    saved = send(gp_browser, consult_form(action="save", birth_date=""), photos=0)
    page = gp_browser.get(saved.headers["Location"])
    refused = gp_browser.post(f"{saved.headers['Location']}/patientlink", data={"csrf_token": csrf(page)})
    assert refused.status_code == 400 and "geboortedatum" in refused.get_data(as_text=True)


def test_another_practice_cannot_make_a_link_for_the_draft(
        app: Flask, gp_browser: FlaskClient, clock: FrozenClock) -> None:
    from tests.web.test_portal import BAKKER

    draft_page, _ = a_draft_with_a_patient_link(gp_browser)
    other = app.test_client()
    gp_logs_in(other, clock, BAKKER)
    page = other.get("/huisarts/")
    assert other.post(f"{draft_page}/patientlink", data={"csrf_token": csrf(page)}).status_code == 404


def test_photos_from_the_patient_join_an_open_consult_as_a_message_the_gp_system_reads(
        app: Flask, gp_browser: FlaskClient, patient: FlaskClient, gp: GPSystem) -> None:
    consult_id = send(gp_browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    page = gp_browser.get(f"/huisarts/consults/{consult_id}")
    made = gp_browser.post(f"/huisarts/consults/{consult_id}/patientlink", data={"csrf_token": csrf(page)})
    body = made.get_data(as_text=True)
    match = re.search(r'href="http://[^/"]+(/foto/[^"]+)"', body)
    assert made.status_code == 200 and match and "<svg" in body
    link = match.group(1)

    patient_confirms(patient, link)
    thanks = patient_sends(patient, link, [(sharp_photo(), "dichtbij.jpg", "image/jpeg")])

    assert thanks.status_code == 200
    messages = gp.get(f"/fhir/Communication?based-on=ServiceRequest/{consult_id}").get_json()["entry"]
    [from_patient] = [e["resource"] for e in messages if e["resource"]["sender"]["type"] == "Patient"]
    document = gp.get(f"/fhir/{from_patient['payload'][-1]['contentReference']['reference']}").get_json()
    assert document["author"][0]["display"] == "patiënt"
    assert "Patiënt" in gp_browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)


def test_no_link_is_made_for_a_consult_that_is_no_longer_open(gp_browser: FlaskClient) -> None:
    consult_id = send(gp_browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    page = gp_browser.get(f"/huisarts/consults/{consult_id}")
    gp_browser.post(f"/huisarts/consults/{consult_id}/cancel", data={"csrf_token": csrf(page)})
    refused = gp_browser.post(f"/huisarts/consults/{consult_id}/patientlink", data={"csrf_token": csrf(page)})
    assert refused.status_code == 409 and "niet meer open" in refused.get_data(as_text=True)


def test_the_gp_system_asks_for_a_patient_link_over_fhir_and_the_photos_join_the_consult(
        app: Flask, gp: GPSystem, other_gp: GPSystem, patient: FlaskClient, consult_request: dict[str, Any]) -> None:
    from tests.conftest import new_request

    consult_id = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"]
    assert other_gp.post(f"/fhir/ServiceRequest/{consult_id}/$patient-photo-link", {}).status_code == 404
    answer = gp.post(f"/fhir/ServiceRequest/{consult_id}/$patient-photo-link", {})
    parameters = {p["name"]: p for p in answer.get_json()["parameter"]}
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert parameters["url"]["valueUrl"].startswith("http://testserver/foto/")
    assert parameters["expires"]["valueInstant"].startswith("2026-11-26")  # 72 hours after the frozen now
    link = parameters["url"]["valueUrl"].removeprefix("http://testserver")

    patient_confirms(patient, link)
    assert patient_sends(patient, link, [(sharp_photo(), "dichtbij.jpg", "image/jpeg")]).status_code == 200

    messages = gp.get(f"/fhir/Communication?based-on=ServiceRequest/{consult_id}").get_json()["entry"]
    assert [e["resource"]["sender"]["type"] for e in messages] == ["Patient"]
    with session_scope(app) as session:
        asked = session.scalars(select(AuditEntry).where(AuditEntry.event == "patient-link.create")).one()
        assert asked.actor_kind == "client" and asked.actor_id == gp.demo.client_id


def test_a_gp_system_cannot_ask_a_link_for_a_cancelled_consult(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    from tests.conftest import new_request

    consult_id = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"]
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{consult_id}").get_json()["entry"][0]["resource"]
    gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"})
    refused = gp.post(f"/fhir/ServiceRequest/{consult_id}/$patient-photo-link", {})
    assert refused.status_code == 409 and refused.get_json()["resourceType"] == "OperationOutcome"
