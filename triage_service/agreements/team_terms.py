"""An agreement answered by a regional expertise team (issue 23): the ``team:`` block of an agreement file.

A wound-care or elderly-care team is a group of first- and second-line members (a dermatologist, a nurse
specialist wound care, a kaderhuisarts, an elderly-care physician) who receive consults as one team. The team
contracts as one party (a samenwerkingsverband with its own AGB code), so the team is the agreement's
subcontractor and its queue is that party's group queue: routing, load, absences, answer norms, statements
and monitoring treat it as any group queue (routing/assignment.py). What the block adds is the members, each
with their own organisation, who see and take the team's consults::

    team:
      name: Wondzorgteam Rijnmond
      agb: "07390001"                               # the team's AGB code: its identifier
      members:                                      # at least two
        - {agb: "03100001", name: dr. L. Visser (dermatoloog), specialism: "0310",
           discipline: dermatoloog, organisation: {agb: "06010001", name: Ziekenhuis Rivierenland}}

Left out, ``subcontractor`` is the team itself, ``specialists`` are its members and ``group_queue`` is true;
given, they must agree with the block (a team whose consults went to one member's own queue would not be a team).
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.models import (
    ExpertiseTeam,
    ExpertiseTeamMember,
    Organisation,
    OrganisationKind,
    Practitioner,
    PractitionerRoleKind,
)

AGB_ERROR = "AGB code must be 8 digits"


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _OrganisationSchema(_Strict):
    agb = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$", error=AGB_ERROR))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class _MemberSchema(_OrganisationSchema):
    specialism = fields.String(required=True)
    discipline = fields.String(required=True, validate=validate.Length(min=1, max=200))
    organisation = fields.Nested(_OrganisationSchema, required=True)


class TeamSchema(_Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    agb = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$", error=AGB_ERROR))
    members = fields.List(fields.Nested(_MemberSchema), required=True,
                          validate=validate.Length(min=2, error="a team has at least two members"))


def team_field() -> fields.Nested:
    return fields.Nested(TeamSchema, load_default=None)


def with_team_defaults(data: Any) -> Any:
    """Before validation: an agreement with a team block needs not repeat the team as subcontractor,
    specialists and group queue."""
    team = data.get("team") if isinstance(data, dict) else None
    if not isinstance(team, dict):
        return data
    data = dict(data)
    if "agb" in team and "name" in team:
        data.setdefault("subcontractor", {"agb": team["agb"], "name": team["name"]})
    members = team.get("members")
    if isinstance(members, list):
        data.setdefault("specialists", [{key: m[key] for key in ("agb", "name", "specialism") if key in m}
                                        for m in members if isinstance(m, dict)])
    data.setdefault("group_queue", True)
    return data


def check_team(data: dict[str, Any], known_specialisms: set[str]) -> None:
    team = data.get("team")
    if not team:
        return
    if not data.get("group_queue"):
        raise ValidationError("a team receives consults in its queue: group_queue must be true", "group_queue")
    if data.get("subcontractor", {}).get("agb") != team["agb"]:
        raise ValidationError("the team contracts as the subcontractor: subcontractor.agb must be the team's agb",
                              "subcontractor")
    members = {m["agb"] for m in team["members"]}
    if len(members) != len(team["members"]):
        raise ValidationError({"members": ["a member is named twice"]}, "team")
    if {s["agb"] for s in data.get("specialists", [])} != members:
        raise ValidationError("the specialists of a team agreement are exactly the team's members", "specialists")
    for index, member in enumerate(team["members"]):
        if member["specialism"] not in known_specialisms:
            raise ValidationError({"members": {index: {"specialism": ["unknown specialism code"]}}}, "team")


def store_team(session: Session, team: dict[str, Any] | None, team_organisation: Organisation) -> None:
    """The team and its members, each member in their own organisation (created when new)."""
    if not team:
        return
    found = session.scalar(select(ExpertiseTeam).where(ExpertiseTeam.organisation_id == team_organisation.id))
    if found is None:
        found = ExpertiseTeam(organisation_id=team_organisation.id, name=team["name"])
        session.add(found)
    found.name, found.updated_at = team["name"], clock.now()
    found.members.clear()
    session.flush()
    for position, member in enumerate(team["members"]):
        own = session.scalar(select(Organisation).where(Organisation.agb == member["organisation"]["agb"]))
        if own is None:
            own = Organisation(agb=member["organisation"]["agb"], name=member["organisation"]["name"],
                               kind=OrganisationKind.SPECIALIST_ORGANISATION)
            session.add(own)
            session.flush()
        practitioner = session.scalar(select(Practitioner).where(Practitioner.agb == member["agb"]))
        if practitioner is None:
            practitioner = Practitioner(agb=member["agb"], name=member["name"], role=PractitionerRoleKind.SPECIALIST,
                                        specialism=member["specialism"], organisation_id=own.id)
            session.add(practitioner)
            session.flush()
        found.members.append(ExpertiseTeamMember(practitioner_id=practitioner.id, discipline=member["discipline"],
                                                 position=position))
    session.flush()
