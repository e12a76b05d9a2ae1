"""One consult as the inbox shows it, and who may see it: the specialist's own, their group's, one being
called out to them, one they forwarded away (read-only: what they did stays findable, issue 21), and one
routed to an expertise team they are a member of (read-only unless they hold it: consults/teams.py).

The list of consults is web/inbox_list.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, joinedload

from triage_service.agreements.declaration_terms import attestations_required
from triage_service.agreements.norms import norm_minutes_for
from triage_service.consults import letters
from triage_service.consults.appointments import appointments_of, specialist_books
from triage_service.consults.forwarding import SPECIALISM_PREFIX, colleagues_of, other_specialisms
from triage_service.consults.norm_clock import PausedNorm, paused
from triage_service.consults.patient_context import ContextTables, context_tables
from triage_service.consults.teams import read_as_member
from triage_service.fhir.dutch import AGB
from triage_service.models import (
    APPOINTMENT_FORMS,
    Appointment,
    AppointmentStatus,
    Consult,
    ConsultMessage,
    ConsultTask,
    ReferralFlag,
    RoutingDecision,
    StoredResource,
    TimeRegistration,
)
from triage_service.models.appointment import OPEN_APPOINTMENT
from triage_service.reports.facts import is_late, norm_met_at
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.routing.service import age_on, specialism_label
from triage_service.security.web_auth import InboxUser
from triage_service.web.norm_text import paused_left_words
from triage_service.web.urgent import CalloutPanel, called_out_to, callout_panel


def visible(user: InboxUser) -> Any:
    """The ownership rule: the specialist's own consults and those of their group's queue."""
    conditions = []
    if user.practitioner_agb:
        conditions.append(and_(ConsultTask.owner_kind == "practitioner",
                               ConsultTask.owner_agb == user.practitioner_agb))
    if user.group_agbs:
        # The group queues: the organisation's, and those of the expertise teams the specialist is in.
        conditions.append(and_(ConsultTask.owner_kind == "organisation",
                               ConsultTask.owner_agb.in_(user.group_agbs)))
    return or_(*conditions) if conditions else ConsultTask.id.is_(None)


@dataclass(frozen=True)
class PhotoRef:
    id: str
    title: str
    #: The DocumentReference's contentType (checked against the stored file's): a PDF has no thumbnail and is
    #: not shown in the photo viewer.
    content_type: str = ""

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class ConsultDetail:
    id: str
    organisation_id: str
    patient_ref: str | None
    question: str
    icpc: list[tuple[str, str]]
    age: int
    sex: str
    specialism: str
    form: str
    priority: str
    gp_name: str
    practice_name: str
    gp_intent: str | None
    received_at: datetime
    due_at: datetime | None
    status: str
    business_status: str
    #: A referral sent for triage: the page offers accept / return with advice / redirect instead of an answer.
    referral: bool
    owner_name: str | None
    routing_reason: str | None
    flags: list[ReferralFlag]
    photos: list[PhotoRef]
    messages: list[ConsultMessage]
    is_open: bool
    outcome: str | None
    colleagues: list[tuple[str, str]]
    other_specialisms: list[tuple[str, str]]
    #: A video consult or ECMS: answered after an appointment (consults/appointments.py).
    appointment_form: bool = False
    appointments: list[Appointment] = field(default_factory=list)
    #: The agreement lets the specialist book one time directly instead of proposing times.
    specialist_books: bool = False
    urgent: bool = False
    #: An urgent consult's call-out: who was alerted, whether it waits to be taken, who took it.
    callout: CalloutPanel | None = None
    #: This specialist forwarded the consult and it is no longer theirs: shown read-only, without actions.
    forwarded_away: bool = False
    #: What was sent, kept in view after the answer (issue 21): the referral's target and urgency, when it was
    #: concluded, the time registered per action, and the letter for the record if one was made.
    referral_specialism: str | None = None
    referral_urgency: str | None = None
    completed_at: datetime | None = None
    #: When the consult did what its norm asks (reports/facts.py): "late" on the page is what the monitoring counts.
    norm_met_at: datetime | None = None
    registrations: list[TimeRegistration] = field(default_factory=list)
    minutes_total: int | None = None
    letter_id: str | None = None
    #: The agreement's norm time for this consult form: the default of every time field.
    norm_minutes: int | None = None
    #: What the agreement's declaration needs the answering specialist to attest (a checkbox each), and what
    #: was attested once answered (issue 22).
    attestations_required: tuple[str, ...] = ()
    attestations: tuple[str, ...] = ()
    #: Waiting on the GP: the answer norm is paused (consults/norm_clock.py), with what is left of it in words.
    paused: PausedNorm | None = None
    paused_left: str = ""
    #: The patient's medication, allergies and measurements the GP sent along (consults/patient_context.py).
    context: ContextTables | None = None
    #: Opened only as a member of the team the consult was routed to (another member holds it, or it is
    #: closed): read-only, and its reads say so in the audit trail.
    team_member_only: bool = False

    @property
    def may_act(self) -> bool:
        return self.is_open and not self.forwarded_away and not self.team_member_only

    @property
    def access_basis(self) -> str | None:
        """For the audit entry of a read: on what ground the user saw the consult, when not their own."""
        return "access=team-member" if self.team_member_only else None

    def late(self, now: datetime) -> bool:
        return is_late(self.due_at, self.norm_met_at, now)

    @property
    def booked(self) -> Appointment | None:
        return next((a for a in self.appointments if a.status is AppointmentStatus.BOOKED), None)

    @property
    def has_open_appointment(self) -> bool:
        return any(a.status in OPEN_APPOINTMENT for a in self.appointments)


def is_visible(session: Session, user: InboxUser, consult_id: str) -> bool:
    """The consult is the user's own or their group's."""
    return session.scalar(select(ConsultTask.id).where(ConsultTask.consult_id == consult_id, visible(user))) \
        is not None


def _reads_by_right(user: InboxUser) -> Any:
    """What the user may open for a reason of their own: theirs, their group's, called out to them, forwarded
    by them. A team member without any of these reads the team's consult, and only reads it."""
    return or_(visible(user), called_out_to(user), forwarded_by(user))


def openable_ids(session: Session, user: InboxUser, consult_ids: list[str]) -> set[str]:
    """Of these consults, those whose page the user may open (what consult_detail would show)."""
    return set(session.scalars(select(ConsultTask.consult_id).where(
        ConsultTask.consult_id.in_(consult_ids), or_(_reads_by_right(user), read_as_member(user)))))


def _owns(task: ConsultTask, user: InboxUser) -> bool:
    return (task.owner_kind == "practitioner" and task.owner_agb == user.practitioner_agb) or \
        (task.owner_kind == "organisation" and task.owner_agb in user.group_agbs)


def consult_detail(session: Session, user: InboxUser, consult_id: str, language: str = "en") -> ConsultDetail | None:
    """The consult if the user may see it (their own or their group's, or an urgent one being called out to
    them that nobody has taken yet); None otherwise (shown as 404)."""
    by_right = _reads_by_right(user)
    found = session.execute(select(ConsultTask, by_right).where(ConsultTask.consult_id == consult_id,
                                                                or_(by_right, read_as_member(user)))
                            .options(joinedload(ConsultTask.consult))).first()
    if found is None:
        return None
    task, own_right = found
    registrations = list(session.scalars(select(TimeRegistration).where(TimeRegistration.consult_id == consult_id)
                                         .order_by(TimeRegistration.registered_at, TimeRegistration.id)))
    away = not _owns(task, user) and any(r.action == "forward" and r.practitioner_agb == user.practitioner_agb
                                         for r in registrations)
    consult = task.consult
    resource = consult.resource
    contained = {c.get("id"): c for c in resource.get("contained", [])}
    role = _resolve(session, consult, resource.get("requester", {}), contained)
    practitioner = role.get("practitioner", {}) if role else {}
    practice = _resolve(session, consult, role.get("organization", {}), contained) if role else {}
    decision = session.scalar(select(RoutingDecision).where(RoutingDecision.consult_id == consult.id)
                              .order_by(RoutingDecision.decided_at.desc()).limit(1))
    norm = paused(task)
    return ConsultDetail(
        id=consult.id, organisation_id=consult.organisation_id, patient_ref=consult.patient_resource_id,
        question="\n\n".join(n.get("text", "") for n in resource.get("note", [])),
        icpc=[(c.get("code", ""), c.get("display", "")) for rc in resource.get("reasonCode", [])
              for c in rc.get("coding", [])],
        age=age_on(consult.patient_birth_date, consult.created_at.date()), sex=consult.patient_gender,
        specialism=specialism_label(consult.specialism, language), form=consult.consult_form, priority=consult.priority,
        gp_name=str(practitioner.get("display") or _agb_text(practitioner)),
        practice_name=str((practice or {}).get("name", "")), gp_intent=consult.gp_intent,
        received_at=task.created_at, due_at=task.due_at, status=task.status.value,
        business_status=task.business_status, referral=consult.is_referral_for_triage, owner_name=task.owner_name,
        routing_reason=decision.reason if decision else None,
        flags=list(session.scalars(select(ReferralFlag).where(ReferralFlag.consult_id == consult.id)
                                   .order_by(ReferralFlag.flagged_at, ReferralFlag.id))),
        photos=_photos(session, consult, resource, contained),
        messages=list(session.scalars(select(ConsultMessage).where(ConsultMessage.consult_id == consult.id)
                                      .order_by(ConsultMessage.sent_at, ConsultMessage.id))),
        is_open=task.status in OPEN_STATUSES, outcome=consult.outcome,
        colleagues=sorted((agb, name) for agb, (_, name) in colleagues_of(session, task).items()
                          if agb != task.owner_agb),
        other_specialisms=[(f"{SPECIALISM_PREFIX}{code}", specialism_label(code, language))
                           for code in other_specialisms(session, task)],
        appointment_form=consult.consult_form in APPOINTMENT_FORMS,
        appointments=appointments_of(session, consult.id),
        specialist_books=specialist_books(session, consult),
        urgent=task.urgent,
        callout=callout_panel(session, user, task, _owns(task, user)) if task.urgent else None,
        forwarded_away=away,
        referral_specialism=specialism_label(consult.referral_specialism, language)
        if consult.referral_specialism else None,
        referral_urgency=consult.referral_urgency, completed_at=consult.completed_at,
        norm_met_at=norm_met_at(consult, task), registrations=registrations, minutes_total=consult.time_spent_minutes,
        letter_id=letters.current_letters(session, [consult]).get(consult.id),
        norm_minutes=norm_minutes_for(session, consult),
        attestations_required=attestations_required(session, consult), attestations=tuple(consult.attestations or ()),
        paused=norm, paused_left=paused_left_words(norm) if norm else "",
        context=context_tables(session, consult),
        team_member_only=not own_right,
    )


def forwarded_by(user: InboxUser) -> Any:
    """A consult this specialist forwarded: they may read it (read-only) and find it under "closed"."""
    if not user.practitioner_agb:
        return ConsultTask.id.is_(None)
    return exists().where(TimeRegistration.consult_id == ConsultTask.consult_id,
                          TimeRegistration.practitioner_agb == user.practitioner_agb,
                          TimeRegistration.action == "forward")


def _agb_text(reference: dict[str, Any]) -> str:
    identifier = reference.get("identifier", {})
    return f"AGB {identifier.get('value')}" if identifier.get("system") == AGB else ""


def _resolve(session: Session, consult: Consult, reference: dict[str, Any],
             contained: dict[Any, dict[str, Any]]) -> dict[str, Any] | None:
    ref = reference.get("reference", "") if isinstance(reference, dict) else ""
    if ref.startswith("#"):
        return contained.get(ref[1:])
    if "/" in ref:
        rtype, rid = ref.split("/", 1)
        stored = session.scalar(select(StoredResource).where(
            StoredResource.id == rid, StoredResource.resource_type == rtype,
            StoredResource.organisation_id == consult.organisation_id))
        return stored.resource if stored else None
    return None


def _photos(session: Session, consult: Consult, resource: dict[str, Any],
            contained: dict[Any, dict[str, Any]]) -> list[PhotoRef]:
    photos = []
    # The request's photos, then those the GP sent later with an answer in the thread.
    references = list(resource.get("supportingInfo", [])) + [
        {"reference": f"DocumentReference/{d}"} for m in consult.messages for d in (m.document_ids or [])]
    for reference in references:
        document = _resolve(session, consult, reference, contained)
        if not document or document.get("resourceType") != "DocumentReference":
            continue
        for content in document.get("content", []):
            attachment = content.get("attachment", {})
            url = str(attachment.get("url", ""))
            if url.startswith("Binary/"):
                photos.append(PhotoRef(url.removeprefix("Binary/"), str(attachment.get("title", "")),
                                      str(attachment.get("contentType", ""))))
    return photos
