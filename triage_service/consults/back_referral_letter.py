"""The back-referral's letter (issue 23): a PDF the GP files in the patient's record and the specialist keeps.

Who may have it is who may read the back-referral (consults/back_referrals.py decides: the practice it is
addressed to, the specialist who sent it; anyone else a 404). Taking it is audited as its own event
(``back-referral-letter``, a read with ``detail="pdf"``) under the back-referral as the patient reference, so the
officer sees that the data left the screen. The letter is made from the back-referral as it stands and is not
stored: it holds nothing the back-referral does not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor
from triage_service.consults import back_referrals
from triage_service.fhir import icpc
from triage_service.letters.back_referral import BackReferralLetter, render_back_referral
from triage_service.letters.content import Party, Patient, ThreadMessage
from triage_service.models import BackReferral, BackReferralMessage
from triage_service.routing.service import specialism_label

EVENT = "back-referral-letter"

#: Where the hand-over stands, as the letter says it (the screens say it in the reader's language).
_STATE = {"pending": "wacht op de praktijk", "questioned": "de praktijk heeft een vraag gesteld",
          "answered": "de specialist heeft geantwoord; wacht op de praktijk", "accepted": "zorg overgenomen"}
_ROLE = {"gp": "huisarts", "specialist": "specialist"}
_KIND = {"gp": "Vraag", "specialist": "Antwoord"}


def practice_letter(session: Session, practice_id: str | None, back_referral_id: str, actor: Actor,
                    now: datetime) -> tuple[bytes, str]:
    """The letter for the practice it is addressed to, and its file name; 404 for anyone else."""
    back = back_referrals.for_practice(session, practice_id, back_referral_id, actor, now, event=EVENT,
                                       detail="pdf")
    return render_back_referral(letter_content(back, now)), file_name(back)


def specialist_letter(session: Session, specialist_id: str | None, back_referral_id: str, actor: Actor,
                      now: datetime) -> tuple[bytes, str]:
    """The letter for the specialist who sent it, and its file name; 404 for anyone else."""
    back = back_referrals.for_specialist(session, specialist_id, back_referral_id, actor, now, event=EVENT,
                                         detail="pdf")
    return render_back_referral(letter_content(back, now)), file_name(back)


def file_name(back: BackReferral) -> str:
    """A generated name: nothing about the patient in a header or in the browser's download list."""
    return f"terugverwijzing-{back.id[:8]}.pdf"


def letter_content(back: BackReferral, issued_at: datetime) -> BackReferralLetter:
    """What the letter says, every code in Dutch words."""
    specialist = back.specialist
    organisation = specialist.organisation
    return BackReferralLetter(
        back_referral_id=back.id,
        specialist=Party(specialist.name, specialist.agb, specialism_label(back.specialism, "nl").lower()
                         if back.specialism else ""),
        organisation=Party(organisation.name, organisation.agb),
        practice=Party(back.practice.name, back.practice.agb),
        patient=Patient(back.patient_name, back.patient_bsn, back.patient_birth_date),
        sent_at=back.sent_at, diagnosis_code=back.diagnosis_icpc,
        diagnosis_title=icpc.title(back.diagnosis_icpc) or "", diagnosis_text=back.diagnosis_text,
        gp_plan=back.gp_plan,
        care_programme=back_referrals.CARE_PROGRAMMES.get(back.care_programme or "", back.care_programme or ""),
        rereferral_criteria=back.rereferral_criteria, available_for=back.available_for or "",
        available_until=back.available_until, thread=tuple(_message(m) for m in back.messages),
        state=_STATE.get(back.status.value, back.status.value), accepted_at=back.accepted_at,
        accepted_by=back.accepted_by_name or "", issued_at=issued_at)


def _message(message: BackReferralMessage) -> ThreadMessage:
    return ThreadMessage(message.sent_at, message.sender_name, _ROLE.get(message.sender_role, message.sender_role),
                         _KIND.get(message.sender_role, ""), message.text)
