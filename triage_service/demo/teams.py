"""The demo's expertise team (issue 23): Wondzorgteam Rijnmond (config/agreements/wondzorg.yaml), with dr. L.
Visser (dermatoloog), J. Bakker (verpleegkundig specialist wondzorg) and dr. H. Kramer (kaderhuisarts), each of
their own organisation. De Linde sends two consults about chronic wounds through the normal intake: one waits in
the team's queue ("Mijn groep" of each member, with "Ik neem hem"), the other is on the agenda of the team's MDO
on the first working day from the day after tomorrow (within the norm of three working days, on any day).

Loading twice changes nothing: a consult already there is not sent again, nor placed on the agenda again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.models import ApiClient, ConsultIdentifier, MdoEntry, Organisation, User
from triage_service.routing.working_time import AMSTERDAM, is_working_day
from triage_service.settings import PROJECT_ROOT

DEMO_EXAMPLE = PROJECT_ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"
CS_FIRST_LINE = "https://fhir.triage-service.nl/CodeSystem/triage-first-line-specialism"
#: The member who puts the second consult on the MDO agenda.
PLANNER = "wondverpleegkundige"

#: (HIS number, ICPC, ICPC title, the complaint in short, the GP's question, on the MDO agenda).
TEAM_CONSULTS = (
    ("WONDZORG-1", "S97", "Chronisch ulcus huid", "Ulcus cruris rechts, geneest niet",
     "Vrouw van 58 met sinds tien weken een ulcus cruris mediaal aan het rechteronderbeen, 3 bij 4 cm, beslag en "
     "matige exsudatie. Enkel-armindex 0,9. Zwachtelen door de wijkverpleging geeft weinig effect. Vraag: welk "
     "wondbeleid en welke compressie adviseert het team, en is verwijzing naar de vaatchirurg nodig?", False),
    ("WONDZORG-2", "S97", "Chronisch ulcus huid", "Drukplek hiel, diabetes",
     "Vrouw van 58 met diabetes mellitus type 2 en een drukplek op de linkerhiel sinds zes weken, zwarte necrose "
     "van 2 cm, geen tekenen van infectie. Voetpulsaties zwak. Vraag: kan dit thuis behandeld worden met "
     "drukontlasting, of is beoordeling in het ziekenhuis nodig?", True),
)


def load_team_consults(session: Session, practice: Organisation) -> None:
    """Send the team's two demo consults and put the second on the MDO agenda (idempotent)."""
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.intake import submit_consult
    from triage_service.consults.mdo import place_on_agenda
    from triage_service.records.resolution import Resolver
    from triage_service.security.web_auth import inbox_user

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == practice.id))
    planner_id = session.scalar(select(User.id).where(User.username == PLANNER))
    planner = inbox_user(session, planner_id) if planner_id else None
    if client is None or planner is None:
        return
    now = clock.now()
    for number, icpc, title, complaint, question, on_agenda in TEAM_CONSULTS:
        resource: dict[str, Any] = json.loads(DEMO_EXAMPLE.read_text(encoding="utf-8"))
        system = resource["identifier"][0]["system"]
        found = session.scalar(select(ConsultIdentifier).where(
            ConsultIdentifier.organisation_id == practice.id, ConsultIdentifier.system == system,
            ConsultIdentifier.value == f"HIS-{number}"))
        if found is not None:
            continue
        resource.pop("id")
        resource["identifier"][0]["value"] = f"HIS-{number}"
        resource["authoredOn"] = now.isoformat()
        resource["performerType"] = {"coding": [{"system": CS_FIRST_LINE, "code": "nurse-specialist",
                                                 "display": "Verpleegkundig specialist"}]}
        resource.pop("performer", None)
        resource["code"]["coding"][0].update(code="intercollegial-consult", display="Intercollegial consult")
        resource["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": icpc,
                                               "display": title}], "text": complaint}]
        resource["note"] = [{"text": question}]
        resource.pop("supportingInfo", None)
        consult = submit_consult(session, CLI_ACTOR, practice, client.id, resource,
                                 Resolver(session, practice.id, resource), now,
                                 if_none_exist=(system, f"HIS-{number}")).consult
        if on_agenda and session.scalar(select(MdoEntry.id).where(MdoEntry.consult_id == consult.id)) is None:
            # The team meets on a working day, two or more days out: within the norm of three working days.
            meeting = now.astimezone(AMSTERDAM).date() + timedelta(days=2)
            while not is_working_day(meeting):
                meeting += timedelta(days=1)
            place_on_agenda(session, CLI_ACTOR, planner, consult.id, meeting, now)
