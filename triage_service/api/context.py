"""Reading the patient's context a GP system sent with a consult (issue 23, point 5), read-only.

A MedicationStatement, AllergyIntolerance, Observation or medication-list DocumentReference that came as an
entry of the consult's transaction is a resource of its own, at the id the transaction response gave it and
where ``ServiceRequest.supportingInfo`` points; one that came contained is read with its ServiceRequest. Only
the requesting practice's GP systems read them (another practice's id is "not found"), and every read is
audited under the consult's patient.
"""

from __future__ import annotations

from flask import Response

from triage_service.api.context_reads import context_response
from triage_service.security.policy import require_scope

from triage_service.api.resources import bp  # isort: skip - the blueprint these routes hang on


@bp.get("/<any(MedicationStatement, AllergyIntolerance, Observation):rtype>/<rid>")
def read_context(rtype: str, rid: str) -> Response:
    access = require_scope(rtype, "read")
    return context_response(rtype, rid, access.organisation_id)
