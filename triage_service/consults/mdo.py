"""The expertise team's case discussion (MDO, multidisciplinair overleg): a member puts a team consult on the
agenda of a date, moves it, or takes it off; the team's agenda lists the consults per date (issue 23).

The answer norm keeps running while a consult waits for the MDO. Dutch collaboration agreements fix the answer
time per consult and do not stop it for a team's own meeting: the GP asked a question and waits for the answer
whoever discusses it, and the norm is what the insurer and the zorggroep monitor. Unlike waiting on the GP
(consults/norm_clock.py: the answer depends on the GP, so the norm pauses), waiting on the MDO is the team's
own planning. So a team plans its MDO within the norm: the consult page and the agenda show the due time
beside the MDO date and warn when the MDO is after it (``Placement.late``), and the date is not refused for
it: a team may decide that a late, discussed answer is better, and the monitoring will show it as late.

The date may not lie in the past (by the one clock, in Dutch time): an agenda for a meeting that was held
cannot be kept. Every placement, move and removal is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults.teams import is_member, team_of_consult
from triage_service.errors import N_, Conflict, FormErrors, NotFound
from triage_service.models import AuditAction, Consult, ConsultTask, ExpertiseTeam, MdoEntry
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.web_auth import InboxUser

#: An MDO is planned within weeks, not years: a date further out is a typing error (2062 for 2026).
FURTHEST = timedelta(days=366)


@dataclass(frozen=True)
class Placement:
    entry: MdoEntry
    due_at: datetime | None
    #: The MDO is after the answer's due day: the team answers late unless it answers before the meeting.
    late: bool


def is_late(mdo_date: date, due_at: datetime | None) -> bool:
    return due_at is not None and mdo_date > due_at.astimezone(AMSTERDAM).date()


def _team_task(session: Session, user: InboxUser, consult_id: str) -> tuple[ConsultTask, ExpertiseTeam]:
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id))
    team = team_of_consult(session, task.consult) if task is not None else None
    if task is None or team is None or not is_member(session, team, user):
        raise NotFound(N_("This consult does not exist or is not a consult of your expertise team"))
    if task.status not in OPEN_STATUSES:
        raise Conflict(N_("This consult is no longer open"))
    return task, team


def place_on_agenda(session: Session, actor: Actor, user: InboxUser, consult_id: str, mdo_date: date | None,
                    now: datetime) -> Placement:
    """Put the consult on the agenda of the team's MDO of ``mdo_date`` (or move it there)."""
    task, team = _team_task(session, user, consult_id)
    today = now.astimezone(AMSTERDAM).date()
    if mdo_date is None:
        raise FormErrors({"mdo_date": N_("Enter the date of the MDO as dd-mm-jjjj (for example 15-12-2026)")})
    if mdo_date < today:
        raise FormErrors({"mdo_date": N_("The date of the MDO is in the past: choose today or a later date")})
    if mdo_date > today + FURTHEST:
        raise FormErrors({"mdo_date": N_("The date of the MDO is more than a year away: check the year")})
    entry = session.scalar(select(MdoEntry).where(MdoEntry.consult_id == consult_id))
    previous = entry.mdo_date if entry is not None else None
    if entry is None:
        entry = MdoEntry(consult_id=consult_id, team_id=team.id, mdo_date=mdo_date, placed_by_agb=user.practitioner_agb,
                         placed_by_name=user.display_name, placed_at=now)
        session.add(entry)
    else:
        entry.mdo_date, entry.placed_by_agb, entry.placed_by_name, entry.placed_at = \
            mdo_date, user.practitioner_agb, user.display_name, now
    late = is_late(mdo_date, task.due_at)
    record(session, actor, event="mdo.move" if previous else "mdo.place", action=AuditAction.UPDATE,
           resource_type="ServiceRequest", resource_id=consult_id, patient_ref=task.consult.patient_resource_id,
           at=now, detail=f"team={team.id}; date={mdo_date.isoformat()}"
           + (f"; from={previous.isoformat()}" if previous else "") + ("; after_due=yes" if late else ""))
    session.flush()
    return Placement(entry, task.due_at, late)


def take_off_agenda(session: Session, actor: Actor, user: InboxUser, consult_id: str, now: datetime) -> None:
    task, team = _team_task(session, user, consult_id)
    entry = session.scalar(select(MdoEntry).where(MdoEntry.consult_id == consult_id))
    if entry is None:
        raise Conflict(N_("This consult is not on the agenda of the MDO"))
    record(session, actor, event="mdo.remove", action=AuditAction.DELETE, resource_type="ServiceRequest",
           resource_id=consult_id, patient_ref=task.consult.patient_resource_id, at=now,
           detail=f"team={team.id}; date={entry.mdo_date.isoformat()}")
    session.delete(entry)
    session.flush()


def placement_of(session: Session, consult_id: str) -> Placement | None:
    row = session.execute(select(MdoEntry, ConsultTask.due_at).join(ConsultTask, ConsultTask.consult_id ==
                                                                     MdoEntry.consult_id)
                          .where(MdoEntry.consult_id == consult_id)).first()
    if row is None:
        return None
    entry, due = row
    return Placement(entry, due, is_late(entry.mdo_date, due))


@dataclass(frozen=True)
class AgendaItem:
    consult_id: str
    icpc: str
    priority: str
    due_at: datetime | None
    late: bool
    #: Still in the team's queue, or the member who took it.
    owner_name: str | None
    in_queue: bool
    placed_by: str
    patient_ref: str | None
    #: For the page's summary of the question (web/inbox_list.summary_of): decrypted only when shown.
    consult: Consult


def agenda(session: Session, team: ExpertiseTeam, now: datetime) -> list[tuple[date, list[AgendaItem]]]:
    """The team's coming MDOs, each with its open consults, most urgent first within a date."""
    today = now.astimezone(AMSTERDAM).date()
    rows = session.execute(
        select(MdoEntry, ConsultTask, Consult).join(Consult, Consult.id == MdoEntry.consult_id)
        .join(ConsultTask, ConsultTask.consult_id == Consult.id)
        .where(MdoEntry.team_id == team.id, MdoEntry.mdo_date >= today, ConsultTask.status.in_(OPEN_STATUSES))
        .order_by(MdoEntry.mdo_date, ConsultTask.urgent.desc(), ConsultTask.due_at, Consult.id)).all()
    days: dict[date, list[AgendaItem]] = {}
    for entry, task, consult in rows:
        days.setdefault(entry.mdo_date, []).append(AgendaItem(
            consult.id, ", ".join(consult.icpc_codes), consult.priority, task.due_at,
            is_late(entry.mdo_date, task.due_at), task.owner_name, task.owner_kind == "organisation",
            entry.placed_by_name, consult.patient_resource_id, consult))
    return sorted(days.items())
