"""What the inbox says about urgent consults (issue 20): the countdown to the due time, whether a called-out
consult has been taken and by whom, the call-out's steps, and the banner while one waits for anyone.

Urgency is never colour alone (WCAG 1.4.1): the templates pair the colour with an icon and the priority in
words, and the time left is said in words ("nog 1 u 12 min", "23 min te laat") by the server, so the page is
right without script; static/countdown.js only keeps that text current while the page stays open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask import g
from flask_babel import format_datetime, gettext
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from triage_service.consults.callouts import WaitingCallout, callout_of, callout_steps, may_take, waiting_callouts
from triage_service.models import CalloutStage, ConsultTask, TaskStatus, UrgentCallout, UserRole
from triage_service.routing.working_time import AMSTERDAM
from triage_service.security.headers import allow_own_scripts
from triage_service.security.web_auth import InboxUser


def duration_words(minutes: int) -> str:
    """"1 u 12 min", "45 min", "2 d 3 u": days and hours, and minutes while under a day."""
    days, rest = divmod(max(minutes, 0), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(gettext("%(days)d d", days=days))
    if hours:
        parts.append(gettext("%(hours)d h", hours=hours))
    if (mins and not days) or not parts:
        parts.append(gettext("%(minutes)d min", minutes=mins))
    return " ".join(parts)


def countdown_text(due_at: datetime, now: datetime) -> str:
    """The time left ("nog 1 u 12 min"), or how late it is ("23 min te laat"), in whole minutes rounded up:
    a consult due in 20 seconds still has "nog 1 min", one 20 seconds past its time is "1 min te laat"."""
    seconds = (due_at - now).total_seconds()
    if seconds > 0:
        return str(gettext("%(duration)s left", duration=duration_words(math.ceil(seconds / 60))))
    return str(gettext("%(duration)s overdue", duration=duration_words(max(1, math.ceil(-seconds / 60)))))


def countdown_words() -> dict[str, str]:
    """The same words as templates for static/countdown.js, in the page's language (on its script tag)."""
    return {"left": gettext("%(duration)s left"), "late": gettext("%(duration)s overdue"),
            "days": gettext("%(days)d d"), "hours": gettext("%(hours)d h"), "minutes": gettext("%(minutes)d min")}


def uses_countdown() -> None:
    """A page shows a countdown: it loads static/countdown.js, so its Content-Security-Policy allows our own
    script files (and only those). Pages without one keep the policy without any script."""
    g.countdown = True
    allow_own_scripts()


def clock_time(moment: datetime, now: datetime) -> str:
    """"22:30" today (Dutch time), "za 28 nov 09:15" on another day."""
    same_day = moment.astimezone(AMSTERDAM).date() == now.astimezone(AMSTERDAM).date()
    return str(format_datetime(moment, "HH:mm" if same_day else "EEE d MMM HH:mm"))


# -- the inbox's rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowCallout:
    """Whether an urgent consult in the list is still being called out, or who took it."""

    waiting: bool
    taken_by: str | None


def row_callouts(session: Session, tasks: list[ConsultTask]) -> dict[str, RowCallout]:
    """The call-outs of the urgent consults on one page of the list (by Task id): one query, only when the page
    has urgent consults, by the call-outs' unique Task index."""
    urgent = {task.id: task for task in tasks if task.urgent}
    if not urgent:
        return {}
    rows = session.execute(select(UrgentCallout.task_id, UrgentCallout.taken_by_name, UrgentCallout.taken_at,
                                  UrgentCallout.next_alert_at).where(UrgentCallout.task_id.in_(urgent)))
    return {task_id: RowCallout(taken_at is None and next_alert is not None
                                and urgent[task_id].status is TaskStatus.ACCEPTED,
                                taken_by if taken_at is not None else None)
            for task_id, taken_by, taken_at, next_alert in rows}


# -- the consult page --------------------------------------------------------------------------------------------


def called_out_to(user: InboxUser) -> ColumnElement[bool]:
    """Consults being called out to the user by name (on call or backup) and not yet taken. They may see it,
    to take it, also once it has moved on to the backup (the one on call is still alerted then)."""
    if not user.practitioner_agb:
        return ConsultTask.id.is_(None)
    return ConsultTask.id.in_(select(UrgentCallout.task_id).where(
        UrgentCallout.taken_at.is_(None), UrgentCallout.next_alert_at.is_not(None),
        or_(UrgentCallout.on_call_agb == user.practitioner_agb, UrgentCallout.backup_agb == user.practitioner_agb)))


@dataclass(frozen=True)
class CalloutStep:
    """One step of the call-out: "started", "backup", "group" (escalated to them) or "taken"; who and when."""

    kind: str
    name: str
    at: datetime


@dataclass(frozen=True)
class CalloutPanel:
    """The call-out as the consult page shows it."""

    stage: str
    #: Nobody has taken it and it is still open: the alerts go on.
    waiting: bool
    #: The user may say "Ik pak hem op" (the specialist on call, the backup, the owner, the group's specialists).
    may_take: bool
    #: The user sees the consult only because it is called out to them: they take it before they work on it.
    take_first: bool
    taken_by: str | None
    taken_at: datetime | None
    steps: list[CalloutStep]


def callout_panel(session: Session, user: InboxUser, task: ConsultTask, owned: bool) -> CalloutPanel | None:
    callout = callout_of(session, task.id)
    if callout is None:
        return None
    waiting = callout.taken_at is None and callout.next_alert_at is not None and task.status is TaskStatus.ACCEPTED
    allowed = waiting and may_take(session, user, callout, task.consult)
    steps = [_step(event.kind, event.to_owner_agb, event.reason, event.at, callout)
             for event in callout_steps(session, task.id)]
    # Steps of the same minute (taken at once) in the order they happened, not by their random ids.
    steps.sort(key=lambda step: (step.at, _STEP_ORDER[step.kind]))
    return CalloutPanel(callout.stage, waiting, allowed, allowed and not owned, callout.taken_by_name,
                        callout.taken_at, steps)


_STEP_ORDER = {"started": 0, "backup": 1, "group": 2, "taken": 3}


def _step(kind: str, to_agb: str | None, name: str, at: datetime, callout: UrgentCallout) -> CalloutStep:
    if kind == "callout-taken":
        return CalloutStep("taken", name, at)
    to_group = to_agb == callout.group_agb
    if kind == "callout-escalated":
        return CalloutStep("group" if to_group else "backup", name, at)
    return CalloutStep("group" if to_group else "started", name, at)


def take_refusal(session: Session, user: InboxUser, consult_id: str, visible: bool,
                 now: datetime) -> tuple[str, int] | None:
    """Why "Ik pak hem op" did not work, in the user's words and with its HTTP status; None when the consult is
    not the user's business at all (answered as not found, like any consult of someone else).

    take_consult (consults/callouts.py) refuses in English for the GP system's log; this reads the state again
    after the rollback and says it for the specialist, naming who already took it."""
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id))
    callout = callout_of(session, task.id) if task is not None else None
    participant = task is not None and callout is not None and may_take(session, user, callout, task.consult)
    if task is None or not (visible or participant):
        return None
    if callout is None:
        return gettext("This consult is not being called out, so there is nothing to take: you can answer it "
                       "as usual."), 409
    if callout.taken_at is not None:
        return gettext("%(name)s already took this urgent consult (at %(time)s).",
                       name=callout.taken_by_name or "", time=clock_time(callout.taken_at, now)), 409
    if task.status not in (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD):
        return gettext("This consult is no longer open: there is nothing to take."), 409
    if not participant:
        return gettext("This urgent consult is not being called out to you or to your group of its specialism."), 403
    return gettext("The consult could not be taken just now. Reload the page and try again."), 409


# -- the banner ----------------------------------------------------------------------------------------------------


def banner(session: Session, user: InboxUser | None) -> list[WaitingCallout]:
    """The urgent consults waiting for anyone of the specialist's groups, read once per page (and not at all
    for zorggroep staff, rota makers or practice accounts, to whom nothing is ever called out)."""
    if user is None or user.role != UserRole.SPECIALIST.value or not user.practitioner_agb:
        return []
    cached: list[WaitingCallout] | None = g.get("urgent_banner")
    if cached is None:
        cached = waiting_callouts(session, user)
        g.urgent_banner = cached
    if cached:
        uses_countdown()
    return cached


def stage_words(stage: str) -> str:
    words = {CalloutStage.ON_CALL: gettext("specialist on call alerted"),
             CalloutStage.BACKUP: gettext("not taken: backup alerted"),
             CalloutStage.GROUP: gettext("not taken: the whole group alerted")}
    return str(words.get(stage, ""))

