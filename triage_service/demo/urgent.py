"""The demo's urgent question from the out-of-hours post (issue 20), sent at load time so the inbox shows a
call-out in progress."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.models import ApiClient, Organisation, Practitioner
from triage_service.settings import PROJECT_ROOT

#: The canonical example request, rewritten as the post's GP system would send it.
EXAMPLE = PROJECT_ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"

DEMO_URGENT_NOTE = ("Man van 58, sinds twee uur hartkloppingen en licht drukkend gevoel, niet uitstralend. ECG op de "
                    "post: atriumfibrilleren, ventrikelfrequentie 110, geen ST-afwijkingen. Hemodynamisch stabiel. "
                    "Kan hij met frequentiecontrole thuis blijven en morgen naar de eigen huisarts, of moet hij "
                    "vannacht naar de SEH?")


def load_urgent_consult(session: Session, post: Organisation, own_practice: Organisation) -> None:
    """An urgent question from the out-of-hours post, sent now: the cardiologist on call (or, in office hours,
    the least-loaded one) is being called out, so the inbox shows the banner and "Ik pak hem op"."""
    from triage_service import clock
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.intake import submit_consult
    from triage_service.records.resolution import Resolver

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == post.id))
    gp = session.scalar(select(Practitioner).where(Practitioner.organisation_id == post.id))
    if client is None or gp is None or not post.agb or not own_practice.agb:
        return
    now = clock.now()
    # The demo request as the post's GP system sends it: the post and its GP as requester.
    text = EXAMPLE.read_text(encoding="utf-8").replace(f'"{own_practice.agb}"', f'"{post.agb}"')
    resource = json.loads(text.replace('"01012345"', f'"{gp.agb}"'))
    resource.pop("id")
    resource["identifier"][0]["value"] = "HAP-DEMO-1"
    resource["authoredOn"] = now.isoformat()
    resource["priority"] = "urgent"
    resource["performerType"]["coding"][0].update(code="0320", display="Cardiologie")
    resource["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "K78",
                                           "display": "Atriumfibrilleren/-fladderen"}],
                               "text": "Nieuw atriumfibrilleren, hemodynamisch stabiel"}]
    resource["note"] = [{"text": DEMO_URGENT_NOTE}]
    # The post's name and its GP's, not the practice's the example was written for: the specialist calls back there.
    for contained in resource["contained"]:
        if contained["resourceType"] == "Organization":
            contained["name"] = post.name
        elif contained["resourceType"] == "PractitionerRole":
            contained["practitioner"]["display"] = gp.name
            contained["organization"]["display"] = post.name
    patient = next(c for c in resource["contained"] if c["resourceType"] == "Patient")
    patient["gender"] = "male"
    patient["generalPractitioner"] = [{"type": "Organization", "display": own_practice.name, "identifier": {
        "system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": own_practice.agb}}]
    submit_consult(session, CLI_ACTOR, post, client.id, resource, Resolver(session, post.id, resource), now,
                   if_none_exist=(resource["identifier"][0]["system"], "HAP-DEMO-1"))
