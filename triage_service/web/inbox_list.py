"""What the inbox lists: the consults a specialist triages, in five views, most urgent first.

Views (issue 21): *mine* (assigned to me, to be answered), *waiting* (asked the GP, waiting for the answer),
*group* (the group's queue), *answered* (newest answer first, with its date and outcome) and *closed*
(declined, cancelled, or forwarded away by me: after forwarding the Task is someone else's, so those are
found through my own action, consults/time_spent.py).

Ordering of the open views follows the work: urgent, asap and stat consults first (an out-of-hours question
waits minutes, not days), then consults flagged as likely referrals (triaged first), each by due time.

Each row carries what a specialist triages on: the question's first line, the practice, received and due
time, urgency, photo count and flags. The question sits in the consult's encrypted resource, so the page
decrypts one resource per row (25 at most); the counts and the order come from the Task's indexed columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import URL, Select, and_, func, literal, literal_column, not_, or_, select
from sqlalchemy.orm import Session, contains_eager

from triage_service import clock
from triage_service.consults.norm_clock import PausedNorm, paused
from triage_service.models import Consult, ConsultTask, Organisation, ReferralFlag, TaskStatus
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.routing.service import age_on, routing_table, specialism_label
from triage_service.security.web_auth import InboxUser
from triage_service.web.inbox import forwarded_by, visible
from triage_service.web.norm_text import paused_left_words
from triage_service.web.overdue import OverdueSection, inbox_notice
from triage_service.web.urgent import RowCallout, row_callouts

PAGE_SIZE = 25
VIEWS = ("mine", "waiting", "group", "answered", "closed")
#: "Open" with the statuses written into the SQL, so PostgreSQL sees that the partial index of the queue
#: (models/consult.py, ix_consult_tasks_open_queue) covers the query even in a prepared, generic plan.
OPEN_LITERAL = ConsultTask.status.in_([literal_column(f"'{status.value}'") for status in OPEN_STATUSES])
TO_ANSWER = (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS)
CLOSED = (TaskStatus.REJECTED, TaskStatus.CANCELLED, TaskStatus.FAILED)
PRIORITIES = ("routine", "urgent", "asap", "stat")
#: Due within this time: marked "due soon" in the list.
NEAR = timedelta(hours=4)
#: The question's first line, cut where a row stays one or two lines on a phone.
SUMMARY_LENGTH = 110


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
    summary: str = ""
    practice: str = ""
    photo_count: int = 0
    flags: tuple[str, ...] = ()
    completed_at: datetime | None = None
    outcome: str | None = None
    #: Closed view: the consult is now someone else's because this specialist forwarded it.
    forwarded_away: bool = False
    closed_at: datetime | None = None
    #: The Patient resource (for the search's audit entry); never shown.
    patient_ref: str | None = None
    #: Waiting on the GP: the norm is paused (consults/norm_clock.py), with what is left of it in words.
    paused: PausedNorm | None = None
    paused_left: str = ""


@dataclass
class InboxPage:
    rows: list[InboxRow]
    counts: dict[str, int]
    total: int
    page: int
    pages: int
    specialisms: list[tuple[str, str]] = field(default_factory=list)
    #: Overdue consults in the specialist's group queue, shown above every view so a colleague takes one.
    group_overdue: OverdueSection | None = None


def _forwarded_away(user: InboxUser) -> Any:
    """Consults this specialist forwarded that are no longer theirs or their group's."""
    return and_(forwarded_by(user), not_(visible(user)))


def tab_counts(session: Session, user: InboxUser) -> dict[str, int]:
    """The tab counts in one round trip, as a sum of counts per owner and status.

    Each count is a range of the (owner_agb, status, owner_kind) index, read index-only. One count over
    ``owner A OR owner B`` with FILTER clauses was planned on PostgreSQL (after VACUUM, 100,000 consults)
    as a walk of the whole index with a filter: 13 ms, growing with every consult in the region.
    """
    def count(kind: str, agbs: tuple[str | None, ...], *statuses: TaskStatus) -> Any:
        # One index range per owner (a specialist's groups: their organisation's queue and their teams').
        total: Any = literal(0)
        for agb in agbs:
            if agb:
                total = total + select(func.count()).where(
                    ConsultTask.owner_agb == agb, ConsultTask.status.in_(statuses),
                    ConsultTask.owner_kind == kind).scalar_subquery()
        return total

    own, group = ("practitioner", (user.practitioner_agb,)), ("organisation", user.group_agbs)
    away = select(func.count()).select_from(ConsultTask).where(_forwarded_away(user)).scalar_subquery() \
        if user.practitioner_agb else literal(0)
    row = session.execute(select(
        count(*own, *TO_ANSWER),
        count(*own, TaskStatus.ON_HOLD) + count(*group, TaskStatus.ON_HOLD),
        count(*group, *OPEN_STATUSES),
        count(*own, TaskStatus.COMPLETED) + count(*group, TaskStatus.COMPLETED),
        count(*own, *CLOSED) + count(*group, *CLOSED) + away)).one()
    return {view: int(value or 0) for view, value in zip(VIEWS, row, strict=True)}


def _view_clause(user: InboxUser, view: str) -> Any:
    own = and_(ConsultTask.owner_kind == "practitioner", ConsultTask.owner_agb == user.practitioner_agb)
    if view == "answered":
        return and_(visible(user), ConsultTask.status == TaskStatus.COMPLETED)
    if view == "closed":
        return or_(and_(visible(user), ConsultTask.status.in_(CLOSED)), _forwarded_away(user))
    if view == "waiting":
        return and_(visible(user), ConsultTask.status == TaskStatus.ON_HOLD)
    if view == "group":
        return and_(ConsultTask.owner_kind == "organisation", ConsultTask.owner_agb.in_(user.group_agbs),
                    OPEN_LITERAL)
    return and_(own, ConsultTask.status.in_(TO_ANSWER))


def _order(view: str) -> tuple[Any, ...]:
    if view == "answered":
        return (Consult.completed_at.desc(), ConsultTask.id)
    if view == "closed":
        return (ConsultTask.updated_at.desc(), ConsultTask.id)
    return (ConsultTask.urgent.desc(), ConsultTask.likely_referral.desc(), ConsultTask.due_at.asc(),
            ConsultTask.created_at)


def inbox_page(session: Session, user: InboxUser, form: InboxFilter, now: datetime, language: str) -> InboxPage:
    base: Select[Any] = select(ConsultTask).join(Consult, Consult.id == ConsultTask.consult_id)
    where = [_view_clause(user, form.view)]
    if form.priority:
        where.append(Consult.priority == form.priority)
    if form.specialism:
        where.append(Consult.specialism == form.specialism)
    counts = tab_counts(session, user)
    filtered = form.priority or form.specialism
    total = (session.scalar(select(func.count()).select_from(base.where(*where).subquery())) or 0) if filtered \
        else counts[form.view]
    # The consult comes from the join the filter needs already (joinedload joined consults a second time).
    query = (base.where(*where).options(contains_eager(ConsultTask.consult))
             .order_by(*_order(form.view)).limit(PAGE_SIZE).offset((form.page - 1) * PAGE_SIZE))
    tasks = list(session.scalars(query))
    rows = rows_of(session, user, tasks, now.date(), language)
    specialisms = sorted((s, specialism_label(s, language)) for s in _specialisms(session, user))
    return InboxPage(rows, counts, total, form.page, max(1, -(-total // PAGE_SIZE)), specialisms,
                     inbox_notice(session, user, now))


def rows_of(session: Session, user: InboxUser, tasks: list[ConsultTask], today: date,
            language: str) -> list[InboxRow]:
    """The rows of these Tasks, with the practice names and flags of all of them in one query each."""
    callouts = row_callouts(session, tasks)
    consult_ids = [task.consult_id for task in tasks]
    flags: dict[str, list[str]] = {}
    for consult_id, rule in session.execute(select(ReferralFlag.consult_id, ReferralFlag.rule)
                                            .where(ReferralFlag.consult_id.in_(consult_ids))
                                            .order_by(ReferralFlag.flagged_at, ReferralFlag.id)):
        flags.setdefault(consult_id, []).append(rule)
    organisation_ids = {task.consult.organisation_id for task in tasks}
    practices: dict[str, str] = {organisation_id: name for organisation_id, name in session.execute(
        select(Organisation.id, Organisation.name).where(Organisation.id.in_(organisation_ids)))}
    mine = {user.practitioner_agb, *user.group_agbs} - {None}
    return [_row(task, today, language, callouts.get(task.id), practices.get(task.consult.organisation_id, ""),
                 tuple(flags.get(task.consult_id, ())), task.owner_agb not in mine) for task in tasks]


def summary_of(consult: Consult) -> str:
    """The first line of the GP's question, shortened with an ellipsis."""
    notes = consult.resource.get("note", []) if isinstance(consult.resource, dict) else []
    text = next((str(n.get("text", "")) for n in notes if isinstance(n, dict) and n.get("text")), "")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= SUMMARY_LENGTH else first[:SUMMARY_LENGTH - 1].rstrip() + "…"


#: The specialisms of a user's open consults, per worker, for a minute: (database, practitioner, organisation)
#: -> (monotonic time read, specialisms). Reading them joins every open consult (3,000 for one specialist
#: in the benchmark: 25 ms); a filter option that appears a minute late costs nothing.
_OPEN_SPECIALISMS_SECONDS = 60.0
_open_specialisms: dict[tuple[URL, str | None, str | None], tuple[float, frozenset[str]]] = {}


def _specialisms(session: Session, user: InboxUser) -> set[str]:
    """The specialisms the filter offers: those of the user's agreements (from the routing table in memory),
    and of their open consults (one may have come from another specialism). Not a DISTINCT over every
    consult they ever answered: with 100,000 of those that alone took 120-400 ms per page."""
    table = routing_table(session)
    mine = {p.specialism for profiles in table.by_specialism.values() for p in profiles
            if (user.practitioner_agb and user.practitioner_agb in p.specialist_agbs)
            or (user.organisation_agb and user.organisation_agb == p.subcontractor_agb)}
    key = (session.get_bind().engine.url, user.practitioner_agb, user.organisation_agb)
    now = clock.monotonic()
    cached = _open_specialisms.get(key)
    if cached is None or now - cached[0] >= _OPEN_SPECIALISMS_SECONDS:
        cached = (now, frozenset(session.scalars(
            select(Consult.specialism).join(ConsultTask, ConsultTask.consult_id == Consult.id)
            .where(visible(user), ConsultTask.status.in_(OPEN_STATUSES)).distinct())))
        _open_specialisms[key] = cached
    return mine | cached[1]


def _row(task: ConsultTask, today: date, language: str, callout: RowCallout | None, practice: str,
         flags: tuple[str, ...], away: bool) -> InboxRow:
    consult = task.consult
    norm = paused(task)
    return InboxRow(consult.id, specialism_label(consult.specialism, language), consult.priority, consult.consult_form,
                    ", ".join(consult.icpc_codes), age_on(consult.patient_birth_date, today), consult.patient_gender,
                    task.status.value, task.due_at, task.likely_referral, task.created_at, task.owner_name,
                    consult.is_referral_for_triage, task.business_status, task.urgent, callout,
                    summary=summary_of(consult), practice=practice, photo_count=consult.photo_count, flags=flags,
                    completed_at=consult.completed_at, outcome=consult.outcome,
                    forwarded_away=away, closed_at=task.updated_at,
                    patient_ref=consult.patient_resource_id, paused=norm,
                    paused_left=paused_left_words(norm) if norm else "")
