"""Who a declaration line is for, as the insurer needs it: BSN, insurance number (verzekerdennummer) and
birth date (issue 22).

Read only while an export is made, from the encrypted resources the GP system sent: the BSN from the stored
Patient, the insurance number from the Coverage the consult request names in ``insurance`` (nl-core's zib
Payer puts the InsurantNumber in ``Coverage.subscriberId``), contained in the request or created earlier
by the same practice. Nothing here is logged or kept: the caller writes it into the export and audits the
export (reports/exports.py ``audit_export``).

The GP system is not obliged to send the insurance number (the profile leaves ``subscriberId`` optional,
as a GP system does not always have it); the column is then empty and the insurer matches on BSN and birth
date, as Vektis allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.fhir.dutch import BSN
from triage_service.models import Consult, DeclarationLine, StoredResource


@dataclass(frozen=True)
class Insured:
    bsn: str
    insurance_number: str
    birth_date: date
    #: The stored Patient: every export names it in the audit trail.
    patient_ref: str | None


def _identifier(resource: dict[str, Any], system: str) -> str:
    return next((str(i.get("value")) for i in resource.get("identifier", [])
                 if isinstance(i, dict) and i.get("system") == system and i.get("value")), "")


def _coverage_reference(request: dict[str, Any]) -> str:
    insurance = request.get("insurance") or []
    first = insurance[0] if insurance and isinstance(insurance[0], dict) else {}
    reference = first.get("reference")
    return reference if isinstance(reference, str) else ""


def insured_of_batch(session: Session, batch_id: str) -> dict[str, Insured]:
    """Per consult of the batch's lines: the insured as the insurer identifies them."""
    rows = session.execute(
        select(Consult.id, Consult.organisation_id, Consult.resource, Consult.patient_birth_date,
               Consult.patient_resource_id, StoredResource.resource)
        .join(DeclarationLine, DeclarationLine.consult_id == Consult.id)
        .outerjoin(StoredResource, StoredResource.id == Consult.patient_resource_id)
        .where(DeclarationLine.batch_id == batch_id)).all()  # a credit and its new line: the same consult twice
    coverages = _stored_coverages(session, {(organisation, _coverage_reference(request))
                                            for _, organisation, request, *_rest in rows})
    found = {}
    for consult_id, organisation, request, birth_date, patient_ref, patient in rows:
        reference = _coverage_reference(request)
        if reference.startswith("#"):
            coverage = next((c for c in request.get("contained", [])
                             if isinstance(c, dict) and c.get("id") == reference[1:]), {})
        else:
            coverage = coverages.get((organisation, reference), {})
        subscriber = coverage.get("subscriberId") if coverage.get("resourceType") == "Coverage" else None
        found[consult_id] = Insured(_identifier(patient or {}, BSN), str(subscriber or ""), birth_date, patient_ref)
    return found


def _stored_coverages(session: Session, references: set[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Coverages created earlier ("Coverage/{id}"), each only within the practice that created it."""
    wanted = {(organisation, ref.split("/", 1)[1]) for organisation, ref in references
              if ref.startswith("Coverage/")}
    if not wanted:
        return {}
    rows = session.execute(select(StoredResource.organisation_id, StoredResource.id, StoredResource.resource).where(
        StoredResource.resource_type == "Coverage", StoredResource.id.in_(sorted({rid for _, rid in wanted}))))
    return {(organisation, f"Coverage/{rid}"): resource for organisation, rid, resource in rows
            if (organisation, rid) in wanted}
