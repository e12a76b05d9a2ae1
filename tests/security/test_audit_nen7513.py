"""NEN 7513: every audit entry names the event, the time, the patient where one is concerned (photos and
documents included), the user, the organisation acted for and on whose behalf - for GP systems and
specialists alike - and a patient's access history includes their photos."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from tests.test_thread import _reply as gp_message
from tests.web.test_inbox import csrf, log_in
from triage_service import cli
from triage_service.audit.queries import patient_history
from triage_service.audit.trail import SERVICE
from triage_service.database import session_scope
from triage_service.models import AuditEntry, Organisation, Practitioner, StoredResource

BSN = "999990019"  # the example patient
VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
#: Resources that hold one patient's data: an entry about one of them concerns that patient.
PATIENT_DATA = {"Patient", "Coverage", "ServiceRequest", "Task", "Communication", "Appointment", "Binary",
                "DocumentReference"}


def _entries(app: Flask, **where: Any) -> list[AuditEntry]:
    with session_scope(app) as session:
        query = select(AuditEntry).order_by(AuditEntry.chain_index)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        found = list(session.scalars(query))
        session.expunge_all()
        return found


def _photo_consult(gp: GPSystem, consult_request: dict[str, Any], **document: Any) -> tuple[str, str, str]:
    """A photo uploaded on its own, a DocumentReference pointing at it, and the consult listing that."""
    binary = str(upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"])
    created = gp.post("/fhir/DocumentReference", {**photo_document(binary), **document})
    assert created.status_code == 201, created.get_json()
    body = new_request(consult_request, performer=VISSER)
    body["supportingInfo"] = [{"reference": f"DocumentReference/{created.get_json()['id']}"}]
    consult = gp.post("/fhir/ServiceRequest", body)
    assert consult.status_code == 201, consult.get_json()
    return str(consult.get_json()["id"]), str(created.get_json()["id"]), binary


def _patient_of(app: Flask, consult_id: str) -> str:
    from triage_service.models import Consult

    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None and consult.patient_resource_id is not None
        return consult.patient_resource_id


@pytest.fixture
def specialist(app: Flask, clock: FrozenClock) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, clock).status_code == 302
    return client


def test_a_specialists_entries_name_their_organisation_and_on_whose_behalf(
        app: Flask, gp: GPSystem, specialist: FlaskClient, consult_request: dict) -> None:
    consult_id = str(gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER))
                     .get_json()["id"])
    assert specialist.get(f"/consults/{consult_id}").status_code == 200
    with session_scope(app) as session:
        visser = session.scalar(select(Practitioner).where(Practitioner.agb == "03100001"))
        assert visser is not None
        expected = (visser.organisation_id, f"Practitioner/{visser.id}")

    entries = _entries(app, actor_kind="user")
    assert {e.event for e in entries} >= {"web.login", "web.consult.view"}
    assert {(e.organisation_id, e.on_behalf_of) for e in entries} == {expected}


def test_a_gp_systems_entries_say_it_acted_for_its_practice(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    gp.post("/fhir/ServiceRequest", new_request(consult_request))
    with session_scope(app) as session:
        practice = session.scalar(select(Organisation.id).where(Organisation.agb == "03012345"))

    entries = _entries(app, actor_kind="client")
    assert entries
    assert {(e.organisation_id, e.on_behalf_of) for e in entries} == {(practice, f"Organization/{practice}")}


def test_reading_a_photo_and_its_document_names_the_patient(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    consult_id, document, binary = _photo_consult(gp, consult_request)
    assert gp.get(f"/fhir/Binary/{binary}").status_code == 200
    assert gp.get(f"/fhir/DocumentReference/{document}").status_code == 200

    patient = _patient_of(app, consult_id)
    reads = {(e.resource_type, e.patient_ref) for e in _entries(app, event="fhir.read")}
    assert {("Binary", patient), ("DocumentReference", patient)} <= reads


def test_a_document_naming_its_patient_is_created_under_that_patient(app: Flask, gp: GPSystem,
                                                                     consult_request: dict) -> None:
    consult_id = str(gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"])
    patient = _patient_of(app, consult_id)
    bsn = {"type": "Patient", "identifier": {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": BSN}}
    by_identifier = gp.post("/fhir/DocumentReference", {**photo_document(data=jpeg_with_gps()), "subject": bsn})
    by_consult = gp.post("/fhir/DocumentReference", {**photo_document(data=jpeg_with_gps()), "context": {
        "related": [{"reference": f"ServiceRequest/{consult_id}"}]}})
    assert by_identifier.status_code == by_consult.status_code == 201

    created = [(e.resource_type, e.patient_ref) for e in _entries(app, event="fhir.create")
               if e.resource_type in ("Binary", "DocumentReference")]
    assert created == [("Binary", patient), ("DocumentReference", patient)] * 2


def test_a_coverage_is_audited_under_its_beneficiary(app: Flask, gp: GPSystem) -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn",
                                                          "value": BSN}], "birthDate": "1980-05-01", "gender": "female"}
    patient_id = gp.post("/fhir/Patient", patient).get_json()["id"]
    coverage = {"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": f"Patient/{patient_id}"},
                "payor": [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/uzovi", "value": "3311"}}]}
    response = gp.post("/fhir/Coverage", coverage)
    assert response.status_code == 201, response.get_json()

    entry = _entries(app, event="fhir.create", resource_type="Coverage")[0]
    assert entry.patient_ref == patient_id


def test_downloading_a_patients_photo_is_in_their_access_history(
        app: Flask, gp: GPSystem, consult_request: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _, _, binary = _photo_consult(gp, consult_request)
    assert gp.get(f"/fhir/Binary/{binary}").status_code == 200
    settings = dataclasses.replace(app.extensions["triage.settings"], audit_anchor_path=tmp_path / "anchors.log")
    monkeypatch.setitem(app.extensions, "triage.settings", settings)
    monkeypatch.setattr(cli, "_app", lambda: app)

    result = CliRunner().invoke(cli.main, ["audit", "patient", "--bsn", BSN])

    assert result.exit_code == 0, result.output
    photo_lines = [line for line in result.output.splitlines() if f"Binary/{binary}" in line]
    assert any(" read " in line for line in photo_lines), result.output
    assert any(" create " in line for line in photo_lines), result.output  # the upload, before it had a patient


def _inbox_post(client: FlaskClient, consult_id: str, action: str, **form: str) -> Any:
    token = csrf(client.get(f"/consults/{consult_id}"))
    return client.post(f"/consults/{consult_id}/{action}", data={**form, "csrf_token": token})


def test_every_entry_of_a_whole_consult_carries_the_nen_7513_fields(
        app: Flask, gp: GPSystem, specialist: FlaskClient, consult_request: dict) -> None:
    """A consult with a photo through the API and the inbox: ask, answer, acknowledge; every entry is walked."""
    consult_id, document, binary = _photo_consult(gp, consult_request)
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    gp.get(f"/fhir/ServiceRequest/{consult_id}")
    gp.get(f"/fhir/Binary/{binary}")
    gp.get(f"/fhir/DocumentReference/{document}")
    specialist.get("/inbox")
    specialist.get(f"/consults/{consult_id}/photos/{binary}")
    assert _inbox_post(specialist, consult_id, "ask", question="Sinds wanneer?").status_code == 302
    question = gp.get(f"/fhir/Communication?based-on={consult_id}").get_json()["entry"][0]["resource"]
    answer = gp_message(consult_id, task["id"], question["id"], "Sinds drie weken.")
    assert gp.post("/fhir/Communication", answer).status_code == 201
    assert _inbox_post(specialist, consult_id, "answer", outcome="primary-care-advice", advice="Afwachtend beleid.",
                       minutes="6").status_code == 302
    gp.get(f"/fhir/Task/{task['id']}")

    with session_scope(app) as session:
        history = {e.id for e in patient_history(session, BSN)}
    entries = _entries(app)
    assert len(entries) > 15
    problems = []
    for e in entries:
        if not (e.event and e.occurred_at and e.actor_kind):
            problems.append(f"{e.event}: no event, time or kind")
        if e.actor_kind != "anonymous" and not (e.actor_id and e.on_behalf_of):
            problems.append(f"{e.event}: no user or no 'on behalf of'")
        if e.actor_kind in ("client", "user") and not e.organisation_id:
            problems.append(f"{e.event} by {e.actor_kind}: no organisation")
        if e.actor_kind in ("cli", "worker") and e.on_behalf_of != SERVICE:
            problems.append(f"{e.event}: a command or job acts for the service")
        if e.resource_type in PATIENT_DATA and e.resource_id:
            if e.id not in history:
                problems.append(f"{e.event} {e.resource_type}: not in the patient's history")
            if e.action.value == "R" and not e.patient_ref:
                problems.append(f"{e.event} {e.resource_type}: a read without the patient")
    assert problems == []
    with session_scope(app) as session:  # the patient is the one posted: the history found by BSN
        patient = session.scalar(select(StoredResource.id).where(StoredResource.resource_type == "Patient"))
    assert patient is None or any(e.patient_ref == patient for e in entries)
