"""Back-referral (terugverwijzing, issue 23 point 2): the specialist hands a patient back to the GP practice.

The insurer's framework names "sooner back from the second line to the first" as one of its aims, so this is a
structured hand-over rather than a letter: the diagnosis (ICPC-1-NL), what the GP does from now (a plan, and
optionally the named care programme it falls in, such as CVRM), when to refer again, and what the specialist
stays available for and until when. The practice takes the care over ("Ik neem de zorg over") or first asks a
question; the specialist answers, after which the practice can take it over.

Every door (the FHIR API, the inbox, the portal) calls the functions here, so the rules live once:
- the form's checks, each bad field named in one refusal (Dutch in the screens, in the OperationOutcome);
- who may send one: a second-line specialist only (``may_refer_back``); a first-line specialist (kaderhuisarts,
  optometrist, extended-scope physiotherapist: a code of the first-line specialism ValueSet) works beside the GP
  and has no patient to hand back, so the screens offer them none of it;
- who may see one: the practice it is addressed to, and the specialist who sent it; to anyone else it does
  not exist (404, the same answer as for an id that was never used);
- the only moves: pending/answered -> accepted, pending/answered -> questioned, questioned -> answered.
Every read and change is audited (NEN 7513) under the back-referral as the patient reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.encryption.fields import blind_index
from triage_service.errors import N_, Conflict, Forbidden, FormErrors, NotFound
from triage_service.fhir import dutch, icpc
from triage_service.models import (
    Agreement,
    AuditAction,
    BackReferral,
    BackReferralMessage,
    BackReferralStatus,
    Consult,
    Organisation,
    OrganisationKind,
    Practitioner,
    PractitionerRoleKind,
)
from triage_service.reports.first_line import first_line_codes

MAX_TEXT = 10_000
MAX_NAME = 200

#: Care programmes (ketenzorg) a GP plan may name: the codes of the triage-back-referral CodeSystem's
#: programme concepts, with their Dutch display (fhir_profiles/CodeSystem-triage-back-referral.json).
CARE_PROGRAMMES: dict[str, str] = {
    "cvrm": "Cardiovasculair risicomanagement (CVRM)",
    "dm2": "Diabetes mellitus type 2",
    "astma-copd": "Astma/COPD",
    "hartfalen": "Hartfalen in de eerste lijn",
    "ouderenzorg": "Kwetsbare ouderen",
}

#: The moves the practice and the specialist can make, by the status they start from.
_MAY_ACCEPT = (BackReferralStatus.PENDING, BackReferralStatus.ANSWERED)
_MAY_QUESTION = (BackReferralStatus.PENDING, BackReferralStatus.ANSWERED)


@dataclass(frozen=True)
class BackReferralForm:
    """What the specialist fills in (as text, as a form or a FHIR resource gives it)."""

    practice_agb: str
    patient_bsn: str
    patient_name: str
    patient_birth_date: str
    diagnosis_icpc: str
    diagnosis_text: str
    gp_plan: str
    rereferral_criteria: str
    care_programme: str = ""
    available_for: str = ""
    available_until: str = ""


def _text(value: str, field: str, required: str | None, errors: dict[str, str], limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if not text and required:
        errors[field] = required
    elif len(text) > limit:
        errors[field] = N_("This text is too long")
    return text


def _date(value: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        errors[field] = N_("Give a valid date")
        return None


def may_refer_back(practitioner: Practitioner | None) -> bool:
    """Whether the practitioner hands patients back to the GP: a specialist of the second line, not a first-line
    one (whose specialism is a first-line code) and not a GP."""
    return (practitioner is not None and practitioner.role == PractitionerRoleKind.SPECIALIST
            and (practitioner.specialism or "") not in first_line_codes())


def questions_waiting(session: Session, specialist_id: str | None) -> int:
    """How many of the specialist's back-referrals wait for their answer to a practice's question (one count)."""
    if specialist_id is None:
        return 0
    return session.scalar(select(func.count()).select_from(BackReferral).where(
        BackReferral.specialist_id == specialist_id, BackReferral.status == BackReferralStatus.QUESTIONED)) or 0


def practices_for(session: Session, specialist: Practitioner, today: date) -> list[Organisation]:
    """The practices a specialist may hand a patient back to: the GP practices of the zorggroepen whose
    agreements in force today name the specialist (or their organisation as the subcontractor)."""
    agreements = session.scalars(select(Agreement).where(Agreement.valid_from <= today)).all()
    covered = any((a.valid_until is None or a.valid_until >= today)
                  and (specialist.agb in (a.specialist_agbs or []) or a.subcontractor_id == specialist.organisation_id)
                  for a in agreements)
    if not covered:
        return []
    return list(session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.GP_PRACTICE)
                                .order_by(Organisation.name)).all())


def checked(session: Session, specialist: Practitioner, form: BackReferralForm, today: date,
            consult: Consult | None = None) -> dict[str, object]:
    """The form's values as the model stores them, or FormErrors naming every bad field at once."""
    errors: dict[str, str] = {}
    practice = next((p for p in practices_for(session, specialist, today) if p.agb == form.practice_agb.strip()),
                    None)
    if practice is None:
        errors["practice_agb"] = N_("Choose a GP practice that your agreements cover")
    bsn = (form.patient_bsn or "").replace(" ", "").strip()
    if not bsn:
        errors["patient_bsn"] = N_("Enter the patient's BSN")
    elif not dutch.is_valid_bsn(bsn):
        errors["patient_bsn"] = N_("This is not a valid BSN (9 digits that pass the elfproef)")
    name = _text(form.patient_name, "patient_name", N_("Give the patient's name"), errors, MAX_NAME)
    birth = None
    if not (form.patient_birth_date or "").strip():
        errors["patient_birth_date"] = N_("Enter the patient's date of birth")
    else:
        birth = _date(form.patient_birth_date, "patient_birth_date", errors)
    if birth is not None and birth > today:
        errors["patient_birth_date"] = N_("The birth date lies in the future")
    code = (form.diagnosis_icpc or "").strip().upper()
    if not code:
        errors["diagnosis_icpc"] = N_("Give the diagnosis as an ICPC-1-NL code")
    elif icpc.title(code) is None:
        errors["diagnosis_icpc"] = N_("This is not an ICPC-1-NL code")
    diagnosis = _text(form.diagnosis_text, "diagnosis_text", N_("Describe the diagnosis"), errors)
    plan = _text(form.gp_plan, "gp_plan", N_("Say what the GP does from now on"), errors)
    criteria = _text(form.rereferral_criteria, "rereferral_criteria", N_("Say when to refer the patient again"),
                     errors)
    programme = (form.care_programme or "").strip() or None
    if programme is not None and programme not in CARE_PROGRAMMES:
        errors["care_programme"] = N_("Choose a care programme from the list")
    available_for = _text(form.available_for, "available_for", None, errors) or None
    until = _date(form.available_until, "available_until", errors) if (form.available_until or "").strip() else None
    if until is not None and until < today:
        errors["available_until"] = N_("This date has passed")
    if until is not None and available_for is None:
        errors["available_for"] = N_("Say what you stay available for until that date")
    if errors:
        raise FormErrors(errors)
    assert practice is not None
    assert birth is not None
    return {"practice_id": practice.id, "patient_bsn": bsn, "patient_name": name, "patient_birth_date": birth,
            "diagnosis_icpc": code, "diagnosis_text": diagnosis, "gp_plan": plan, "rereferral_criteria": criteria,
            "care_programme": programme, "available_for": available_for, "available_until": until,
            "consult_id": consult.id if consult is not None else None}


def send(session: Session, specialist: Practitioner, form: BackReferralForm, actor: Actor, now: datetime,
         consult: Consult | None = None) -> BackReferral:
    """Store a back-referral addressed to the practice; nothing is stored when a field is wrong, nor for a
    first-line specialist (403: the screens do not offer it them; another door, such as the API, is told so)."""
    if not may_refer_back(specialist):
        raise Forbidden(N_("Only a second-line specialist refers a patient back to the GP"))
    values = checked(session, specialist, form, now.date(), consult)
    # The BSN's blind index, as a Patient's: the NEN 7513 look-up by BSN finds the back-referral's audit entries.
    token = blind_index(dutch.BSN, str(values["patient_bsn"]))
    back = BackReferral(specialist_id=specialist.id, specialism=specialist.specialism or "",
                        status=BackReferralStatus.PENDING, sent_at=now, updated_at=now, patient_token=token, **values)
    session.add(back)
    session.flush()
    record(session, actor, event="back-referral-sent", action=AuditAction.CREATE, resource_type="ServiceRequest",
           resource_id=back.id, patient_ref=back.patient_ref, at=now)
    return back


def for_practice(session: Session, practice_id: str | None, back_referral_id: str, actor: Actor,
                 now: datetime, event: str = "back-referral-read", detail: str | None = None) -> BackReferral:
    """A back-referral the practice may read (audited as ``event``: a read, or its letter), or 404 as for one
    that does not exist."""
    back = session.scalar(select(BackReferral).where(BackReferral.id == back_referral_id,
                                                     BackReferral.practice_id == practice_id))
    if back is None or practice_id is None:
        raise NotFound(N_("This back-referral does not exist or is not addressed to your practice"))
    record(session, actor, event=event, action=AuditAction.READ, resource_type="ServiceRequest",
           resource_id=back.id, patient_ref=back.patient_ref, detail=detail, at=now)
    return back


def for_specialist(session: Session, specialist_id: str | None, back_referral_id: str, actor: Actor,
                   now: datetime, event: str = "back-referral-read", detail: str | None = None) -> BackReferral:
    """A back-referral the specialist sent (audited as ``event``), or 404."""
    back = session.scalar(select(BackReferral).where(BackReferral.id == back_referral_id,
                                                     BackReferral.specialist_id == specialist_id))
    if back is None or specialist_id is None:
        raise NotFound(N_("This back-referral does not exist or was not sent by you"))
    record(session, actor, event=event, action=AuditAction.READ, resource_type="ServiceRequest",
           resource_id=back.id, patient_ref=back.patient_ref, detail=detail, at=now)
    return back


def of_practice(session: Session, practice_id: str) -> list[BackReferral]:
    """The practice's back-referrals, the ones still to handle first, newest first within (then by id, so two
    sent at the same moment keep their order from page to page of a FHIR search)."""
    rows = session.scalars(select(BackReferral).where(BackReferral.practice_id == practice_id)
                           .order_by(BackReferral.sent_at.desc(), BackReferral.id)).all()
    return sorted(rows, key=lambda b: b.status == BackReferralStatus.ACCEPTED)


def of_specialist(session: Session, specialist_id: str) -> list[BackReferral]:
    """The back-referrals a specialist sent, those with a question waiting for them first."""
    rows = session.scalars(select(BackReferral).where(BackReferral.specialist_id == specialist_id)
                           .order_by(BackReferral.sent_at.desc(), BackReferral.id)).all()
    return sorted(rows, key=lambda b: b.status != BackReferralStatus.QUESTIONED)


def _changed(session: Session, back: BackReferral, actor: Actor, event: str, now: datetime) -> None:
    back.updated_at = now
    back.version_id += 1
    record(session, actor, event=event, action=AuditAction.UPDATE, resource_type="Task", resource_id=back.task_id,
           patient_ref=back.patient_ref, at=now)


def accept(session: Session, back: BackReferral, gp_name: str, actor: Actor, now: datetime) -> None:
    """The practice takes the care over ("overgenomen"); not while its own question waits for an answer."""
    if back.status == BackReferralStatus.ACCEPTED:
        raise Conflict(N_("Your practice has already taken over this patient's care"))
    if back.status not in _MAY_ACCEPT:
        raise Conflict(N_("Your question has not been answered yet"))
    back.status, back.accepted_at, back.accepted_by_name = BackReferralStatus.ACCEPTED, now, gp_name[:MAX_NAME]
    _changed(session, back, actor, "back-referral-accepted", now)


def ask(session: Session, back: BackReferral, gp_name: str, text: str, actor: Actor,
        now: datetime) -> BackReferralMessage:
    """The practice asks the specialist a question before taking the care over (the Task waits: on-hold)."""
    errors: dict[str, str] = {}
    question = _text(text, "question", N_("Write your question"), errors)
    if errors:
        raise FormErrors(errors)
    if back.status not in _MAY_QUESTION:
        raise Conflict(N_("A question can be asked only before the care is taken over, and one at a time"))
    message = BackReferralMessage(back_referral_id=back.id, sender_role="gp", sender_name=gp_name[:MAX_NAME],
                                  text=question, sent_at=now)
    back.messages.append(message)
    back.status = BackReferralStatus.QUESTIONED
    _changed(session, back, actor, "back-referral-questioned", now)
    return message


def answer(session: Session, back: BackReferral, specialist_name: str, text: str, actor: Actor,
           now: datetime) -> BackReferralMessage:
    """The specialist answers the practice's question; the practice can then take the care over."""
    errors: dict[str, str] = {}
    reply = _text(text, "answer", N_("Write your answer"), errors)
    if errors:
        raise FormErrors(errors)
    if back.status != BackReferralStatus.QUESTIONED:
        raise Conflict(N_("There is no question waiting for an answer"))
    message = BackReferralMessage(back_referral_id=back.id, sender_role="specialist",
                                  sender_name=specialist_name[:MAX_NAME], text=reply, sent_at=now)
    back.messages.append(message)
    back.status = BackReferralStatus.ANSWERED
    _changed(session, back, actor, "back-referral-answered", now)
    return message


def form_from_consult(consult: Consult, practice_agb: str) -> dict[str, str]:
    """The fields a back-referral from a consult starts with: the practice and the consult's first ICPC code
    (the patient's identity is the specialist's to fill in from the hospital's record; the consult keeps none
    of it in plain fields)."""
    return {"practice_agb": practice_agb, "diagnosis_icpc": consult.primary_icpc,
            "diagnosis_text": icpc.title(consult.primary_icpc) or ""}
