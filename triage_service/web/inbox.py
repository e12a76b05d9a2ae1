"""What the inbox shows: consults owned by the specialist or their group, most urgent first.

Ordering follows the work: urgent, asap and stat consults first (an out-of-hours question waits minutes,
not days), then consults flagged as likely referrals (triaged first, issue 3), each by due time, so overdue
and near-due consults are on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from triage_service import clock
from triage_service.consults.appointments import appointments_of, specialist_books
from triage_service.consults.forwarding import SPECIALISM_PREFIX, colleagues_of, other_specialisms
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
    TaskStatus,
)
from triage_service.models.appointment import OPEN_APPOINTMENT
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.routing.service import age_on, routing_table, specialism_label
from triage_service.security.web_auth import InboxUser
from triage_service.web.urgent import CalloutPanel, RowCallout, called_out_to, callout_panel, row_callouts

PAGE_SIZE = 25
VIEWS = ("mine", "group", "answered")
#: "Open" with the statuses written into the SQL, so PostgreSQL sees that the partial index of the queue
#: (models/consult.py, ix_consult_tasks_open_queue) covers the query even in a prepared, generic plan.
OPEN_LITERAL = ConsultTask.status.in_([literal_column(f"'{status.value}'") for status in OPEN_STATUSES])
PRIORITIES = ("routine", "urgent", "asap", "stat")


@dataclass(frozen=True)
class InboxFilter:
    view: str = "mine"
    priority: str | None = None
    specialism: str | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> InboxFilter:
        """Unknown or malformed filter values fall back to the defaults instead of failing the page."""
        view = args.get("view", "mine")
        priority = args.get("priority") or None
        try:
            page = max(1, min(int(args.get("page", "1")), 10_000))
        except ValueError:
            page = 1
        return cls(view=view if view in VIEWS else "mine",
                   priority=priority if priority in PRIORITIES else None,
                   specialism=(args.get("specialism") or None), page=page)


@dataclass(frozen=True)
class InboxRow:
    consult_id: str
    specialism: str
    priority: str
    form: str
    icpc: str
    age: int
    sex: str
    status: str
    due_at: datetime | None
    likely_referral: bool
    received_at: datetime
    owner_name: str | None
    #: A referral sent for triage rather than a meekijkconsult.
    referral: bool = False
    #: The Task's business status: the list shows where a video consult or ECMS stands with its appointment.
    business_status: str = ""
    #: Urgent, asap or stat: shown with an icon, the priority in words and a countdown (web/urgent.py).
    urgent: bool = False
    #: For an urgent consult that is called out: still waiting for someone to take it, or who took it.
    callout: RowCallout | None = None


@dataclass
class InboxPage:
    rows: list[InboxRow]
    counts: dict[str, int]
    total: int
    page: int
    pages: int
    specialisms: list[tuple[str, str]] = field(default_factory=list)


def _visible(user: InboxUser) -> Any:
    """The ownership rule: the specialist's own consults and those of their group's queue."""
    conditions = []
    if user.practitioner_agb:
        conditions.append(and_(ConsultTask.owner_kind == "practitioner",
                               ConsultTask.owner_agb == user.practitioner_agb))
    if user.organisation_agb:
        conditions.append(and_(ConsultTask.owner_kind == "organisation",
                               ConsultTask.owner_agb == user.organisation_agb))
    return or_(*conditions) if conditions else ConsultTask.id.is_(None)


def _tab_counts(session: Session, user: InboxUser) -> dict[str, int]:
    """The three tab counts in one round trip, as a sum of counts per owner and status.

    Each count is a range of the (owner_agb, status, owner_kind) index, read index-only. One count over
    ``owner A OR owner B`` with FILTER clauses was planned on PostgreSQL (after VACUUM, 100,000 consults)
    as a walk of the whole index with a filter: 13 ms, growing with every consult in the region.
    """
    def count(kind: str, agb: str | None, *statuses: TaskStatus) -> Any:
        if not agb:
            return literal(0)
        return select(func.count()).where(ConsultTask.owner_agb == agb, ConsultTask.status.in_(statuses),
                                          ConsultTask.owner_kind == kind).scalar_subquery()

    own, group = ("practitioner", user.practitioner_agb), ("organisation", user.organisation_agb)
    row = session.execute(select(count(*own, *OPEN_STATUSES), count(*group, *OPEN_STATUSES),
                                 count(*own, TaskStatus.COMPLETED) + count(*group, TaskStatus.COMPLETED))).one()
    return {view: int(value or 0) for view, value in zip(VIEWS, row, strict=True)}


def _view_clause(user: InboxUser, view: str) -> Any:
    if view == "answered":
        return and_(_visible(user), ConsultTask.status == TaskStatus.COMPLETED)
    if view == "group":
        return and_(ConsultTask.owner_kind == "organisation", ConsultTask.owner_agb == user.organisation_agb,
                    OPEN_LITERAL)
    return and_(ConsultTask.owner_kind == "practitioner", ConsultTask.owner_agb == user.practitioner_agb,
                OPEN_LITERAL)


def inbox_page(session: Session, user: InboxUser, form: InboxFilter, now: datetime, language: str) -> InboxPage:
    base: Select[Any] = select(ConsultTask).join(Consult, Consult.id == ConsultTask.consult_id)
    where = [_view_clause(user, form.view)]
    if form.priority:
        where.append(Consult.priority == form.priority)
    if form.specialism:
        where.append(Consult.specialism == form.specialism)
    counts = _tab_counts(session, user)
    filtered = form.priority or form.specialism
    total = (session.scalar(select(func.count()).select_from(base.where(*where).subquery())) or 0) if filtered \
        else counts[form.view]
    # Not the consult's resource: the list shows none of it, and reading it meant fetching and decrypting
    # a few kB per row.
    # The consult comes from the join the filter needs already (joinedload joined consults a second time).
    query = (base.where(*where).options(contains_eager(ConsultTask.consult).defer(Consult.resource))
             .order_by(ConsultTask.urgent.desc(), ConsultTask.likely_referral.desc(), ConsultTask.due_at.asc(),
                       ConsultTask.created_at)
             .limit(PAGE_SIZE).offset((form.page - 1) * PAGE_SIZE))
    today = now.date()
    tasks = list(session.scalars(query))
    callouts = row_callouts(session, tasks)
    rows = [_row(task, today, language, callouts.get(task.id)) for task in tasks]
    specialisms = sorted((s, specialism_label(s, language)) for s in _specialisms(session, user))
    return InboxPage(rows, counts, total, form.page, max(1, -(-total // PAGE_SIZE)), specialisms)


#: The specialisms of a user's open consults, per worker, for a minute: (database, practitioner, organisation)
#: -> (monotonic time read, specialisms). Reading them joins every open consult (3,000 for one specialist
#: in the benchmark: 25 ms); a filter option that appears a minute late costs nothing.
_OPEN_SPECIALISMS_SECONDS = 60.0
_open_specialisms: dict[tuple[str, str | None, str | None], tuple[float, frozenset[str]]] = {}


def _specialisms(session: Session, user: InboxUser) -> set[str]:
    """The specialisms the filter offers: those of the user's agreements (from the routing table in memory),
    and of their open consults (one may have come from another specialism). Not a DISTINCT over every
    consult they ever answered: with 100,000 of those that alone took 120-400 ms per page."""
    table = routing_table(session)
    mine = {p.specialism for profiles in table.by_specialism.values() for p in profiles
            if (user.practitioner_agb and user.practitioner_agb in p.specialist_agbs)
            or (user.organisation_agb and user.organisation_agb == p.subcontractor_agb)}
    key = (session.get_bind().engine.url.render_as_string(), user.practitioner_agb, user.organisation_agb)
    now = clock.monotonic()
    cached = _open_specialisms.get(key)
    if cached is None or now - cached[0] >= _OPEN_SPECIALISMS_SECONDS:
        cached = (now, frozenset(session.scalars(
            select(Consult.specialism).join(ConsultTask, ConsultTask.consult_id == Consult.id)
            .where(_visible(user), ConsultTask.status.in_(OPEN_STATUSES)).distinct())))
        _open_specialisms[key] = cached
    return mine | cached[1]


def _row(task: ConsultTask, today: date, language: str, callout: RowCallout | None) -> InboxRow:
    consult = task.consult
    return InboxRow(consult.id, specialism_label(consult.specialism, language), consult.priority, consult.consult_form,
                    ", ".join(consult.icpc_codes), age_on(consult.patient_birth_date, today), consult.patient_gender,
                    task.status.value, task.due_at, task.likely_referral, task.created_at, task.owner_name,
                    consult.is_referral_for_triage, task.business_status, task.urgent, callout)


@dataclass(frozen=True)
class PhotoRef:
    id: str
    title: str


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

    @property
    def booked(self) -> Appointment | None:
        return next((a for a in self.appointments if a.status is AppointmentStatus.BOOKED), None)

    @property
    def has_open_appointment(self) -> bool:
        return any(a.status in OPEN_APPOINTMENT for a in self.appointments)


def is_visible(session: Session, user: InboxUser, consult_id: str) -> bool:
    """The consult is the user's own or their group's."""
    return session.scalar(select(ConsultTask.id).where(ConsultTask.consult_id == consult_id, _visible(user))) \
        is not None


def _owns(task: ConsultTask, user: InboxUser) -> bool:
    return (task.owner_kind == "practitioner" and task.owner_agb == user.practitioner_agb) or \
        (task.owner_kind == "organisation" and task.owner_agb == user.organisation_agb)


def consult_detail(session: Session, user: InboxUser, consult_id: str, language: str = "en") -> ConsultDetail | None:
    """The consult if the user may see it (their own or their group's, or an urgent one being called out to
    them that nobody has taken yet); None otherwise (shown as 404)."""
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id,
                                                    or_(_visible(user), called_out_to(user)))
                          .options(joinedload(ConsultTask.consult)))
    if task is None:
        return None
    consult = task.consult
    resource = consult.resource
    contained = {c.get("id"): c for c in resource.get("contained", [])}
    role = _resolve(session, consult, resource.get("requester", {}), contained)
    practitioner = role.get("practitioner", {}) if role else {}
    practice = _resolve(session, consult, role.get("organization", {}), contained) if role else {}
    decision = session.scalar(select(RoutingDecision).where(RoutingDecision.consult_id == consult.id)
                              .order_by(RoutingDecision.decided_at.desc()).limit(1))
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
    )


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
                photos.append(PhotoRef(url.removeprefix("Binary/"), str(attachment.get("title", ""))))
    return photos
