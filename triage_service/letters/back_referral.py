"""The back-referral letter (terugverwijzing, issue 23) as an A4 PDF: the GP files it in the patient's record,
the specialist keeps a copy.

Laid out as the consult letter (letters/pdf.py) and with its pieces: the embedded Vera fonts, the label-and-value
tables, the numbered pages with a footer, the invariant mode. Unlike the consult letter it is not stored: it is
made on each request from the back-referral as it stands, so it says when it was printed and how far the
hand-over had come then. Every word is Dutch, whatever the reader's screen language, as in the consult letter.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate

from triage_service.letters.content import Party, Patient, ThreadMessage
from triage_service.letters.pdf import (
    FONT,
    dutch_date,
    dutch_moment,
    facts_table,
    letter_styles,
    markup_text,
    message_flowables,
    numbered_canvas,
    party_text,
    register_fonts,
)

_MARGIN = 20 * mm  # as the consult letter's


@dataclass(frozen=True)
class BackReferralLetter:
    """Everything the letter shows, every code already in Dutch words."""

    #: The ServiceRequest's id, printed in the footer so a printout can be traced.
    back_referral_id: str
    #: The specialist, their specialism as ``role``.
    specialist: Party
    #: The specialist's organisation (the hospital).
    organisation: Party
    practice: Party
    patient: Patient
    sent_at: datetime
    diagnosis_code: str
    #: The ICPC-1-NL title of the code.
    diagnosis_title: str
    diagnosis_text: str
    gp_plan: str
    #: The care programme's name; empty when the plan names none.
    care_programme: str
    rereferral_criteria: str
    #: What the specialist stays available for; empty when nothing was agreed.
    available_for: str
    available_until: date | None
    thread: tuple[ThreadMessage, ...]
    #: Where the hand-over stands, in words.
    state: str
    accepted_at: datetime | None
    accepted_by: str
    #: When the letter was made (printed at the top; the PDF's creation date).
    issued_at: datetime


def _story(letter: BackReferralLetter) -> list[Flowable]:
    styles = letter_styles()
    patient = letter.patient
    specialism = letter.specialist.role
    story: list[Flowable] = [
        Paragraph("Terugverwijzing naar de huisarts", styles["title"]),
        Paragraph(escape(" · ".join(filter(None, (specialism.capitalize(), letter.organisation.name)))),
                  styles["subtitle"]),
        facts_table([("Aan", party_text(letter.practice)),
                     ("Van", f"{party_text(letter.specialist)}<br/>{party_text(letter.organisation)}"),
                     ("Verstuurd", escape(dutch_moment(letter.sent_at))),
                     ("Afgedrukt", escape(dutch_moment(letter.issued_at)))], styles),
        Paragraph("Patiënt", styles["heading"]),
        facts_table([("Naam", escape(patient.name or "-")), ("BSN", escape(patient.bsn or "-")),
                     ("Geboortedatum", escape(f"{patient.birth_date:%d-%m-%Y}"))], styles),
        Paragraph("Diagnose", styles["heading"]),
        facts_table([("ICPC", escape(" ".join(filter(None, (letter.diagnosis_code, letter.diagnosis_title)))))],
                    styles),
        Paragraph(markup_text(letter.diagnosis_text), styles["body"]),
        Paragraph("Beleid van de huisarts", styles["heading"]),
    ]
    if letter.care_programme:
        story.append(facts_table([("Ketenzorg", escape(letter.care_programme))], styles))
    story += [
        Paragraph(markup_text(letter.gp_plan), styles["body"]),
        Paragraph("Opnieuw verwijzen bij", styles["heading"]),
        Paragraph(markup_text(letter.rereferral_criteria), styles["body"]),
        Paragraph("Beschikbaarheid van de specialist", styles["heading"]),
    ]
    if letter.available_for:
        until = (f" (tot en met {dutch_date(letter.available_until)})" if letter.available_until is not None
                 else "")
        story.append(Paragraph(markup_text(letter.available_for + until), styles["body"]))
    else:
        story.append(Paragraph("Geen nadere afspraak: bij vragen verwijst de huisarts opnieuw.", styles["body"]))
    if letter.thread:
        story.append(Paragraph("Vragen en antwoorden", styles["heading"]))
        story += [flowable for message in letter.thread for flowable in message_flowables(message, styles)]
    story.append(Paragraph("Overname van de zorg", styles["heading"]))
    if letter.accepted_at is not None:
        taken = f"Overgenomen op {dutch_moment(letter.accepted_at)} door {letter.accepted_by or '-'}."
        story.append(Paragraph(escape(taken), styles["body"]))
    else:
        story.append(Paragraph(escape(f"Nog niet overgenomen ({letter.state}, stand op "
                                      f"{dutch_moment(letter.issued_at)})."), styles["body"]))
    return story


def render_back_referral(letter: BackReferralLetter) -> bytes:
    """The letter as PDF bytes."""
    register_fonts()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=22 * mm,
        # The metadata names no patient: viewers show it in window titles and file lists.
        title=f"Terugverwijzing {letter.specialist.role}".strip(), author=letter.specialist.name,
        subject="Terugverwijzing naar de huisarts", creator="triage_service", invariant=1, lang="nl-NL",
        initialFontName=FONT, initialFontSize=10)
    footer = f"Terugverwijzing · {letter.back_referral_id}"
    document.build(_story(letter), canvasmaker=numbered_canvas(footer, letter.issued_at))
    return out.getvalue()
