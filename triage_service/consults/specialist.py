"""The specialist's hold on a consult: which Task they may act on, taking it from the group queue, the
messages they write into the thread, and the free texts of their forms.

Every action of the inbox (advice, referral triage, forwarding, appointments) starts here, so the rule "only
the owner, or a member of the owning group, may act" is written once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor
from triage_service.consults.task_states import transition
from triage_service.consults.time_spent import parse_minutes
from triage_service.errors import N_, Conflict, FormErrors, NotFound
from triage_service.models import ConsultMessage, ConsultTask, MessageCategory, TaskStatus
from triage_service.security.web_auth import InboxUser

MAX_TEXT = 10_000



def task_of(session: Session, user: InboxUser, consult_id: str) -> ConsultTask:
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id,
                                                    ConsultTask.owner_agb.in_(user.owner_agbs)))
    if task is None:
        raise NotFound("This consult does not exist or is not assigned to you or your group")
    return task



def open_task_of(session: Session, user: InboxUser, consult_id: str) -> ConsultTask:
    task = task_of(session, user, consult_id)
    if task.status not in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD):
        raise Conflict("This consult is no longer open")
    return task



def open_task_of_kind(session: Session, user: InboxUser, consult_id: str, referral: bool) -> ConsultTask:
    """An open consult of the kind the action is for (``referral``: a referral sent for triage, else a
    meekijkconsult). The other kind is a form error (400), not a crash: a stale page or a second tab can post
    the wrong form, and the specialist must see why it failed. The inbox checks this before the form's
    fields, so that this, not a field error of a form the page does not show, is what the specialist sees."""
    task = open_task_of(session, user, consult_id)
    if task.consult.is_referral_for_triage != referral:
        raise FormErrors({"category": N_("This is a referral for triage: accept it, return it to the GP with advice, "
                                         "or redirect it") if task.consult.is_referral_for_triage else
                          N_("This is a meekijkconsult, not a referral for triage: answer it with advice and an "
                             "outcome")})
    return task



def take(task: ConsultTask, user: InboxUser, now: datetime) -> None:
    """Work on a consult: from the group queue it becomes the specialist's own; it is now in progress."""
    if task.owner_kind == "organisation" and user.practitioner_agb:
        task.owner_kind, task.owner_agb, task.owner_name = "practitioner", user.practitioner_agb, user.display_name
    if task.status in (TaskStatus.ACCEPTED, TaskStatus.ON_HOLD):
        transition(task, TaskStatus.IN_PROGRESS, now)
    task.version_id += 1
    task.updated_at = now



def checked_text(value: str, field: str, required: str, errors: dict[str, str]) -> str:
    text = value.strip()
    if not text:
        errors[field] = required
    elif len(text) > MAX_TEXT:
        errors[field] = N_("This text is too long (at most 10,000 characters)")
    return text



def text_and_minutes(value: str, field: str, required: str, minutes: str | None) -> tuple[str, int | None]:
    """A required text with the optional time spent beside it (asking, declining, returning a referral):
    both fields checked together, so one refusal names every mistake on the form."""
    errors: dict[str, str] = {}
    text = checked_text(value, field, required, errors)
    spent = parse_minutes(minutes, errors)
    if errors:
        raise FormErrors(errors)
    return text, spent


def required_text(value: str, field: str, required: str) -> str:
    """A single required text field: the text, or FormErrors for that field."""
    errors: dict[str, str] = {}
    text = checked_text(value, field, required, errors)
    if errors:
        raise FormErrors(errors)
    return text



def write_message(session: Session, task: ConsultTask, user: InboxUser, category: MessageCategory, text: str,
             now: datetime, in_response_to: str | None = None) -> ConsultMessage:
    message = ConsultMessage(consult_id=task.consult_id, category=category, sender_role="specialist",
                             sender_agb=user.practitioner_agb, sender_name=user.display_name, text=text,
                             in_response_to_id=in_response_to, sent_at=now)
    session.add(message)
    return message



def actor_of(user: InboxUser, source_ip: str | None) -> Actor:
    return Actor(kind="user", id=user.username, organisation_id=None, source_ip=source_ip)
