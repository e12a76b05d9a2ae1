"""A GP system submits consult requests and follows them through their Task."""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.conftest import GPSystem
from triage_service.database import session_scope
from triage_service.models import AuditEntry, Consult, ConsultTask, StoredResource


def _counts(app: Flask) -> tuple[int, int, int]:
    with session_scope(app) as session:
        return (session.scalar(select(func.count()).select_from(Consult)) or 0,
                session.scalar(select(func.count()).select_from(ConsultTask)) or 0,
                session.scalar(select(func.count()).select_from(StoredResource)) or 0)


def _task_for(gp: GPSystem, consult_id: str) -> dict[str, Any]:
    bundle = gp.get(f"/fhir/Task?focus=ServiceRequest/{consult_id}").get_json()
    assert bundle["total"] == 1
    task: dict[str, Any] = bundle["entry"][0]["resource"]
    return task


def test_a_consult_request_is_accepted_and_tracked_by_an_assigned_task(gp: GPSystem, consult_request: dict) -> None:
    response = gp.post("/fhir/ServiceRequest", consult_request)

    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"http://testserver/fhir/ServiceRequest/{created['id']}/_history/1"
    assert response.headers["ETag"] == 'W/"1"'
    assert created["meta"]["versionId"] == "1"
    task = _task_for(gp, created["id"])
    assert task["status"] == "accepted"
    # S82 (a changing pigmented lesion) is a red flag in the demo dermatology agreement.
    assert task["businessStatus"]["coding"][0]["code"] == "likely-referral"
    assert task["owner"]["identifier"]["system"] == "http://fhir.nl/fhir/NamingSystem/agb-z"
    assert task["restriction"]["period"]["end"]
    assert task["focus"]["reference"] == f"ServiceRequest/{created['id']}"
    assert task["for"]["reference"].startswith("Patient/")


def test_the_server_created_task_conforms_to_the_consult_task_profile(gp: GPSystem, consult_request: dict) -> None:
    from triage_service.fhir.parsing import parse_resource
    from triage_service.fhir.profiles import PROFILE_CONSULT_TASK, registry

    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = _task_for(gp, created["id"])

    assert [i for i in parse_resource(task, "Task").issues if i.is_error] == []
    assert registry().validate(task, PROFILE_CONSULT_TASK) == []


def test_a_retry_with_if_none_exist_returns_the_same_consult_instead_of_a_duplicate(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    condition = "identifier=urn:oid:2.16.840.1.113883.2.4.3.999.1|HIS-2026-000123"
    first = gp.post("/fhir/ServiceRequest", consult_request, **{"If-None-Exist": condition})
    retry = gp.post("/fhir/ServiceRequest", consult_request, **{"If-None-Exist": condition})

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert _counts(app)[:2] == (1, 1)


def test_the_same_identifier_without_if_none_exist_is_a_conflict(gp: GPSystem, consult_request: dict) -> None:
    gp.post("/fhir/ServiceRequest", consult_request)
    again = gp.post("/fhir/ServiceRequest", consult_request)

    assert again.status_code == 409
    assert again.get_json()["issue"][0]["code"] == "conflict"
    assert "If-None-Exist" in again.get_json()["issue"][0]["diagnostics"]


def test_a_transaction_bundle_stores_every_entry_and_resolves_urn_uuid_references(
        app: Flask, gp: GPSystem, transaction_bundle: dict) -> None:
    response = gp.post("/fhir", transaction_bundle)

    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["type"] == "transaction-response"
    assert [e["response"]["status"] for e in result["entry"]] == ["201 Created"] * len(transaction_bundle["entry"])
    sr_entry = next(e for e in result["entry"] if "ServiceRequest/" in e["response"]["location"])
    consult = gp.get("/" + "fhir/" + sr_entry["response"]["location"].split("/_history")[0]).get_json()
    patient_ref = consult["subject"]["reference"]
    assert patient_ref.startswith("Patient/") and "urn:uuid" not in str(consult)
    assert gp.get(f"/fhir/{patient_ref}").status_code == 200


def test_a_transaction_retried_with_if_none_exist_matches_patient_and_consult(
        app: Flask, gp: GPSystem, transaction_bundle: dict) -> None:
    gp.post("/fhir", transaction_bundle)
    counts = _counts(app)
    retry = gp.post("/fhir", transaction_bundle).get_json()

    statuses = {e["response"]["location"].split("/")[0]: e["response"]["status"] for e in retry["entry"]}
    assert statuses["Patient"] == "200 OK" and statuses["ServiceRequest"] == "200 OK"
    assert set(statuses.values()) == {"200 OK"}  # every entry carries ifNoneExist: nothing duplicated
    assert _counts(app) == counts


def test_a_failing_transaction_stores_nothing(app: Flask, gp: GPSystem, transaction_bundle: dict) -> None:
    broken = copy.deepcopy(transaction_bundle)
    service_request = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "ServiceRequest")
    service_request["note"] = [{"text": "   "}]
    before = _counts(app)

    response = gp.post("/fhir", broken)

    assert response.status_code == 422
    issue = response.get_json()["issue"][0]
    assert issue["expression"][0].startswith("Bundle.entry[")
    assert _counts(app) == before


def test_validate_reports_problems_and_stores_nothing(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    good = gp.post("/fhir/ServiceRequest/$validate", consult_request)
    consult_request["reasonCode"][0]["coding"][0]["system"] = "http://snomed.info/sct"
    bad = gp.post("/fhir/ServiceRequest/$validate", {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": consult_request}]})

    assert good.status_code == 200
    assert all(i["severity"] not in ("error", "fatal") for i in good.get_json()["issue"])
    assert bad.status_code == 200
    assert any(i["expression"] == ["ServiceRequest.reasonCode[0]"] for i in bad.get_json()["issue"])
    assert _counts(app)[:2] == (0, 0)


def test_a_read_returns_the_current_version_with_its_etag(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    read = gp.get(f"/fhir/ServiceRequest/{created['id']}")

    assert read.status_code == 200
    assert read.headers["ETag"] == 'W/"1"'
    assert read.get_json()["identifier"] == consult_request["identifier"]


def test_the_gp_cancels_its_task_and_the_request_is_revoked(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = _task_for(gp, created["id"])
    task["status"] = "cancelled"
    task["statusReason"] = {"text": "Patient al verwezen"}

    response = gp.put(f"/fhir/Task/{task['id']}", task, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    assert response.get_json()["businessStatus"]["coding"][0]["code"] == "cancelled-by-gp"
    assert gp.get(f"/fhir/ServiceRequest/{created['id']}").get_json()["status"] == "revoked"


def test_an_update_with_a_stale_version_is_refused_with_412(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = _task_for(gp, created["id"])
    task["status"] = "cancelled"
    gp.put(f"/fhir/Task/{task['id']}", task, **{"If-Match": 'W/"1"'})

    stale = gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "in-progress"}, **{"If-Match": 'W/"1"'})

    assert stale.status_code == 412


def test_a_gp_may_not_set_its_task_to_anything_but_cancelled(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = _task_for(gp, created["id"])

    response = gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "completed"})

    assert response.status_code == 422
    assert response.get_json()["issue"][0]["expression"] == ["Task.status"]


def test_a_cancelled_task_cannot_be_cancelled_into_another_state(gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = _task_for(gp, created["id"])
    gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"})

    again = gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"})

    assert again.status_code == 200  # unchanged: an idempotent update
    assert again.headers["ETag"] == 'W/"2"'


def test_every_create_and_read_is_audited_with_the_patient(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    gp.get(f"/fhir/ServiceRequest/{created['id']}")

    with session_scope(app) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.resource_id == created["id"])).all()
        events = sorted((r.event, r.action.value) for r in rows)
        assert events == [("fhir.create", "C"), ("fhir.read", "R")]
        assert all(r.patient_ref and r.actor_id == gp.demo.client_id and r.source_ip for r in rows)


def test_concurrent_identical_submissions_give_one_consult_and_no_server_error(
        app: Flask, live_server: str, gp: GPSystem, consult_request: dict) -> None:
    import json
    from concurrent.futures import ThreadPoolExecutor

    import requests

    headers = {**gp.headers(), "If-None-Exist": "identifier=urn:oid:2.16.840.1.113883.2.4.3.999.1|HIS-2026-000123"}
    body = json.dumps(consult_request)
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: requests.post(f"{live_server}/fhir/ServiceRequest", data=body,
                                                           headers=headers, timeout=30).status_code, range(8)))
    assert statuses == [200] * 7 + [201]
    assert _counts(app)[:2] == (1, 1)


def test_concurrent_cancels_with_the_same_if_match_let_exactly_one_win(
        live_server: str, gp: GPSystem, consult_request: dict) -> None:
    import json
    from concurrent.futures import ThreadPoolExecutor

    import requests

    created = gp.post("/fhir/ServiceRequest", consult_request).get_json()
    task = _task_for(gp, created["id"])
    body = json.dumps({**task, "status": "cancelled"})
    headers = {**gp.headers(), "If-Match": 'W/"1"'}
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: requests.put(f"{live_server}/fhir/Task/{task['id']}", data=body,
                                                          headers=headers, timeout=30).status_code, range(8)))
    assert statuses == [200] + [412] * 7
