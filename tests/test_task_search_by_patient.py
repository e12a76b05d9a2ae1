"""A GP system finds the Tasks of one patient's consults with ``Task?patient=Patient/{id}`` (the national
benchmark's "Task search by patient", issue 25); a reference to anything but a Patient is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import GPSystem, new_request


def _other_patient(request: dict[str, Any]) -> dict[str, Any]:
    body = new_request(copy.deepcopy(request))
    patient = next(c for c in body["contained"] if c["resourceType"] == "Patient")
    patient["identifier"][0]["value"] = "999990020"  # another valid test BSN (eleven-test)
    return body


def _patient_of(gp: GPSystem, consult_id: str) -> str:
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    return str(task["for"]["reference"])


def test_the_tasks_of_one_patient_are_found_and_no_others(gp: GPSystem, consult_request: dict) -> None:
    first = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"]
    second = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"]
    other = gp.post("/fhir/ServiceRequest", _other_patient(consult_request)).get_json()["id"]
    patient = _patient_of(gp, first)
    assert _patient_of(gp, other) != patient

    for value in (patient, patient.removeprefix("Patient/")):
        bundle = gp.get(f"/fhir/Task?patient={value}").get_json()
        focus = {e["resource"]["focus"]["reference"] for e in bundle["entry"] if e["search"]["mode"] == "match"}
        assert focus == {f"ServiceRequest/{first}", f"ServiceRequest/{second}"}
        assert bundle["total"] == 2


def test_an_unknown_patient_has_no_tasks(gp: GPSystem) -> None:
    bundle = gp.get("/fhir/Task?patient=Patient/unknown-patient").get_json()

    assert bundle["total"] == 0


@pytest.mark.parametrize("value", ["Organization/abc", "Patient/", "Patient/a b", "x" * 65])
def test_a_patient_value_that_names_no_patient_is_refused_in_dutch(gp: GPSystem, value: str) -> None:
    response = gp.get(f"/fhir/Task?patient={value}", **{"Accept-Language": "nl"})

    assert response.status_code == 400
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["patient"]
    assert "Patient-referentie" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("resource", ["Task", "ServiceRequest"])
def test_both_searches_by_patient_refuse_a_reference_to_another_type(gp: GPSystem, resource: str) -> None:
    response = gp.get(f"/fhir/{resource}?patient=Organization/abc", **{"Accept-Language": "en"})

    assert response.status_code == 400
    assert response.get_json()["issue"][0]["diagnostics"] == "patient is searched by a Patient reference (Patient/<id>)"
