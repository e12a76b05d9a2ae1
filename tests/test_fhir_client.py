"""A real FHIR client library (fhirpy), as a GP system uses it, against the service on a loopback port."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome

from tests.conftest import GPSystem


@pytest.fixture
def fhir(live_server: str, gp: GPSystem) -> SyncFHIRClient:
    token = gp.token()  # obtained through /oauth/token with a signed client assertion
    return SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {token}",
                          extra_headers={"Content-Type": "application/fhir+json"})


def test_a_gp_system_submits_a_consult_and_follows_its_task(fhir: SyncFHIRClient,
                                                            consult_request: dict[str, Any]) -> None:
    consult_request.pop("id")  # a new request has no server id yet, so fhirpy POSTs it
    created = fhir.resource("ServiceRequest", **consult_request)
    created.save()

    assert created.id
    tasks = fhir.resources("Task").search(focus=f"ServiceRequest/{created.id}").fetch()
    assert len(tasks) == 1
    assert tasks[0]["status"] == "accepted"  # validated and routed at intake
    read_back = fhir.reference("ServiceRequest", created.id).to_resource()
    assert read_back["identifier"] == consult_request["identifier"]


def test_the_client_library_sees_an_operation_outcome_for_a_bad_request(fhir: SyncFHIRClient,
                                                                        consult_request: dict[str, Any]) -> None:
    consult_request.pop("id")
    consult_request["code"]["coding"][0]["code"] = "telepathy"
    with pytest.raises(OperationOutcome) as caught:
        fhir.resource("ServiceRequest", **consult_request).save()
    assert "e-consult" in str(caught.value)


def test_the_token_endpoint_works_over_real_http(live_server: str, gp: GPSystem) -> None:
    response = requests.post(f"{live_server}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": gp.assertion(), "scope": "system/Task.read"})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
