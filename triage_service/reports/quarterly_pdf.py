"""The quarterly report as an A4 landscape PDF: a cover, tables and charts, laid out with reportlab platypus
in the statement PDF's style (reports/statement_files.py).

The words, formatted numbers and chart series come ready from web/quarterly.py in the reader's language;
this module only lays them out. The letters' embedded Vera fonts (letters/pdf.py) carry Dutch letters, the
euro sign and the en dash; text stays text (searchable, and testable by extracting it), and reportlab's
invariant mode keeps equal reports byte-equal on one installation. Each chart's figures are in a table too:
a chart in a PDF is a picture, and a reader should not have to measure bars.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from triage_service.letters.pdf import BOLD, FONT, register_fonts
from triage_service.reports.statement_files import PdfTable

_MARGIN = 15 * mm
_WIDTH = landscape(A4)[0] - 2 * _MARGIN
# Dark blue and orange: apart for the common colour blindnesses, and apart in greyscale print too.
_COLOURS = (colors.HexColor("#1f4e79"), colors.HexColor("#d9822b"), colors.HexColor("#5b8c3a"))
_CHART_WIDTH, _CHART_HEIGHT = _WIDTH / 3 - 4 * mm, 70 * mm


@dataclass(frozen=True)
class Grid(PdfTable):
    """A table with its columns' shares of the page's width (each column alike when empty)."""

    widths: tuple[float, ...] = ()


@dataclass(frozen=True)
class Chart:
    title: str
    kind: Literal["bar", "line"]
    #: Along the x axis: the quarter's months.
    categories: list[str]
    #: (name for the legend, one value per category; None where there is none, as a gap).
    series: list[tuple[str, list[float | None]]]
    #: The value axis' numbers in the reader's language (4,5 in Dutch).
    value_text: Callable[[float], str] = str


@dataclass(frozen=True)
class Section:
    heading: str
    #: Paragraphs after the tables (already in the reader's language).
    text: list[str]
    tables: list[PdfTable]
    charts: list[Chart]
    #: Paragraphs after the tables: notes and definitions.
    notes: list[str]
    #: Starts on a new page (the cover stands alone; the monthly charts need a page's width and height).
    new_page: bool = False


@dataclass(frozen=True)
class Document:
    title: str
    #: (label, value) under the title on the cover.
    facts: list[tuple[str, str]]
    #: The cover's own paragraphs (who the figures cover, whether the quarter is complete).
    cover: list[str]
    sections: list[Section]
    language: str


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, spaceAfter=3)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=20, leading=25, spaceAfter=10),
        "heading": ParagraphStyle("heading", parent=body, fontName=BOLD, fontSize=14, leading=18, spaceBefore=6,
                                  spaceAfter=6),
        "caption": ParagraphStyle("caption", parent=body, fontName=BOLD, fontSize=10.5, leading=14, spaceBefore=8,
                                  spaceAfter=4),
        "note": ParagraphStyle("note", parent=body, fontSize=8, leading=10.5, textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10, spaceAfter=0),
    }


def _table(table: PdfTable, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    # Cells as paragraphs, so a long label wraps inside its column instead of running into the next.
    cell = styles["cell"]
    bold = ParagraphStyle("cell-bold", parent=cell, fontName=BOLD)
    right = ParagraphStyle("cell-right", parent=cell, alignment=2)
    right_bold = ParagraphStyle("cell-right-bold", parent=right, fontName=BOLD)

    def row(values: Sequence[str], strong: bool) -> list[Paragraph]:
        return [Paragraph(escape(value), (right_bold if strong else right) if column in table.numbers
                          else (bold if strong else cell)) for column, value in enumerate(values)]

    data = [row(table.header, True), *(row(r, False) for r in table.rows),
            *([row(table.footer, True)] if table.footer else [])]
    shares = table.widths if isinstance(table, Grid) and table.widths else (1 / len(table.header),) * len(
        table.header)
    grid = Table(data, repeatRows=1, hAlign="LEFT", colWidths=[_WIDTH * share for share in shares])
    style: list[Any] = [("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
                        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
    if table.footer:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black))
    grid.setStyle(TableStyle(style))
    return [Paragraph(escape(table.caption), styles["caption"]), grid]


def _values(series: list[tuple[str, list[float | None]]]) -> list[float]:
    return [v for _name, values in series for v in values if v is not None]


def _step(highest: float, whole: bool) -> float:
    """A round step between the value axis' ticks, at most five of them; whole numbers for counts."""
    for step in (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if (step >= 1 or not whole) and highest / step <= 5:
            return step
    return highest / 5


def _chart(chart: Chart) -> Drawing:
    drawing = Drawing(_CHART_WIDTH, _CHART_HEIGHT)
    drawing.add(String(0, _CHART_HEIGHT - 10, chart.title, fontName=BOLD, fontSize=9.5))
    plot: Any = VerticalBarChart() if chart.kind == "bar" else HorizontalLineChart()
    plot.x, plot.y = 28, 48
    plot.width, plot.height = _CHART_WIDTH - 36, _CHART_HEIGHT - 48 - 24
    # A line chart leaves a month without a value out (None); a bar chart draws it as no bar.
    plot.data = [tuple(v if v is not None or chart.kind == "line" else 0 for v in values)
                 for _name, values in chart.series]
    plot.categoryAxis.categoryNames = chart.categories
    values = _values(chart.series)
    step = _step(max(values, default=0.0) or 1.0, all(float(v).is_integer() for v in values))
    plot.valueAxis.valueMin, plot.valueAxis.valueStep = 0, step
    plot.valueAxis.valueMax = step * (int(max(values, default=0.0) // step) + 1)
    plot.valueAxis.labelTextFormat = chart.value_text
    for axis in (plot.categoryAxis, plot.valueAxis):
        axis.labels.fontName, axis.labels.fontSize = FONT, 7.5
    for index, _series in enumerate(chart.series):
        colour = _COLOURS[index % len(_COLOURS)]
        if chart.kind == "bar":
            plot.bars[index].fillColor, plot.bars[index].strokeColor = colour, None
        else:
            plot.lines[index].strokeColor, plot.lines[index].strokeWidth = colour, 1.8
            # A marker on each value: a month alone between two without a value is a point, not a line.
            plot.lines[index].symbol = makeMarker("FilledCircle", fillColor=colour, size=5)  # type: ignore[no-untyped-call]
    if chart.kind == "bar":
        plot.barSpacing, plot.groupSpacing = 1, 8
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y = 28, 24
    legend.fontName, legend.fontSize = FONT, 7.5
    legend.alignment, legend.columnMaximum, legend.deltay, legend.dy, legend.dx = "right", 2, 11, 7, 7
    legend.colorNamePairs = [(_COLOURS[i % len(_COLOURS)], name) for i, (name, _v) in enumerate(chart.series)]
    drawing.add(legend)
    return drawing


def quarterly_pdf(document: Document) -> bytes:
    """The cover on the first page, then each section; charts side by side, three to a row."""
    register_fonts()
    styles = _styles()
    story: list[Flowable] = [Paragraph(escape(document.title), styles["title"])]
    story += [Paragraph(f"<b>{escape(label)}</b>: {escape(value)}", styles["body"]) for label, value in document.facts]
    story.append(Spacer(1, 4 * mm))
    story += [Paragraph(escape(text), styles["body"]) for text in document.cover]
    for section in document.sections:
        story.append(PageBreak() if section.new_page else Spacer(1, 6 * mm))
        story.append(Paragraph(escape(section.heading), styles["heading"]))
        for table in section.tables:
            story.append(KeepTogether(_table(table, styles)))
        story += [Spacer(1, 2 * mm)] if section.text and section.tables else []
        story += [Paragraph(escape(text), styles["body"]) for text in section.text]
        if section.charts:
            charts = Table([[_chart(chart) for chart in section.charts]], hAlign="LEFT",
                           colWidths=[_WIDTH / 3] * len(section.charts))
            story += [Spacer(1, 4 * mm), charts]
        story += [Paragraph(escape(text), styles["note"]) for text in section.notes]
    out = io.BytesIO()
    SimpleDocTemplate(
        out, pagesize=landscape(A4), leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=_MARGIN,
        bottomMargin=_MARGIN, title=document.title, creator="triage_service", invariant=1,
        lang="nl-NL" if document.language == "nl" else "en-GB", initialFontName=FONT, initialFontSize=9,
    ).build(story)
    return out.getvalue()
