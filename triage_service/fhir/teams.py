"""Expertise teams on the FHIR API (issue 23): the team as a CareTeam, the team as a Task's owner, and an answer
sent on the team's behalf.

- **Task.owner.** R4 allows a CareTeam as Task.owner (Reference(Practitioner | PractitionerRole |
  Organization | CareTeam | HealthcareService | Patient | Device | RelatedPerson)). A consult in a team's queue
  is owned by the team as a whole, a group of people from several organisations, not by one organisation, so
  its owner is the CareTeam (with the team's AGB as identifier, as owners are named by AGB). Once a member
  takes it, the owner is that member's PractitionerRole, as for any specialist.
- **CareTeam.** Served read-only at ``/fhir/CareTeam/{id}`` (api/care_teams.py): ``participant.member`` is the
  member's PractitionerRole (by AGB, with the discipline as ``role``), ``participant.onBehalfOf`` the member's
  own Organization, ``managingOrganization`` the team's contracting party (the agreement's subcontractor).
- **An answer on the team's behalf.** Communication.sender cannot be a CareTeam in R4 (Device | Organization |
  Patient | Practitioner | PractitionerRole | RelatedPerson | HealthcareService), and the sender is, in law and
  in the record, the member who wrote it. So the sender stays the member's PractitionerRole and the team is
  carried by our extension ``triage-ext-on-behalf-of`` (valueReference to the CareTeam) on the Communication;
  the sender's display says it in words ("dr. X namens Wondzorgteam Rijnmond") for a system that shows only
  the display. A core alternative, Provenance.agent.onBehalfOf, would need a second resource per message that
  GP systems do not read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.fhir.dutch import AGB
from triage_service.fhir.profiles import CANONICAL_BASE
from triage_service.models import ExpertiseTeam, ExpertiseTeamMember, Organisation, Practitioner, TeamAnswer

EXT_ON_BEHALF_OF = f"{CANONICAL_BASE}/StructureDefinition/triage-ext-on-behalf-of"


def team_owner(session: Session, organisation_agb: str) -> dict[str, Any] | None:
    """Task.owner for a consult in a team's queue: the CareTeam; None when the queue is not a team's."""
    row = session.execute(select(ExpertiseTeam.id, ExpertiseTeam.name)
                          .join(Organisation, Organisation.id == ExpertiseTeam.organisation_id)
                          .where(Organisation.agb == organisation_agb)).first()
    if row is None:
        return None
    return {"reference": f"CareTeam/{row[0]}", "type": "CareTeam",
            "identifier": {"system": AGB, "value": organisation_agb}, "display": row[1]}


def on_behalf_extension(session: Session, message_id: str) -> dict[str, Any] | None:
    answer = session.scalar(select(TeamAnswer).where(TeamAnswer.message_id == message_id))
    if answer is None:
        return None
    return {"url": EXT_ON_BEHALF_OF, "valueReference": {"reference": f"CareTeam/{answer.team_id}", "type": "CareTeam",
                                                        "display": answer.team_name}}


def care_team_to_fhir(session: Session, team: ExpertiseTeam) -> dict[str, Any]:
    organisation = session.get(Organisation, team.organisation_id)
    assert organisation is not None  # the team's foreign key
    rows = session.execute(select(Practitioner.agb, Practitioner.name, ExpertiseTeamMember.discipline,
                                  Organisation.agb, Organisation.name)
                           .join(Practitioner, Practitioner.id == ExpertiseTeamMember.practitioner_id)
                           .join(Organisation, Organisation.id == Practitioner.organisation_id)
                           .where(ExpertiseTeamMember.team_id == team.id).order_by(ExpertiseTeamMember.position))
    return {
        "resourceType": "CareTeam",
        "id": team.id,
        "meta": {"lastUpdated": team.updated_at.isoformat().replace("+00:00", "Z")},
        "identifier": [{"system": AGB, "value": organisation.agb}],
        "status": "active",
        "name": team.name,
        "participant": [{
            "role": [{"text": discipline}],
            "member": {"type": "PractitionerRole", "identifier": {"system": AGB, "value": agb}, "display": name},
            "onBehalfOf": {"type": "Organization", "identifier": {"system": AGB, "value": own_agb},
                           "display": own_name},
        } for agb, name, discipline, own_agb, own_name in rows],
        "managingOrganization": [{"type": "Organization", "identifier": {"system": AGB, "value": organisation.agb},
                                  "display": organisation.name}],
    }
