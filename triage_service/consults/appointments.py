"""Appointments of a video consult or an ECMS visit: proposed and managed by the specialist, booked by the GP.

The life cycle (FHIR appointmentstatus), and who may move it:

* the specialist proposes one to five times (``proposed``); where the agreement says the specialist books,
  one time is ``booked`` at once;
* the GP system books one proposed time (``booked``): the other proposals are withdrawn by the service;
  it may also cancel a proposed or booked time (the patient cannot come);
* the specialist withdraws a proposal or cancels a booking, or reschedules (cancels the booking and
  proposes new times in one step), and after the time has begun marks it ``fulfilled`` or ``noshow``;
* a fulfilled or missed appointment is history: nobody changes it any more.

Every change also changes the consult's Task (business status and version), so GP systems subscribed to
their Tasks are notified of appointment changes like any other (notifications/outbox.py). The first offer
meets the agreement's answer-time norm for these forms (``Consult.appointment_offered_at``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults import time_spent
from triage_service.consults.proposals import MAX_INSTRUCTIONS, Proposal
from triage_service.consults.specialist import actor_of, open_task_of, take, task_of, write_message
from triage_service.consults.task_states import check_version, transition
from triage_service.errors import N_, Conflict, FormErrors, InvalidInput, NotFound, UnprocessableInput
from triage_service.fhir.appointment import appointment_to_fhir
from triage_service.models import (
    APPOINTMENT_FORMS,
    Agreement,
    Appointment,
    AppointmentStatus,
    AuditAction,
    Consult,
    ConsultTask,
    MessageCategory,
    TaskStatus,
)
from triage_service.models.appointment import OPEN_APPOINTMENT
from triage_service.outcome import Issue
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.web_auth import InboxUser

# -- the specialist's side (inbox) -----------------------------------------------------------------


def appointment_consult(session: Session, user: InboxUser, consult_id: str) -> ConsultTask:
    """An open consult of an appointment form, the specialist's own or their group's."""
    task = open_task_of(session, user, consult_id)
    if task.consult.consult_form not in APPOINTMENT_FORMS:
        raise FormErrors({"category": N_("Only a video consult or a one-off physical consult (ECMS) has "
                                         "appointments")})
    return task


def propose(session: Session, user: InboxUser, consult_id: str, proposal: Proposal, now: datetime,
            source_ip: str | None = None) -> list[Appointment]:
    """Offer times to the GP, or book one directly where the agreement says the specialist books."""
    task = appointment_consult(session, user, consult_id)
    consult = task.consult
    if not user.practitioner_agb:
        raise FormErrors({"category": N_("Only a specialist can offer appointments")})
    existing = appointments_of(session, consult.id)
    replaced = None
    if proposal.replaces:
        replaced = next((a for a in existing if a.id == proposal.replaces), None)
        if replaced is None or replaced.status is not AppointmentStatus.BOOKED:
            raise FormErrors({"category": N_("Only a booked appointment can be rescheduled")})
    elif any(a.status is AppointmentStatus.BOOKED for a in existing):
        raise FormErrors({"category": N_("An appointment is already booked: reschedule or cancel it first")})
    books = specialist_books(session, consult)
    if books and len(proposal.starts) != 1:
        raise FormErrors({"start_1": N_("Under this agreement you book the appointment yourself: give one time")})
    _check_agenda(session, user.practitioner_agb, proposal, replaced)
    take(task, user, now)
    time_spent.register(session, consult, user, "appointment", proposal.time_spent, now)
    if replaced is not None:
        _cancel(replaced, "specialist", N_("Rescheduled by the specialist"), now)
    status = AppointmentStatus.BOOKED if books else AppointmentStatus.PROPOSED
    created = [Appointment(consult_id=consult.id, organisation_id=consult.organisation_id,
                           practitioner_agb=user.practitioner_agb, practitioner_name=user.display_name,
                           status=status, start=start, end=start + timedelta(minutes=proposal.minutes),
                           video=consult.consult_form == "video-consult", meeting_url=proposal.meeting_url,
                           instructions=proposal.instructions, gp_joins=proposal.gp_joins,
                           booked_by="specialist" if books else None,
                           replaces_id=replaced.id if replaced else None, created_at=now, updated_at=now)
               for start in sorted(proposal.starts)]
    session.add_all(created)
    task.business_status = "appointment-booked" if books else "appointment-proposed"
    if consult.appointment_offered_at is None:
        consult.appointment_offered_at = now  # the answer-time norm of these forms is met by the first offer
    session.flush()
    for appointment in created:  # one entry per resource (NEN 7513 names what was acted on)
        event = "appointment.reschedule" if replaced else "appointment.propose"
        record(session, actor_of(user, source_ip), event=event,
               action=AuditAction.CREATE, resource_type="Appointment", resource_id=appointment.id,
               patient_ref=consult.patient_resource_id, at=now,
               detail=f"status={status.value}" + (f"; replaces={replaced.id}" if replaced else ""))
    return created


def specialist_books(session: Session, consult: Consult) -> bool:
    agreement = session.get(Agreement, consult.agreement_id) if consult.agreement_id else None
    return agreement is not None and agreement.appointment_booking == "specialist"


def _check_agenda(session: Session, agb: str, proposal: Proposal, replaced: Appointment | None) -> None:
    """No proposed time may overlap another open appointment of the same specialist (any consult)."""
    length = timedelta(minutes=proposal.minutes)
    numbers = proposal.fields or tuple(range(1, len(proposal.starts) + 1))
    for index, start in zip(numbers, proposal.starts, strict=True):
        clash = session.scalar(select(Appointment.id).where(
            Appointment.practitioner_agb == agb, Appointment.status.in_(OPEN_APPOINTMENT),
            Appointment.start < start + length, Appointment.end > start,
            Appointment.id != (replaced.id if replaced else "")).limit(1))
        if clash is not None:
            raise FormErrors({f"start_{index}": N_("You already have an appointment at this time")})


def _own_appointment(session: Session, user: InboxUser, consult_id: str, appointment_id: str) -> Appointment:
    task_of(session, user, consult_id)  # the consult must be the user's or their group's
    appointment = session.scalar(select(Appointment).where(Appointment.id == appointment_id,
                                                           Appointment.consult_id == consult_id))
    if appointment is None:
        raise NotFound(N_("This appointment does not exist"))
    return appointment


def appointment_of_user(session: Session, user: InboxUser, consult_id: str,
                        appointment_id: str) -> tuple[Appointment, str] | None:
    """An appointment of a consult the user may see (open or not), with the consult's specialism; else None."""
    try:
        appointment = _own_appointment(session, user, consult_id, appointment_id)
    except NotFound:
        return None
    return appointment, appointment.consult.specialism


def withdraw_or_cancel(session: Session, user: InboxUser, consult_id: str, appointment_id: str, reason: str,
                       now: datetime, source_ip: str | None = None) -> Appointment:
    """The specialist takes back a proposed time, or cancels a booked one (with a reason for the GP)."""
    task = appointment_consult(session, user, consult_id)
    appointment = _own_appointment(session, user, consult_id, appointment_id)
    text = reason.strip()
    if appointment.status not in OPEN_APPOINTMENT:
        raise FormErrors({"category": _closed_message(appointment)})
    if appointment.status is AppointmentStatus.BOOKED and not text:
        raise FormErrors({"reason": N_("Give the GP a reason for cancelling the appointment")})
    if len(text) > MAX_INSTRUCTIONS:
        raise FormErrors({"reason": N_("This text is too long (at most 1,000 characters)")})
    was = appointment.status
    _cancel(appointment, "specialist", text or None, now)
    _touch_task(session, task, now)
    session.flush()
    record(session, actor_of(user, source_ip), event="appointment.withdraw" if was is AppointmentStatus.PROPOSED
           else "appointment.cancel", action=AuditAction.UPDATE, resource_type="Appointment",
           resource_id=appointment.id, patient_ref=task.consult.patient_resource_id, at=now)
    return appointment


def _closed_message(appointment: Appointment) -> str:
    if appointment.status is AppointmentStatus.FULFILLED:
        return N_("This appointment has taken place and can no longer be changed")
    if appointment.status is AppointmentStatus.NOSHOW:
        return N_("This appointment was missed and can no longer be changed")
    return N_("This appointment was cancelled and can no longer be changed")


#: The no-show message to the GP (Dutch: it goes to a Dutch GP system, whatever the specialist's language).
NO_SHOW_MESSAGE = ("De patiënt is niet verschenen op de afspraak van {when}. Het consult wacht op u: laat weten of "
                   "er een nieuwe afspraak moet komen, of trek het consult in.")


def mark(session: Session, user: InboxUser, consult_id: str, appointment_id: str, outcome: str, note: str,
         now: datetime, source_ip: str | None = None) -> Appointment:
    """After the time has begun: the appointment took place (fulfilled) or the patient did not come (noshow).

    A no-show goes back to the GP: the Task waits on the GP (on-hold, business status appointment-no-show) with a
    message saying so; the GP answers (a new appointment) or cancels the consult."""
    task = appointment_consult(session, user, consult_id)
    appointment = _own_appointment(session, user, consult_id, appointment_id)
    if outcome not in ("fulfilled", "noshow"):
        raise FormErrors({"category": N_("Choose whether the appointment took place or the patient did not come")})
    if appointment.status is not AppointmentStatus.BOOKED:
        raise FormErrors({"category": _closed_message(appointment) if appointment.status not in OPEN_APPOINTMENT
                          else N_("Only a booked appointment can be marked as held or missed")})
    if appointment.start > now:
        raise FormErrors({"category": N_("This appointment has not begun yet")})
    text = note.strip()
    if len(text) > MAX_INSTRUCTIONS:
        raise FormErrors({"note": N_("This text is too long (at most 1,000 characters)")})
    take(task, user, now)
    appointment.status = AppointmentStatus(outcome)
    _bump(appointment, now)
    if appointment.status is AppointmentStatus.NOSHOW:
        transition(task, TaskStatus.ON_HOLD, now)
        task.business_status = "appointment-no-show"
        when = appointment.start.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")
        write_message(session, task, user, MessageCategory.REQUEST_FOR_INFORMATION,
                 text or NO_SHOW_MESSAGE.format(when=when), now)
    else:
        task.business_status = "appointment-fulfilled"
    session.flush()
    record(session, actor_of(user, source_ip), event=f"appointment.{outcome}", action=AuditAction.UPDATE,
           resource_type="Appointment", resource_id=appointment.id, patient_ref=task.consult.patient_resource_id,
           at=now)
    return appointment


def require_no_open_appointment(session: Session, consult: Consult) -> None:
    """Advice on a video consult or ECMS comes after the appointment: not while one is proposed or booked."""
    if consult.consult_form in APPOINTMENT_FORMS and any(a.status in OPEN_APPOINTMENT
                                                         for a in appointments_of(session, consult.id)):
        raise FormErrors({"category": N_("Mark the appointment as held or missed, or cancel it, before you "
                                         "give advice")})


def cancel_open_appointments(session: Session, consult: Consult, by: str, reason: str, now: datetime) -> int:
    """When a consult ends otherwise (declined, forwarded, cancelled by the GP), its open times are freed."""
    count = 0
    for appointment in appointments_of(session, consult.id):
        if appointment.status in OPEN_APPOINTMENT:
            _cancel(appointment, by, reason, now)
            count += 1
    return count


# -- the GP system's side (FHIR) ---------------------------------------------------------------------

def update_by_gp(session: Session, actor: Actor, appointment: Appointment, submitted: dict[str, Any],
                 if_match: str | None, now: datetime) -> Appointment:
    """A GP system's PUT of an Appointment: book a proposed time or cancel; nothing else is the GP's to change."""
    check_version(appointment.version_id, if_match)
    _same_times(appointment, submitted)
    _nothing_else_changed(appointment, submitted)
    wanted = submitted.get("status")
    if wanted == appointment.status.value:
        return appointment  # FHIR update is idempotent
    if appointment.status in (AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW):
        raise UnprocessableInput(_closed_message(appointment), issues=[Issue(
            "business-rule", _closed_message(appointment), "Appointment.status")])
    task = appointment.consult.task
    if task.status not in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD):
        raise Conflict(N_("The consult of this appointment is no longer open"), expression="Appointment.status")
    if wanted == AppointmentStatus.BOOKED.value:
        _book_by_gp(session, appointment, now)
    elif wanted == AppointmentStatus.CANCELLED.value:
        reason = submitted.get("cancelationReason")
        text = reason.get("text") if isinstance(reason, dict) else None
        _cancel(appointment, "gp", str(text)[:MAX_INSTRUCTIONS] if text else None, now)
        _touch_task(session, task, now)
    else:
        message = N_("A GP system books a proposed time (status 'booked') or cancels one (status 'cancelled'); "
                     "'fulfilled' and 'noshow' are for the specialist to record")
        raise UnprocessableInput(message, issues=[Issue("business-rule", message, "Appointment.status")])
    session.flush()  # a concurrent change of the same version fails here (optimistic locking): 412
    record(session, actor, event="fhir.update", action=AuditAction.UPDATE, resource_type="Appointment",
           resource_id=appointment.id, patient_ref=appointment.consult.patient_resource_id, at=now,
           detail=f"status={appointment.status.value}")
    return appointment


def _same_times(appointment: Appointment, submitted: dict[str, Any]) -> None:
    """The GP may not move a time: other times are asked for in a message, and the specialist proposes them."""
    for element, ours in (("start", appointment.start), ("end", appointment.end)):
        raw = submitted.get(element)
        if raw is None:
            continue
        try:
            theirs = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInput(N_("Appointment.%(element)s is not a valid instant"), params={"element": element},
                               expression=f"Appointment.{element}") from exc
        if theirs.tzinfo is None or theirs != ours:
            message = N_("The times of an appointment are the specialist's: book or cancel it as proposed, and "
                         "ask for other times in a message")
            raise UnprocessableInput(message, issues=[Issue("business-rule", message, f"Appointment.{element}")])


#: What a GP system may change in an Appointment it PUTs (times are compared as instants, above).
_GP_FIELDS = frozenset({"status", "cancelationReason", "meta", "text", "start", "end"})


def _comparable(resource: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in resource.items() if k not in _GP_FIELDS}
    participants = kept.get("participant")
    if isinstance(participants, list):  # a participant's own answer (status) is not compared
        kept["participant"] = [{k: v for k, v in p.items() if k != "status"} if isinstance(p, dict) else p
                               for p in participants]
    return kept


def _nothing_else_changed(appointment: Appointment, submitted: dict[str, Any]) -> None:
    """A changed link, instruction or participant must not look saved when it is not: refuse it (422)."""
    ours, theirs = _comparable(appointment_to_fhir(appointment, appointment.consult)), _comparable(submitted)
    changed = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    if changed:
        message = N_("A GP system may change only the status (booked or cancelled) and cancelationReason of an "
                     "appointment; this update also changes %(changed)s. Ask the specialist for other times or "
                     "details in a message")
        params = {"changed": ", ".join(changed)}
        raise UnprocessableInput(message, params=params,
                                 issues=[Issue("business-rule", message, f"Appointment.{changed[0]}", params=params)])


def _book_by_gp(session: Session, appointment: Appointment, now: datetime) -> None:
    if appointment.status is AppointmentStatus.CANCELLED:
        withdrawn = appointment.cancelled_by in ("specialist", "service")
        raise Conflict(N_("This time was withdrawn: book one of the times still proposed, or ask the specialist "
                          "for new ones") if withdrawn else
                       N_("This time was cancelled: book one of the times still proposed"),
                       expression="Appointment.status")
    if appointment.start <= now:
        raise Conflict(N_("This time has passed: ask the specialist for a new one"), expression="Appointment.start")
    appointment.status = AppointmentStatus.BOOKED
    appointment.booked_by = "gp"
    _bump(appointment, now)
    # Booking one time withdraws the others: the specialist's agenda is freed at once.
    for other in appointments_of(session, appointment.consult_id):
        if other.id != appointment.id and other.status is AppointmentStatus.PROPOSED:
            _cancel(other, "service", N_("Another proposed time was booked"), now)
    _touch_task(session, appointment.consult.task, now)


# -- shared ---------------------------------------------------------------------------------------

def appointments_of(session: Session, consult_id: str) -> list[Appointment]:
    return list(session.scalars(select(Appointment).where(Appointment.consult_id == consult_id)
                                .order_by(Appointment.start, Appointment.created_at)))


def _bump(appointment: Appointment, now: datetime) -> None:
    appointment.version_id += 1
    appointment.updated_at = now


def _cancel(appointment: Appointment, by: str, reason: str | None, now: datetime) -> None:
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_by, appointment.cancellation_reason = by, reason
    _bump(appointment, now)


def _touch_task(session: Session, task: ConsultTask, now: datetime) -> None:
    """A new Task version, so subscribers hear of the appointment change, with a business status that follows
    the consult's appointments (the session's own objects: what was just changed counts)."""
    statuses = {a.status for a in appointments_of(session, task.consult_id)}
    if AppointmentStatus.BOOKED in statuses:
        task.business_status = "appointment-booked"
    elif AppointmentStatus.PROPOSED in statuses:
        task.business_status = "appointment-proposed"
    else:
        task.business_status = "appointment-cancelled"
    task.version_id += 1
    task.updated_at = now
