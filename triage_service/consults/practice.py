"""What a GP (or the practice's staff) does with the practice's consults from the portal.

The portal is another door to the same rules as the FHIR API: each action here is written as the
FHIR resource a GP system would send (a Communication answering the question, the Task set to
cancelled or advice-acknowledged, the Appointment set to booked) and handed to the very function
the API calls with it. So a consult worked from the portal and one worked from a HIS are the same
afterwards, and a rule changed in one place holds for both doors. What differs is only who acts:
the audit trail names the GP's account (NEN 7513 wants the person), not a system.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults import appointments, tasks, thread
from triage_service.errors import N_, Forbidden, FormErrors, NotFound
from triage_service.fhir import dutch
from triage_service.fhir.profiles import CANONICAL_BASE, PROFILE_CONSULT_MESSAGE
from triage_service.models import (
    Appointment,
    AuditAction,
    Consult,
    ConsultMessage,
    MessageCategory,
    Organisation,
    Practitioner,
)
from triage_service.security.web_auth import InboxUser

MAX_ANSWER = 10_000


def practice_actor(user: InboxUser, source_ip: str | None) -> Actor:
    return Actor(kind="user", id=user.username, organisation_id=user.organisation_id, source_ip=source_ip)


def practice_of(session: Session, user: InboxUser) -> Organisation:
    organisation = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if organisation is None or not user.in_practice:
        raise Forbidden(N_("This page is for the accounts of a GP practice"))
    return organisation


def consult_of_practice(session: Session, user: InboxUser, consult_id: str) -> Consult:
    """The consult if it is this practice's; the same 404 for another practice's as for none at all, so
    the answer does not reveal which consults exist elsewhere."""
    consult = session.scalar(select(Consult).where(Consult.id == consult_id,
                                                   Consult.organisation_id == user.organisation_id))
    if consult is None or not user.in_practice:
        raise NotFound(N_("This consult does not exist or is not one of your practice's"))
    return consult


def consult_to_read(session: Session, user: InboxUser, consult_id: str) -> tuple[Consult, bool]:
    """A consult the practice may read, and whether only read: its own (it acts on them), or one an out-of-hours
    post asked about one of its patients. The GP stays hoofdbehandelaar after the post's shift, so the advice
    and its letter must reach the patient's own record; what to do with it is theirs, acting on it the post's.
    The same 404 as :func:`consult_of_practice` for any other."""
    own_agb = select(Organisation.agb).where(Organisation.id == user.organisation_id).scalar_subquery()
    consult = session.scalar(select(Consult).where(Consult.id == consult_id, or_(
        Consult.organisation_id == user.organisation_id, Consult.patient_practice_agb == own_agb)))
    if consult is None or not user.in_practice:
        raise NotFound(N_("This consult does not exist or is not one of your practice's"))
    return consult, consult.organisation_id != user.organisation_id


def require_gp(user: InboxUser) -> None:
    """Sending, answering and deciding are the GP's: the GP asks and stays hoofdbehandelaar."""
    if not user.may_send:
        raise Forbidden(N_("Only a GP of the practice can do this; you can prepare it for them"))


def gp_reference(session: Session, user: InboxUser) -> dict[str, Any]:
    """The GP as a GP system names them in a message: a PractitionerRole by the GP's AGB."""
    practitioner = session.get(Practitioner, user.practitioner_id) if user.practitioner_id else None
    if practitioner is None:
        raise Forbidden(N_("Only a GP of the practice can do this; you can prepare it for them"))
    return {"type": "PractitionerRole", "identifier": {"system": dutch.AGB, "value": practitioner.agb},
            "display": practitioner.name}


def answer_question(session: Session, user: InboxUser, consult_id: str, question_id: str, text: str,
                    document_ids: list[str], now: datetime, source_ip: str | None,
                    max_attachments: int) -> ConsultMessage:
    """The GP answers the specialist's question (with extra photos, uploaded as DocumentReferences)."""
    require_gp(user)
    consult = consult_of_practice(session, user, consult_id)
    text = text.strip()
    if not text and not document_ids:
        raise FormErrors({"answer": N_("Write your answer or add a photo")})
    if len(text) > MAX_ANSWER:
        raise FormErrors({"answer": N_("The answer is too long")})
    payload: list[dict[str, Any]] = [{"contentString": text}] if text else []
    payload += [{"contentReference": {"reference": f"DocumentReference/{d}"}} for d in document_ids]
    resource = {
        "resourceType": "Communication", "meta": {"profile": [PROFILE_CONSULT_MESSAGE]},
        "basedOn": [{"reference": f"ServiceRequest/{consult.id}"}],
        "partOf": [{"reference": f"Task/{consult.task.id}"}],
        "inResponseTo": [{"reference": f"Communication/{question_id}"}], "status": "completed",
        "category": [{"coding": [{"system": f"{CANONICAL_BASE}/CodeSystem/triage-message-category",
                                  "code": MessageCategory.INFORMATION_PROVIDED.value}]}],
        "sent": now.isoformat(), "sender": gp_reference(session, user), "payload": payload,
    }
    return thread.post_gp_message(session, practice_actor(user, source_ip), practice_of(session, user), resource,
                                  now, max_attachments)


def cancel(session: Session, user: InboxUser, consult_id: str, reason: str, now: datetime,
           source_ip: str | None) -> None:
    require_gp(user)
    consult = consult_of_practice(session, user, consult_id)
    submitted: dict[str, Any] = {"resourceType": "Task", "status": "cancelled"}
    if reason.strip():
        submitted["statusReason"] = {"text": reason.strip()[:1000]}
    tasks.update_task_by_gp(session, practice_actor(user, source_ip), consult.task, submitted, None, now)


def acknowledge(session: Session, user: InboxUser, consult_id: str, now: datetime, source_ip: str | None) -> None:
    require_gp(user)
    consult = consult_of_practice(session, user, consult_id)
    tasks.acknowledge_advice(session, practice_actor(user, source_ip), consult.task, now)


def book(session: Session, user: InboxUser, consult_id: str, appointment_id: str, now: datetime,
         source_ip: str | None) -> Appointment:
    """Book one of the times the specialist proposed, as a GP system does with a PUT of the Appointment."""
    from triage_service.fhir.appointment import appointment_to_fhir

    require_gp(user)
    consult = consult_of_practice(session, user, consult_id)
    appointment = session.scalar(select(Appointment).where(Appointment.id == appointment_id,
                                                           Appointment.consult_id == consult.id))
    if appointment is None:
        raise NotFound(N_("This appointment time does not exist (any more)"))
    submitted = {**appointment_to_fhir(appointment, consult), "status": "booked"}
    return appointments.update_by_gp(session, practice_actor(user, source_ip), appointment, submitted, None, now)


def record_view(session: Session, user: InboxUser, consult: Consult, now: datetime, source_ip: str | None,
                event: str = "portal.consult.view") -> None:
    record(session, practice_actor(user, source_ip), event=event, action=AuditAction.READ,
           resource_type="ServiceRequest", resource_id=consult.id, patient_ref=consult.patient_resource_id, at=now)


def own_practice_name(session: Session, consult: Consult) -> str | None:
    """The name of the patient's own practice of a consult from an out-of-hours post, when the service knows it."""
    if consult.patient_practice_agb is None:
        return None
    return session.scalar(select(Organisation.name).where(Organisation.agb == consult.patient_practice_agb))
