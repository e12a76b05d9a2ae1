"""Consults prepared in the portal, and sending one through the same intake as a GP system's POST.

A draft holds what the practice typed; sending turns it into the transaction Bundle a HIS would post
(the ServiceRequest with its patient, practice, GP and coverage contained, and a DocumentReference per
photo already uploaded) and hands that to :func:`~triage_service.consults.transactions.process_transaction`.
Validation, routing, flags, norms and audit are therefore the API's own: there is no second intake.

Sending runs inside a savepoint: when the intake refuses, nothing of the consult is stored and the draft
stays as it was, with the refusal shown beside the fields it concerns (:func:`field_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.attachments.documents import store_attachment
from triage_service.attachments.quality import measure
from triage_service.audit.trail import Actor, record
from triage_service.consults import context_form
from triage_service.consults.coverage import Problem, coverage_problems
from triage_service.consults.practice import consult_of_practice, practice_actor, practice_of, require_gp
from triage_service.consults.transactions import process_transaction
from triage_service.consults.validation import (
    CS_CONSULT_FORM,
    CS_GP_INTENT,
    CS_REQUEST_CATEGORY,
    EXT_CONVERSION_AUTHORISED,
    EXT_GP_INTENT,
)
from triage_service.errors import N_, Conflict, DomainError, Forbidden, FormErrors, NotFound
from triage_service.fhir import dutch
from triage_service.fhir.context import ECG, LOINC
from triage_service.fhir.profiles import CANONICAL_BASE, PROFILE_CONSULT_PHOTO, PROFILE_CONSULT_REQUEST
from triage_service.models import (
    AuditAction,
    Consult,
    ConsultDraft,
    DraftStatus,
    Organisation,
    OrganisationKind,
    Practitioner,
)
from triage_service.outcome import Issue
from triage_service.records.patients import consult_patient, patient_bsn
from triage_service.security.web_auth import InboxUser
from triage_service.settings import Settings

#: The portal's own identifier system: the draft's id is the consult's business identifier, so a second
#: click on "send" finds the consult the first one made (If-None-Exist) instead of making another.
PORTAL_IDENTIFIER = f"{CANONICAL_BASE}/NamingSystem/portal-consult"
VEKTIS_SPECIALISM = "urn:oid:2.16.840.1.113883.2.4.6.7"
FIELDS = ("category", "specialism", "consult_form", "bsn", "family", "given", "birth_date", "sex", "postcode",
          "insurer", "subscriber", "icpc", "complaint", "intent", "conversion", "urgency", "question", "own_practice")
MAX_QUESTION = 10_000

#: Where an intake issue belongs on the form, by the end of its FHIRPath expression; first match wins.
_FIELD_OF = (("generalPractitioner", "own_practice"), ("identifier", "bsn"), ("birthDate", "birth_date"),
             ("gender", "sex"), ("postalCode", "postcode"),
             ("insurance", "insurer"), ("payor", "insurer"), ("reasonCode", "icpc"), ("note", "question"),
             ("priority", "urgency"), ("performerType", "specialism"), ("code", "consult_form"),
             ("extension", "intent"), ("supportingInfo", "files"), ("name", "family"))
#: What the portal says beside each field; the rule that fired is the intake's, these are its words.
FIELD_MESSAGES = {
    "bsn": N_("This BSN is not valid: 9 digits that pass the elfproef"),
    "birth_date": N_("Enter the full date of birth"),
    "sex": N_("Choose the patient's sex"),
    "postcode": N_("A Dutch postcode is four digits and two letters, e.g. 3011 AB"),
    "insurer": N_("Choose the patient's insurer"),
    "icpc": N_("Choose the ICPC code of the complaint"),
    "question": N_("Write your question to the specialist"),
    "urgency": N_("Choose how urgent it is"),
    "specialism": N_("Choose whom you ask"),
    "consult_form": N_("Choose a consult form your practice's agreements cover"),
    "intent": N_("Say whether you would refer without this consult"),
    "files": N_("The photos could not be added to the consult"),
    "family": N_("Enter the patient's family name"),
    "own_practice": N_("Enter the AGB code of the patient's own GP practice (8 digits)"),
    # The intake's issue type can say more than "fill this in": here, a well-formed code of the wrong organisation.
    "own_practice:value": N_("This AGB code is not a GP practice's (the post's own, or a hospital's): enter the "
                             "patient's own practice"),
}


class NotCovered(FormErrors):
    """No agreement admits the draft: the closest profile's reasons, per field (consults/coverage.py)."""

    def __init__(self, problems: list[Problem]):
        super().__init__({p.field: p.dimension for p in problems})
        self.problems = problems


@dataclass(frozen=True)
class Sent:
    consult: Consult
    #: "Likely referral" flags the intake returned, as for a GP system's create.
    warnings: tuple[Issue, ...]


def draft_of(session: Session, user: InboxUser, draft_id: str) -> ConsultDraft:
    draft = session.scalar(select(ConsultDraft).where(ConsultDraft.id == draft_id,
                                                      ConsultDraft.organisation_id == user.organisation_id))
    if draft is None or not user.in_practice:
        raise NotFound(N_("This draft does not exist or is not one of your practice's"))
    return draft


def open_drafts(session: Session, user: InboxUser) -> list[ConsultDraft]:
    return list(session.scalars(select(ConsultDraft).where(
        ConsultDraft.organisation_id == user.organisation_id, ConsultDraft.status != DraftStatus.SENT)
        .order_by(ConsultDraft.updated_at.desc())))


def save_draft(session: Session, user: InboxUser, draft: ConsultDraft | None, form: dict[str, str], now: datetime,
               source_ip: str | None, ready: bool = False) -> ConsultDraft:
    """Keep what was typed (checked only when sent): a POH may save a half-filled form and come back."""
    practice = practice_of(session, user)
    values = {name: str(form.get(name, "")).strip()[:MAX_QUESTION if name in ("question", "ctx_medication") else 200]
              for name in (*FIELDS, *context_form.FIELDS)}
    if draft is None:
        draft = ConsultDraft(organisation_id=practice.id, author_id=user.id, status=DraftStatus.OPEN, form=values,
                             files=[], created_at=now, updated_at=now)
        session.add(draft)
    elif draft.status is DraftStatus.SENT:
        raise Forbidden(N_("This consult has been sent already; it can no longer be changed"))
    else:
        draft.form = values
        draft.updated_at = now
    if ready:
        draft.status = DraftStatus.READY
    session.flush()
    record(session, practice_actor(user, source_ip), event="portal.draft.save", action=AuditAction.UPDATE,
           resource_type="ConsultDraft", resource_id=draft.id, at=now)
    return draft


def add_file(session: Session, actor: Actor, settings: Settings, draft: ConsultDraft, data: bytes,
             content_type: str, title: str, now: datetime, kind: str | None = None) -> dict[str, Any]:
    """Check, clean and encrypt an uploaded photo or PDF (the API's own path) and add it to the draft,
    with its measured sharpness and exposure so the GP is told before sending what to retake. ``kind`` "ecg"
    marks the PDF of an ECG (sent with type LOINC 11524-6, consults/context_form.py)."""
    if draft.status is DraftStatus.SENT:
        raise Forbidden(N_("This consult has been sent already; it can no longer be changed"))
    if kind == "ecg" and not data.startswith(b"%PDF-"):
        raise FormErrors({"ctx_ecg": N_("Add the ECG as a PDF, as the ECG device or the HIS saves it")})
    if len(draft.files) >= settings.max_attachments_per_consult:
        raise FormErrors({"files": N_("A consult carries at most this many photos and documents")})
    attachment = store_attachment(session, actor, settings, draft.organisation_id, data, content_type, now)
    quality = measure(data) if attachment.content_type.startswith("image/") else None
    entry = {"attachment_id": attachment.id, "title": title.strip()[:100] or ("ECG" if kind == "ecg" else ""),
             "content_type": attachment.content_type, "quality": list(quality.problems) if quality else [],
             **({"kind": kind} if kind else {})}
    draft.files = [*draft.files, entry]
    draft.updated_at = now
    return entry


def referral_draft(session: Session, user: InboxUser, consult: Consult, now: datetime,
                   source_ip: str | None) -> ConsultDraft:
    """The referral the advice indicates, prepared as a draft for the GP to check and send for triage: the
    patient, insurer and complaint of the consult, the specialism and urgency the specialist advised. The GP
    stays hoofdbehandelaar: nothing is sent until the GP sends it, and the advice is advice, never a wall."""
    require_gp(user)
    if consult.outcome != "referral-indicated":
        raise Conflict(N_("The specialist did not advise a referral for this consult"))
    resource = consult.resource
    # The patient as the practice sent them, whether contained or posted on its own by a GP system.
    patient = consult_patient(session, consult)
    name = (patient.get("name") or [{}])[0]
    question = "\n\n".join(n.get("text", "") for n in resource.get("note", []))
    advice = next((m.text for m in reversed(consult.messages) if m.category.value == "advice"), "")
    form = {"category": "referral", "specialism": consult.referral_specialism or consult.specialism,
            "consult_form": "intercollegial-consult", "bsn": patient_bsn(patient), "family": name.get("family", ""),
            "given": " ".join(name.get("given", [])), "birth_date": consult.patient_birth_date.isoformat(),
            "sex": consult.patient_gender, "postcode": consult.patient_postcode or "",
            "insurer": consult.insurer_uzovi, "icpc": consult.primary_icpc,
            "complaint": ", ".join(filter(None, (rc.get("text") for rc in resource.get("reasonCode", [])))),
            "urgency": consult.referral_urgency or "routine",
            # The consult's question and the specialist's advice go with the referral: the triaging
            # specialist sees what was asked and answered before.
            "question": f"{question}\n\n--- Advies in het meekijkconsult ---\n{advice}".strip()[:MAX_QUESTION]}
    return save_draft(session, user, None, form, now, source_ip)


def remove_file(draft: ConsultDraft, attachment_id: str, now: datetime) -> None:
    draft.files = [f for f in draft.files if f["attachment_id"] != attachment_id]
    draft.updated_at = now


def send(session: Session, user: InboxUser, settings: Settings, draft: ConsultDraft, now: datetime,
         source_ip: str | None) -> Sent:
    """Send the draft through the intake; :class:`FormErrors` (field -> message) when it is refused."""
    require_gp(user)
    if draft.status is DraftStatus.SENT and draft.consult_id:
        return Sent(consult_of_practice(session, user, draft.consult_id), ())
    missing = {name: FIELD_MESSAGES[name] for name in ("bsn", "family", "birth_date", "sex", "insurer", "icpc",
                                                       "question", "urgency", "specialism", "consult_form")
               if not draft.form.get(name)}
    if draft.form.get("category", "meekijkconsult") == "meekijkconsult" and not draft.form.get("intent"):
        missing["intent"] = FIELD_MESSAGES["intent"]
    practice = practice_of(session, user)
    own_practice = draft.form.get("own_practice", "")
    if practice.kind is OrganisationKind.OUT_OF_HOURS_POST and not dutch.is_valid_agb(own_practice):
        # The post's patient belongs to another practice: the advice must reach the patient's own GP.
        missing["own_practice"] = FIELD_MESSAGES["own_practice"]
    _context, context_errors = context_form.context_resources(draft.form, now)
    missing.update(context_errors)
    if missing:
        raise FormErrors(missing)
    problems = coverage_problems(session, draft, practice, now)
    if problems:
        raise NotCovered(problems)
    gp = session.get(Practitioner, user.practitioner_id)
    assert gp is not None  # require_gp: a GP's account has its practitioner
    bundle = consult_bundle(draft, practice, gp, now)
    try:
        with session.begin_nested():
            results = process_transaction(session, practice_actor(user, source_ip), practice, None, bundle, now,
                                          settings)
    except DomainError as refused:
        raise FormErrors(field_errors(refused)) from refused
    created = results[-1]
    consult = consult_of_practice(session, user, created.id)
    draft.status, draft.consult_id, draft.updated_at = DraftStatus.SENT, consult.id, now
    return Sent(consult, created.warnings)


def field_errors(refused: DomainError) -> dict[str, str]:
    """The intake's issues beside the form's fields. An issue that names no field (routing: no agreement
    admits this patient) is the form's as a whole, under ``""``, with the intake's own explanation."""
    errors: dict[str, str] = {}
    for issue in refused.issues:
        if "kind" in issue.params:  # context the agreement requires (consults/patient_context.py)
            for field, text in context_form.missing_errors([str(issue.params["kind"])]).items():
                errors.setdefault(field, text)
            continue
        expression = issue.expression or ""
        field = next((name for key, name in _FIELD_OF if key in expression.rsplit(".", 2)[-1]
                      or f".{key}" in expression), "")
        if field and field in FIELD_MESSAGES:
            errors.setdefault(field, FIELD_MESSAGES.get(f"{field}:{issue.code}", FIELD_MESSAGES[field]))
        else:
            errors.setdefault("", issue.diagnostics)
    return errors


def consult_bundle(draft: ConsultDraft, practice: Organisation, gp: Practitioner, now: datetime) -> dict[str, Any]:
    """The transaction a GP system would post for this draft."""
    form = draft.form
    bsn = {"system": dutch.BSN, "value": form["bsn"].replace(" ", "")}
    patient: dict[str, Any] = {"resourceType": "Patient", "id": "patient", "identifier": [bsn],
                               "name": [{"use": "official", "family": form["family"],
                                         **({"given": [form["given"]]} if form.get("given") else {}),
                                         "text": " ".join(p for p in (form.get("given"), form["family"]) if p)}],
                               "gender": form["sex"], "birthDate": form["birth_date"]}
    if form.get("own_practice"):
        patient["generalPractitioner"] = [{"type": "Organization",
                                           "identifier": {"system": dutch.AGB, "value": form["own_practice"]}}]
    if form.get("postcode"):
        patient["address"] = [{"use": "home", "postalCode": form["postcode"].upper(), "country": "NL"}]
    coverage: dict[str, Any] = {"resourceType": "Coverage", "id": "coverage", "status": "active",
                                "beneficiary": {"reference": "#patient"},
                                "payor": [{"identifier": {"system": dutch.UZOVI, "value": form["insurer"]}}]}
    if form.get("subscriber"):
        coverage["subscriberId"] = form["subscriber"]
    contained = [
        patient,
        {"resourceType": "Organization", "id": "practice", "active": True, "name": practice.name,
         "identifier": [{"system": dutch.AGB, "value": practice.agb}]},
        {"resourceType": "PractitionerRole", "id": "gp", "active": True,
         "practitioner": {"type": "Practitioner", "identifier": {"system": dutch.AGB, "value": gp.agb},
                          "display": gp.name},
         "organization": {"reference": "#practice", "display": practice.name},
         "specialty": [{"coding": [{"system": VEKTIS_SPECIALISM, "code": "0100"}]}]},
        coverage,
    ]
    category = form.get("category") or "meekijkconsult"
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest", "meta": {"profile": [PROFILE_CONSULT_REQUEST]}, "contained": contained,
        "identifier": [{"system": PORTAL_IDENTIFIER, "value": draft.id}], "status": "active", "intent": "order",
        "category": [{"coding": [{"system": CS_REQUEST_CATEGORY, "code": category}]}],
        "priority": form["urgency"],
        "code": {"coding": [{"system": CS_CONSULT_FORM, "code": form["consult_form"]}]},
        "subject": {"reference": "#patient"}, "authoredOn": now.isoformat(),
        "requester": {"reference": "#gp", "display": f"{gp.name}, {practice.name}"},
        "performerType": {"coding": [{"system": VEKTIS_SPECIALISM, "code": form["specialism"]}]},
        "reasonCode": [{"coding": [{"system": dutch.ICPC_1_NL, "code": form["icpc"].upper()}],
                        **({"text": form["complaint"]} if form.get("complaint") else {})}],
        "insurance": [{"reference": "#coverage"}], "note": [{"text": form["question"]}],
    }
    if category == "meekijkconsult":
        request["extension"] = [
            {"url": EXT_GP_INTENT, "valueCodeableConcept": {"coding": [{"system": CS_GP_INTENT,
                                                                        "code": form["intent"]}]}},
            {"url": EXT_CONVERSION_AUTHORISED, "valueBoolean": form.get("conversion") == "yes"}]
    entries: list[dict[str, Any]] = []
    supporting = []
    for index, file in enumerate(draft.files):
        full_url = f"urn:uuid:{file['attachment_id']}"
        document = {"resourceType": "DocumentReference", "meta": {"profile": [PROFILE_CONSULT_PHOTO]},
                    "status": "current", "subject": {"type": "Patient", "identifier": bsn},
                    "date": now.isoformat(),
                    # Photos the patient took and uploaded themself (consults/patient_photos.py) say so.
                    **({"author": [{"type": "Patient", "identifier": bsn, "display": "patiënt"}]}
                       if file.get("from_patient") else {}),
                    # An ECG says so: the agreement may require one (fhir/context.py).
                    **({"type": {"coding": [{"system": LOINC, "code": ECG, "display": "EKG study"}], "text": "ECG"}}
                       if file.get("kind") == "ecg" else {}),
                    "content": [{"attachment": {"contentType": file["content_type"],
                                                "url": f"Binary/{file['attachment_id']}",
                                                **({"title": file["title"]} if file.get("title") else {})}}]}
        entries.append({"fullUrl": full_url, "resource": document,
                        "request": {"method": "POST", "url": "DocumentReference"}})
        supporting.append({"reference": full_url, "display": file.get("title") or f"{index + 1}"})
    # The patient's context typed in the form's section, contained as a GP system would send it.
    context, _errors = context_form.context_resources(form, now)
    contained.extend(context)
    supporting.extend({"reference": f"#{resource['id']}"} for resource in context)
    if supporting:
        request["supportingInfo"] = supporting
    entries.append({"fullUrl": f"urn:uuid:{draft.id}", "resource": request,
                    "request": {"method": "POST", "url": "ServiceRequest",
                                "ifNoneExist": f"identifier={PORTAL_IDENTIFIER}|{draft.id}"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
