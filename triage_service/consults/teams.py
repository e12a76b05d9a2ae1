"""Group queues and expertise teams: taking a consult from the queue ("Ik neem hem") and answering on the
team's behalf (issue 23).

One rule for every group queue. An orthopaedic group (an agreement with ``group_queue: true``) and a regional
expertise team (an agreement with a ``team:`` block, agreements/team_terms.py) both route a consult to a queue
owned by an organisation: the group's, or the team's contracting party. A member takes it: it becomes that
member's own and in progress, and a "queue-taken" DeadlineEvent keeps who took it from which queue, so the
others see who has it (``taken_from_my_queues``). Two members taking at once: the Task row is locked
(``SELECT ... FOR UPDATE``) and read afresh, so the second finds it taken and is told by whom. An urgent
consult that is being called out is taken through its call-out (consults/callouts.py), which stops the alerts.

A team's agreed answer is sent by one member on the team's behalf: the advice message is the member's (their
AGB as sender), its shown name says "namens <team>" as sent (the thread, the portal and the letter show the
name as it was), and a TeamAnswer row says for which team, which the FHIR Communication carries as a
reference to the CareTeam (fhir/teams.py).

Every member reads every consult routed to their team, whoever holds it (``read_as_member``): the team
discusses it at the MDO, and the member who sends the agreed answer need not be the one who took it. Reading
is all it gives: acting stays with the holder (consults/specialist.task_of), and the MDO agenda with any
member (consults/mdo.py). The pages that show a consult (web/inbox.consult_detail) take it from here, and
audit each read as any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.consults.callouts import take_consult
from triage_service.consults.specialist import take
from triage_service.errors import N_, Conflict, FormErrors, NotFound
from triage_service.models import (
    Agreement,
    AuditAction,
    Consult,
    ConsultMessage,
    ConsultTask,
    DeadlineEvent,
    ExpertiseTeam,
    ExpertiseTeamMember,
    Organisation,
    Practitioner,
    TaskStatus,
    TeamAnswer,
    UrgentCallout,
)
from triage_service.routing.assignment import OPEN_STATUSES
from triage_service.security.web_auth import InboxUser

TAKEN = "queue-taken"
#: How long the group view keeps showing who took a consult that is still open.
TAKEN_SHOWN_FOR = timedelta(days=14)


def team_of_consult(session: Session, consult: Consult) -> ExpertiseTeam | None:
    """The expertise team whose agreement the consult was routed under (the team is that agreement's
    subcontractor), or None for a consult of a specialist or an ordinary group."""
    if consult.agreement_id is None:
        return None
    return session.scalar(select(ExpertiseTeam).join(Agreement, Agreement.subcontractor_id ==
                                                     ExpertiseTeam.organisation_id)
                          .where(Agreement.id == consult.agreement_id))


def team_by_agb(session: Session, agb: str) -> ExpertiseTeam | None:
    return session.scalar(select(ExpertiseTeam).join(Organisation, Organisation.id == ExpertiseTeam.organisation_id)
                          .where(Organisation.agb == agb))


def is_member(session: Session, team: ExpertiseTeam, user: InboxUser) -> bool:
    return user.practitioner_id is not None and session.scalar(
        select(ExpertiseTeamMember.id).where(ExpertiseTeamMember.team_id == team.id,
                                             ExpertiseTeamMember.practitioner_id == user.practitioner_id)) is not None


@dataclass(frozen=True)
class Member:
    agb: str
    name: str
    discipline: str
    organisation: str


def members_of(session: Session, team: ExpertiseTeam) -> list[Member]:
    rows = session.execute(select(Practitioner.agb, Practitioner.name, ExpertiseTeamMember.discipline,
                                  Organisation.name)
                           .join(Practitioner, Practitioner.id == ExpertiseTeamMember.practitioner_id)
                           .join(Organisation, Organisation.id == Practitioner.organisation_id)
                           .where(ExpertiseTeamMember.team_id == team.id).order_by(ExpertiseTeamMember.position))
    return [Member(*row) for row in rows]


def read_as_member(user: InboxUser) -> ColumnElement[bool]:
    """On ConsultTask: the consult was routed to an expertise team the user is a member of (its agreement's
    subcontractor is the team, as in ``team_of_consult``), open or closed, whoever holds it now."""
    if user.practitioner_id is None:
        return false()
    return (select(ExpertiseTeamMember.id)
            .join(ExpertiseTeam, ExpertiseTeam.id == ExpertiseTeamMember.team_id)
            .join(Agreement, Agreement.subcontractor_id == ExpertiseTeam.organisation_id)
            .join(Consult, Consult.agreement_id == Agreement.id)
            .where(Consult.id == ConsultTask.consult_id, ExpertiseTeamMember.practitioner_id == user.practitioner_id)
            .correlate(ConsultTask).exists())


def teams_of(session: Session, user: InboxUser) -> list[ExpertiseTeam]:
    if not user.team_agbs:
        return []
    return list(session.scalars(select(ExpertiseTeam).join(Organisation, Organisation.id ==
                                                           ExpertiseTeam.organisation_id)
                                .where(Organisation.agb.in_(user.team_agbs)).order_by(ExpertiseTeam.name)))


# -- taking a consult from a group queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """Who took a consult from a group queue, and when."""

    by_agb: str | None
    by_name: str
    at: datetime
    queue_agb: str | None


def taken_by(session: Session, task_id: str) -> Taken | None:
    event = session.scalar(select(DeadlineEvent).where(DeadlineEvent.task_id == task_id, DeadlineEvent.kind == TAKEN)
                           .order_by(DeadlineEvent.at.desc(), DeadlineEvent.id).limit(1))
    return Taken(event.to_owner_agb, event.reason, event.at, event.from_owner_agb) if event else None


def take_from_queue(session: Session, actor: Actor, user: InboxUser, consult_id: str, now: datetime) -> ConsultTask:
    """"Ik neem hem": the consult leaves the group's (or team's) queue and becomes the member's own, in progress.

    The Task row is locked and read afresh (populate_existing), so of two members taking at once the second
    waits for the first's commit and then finds the consult taken (Conflict, naming who took it)."""
    task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id)
                          .with_for_update().execution_options(populate_existing=True))
    if task is None or not user.practitioner_agb:
        raise NotFound(N_("This consult does not exist or is not in your group's queue"))
    in_my_queue = task.owner_kind == "organisation" and task.owner_agb in user.group_agbs
    if not in_my_queue:
        if task.owner_kind == "practitioner" and task.owner_agb == user.practitioner_agb:
            raise Conflict(N_("This consult is already yours: there is nothing to take"))
        taken = taken_by(session, task.id)
        if taken is not None and taken.queue_agb in user.group_agbs:
            if taken.by_agb == user.practitioner_agb:
                raise Conflict(N_("You have already taken this consult"))
            raise Conflict(N_("%(name)s already took this consult"), params={"name": taken.by_name})
        raise NotFound(N_("This consult does not exist or is not in your group's queue"))
    if task.status not in OPEN_STATUSES:
        raise Conflict(N_("This consult is no longer open"))
    callout = session.scalar(select(UrgentCallout).where(UrgentCallout.task_id == task.id,
                                                         UrgentCallout.taken_at.is_(None)))
    queue = task.owner_agb
    if callout is not None:
        # An urgent consult being called out: taken through its call-out, which also stops the alerts.
        take_consult(session, actor, user, consult_id, now)
    else:
        take(task, user, now)
        record(session, actor, event="queue.take", action=AuditAction.UPDATE, resource_type="Task",
               resource_id=task.id, patient_ref=task.consult.patient_resource_id, at=now, detail=f"queue={queue}")
    session.add(DeadlineEvent(task_id=task.id, kind=TAKEN, from_owner_agb=queue, to_owner_agb=user.practitioner_agb,
                              reason=user.display_name, at=now))
    session.flush()
    return task


@dataclass(frozen=True)
class TakenRow:
    """A consult a colleague took from one of the user's queues (no patient data: codes and who)."""

    consult_id: str
    icpc: str
    queue_agb: str | None
    by_name: str
    at: datetime
    status: str


def taken_from_my_queues(session: Session, user: InboxUser, now: datetime, limit: int = 20) -> list[TakenRow]:
    """Open consults colleagues took from the user's group queues lately: the group view says who has them."""
    if not user.group_agbs:
        return []
    rows = session.execute(
        select(Consult.id, Consult.primary_icpc, DeadlineEvent.from_owner_agb, DeadlineEvent.reason, DeadlineEvent.at,
               ConsultTask.status)
        .join(ConsultTask, ConsultTask.id == DeadlineEvent.task_id).join(Consult, Consult.id == ConsultTask.consult_id)
        .where(DeadlineEvent.kind == TAKEN, DeadlineEvent.from_owner_agb.in_(user.group_agbs),
               DeadlineEvent.at >= now - TAKEN_SHOWN_FOR, ConsultTask.owner_kind == "practitioner",
               ConsultTask.owner_agb == DeadlineEvent.to_owner_agb, ConsultTask.status.in_(OPEN_STATUSES))
        .order_by(DeadlineEvent.at.desc()).limit(limit)).all()
    return [TakenRow(cid, icpc, queue, name, at, status.value if isinstance(status, TaskStatus) else str(status))
            for cid, icpc, queue, name, at, status in rows]


# -- answering on the team's behalf ------------------------------------------------------------------------------


def on_behalf_name(member: str, team: str) -> str:
    """How the answer's sender is shown wherever it is read (thread, portal, letter): in Dutch, as the letter
    for the patient's record is, and kept as sent."""
    return f"{member} namens {team}"


def answer_for_team(session: Session, actor: Actor, user: InboxUser, consult: Consult, message: ConsultMessage,
                    now: datetime) -> TeamAnswer:
    """Mark the advice just written as sent on behalf of the consult's team (the form's "namens" choice)."""
    team = team_of_consult(session, consult)
    if team is None or not is_member(session, team, user):
        raise FormErrors({"on_behalf": N_("Only a member of the consult's expertise team can answer on the "
                                          "team's behalf")})
    message.sender_name = on_behalf_name(user.display_name, team.name)
    answer = TeamAnswer(consult_id=consult.id, message_id=message.id, team_id=team.id, team_name=team.name,
                        member_agb=user.practitioner_agb, member_name=user.display_name, answered_at=now)
    session.add(answer)
    record(session, actor, event="team.answer", action=AuditAction.UPDATE, resource_type="Communication",
           resource_id=message.id, patient_ref=consult.patient_resource_id, at=now, detail=f"team={team.id}")
    return answer
