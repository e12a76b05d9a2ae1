"""The transactional outbox: every committed Task change owes each matching subscription a notification.

Session events rather than calls in each service: Tasks change in many places (intake,
routing, the inbox, the GP's cancel and acknowledge, the deadline worker), and a
notification forgotten in one of them would be a silent gap in the GP system's view.
The rows are written just before the commit that changes the Task, so they commit or
roll back with it; the worker delivers them afterwards (notifications/delivery.py).

A back-referral's Task (issue 23) is the practice's Task as well: its GP system hears of it when it is sent
and whenever its version moves on (the practice's question, the specialist's answer, the take-over), as
it hears of every change of a consult's Task, its own included. A change to the row that leaves the Task's
version as it was (a column the Task does not show) announces nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, inspect, select, update
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.database import forget_at_transaction_end
from triage_service.models import BackReferral, ConsultTask, Notification, Subscription, SubscriptionStatus
from triage_service.notifications.criteria import parse_criteria
from triage_service.notifications.email import queue_assignment_notices
from triage_service.notifications.practice_notices import queue_practice_notices
from triage_service.settings import Settings

_CHANGED = "triage.changed_tasks"
_REASSIGNED = "triage.reassigned_tasks"
#: Tasks whose status changed: a question or an advice may be news for the practice's portal users.
_STATUS_CHANGED = "triage.status_changed_tasks"
#: Subscriptions still owed events: an errored one keeps collecting them, so that nothing is
#: lost while the receiver is down and everything arrives once the GP system resumes it.
COLLECTING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.ERROR)
#: Back-referrals sent or whose Task's version changed (consults/back_referrals.py bumps it with every move).
_CHANGED_BACK_REFERRALS = "triage.changed_back_referrals"
#: A Task a GP system can subscribe to: a consult's, or a back-referral's.
AnyTask = ConsultTask | BackReferral


@event.listens_for(Session, "before_flush")
def _note_changed_tasks(session: Session, _context: Any, _instances: Any) -> None:
    changed: dict[int, ConsultTask] = session.info.setdefault(_CHANGED, {})
    reassigned: dict[int, ConsultTask] = session.info.setdefault(_REASSIGNED, {})
    for obj in session.new:
        if isinstance(obj, ConsultTask):
            changed[id(obj)] = obj
            if obj.owner_agb is not None:
                reassigned[id(obj)] = obj
    status_changed: dict[int, ConsultTask] = session.info.setdefault(_STATUS_CHANGED, {})
    for obj in session.dirty:
        if isinstance(obj, ConsultTask) and session.is_modified(obj, include_collections=False):
            changed[id(obj)] = obj
            if inspect(obj).attrs.status.history.has_changes():
                status_changed[id(obj)] = obj
            # The owner's history is only visible before the flush: afterwards it is the new normal.
            if inspect(obj).attrs.owner_agb.history.has_changes() and not _taken_from_queue(obj):
                reassigned[id(obj)] = obj
    backs: dict[int, BackReferral] = session.info.setdefault(_CHANGED_BACK_REFERRALS, {})
    backs.update((id(obj), obj) for obj in session.new if isinstance(obj, BackReferral))
    backs.update((id(obj), obj) for obj in session.dirty
                 if isinstance(obj, BackReferral) and inspect(obj).attrs.version_id.history.has_changes())


def _taken_from_queue(task: ConsultTask) -> bool:
    """A specialist who starts on a consult from the group queue makes it their own: no e-mail to themselves."""
    attrs = inspect(task).attrs
    was_group = "organisation" in attrs.owner_kind.history.deleted
    started = attrs.status.history.has_changes() and task.status.value in ("in-progress", "on-hold", "completed",
                                                                          "rejected")
    return was_group and task.owner_kind == "practitioner" and started


@event.listens_for(Session, "before_commit")
def _write_notifications(session: Session) -> None:
    session.flush()  # changes made since the last flush are seen by _note_changed_tasks now
    # A Task added inside a savepoint that was rolled back (the portal's refused send) is gone again: it is
    # owed no notification, and one would point at a row that does not exist.
    changed, reassigned, status_changed = (
        [t for t in session.info.pop(key, {}).values() if inspect(t).persistent]
        for key in (_CHANGED, _REASSIGNED, _STATUS_CHANGED))
    backs = [b for b in session.info.pop(_CHANGED_BACK_REFERRALS, {}).values() if inspect(b).persistent]
    if changed or backs:
        record_notifications(session, [*changed, *backs], clock.now())
    settings: Settings | None = session.info.get("triage.settings")
    if reassigned and settings is not None:
        queue_assignment_notices(session, [t for t in reassigned if t.owner_agb], settings, clock.now())
    if status_changed and settings is not None:
        queue_practice_notices(session, status_changed, settings, clock.now())


forget_at_transaction_end(_CHANGED, _REASSIGNED, _STATUS_CHANGED, _CHANGED_BACK_REFERRALS)


#: A practice's subscriptions still owed events; read at every commit that changes one of its Tasks: built once.
_COLLECTING_OF = select(Subscription).where(Subscription.organisation_id == bindparam("organisation_id"),
                                            Subscription.status.in_(COLLECTING))


def record_notifications(session: Session, tasks: Sequence[AnyTask], now: datetime) -> int:
    """Queue one notification per (matching subscription, changed Task); returns how many.

    A back-referral's Task is the practice's: its subscriptions are the ones told (never the specialist's)."""
    by_organisation: dict[str, list[AnyTask]] = {}
    for task in tasks:
        organisation_id = task.practice_id if isinstance(task, BackReferral) else task.organisation_id
        by_organisation.setdefault(organisation_id, []).append(task)
    queued = 0
    for organisation_id, changed in by_organisation.items():
        subscriptions = session.scalars(_COLLECTING_OF, {"organisation_id": organisation_id}).all()
        for subscription in subscriptions:
            if subscription.end_at is not None and subscription.end_at <= now:
                continue
            criteria = parse_criteria(subscription.criteria)
            for task in changed:
                if criteria.matches(task):
                    _queue(session, subscription, task, now)
                    queued += 1
    if queued:
        session.flush()
    return queued


def _queue(session: Session, subscription: Subscription, task: AnyTask, now: datetime) -> None:
    # An atomic increment, not read-modify-write: two requests changing Tasks of the same
    # practice at once must not hand out the same event number.
    number = session.execute(
        update(Subscription).where(Subscription.id == subscription.id)
        .values(events_since_start=Subscription.events_since_start + 1)
        .returning(Subscription.events_since_start),
        execution_options={"synchronize_session": False}).scalar_one()
    # The event's time is the Task's own change time (the service's clock), not the commit's.
    about = {"back_referral_id": task.id} if isinstance(task, BackReferral) else {"task_id": task.id}
    session.add(Notification(subscription_id=subscription.id, event_number=number, task_version=task.version_id,
                             created_at=task.updated_at or now, **about))
