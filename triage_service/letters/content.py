"""What a consult letter says, as plain data: the renderer (letters/pdf.py) turns it into a PDF.

Every code is already a Dutch word here (the outcome, the consult form, the urgency, the specialism): the
letter is read by a Dutch GP and filed in the patient's record, whatever language the user's screens use, and
this package knows nothing of code systems or the database. Moments are timezone-aware; the renderer shows
them in Dutch time (Europe/Amsterdam).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Party:
    """A care provider as the letter names them: a GP, a practice or a specialist, with their AGB code."""

    name: str
    agb: str | None = None
    #: What they are, in words ("dermatologie", "huisarts"); empty when the name says it.
    role: str = ""


@dataclass(frozen=True)
class Patient:
    name: str
    bsn: str
    birth_date: date
    #: "vrouw", "man", ...; empty when unknown.
    sex: str = ""


@dataclass(frozen=True)
class ThreadMessage:
    """One message of the consult's thread, in the order it was sent."""

    sent_at: datetime
    sender: str
    #: "specialist" or "huisarts": who wrote it, beside the name.
    sender_role: str
    #: The kind of message in words ("Vraag om aanvullende informatie").
    kind: str
    text: str
    #: How many photos or documents came with it (they are in the consult, not in the letter).
    attachments: int = 0


@dataclass(frozen=True)
class LetterContent:
    """Everything the letter shows; two equal contents render to the same bytes (letters/pdf.py)."""

    #: The ServiceRequest's id: the consult the letter belongs to, printed so a printout can be traced.
    consult_id: str
    #: "Meekijkconsult" or "Verwijzing (triage)".
    kind: str
    #: The consult form in words ("E-consult").
    form: str
    specialism: str
    practice: Party
    gp: Party
    patient: Patient
    sent_at: datetime
    urgency: str
    complaint: str
    question: str
    thread: tuple[ThreadMessage, ...]
    #: The outcome in words ("Behandeling in de eerste lijn met dit advies").
    outcome: str
    #: The specialist's concluding text (the advice, the reason for declining, the note with an accepted
    #: referral); empty when there is none (a referral accepted without a note).
    conclusion: str
    #: The heading above the conclusion ("Advies", "Reden").
    conclusion_heading: str
    specialist: Party
    concluded_at: datetime
    #: When the letter was made: its date, and the PDF's creation date (from the service's clock).
    issued_at: datetime
    referral_target: str = ""
    referral_urgency: str = ""
    #: 1 for the first letter of a consult; a later one replaces the one before.
    version: int = 1
    #: When the letter this one replaces was made (None for the first).
    replaces_issued_at: datetime | None = None
