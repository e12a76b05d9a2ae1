"""A Binary asked for as FHIR JSON is the Binary resource (FHIR R4 binary.html#rest); otherwise its bytes."""

from __future__ import annotations

import base64

import pytest
from fhirpy import SyncFHIRClient

from tests.conftest import GPSystem
from tests.test_photos import tiny_pdf


@pytest.fixture
def pdf_id(gp: GPSystem) -> str:
    created = gp.http.post("/fhir/Binary", data=tiny_pdf(), headers={**gp.headers(), "Content-Type": "application/pdf"})
    assert created.status_code == 201
    binary_id: str = created.get_json()["id"]
    return binary_id


def test_a_client_library_reading_a_binary_gets_the_resource_with_the_bytes_in_base64(
        live_server: str, gp: GPSystem, pdf_id: str) -> None:
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}")  # Accept: fhir+json

    binary = fhir.reference("Binary", pdf_id).to_resource()

    assert binary["resourceType"] == "Binary" and binary["contentType"] == "application/pdf"
    assert base64.b64decode(binary["data"]) == tiny_pdf()


@pytest.mark.parametrize("accept", [None, "*/*", "application/pdf", "application/pdf, application/fhir+json;q=0.5"])
def test_without_asking_for_fhir_json_by_name_the_bytes_come_back(gp: GPSystem, pdf_id: str,
                                                                   accept: str | None) -> None:
    response = gp.get(f"/fhir/Binary/{pdf_id}", **({"Accept": accept} if accept else {}))

    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data == tiny_pdf()


def test_format_json_also_asks_for_the_resource_and_format_xml_is_a_406(gp: GPSystem, pdf_id: str) -> None:
    assert gp.get(f"/fhir/Binary/{pdf_id}?_format=json").get_json()["resourceType"] == "Binary"
    assert gp.get(f"/fhir/Binary/{pdf_id}?_format=xml").status_code == 406
