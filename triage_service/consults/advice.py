"""What a specialist does with a consult: ask the GP, answer with advice and an outcome, forward, decline.

The same rules hold whichever interface calls them (inbox now, FHIR later): state
changes follow ``TASK_TRANSITIONS``, only the owner (or a member of the owning
group) may act, and the GP stays hoofdbehandelaar: the answer is advice, nothing
more. A consult answered from the group queue becomes the answering specialist's.

Whichever way a consult is concluded (advice, a referral accepted or returned, declined), the letter for
the patient's record is made in the same transaction (consults/letters.py, issue 19).

A referral sent for triage (category ``referral``, issue 6 point 4) is not answered
with advice and an outcome but triaged: accepted as a referral, returned to the GP
with advice (a prevented referral), or redirected with :func:`forward`. Asking the GP
and declining work for both kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage_service.audit.trail import record
from triage_service.consults import appointments, letters, teams, time_spent
from triage_service.consults.attestations import parse_attestations
from triage_service.consults.specialist import (
    MAX_TEXT,
    actor_of,
    checked_text,
    open_task_of,
    open_task_of_kind,
    take,
    text_and_minutes,
    write_message,
)
from triage_service.consults.task_states import transition
from triage_service.errors import N_, Conflict, FormErrors
from triage_service.models import (
    AuditAction,
    Consult,
    ConsultMessage,
    ConsultTask,
    MessageCategory,
    RequestStatus,
    TaskStatus,
)
from triage_service.security.web_auth import InboxUser

OUTCOMES = ("primary-care-advice", "ecms", "referral-indicated", "other-specialism", "not-suitable")
URGENCIES = ("routine", "urgent", "asap", "stat")


def ask_gp(session: Session, user: InboxUser, consult_id: str, question: str, now: datetime,
           source_ip: str | None = None, minutes: str = "") -> ConsultMessage:
    """Ask the GP for more information: the consult waits on the GP (Task on-hold)."""
    text, spent = text_and_minutes(question, "question", N_("Write your question to the GP"), minutes)
    task = open_task_of(session, user, consult_id)
    if task.status is TaskStatus.ON_HOLD:
        raise Conflict("This consult is already waiting for the GP's answer")
    take(task, user, now)
    time_spent.register(session, task.consult, user, "ask", spent, now)
    transition(task, TaskStatus.ON_HOLD, now)
    task.business_status = "awaiting-gp-information"
    message = write_message(session, task, user, MessageCategory.REQUEST_FOR_INFORMATION, text, now)
    session.flush()
    record(session, actor_of(user, source_ip), event="consult.ask", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now)
    return message


@dataclass(frozen=True)
class Advice:
    text: str
    outcome: str
    referral_specialism: str | None = None
    referral_urgency: str | None = None
    minutes: int | None = None
    #: What the specialist attested for the declaration (consults/attestations.py).
    attestations: tuple[str, ...] = ()
    #: Sent by this member on behalf of the consult's expertise team ("namens", consults/teams.py).
    on_behalf_of_team: bool = False


def parse_advice(form: dict[str, str], known_specialisms: set[str]) -> Advice:
    """The answer form, checked field by field."""
    errors: dict[str, str] = {}
    text = checked_text(form.get("advice", ""), "advice", N_("Write your advice to the GP"), errors)
    outcome = form.get("outcome", "")
    if outcome not in OUTCOMES:
        errors["outcome"] = N_("Choose an outcome")
    specialism = form.get("referral_specialism") or None
    urgency = form.get("referral_urgency") or None
    if outcome == "referral-indicated":
        if specialism not in known_specialisms:
            errors["referral_specialism"] = N_("Choose the specialism to refer to")
        if urgency not in URGENCIES:
            errors["referral_urgency"] = N_("Choose how urgent the referral is")
    else:
        specialism = urgency = None
    minutes = time_spent.parse_minutes(form.get("minutes"), errors)
    attested = parse_attestations(form, errors)
    if errors:
        raise FormErrors(errors)
    return Advice(text, outcome, specialism, urgency, minutes, attested, form.get("on_behalf") == "team")


def record_advice(session: Session, user: InboxUser, consult_id: str, advice: Advice, now: datetime,
                  source_ip: str | None = None) -> ConsultMessage:
    """The specialist's answer: advice to the GP with a structured outcome; the consult is completed."""
    task = open_task_of_kind(session, user, consult_id, referral=False)
    appointments.require_no_open_appointment(session, task.consult)
    converted = advice.outcome == "referral-indicated"
    # Without the GP's authorisation the referral is a proposal the GP decides on, not yet a referral.
    business = "advice-given" if not converted else \
        "converted-to-referral" if task.consult.conversion_authorised else "referral-proposed"
    consult = _conclude(session, task, user, now, business,
                        advice.outcome, converted, advice.referral_specialism, advice.referral_urgency,
                        advice.minutes, "answer")
    consult.attestations = list(advice.attestations)
    _complete_request(consult, now)
    message = write_message(session, task, user, MessageCategory.ADVICE, advice.text, now)
    session.flush()
    if advice.on_behalf_of_team:
        teams.answer_for_team(session, actor_of(user, source_ip), user, consult, message, now)
    record(session, actor_of(user, source_ip), event="consult.advice", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"outcome={advice.outcome}")
    letters.issue_letter(session, actor_of(user, source_ip), consult, now)
    return message


def _conclude(session: Session, task: ConsultTask, user: InboxUser, now: datetime, business_status: str,
              outcome: str, converted: bool, specialism: str | None, urgency: str | None, minutes: int | None,
              action: str) -> Consult:
    """The specialist's final word on a consult or referral: the Task is completed with the outcome."""
    take(task, user, now)
    transition(task, TaskStatus.COMPLETED, now)
    task.business_status = business_status
    consult: Consult = task.consult
    consult.outcome, consult.converted_to_referral = outcome, converted
    consult.referral_specialism, consult.referral_urgency = specialism, urgency
    consult.answered_by_agb = user.practitioner_agb  # credited in the monitoring, whoever holds the Task later
    time_spent.register(session, consult, user, action, minutes, now)
    consult.completed_at = now
    return consult


def _complete_request(consult: Consult, now: datetime) -> None:
    """The GP's ServiceRequest is done (answered): status completed, as a new version of the resource."""
    consult.status = RequestStatus.COMPLETED
    consult.version_id += 1
    consult.updated_at = now
    consult.resource = {**consult.resource, "status": RequestStatus.COMPLETED.value,
                        "meta": {**consult.resource.get("meta", {}), "versionId": str(consult.version_id)}}


@dataclass(frozen=True)
class ReferralAcceptance:
    urgency: str
    note: str | None = None
    minutes: int | None = None


def parse_acceptance(form: dict[str, str]) -> ReferralAcceptance:
    """The "accept as referral" form: the urgency is required, the note to the GP and hospital is not."""
    errors: dict[str, str] = {}
    urgency = form.get("urgency", "")
    if urgency not in URGENCIES:
        errors["urgency"] = N_("Choose how urgent the referral is")
    note = form.get("note", "").strip()
    if len(note) > MAX_TEXT:
        errors["note"] = N_("This text is too long (at most 10,000 characters)")
    minutes = time_spent.parse_minutes(form.get("minutes"), errors)
    if errors:
        raise FormErrors(errors)
    return ReferralAcceptance(urgency, note or None, minutes)


def accept_referral(session: Session, user: InboxUser, consult_id: str, acceptance: ReferralAcceptance,
                    now: datetime, source_ip: str | None = None) -> ConsultMessage | None:
    """Triage says the referral stands: the Task is completed, but the GP's ServiceRequest stays active,
    because the referral still has to be performed by the hospital. The note, if any, is the message."""
    task = open_task_of_kind(session, user, consult_id, referral=True)
    # Counted as a referral (converted), not as a prevented one.
    consult = _conclude(session, task, user, now, "referral-accepted", "referral-accepted", True,
                        task.consult.specialism, acceptance.urgency, acceptance.minutes, "accept-referral")
    # The ServiceRequest resource is left exactly as the GP sent it (status active, the GP's priority), so
    # its version does not change; the urgency the specialist set is in Task.output (referral-urgency).
    # A message needs text (Communication.payload, tsc-1): without a note there is none, and Task.output
    # carries the decision on its own.
    message = (write_message(session, task, user, MessageCategory.ADVICE, acceptance.note, now)
               if acceptance.note else None)
    session.flush()
    record(session, actor_of(user, source_ip), event="consult.referral-accept", action=AuditAction.UPDATE,
           resource_type="Task", resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"urgency={acceptance.urgency}")
    letters.issue_letter(session, actor_of(user, source_ip), consult, now)
    return message


@dataclass(frozen=True)
class ReferralReturn:
    text: str
    minutes: int | None = None
    attestations: tuple[str, ...] = ()


def parse_return(form: dict[str, str]) -> ReferralReturn:
    """The "return to the GP with advice" form: advice as in the answer form, time spent optional."""
    errors: dict[str, str] = {}
    attested = parse_attestations(form, errors)
    if errors:
        raise FormErrors(errors)
    return ReferralReturn(*text_and_minutes(form.get("advice", ""), "advice", N_("Write your advice to the GP"),
                                            form.get("minutes")), attested)


def return_referral(session: Session, user: InboxUser, consult_id: str, returned: ReferralReturn, now: datetime,
                    source_ip: str | None = None) -> ConsultMessage:
    """Triage sends the referral back to the GP with advice instead of to the hospital: a prevented
    referral. The GP's ServiceRequest is completed, as for a meekijkconsult answered with advice."""
    task = open_task_of_kind(session, user, consult_id, referral=True)
    consult = _conclude(session, task, user, now, "referral-returned", "returned-with-advice", False, None, None,
                        returned.minutes, "return-referral")
    consult.attestations = list(returned.attestations)
    _complete_request(consult, now)
    message = write_message(session, task, user, MessageCategory.ADVICE, returned.text, now)
    session.flush()
    record(session, actor_of(user, source_ip), event="consult.referral-return", action=AuditAction.UPDATE,
           resource_type="Task", resource_id=task.id, patient_ref=consult.patient_resource_id, at=now)
    letters.issue_letter(session, actor_of(user, source_ip), consult, now)
    return message


def decline(session: Session, user: InboxUser, consult_id: str, reason: str, now: datetime,
            source_ip: str | None = None, minutes: str = "") -> ConsultMessage:
    """Not suitable for a consult: the Task is rejected, with the reason as the answer to the GP."""
    text, spent = text_and_minutes(reason, "reason", N_("Give a reason"), minutes)
    task = open_task_of(session, user, consult_id)
    time_spent.register(session, task.consult, user, "decline", spent, now)
    if task.status is TaskStatus.ON_HOLD:
        transition(task, TaskStatus.IN_PROGRESS, now)  # on-hold cannot end directly (FHIR.md's state machine)
    transition(task, TaskStatus.REJECTED, now)
    task.business_status = "rejected-not-suitable"
    task.status_reason = text
    task.version_id += 1
    task.updated_at = now
    consult = task.consult
    consult.outcome = "not-suitable"
    consult.converted_to_referral = False
    consult.answered_by_agb = user.practitioner_agb
    appointments.cancel_open_appointments(session, consult, "specialist", N_("The consult was declined"), now)
    message = write_message(session, task, user, MessageCategory.ADVICE, text, now)
    session.flush()
    record(session, actor_of(user, source_ip), event="consult.decline", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now)
    letters.issue_letter(session, actor_of(user, source_ip), consult, now)
    return message
