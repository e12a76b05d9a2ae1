"""Group queues and expertise teams in the inbox (issue 23): "Ik neem hem", the team's MDO agenda, and what
the consult page shows of both.

Routes parse, call the domain (consults/teams.py, consults/mdo.py) and answer in words: a refused take says
who took the consult first, a wrong MDO date re-shows the consult page with the error beside the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from triage_service.audit.trail import record
from triage_service.consults import mdo, teams
from triage_service.database import get_session
from triage_service.errors import Conflict, FormErrors, NotFound
from triage_service.models import AuditAction, AuditOutcome, ConsultTask, ExpertiseTeam, UrgentCallout
from triage_service.request_context import clock
from triage_service.routing.working_time import AMSTERDAM
from triage_service.web import inbox as queries
from triage_service.web.dutch_dates import day_text, parse_day
from triage_service.web.inbox_list import summary_of
from triage_service.web.views import bp, consult_page, current_user, inbox_actor


@dataclass(frozen=True)
class TeamPanel:
    """What the consult page shows of the group queue and the team (no patient data)."""

    #: In a group queue of the user's: "Ik neem hem" is offered.
    may_take: bool
    queue_name: str | None
    taken: teams.Taken | None
    team: ExpertiseTeam | None
    member: bool
    placement: mdo.Placement | None


def team_panel(consult_id: str) -> TeamPanel | None:
    session, user = get_session(), current_user()
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id))
    if task is None:
        return None
    team = teams.team_of_consult(session, task.consult)
    member = team is not None and teams.is_member(session, team, user)
    in_queue = task.owner_kind == "organisation" and task.owner_agb in user.group_agbs
    taken = teams.taken_by(session, task.id)
    if not (in_queue or taken or member):
        return None
    open_ = task.status.value in ("accepted", "in-progress", "on-hold")
    # An urgent consult being called out is taken with the call-out's own button (_callout.html): one button.
    called_out = session.scalar(select(UrgentCallout.id).where(UrgentCallout.task_id == task.id,
                                                               UrgentCallout.taken_at.is_(None))) is not None
    return TeamPanel(in_queue and open_ and not called_out and bool(user.practitioner_agb),
                     task.owner_name if in_queue else None,
                     taken, team, member, mdo.placement_of(session, consult_id) if member else None)


@bp.post("/consults/<consult_id>/take-from-queue")
def take_from_queue(consult_id: str) -> Any:
    """"Ik neem hem": the consult from the group's or team's queue becomes the specialist's own."""
    session, user = get_session(), current_user()
    try:
        teams.take_from_queue(session, inbox_actor(), user, consult_id, clock())
    except NotFound:
        session.rollback()
        abort(404)
    except Conflict as refused:
        session.rollback()
        record(session, inbox_actor(), event="web.queue.take", action=AuditAction.UPDATE,
               outcome=AuditOutcome.MINOR_FAILURE, resource_type="ServiceRequest", resource_id=consult_id,
               detail="refused=409", at=clock())
        message = refused.text()
        if queries.openable_ids(session, user, [consult_id]):  # a member of its team reads who has it
            return consult_page(consult_id, {"take": message}, "take", 409)
        session.commit()
        return render_template("take_refused.html", message=message), 409
    flash(_("You have taken this consult: it is yours now and in progress. Your colleagues see that you took it."))
    return redirect(url_for("web.consult", consult_id=consult_id))


@bp.post("/consults/<consult_id>/mdo")
def place_on_mdo(consult_id: str) -> Any:
    session, user = get_session(), current_user()
    text = request.form.get("mdo_date", "")
    try:
        placement = mdo.place_on_agenda(session, inbox_actor(), user, consult_id, parse_day(text) if text.strip()
                                        else None, clock())
    except FormErrors as refused:
        session.rollback()
        return consult_page(consult_id, {k: _(v) for k, v in refused.errors.items()}, "mdo", 400)
    except NotFound:
        session.rollback()
        abort(404)
    except Conflict as refused:
        session.rollback()
        return consult_page(consult_id, {"mdo_date": refused.text()}, "mdo", 409)
    when = format_date(placement.entry.mdo_date, "EEEE d MMMM yyyy")
    flash(_("On the agenda of the MDO of %(date)s.", date=when))
    if placement.late and placement.due_at is not None:
        flash(_("Note: the MDO is after the answer is due (%(due)s). Answer before the MDO, or the answer will be "
                "late.", due=format_datetime(placement.due_at, "EEE d MMM HH:mm")))
    return redirect(url_for("web.consult", consult_id=consult_id))


@bp.post("/consults/<consult_id>/mdo/remove")
def remove_from_mdo(consult_id: str) -> Any:
    session, user = get_session(), current_user()
    try:
        mdo.take_off_agenda(session, inbox_actor(), user, consult_id, clock())
    except NotFound:
        session.rollback()
        abort(404)
    except Conflict as refused:
        session.rollback()
        return consult_page(consult_id, {"mdo_date": refused.text()}, "mdo", 409)
    flash(_("Taken off the agenda of the MDO."))
    return redirect(url_for("web.consult", consult_id=consult_id))


@bp.get("/teams/<team_id>/mdo")
def mdo_agenda(team_id: str) -> Any:
    """The team's coming MDOs, for its members: each date with its consults, due time and a warning when late."""
    session, user = get_session(), current_user()
    team = session.get(ExpertiseTeam, team_id)
    if team is None or not teams.is_member(session, team, user):
        abort(404)
    now = clock()
    days = mdo.agenda(session, team, now)
    for _day, items in days:
        for item in items:
            record(session, inbox_actor(), event="web.mdo.agenda", action=AuditAction.READ,
                   resource_type="ServiceRequest", resource_id=item.consult_id, patient_ref=item.patient_ref, at=now)
    if not days:
        record(session, inbox_actor(), event="web.mdo.agenda", action=AuditAction.READ, resource_type="CareTeam",
               resource_id=team.id, at=now)
    session.commit()
    return render_template("mdo_agenda.html", team=team, days=days, members=teams.members_of(session, team),
                           visible=_visible_ids(days), summary_of=summary_of, now=now)


def _visible_ids(days: list[tuple[Any, list[mdo.AgendaItem]]]) -> set[str]:
    """The agenda's consults the member may open: all of the team's, whoever holds them (consults/teams.py)."""
    return queries.openable_ids(get_session(), current_user(), [item.consult_id for _day, items in days
                                                                for item in items])


@bp.app_context_processor
def _team_globals() -> dict[str, Any]:
    def my_teams() -> list[ExpertiseTeam]:
        user = g.get("inbox_user")
        return teams.teams_of(get_session(), user) if user is not None else []

    def taken_from_queues() -> list[teams.TakenRow]:
        user = g.get("inbox_user")
        return teams.taken_from_my_queues(get_session(), user, clock()) if user is not None else []

    def mdo_date_value(placement: mdo.Placement | None) -> str:
        return day_text(placement.entry.mdo_date) if placement else ""

    def today_text() -> str:
        return day_text(clock().astimezone(AMSTERDAM).date())

    return {"team_panel": team_panel, "my_teams": my_teams, "taken_from_queues": taken_from_queues,
            "mdo_date_value": mdo_date_value, "mdo_today": today_text, "format_date": format_date}
