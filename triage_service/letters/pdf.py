"""The consult letter as an A4 PDF: searchable text in embedded fonts, no external resources, and the same
bytes for the same content.

Why these choices:
- Fonts are the Bitstream Vera TrueType files inside the reportlab package, embedded (subset) in the PDF: no
  system font is looked for, so the letter renders alike on any machine, and the text stays text (searchable,
  copyable into the HIS). Vera covers the Latin-1 letters Dutch needs (ë, ï, é).
- reportlab's invariant mode fixes the document id and object order; the creation date is the letter's own
  date from the service's clock (``issued_at``), not the machine's time. Two renders of equal content are
  byte-identical, which is what lets the service check that a letter it would issue again says nothing new.
  (reportlab also reads SOURCE_DATE_EPOCH into the document id: equal on one machine, set nowhere here.)
- Dates and times are shown in Dutch time (Europe/Amsterdam) with Dutch month names, not from the locale:
  the letter must read the same whatever the server's locale is.
"""

from __future__ import annotations

import io
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import reportlab
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from triage_service.letters.content import LetterContent, Party, ThreadMessage

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december")
FONT, BOLD = "LetterSans", "LetterSans-Bold"
_FONTS = Path(reportlab.__file__).parent / "fonts"
_registered = threading.Lock()
_MARGIN = 20 * mm


def register_fonts() -> None:
    """Once per process, on first use (import time stays inert): reportlab's font registry is global."""
    with _registered:
        if FONT in pdfmetrics.getRegisteredFontNames():
            return
        pdfmetrics.registerFont(TTFont(FONT, str(_FONTS / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(_FONTS / "VeraBd.ttf")))
        pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def dutch_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def dutch_moment(moment: datetime) -> str:
    """'23 november 2026 om 10:15', in Dutch time."""
    local = moment.astimezone(AMSTERDAM)
    return f"{dutch_date(local.date())} om {local:%H:%M}"


def _pdf_date(moment: datetime) -> str:
    """The PDF date string (PDF 32000-1, 7.9.4) of the letter's own moment, in Dutch time."""
    local = moment.astimezone(AMSTERDAM)
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"D:{local:%Y%m%d%H%M%S}{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def letter_styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13.5, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=17, leading=21, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=11, leading=15, textColor=colors.HexColor(
            "#333333"), spaceAfter=10),
        # A heading or a message's who-and-when never ends a page alone; a long text itself may break.
        "heading": ParagraphStyle("heading", parent=body, fontName=BOLD, fontSize=12, leading=16, spaceBefore=10,
                                  spaceAfter=4, keepWithNext=1),
        "meta": ParagraphStyle("meta", parent=body, fontName=BOLD, fontSize=9.5, leading=13, spaceBefore=4,
                               spaceAfter=1, keepWithNext=1),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, spaceAfter=0),
    }


def markup_text(value: str) -> str:
    """Free text as reportlab's paragraph markup: escaped, its line breaks kept."""
    return "<br/>".join(escape(line) for line in value.strip().splitlines()) or "-"


def party_text(party: Party) -> str:
    parts = [party.name] + ([party.role] if party.role else []) + ([f"AGB {party.agb}"] if party.agb else [])
    return escape(", ".join(parts))


def facts_table(rows: list[tuple[str, str]], styles: dict[str, ParagraphStyle]) -> Table:
    """Label and value side by side, the labels in bold: what a GP scans for first."""
    data = [[Paragraph(f"<b>{escape(label)}</b>", styles["cell"]), Paragraph(value, styles["cell"])]
            for label, value in rows]
    table = Table(data, colWidths=[42 * mm, A4[0] - 2 * _MARGIN - 42 * mm], hAlign="LEFT")
    # The table's own font (its default is Helvetica, which the PDF would not embed), though the cells are
    # paragraphs in their own style.
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return table


def message_flowables(message: ThreadMessage, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    count = message.attachments
    extra = f" · met {count} {'bijlage' if count == 1 else 'bijlagen'}" if count else ""
    meta = (f"{escape(dutch_moment(message.sent_at))} · {escape(message.sender)} ({escape(message.sender_role)})"
            f" · {escape(message.kind)}{extra}")
    return [Paragraph(meta, styles["meta"]), Paragraph(markup_text(message.text), styles["body"])]


def _story(content: LetterContent, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph("Consultverslag", styles["title"]),
        Paragraph(escape(f"{content.kind} {content.specialism.lower()} · {content.form}"), styles["subtitle"]),
        facts_table([("Datum", escape(dutch_moment(content.issued_at))),
                     ("Aan", f"{party_text(content.gp)}<br/>{party_text(content.practice)}"),
                     ("Van", party_text(content.specialist))], styles),
    ]
    if content.version > 1 and content.replaces_issued_at is not None:
        story.append(Spacer(1, 4))
        story.append(Paragraph(escape(f"Versie {content.version}: dit verslag vervangt het verslag van "
                                      f"{dutch_moment(content.replaces_issued_at)}."), styles["body"]))
    patient = content.patient
    story += [
        Paragraph("Patiënt", styles["heading"]),
        facts_table([("Naam", escape(patient.name or "-")), ("BSN", escape(patient.bsn or "-")),
                     ("Geboortedatum", escape(f"{patient.birth_date:%d-%m-%Y}"))]
                    + ([("Geslacht", escape(patient.sex))] if patient.sex else []), styles),
        Paragraph("Vraag van de huisarts", styles["heading"]),
        facts_table([("Verstuurd", escape(dutch_moment(content.sent_at))),
                     ("Klacht", escape(content.complaint or "-")), ("Urgentie", escape(content.urgency))], styles),
        Spacer(1, 4),
        Paragraph(markup_text(content.question), styles["body"]),
    ]
    if content.thread:
        story.append(Paragraph("Berichten", styles["heading"]))
        story += [flowable for m in content.thread for flowable in message_flowables(m, styles)]
    story.append(Paragraph("Antwoord van de specialist", styles["heading"]))
    outcome = [("Uitkomst", escape(content.outcome))]
    if content.referral_target:
        outcome.append(("Verwijzen naar", escape(content.referral_target)))
    if content.referral_urgency:
        outcome.append(("Urgentie verwijzing", escape(content.referral_urgency)))
    outcome.append(("Beantwoord",
                    escape(f"{dutch_moment(content.concluded_at)} door ") + party_text(content.specialist)))
    story.append(facts_table(outcome, styles))
    if content.conclusion:
        story.append(Paragraph(escape(content.conclusion_heading), styles["heading"]))
        story.append(Paragraph(markup_text(content.conclusion), styles["body"]))
    story += [Spacer(1, 10), Paragraph(
        "De huisarts blijft hoofdbehandelaar: dit is een advies van de specialist aan de huisarts.", styles["body"])]
    return story


def _canvas_maker(content: LetterContent) -> type[Canvas]:
    return numbered_canvas(f"Consultverslag · consult {content.consult_id} · versie {content.version}",
                           content.issued_at)


def numbered_canvas(footer: str, issued_at: datetime) -> type[Canvas]:
    """A canvas that prints ``footer`` and numbers pages as 'pagina 1 van 2' (the total is known only at the
    end, so pages are kept until then) and stamps the letter's own date as the PDF's creation date; the
    back-referral letter (letters/back_referral.py) uses it too."""
    created = _pdf_date(issued_at)

    class LetterCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._kept: list[dict[str, Any]] = []
            self.setDateFormatter(lambda *_: created)

        def showPage(self) -> None:  # noqa: N802 - reportlab's name for it
            self._kept.append(dict(self.__dict__))
            # reportlab's own start of a fresh page, without emitting the one just drawn (kept for the footer);
            # the stubs do not list this private method.
            self._startPage()  # type: ignore[attr-defined]

        def save(self) -> None:
            for state in self._kept:
                self.__dict__.update(state)
                self.setFont(FONT, 8)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(_MARGIN, 12 * mm, footer)
                self.drawRightString(A4[0] - _MARGIN, 12 * mm, f"pagina {self.getPageNumber()} van {len(self._kept)}")
                super().showPage()
            super().save()

    return LetterCanvas


def render_letter(content: LetterContent) -> bytes:
    """The letter as PDF bytes; equal content gives equal bytes."""
    register_fonts()
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=22 * mm,
        # The document's metadata names no patient: viewers show it in window titles and file lists.
        title=f"Consultverslag {content.specialism.lower()}", author=content.specialist.name,
        subject=content.kind, creator="triage_service", invariant=1, lang="nl-NL",
        # Each page starts in this font too: the default (Helvetica) would be a font the PDF does not embed.
        initialFontName=FONT, initialFontSize=10)
    document.build(_story(content, letter_styles()), canvasmaker=_canvas_maker(content))
    return out.getvalue()
