"""The consult letter for the patient's record (issue 19): a Dutch A4 PDF made once when a consult is concluded,
listed in Task.output, read over FHIR and from the portal by the practice only, never made again differently."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import Any

import pypdf
import pytest
from fhir.resources.R4B.documentreference import DocumentReference
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from tests.conftest import START, FrozenClock, GPSystem, new_request
from tests.security.test_retention import LONG_AGO
from tests.test_referral_triage import accept, referral_request
from tests.test_thread import VISSER, _specialist
from tests.web.test_portal import BAKKER, gp_logs_in
from triage_service.attachments.documents import blob_store
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice, letters
from triage_service.database import session_scope
from triage_service.models import Attachment, AuditEntry, Consult, ConsultMessage, MessageCategory, StoredResource
from triage_service.records.retention import purge

ADVICE = "Terbinafine 250 mg eenmaal daags, twee weken. Bij uitblijven van verbetering na vier weken opnieuw consult."


def consult_of(gp: GPSystem, consult_request: dict[str, Any]) -> str:
    response = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def answer(app: Flask, clock: FrozenClock, consult_id: str, outcome: str = "primary-care-advice",
           text: str = ADVICE, *referral: str) -> None:
    with session_scope(app) as session:
        advice.record_advice(session, _specialist(app), consult_id, advice.Advice(text, outcome, *referral), clock())


def letter_reference(gp: GPSystem, consult_id: str) -> str:
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{consult_id}").get_json()["entry"][0]["resource"]
    reports = [o["valueReference"]["reference"] for o in task.get("output", [])
               if o["type"]["text"] == "consult-report"]
    assert len(reports) == 1, task.get("output")
    return str(reports[0])


def binary(gp: GPSystem, url: str) -> bytes:
    response = gp.get(f"/fhir/{url}")
    assert response.status_code == 200, response.status_code
    return bytes(response.data)


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def answered(app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict[str, Any]) -> str:
    consult_id = consult_of(gp, consult_request)
    clock.advance(hours=3)
    answer(app, clock, consult_id)
    gp._tokens.clear()  # the token of three hours ago has expired
    return consult_id


def test_after_the_advice_task_output_names_a_consult_report_that_the_gp_system_reads_as_a_pdf(
        gp: GPSystem, answered: str) -> None:
    reference = letter_reference(gp, answered)
    assert reference.startswith("DocumentReference/")
    document = gp.get(f"/fhir/{reference}")
    assert document.status_code == 200
    body = document.get_json()
    DocumentReference.model_validate(body)  # valid FHIR R4 (fhir.resources' R4B models)
    assert body["type"]["coding"][0] == {"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}
    assert body["type"]["text"] == "Consultverslag" and body["status"] == "current"
    assert body["context"]["related"] == [{"reference": f"ServiceRequest/{answered}"}]
    patient = gp.get(f"/fhir/ServiceRequest/{answered}").get_json()
    assert body["subject"]["reference"].startswith("Patient/")
    assert gp.get(f"/fhir/{body['subject']['reference']}").status_code == 200 and patient["status"] == "completed"
    attachment = body["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf" and attachment["url"].startswith("Binary/")
    assert "Consultverslag dermatologie" in attachment["title"]
    # A streamed download is read to its end before the next request (the test client keeps its context).
    first = gp.get(f"/fhir/{attachment['url']}")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    data = first.data
    assert binary(gp, attachment["url"]) == data and data.startswith(b"%PDF-")  # byte-identical, every read
    assert attachment["size"] == len(data)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()


def test_the_letter_says_in_dutch_who_asked_what_about_whom_and_what_the_specialist_advised(
        gp: GPSystem, answered: str) -> None:
    attachment = gp.get(f"/fhir/{letter_reference(gp, answered)}").get_json()["content"][0]["attachment"]
    text = pdf_text(binary(gp, attachment["url"]))
    assert "Terbinafine 250 mg eenmaal daags, twee weken." in text
    assert "999990019" in text and "Test Fictief" in text and "12-04-1968" in text  # BSN, name, birth date
    assert "Jansen" in text and "03012345" in text  # the GP and the practice
    assert "03100001" in text and "Visser" in text  # the specialist, with AGB
    assert "Behandeling in de eerste lijn met dit advies" in text and "Dermatologie" in text
    # The consult was sent at 09:00 UTC and answered three hours later: 10:00 and 13:00 in Dutch time.
    assert "23 november 2026 om 10:00" in text and "23 november 2026 om 13:00" in text
    assert "gepigmenteerde laesie" in text  # the GP's question


def test_the_pdf_embeds_its_fonts_and_loads_nothing_from_outside(gp: GPSystem, answered: str) -> None:
    attachment = gp.get(f"/fhir/{letter_reference(gp, answered)}").get_json()["content"][0]["attachment"]
    data = binary(gp, attachment["url"])
    reader = pypdf.PdfReader(io.BytesIO(data))
    for page in reader.pages:
        assert abs(float(page.mediabox.width) - 595.28) < 1 and abs(float(page.mediabox.height) - 841.89) < 1  # A4
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()["/DescendantFonts"][0].get_object() if "/DescendantFonts" in \
                font.get_object() else font.get_object()
            assert "/FontFile2" in descendant["/FontDescriptor"].get_object(), font.get_object()["/BaseFont"]
    assert b"/URI" not in data and b"/Launch" not in data and b"/JavaScript" not in data
    assert reader.metadata is not None and reader.metadata["/CreationDate"].startswith("D:20261123130000+01'00'")
    assert "Fictief" not in str(reader.metadata)  # viewers show the metadata in window titles


def test_a_declined_consult_gets_a_letter_with_the_reason(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict[str, Any]) -> None:
    consult_id = consult_of(gp, consult_request)
    with session_scope(app) as session:
        advice.decline(session, _specialist(app), consult_id, "Graag eerst een KOH-preparaat laten doen.", clock())
    attachment = gp.get(f"/fhir/{letter_reference(gp, consult_id)}").get_json()["content"][0]["attachment"]
    text = pdf_text(binary(gp, attachment["url"]))
    assert "Niet geschikt voor een consult" in text and "Graag eerst een KOH-preparaat laten doen." in text
    assert "Reden" in text


def test_an_accepted_referral_gets_a_letter_with_the_urgency_in_dutch(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    referral_id = gp.post("/fhir/ServiceRequest", referral_request(consult_request)).get_json()["id"]
    accept(app, referral_id, "urgent")
    attachment = gp.get(f"/fhir/{letter_reference(gp, referral_id)}").get_json()["content"][0]["attachment"]
    text = pdf_text(binary(gp, attachment["url"]))
    assert "Verwijzing geaccepteerd na triage" in text and "Spoed" in text and "Verwijzing (triage)" in text


def test_issuing_again_changes_nothing_and_a_changed_consult_gets_a_new_version_that_replaces_the_old(
        app: Flask, gp: GPSystem, clock: FrozenClock, answered: str) -> None:
    first = letter_reference(gp, answered)
    first_pdf = binary(gp, gp.get(f'/fhir/{first}').get_json()["content"][0]["attachment"]["url"])
    task_version = gp.get(f"/fhir/Task?focus=ServiceRequest/{answered}").get_json()["entry"][0]["resource"]["meta"]
    clock.advance(days=1)
    gp._tokens.clear()
    with session_scope(app) as session:
        consult = session.get(Consult, answered)
        assert consult is not None
        assert letters.issue_letter(session, CLI_ACTOR, consult, clock()).id == first.split("/")[1]
    assert letter_reference(gp, answered) == first  # nothing new to say: the same letter, no new version
    # A later change (here the advice corrected) is a new letter that replaces the first.
    with session_scope(app) as session:
        message = session.scalars(select(ConsultMessage).where(ConsultMessage.consult_id == answered,
                                                               ConsultMessage.category == MessageCategory.ADVICE)).one()
        message.text = ADVICE.replace("twee weken", "drie weken")
        consult = session.get(Consult, answered)
        assert consult is not None
        letters.issue_letter(session, CLI_ACTOR, consult, clock())
    second = letter_reference(gp, answered)
    assert second != first
    newer = gp.get(f"/fhir/{second}").get_json()
    assert newer["relatesTo"] == [{"code": "replaces", "target": {"reference": first}}]
    text = pdf_text(binary(gp, newer["content"][0]["attachment"]["url"]))
    assert "drie weken" in text and "Versie 2" in text and "24 november 2026" in text
    older = gp.get(f"/fhir/{first}").get_json()
    assert older["status"] == "superseded" and older["meta"]["versionId"] == "2"
    assert binary(gp, older["content"][0]["attachment"]["url"]) == first_pdf  # still the same bytes
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{answered}").get_json()["entry"][0]["resource"]
    assert int(task["meta"]["versionId"]) == int(task_version["versionId"]) + 1


def test_another_practice_s_gp_system_cannot_read_the_letter(
        gp: GPSystem, other_gp: GPSystem, answered: str) -> None:
    reference = letter_reference(gp, answered)
    binary = gp.get(f"/fhir/{reference}").get_json()["content"][0]["attachment"]["url"]
    assert other_gp.get(f"/fhir/{reference}").status_code == 404
    assert other_gp.get(f"/fhir/{binary}").status_code == 404


def test_the_practice_s_gp_downloads_the_letter_from_the_portal_and_another_practice_s_gp_cannot(
        app: Flask, gp: GPSystem, clock: FrozenClock, answered: str) -> None:
    reference = letter_reference(gp, answered)
    document_id = reference.split("/")[1]
    stored = binary(gp, gp.get(f'/fhir/{reference}').get_json()["content"][0]["attachment"]["url"])
    browser = app.test_client()
    gp_logs_in(browser, clock)
    page = browser.get(f"/huisarts/consults/{answered}").get_data(as_text=True)
    link = f"/huisarts/consults/{answered}/brief/{document_id}"
    assert link in page and "Consultverslag downloaden" in page
    download = browser.get(link)
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == stored
    assert download.headers["Cache-Control"] == "no-store" and "Fictief" not in download.headers["Content-Disposition"]
    other: FlaskClient = app.test_client()
    gp_logs_in(other, clock, BAKKER)
    assert other.get(link).status_code == 404


def test_a_document_that_is_not_the_consult_s_letter_is_not_downloaded_as_one(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict[str, Any], answered: str) -> None:
    other_consult = consult_of(gp, consult_request)
    answer(app, clock, other_consult)
    other_letter = letter_reference(gp, other_consult).split("/")[1]
    browser = app.test_client()
    gp_logs_in(browser, clock)
    assert browser.get(f"/huisarts/consults/{answered}/brief/{other_letter}").status_code == 404
    assert browser.get(f"/huisarts/consults/{answered}/brief/{answered}").status_code == 404


def test_making_and_every_read_of_the_letter_are_audited_under_the_patient(
        app: Flask, gp: GPSystem, clock: FrozenClock, answered: str) -> None:
    reference = letter_reference(gp, answered)
    document_id = reference.split("/")[1]
    gp.get(f"/fhir/{reference}")
    browser = app.test_client()
    gp_logs_in(browser, clock)
    browser.get(f"/huisarts/consults/{answered}/brief/{document_id}")
    with session_scope(app) as session:
        patient = session.scalar(select(Consult.patient_resource_id).where(Consult.id == answered))
        entries = session.scalars(select(AuditEntry).where(AuditEntry.resource_id == document_id)).all()
    events = sorted((e.event, e.patient_ref == patient) for e in entries)
    assert events == [("consult.letter.create", True), ("consult.letter.read", True), ("fhir.read", True)]


def test_a_letter_is_kept_as_long_as_its_consult_and_goes_with_it(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict[str, Any]) -> None:
    old, kept = consult_of(gp, consult_request), consult_of(gp, consult_request)
    answer(app, clock, old)
    answer(app, clock, kept)
    letters_of = {c: letter_reference(gp, c).split("/")[1] for c in (old, kept)}
    pdfs = {c: gp.get(f"/fhir/DocumentReference/{d}").get_json()["content"][0]["attachment"]["url"].split("/")[1]
            for c, d in letters_of.items()}
    with app.extensions["triage.engine"].begin() as conn:
        # Everything made long ago; only the kept consult changed within the 20 years since.
        for table, column in (("stored_resources", "updated_at"), ("attachments", "created_at")):
            conn.execute(text(f"UPDATE {table} SET {column} = :t"), {"t": LONG_AGO})
        aged = {"t": LONG_AGO, "c": old}
        conn.execute(text("UPDATE consults SET created_at = :t, updated_at = :t WHERE id = :c"), aged)
        conn.execute(text("UPDATE consult_tasks SET updated_at = :t WHERE consult_id = :c"), aged)
    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        purge(session, settings, blob_store(settings), START)
    with session_scope(app) as session:
        assert session.get(StoredResource, letters_of[old]) is None and session.get(Attachment, pdfs[old]) is None
        assert session.get(StoredResource, letters_of[kept]) is not None
        assert session.get(Attachment, pdfs[kept]) is not None
