"""What the practice's screens show: its consults with their status in words, and one consult whole.

Read models for the portal only; every consult is filtered on the account's practice here, and the
actions (consults/practice.py) check it again, so neither a list nor a link shows another practice's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

from triage_service.consults.appointments import appointments_of
from triage_service.consults.letters import current_letters
from triage_service.models import (
    Appointment,
    AppointmentStatus,
    Consult,
    ConsultMessage,
    ConsultTask,
    MessageCategory,
    Organisation,
    StoredResource,
    TaskStatus,
)
from triage_service.records.patients import consult_patient, contained_patient, patient_name
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.security.web_auth import InboxUser

LIST_LIMIT = 200


@dataclass(frozen=True)
class PracticeRow:
    id: str
    specialism: str
    form: str
    priority: str
    icpc: str
    sent_at: datetime
    due_at: datetime | None
    #: The status in the GP's words: a key of ``STATUS_WORDS`` in portal/views.py.
    state: str
    owner_name: str | None
    #: Something waits for the GP: a question, advice to confirm or appointment times to choose.
    needs_gp: bool
    #: Whom it is about, as the practice knows the patient (its own screen: the name and year of birth).
    patient: str = ""


def state_of(task: ConsultTask, consult: Consult) -> tuple[str, bool]:
    """The consult's state as the GP thinks of it, and whether it waits for the GP."""
    business = task.business_status or ""
    if task.status is TaskStatus.ON_HOLD:
        return ("appointment-proposed" if business == "appointment-proposed" else "question"), True
    if task.status is TaskStatus.COMPLETED:
        if consult.is_referral_for_triage:
            return ("referral-accepted" if business == "referral-accepted" else "returned-with-advice"), \
                business not in ("advice-acknowledged", "referral-accepted")
        if business == "advice-acknowledged":
            return ("referral" if consult.outcome == "referral-indicated" else "advice-confirmed"), False
        return "advice", True
    if task.status is TaskStatus.REJECTED:
        return "declined", False
    if task.status is TaskStatus.CANCELLED:
        return "cancelled", False
    if business == "appointment-proposed":
        return "appointment-proposed", True
    if business == "appointment-booked":
        return "appointment-booked", False
    return ("in-progress" if task.status is TaskStatus.IN_PROGRESS else "assigned"), False


def practice_rows(session: Session, user: InboxUser) -> list[PracticeRow]:
    rows = _rows(session, Consult.organisation_id == user.organisation_id)
    # What waits for the GP first (oldest first: it has waited longest), then the rest, newest first.
    waiting = sorted((r for r in rows if r.needs_gp), key=lambda r: r.sent_at)
    return waiting + [r for r in rows if not r.needs_gp]


def rows_from_posts(session: Session, user: InboxUser) -> list[PracticeRow]:
    """Consults out-of-hours posts asked about this practice's patients (read-only here), newest first."""
    own_agb = select(Organisation.agb).where(Organisation.id == user.organisation_id).scalar_subquery()
    rows = _rows(session, Consult.patient_practice_agb == own_agb, Consult.organisation_id != user.organisation_id)
    return [replace(row, needs_gp=False) for row in rows]


def _rows(session: Session, *where: ColumnElement[bool]) -> list[PracticeRow]:
    tasks = session.scalars(select(ConsultTask).join(Consult, Consult.id == ConsultTask.consult_id)
                            .where(*where).options(joinedload(ConsultTask.consult))
                            .order_by(ConsultTask.updated_at.desc()).limit(LIST_LIMIT)).all()
    # Patients a GP system posted on their own (not contained in the request): one query for the page. Their
    # ids come from the consults the condition admitted.
    referenced = {t.consult.patient_resource_id for t in tasks if t.consult.patient_resource_id}
    stored = {r.id: r.resource for r in session.scalars(select(StoredResource).where(
        StoredResource.id.in_(referenced)))} if referenced else {}
    rows = []
    for task in tasks:
        consult = task.consult
        state, needs_gp = state_of(task, consult)
        patient = contained_patient(consult) or stored.get(consult.patient_resource_id or "", {})
        rows.append(PracticeRow(consult.id, consult.specialism, consult.consult_form, consult.priority,
                                ", ".join(consult.icpc_codes), consult.created_at, task.due_at, state,
                                task.owner_name, needs_gp,
                                f"{patient_name(patient)} ({consult.patient_birth_date.year})".strip()))
    return rows


@dataclass(frozen=True)
class Photo:
    id: str
    title: str
    content_type: str
    #: The message it came with (an answer to a question), or None for the request's own photos.
    message_id: str | None = None


@dataclass(frozen=True)
class PracticeConsult:
    consult: Consult
    task: ConsultTask
    state: str
    needs_gp: bool
    question: str
    complaint: str
    patient_name: str
    photos: list[Photo]
    messages: list[ConsultMessage]
    appointments: list[Appointment]
    #: The current consult letter (a DocumentReference id) once the consult is concluded.
    letter_id: str | None = None

    @property
    def open_question(self) -> ConsultMessage | None:
        """The specialist's latest question if no answer has followed it yet."""
        answered = {m.in_response_to_id for m in self.messages if m.in_response_to_id}
        questions = [m for m in self.messages if m.category is MessageCategory.REQUEST_FOR_INFORMATION
                     and m.id not in answered]
        return questions[-1] if questions and self.task.status is TaskStatus.ON_HOLD else None

    @property
    def advice(self) -> ConsultMessage | None:
        return next((m for m in reversed(self.messages) if m.category is MessageCategory.ADVICE), None)

    @property
    def proposed(self) -> list[Appointment]:
        return [a for a in self.appointments if a.status is AppointmentStatus.PROPOSED]

    @property
    def is_open(self) -> bool:
        return self.task.status in OPEN_STATUSES


def practice_consult(session: Session, consult: Consult) -> PracticeConsult:
    resource = consult.resource
    patient = consult_patient(session, consult)
    task = consult.task
    state, needs_gp = state_of(task, consult)
    messages = list(session.scalars(select(ConsultMessage).where(ConsultMessage.consult_id == consult.id)
                                    .order_by(ConsultMessage.sent_at, ConsultMessage.id)))
    references: list[tuple[str, str | None]] = [
        (str(r.get("reference", "")), None) for r in resource.get("supportingInfo", []) if isinstance(r, dict)]
    references += [(f"DocumentReference/{d}", m.id) for m in messages for d in (m.document_ids or [])]
    photos = []
    for reference, message_id in references:
        document = _stored(session, consult, reference)
        for content in (document or {}).get("content", []):
            attachment = content.get("attachment", {})
            url = str(attachment.get("url", ""))
            if url.startswith("Binary/"):
                photos.append(Photo(url.removeprefix("Binary/"), str(attachment.get("title", "")),
                                    str(attachment.get("contentType", "")), message_id))
    return PracticeConsult(
        consult=consult, task=task, state=state, needs_gp=needs_gp,
        question="\n\n".join(n.get("text", "") for n in resource.get("note", [])),
        complaint=", ".join(filter(None, (rc.get("text") for rc in resource.get("reasonCode", [])))),
        patient_name=patient_name(patient),
        photos=photos, messages=messages, appointments=appointments_of(session, consult.id),
        letter_id=current_letters(session, [consult]).get(consult.id))


def _stored(session: Session, consult: Consult, reference: str) -> dict[str, Any] | None:
    if "/" not in reference:
        return None
    rtype, rid = reference.split("/", 1)
    stored = session.scalar(select(StoredResource).where(
        StoredResource.id == rid, StoredResource.resource_type == rtype,
        StoredResource.organisation_id == consult.organisation_id))
    return stored.resource if stored else None
