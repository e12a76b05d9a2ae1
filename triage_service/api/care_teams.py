"""Reading an expertise team as a CareTeam (issue 23), read-only: the owner of a Task in the team's queue.

A team is directory data, not patient data, and any GP system may meet it as the owner of its Tasks: readable
with ``system/CareTeam.read``, or with ``system/Task.read`` since it is what a Task it may read points to. The
read is audited like every other (without a patient). The mapping is fhir/teams.py.
"""

from __future__ import annotations

from flask import Response

from triage_service.api.io import fhir_response
from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.errors import N_, Forbidden, NotFound
from triage_service.fhir.teams import care_team_to_fhir
from triage_service.models import AuditAction, ExpertiseTeam
from triage_service.request_context import clock
from triage_service.security.policy import current_access, request_actor

from triage_service.api.resources import bp  # isort: skip - the blueprint these routes hang on


@bp.get("/CareTeam/<rid>")
def read_care_team(rid: str) -> Response:
    access = current_access()
    if not (access.allows("CareTeam", "read") or access.allows("Task", "read")):
        raise Forbidden(N_("The token's scopes do not allow %(interaction)s on %(resource_type)s (needs e.g. "
                           "system/%(resource_type)s.%(word)s)"),
                        params={"interaction": "read", "resource_type": "CareTeam", "word": "read"})
    session = get_session()
    team = session.get(ExpertiseTeam, rid)
    if team is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not known to this client's organisation"),
                       params={"rtype": "CareTeam", "rid": rid})
    record(session, request_actor(), event="fhir.read", action=AuditAction.READ, resource_type="CareTeam",
           resource_id=rid, at=clock())
    return fhir_response(care_team_to_fhir(session, team), 200)  # not versioned: read only, no If-Match
