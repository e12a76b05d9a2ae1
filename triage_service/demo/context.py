"""The patient's context in the demo (issue 23, point 5): what a GP system sends with a cardiology consult.

The cardiology agreement (config/agreements/cardiologie.yaml) asks for a blood pressure with a video consult
and for a blood pressure and an ECG with an e-consult. The demo's video consult (DEMO-5) therefore carries
a blood pressure (:func:`add_blood_pressure`), and :func:`load_context_consult` sends the demo cardiologist an
e-consult with everything a HIS can send along: the blood pressure, an HbA1c and an eGFR, the medication as
MedicationStatements and as the HIS's pasted list, an allergy and the ECG as a PDF, through the same
transaction a GP system posts. Dates are relative to the clock, so the demo works on any day.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.consults.context_form import blood_pressure, lab_result, medication_list
from triage_service.fhir import context as codes
from triage_service.models import ApiClient, Organisation
from triage_service.settings import Settings

#: The demo's pasted medication list, as a Dutch HIS prints the medicatieoverzicht.
DEMO_MEDICATION_LIST = """Medicatieoverzicht (uit HIS, 1 dag geleden)
Amlodipine tablet 10 mg        1 x per dag 1 tablet
Hydrochloorthiazide tablet 12,5 mg   1 x per dag 1 tablet
Metformine tablet 500 mg       2 x per dag 1 tablet, bij de maaltijd
Simvastatine tablet 40 mg      1 x per dag 1 tablet, 's avonds
Paracetamol tablet 500 mg      zo nodig max. 4 x per dag 2 tabletten"""

DEMO_CONTEXT_NOTE = ("Man van 67 met hypertensie en diabetes mellitus type 2. Sinds enkele weken af en toe "
                     "hartkloppingen in rust, geen syncope. Bloeddruk ondanks twee middelen nog 158/94. ECG in de "
                     "praktijk gemaakt (bijgevoegd). Vraag: ziet u op het ECG aanwijzingen voor atriumfibrilleren "
                     "of geleidingsstoornissen, en welk middel voegt u bij deze nierfunctie toe?")


def add_blood_pressure(resource: dict[str, Any], now: datetime) -> None:
    """Contain a blood pressure measured in the practice this morning, named in supportingInfo."""
    resource.setdefault("contained", []).append(blood_pressure("bp", 165, 95, now - timedelta(hours=2)))
    resource.setdefault("supportingInfo", []).append({"reference": "#bp", "display": "Bloeddruk"})


def ecg_pdf() -> bytes:
    """A one-page ECG report as a practice's ECG device prints it (a drawn rhythm strip, not a real ECG)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=landscape(A4))
    width, height = landscape(A4)
    page.setTitle("ECG")
    page.setFont("Helvetica-Bold", 14)
    page.drawString(40, height - 50, "ECG (12 afleidingen) - demo")
    page.setFont("Helvetica", 10)
    page.drawString(40, height - 68, "Sinusritme 78/min, PQ 210 ms, QRS 96 ms, QTc 430 ms. Demogegevens.")
    for lead in range(3):
        base = height - 160 - lead * 120
        path = page.beginPath()
        path.moveTo(40, base)
        x = 40.0
        while x < width - 60:
            for dx, dy in ((10, 0), (4, 6), (4, -6), (8, 0), (3, -8), (3, 50), (3, -58), (3, 16), (12, 0),
                           (8, 10), (8, -10), (12, 0)):
                x += dx
                base += dy
                path.lineTo(x, base)
        page.drawPath(path)
    page.showPage()
    page.save()
    return buffer.getvalue()


def load_context_consult(session: Session, settings: Settings, practice: Organisation) -> None:
    """The demo cardiology e-consult with its context, submitted as a GP system's transaction (idempotent)."""
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.intake import find_consult_by_identifier
    from triage_service.consults.transactions import process_transaction
    from triage_service.demo import DEMO_EXAMPLE, DEMO_USERS

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == practice.id))
    if client is None:
        return
    resource = json.loads(DEMO_EXAMPLE.read_text(encoding="utf-8"))
    resource.pop("id")
    identifier = (resource["identifier"][0]["system"], "HIS-DEMO-10")
    if find_consult_by_identifier(session, practice.id, *identifier) is not None:
        return
    now = clock.now()
    cardiologist = next(u for u in DEMO_USERS if u[0] == "cardioloog")
    resource["identifier"][0]["value"] = identifier[1]
    resource["authoredOn"] = now.isoformat()
    resource["code"]["coding"][0].update(code="e-consult", display="E-consult")
    resource["performerType"]["coding"][0].update(code="0320", display="Cardiologie")
    resource["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "K86",
                                           "display": "Hypertensie zonder orgaanbeschadiging"}],
                               "text": "Hypertensie, hartkloppingen"}]
    resource["performer"] = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z",
                                             "value": cardiologist[2]}, "display": cardiologist[1]}]
    patient = next(c for c in resource["contained"] if c["resourceType"] == "Patient")
    patient.update(gender="male", birthDate=f"{now.year - 67}-03-14")
    resource["note"] = [{"text": DEMO_CONTEXT_NOTE}]
    resource["contained"] += [
        blood_pressure("bp", 158, 94, now - timedelta(hours=3)),
        blood_pressure("bp-before", 162, 96, now - timedelta(days=21)),
        lab_result("hba1c", codes.HBA1C_MMOL, "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", 58,
                   "mmol/mol", (now - timedelta(days=12)).date()),
        lab_result("egfr", codes.EGFR_CODES[0], "Glomerular filtration rate/1.73 sq M.predicted [CKD-EPI]", 52,
                   "mL/min/{1.73_m2}", (now - timedelta(days=12)).date()),
        {"resourceType": "MedicationStatement", "id": "med-amlodipine", "status": "active",
         "medicationCodeableConcept": {"coding": [{"system": codes.G_STANDAARD[1], "code": "22993",
                                                   "display": "AMLODIPINE 10MG TABLET"}],
                                       "text": "Amlodipine tablet 10 mg"},
         "subject": {"reference": "#patient"},
         "effectivePeriod": {"start": (now - timedelta(days=400)).date().isoformat()},
         "dosage": [{"text": "1 x per dag 1 tablet"}]},
        {"resourceType": "AllergyIntolerance", "id": "allergy",
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                        "code": "active"}]},
         "code": {"coding": [{"system": codes.SNOMED, "code": "386873009", "display": "Lisinopril"}],
                  "text": "Lisinopril (ACE-remmer)"},
         "criticality": "low", "patient": {"reference": "#patient"},
         "reaction": [{"manifestation": [{"coding": [{"system": codes.SNOMED, "code": "49727002",
                                                      "display": "Cough"}], "text": "Prikkelhoest"}]}]},
        medication_list("medication", DEMO_MEDICATION_LIST, now - timedelta(days=1)),
    ]
    ecg_url = "urn:uuid:0b9f6c1e-3f7a-4d0e-9a57-ec9de0000010"
    resource["supportingInfo"] = [{"reference": f"#{rid}"} for rid in
                                  ("bp", "bp-before", "hba1c", "egfr", "med-amlodipine", "allergy", "medication")]
    resource["supportingInfo"].append({"reference": ecg_url, "display": "ECG"})
    pdf = ecg_pdf()
    binary_url = "urn:uuid:0b9f6c1e-3f7a-4d0e-9a57-ec9de0000011"
    bsn = patient["identifier"][0]
    entries = [
        {"fullUrl": binary_url, "resource": {"resourceType": "Binary", "contentType": "application/pdf",
                                             "data": base64.b64encode(pdf).decode("ascii")},
         "request": {"method": "POST", "url": "Binary"}},
        {"fullUrl": ecg_url, "resource": {
            "resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": codes.LOINC, "code": codes.ECG, "display": "EKG study"}], "text": "ECG"},
            "subject": {"type": "Patient", "identifier": bsn}, "date": (now - timedelta(hours=3)).isoformat(),
            "content": [{"attachment": {"contentType": "application/pdf", "url": binary_url, "title": "ECG"}}]},
         "request": {"method": "POST", "url": "DocumentReference"}},
        {"fullUrl": "urn:uuid:0b9f6c1e-3f7a-4d0e-9a57-ec9de0000012", "resource": resource,
         "request": {"method": "POST", "url": "ServiceRequest"}},
    ]
    process_transaction(session, CLI_ACTOR, practice, client.id,
                        {"resourceType": "Bundle", "type": "transaction", "entry": entries}, now, settings)
