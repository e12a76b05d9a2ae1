"""Photos and documents over FHIR: Binary (raw bytes, streamed) and DocumentReference.

``POST /fhir/Binary`` takes the raw bytes with their own Content-Type (no base64
overhead) or a FHIR Binary resource; ``GET /fhir/Binary/{id}`` streams the
decrypted bytes back, never cached, with a generated file name, or, when the client
asks for FHIR JSON by name (Accept or _format), the Binary resource with the bytes in base64. Inline base64 in a
DocumentReference is accepted too and ends up in the same encrypted store.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from flask import Response, request, stream_with_context

from triage_service.api.io import fhir_response, read_body, read_resource
from triage_service.api.media_types import JSON_TYPES, wants_fhir_resource
from triage_service.api.resources import bp, caller_organisation
from triage_service.attachments.documents import (
    binary_content,
    create_document_reference,
    get_attachment,
    read_attachment,
    store_attachment,
)
from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.errors import N_, NotAcceptable
from triage_service.models import AuditAction
from triage_service.request_context import base_url, clock, settings
from triage_service.security.policy import request_actor, require_scope

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_FHIR_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


@bp.post("/Binary")
def create_binary() -> Response:
    access = require_scope("Binary", "create")
    conf = settings()
    if request.mimetype in _FHIR_TYPES:
        data, declared = binary_content(read_resource("Binary"))
    else:
        data = read_body(conf.max_attachment_bytes, N_("The file is larger than the limit of %(limit)s bytes"))
        declared = request.mimetype
    attachment = store_attachment(get_session(), request_actor(), conf, access.organisation_id, data, declared,
                                  clock())
    body = {"resourceType": "Binary", "id": attachment.id, "meta": {"versionId": "1"},
            "contentType": attachment.content_type}
    return fhir_response(body, 201, 1, f"{base_url()}/Binary/{attachment.id}/_history/1")


@bp.get("/Binary/<rid>")
def read_binary(rid: str) -> Response:
    access = require_scope("Binary", "read")
    session = get_session()
    attachment = get_attachment(session, access.organisation_id, rid)
    record(session, request_actor(), event="fhir.read", action=AuditAction.READ, resource_type="Binary",
           resource_id=rid, patient_ref=attachment.patient_ref, at=clock())
    session.commit()  # the audit row is kept even if the client stops reading half-way
    chunks = read_attachment(session, settings(), attachment)
    fmt = request.args.get("_format")
    if fmt is not None and fmt.split(";")[0].strip() not in (*JSON_TYPES, "json"):
        raise NotAcceptable(N_("This server answers FHIR JSON only: use _format=json or leave it out"))
    if fmt is not None or wants_fhir_resource(request.accept_mimetypes, attachment.content_type):
        # Asked for as FHIR: the Binary resource with the bytes in base64 (all segments authenticated first).
        body = {"resourceType": "Binary", "id": attachment.id, "meta": {"versionId": "1"},
                "contentType": attachment.content_type, "data": base64.b64encode(b"".join(chunks)).decode("ascii")}
        response = fhir_response(body, 200, 1)
        response.headers["Cache-Control"] = "no-store"
        return response
    first = next(chunks, b"")  # authenticate the first segment before the status line goes out

    def stream() -> Iterator[bytes]:
        yield first
        yield from chunks

    response = Response(stream_with_context(stream()), mimetype=attachment.content_type)
    response.headers["Cache-Control"] = "no-store"
    # A generated name: nothing the GP system sent ends up in a header.
    response.headers["Content-Disposition"] = (f'attachment; filename="consult-{rid[:8]}.'
                                               f'{_EXTENSIONS[attachment.content_type]}"')
    response.headers["Content-Length"] = str(attachment.blob.size)
    return response


@bp.post("/DocumentReference")
def create_document() -> Response:
    require_scope("DocumentReference", "create")
    resource = read_resource("DocumentReference")
    stored = create_document_reference(get_session(), request_actor(), settings(), caller_organisation().id, resource,
                                       clock())
    return fhir_response(stored.resource, 201, 1, f"{base_url()}/DocumentReference/{stored.id}/_history/1")
