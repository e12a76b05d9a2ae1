"""The norm clock: the answer norm pauses while the consult waits on the GP, and resumes when it stops waiting.

A Task is ``on-hold`` only when it waits on the GP: the specialist asked for more information
(awaiting-gp-information), or the patient did not come to the appointment and the GP must say what next
(appointment-no-show). In both the specialist cannot act, so the time is not theirs to answer in. For a video
consult or ECMS the norm was already met by the appointment offer (reports/facts.py, routing/deadlines.py), so
the pause on a no-show changes nothing that is measured; it is paused all the same, so that one rule holds
for every on-hold and no site can forget it.

- Entering on-hold sets ``paused_at``.
- Leaving it (to in-progress, or cancelled/failed) moves ``due_at`` on by the norm time that was left when
  the pause began, counted from now: working time for working-day and working-hour norms, clock time for
  hours and minutes (routing/working_time.py). For a pause that began before the due time this is the same
  as adding the pause itself to the due time, measured as the norm measures it.
- A pause that began when the consult was already late does not make it on time: nothing was left, so the
  due time stays where it was. Asking the GP a question cannot be a way out of a missed norm.

The norm is read again from the consult's agreement and priority: agreements never change after import
(changed terms are a new agreement), so this is the norm the due time was computed from. A consult forwarded
to another specialism gets that specialism's agreement and a new due time from then (:func:`restart`).

``consults/task_states.transition`` calls :func:`on_transition` for every change of status, so every site
that puts a Task on hold or takes it off goes through this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import object_session

from triage_service.models import Agreement, ConsultTask, TaskStatus
from triage_service.routing.working_time import add_norm_time, is_clock_time, norm_time_between


@dataclass(frozen=True)
class PausedNorm:
    """A paused norm as the screens show it: how much of the norm is left, and whether that is working time."""

    left: timedelta
    working_time: bool

    @property
    def late(self) -> bool:
        """Paused when the consult was already past its due time: it stays late."""
        return self.left <= timedelta()

    @property
    def hours_minutes(self) -> tuple[int, int]:
        """The time left as whole hours and minutes (rounded down: a screen never promises more)."""
        minutes = max(0, int(self.left.total_seconds() // 60))
        return minutes // 60, minutes % 60


def norm_of(task: ConsultTask) -> dict[str, Any] | None:
    """The answer norm the Task's due time comes from: the agreement's norm for the consult's priority."""
    consult = task.consult
    session = object_session(task)
    if session is None or consult.agreement_id is None:
        return None
    agreement = session.get(Agreement, consult.agreement_id)
    norm = agreement.answer_norms.get(consult.priority) if agreement is not None else None
    return norm if isinstance(norm, dict) else None


def _left(task: ConsultTask, norm: dict[str, Any] | None) -> timedelta:
    assert task.due_at is not None
    assert task.paused_at is not None
    # Without a known norm (a consult from before agreements had one) clock time is the generous measure.
    return norm_time_between(norm or {"hours": 0}, task.paused_at, task.due_at)


def paused(task: ConsultTask) -> PausedNorm | None:
    """The paused norm of a Task that waits on the GP, or None when its norm runs (or it has no due time)."""
    if task.paused_at is None or task.due_at is None:
        return None
    norm = norm_of(task)
    return PausedNorm(_left(task, norm), working_time=norm is not None and not is_clock_time(norm))


def pause(task: ConsultTask, now: datetime) -> None:
    """The Task starts waiting on the GP: its norm stops running."""
    if task.paused_at is None:
        task.paused_at = now


def resume(task: ConsultTask, now: datetime) -> None:
    """The Task stops waiting on the GP: the due time is what was left of the norm, counted from now."""
    if task.paused_at is None:
        return
    if task.due_at is not None:
        norm = norm_of(task)
        left = _left(task, norm)
        if left > timedelta():  # paused when already late: it stays late
            task.due_at = add_norm_time(norm or {"hours": 0}, now, left)
    task.paused_at = None


def restart(task: ConsultTask, due: datetime, now: datetime) -> None:
    """A new norm from now (a consult forwarded to another specialism): the new due time; a Task that still
    waits on the GP is paused from now, so the wait before the new norm began is not counted off it."""
    task.due_at = due
    if task.paused_at is not None:
        task.paused_at = now


def on_transition(task: ConsultTask, to: TaskStatus, now: datetime) -> None:
    """Pause on entering on-hold, resume on leaving it; any other change leaves the clock alone."""
    if to is TaskStatus.ON_HOLD:
        pause(task, now)
    elif task.status is TaskStatus.ON_HOLD:
        resume(task, now)
