"""The client's Prefer header on a create or update (FHIR R4 http.html#ops): return=minimal gets no body but
the headers, return=OperationOutcome an outcome saying what was done, and without it the resource."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import GPSystem, new_request


def a_patient(transaction_bundle: dict[str, Any]) -> dict[str, Any]:
    patient: dict[str, Any] = copy.deepcopy(transaction_bundle["entry"][0]["resource"])
    patient.pop("id", None)
    return patient


def test_a_create_with_return_minimal_has_no_body_but_its_location_and_version(
        gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    response = gp.post("/fhir/Patient", a_patient(transaction_bundle), Prefer="return=minimal")

    assert response.status_code == 201
    assert response.get_data() == b""
    assert response.headers["Location"].startswith("http://testserver/fhir/Patient/")
    assert response.headers["ETag"] == 'W/"1"' and "Last-Modified" in response.headers


def test_a_consult_created_with_return_minimal_is_stored_all_the_same(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    response = gp.post("/fhir/ServiceRequest", new_request(consult_request), Prefer="return=minimal")

    assert response.status_code == 201 and response.get_data() == b""
    stored = gp.get(response.headers["Location"].split("/_history")[0].removeprefix("http://testserver"))
    assert stored.status_code == 200 and stored.get_json()["resourceType"] == "ServiceRequest"


def test_a_create_with_return_operation_outcome_says_what_was_created(
        gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    response = gp.post("/fhir/Patient", a_patient(transaction_bundle), Prefer="return=OperationOutcome")

    assert response.status_code == 201
    body = response.get_json()
    patient_id = response.headers["Location"].split("/Patient/")[1].split("/")[0]
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] == [{"severity": "information", "code": "informational",
                              "diagnostics": f"Created Patient/{patient_id}"}]


def test_the_outcome_of_a_conditional_create_that_found_the_resource_says_nothing_was_created(
        gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    patient = a_patient(transaction_bundle)
    condition = "identifier=http://fhir.nl/fhir/NamingSystem/bsn|" + patient["identifier"][0]["value"]
    first = gp.post("/fhir/Patient", patient, **{"If-None-Exist": condition})
    again = gp.post("/fhir/Patient", patient, **{"If-None-Exist": condition, "Prefer": "return=OperationOutcome"})

    assert first.status_code in (200, 201) and again.status_code == 200
    assert again.get_json()["issue"][0]["diagnostics"].endswith("already exists; nothing was created")


def test_the_outcome_is_dutch_by_default(gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    gp.language = None
    response = gp.post("/fhir/Patient", a_patient(transaction_bundle), Prefer="return=OperationOutcome")

    assert response.get_json()["issue"][0]["diagnostics"].startswith("Patient/")
    assert response.get_json()["issue"][0]["diagnostics"].endswith(" aangemaakt")


def test_an_update_with_return_minimal_answers_200_with_the_new_version_and_no_body(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    created = gp.post("/fhir/ServiceRequest", new_request(consult_request))
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{created.get_json()['id']}").get_json()["entry"][0]["resource"]

    response = gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"},
                      **{"If-Match": f'W/"{task["meta"]["versionId"]}"', "Prefer": "return=minimal"})

    assert response.status_code == 200 and response.get_data() == b""
    assert response.headers["ETag"] == f'W/"{int(task["meta"]["versionId"]) + 1}"'


def test_return_representation_and_an_unknown_preference_give_the_resource(
        gp: GPSystem, transaction_bundle: dict[str, Any]) -> None:
    for prefer in ("return=representation", "respond-async", "return=minimal-ish"):
        response = gp.post("/fhir/Patient", a_patient(transaction_bundle), Prefer=prefer)
        assert response.get_json()["resourceType"] == "Patient", prefer
