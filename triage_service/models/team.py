"""Regional expertise teams (issue 23): a wound-care or elderly-care team of first- and second-line members who
receive consults as one team, its case discussion (MDO) agenda, and answers sent on the team's behalf.

A team contracts as one party (a samenwerkingsverband with its own AGB code): that party is the agreement's
subcontractor, an Organisation row, and the team's queue is that organisation's group queue. The team itself
(``ExpertiseTeam``) adds what an organisation does not have: members who each keep their own organisation
(a dermatologist of the hospital, a nurse specialist of the home-care organisation, a kaderhuisarts of a
practice). Members are Practitioners, so absences, time registrations and monitoring work for them unchanged.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.models.base import Base, uuid_pk
from triage_service.models.organisation import Organisation, Practitioner


class ExpertiseTeam(Base):
    __tablename__ = "expertise_teams"

    #: Also the CareTeam's logical id on the FHIR API.
    id: Mapped[str] = uuid_pk()
    #: The team as a contracting party: its AGB code identifies the team (Task.owner, CareTeam.identifier).
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)

    organisation: Mapped[Organisation] = relationship()
    members: Mapped[list[ExpertiseTeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="ExpertiseTeamMember.position")


class ExpertiseTeamMember(Base):
    __tablename__ = "expertise_team_members"
    __table_args__ = (UniqueConstraint("team_id", "practitioner_id"),)

    id: Mapped[str] = uuid_pk()
    team_id: Mapped[str] = mapped_column(ForeignKey("expertise_teams.id", ondelete="CASCADE"), index=True)
    practitioner_id: Mapped[str] = mapped_column(ForeignKey("practitioners.id"), index=True)
    #: The member's discipline in the team's words ("verpleegkundig specialist wondzorg"), as in the agreement.
    discipline: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    team: Mapped[ExpertiseTeam] = relationship(back_populates="members")
    practitioner: Mapped[Practitioner] = relationship()


class MdoEntry(Base):
    """A consult on the agenda of the team's case discussion (multidisciplinair overleg) of one date."""

    __tablename__ = "mdo_entries"

    id: Mapped[str] = uuid_pk()
    #: One place on the agenda per consult: moving it changes the date, taking it off deletes the row.
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("expertise_teams.id"), index=True)
    mdo_date: Mapped[date] = mapped_column(Date)
    placed_by_agb: Mapped[str | None] = mapped_column(String(8))
    placed_by_name: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(default=clock.now)


class TeamAnswer(Base):
    """An answer one member sent on behalf of the team ("namens"): the thread message and who sent it for whom."""

    __tablename__ = "team_answers"

    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("consult_messages.id", ondelete="CASCADE"), unique=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("expertise_teams.id"), index=True)
    #: The team's name as it was when the answer was sent (letters and the portal say it as sent).
    team_name: Mapped[str] = mapped_column(String(200))
    member_agb: Mapped[str | None] = mapped_column(String(8))
    member_name: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[datetime] = mapped_column(default=clock.now)
