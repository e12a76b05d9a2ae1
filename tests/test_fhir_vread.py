"""vread: the Location a create or update answers can be read, and an older version says which is current."""

from __future__ import annotations

from typing import Any

import pytest
from fhirpy import SyncFHIRClient

from tests.conftest import GPSystem, new_request
from tests.test_photos import jpeg_with_gps  # a real JPEG, as the photo tests make it


def path_of(location: str) -> str:
    return location.removeprefix("http://testserver")


def test_the_location_of_a_created_consult_answers_with_that_version(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    created = gp.post("/fhir/ServiceRequest", new_request(consult_request))

    again = gp.get(path_of(created.headers["Location"]))

    assert again.status_code == 200
    assert again.get_json()["id"] == created.get_json()["id"]
    assert again.headers["ETag"] == created.headers["ETag"]


def test_an_older_version_is_a_404_naming_the_current_one(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    created = gp.post("/fhir/ServiceRequest", new_request(consult_request))
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{created.get_json()['id']}").get_json()["entry"][0]["resource"]
    updated = gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"},
                     **{"If-Match": f'W/"{task["meta"]["versionId"]}"'})
    old_version = task["meta"]["versionId"]

    now = gp.get(f"/fhir/Task/{task['id']}/_history/{updated.get_json()['meta']['versionId']}")
    before = gp.get(f"/fhir/Task/{task['id']}/_history/{old_version}")

    assert now.status_code == 200 and now.get_json()["status"] == "cancelled"
    assert before.status_code == 404
    assert before.get_json()["issue"][0]["diagnostics"] == (
        f"Version {old_version} of Task/{task['id']} is not kept; the current version is "
        f"{updated.get_json()['meta']['versionId']}")


def test_a_client_library_reads_a_version_with_vread(live_server: str, gp: GPSystem,
                                                      consult_request: dict[str, Any]) -> None:
    created = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}")

    version = fhir.reference("ServiceRequest", created["id"]).to_resource()["meta"]["versionId"]
    read = fhir.execute(f"ServiceRequest/{created['id']}/_history/{version}", method="get")

    assert read["id"] == created["id"]


def test_a_binary_has_version_1_only(gp: GPSystem) -> None:
    created = gp.http.post("/fhir/Binary", data=jpeg_with_gps(), headers={**gp.headers(), "Content-Type": "image/jpeg"})

    assert gp.get(path_of(created.headers["Location"]), Accept="image/jpeg").status_code == 200
    assert gp.get(path_of(created.headers["Location"]).replace("/_history/1", "/_history/2")).status_code == 404


def test_another_practice_cannot_vread_what_it_cannot_read(gp: GPSystem, other_gp: GPSystem,
                                                           consult_request: dict[str, Any]) -> None:
    created = gp.post("/fhir/ServiceRequest", new_request(consult_request))

    assert other_gp.get(path_of(created.headers["Location"])).status_code == 404


@pytest.mark.parametrize(("path", "status"), [("/fhir/Task/x/_history/abc", 400), ("/fhir/Task/x/_history/0", 400),
                                              ("/fhir/Nonsense/x/_history/1", 404),
                                              ("/fhir/StructureDefinition/triage-consult-request/_history/1", 404),
                                              ("/fhir/Observation/no-such-id/_history/1", 404)])
def test_a_vread_of_no_version_or_no_such_type_is_a_clear_4xx(gp: GPSystem, path: str, status: int) -> None:
    response = gp.get(path)
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"
