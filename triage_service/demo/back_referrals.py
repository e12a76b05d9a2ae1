"""The demo's back-referral (issue 23, point 2): the cardiologist dr. Mulder hands a patient with stable heart
failure back to De Linde with a CVRM plan; it waits in the portal for the GP (``huisarts``) to take the care over
or ask a question. Sent two days before the demo's clock, so the demo works on any day; loaded once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults.back_referrals import BackReferralForm, send
from triage_service.models import BackReferral, Organisation, Practitioner

CARDIOLOGIST_AGB = "03200001"

HEART_FAILURE = BackReferralForm(
    practice_agb="", patient_bsn="999911120", patient_name="G. Smit", patient_birth_date="1951-07-14",
    diagnosis_icpc="K77", diagnosis_text="Chronisch hartfalen met verminderde ejectiefractie (LVEF 38%), "
    "stabiel op maximaal verdragen medicatie; NYHA II.",
    gp_plan="CVRM: bloeddruk, gewicht, kalium en eGFR elk half jaar; streefwaarde systolisch < 130 mmHg. "
    "Medicatie ongewijzigd voortzetten (sacubitril/valsartan, bisoprolol, spironolacton, dapagliflozine). "
    "Jaarlijks griepvaccinatie.",
    care_programme="cvrm",
    rereferral_criteria="Toename kortademigheid (NYHA III), gewichtstoename > 2 kg in 3 dagen ondanks "
    "diureticum, kalium > 5,5 of eGFR-daling > 25%, syncope.",
    available_for="Meekijkconsult bij twijfel over medicatie of klachten")


def load_back_referral(session: Session, practice: Organisation) -> None:
    """The waiting back-referral for the demo practice (idempotent)."""
    cardiologist = session.scalar(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST_AGB))
    if cardiologist is None or practice.agb is None:
        return
    if session.scalar(select(BackReferral.id).where(BackReferral.practice_id == practice.id)) is not None:
        return
    sent = clock.now() - timedelta(days=2)
    until = (sent + timedelta(days=365)).date().isoformat()
    form = BackReferralForm(**{**HEART_FAILURE.__dict__, "practice_agb": practice.agb, "available_until": until})
    send(session, cardiologist, form, CLI_ACTOR, sent)
