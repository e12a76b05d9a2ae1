"""A back-referral as FHIR R4: the ServiceRequest from the specialist to the practice, the practice's Task, and
the question and answer as Communications (consults/back_referrals.py holds the rules).

What a GP system (HIS) reads best decided the shape:
- ``category`` = triage-back-referral#back-referral, so the HIS finds them by category beside its consults;
- ``subject`` = a contained Patient with the BSN, name and birth date: the HIS matches its own patient by BSN
  (a patient treated in the hospital may never have been sent by the practice, so there is no Patient of ours);
- ``requester`` = a contained PractitionerRole (the specialist's AGB, specialism and organisation);
  ``performer`` = the practice's Organization, by AGB (the HIS knows its practice by AGB, not by our id);
- ``reasonCode`` = the diagnosis as an ICPC-1-NL coding with the specialist's text: the HIS files it in its
  episode list as it files an ICPC code from a letter;
- the structured parts (the GP's plan, the care programme, when to refer again, what the specialist stays
  available for and until when) as a contained QuestionnaireResponse to Questionnaire triage-back-referral,
  named in ``supportingInfo``; the same texts as ``note`` Annotations, each starting with its Dutch label, for
  a HIS that shows notes only;
- ``basedOn`` = the consult's ServiceRequest when the patient is handed back from a consult.

Our logical ids of these resources start with ``terugverwijzing-``: the API routes them by that prefix
(api/back_referrals.py), beside the consults' ServiceRequests and Tasks at the same paths.
"""

from __future__ import annotations

from typing import Any

from triage_service.fhir.dutch import AGB, BSN, ICPC_1_NL, VEKTIS_SPECIALISM
from triage_service.fhir.mapping import instant
from triage_service.fhir.profiles import CANONICAL_BASE
from triage_service.models import BackReferral, BackReferralMessage, BackReferralStatus

PREFIX = "terugverwijzing-"
CS_BACK_REFERRAL = f"{CANONICAL_BASE}/CodeSystem/triage-back-referral"
CS_CARE_PROGRAMME = f"{CANONICAL_BASE}/CodeSystem/triage-care-programme"
QUESTIONNAIRE = f"{CANONICAL_BASE}/Questionnaire/triage-back-referral"
CATEGORY = {"coding": [{"system": CS_BACK_REFERRAL, "code": "back-referral",
                        "display": "Back-referral to the GP"}], "text": "Terugverwijzing naar de huisarts"}

#: The Task (status, business status) of each state (CodeSystem triage-back-referral).
TASK_STATE: dict[BackReferralStatus, tuple[str, str, str]] = {
    BackReferralStatus.PENDING: ("requested", "awaiting-practice", "Awaiting the practice"),
    BackReferralStatus.ANSWERED: ("requested", "awaiting-practice", "Awaiting the practice"),
    BackReferralStatus.QUESTIONED: ("on-hold", "questioned", "Question to the specialist"),
    BackReferralStatus.ACCEPTED: ("completed", "taken-over", "Care taken over"),
}
#: The Dutch labels the notes start with (what a GP reads in a HIS that shows notes only).
LABELS = {"gp-plan": "Beleid huisarts", "care-programme": "Zorgprogramma",
          "rereferral-criteria": "Opnieuw verwijzen bij", "available-for": "Beschikbaar voor",
          "available-until": "Beschikbaar tot"}


def service_request_id(back: BackReferral) -> str:
    return PREFIX + back.id


def task_id(back: BackReferral) -> str:
    return PREFIX + back.task_id


def communication_id(message: BackReferralMessage) -> str:
    return PREFIX + message.id


def _answers(back: BackReferral, programmes: dict[str, str]) -> list[tuple[str, dict[str, Any], str]]:
    """(linkId, answer, text for the note) of each part filled in."""
    parts: list[tuple[str, dict[str, Any], str]] = [("gp-plan", {"valueString": back.gp_plan}, back.gp_plan)]
    if back.care_programme:
        display = programmes.get(back.care_programme, back.care_programme)
        parts.append(("care-programme", {"valueCoding": {"system": CS_CARE_PROGRAMME, "code": back.care_programme,
                                                         "display": display}}, display))
    parts.append(("rereferral-criteria", {"valueString": back.rereferral_criteria}, back.rereferral_criteria))
    if back.available_for:
        parts.append(("available-for", {"valueString": back.available_for}, back.available_for))
    if back.available_until:
        parts.append(("available-until", {"valueDate": back.available_until.isoformat()},
                      back.available_until.strftime("%d-%m-%Y")))
    return parts


def service_request_to_fhir(back: BackReferral, programmes: dict[str, str]) -> dict[str, Any]:
    parts = _answers(back, programmes)
    specialist = back.specialist
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole", "id": "specialist",
        "practitioner": {"identifier": {"system": AGB, "value": specialist.agb}, "display": specialist.name},
        "organization": {"identifier": {"system": AGB, "value": specialist.organisation.agb},
                         "display": specialist.organisation.name} if specialist.organisation.agb else
        {"display": specialist.organisation.name},
    }
    if back.specialism:
        role["specialty"] = [{"coding": [{"system": VEKTIS_SPECIALISM, "code": back.specialism}]}]
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": service_request_id(back),
        "meta": {"versionId": str(back.version_id), "lastUpdated": instant(back.updated_at)},
        "contained": [
            {"resourceType": "Patient", "id": "patient", "identifier": [{"system": BSN, "value": back.patient_bsn}],
             "name": [{"text": back.patient_name}], "birthDate": back.patient_birth_date.isoformat()},
            role,
            {"resourceType": "QuestionnaireResponse", "id": "handover", "questionnaire": QUESTIONNAIRE,
             "status": "completed", "subject": {"reference": "#patient"}, "authored": instant(back.sent_at),
             "author": {"reference": "#specialist"},
             "item": [{"linkId": link, "answer": [answer]} for link, answer, _ in parts]},
        ],
        "status": "completed" if back.status == BackReferralStatus.ACCEPTED else "active",
        "intent": "order",
        "category": [CATEGORY],
        "subject": {"reference": "#patient", "display": back.patient_name},
        "authoredOn": instant(back.sent_at),
        "requester": {"reference": "#specialist", "display": specialist.name},
        "performer": [{"type": "Organization", "identifier": {"system": AGB, "value": back.practice.agb},
                       "display": back.practice.name}],
        "reasonCode": [{"coding": [{"system": ICPC_1_NL, "code": back.diagnosis_icpc}], "text": back.diagnosis_text}],
        "supportingInfo": [{"reference": "#handover", "display": "Overdracht (terugverwijzing)"}],
        "note": [{"text": f"{LABELS[link]}: {text}"} for link, _, text in parts],
    }
    if back.consult_id:
        body["basedOn"] = [{"reference": f"ServiceRequest/{back.consult_id}"}]
    return body


def task_to_fhir(back: BackReferral) -> dict[str, Any]:
    status, business, display = TASK_STATE[back.status]
    focus = {"reference": f"ServiceRequest/{service_request_id(back)}"}
    body: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id(back),
        "meta": {"versionId": str(back.version_id), "lastUpdated": instant(back.updated_at)},
        "basedOn": [focus],
        "status": status,
        "businessStatus": {"coding": [{"system": CS_BACK_REFERRAL, "code": business, "display": display}]},
        "intent": "order",
        "code": CATEGORY,
        "focus": focus,
        "for": {"identifier": {"system": BSN, "value": back.patient_bsn}, "display": back.patient_name},
        "authoredOn": instant(back.sent_at),
        "lastModified": instant(back.updated_at),
        "requester": {"type": "PractitionerRole", "identifier": {"system": AGB, "value": back.specialist.agb},
                      "display": back.specialist.name},
        "owner": {"type": "Organization", "identifier": {"system": AGB, "value": back.practice.agb},
                  "display": back.practice.name},
    }
    if back.status == BackReferralStatus.ACCEPTED and back.accepted_at:
        body["executionPeriod"] = {"end": instant(back.accepted_at)}
    return body


def communication_to_fhir(back: BackReferral, message: BackReferralMessage) -> dict[str, Any]:
    """The practice's question (category request-for-information) or the specialist's answer
    (information-provided), in the same shape as a consult's thread message."""
    asked = message.sender_role == "gp"
    code = "request-for-information" if asked else "information-provided"
    body: dict[str, Any] = {
        "resourceType": "Communication",
        "id": communication_id(message),
        "meta": {"versionId": "1", "lastUpdated": instant(message.sent_at)},
        "basedOn": [{"reference": f"ServiceRequest/{service_request_id(back)}"}],
        "partOf": [{"reference": f"Task/{task_id(back)}"}],
        "status": "completed",
        "category": [{"coding": [{"system": f"{CANONICAL_BASE}/CodeSystem/triage-message-category", "code": code}]}],
        "sent": instant(message.sent_at),
        "sender": {"type": "Organization" if asked else "PractitionerRole", "display": message.sender_name,
                   "identifier": {"system": AGB, "value": back.practice.agb if asked else back.specialist.agb}},
        "payload": [{"contentString": message.text}],
    }
    if not asked:
        questions = [m for m in back.messages if m.sender_role == "gp" and m.sent_at <= message.sent_at]
        if questions:
            body["inResponseTo"] = [{"reference": f"Communication/{communication_id(questions[-1])}"}]
    return body
