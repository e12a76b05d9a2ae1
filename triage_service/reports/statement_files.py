"""A subcontractor's statement as a Dutch CSV and as a printable A4 PDF.

The texts (headings, column names, formatted money and dates) come from the screen in the user's language;
this module lays them out. The PDF uses the consult letter's embedded Vera fonts (letters/pdf.py): no system
font, text that stays text, and reportlab's invariant mode, so equal statements give equal bytes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from triage_service.letters.pdf import BOLD, FONT, register_fonts
from triage_service.reports.exports import euros
from triage_service.reports.statements import Statement

CSV_COLUMNS = ["organisatie_agb", "periode", "consult", "datum", "consultvorm", "specialist_agb", "specialist",
               "minuten_geregistreerd", "normtijd_minuten", "vergoeding"]
_MARGIN = 15 * mm


def statement_csv(found: Statement) -> str:
    """One row per consult, as Excel expects with a Dutch locale (``;``, decimal comma, dd-mm-jjjj, BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in found.lines:
        writer.writerow([found.subcontractor_agb, str(found.month), line.consult_id, f"{line.service_date:%d-%m-%Y}",
                         line.consult_form, line.specialist_agb, line.specialist,
                         "" if line.minutes is None else line.minutes,
                         "" if line.norm_minutes is None else line.norm_minutes, euros(line.fee_cents)])
    return out.getvalue()


@dataclass(frozen=True)
class PdfTable:
    caption: str
    header: list[str]
    rows: list[list[str]]
    #: The totals row, in bold; empty for none.
    footer: list[str]
    #: Columns (by index) aligned right: figures.
    numbers: frozenset[int] = frozenset()


def statement_pdf(title: str, facts: list[tuple[str, str]], tables: list[PdfTable], language: str) -> bytes:
    """A4 landscape (seven columns of lines fit a page's width), the title and facts, then each table."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    heading = ParagraphStyle("heading", parent=body, fontName=BOLD, fontSize=15, leading=19, spaceAfter=6)
    caption = ParagraphStyle("caption", parent=body, fontName=BOLD, fontSize=11, leading=15, spaceBefore=8,
                             spaceAfter=4)
    story: list[Flowable] = [Paragraph(escape(title), heading)]
    story += [Paragraph(f"<b>{escape(label)}</b>: {escape(value)}", body) for label, value in facts]
    width = landscape(A4)[0] - 2 * _MARGIN
    for table in tables:
        story += [Spacer(1, 4 * mm), Paragraph(escape(table.caption), caption)]
        data = [table.header, *table.rows, *([table.footer] if table.footer else [])]
        grid = Table(data, repeatRows=1, hAlign="LEFT", colWidths=[width / len(table.header)] * len(table.header))
        style: list[Any] = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                 ("FONTNAME", (0, 0), (-1, 0), BOLD), ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                 ("VALIGN", (0, 0), (-1, -1), "TOP")]
        style += [("ALIGN", (column, 0), (column, -1), "RIGHT") for column in table.numbers]
        if table.footer:
            style += [("FONTNAME", (0, -1), (-1, -1), BOLD), ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black)]
        grid.setStyle(TableStyle(style))
        story.append(grid)
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=landscape(A4), leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN,
        bottomMargin=_MARGIN, title=title, creator="triage_service", invariant=1,
        lang="nl-NL" if language == "nl" else "en-GB", initialFontName=FONT, initialFontSize=9)
    document.build(story)
    return out.getvalue()
