"""The GP's verdict on the advice as FHIR: the published Questionnaire ``triage-advice-verdict`` and the
QuestionnaireResponse a GP system answers it with (issue 22, the close-out survey Ontario's eConsult asks).

The link to the consult is ``basedOn`` ServiceRequest/{id}: FHIR's QuestionnaireResponse.basedOn names "the
request this is in fulfilment of", and the survey is asked because of the consult request; ``subject`` stays
the patient, as FHIR defines it, and is not needed (the consult knows its patient). What is stored is the three
answers (models/verdict.py), not the resource: :func:`verdict_to_fhir` builds it again for a read.

This module only reads the resource's shape into plain values and says where each problem is (FHIRPath
expressions); whether the answers are complete and may be given at all is decided once, below both doors, in
consults/verdicts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage_service.errors import N_
from triage_service.fhir.profiles import CANONICAL_BASE
from triage_service.models.verdict import WITHOUT_ADVICE
from triage_service.outcome import Issue

QUESTIONNAIRE_ID = "triage-advice-verdict"
QUESTIONNAIRE_URL = f"{CANONICAL_BASE}/Questionnaire/{QUESTIONNAIRE_ID}"
QUESTIONNAIRE_VERSION = "0.1.0"
CS_WITHOUT_ADVICE = f"{CANONICAL_BASE}/CodeSystem/triage-without-advice"
#: The items' linkIds, which are also the names of the portal form's fields and of the domain's field errors.
USEFUL, WITHOUT, STILL_NEEDED = "useful", "without-advice", "referral-still-needed"
LINK_IDS = (USEFUL, WITHOUT, STILL_NEEDED)
_ROOT = "QuestionnaireResponse"


@dataclass
class VerdictResponse:
    """What a QuestionnaireResponse says, read without judging it: the consult it is about, the answers found
    (by linkId, a bool or a code), where each item was, and the problems of its shape."""

    consult_id: str | None = None
    answers: dict[str, object] = field(default_factory=dict)
    item_paths: dict[str, str] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def expression(self, link_id: str) -> str:
        """Where the answer to ``link_id`` is, or the item list when the item is missing."""
        path = self.item_paths.get(link_id)
        return f"{path}.answer[0]" if path else f"{_ROOT}.item"


def read_verdict_response(resource: dict[str, Any]) -> VerdictResponse:
    """A structurally valid QuestionnaireResponse (fhir/parsing.py has run) read against our Questionnaire."""
    found = VerdictResponse()
    questionnaire = resource.get("questionnaire")
    if questionnaire not in (QUESTIONNAIRE_URL, f"{QUESTIONNAIRE_URL}|{QUESTIONNAIRE_VERSION}"):
        found.issues.append(Issue("value", N_("questionnaire must be %(url)s: this service asks only the GP's "
                                              "verdict on the advice"), f"{_ROOT}.questionnaire",
                                  params={"url": QUESTIONNAIRE_URL}))
    if resource.get("status") != "completed":
        found.issues.append(Issue("value", N_("status must be 'completed': the verdict is given once, with all "
                                              "three answers"), f"{_ROOT}.status"))
    found.consult_id = _consult_of(resource.get("basedOn", []), found.issues)
    for index, item in enumerate(resource.get("item", [])):
        _read_item(item, f"{_ROOT}.item[{index}]", found)
    return found


def _consult_of(based_on: list[dict[str, Any]], issues: list[Issue]) -> str | None:
    references = [r.get("reference", "") for r in based_on]
    consults = [r.removeprefix("ServiceRequest/") for r in references
                if r.startswith("ServiceRequest/") and "/" not in r.removeprefix("ServiceRequest/")]
    if len(based_on) != 1 or len(consults) != 1 or not consults[0]:
        issues.append(Issue("required", N_("basedOn must hold exactly one reference, ServiceRequest/{id}, to the "
                                           "consult the advice answered"), f"{_ROOT}.basedOn"))
        return None
    return str(consults[0])


def _read_item(item: dict[str, Any], path: str, found: VerdictResponse) -> None:
    link_id = item.get("linkId")
    if link_id not in LINK_IDS:
        found.issues.append(Issue("value", N_("Unknown linkId: the questionnaire's items are %(known)s"),
                                  f"{path}.linkId", params={"known": ", ".join(LINK_IDS)}))
        return
    if link_id in found.item_paths:
        found.issues.append(Issue("structure", N_("Each question is answered once: %(link_id)s appears twice"),
                                  f"{path}.linkId", params={"link_id": link_id}))
        return
    found.item_paths[link_id] = path
    answers = item.get("answer", [])
    if len(answers) > 1:
        found.issues.append(Issue("structure", N_("Give one answer to %(link_id)s, not several"), f"{path}.answer",
                                  params={"link_id": link_id}))
        return
    if not answers:
        return  # unanswered: the domain says it is required (consults/verdicts.py)
    answer = answers[0]
    if link_id == WITHOUT:
        coding = answer.get("valueCoding")
        if not isinstance(coding, dict) or coding.get("system") != CS_WITHOUT_ADVICE \
                or coding.get("code") not in WITHOUT_ADVICE:
            found.issues.append(Issue("code-invalid", N_("%(link_id)s is answered with valueCoding from %(system)s: "
                                                         "%(codes)s"), f"{path}.answer[0]",
                                      params={"link_id": link_id, "system": CS_WITHOUT_ADVICE,
                                              "codes": ", ".join(WITHOUT_ADVICE)}))
            return
        found.answers[link_id] = coding["code"]
        return
    value = answer.get("valueBoolean")
    if not isinstance(value, bool):
        found.issues.append(Issue("value", N_("%(link_id)s is answered with valueBoolean (true or false)"),
                                  f"{path}.answer[0]", params={"link_id": link_id}))
        return
    found.answers[link_id] = value


def verdict_to_fhir(verdict_id: str, consult_id: str, useful: bool, without_advice: str,
                    referral_still_needed: bool, answered_at: datetime) -> dict[str, Any]:
    """The stored verdict as the QuestionnaireResponse it was (or would have been) sent as."""
    return {
        "resourceType": _ROOT, "id": verdict_id,
        "meta": {"versionId": "1", "lastUpdated": answered_at.isoformat().replace("+00:00", "Z")},
        "questionnaire": QUESTIONNAIRE_URL, "status": "completed",
        "basedOn": [{"reference": f"ServiceRequest/{consult_id}"}],
        "authored": answered_at.isoformat().replace("+00:00", "Z"),
        "item": [
            {"linkId": USEFUL, "answer": [{"valueBoolean": useful}]},
            {"linkId": WITHOUT, "answer": [{"valueCoding": {"system": CS_WITHOUT_ADVICE, "code": without_advice}}]},
            {"linkId": STILL_NEEDED, "answer": [{"valueBoolean": referral_still_needed}]},
        ],
    }
