"""The requesting GP may be named in PractitionerRole.practitioner by a logical reference or by a reference to a
Practitioner carrying the AGB code (contained or in the transaction): both are valid FHIR (issue 24)."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import GPSystem, new_request

GP = {"resourceType": "Practitioner", "id": "jansen", "name": [{"family": "Jansen", "prefix": ["dr."]}],
      "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers", "value": "123456789"},
                     {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "01012345"}]}


def with_contained_practitioner(consult_request: dict[str, Any], practitioner: dict[str, Any]) -> dict[str, Any]:
    body = new_request(consult_request)
    role = next(c for c in body["contained"] if c["resourceType"] == "PractitionerRole")
    role["practitioner"] = {"reference": "#jansen", "display": "dr. A. Jansen"}
    body["contained"].append(practitioner)
    return body


def test_a_consult_whose_gp_is_a_contained_practitioner_with_an_agb_code_is_accepted(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    response = gp.post("/fhir/ServiceRequest", with_contained_practitioner(consult_request, GP))

    assert response.status_code == 201, response.get_json()
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{response.get_json()['id']}").get_json()["entry"][0]["resource"]
    assert task["requester"]["identifier"]["value"] == "01012345"


def test_a_contained_practitioner_without_an_agb_code_is_refused_naming_the_requester(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    without_agb = copy.deepcopy(GP)
    without_agb["identifier"] = without_agb["identifier"][:1]

    response = gp.post("/fhir/ServiceRequest", with_contained_practitioner(consult_request, without_agb))

    assert response.status_code == 422
    assert any(i.get("expression") == ["ServiceRequest.requester"] for i in response.get_json()["issue"])


def test_a_reference_to_a_missing_practitioner_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = with_contained_practitioner(consult_request, GP)
    body["contained"].pop()

    assert gp.post("/fhir/ServiceRequest", body).status_code in (400, 422)


def test_a_transaction_whose_gp_is_a_practitioner_entry_is_accepted(gp: GPSystem,
                                                                    transaction_bundle: dict[str, Any]) -> None:
    bundle = copy.deepcopy(transaction_bundle)
    role = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "PractitionerRole")
    role["practitioner"] = {"reference": "#jansen"}
    role["contained"] = [GP]

    response = gp.post("/fhir", bundle)

    assert response.status_code == 200, response.get_json()
