"""``POST /fhir/ServiceRequest/{id}/$patient-photo-link``: the GP system asks for a link for the patient's photos.

The same link as the portal's (consults/patient_photos.py), for a consult of the caller's practice that is still
open; the answer is a Parameters resource with the link and when it expires
(fhir_profiles/OperationDefinition-patient-photo-link.json). The link is in this answer only: the service
keeps its hash, and the GP system passes it to the patient by its own means.
"""

from __future__ import annotations

from flask import Response, url_for

from triage_service.api.io import fhir_response
from triage_service.api.resources import bp, owned
from triage_service.consults.patient_photos import link_for_consult
from triage_service.database import get_session
from triage_service.fhir.mapping import instant
from triage_service.models import Consult
from triage_service.request_context import base_url, clock
from triage_service.security.policy import request_actor, require_scope


@bp.post("/ServiceRequest/<rid>/$patient-photo-link")
def patient_photo_link(rid: str) -> Response:
    access = require_scope("ServiceRequest", "update")  # it changes what may be added to the consult
    consult = owned(Consult, rid, access.organisation_id)
    link, token = link_for_consult(get_session(), request_actor(), None, consult, clock())
    # The patient's page is on the service's public address, like the FHIR base the client uses.
    url = base_url().removesuffix("/fhir") + url_for("patient.upload_page", token=token)
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUrl": url}, {"name": "expires", "valueInstant": instant(link.expires_at)}]}
    response = fhir_response(body, 200)
    response.headers["Cache-Control"] = "no-store"
    return response
