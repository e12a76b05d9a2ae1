"""The patient of a consult, as the practice sent it: for the screens, the letter and the documents that name them.

Intake gives every consult a server-side Patient (consults/intake.py), whether the GP system posted one or
contained it in the request; older consults may only have the contained one. Read it here, once, rather
than each caller digging through ``contained``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from triage_service.fhir import dutch
from triage_service.models import Consult, StoredResource
from triage_service.records.supporting import identifier_values


def contained_patient(consult: Consult) -> dict[str, Any] | None:
    """The Patient contained in the request, when the request's subject points at one."""
    resource = consult.resource
    subject = str(resource.get("subject", {}).get("reference", ""))
    if not subject.startswith("#"):
        return None
    return next((c for c in resource.get("contained", []) if isinstance(c, dict) and c.get("id") == subject[1:]),
                None)


def consult_patient(session: Session, consult: Consult) -> dict[str, Any]:
    """The consult's Patient resource ({} if none is known)."""
    stored = session.get(StoredResource, consult.patient_resource_id) if consult.patient_resource_id else None
    if stored is not None and stored.organisation_id == consult.organisation_id:
        return stored.resource
    return contained_patient(consult) or {}


def patient_name(patient: dict[str, Any]) -> str:
    names = patient.get("name") or [{}]
    first = names[0] if isinstance(names[0], dict) else {}
    given = " ".join(first.get("given", []))
    return str(first.get("text") or " ".join(p for p in (given, first.get("family", "")) if p))


def patient_bsn(patient: dict[str, Any]) -> str:
    values = identifier_values(patient, dutch.BSN)
    return values[0] if values else ""
