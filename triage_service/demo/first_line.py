"""The demo's first-line specialists (issue 23, point 1): one consult waiting for each of the kaderhuisarts
dermatologie (dr. H. Kuipers), the optometrist (J. Hendriks, with a fundus photo) and the extended-scope
physiotherapist (M. Verbeek), sent by De Linde through the normal intake with the first-line code as
performerType, so each finds it in the same inbox the hospital specialists use.

Their agreements are in config/agreements/ (kaderhuisarts-dermatologie.yaml, optometrie.yaml,
fysiotherapie-extended-scope.yaml), their accounts in security/demo_credentials.py. Loading twice changes
nothing: a consult already there is not sent again (and no second photo is stored for it).
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.models import ApiClient, ConsultIdentifier, Organisation
from triage_service.settings import PROJECT_ROOT, Settings

DEMO_EXAMPLE = PROJECT_ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"
CS_FIRST_LINE = "https://fhir.triage-service.nl/CodeSystem/triage-first-line-specialism"
AGB_SYSTEM = "http://fhir.nl/fhir/NamingSystem/agb-z"

#: (HIS number, first-line code, its Dutch name, the specialist's AGB and name, consult form, ICPC, ICPC title,
#: the complaint in short, the GP's question).
FIRST_LINE_CONSULTS = (
    ("EERSTELIJN-1", "kaderhuisarts-dermatologie", "Kaderhuisarts dermatologie", "01100001", "dr. H. Kuipers",
     "intercollegial-consult", "S88", "Contacteczeem/ander eczeem", "Eczeem handen, niet over op klasse 2",
     "Vrouw van 58, kapster, sinds vier maanden eczeem op de handruggen en tussen de vingers. Zes weken "
     "triamcinolon 0,1% met tijdelijk effect. Vraag: kan ik opschalen naar een klasse 3 corticosteroïd en is "
     "plakproefonderzoek zinvol, of eerst beroepsmatige blootstelling aanpakken?"),
    ("EERSTELIJN-2", "optometrist", "Optometrist", "08030010", "J. Hendriks", "e-consult", "F05",
     "Andere visusstoornissen", "Wazig zien rechts, fundusfoto bijgevoegd",
     "Patiënte van 58 ziet sinds twee weken wazig met het rechteroog, geen pijn, geen lichtflitsen. Visus "
     "rechts 0,6, links 1,0. Fundusfoto van de POH bijgevoegd. Vraag: is dit een beeld dat de optometrist kan "
     "vervolgen, of moet zij naar de oogarts?"),
    ("EERSTELIJN-3", "extended-scope-physiotherapist", "Fysiotherapeut met extended scope", "04060010",
     "M. Verbeek", "intercollegial-consult", "L15", "Symptomen/klachten knie", "Knieklachten na verdraaiing",
     "Vrouw van 58, drie weken geleden knie verdraaid bij het wandelen, sindsdien pijn mediaal en soms "
     "slotklachten, geen zwelling meer. Vraag: is beeldvorming of een orthopeed nodig, of kan zij met "
     "oefentherapie verder?"),
)


def load_first_line_consults(session: Session, settings: Settings, practice: Organisation) -> None:
    """Send the three consults for the first-line specialists (idempotent)."""
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.intake import submit_consult
    from triage_service.records.resolution import Resolver

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == practice.id))
    if client is None:
        return
    now = clock.now()
    for number, code, name, agb, person, form, icpc, title, complaint, question in FIRST_LINE_CONSULTS:
        resource: dict[str, Any] = json.loads(DEMO_EXAMPLE.read_text(encoding="utf-8"))
        system = resource["identifier"][0]["system"]
        if session.scalar(select(ConsultIdentifier.id).where(
                ConsultIdentifier.organisation_id == practice.id, ConsultIdentifier.system == system,
                ConsultIdentifier.value == f"HIS-{number}")) is not None:
            continue
        resource.pop("id")
        resource["identifier"][0]["value"] = f"HIS-{number}"
        resource["authoredOn"] = now.isoformat()
        resource["performerType"] = {"coding": [{"system": CS_FIRST_LINE, "code": code, "display": name}]}
        resource["performer"] = [{"identifier": {"system": AGB_SYSTEM, "value": agb}, "display": person}]
        resource["code"]["coding"][0].update(code=form, display="E-consult" if form == "e-consult" else
                                             "Intercollegial consult")
        resource["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": icpc,
                                               "display": title}], "text": complaint}]
        resource["note"] = [{"text": question}]
        if form == "e-consult":
            photo = _fundus_photo(session, settings, practice, now)
            resource["supportingInfo"] = [{"reference": f"DocumentReference/{photo}"}]
        submit_consult(session, CLI_ACTOR, practice, client.id, resource, Resolver(session, practice.id, resource),
                       now, if_none_exist=(system, f"HIS-{number}"))


def _fundus_photo(session: Session, settings: Settings, practice: Organisation, now: Any) -> str:
    """A drawn stand-in for a fundus photo (an orange disc with a pale optic disc and vessels), stored through
    the same checks, cleaning and encryption as a GP system's upload; returns the DocumentReference id."""
    from PIL import Image, ImageDraw

    from triage_service.attachments.documents import create_document_reference
    from triage_service.audit.trail import CLI_ACTOR

    image = Image.new("RGB", (640, 640), "black")
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 600, 600), fill=(196, 92, 40))
    draw.ellipse((400, 280, 480, 360), fill=(240, 210, 150))
    for end in ((120, 140), (110, 500), (300, 90), (260, 560)):
        draw.line(((440, 320), end), fill=(130, 30, 20), width=6)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    document = {"resourceType": "DocumentReference", "status": "current",
                "content": [{"attachment": {"contentType": "image/jpeg", "title": "fundusfoto rechteroog",
                                            "data": base64.b64encode(out.getvalue()).decode()}}]}
    return create_document_reference(session, CLI_ACTOR, settings, practice.id, document, now).id
