"""What a specialist does with a consult: ask the GP, answer with advice and an outcome, forward, decline.

The same rules hold whichever interface calls them (inbox now, FHIR later): state
changes follow ``TASK_TRANSITIONS``, only the owner (or a member of the owning
group) may act, and the GP stays hoofdbehandelaar: the answer is advice, nothing
more. A consult answered from the group queue becomes the answering specialist's.

A referral sent for triage (category ``referral``, issue 6 point 4) is not answered
with advice and an outcome but triaged: accepted as a referral, returned to the GP
with advice (a prevented referral), or redirected with :func:`forward`. Asking the GP
and declining work for both kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.errors import Conflict, NotFound, UnprocessableInput
from triage_service.fhir.dutch import postcode_digits
from triage_service.fhir.outcome import Issue
from triage_service.models import (
    Agreement,
    AuditAction,
    Consult,
    ConsultMessage,
    ConsultTask,
    MessageCategory,
    Organisation,
    Practitioner,
    RequestStatus,
    RoutingDecision,
    TaskStatus,
)
from triage_service.models.consult import REFERRAL_CATEGORY
from triage_service.routing.matching import RoutingRequest
from triage_service.routing.service import age_on, record_decision, route, routing_table
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.audit import Actor, record
from triage_service.security.web_auth import InboxUser
from triage_service.services.tasks import transition

OUTCOMES = ("primary-care-advice", "ecms", "referral-indicated", "other-specialism", "not-suitable")
URGENCIES = ("routine", "urgent", "asap", "stat")
MAX_TEXT = 10_000


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Marks a message for translation (the inbox translates it when showing it); returns it unchanged."""
    return message


class FormErrors(UnprocessableInput):
    """Field-level errors a form can show next to its fields."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()),
                         issues=[Issue("required", message, field) for field, message in errors.items()])
        self.errors = errors


def appointments() -> ModuleType:
    """services/appointments.py builds on this module (forms, taking a consult), so it is imported when used."""
    from triage_service.services import appointments as module

    return module


def _task(session: Session, user: InboxUser, consult_id: str) -> ConsultTask:
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id,
                                                    ConsultTask.owner_agb.in_(user.owner_agbs)))
    if task is None:
        raise NotFound("This consult does not exist or is not assigned to you or your group")
    return task


def _open_task(session: Session, user: InboxUser, consult_id: str) -> ConsultTask:
    task = _task(session, user, consult_id)
    if task.status not in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD):
        raise Conflict("This consult is no longer open")
    return task


def open_task_of_kind(session: Session, user: InboxUser, consult_id: str, referral: bool) -> ConsultTask:
    """An open consult of the kind the action is for (``referral``: a referral sent for triage, else a
    meekijkconsult). The other kind is a form error (400), not a crash: a stale page or a second tab can post
    the wrong form, and the specialist must see why it failed. The inbox checks this before the form's
    fields, so that this, not a field error of a form the page does not show, is what the specialist sees."""
    task = _open_task(session, user, consult_id)
    if task.consult.is_referral_for_triage != referral:
        raise FormErrors({"category": N_("This is a referral for triage: accept it, return it to the GP with advice, "
                                         "or redirect it") if task.consult.is_referral_for_triage else
                          N_("This is a meekijkconsult, not a referral for triage: answer it with advice and an "
                             "outcome")})
    return task


def _take(task: ConsultTask, user: InboxUser, now: datetime) -> None:
    """Work on a consult: from the group queue it becomes the specialist's own; it is now in progress."""
    if task.owner_kind == "organisation" and user.practitioner_agb:
        task.owner_kind, task.owner_agb, task.owner_name = "practitioner", user.practitioner_agb, user.display_name
    if task.status in (TaskStatus.ACCEPTED, TaskStatus.ON_HOLD):
        transition(task, TaskStatus.IN_PROGRESS)
    task.version_id += 1
    task.updated_at = now


def _text(value: str, field: str, required: str, errors: dict[str, str]) -> str:
    text = value.strip()
    if not text:
        errors[field] = required
    elif len(text) > MAX_TEXT:
        errors[field] = N_("This text is too long (at most 10,000 characters)")
    return text


def _minutes(form: dict[str, str], errors: dict[str, str]) -> int | None:
    """The optional time spent (the subcontractor statement reports it)."""
    raw = form.get("minutes", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 600:
        errors["minutes"] = N_("Time spent is a whole number of minutes between 1 and 600")
        return None
    return int(raw)


def _required_text(value: str, field: str, required: str) -> str:
    """A single required text field: the text, or FormErrors for that field."""
    errors: dict[str, str] = {}
    text = _text(value, field, required, errors)
    if errors:
        raise FormErrors(errors)
    return text


def _message(session: Session, task: ConsultTask, user: InboxUser, category: MessageCategory, text: str,
             now: datetime, in_response_to: str | None = None) -> ConsultMessage:
    message = ConsultMessage(consult_id=task.consult_id, category=category, sender_role="specialist",
                             sender_agb=user.practitioner_agb, sender_name=user.display_name, text=text,
                             in_response_to_id=in_response_to, sent_at=now)
    session.add(message)
    return message


def _actor(user: InboxUser, source_ip: str | None) -> Actor:
    return Actor(kind="user", id=user.username, organisation_id=None, source_ip=source_ip)


def ask_gp(session: Session, user: InboxUser, consult_id: str, question: str, now: datetime,
           source_ip: str | None = None) -> ConsultMessage:
    """Ask the GP for more information: the consult waits on the GP (Task on-hold)."""
    text = _required_text(question, "question", N_("Write your question to the GP"))
    task = _open_task(session, user, consult_id)
    if task.status is TaskStatus.ON_HOLD:
        raise Conflict("This consult is already waiting for the GP's answer")
    _take(task, user, now)
    transition(task, TaskStatus.ON_HOLD)
    task.business_status = "awaiting-gp-information"
    message = _message(session, task, user, MessageCategory.REQUEST_FOR_INFORMATION, text, now)
    session.flush()
    record(session, _actor(user, source_ip), event="consult.ask", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now)
    return message


@dataclass(frozen=True)
class Advice:
    text: str
    outcome: str
    referral_specialism: str | None = None
    referral_urgency: str | None = None
    minutes: int | None = None


def parse_advice(form: dict[str, str], known_specialisms: set[str]) -> Advice:
    """The answer form, checked field by field."""
    errors: dict[str, str] = {}
    text = _text(form.get("advice", ""), "advice", N_("Write your advice to the GP"), errors)
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
    minutes = _minutes(form, errors)
    if errors:
        raise FormErrors(errors)
    return Advice(text, outcome, specialism, urgency, minutes)


def record_advice(session: Session, user: InboxUser, consult_id: str, advice: Advice, now: datetime,
                  source_ip: str | None = None) -> ConsultMessage:
    """The specialist's answer: advice to the GP with a structured outcome; the consult is completed."""
    task = open_task_of_kind(session, user, consult_id, referral=False)
    appointments().require_no_open_appointment(session, task.consult)
    converted = advice.outcome == "referral-indicated"
    consult = _conclude(task, user, now, "converted-to-referral" if converted else "advice-given", advice.outcome,
                        converted, advice.referral_specialism, advice.referral_urgency, advice.minutes)
    _complete_request(consult, now)
    message = _message(session, task, user, MessageCategory.ADVICE, advice.text, now)
    session.flush()
    record(session, _actor(user, source_ip), event="consult.advice", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"outcome={advice.outcome}")
    return message


def _conclude(task: ConsultTask, user: InboxUser, now: datetime, business_status: str, outcome: str,
              converted: bool, specialism: str | None, urgency: str | None, minutes: int | None) -> Consult:
    """The specialist's final word on a consult or referral: the Task is completed with the outcome."""
    _take(task, user, now)
    transition(task, TaskStatus.COMPLETED)
    task.business_status = business_status
    consult: Consult = task.consult
    consult.outcome, consult.converted_to_referral = outcome, converted
    consult.referral_specialism, consult.referral_urgency = specialism, urgency
    consult.time_spent_minutes = minutes
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
    minutes = _minutes(form, errors)
    if errors:
        raise FormErrors(errors)
    return ReferralAcceptance(urgency, note or None, minutes)


def accept_referral(session: Session, user: InboxUser, consult_id: str, acceptance: ReferralAcceptance,
                    now: datetime, source_ip: str | None = None) -> ConsultMessage | None:
    """Triage says the referral stands: the Task is completed, but the GP's ServiceRequest stays active,
    because the referral still has to be performed by the hospital. The note, if any, is the message."""
    task = open_task_of_kind(session, user, consult_id, referral=True)
    # Counted as a referral (converted), not as a prevented one.
    consult = _conclude(task, user, now, "referral-accepted", "referral-accepted", True, task.consult.specialism,
                        acceptance.urgency, acceptance.minutes)
    # The ServiceRequest resource is left exactly as the GP sent it (status active, the GP's priority), so
    # its version does not change; the urgency the specialist set is in Task.output (referral-urgency).
    # A message needs text (Communication.payload, tsc-1): without a note there is none, and Task.output
    # carries the decision on its own.
    message = (_message(session, task, user, MessageCategory.ADVICE, acceptance.note, now)
               if acceptance.note else None)
    session.flush()
    record(session, _actor(user, source_ip), event="consult.referral-accept", action=AuditAction.UPDATE,
           resource_type="Task", resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"urgency={acceptance.urgency}")
    return message


@dataclass(frozen=True)
class ReferralReturn:
    text: str
    minutes: int | None = None


def parse_return(form: dict[str, str]) -> ReferralReturn:
    """The "return to the GP with advice" form: advice as in the answer form, time spent optional."""
    errors: dict[str, str] = {}
    text = _text(form.get("advice", ""), "advice", N_("Write your advice to the GP"), errors)
    minutes = _minutes(form, errors)
    if errors:
        raise FormErrors(errors)
    return ReferralReturn(text, minutes)


def return_referral(session: Session, user: InboxUser, consult_id: str, returned: ReferralReturn, now: datetime,
                    source_ip: str | None = None) -> ConsultMessage:
    """Triage sends the referral back to the GP with advice instead of to the hospital: a prevented
    referral. The GP's ServiceRequest is completed, as for a meekijkconsult answered with advice."""
    task = open_task_of_kind(session, user, consult_id, referral=True)
    consult = _conclude(task, user, now, "referral-returned", "returned-with-advice", False, None, None,
                        returned.minutes)
    _complete_request(consult, now)
    message = _message(session, task, user, MessageCategory.ADVICE, returned.text, now)
    session.flush()
    record(session, _actor(user, source_ip), event="consult.referral-return", action=AuditAction.UPDATE,
           resource_type="Task", resource_id=task.id, patient_ref=consult.patient_resource_id, at=now)
    return message


SPECIALISM_PREFIX = "specialism:"


def forward(session: Session, user: InboxUser, consult_id: str, to_agb: str, reason: str, now: datetime,
            source_ip: str | None = None) -> None:
    """Hand the consult to a colleague under the same agreement, the group queue, or (``specialism:<code>``)
    another specialism, which routes it afresh under that specialism's agreements, with a reason."""
    errors: dict[str, str] = {}
    text = _text(reason, "reason", N_("Give a reason"), errors)
    task = _open_task(session, user, consult_id)
    if to_agb.startswith(SPECIALISM_PREFIX):
        if errors:
            raise FormErrors(errors)
        _forward_to_specialism(session, user, task, to_agb.removeprefix(SPECIALISM_PREFIX), text, now, source_ip)
        return
    decision = session.scalar(select(RoutingDecision).where(RoutingDecision.consult_id == consult_id)
                              .order_by(RoutingDecision.decided_at.desc()).limit(1))
    colleagues = colleagues_of(session, task)
    if to_agb not in colleagues or to_agb == task.owner_agb:
        errors["to"] = N_("Choose a colleague or the group queue")
    if errors:
        raise FormErrors(errors)
    kind, name = colleagues[to_agb]
    previous = task.owner_name
    # Proposed and booked times were in the previous specialist's agenda: the new owner proposes their own.
    appointments().cancel_open_appointments(session, task.consult, "specialist", N_("The consult was forwarded"), now)
    task.owner_kind, task.owner_agb, task.owner_name = kind, to_agb, name
    task.version_id += 1
    task.updated_at = now
    if decision is not None:
        session.add(RoutingDecision(consult_id=consult_id, agreement_id=decision.agreement_id,
                                    profile_id=decision.profile_id, owner_kind=kind, owner_agb=to_agb,
                                    candidates=[], reason=f"Forwarded by {user.display_name} (was {previous}): {text}",
                                    decided_at=now))
    session.flush()
    record(session, _actor(user, source_ip), event="consult.forward", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now, detail=f"to={kind}:{to_agb}")


def _forward_to_specialism(session: Session, user: InboxUser, task: ConsultTask, specialism: str, reason: str,
                           now: datetime, source_ip: str | None) -> None:
    consult = task.consult
    if specialism == consult.specialism:
        raise FormErrors({"to": N_("Choose a colleague or the group queue")})
    today = now.astimezone(AMSTERDAM).date()
    request = RoutingRequest(specialism=specialism, icpc_codes=tuple(consult.icpc_codes),
                             age=age_on(consult.patient_birth_date, today), sex=consult.patient_gender,
                             postcode=postcode_digits(consult.patient_postcode), insurer=consult.insurer_uzovi,
                             form=consult.consult_form, photo_count=consult.photo_count, on=today,
                             category=consult.category)
    try:
        outcome = route(session, request, consult.priority, now)
    except UnprocessableInput as refused:
        raise FormErrors({"to": N_("No agreement of that specialism covers this patient and question")}) from refused
    chosen = outcome.assignment.chosen
    previous = task.owner_name
    appointments().cancel_open_appointments(session, consult, "specialist", N_("The consult was forwarded"), now)
    consult.specialism, consult.agreement_id, consult.profile_id = specialism, chosen.profile.agreement_id, \
        chosen.profile.profile_id
    task.owner_kind, task.owner_agb, task.owner_name = chosen.kind, chosen.agb, chosen.name
    task.due_at = outcome.due  # the new specialism's norm, from now
    task.version_id += 1
    task.updated_at = now
    decision = record_decision(session, consult.id, outcome, now)
    decision.reason = f"Forwarded by {user.display_name} (was {previous}) to another specialism: {reason}. " \
                      + decision.reason
    session.flush()
    record(session, _actor(user, source_ip), event="consult.forward", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"to=specialism:{specialism}; owner={chosen.kind}:{chosen.agb}")


def other_specialisms(session: Session, task: ConsultTask) -> list[str]:
    """Specialisms with an agreement in force that could take this consult (by insurer, form and category).

    A referral can only go to a profile that admits referrals; a meekijkconsult may also land on a referral
    profile (routing accepts it there as a likely referral), so for it the category does not narrow the list.
    """
    table = routing_table(session)
    consult = task.consult
    return sorted({p.specialism for profiles in table.by_specialism.values() for p in profiles
                   if p.specialism != consult.specialism and consult.insurer_uzovi in p.insurers
                   and consult.consult_form in p.forms
                   and (not consult.is_referral_for_triage or REFERRAL_CATEGORY in p.categories)})


def colleagues_of(session: Session, task: ConsultTask) -> dict[str, tuple[str, str]]:
    """Who may take over: the specialists of the consult's agreement and its group queue, by AGB."""
    agreement = session.get(Agreement, task.consult.agreement_id) if task.consult.agreement_id else None
    if agreement is None:
        return {}
    people = {p.agb: ("practitioner", p.name) for p in session.scalars(
        select(Practitioner).where(Practitioner.agb.in_(agreement.specialist_agbs)))}
    group = session.get(Organisation, agreement.subcontractor_id)
    if group is not None and group.agb:
        people[group.agb] = ("organisation", group.name)
    return people


def decline(session: Session, user: InboxUser, consult_id: str, reason: str, now: datetime,
            source_ip: str | None = None) -> ConsultMessage:
    """Not suitable for a consult: the Task is rejected, with the reason as the answer to the GP."""
    text = _required_text(reason, "reason", N_("Give a reason"))
    task = _open_task(session, user, consult_id)
    if task.status is TaskStatus.ON_HOLD:
        transition(task, TaskStatus.IN_PROGRESS)  # on-hold cannot end directly (FHIR.md's state machine)
    transition(task, TaskStatus.REJECTED)
    task.business_status = "rejected-not-suitable"
    task.status_reason = text
    task.version_id += 1
    task.updated_at = now
    consult = task.consult
    consult.outcome = "not-suitable"
    consult.converted_to_referral = False
    appointments().cancel_open_appointments(session, consult, "specialist", N_("The consult was declined"), now)
    message = _message(session, task, user, MessageCategory.ADVICE, text, now)
    session.flush()
    record(session, _actor(user, source_ip), event="consult.decline", action=AuditAction.UPDATE, resource_type="Task",
           resource_id=task.id, patient_ref=consult.patient_resource_id, at=now)
    return message
