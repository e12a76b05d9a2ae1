"""A DocumentReference's attachment size and hash describe the file a GP system downloads from its url (the
photo cleaned of its metadata), so a HIS that checks integrity accepts it (issue 24)."""

from __future__ import annotations

import base64
import hashlib

from fhirpy import SyncFHIRClient

from tests.conftest import GPSystem
from tests.test_photos import jpeg_with_gps, photo_document, tiny_pdf, upload


def sha1_of(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - FHIR's Attachment.hash


def test_a_photo_described_as_uploaded_is_served_with_the_size_and_hash_of_the_cleaned_file(gp: GPSystem) -> None:
    photo = jpeg_with_gps()  # carries GPS metadata, which the service strips
    created = gp.post("/fhir/DocumentReference", photo_document(data=photo, size=len(photo), hash=sha1_of(photo)))
    attachment = created.get_json()["content"][0]["attachment"]

    served = gp.get(f"/fhir/{attachment['url']}").data

    assert served != photo
    assert (attachment["size"], attachment["hash"]) == (len(served), sha1_of(served))


def test_a_client_library_checks_the_downloaded_photo_against_its_document_reference(
        live_server: str, gp: GPSystem) -> None:
    binary_id = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document_id = gp.post("/fhir/DocumentReference", photo_document(binary_id)).get_json()["id"]
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}")

    attachment = fhir.reference("DocumentReference", document_id).to_resource()["content"][0]["attachment"]
    data = base64.b64decode(fhir.reference("Binary", binary_id).to_resource()["data"])

    assert attachment["size"] == len(data) and attachment["hash"] == sha1_of(data)


def test_a_pdf_is_served_as_it_came_so_both_descriptions_agree(gp: GPSystem) -> None:
    pdf = tiny_pdf()
    binary_id = upload(gp, pdf, "application/pdf").get_json()["id"]
    document = photo_document(binary_id, contentType="application/pdf", size=len(pdf), hash=sha1_of(pdf))

    created = gp.post("/fhir/DocumentReference", document)

    attachment = created.get_json()["content"][0]["attachment"]
    assert (attachment["size"], attachment["hash"]) == (len(pdf), sha1_of(pdf))
