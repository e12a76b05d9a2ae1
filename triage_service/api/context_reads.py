"""A context resource of a consult as the FHIR API serves it (api/context.py routes here, and so does the
DocumentReference read for a medication list sent as an entry of the consult's transaction)."""

from __future__ import annotations

from flask import Response

from triage_service.api.io import fhir_response
from triage_service.audit.trail import record
from triage_service.consults.patient_context import find_context_resource
from triage_service.database import get_session
from triage_service.errors import N_, NotFound
from triage_service.models import AuditAction, Consult
from triage_service.request_context import clock
from triage_service.security.policy import request_actor


def context_response(rtype: str, rid: str, organisation_id: str) -> Response:
    """The context resource, audited; 404 when the caller's organisation has none with this id."""
    session = get_session()
    item = find_context_resource(session, organisation_id, rtype, rid)
    if item is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not known to this client's organisation"),
                       params={"rtype": rtype, "rid": rid})
    consult = session.get(Consult, item.consult_id)
    record(session, request_actor(), event="fhir.read", action=AuditAction.READ, resource_type=rtype, resource_id=rid,
           patient_ref=consult.patient_resource_id if consult else None, at=clock())
    return fhir_response(item.resource, 200, 1)
