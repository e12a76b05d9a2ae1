"""Photos and documents: checked for what they really are, stripped of location, encrypted at rest,
and shown only to the practice that sent them."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from tests.conftest import GPSystem, new_request
from triage_service.settings import Settings

GPS_TAG, ORIENTATION_TAG, MAKE_TAG = 0x8825, 0x0112, 0x010F


def jpeg_with_gps(width: int = 400, height: int = 300) -> bytes:
    """A real JPEG carrying GPS coordinates, a camera make and 'rotate 90' orientation, as phones write them."""
    image = Image.new("RGB", (width, height), (180, 120, 90))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6
    exif[MAKE_TAG] = "PhoneMaker"
    exif[GPS_TAG] = {1: "N", 2: (52.0, 22.0, 3.5), 3: "E", 4: (4.0, 54.0, 1.2)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def upload(gp: GPSystem, data: bytes, content_type: str) -> Any:
    return gp.http.post("/fhir/Binary", data=data, headers={**gp.headers(), "Content-Type": content_type})


def test_a_photo_comes_back_upright_without_gps_or_camera_data(gp: GPSystem) -> None:
    created = upload(gp, jpeg_with_gps(), "image/jpeg")
    assert created.status_code == 201, created.get_json()

    download = gp.get(f"/fhir/Binary/{created.get_json()['id']}")

    assert download.status_code == 200
    assert download.mimetype == "image/jpeg"
    photo = Image.open(io.BytesIO(download.data))
    assert photo.size == (300, 400)  # the EXIF orientation was applied
    assert dict(photo.getexif()) == {}  # no GPS, no camera make, no orientation left to misapply
    assert download.headers["Cache-Control"] == "no-store"
    assert download.headers["Content-Disposition"].startswith('attachment; filename="consult-')


def test_a_pdf_renamed_to_jpeg_is_refused(gp: GPSystem) -> None:
    response = upload(gp, tiny_pdf(), "image/jpeg")
    assert response.status_code == 415
    assert "declared as image/jpeg but its bytes are application/pdf" in response.get_json()["issue"][0][
        "diagnostics"]


def test_a_real_pdf_is_accepted_as_a_document(gp: GPSystem) -> None:
    created = upload(gp, tiny_pdf(), "application/pdf")
    assert created.status_code == 201
    assert gp.get(f"/fhir/Binary/{created.get_json()['id']}").data == tiny_pdf()


def test_a_file_one_byte_over_the_limit_is_refused(gp: GPSystem, settings: Settings) -> None:
    data = jpeg_with_gps() + b"\0" * (settings.max_attachment_bytes + 1 - len(jpeg_with_gps()))
    response = upload(gp, data, "image/jpeg")
    assert response.status_code == 413
    assert response.get_json()["issue"][0]["code"] == "too-costly"


def test_a_decompression_bomb_is_refused(gp: GPSystem) -> None:
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG")  # 900 megapixels in a few hundred kilobytes
    assert len(bomb.getvalue()) < 1_000_000
    response = upload(gp, bomb.getvalue(), "image/png")
    assert response.status_code == 413
    assert "pixels" in response.get_json()["issue"][0]["diagnostics"]


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"GIF89a....", "image/gif", 415),
    (b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg", 422),
    (b"", "image/jpeg", 422),
    (b"\0\0\0\x18ftypheic" + b"\0" * 100, "image/heic", 415),
])
def test_files_that_are_not_acceptable_photos_are_refused(gp: GPSystem, data: bytes, content_type: str,
                                                          status: int) -> None:
    response = upload(gp, data, content_type)
    assert response.status_code == status
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_no_photo_bytes_reach_the_storage_folder_in_plaintext(gp: GPSystem, settings: Settings) -> None:
    original = jpeg_with_gps()
    stored = upload(gp, original, "image/jpeg")
    sanitised = gp.get(f"/fhir/Binary/{stored.get_json()['id']}").data
    for path in settings.blob_path.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert original[:64] not in content and sanitised[:64] not in content and b"JFIF" not in content


def test_another_practice_cannot_fetch_a_photo(gp: GPSystem, other_gp: GPSystem) -> None:
    created = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()
    assert other_gp.get(f"/fhir/Binary/{created['id']}").status_code == 404


def test_a_tampered_photo_fails_loudly_instead_of_serving_garbage(
        app: Flask, gp: GPSystem, settings: Settings) -> None:
    created = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()
    for path in settings.blob_path.rglob("*"):
        if path.is_file():
            content = bytearray(path.read_bytes())
            content[20] ^= 0xFF
            path.write_bytes(bytes(content))
    response = gp.get(f"/fhir/Binary/{created['id']}")
    assert response.status_code == 500
    assert "integrity check" in response.get_json()["issue"][0]["diagnostics"]


def photo_document(binary_id: str | None = None, data: bytes | None = None, **attachment: Any) -> dict[str, Any]:
    att: dict[str, Any] = {"contentType": "image/jpeg", "title": "overzichtsfoto", **attachment}
    if binary_id:
        att["url"] = f"Binary/{binary_id}"
    if data is not None:
        att["data"] = base64.b64encode(data).decode()
    return {"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": att}]}


def test_a_document_reference_with_inline_data_stores_the_photo_as_an_encrypted_binary(gp: GPSystem) -> None:
    photo = jpeg_with_gps()
    sha1 = base64.b64encode(hashlib.sha1(photo).digest()).decode()  # noqa: S324 - FHIR's Attachment.hash
    response = gp.post("/fhir/DocumentReference", photo_document(data=photo, size=len(photo), hash=sha1))
    assert response.status_code == 201, response.get_json()
    attachment = response.get_json()["content"][0]["attachment"]
    assert "data" not in attachment and attachment["url"].startswith("Binary/")
    assert gp.get(f"/fhir/{attachment['url']}").status_code == 200


@pytest.mark.parametrize(("changes", "where"), [
    ({"size": 12}, "size"), ({"hash": base64.b64encode(b"x" * 20).decode()}, "hash"),
    ({"contentType": "image/png"}, "contentType"),
])
def test_an_attachment_that_misdescribes_its_file_is_refused(gp: GPSystem, changes: dict[str, Any],
                                                             where: str) -> None:
    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    response = gp.post("/fhir/DocumentReference", photo_document(binary, **changes))
    assert response.status_code == 422
    assert response.get_json()["issue"][0]["expression"] == [f"DocumentReference.content[0].attachment.{where}"]


def test_inline_base64_is_decoded_strictly(gp: GPSystem) -> None:
    document = photo_document(data=jpeg_with_gps())
    document["content"][0]["attachment"]["data"] = "QUJD%%%%"  # fhir.resources alone would read "ABC"
    response = gp.post("/fhir/DocumentReference", document)
    assert response.status_code == 400


def test_a_document_reference_cannot_point_at_another_practices_photo(gp: GPSystem, other_gp: GPSystem) -> None:
    theirs = upload(other_gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    assert gp.post("/fhir/DocumentReference", photo_document(theirs)).status_code == 404


def _photo_consult(gp: GPSystem, consult_request: dict[str, Any], photos: int) -> dict[str, Any]:
    body = new_request(consult_request)
    body["code"]["coding"][0]["code"] = "e-consult"
    body["supportingInfo"] = []
    for _ in range(photos):
        binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
        document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()
        body["supportingInfo"].append({"reference": f"DocumentReference/{document['id']}"})
    return body


def test_a_teledermatology_consult_with_two_photos_routes_to_the_photo_profile(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    from sqlalchemy import select

    from triage_service.database import session_scope
    from triage_service.models import PatientProfile, RoutingDecision

    response = gp.post("/fhir/ServiceRequest", _photo_consult(gp, consult_request, photos=2))
    assert response.status_code == 201, response.get_json()
    with session_scope(app) as session:
        decision = session.scalar(select(RoutingDecision))
        assert decision is not None
        profile = session.get(PatientProfile, decision.profile_id)
        assert profile is not None and profile.name == "Huidafwijkingen volwassenen (fotoconsult)"


def test_a_consult_with_more_photos_than_allowed_is_refused(gp: GPSystem, consult_request: dict,
                                                            settings: Settings) -> None:
    body = _photo_consult(gp, consult_request, photos=1)
    body["supportingInfo"] = body["supportingInfo"] * (settings.max_attachments_per_consult + 1)
    response = gp.post("/fhir/ServiceRequest", json.loads(json.dumps(body)))
    assert response.status_code == 422
    assert any(i["code"] == "too-costly" for i in response.get_json()["issue"])


def _photo_transaction(consult_request: dict[str, Any], photo: bytes, content_type: str = "image/jpeg") -> dict:
    """A Bundle with two photos as Binary entries, their DocumentReferences and the consult, all by urn:uuid."""
    import uuid

    body = new_request(consult_request)
    body.pop("id")
    body["code"]["coding"][0]["code"] = "e-consult"
    entries: list[dict[str, Any]] = []
    body["supportingInfo"] = []
    for _ in range(2):
        binary, document = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
        entries.append({"fullUrl": binary, "request": {"method": "POST", "url": "Binary"},
                        "resource": {"resourceType": "Binary", "contentType": content_type,
                                     "data": base64.b64encode(photo).decode()}})
        entries.append({"fullUrl": document, "request": {"method": "POST", "url": "DocumentReference"},
                        "resource": {"resourceType": "DocumentReference", "status": "current",
                                     "content": [{"attachment": {"contentType": content_type, "url": binary}}]}})
        body["supportingInfo"].append({"reference": document})
    entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "request": {"method": "POST", "url": "ServiceRequest"},
                    "resource": body})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_photos_in_a_transaction_are_stored_cleaned_and_counted_for_routing(
        gp: GPSystem, consult_request: dict) -> None:
    response = gp.post("/fhir", _photo_transaction(consult_request, jpeg_with_gps()))

    assert response.status_code == 200, response.get_json()
    locations = [e["response"]["location"] for e in response.get_json()["entry"]]
    binary = next(loc for loc in locations if loc.startswith("Binary/")).split("/_history")[0]
    assert dict(Image.open(io.BytesIO(gp.get(f"/fhir/{binary}").data)).getexif()) == {}
    document = next(loc for loc in locations if loc.startswith("DocumentReference/")).split("/_history")[0]
    assert gp.get(f"/fhir/{document}").get_json()["content"][0]["attachment"]["url"].startswith("Binary/")


def test_a_failing_transaction_leaves_no_photo_behind_on_disk(
        app: Flask, gp: GPSystem, consult_request: dict, settings: Settings) -> None:
    before = {p for p in settings.blob_path.rglob("*") if p.is_file()}
    bundle = _photo_transaction(consult_request, jpeg_with_gps())
    bundle["entry"][-1]["resource"]["note"] = [{"text": "  "}]  # the consult itself is refused (422)

    assert gp.post("/fhir", bundle).status_code == 422
    assert {p for p in settings.blob_path.rglob("*") if p.is_file()} == before


def test_a_pdf_posing_as_a_photo_in_a_transaction_refuses_the_whole_transaction(
        gp: GPSystem, consult_request: dict) -> None:
    response = gp.post("/fhir", _photo_transaction(consult_request, tiny_pdf()))
    assert response.status_code == 415


def test_after_rotate_keys_a_running_service_still_serves_every_photo(
        app: Flask, gp: GPSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from triage_service import cli

    ids = [upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"] for _ in range(2)]
    before = [gp.get(f"/fhir/Binary/{i}").data for i in ids]
    monkeypatch.setattr(cli, "_app", lambda: app)

    assert CliRunner().invoke(cli.main, ["rotate-keys"]).exit_code == 0

    # The running app picks up the new key ring (re-read when its file changes) and every photo opens.
    assert [gp.get(f"/fhir/Binary/{i}").data for i in ids] == before
    assert upload(gp, jpeg_with_gps(), "image/jpeg").status_code == 201


def upright_jpeg_with_metadata(progressive: bool = False) -> bytes:
    """An upright phone photo (no turn needed) with GPS, a comment, XMP and bytes hidden after its end."""
    image = Image.effect_noise((640, 480), 40).convert("RGB")
    exif = Image.Exif()
    exif[MAKE_TAG] = "PhoneMaker"
    exif[GPS_TAG] = {1: "N", 2: (52.0, 22.0, 3.5), 3: "E", 4: (4.0, 54.0, 1.2)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90, comment=b"Jansen, kamer 3", progressive=progressive,
               xmp=b"<x:xmpmeta>GPSLatitude 52,22</x:xmpmeta>")
    return out.getvalue() + b"hidden payload after the image"


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_an_upright_photo_keeps_its_pixels_exactly_and_loses_all_metadata(gp: GPSystem, progressive: bool) -> None:
    sent = upright_jpeg_with_metadata(progressive)
    created = upload(gp, sent, "image/jpeg")
    assert created.status_code == 201, created.get_json()

    stored = gp.get(f"/fhir/Binary/{created.get_json()['id']}").data

    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(sent)).tobytes()  # not re-encoded
    for trace in (b"Exif", b"PhoneMaker", b"Jansen", b"xmpmeta", b"hidden payload"):
        assert trace not in stored, trace
    assert stored.endswith(b"\xff\xd9") and len(stored) < len(sent)


def test_fill_bytes_and_foreign_app2_segments_are_dropped_without_touching_the_pixels(gp: GPSystem) -> None:
    sent = upright_jpeg_with_metadata()
    # Fill bytes (0xFF) before the first marker after SOI are legal; an APP2 segment that is not an ICC
    # profile (here a 3-byte payload shorter than the ICC identifier) is metadata of some other kind.
    odd = b"\xff\xd8" + b"\xff\xff\xff" + b"\xff\xe2\x00\x05ICC" + sent[2:]
    created = upload(gp, odd, "image/jpeg")
    assert created.status_code == 201, created.get_json()

    stored = gp.get(f"/fhir/Binary/{created.get_json()['id']}").data

    assert Image.open(io.BytesIO(stored)).tobytes() == Image.open(io.BytesIO(sent)).tobytes()
    assert b"\xff\xff" not in stored[:4] and b"\xff\xe2\x00\x05ICC" not in stored


def test_a_damaged_upright_photo_is_refused(gp: GPSystem) -> None:
    whole = upright_jpeg_with_metadata()
    end = whole.index(b"\xff\xd9hidden")
    for damaged in (whole[: end // 2], whole[:end] + b"\x00" * 10):  # cut off; no end-of-image marker
        response = upload(gp, damaged, "image/jpeg")
        assert response.status_code == 422, response.get_json()
        assert "damaged" in response.get_json()["issue"][0]["diagnostics"]
