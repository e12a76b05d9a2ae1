"""The referral a consult became (issue 6, "conversion to referral").

Derived from the stored consult rather than stored twice: the consult's outcome,
referral specialism and urgency, and the GP's conversion authorisation fully
determine it. It keeps the consult's business identifier, so the referral can be
traced back to the consult (DOMAIN.md, the flow, step 5). The GP stays
hoofdbehandelaar: without conversion authorisation it is a draft *proposal* that
the GP decides on; with it, an active order the GP system can hand to its
referral channel.
"""

from __future__ import annotations

from typing import Any

from triage_service.fhir.dutch import AGB, VEKTIS_SPECIALISM
from triage_service.fhir.mapping import instant
from triage_service.fhir.notes import referral_note, translated
from triage_service.fhir.profiles import CANONICAL_BASE
from triage_service.models import Consult

REFERRAL_SUFFIX = "-referral"
CS_REQUEST_CATEGORY = f"{CANONICAL_BASE}/CodeSystem/triage-request-category"
CS_FIRST_LINE = f"{CANONICAL_BASE}/CodeSystem/triage-first-line-specialism"


def referral_id(consult: Consult) -> str:
    return consult.id + REFERRAL_SUFFIX


def referral_to_fhir(consult: Consult) -> dict[str, Any] | None:
    """The referral ServiceRequest, or None when the consult did not become a referral."""
    if not consult.converted_to_referral or consult.completed_at is None:
        return None
    if consult.is_referral_for_triage:
        # An accepted referral needs no derived one: the GP's own ServiceRequest is the referral and stays
        # active (Task.output points at it). A copy would be a second order for the same referral.
        return None
    authorised = bool(consult.conversion_authorised)
    specialism = consult.referral_specialism or consult.specialism
    advice = next((m for m in reversed(consult.messages) if m.category.value == "advice"), None)
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": referral_id(consult),
        "meta": {"versionId": "1", "lastUpdated": instant(consult.completed_at)},
        "identifier": consult.resource.get("identifier", []),
        "basedOn": [{"reference": f"ServiceRequest/{consult.id}"}],
        "status": "active" if authorised else "draft",
        "intent": "order" if authorised else "proposal",
        "category": [{"coding": [{"system": CS_REQUEST_CATEGORY, "code": "referral"}]}],
        "priority": consult.referral_urgency or "routine",
        "performerType": {"coding": [{"system": VEKTIS_SPECIALISM if specialism[:1].isdigit() else CS_FIRST_LINE,
                                      "code": specialism}]},
        "subject": {"reference": f"Patient/{consult.patient_resource_id}"},
        "requester": {"type": "PractitionerRole", "identifier": {"system": AGB, "value": consult.requester_agb}},
        "reasonCode": consult.resource.get("reasonCode", []),
        "authoredOn": instant(consult.completed_at),
        "note": [translated(referral_note(authorised))],
    }
    if advice is not None:
        body["supportingInfo"] = [{"reference": f"Communication/{advice.id}"}]
    return body
