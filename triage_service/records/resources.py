"""Creating supporting resources (Patient, Organization, PractitionerRole, Coverage)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import N_, UnprocessableInput
from triage_service.fhir.meta import stamp
from triage_service.models import AuditAction, StoredResource
from triage_service.models.base import new_id
from triage_service.records.patient_links import patient_of
from triage_service.records.supporting import check_supporting, find_by_identifier, primary_identifier_token


@dataclass(frozen=True)
class Created:
    stored: StoredResource
    created: bool


def create_resource(session: Session, actor: Actor, organisation_id: str, resource: dict[str, Any],
                    now: datetime, if_none_exist: tuple[str, str] | None = None, rid: str | None = None) -> Created:
    """Create (or, with ``if_none_exist``, match) a supporting resource; ``rid`` pre-assigns the id
    (transactions need ids before creating, to rewrite urn:uuid references)."""
    rtype = str(resource["resourceType"])
    if if_none_exist is not None:
        existing = find_by_identifier(session, organisation_id, rtype, *if_none_exist)
        if existing is not None:
            # The existing resource is sent back: a read of it, as for a matched consult (intake.py).
            record(session, actor, event="fhir.create.matched", action=AuditAction.READ, resource_type=rtype,
                   resource_id=existing.id, patient_ref=existing.patient_ref, at=now)
            return Created(existing, created=False)
    issues = [i for i in check_supporting(resource, rtype) if i.is_error]
    if issues:
        raise UnprocessableInput(N_("The %(rtype)s does not meet the service's rules"), issues=issues,
                                 params={"rtype": rtype})
    stored = StoredResource(id=rid or new_id(), resource_type=rtype, organisation_id=organisation_id,
                            identifier_token=primary_identifier_token(resource), version_id=1, resource={},
                            created_at=now, updated_at=now)
    # A Patient concerns itself, a Coverage its beneficiary: every audit entry about it names the patient.
    stored.patient_ref = stored.id if rtype == "Patient" else (
        patient_of(session, organisation_id, resource) if rtype == "Coverage" else None)
    session.add(stored)
    session.flush()
    stored.resource = stamp(resource, stored.id, 1, now)
    record(session, actor, event="fhir.create", action=AuditAction.CREATE, resource_type=rtype,
           resource_id=stored.id, patient_ref=stored.patient_ref, at=now)
    return Created(stored, created=True)
