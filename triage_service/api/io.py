"""Reading FHIR request bodies and writing FHIR responses."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from werkzeug.http import http_date

from triage_service.api.media_types import speaks_version
from triage_service.api.preferences import preferred_body
from triage_service.errors import N_, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from triage_service.fhir.json_body import parse_json_body
from triage_service.fhir.mapping import etag
from triage_service.fhir.parsing import parse_resource
from triage_service.outcome import Issue

FHIR_JSON = "application/fhir+json"
_ACCEPTED_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def read_resource(expected_type: str | None = None) -> dict[str, Any]:
    """The request body as a structurally valid FHIR resource (plain JSON), or a 4xx domain error."""
    data = read_json()
    result = parse_resource(data, expected_type)
    errors = [i for i in result.issues if i.is_error]
    if errors:
        raise InvalidInput(N_("The body is not a valid FHIR R4 resource"), issues=errors)
    resource: dict[str, Any] = data
    return resource


#: Bodies are read in steps of this size: one large read(n) makes the WSGI server and werkzeug each
#: hold a copy of the body (measured: a 21 MB upload grew a worker by 65 MB, by 44 MB when read in steps).
_READ_STEP = 1 << 20


def read_body(limit: int, too_large: str) -> bytes:
    """The raw request body, or 413 when it is longer than ``limit`` bytes (``too_large`` says so, with
    ``%(limit)s`` for the limit).

    We read one byte past the limit ourselves: a chunked body has no Content-Length to check first,
    and get_data() would silently truncate it at the limit instead of refusing it.
    """
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(too_large, params={"limit": limit})
    stream, chunks, received = request.stream, [], 0
    while received <= limit:
        chunk = stream.read(min(_READ_STEP, limit + 1 - received))
        if not chunk:
            break
        chunks.append(chunk)
        received += len(chunk)
    if received > limit:
        raise PayloadTooLarge(too_large, params={"limit": limit})
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_resource_for_update(expected_type: str, rid: str) -> dict[str, Any]:
    """The body of a PUT: a valid resource of that type whose id is the one in the URL."""
    resource = read_resource(expected_type)
    if resource.get("id") != rid:
        raise InvalidInput(N_("The %(type)s's id must equal the id in the URL"), expression=f"{expected_type}.id",
                           params={"type": expected_type})
    return resource


def read_json() -> Any:
    mimetype = request.mimetype
    if mimetype not in _ACCEPTED_TYPES:
        raise UnsupportedMediaType(N_("Send FHIR JSON with Content-Type %(expected)s (got '%(got)s')"),
                                   params={"expected": FHIR_JSON, "got": mimetype or "none"})
    version = request.mimetype_params.get("fhirversion")  # Werkzeug lowercases parameter names
    if not speaks_version(request.mimetype_params):
        raise UnsupportedMediaType(N_("This server speaks FHIR 4.0 (R4), not fhirVersion=%(version)s"),
                                   params={"version": version})
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(N_("FHIR JSON must be encoded as UTF-8"))
    limit = current_app.extensions["triage.settings"].max_request_bytes
    raw = read_body(limit, N_("The body is larger than the limit of %(limit)s bytes"))
    data, issues = parse_json_body(raw)
    if not issues and _SURROGATE_ESCAPE.search(raw) and _has_unpaired_surrogate(data):
        issues = [Issue("structure", N_("The body contains an unpaired UTF-16 surrogate escape (\\uD800-\\uDFFF): "
                                        "JSON strings must be valid Unicode (http://hl7.org/fhir/R4/json.html)"))]
    errors = [i for i in issues if i.is_error]
    if any(i.code == "too-costly" for i in errors):
        raise PayloadTooLarge(N_("The body is too large to process"), issues=errors)
    if errors:
        raise InvalidInput(N_("The body is not valid JSON"), issues=errors)
    return data


#: Only a \\u escape can put a lone surrogate into parsed JSON (UTF-8 bytes cannot encode one).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_unpaired_surrogate(value: Any) -> bool:
    """Whether a string (or key) anywhere holds half a surrogate pair: it cannot be stored or sent as UTF-8,
    and a 500 followed when an OperationOutcome quoted it (found by benchmarks/fuzz_api.py)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_unpaired_surrogate(k) or _has_unpaired_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unpaired_surrogate(v) for v in value)
    return False


def fhir_response(body: dict[str, Any], status: int = 200, version: int | None = None,
                  location: str | None = None) -> Response:
    sent = preferred_body(body, status)  # Prefer: return=... on a create or update (api/preferences.py)
    if sent is None:
        response = Response(b"", status=status)
    else:
        text = json.dumps(sent, ensure_ascii=False, separators=(",", ":"))
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from somewhere: escaped, the answer is still valid JSON
            data = json.dumps(sent, separators=(",", ":")).encode("ascii")
        response = Response(data, status=status, mimetype=FHIR_JSON, content_type=f"{FHIR_JSON}; charset=utf-8")
    if version is not None:
        response.headers["ETag"] = etag(version)
    last_updated = body.get("meta", {}).get("lastUpdated")
    if last_updated:
        # HTTP wants an RFC 9110 date here, not FHIR's instant format.
        response.headers["Last-Modified"] = http_date(datetime.fromisoformat(last_updated.replace("Z", "+00:00")))
    if location:
        response.headers["Location"] = location
    # Diagnostics and notes are in the request's language (outcome.py): a cache must not mix them up.
    response.vary.add("Accept-Language")
    return response
