"""The request bodies the benchmarks send: the demo's text consult, phone-like JPEG photos, a photo transaction as
a GP system sends it, and a large PDF."""

from __future__ import annotations

import base64
import io
import json
import os
import random
import uuid
from typing import Any

from harness import ROOT
from load import UNIQUE

EXAMPLE = ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"


def consult_body() -> dict[str, Any]:
    """The demo example (as tests/conftest.py's consult_request fixture), its HIS identifier made unique
    per request by load.py."""
    body: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    body["identifier"][0]["value"] = "HIS-" + UNIQUE.decode()
    return body


def photo_jpeg(target_bytes: int, size: tuple[int, int], seed: int) -> bytes:
    """A JPEG with noise texture, at the quality that brings it near ``target_bytes`` (phone photos are
    mostly texture; a flat image would compress to nothing)."""
    from PIL import Image

    rng = random.Random(seed)
    image = Image.effect_noise(size, 40).convert("RGB")
    tint = Image.new("RGB", size, (rng.randint(120, 200), 110, 90))
    image = Image.blend(image, tint, 0.5)
    best = b""
    for quality in (98, 96, 94, 92, 90, 88, 85, 80, 75, 70, 60, 50):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) <= target_bytes * 1.05:
            break
    return best


def photo_transaction(photos: list[bytes]) -> dict[str, Any]:
    """A transaction Bundle as tests/test_photos.py builds it: Binary entries with base64 data, a
    DocumentReference for each, and the consult referring to them, all by urn:uuid."""
    body = consult_body()
    body.pop("id")
    body["code"]["coding"][0]["code"] = "e-consult"
    body["supportingInfo"] = []
    entries: list[dict[str, Any]] = []
    for photo in photos:
        binary, document = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
        entries.append({"fullUrl": binary, "request": {"method": "POST", "url": "Binary"},
                        "resource": {"resourceType": "Binary", "contentType": "image/jpeg",
                                     "data": base64.b64encode(photo).decode()}})
        entries.append({"fullUrl": document, "request": {"method": "POST", "url": "DocumentReference"},
                        "resource": {"resourceType": "DocumentReference", "status": "current",
                                     "content": [{"attachment": {"contentType": "image/jpeg", "url": binary}}]}})
        body["supportingInfo"].append({"reference": document})
    entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "request": {"method": "POST", "url": "ServiceRequest"},
                    "resource": body})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def big_pdf(size: int) -> bytes:
    """A valid-looking PDF of ``size`` bytes: the service checks the signature and the end-of-file marker."""
    head = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n%"
    tail = b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)).replace(b"\n", b" ").replace(b"\r", b" ") + tail

