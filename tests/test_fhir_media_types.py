"""Media types with parameters, as FHIR R4 lets a client write them: fhirVersion=4.0 and charset=utf-8 are
what we serve; another FHIR version is refused saying which one we speak."""

from __future__ import annotations

from typing import Any

import pytest
from fhirpy import SyncFHIRClient

from tests.conftest import GPSystem, new_request


@pytest.mark.parametrize("accept", ["application/fhir+json; fhirVersion=4.0", "application/fhir+json; charset=utf-8",
                                    "application/fhir+json;fhirVersion=4.0.1;q=0.9, text/html;q=0.1",
                                    "application/json; fhirVersion=4.0"])
def test_a_client_library_asking_for_fhir_json_with_parameters_gets_it(live_server: str, gp: GPSystem,
                                                                       accept: str) -> None:
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Accept": accept})

    tasks = fhir.resources("Task").limit(1).fetch()

    assert isinstance(tasks, list)


def test_a_client_asking_for_another_fhir_version_gets_a_406_naming_ours(gp: GPSystem) -> None:
    response = gp.get("/fhir/Task", Accept="application/fhir+json; fhirVersion=3.0")

    assert response.status_code == 406
    assert response.get_json()["issue"][0]["diagnostics"] == "This server speaks FHIR 4.0 (R4), not fhirVersion=3.0"


def test_the_406_for_another_version_is_dutch_by_default(gp: GPSystem) -> None:
    gp.language = None
    response = gp.get("/fhir/Task", Accept="application/fhir+json; fhirVersion=5.0")

    assert response.status_code == 406
    assert response.get_json()["issue"][0]["diagnostics"] == "Deze server spreekt FHIR 4.0 (R4), niet fhirVersion=5.0"


def test_a_consult_posted_with_the_fhir_version_in_its_content_type_is_accepted(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    response = gp.post("/fhir/ServiceRequest", new_request(consult_request),
                       **{"Content-Type": "application/fhir+json; fhirVersion=4.0; charset=utf-8"})

    assert response.status_code == 201, response.get_json()


def test_a_consult_posted_as_another_fhir_version_gets_a_415_and_nothing_is_stored(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = new_request(consult_request)
    response = gp.post("/fhir/ServiceRequest", body, **{"Content-Type": "application/fhir+json; fhirVersion=4.3"})

    assert response.status_code == 415
    assert response.get_json()["issue"][0]["diagnostics"] == "This server speaks FHIR 4.0 (R4), not fhirVersion=4.3"
    found = gp.get(f"/fhir/ServiceRequest?identifier={body['identifier'][0]['value']}").get_json()
    assert found["total"] == 0
