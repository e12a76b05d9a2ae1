"""Overdue and unassignable consults (issue 22): the open consults past their due time, for the zorggroep's
dashboard and for the specialists of the group, or the members of the expertise team, that can take them.

Open means accepted or in progress: a consult waiting on the GP (on-hold) has a paused norm and the specialist
cannot act on it (consults/norm_clock.py), and a video consult or ECMS whose appointment was offered has met
its norm (the offer is the answer, as in routing/deadlines.py and reports/facts.py). The due time is the
Task's, which the norm clock has moved on by every pause.

*Unassignable* is a consult for which the answer-norm monitor found nobody to take it over: an
"overdue-unassignable" DeadlineEvent (routing/deadlines.py). Each row names the consult, practice,
specialism, form, priority, due time and owner; never the patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from triage_service.models import Agreement, Consult, ConsultTask, DeadlineEvent, Organisation, TaskStatus

#: Open and not waiting on the GP: the norm runs.
RUNNING = (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS)
UNASSIGNABLE = "overdue-unassignable"
#: At most this many rows on a page; the total is counted apart.
LIMIT = 100


@dataclass(frozen=True)
class OverdueConsult:
    consult_id: str
    practice: str
    specialism: str
    form: str
    priority: str
    due_at: datetime
    #: The Task's owner: a specialist's name, or the group's when it waits in the group queue.
    owner_name: str | None
    in_group_queue: bool
    late_by: timedelta
    #: The answer-norm monitor has acted on it (escalated to a colleague or the group, or found nobody).
    escalated: bool
    #: The monitor found nobody to take it over.
    unassignable: bool


@dataclass(frozen=True)
class OverdueList:
    rows: list[OverdueConsult]
    #: All overdue consults, of which ``rows`` are the most late ones (at most the limit asked for).
    total: int
    #: Of the total, those nobody could take over.
    unassignable: int


def _overdue(now: datetime) -> list[ColumnElement[bool]]:
    return [ConsultTask.status.in_(RUNNING), ConsultTask.paused_at.is_(None), ConsultTask.due_at.is_not(None),
            ConsultTask.due_at < now, Consult.appointment_offered_at.is_(None)]


def _rows(session: Session, where: list[Any], now: datetime, limit: int = LIMIT) -> OverdueList:
    unassignable = exists().where(DeadlineEvent.task_id == ConsultTask.id, DeadlineEvent.kind == UNASSIGNABLE)
    base = (select(ConsultTask, Consult, Organisation.name, unassignable)
            .join(Consult, Consult.id == ConsultTask.consult_id)
            .join(Organisation, Organisation.id == Consult.organisation_id)
            .where(*where))
    total, nobody_count = session.execute(
        select(func.count(), func.count().filter(unassignable)).select_from(ConsultTask)
        .join(Consult, Consult.id == ConsultTask.consult_id).where(*where)).one()
    rows: list[OverdueConsult] = []
    if not total:  # the usual case on every inbox page: no second query
        return OverdueList(rows, 0, 0)
    for task, consult, practice, nobody in session.execute(base.order_by(ConsultTask.due_at, ConsultTask.id)
                                                           .limit(limit)):
        due = task.due_at
        assert due is not None  # the query asks for a due time before now
        rows.append(OverdueConsult(
            consult.id, practice, consult.specialism, consult.consult_form, consult.priority, due,
            task.owner_name, task.owner_kind == "organisation", now - due,
            escalated=task.escalated_at is not None, unassignable=bool(nobody)))
    return OverdueList(rows, int(total or 0), int(nobody_count or 0))


def overdue_consults(session: Session, zorggroep_id: str, now: datetime) -> OverdueList:
    """The zorggroep's open consults past their due time, most late first."""
    of_zorggroep = Consult.agreement_id.in_(select(Agreement.id).where(Agreement.zorggroep_id == zorggroep_id))
    return _rows(session, [*_overdue(now), of_zorggroep], now)


def group_overdue(session: Session, organisation_agb: str | None, now: datetime, limit: int = LIMIT) -> OverdueList:
    """The overdue consults waiting in a group's queue (the escalation's last stop): any specialist of the
    group may take one."""
    return queues_overdue(session, (organisation_agb,) if organisation_agb else (), now, limit)


def queues_overdue(session: Session, queue_agbs: Sequence[str], now: datetime, limit: int = LIMIT) -> OverdueList:
    """The overdue consults waiting in any of these group queues: a specialist's organisation's and those of
    the expertise teams they are a member of (a team's queue is a group queue like any other, issue 23)."""
    if not queue_agbs:
        return OverdueList([], 0, 0)
    in_queue = [ConsultTask.owner_kind == "organisation", ConsultTask.owner_agb.in_(queue_agbs)]
    return _rows(session, [*_overdue(now), *in_queue], now, limit)
