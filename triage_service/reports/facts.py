"""Keeping the monitoring's fact rows (models/monitoring.py) in step with consults and their Tasks.

Like the notification outbox, this listens to the session rather than being called from each
service: a consult changes in intake, routing, the inbox, the GP's updates and the worker,
and a fact row forgotten in one of them would make the monitoring quietly wrong.

An urgent consult's time to taken comes from its call-out (models/on_call.py): taking it changes the
call-out, which is noted here like a change of its Task, so the fact follows in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from triage_service.database import forget_at_transaction_end, insert_new
from triage_service.models import (
    APPOINTMENT_FORMS,
    Agreement,
    Consult,
    ConsultTask,
    GpVerdict,
    TaskStatus,
    TimeRegistration,
)
from triage_service.models.monitoring import ConsultFact
from triage_service.models.on_call import UrgentCallout
from triage_service.routing.assignment import URGENT_PRIORITIES
from triage_service.routing.working_time import AMSTERDAM

_CHANGED = "triage.changed_consults"
_CREATED = "triage.created_consults"
_TAKEN = "triage.changed_callouts"
_VERDICTS = "triage.new_verdicts"
FIRST_MONDAY = date(2001, 1, 1)
_STATES = {TaskStatus.COMPLETED: "completed", TaskStatus.REJECTED: "rejected", TaskStatus.CANCELLED: "cancelled"}


def week_index(moment: datetime) -> int:
    """The ISO week of a moment in Dutch time, as weeks since Monday 1 January 2001."""
    local = moment.astimezone(AMSTERDAM).date()
    return (local - FIRST_MONDAY).days // 7


def _minutes_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


@dataclass(frozen=True)
class Afterwards:
    """What happened to a consult besides its Task: forwards and the GP's verdict (empty for a new consult)."""

    forwarded: int = 0
    verdict: GpVerdict | None = None


NOTHING_YET = Afterwards()


def norm_met_at(consult: Consult, task: ConsultTask) -> datetime | None:
    """When the consult did what its answer norm asks: the advice, or for a video consult or ECMS the appointment
    offered. None while it has not. The monitoring counts "within norm" by it and the screens say "late" by it,
    so a consult is never on time in one and late in the other."""
    if consult.consult_form in APPOINTMENT_FORMS and consult.appointment_offered_at is not None:
        return consult.appointment_offered_at
    return consult.completed_at if task.status is TaskStatus.COMPLETED else None


def is_late(due_at: datetime | None, met_at: datetime | None, now: datetime) -> bool:
    """Past its due time: met after it, or not met and the due time has passed."""
    if due_at is None:
        return False
    return met_at > due_at if met_at is not None else now > due_at


def fact_values(consult: Consult, task: ConsultTask, zorggroep_id: str | None,
                taken_at: datetime | None = None, afterwards: Afterwards = NOTHING_YET) -> dict[str, Any]:
    """The fact row of a consult; ``taken_at`` is when its call-out was taken ("Ik pak hem op"), if it was."""
    answered = norm_met_at(consult, task)
    minutes = within = None
    if answered is not None:
        minutes = _minutes_between(consult.created_at, answered)
        within = task.due_at is None or answered <= task.due_at
    return {"consult_id": consult.id, "zorggroep_id": zorggroep_id, "agreement_id": consult.agreement_id,
            "practice_id": consult.organisation_id, "specialism": consult.specialism,
            "created_at": consult.created_at, "week": week_index(consult.created_at),
            "consult_form": consult.consult_form, "priority": consult.priority, "gp_intent": consult.gp_intent,
            "category": consult.category, "flagged": bool(task.likely_referral),
            "state": _STATES.get(task.status, "open"), "outcome": consult.outcome,
            "converted": bool(consult.converted_to_referral), "answer_minutes": minutes, "within_norm": within,
            "taken_minutes": None if taken_at is None else _minutes_between(consult.created_at, taken_at),
            "owner_agb": task.owner_agb, "due_at": task.due_at, "paused_at": task.paused_at,
            "answered_by_agb": consult.answered_by_agb, "forwarded": afterwards.forwarded,
            "escalated": task.escalated_at is not None,
            "verdict_useful": verdict.useful if (verdict := afterwards.verdict) else None,
            "verdict_without": verdict.without_advice if verdict else None,
            "verdict_referral_needed": verdict.referral_still_needed if verdict else None}


@event.listens_for(Session, "before_flush")
def _note_changed_consults(session: Session, _context: Any, _instances: Any) -> None:
    # Objects, not ids: a new consult gets its id only when it is inserted.
    changed: list[Consult | ConsultTask] = session.info.setdefault(_CHANGED, [])
    changed.extend(obj for obj in (*session.new, *session.dirty) if isinstance(obj, Consult | ConsultTask))
    # A consult inserted in this transaction has no fact row yet: no need to look for one.
    created: list[Consult] = session.info.setdefault(_CREATED, [])
    created.extend(obj for obj in session.new if isinstance(obj, Consult))
    # A call-out taken: its Task's fact gets the time to taken (the Task itself may not have changed).
    # Objects again: a new call-out's Task may get its id only in this flush.
    callouts: list[UrgentCallout] = session.info.setdefault(_TAKEN, [])
    callouts.extend(obj for obj in session.dirty if isinstance(obj, UrgentCallout))
    # A verdict given: its consult's fact carries it (the consult and its Task have not changed).
    verdicts: list[GpVerdict] = session.info.setdefault(_VERDICTS, [])
    verdicts.extend(obj for obj in session.new if isinstance(obj, GpVerdict))


@event.listens_for(Session, "before_commit")
def _write_facts(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the facts are written once, when the whole transaction commits
    session.flush()

    def kept(key: str) -> list[Any]:
        # What a rolled-back savepoint added is gone again (the portal's refused send, an intake's duplicate).
        return [obj for obj in session.info.pop(key, []) if inspect(obj).persistent]

    changed: list[Consult | ConsultTask] = kept(_CHANGED)
    created = {consult.id for consult in kept(_CREATED)}
    changed.extend(_tasks(session, {callout.task_id for callout in kept(_TAKEN)}))
    changed.extend(_consults(session, {verdict.consult_id for verdict in kept(_VERDICTS)}))
    pairs = _consults_with_tasks(session, changed)
    if not pairs:
        return
    zorggroeps = _zorggroeps(session, {c.agreement_id for c, _ in pairs if c.agreement_id})
    taken = _taken_at(session, [t.id for c, t in pairs if c.priority in URGENT_PRIORITIES])
    known = [c.id for c, _ in pairs if c.id not in created]
    existing = {f.consult_id: f for f in session.scalars(select(ConsultFact).where(ConsultFact.consult_id.in_(known)))
                } if known else {}
    afterwards = _afterwards(session, known)
    new: list[dict[str, Any]] = []
    for consult, task in pairs:
        values = fact_values(consult, task, zorggroeps.get(consult.agreement_id or ""), taken.get(task.id),
                             afterwards.get(consult.id, NOTHING_YET))
        fact = existing.get(consult.id)
        if fact is None:
            new.append(values)
        else:
            for name, value in values.items():
                setattr(fact, name, value)
    insert_new(session, ConsultFact, new)  # a new consult's fact: one INSERT, not through the unit of work
    session.flush()
    # The facts' own flush noted nothing worth another round.
    session.info.pop(_CHANGED, None)
    session.info.pop(_CREATED, None)
    session.info.pop(_TAKEN, None)
    session.info.pop(_VERDICTS, None)


def _tasks(session: Session, task_ids: set[str]) -> list[ConsultTask]:
    """The Tasks of changed call-outs (from the identity map where they are there already)."""
    tasks = [session.get(ConsultTask, task_id) for task_id in sorted(task_ids)]
    return [task for task in tasks if task is not None]


def _consults(session: Session, consult_ids: set[str]) -> list[Consult]:
    consults = [session.get(Consult, consult_id) for consult_id in sorted(consult_ids)]
    return [consult for consult in consults if consult is not None]


def _afterwards(session: Session, consult_ids: list[str]) -> dict[str, Afterwards]:
    """Forwards and verdicts of consults that existed before this transaction (a new consult has neither, so
    an intake asks nothing): two indexed look-ups by consult id."""
    if not consult_ids:
        return {}
    forwards = dict(session.execute(select(TimeRegistration.consult_id, func.count()).where(
        TimeRegistration.consult_id.in_(consult_ids), TimeRegistration.action == "forward")
        .group_by(TimeRegistration.consult_id)).all())
    verdicts = {v.consult_id: v
                for v in session.scalars(select(GpVerdict).where(GpVerdict.consult_id.in_(consult_ids)))}
    return {i: Afterwards(forwards.get(i, 0), verdicts.get(i)) for i in forwards.keys() | verdicts.keys()}


def _taken_at(session: Session, task_ids: list[str]) -> dict[str, datetime]:
    """When each of these Tasks' call-outs was taken. Only urgent consults have a call-out, so a commit
    without one (most of them) asks nothing; otherwise one indexed look-up (task_id is unique)."""
    if not task_ids:
        return {}
    rows = session.execute(select(UrgentCallout.task_id, UrgentCallout.taken_at).where(
        UrgentCallout.task_id.in_(task_ids), UrgentCallout.taken_at.is_not(None)))
    return {task_id: taken_at for task_id, taken_at in rows if taken_at is not None}


def _consults_with_tasks(session: Session, changed: list[Consult | ConsultTask]) -> list[tuple[Consult, ConsultTask]]:
    """Each changed consult with its Task, from the session's identity map where they are there already
    (an intake has both in hand; reading them back cost a query and a decryption of the resource).

    Not followed through relationships: a consult's ``task`` may have been loaded as empty before its
    Task was created in this same transaction. A consult without a Task yet has no fact row.
    """
    consults: dict[str, Consult] = {}
    tasks: dict[str, ConsultTask] = {}
    for obj in changed:
        if isinstance(obj, Consult):
            consults[obj.id] = obj
        else:
            tasks[obj.consult_id] = obj
    ids = consults.keys() | tasks.keys()
    missing_tasks = ids - tasks.keys()
    if missing_tasks:
        tasks.update((obj.consult_id, obj) for obj in session.identity_map.values()
                     if isinstance(obj, ConsultTask) and obj.consult_id in missing_tasks)
    missing = (ids - consults.keys()) | (ids - tasks.keys())
    if missing:
        for consult, task in session.execute(select(Consult, ConsultTask)
                                              .join(ConsultTask, ConsultTask.consult_id == Consult.id)
                                              .where(Consult.id.in_(missing))):
            consults[consult.id], tasks[consult.id] = consult, task
    return [(consults[i], tasks[i]) for i in sorted(ids) if i in consults and i in tasks]


forget_at_transaction_end(_CHANGED, _CREATED, _TAKEN, _VERDICTS)


#: An agreement's zorggroep never changes (changed terms are a new agreement row), so it is
#: remembered for the life of the process instead of read on every commit.
_ZORGGROEP_OF_AGREEMENT: dict[str, str] = {}


def _zorggroeps(session: Session, agreement_ids: set[str]) -> dict[str, str]:
    unknown = agreement_ids - _ZORGGROEP_OF_AGREEMENT.keys()
    if unknown:
        for agreement_id, zorggroep_id in session.execute(select(Agreement.id, Agreement.zorggroep_id)
                                                          .where(Agreement.id.in_(unknown))):
            _ZORGGROEP_OF_AGREEMENT[agreement_id] = zorggroep_id
    return {i: _ZORGGROEP_OF_AGREEMENT[i] for i in agreement_ids if i in _ZORGGROEP_OF_AGREEMENT}


def rebuild_facts(session: Session, chunk: int = 5_000) -> int:
    """Recompute every fact row from the consults and Tasks (after a bulk load, or to check the copy)."""
    session.execute(delete(ConsultFact))
    zorggroeps = dict(session.execute(select(Agreement.id, Agreement.zorggroep_id)).all())
    count = 0
    for rows in _chunks(session, chunk):
        taken = _taken_at(session, [t.id for c, t in rows if c.priority in URGENT_PRIORITIES])
        afterwards = _afterwards(session, [c.id for c, _ in rows])
        session.execute(insert(ConsultFact), [
            fact_values(c, t, zorggroeps.get(c.agreement_id or ""), taken.get(t.id), afterwards.get(c.id, NOTHING_YET))
            for c, t in rows])
        count += len(rows)
    return count


def _chunks(session: Session, size: int) -> Iterator[list[tuple[Consult, ConsultTask]]]:
    last = ""
    while True:
        rows = session.execute(select(Consult, ConsultTask).join(ConsultTask, ConsultTask.consult_id == Consult.id)
                               .where(Consult.id > last).order_by(Consult.id).limit(size)).all()
        if not rows:
            return
        yield list(rows)
        last = rows[-1][0].id
        session.expunge_all()  # a million consults must not accumulate in the identity map
