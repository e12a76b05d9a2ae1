"""Inputs that once got a 500 from the FHIR API get a clear 4xx OperationOutcome, and the refusal is audited."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import GPSystem, new_request
from triage_service.database import session_scope
from triage_service.models import AuditEntry, Consult


def _issues(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome", body
    return list(body["issue"])


def _consults(app: Flask) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Consult)) or 0)


def _twice(consult_request: dict[str, Any]) -> dict[str, Any]:
    body = new_request(consult_request)
    body["identifier"] = [body["identifier"][0], copy.deepcopy(body["identifier"][0])]
    return body


def test_a_binary_resource_without_data_is_a_422_as_valid_fhir_that_breaks_a_rule(gp: GPSystem) -> None:
    response = gp.post("/fhir/Binary", {"resourceType": "Binary", "contentType": "image/jpeg"})

    issues = _issues(response, 422)
    assert issues[0]["expression"] == ["Binary.data"]


def test_a_binary_resource_with_data_that_is_not_base64_is_a_400(gp: GPSystem) -> None:
    response = gp.post("/fhir/Binary", {"resourceType": "Binary", "contentType": "image/jpeg", "data": "QUJD%%%%"})

    assert _issues(response, 400)[0]["expression"] == ["Binary.data"]


def test_a_consult_listing_its_identifier_twice_is_refused(app: Flask, gp: GPSystem,
                                                           consult_request: dict[str, Any]) -> None:
    response = gp.post("/fhir/ServiceRequest", _twice(consult_request))

    issues = _issues(response, 422)
    assert any(i.get("expression") == ["ServiceRequest.identifier[1]"] for i in issues), issues
    assert _consults(app) == 0


def test_a_consult_listing_its_identifier_twice_with_if_none_exist_is_refused(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = _twice(consult_request)
    ident = body["identifier"][0]

    response = gp.post("/fhir/ServiceRequest", body, **{"If-None-Exist": f"identifier={ident['system']}|"
                                                                         f"{ident['value']}"})

    _issues(response, 422)
    assert _consults(app) == 0


def test_a_consult_listing_its_identifier_twice_is_refused_in_a_transaction(
        app: Flask, gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    entry = next(e for e in transaction_bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest")
    entry["resource"]["identifier"] = [entry["resource"]["identifier"][0]] * 2

    response = gp.post("/fhir", transaction_bundle)

    issues = _issues(response, 422)
    assert any("identifier[1]" in (i.get("expression") or [""])[0] for i in issues), issues
    assert _consults(app) == 0


def test_the_same_identifier_twice_is_named_by_validate_without_storing(gp: GPSystem,
                                                                        consult_request: dict[str, Any]) -> None:
    response = gp.post("/fhir/ServiceRequest/$validate", _twice(consult_request))

    assert response.status_code == 200
    assert any(i.get("expression") == ["ServiceRequest.identifier[1]"] for i in response.get_json()["issue"])


@pytest.mark.parametrize("path", ["/fhir/Task/ab%00c", "/fhir/ServiceRequest/ab%00c", "/fhir/Patient/ab%00c",
                                  "/fhir/Binary/ab%00c", "/fhir/Subscription/ab%00c", "/fhir/Appointment/ab%00c",
                                  "/fhir/Communication/ab%00c", "/fhir/DocumentReference/ab%00c"])
def test_a_nul_character_in_a_path_id_is_a_400(gp: GPSystem, path: str) -> None:
    issues = _issues(gp.get(path), 400)
    assert "id" in issues[0]["diagnostics"]


@pytest.mark.parametrize("rid", ["a" * 65, "a" * 5000, "ab_c", "ab%20c", "%C3%A9t%C3%A9"])
def test_a_path_id_that_is_no_fhir_id_is_a_400(gp: GPSystem, rid: str) -> None:
    for path in (f"/fhir/Task/{rid}", f"/fhir/ServiceRequest/{rid}", f"/fhir/Coverage/{rid}"):
        issues = _issues(gp.get(path), 400)
        assert issues[0]["code"] == "value"
    assert _issues(gp.put(f"/fhir/Task/{rid}", {"resourceType": "Task"}), 400)
    assert _issues(gp.http.delete(f"/fhir/Subscription/{rid}", headers=gp.headers()), 400)


def test_the_refusal_of_an_overlong_path_id_is_audited(app: Flask, gp: GPSystem) -> None:
    _issues(gp.get("/fhir/Task/" + "a" * 5000), 400)

    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event.like("fhir.refused.%"))).one()
    assert entry.resource_type == "Task"
    assert entry.resource_id is None or len(entry.resource_id) <= 64
    assert entry.detail is not None and len(entry.detail) <= 200


def test_the_refusal_of_a_nul_in_a_path_id_names_the_gp_system_that_asked(app: Flask, gp: GPSystem) -> None:
    _issues(gp.get("/fhir/Task/ab%00c"), 400)

    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event.like("fhir.refused.%"))).one()
    assert entry.actor_kind == "client" and entry.actor_id == gp.demo.client_id


def test_a_longest_valid_id_is_still_looked_up(gp: GPSystem) -> None:
    issues = _issues(gp.get("/fhir/Task/" + "A-." * 21 + "z"), 404)
    assert issues[0]["code"] == "not-found"


def test_deleting_a_subscription_answers_204_without_a_content_type(gp: GPSystem) -> None:
    from tests.test_notifications import subscription

    created = gp.post("/fhir/Subscription", subscription("https://his.example.nl/hook"))
    assert created.status_code == 201, created.get_json()

    response = gp.http.delete(f"/fhir/Subscription/{created.get_json()['id']}", headers=gp.headers())

    assert response.status_code == 204
    assert response.data == b""
    assert "text/html" not in response.headers.get("Content-Type", "")


def test_a_binary_without_data_in_a_transaction_is_a_422_naming_the_entry(app: Flask, gp: GPSystem,
                                                                           transaction_bundle: dict[str, Any]) -> None:
    transaction_bundle["entry"].insert(0, {"fullUrl": "urn:uuid:0a7b1c2d-0000-4000-8000-000000000001",
                                           "resource": {"resourceType": "Binary", "contentType": "image/png"},
                                           "request": {"method": "POST", "url": "Binary"}})

    response = gp.post("/fhir", transaction_bundle)

    assert _issues(response, 422)[0]["expression"] == ["Bundle.entry[0].resource.data"]
    assert _consults(app) == 0


@pytest.mark.parametrize(("path", "text"), [
    ("/fhir/ServiceRequest", '"patientInstruction": "\\ud800"'),
    ("/fhir/ServiceRequest", '"\\udfffx": 1'),
    ("/fhir/ServiceRequest/$validate", '"\\ud83d": true'),
    ("/fhir/Patient", '"name": [{"family": "a\\udc00b"}]')])
def test_an_unpaired_surrogate_escape_is_a_400_not_a_500(gp: GPSystem, consult_request: dict[str, Any], path: str,
                                                         text: str) -> None:
    body = new_request(consult_request) if "ServiceRequest" in path else {"resourceType": "Patient"}
    raw = json.dumps(body)[:-1] + ", " + text + "}"

    issues = _issues(gp.post(path, raw), 400)
    assert "surrogate" in issues[0]["diagnostics"]


def test_an_escaped_surrogate_pair_is_ordinary_unicode(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = new_request(consult_request)
    body["note"] = [{"text": "Plekje op de rug \U0001F600, groeit."}]

    response = gp.post("/fhir/ServiceRequest", json.dumps(body, ensure_ascii=True))

    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize("part", ["system", "value"])
def test_an_identifier_longer_than_the_index_holds_is_a_422(app: Flask, gp: GPSystem, consult_request: dict[str, Any],
                                                            part: str) -> None:
    body = new_request(consult_request)
    body["identifier"][0][part] = ("urn:x:" if part == "system" else "") + "a" * 300

    issues = _issues(gp.post("/fhir/ServiceRequest", body), 422)

    assert any(i.get("expression") == [f"ServiceRequest.identifier[0].{part}"] for i in issues), issues
    assert _consults(app) == 0


def test_subscription_criteria_longer_than_stored_are_a_422(gp: GPSystem) -> None:
    from tests.test_notifications import subscription

    body = subscription("https://his.example.nl/hook", criteria="Task?status=" + ",".join(["completed"] * 120))

    assert _issues(gp.post("/fhir/Subscription", body), 422)[0]["expression"] == ["Subscription.criteria"]


@pytest.mark.parametrize("host", [".".join(["h" * 60] * 10), "evil.example/path", "a b"])
def test_a_host_header_that_is_no_host_is_a_400_when_no_base_url_is_configured(
        app: Flask, gp: GPSystem, clock: Any, host: str) -> None:
    import dataclasses

    from tests.test_notifications import subscription
    from triage_service import create_app

    unconfigured = create_app(dataclasses.replace(app.extensions["triage.settings"], public_base_url=""), clock=clock)
    response = unconfigured.test_client().post("/fhir/Subscription", data=json.dumps(
        subscription("https://his.example.nl/hook")), headers={**gp.headers(), "Host": host})

    assert _issues(response, 400)


def test_a_binary_whose_data_is_not_base64_in_a_transaction_is_a_400_naming_the_entry(
        app: Flask, gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    transaction_bundle["entry"].insert(0, {"fullUrl": "urn:uuid:0a7b1c2d-0000-4000-8000-000000000002",
                                           "resource": {"resourceType": "Binary", "contentType": "image/png",
                                                        "data": "QUJD%%%%"},
                                           "request": {"method": "POST", "url": "Binary"}})

    response = gp.post("/fhir", transaction_bundle)

    assert _issues(response, 400)[0]["expression"] == ["Bundle.entry[0].resource.data"]
    assert _consults(app) == 0
