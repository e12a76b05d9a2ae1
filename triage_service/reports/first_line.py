"""First-line specialists in the zorggroep's figures (issue 23, point 1): how many consults went to a
kaderhuisarts, an optometrist or an extended-scope physiotherapist, and what the first-line budget pays.

A first-line consult is one asked of a specialism in the first-line code system (triage-first-line-specialism:
those without a Vektis code). Counted over the consults submitted in the period, as the rest of the dashboard
counts; the share is of all the zorggroep's consults in the period.

The first-line budget (an agreement's ``declaratie: soort: eerstelijnsbudget``): the zorggroep pays such
consults from a budget the insurer funds as a whole (for kaderhuisartsen, or a regional first-line budget), so
they are never a line of the insurer's declaration (reports/declarations.py leaves them out). What is paid from
the budget is listed here instead, per month by the day of the advice as the statements count it: each answered
consult with its agreement, the first-line practice that answered it, the code and rate of the budget, and the
practice's fee. The first-line practice is paid that fee through its own statement (reports/statements.py), as
any subcontractor is.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.fhir.profiles import CANONICAL_BASE, registry
from triage_service.models import Agreement, Consult, ConsultTask, Organisation, TaskStatus
from triage_service.models.monitoring import ConsultFact
from triage_service.reports.declaration_terms import FIRST_LINE_BUDGET
from triage_service.reports.monitoring import answer_hours, nearest_rank
from triage_service.reports.periods import Month, local_date

VS_FIRST_LINE = f"{CANONICAL_BASE}/ValueSet/triage-first-line-specialism"


def first_line_codes() -> frozenset[str]:
    return frozenset(code for _, code in registry().value_set_codes(VS_FIRST_LINE))


@dataclass(frozen=True)
class SpecialismRow:
    specialism: str
    consults: int
    answered: int
    median_answer_hours: float | None


@dataclass(frozen=True)
class FirstLineFigures:
    submitted: int
    first_line: int
    rows: list[SpecialismRow]

    @property
    def share(self) -> float | None:
        return round(self.first_line / self.submitted, 4) if self.submitted else None


def first_line_figures(session: Session, zorggroep_id: str, start: datetime, end: datetime) -> FirstLineFigures:
    """The consults submitted in [start, end) under the zorggroep's agreements, and the first-line ones among
    them per specialism, with how many were answered and their median answer time.

    The answer time is the monitoring's own (reports/monitoring.py): the fact rows' whole minutes, the
    nearest-rank median, in hours by the same function; so a specialism's median reads the same here as in
    the key figures (it once read 0,1 h here, from seconds and an averaged median, and 0,0 there)."""
    codes = first_line_codes()
    # The window is read through the fact rows' (zorggroep, created_at) index, as the rest of the dashboard:
    # consults has no index on created_at, and a month of a region's consults must not cost a read of all.
    rows = session.execute(
        select(ConsultFact.specialism, ConsultFact.state, ConsultFact.answer_minutes)
        .where(ConsultFact.zorggroep_id == zorggroep_id, ConsultFact.created_at >= start,
               ConsultFact.created_at < end)).all()
    per: dict[str, list[int | None]] = {}
    for specialism, state, minutes in rows:
        if specialism in codes:
            per.setdefault(specialism, []).append(minutes if state == "completed" else None)
    table = []
    for specialism, times in sorted(per.items()):
        done = sorted(t for t in times if t is not None)
        median = nearest_rank([(minutes, 1) for minutes in done], 0.5) if done else None
        table.append(SpecialismRow(specialism, len(times), len(done), answer_hours(median)))
    return FirstLineFigures(len(rows), sum(row.consults for row in table), table)


@dataclass(frozen=True)
class BudgetLine:
    """A consult paid from the first-line budget. No patient data: the consult id is the reference."""

    consult_id: str
    service_date: date
    practice_agb: str
    agreement: str
    first_line_practice_agb: str
    first_line_practice: str
    code: str
    rate_cents: int
    fee_cents: int


def budget_lines(session: Session, zorggroep_id: str, month: Month) -> list[BudgetLine]:
    """The consults of first-line-budget agreements answered in the month, by date of the advice."""
    requester = Organisation.__table__.alias("requester")
    rows = session.execute(
        select(Consult.id, Consult.completed_at, requester.c.agb, Agreement.code, Organisation.agb, Organisation.name,
               Agreement.s3_prestatie_code, Agreement.s3_tariff_cents, Agreement.subcontractor_fee_cents,
               Agreement.declaration)
        .join(ConsultTask, ConsultTask.consult_id == Consult.id)
        .join(Agreement, Agreement.id == Consult.agreement_id)
        .join(Organisation, Organisation.id == Agreement.subcontractor_id)
        .join(requester, requester.c.id == Consult.organisation_id)
        .where(Agreement.zorggroep_id == zorggroep_id, ConsultTask.status == TaskStatus.COMPLETED,
               Consult.completed_at >= month.start, Consult.completed_at < month.end)).all()
    lines = [BudgetLine(cid, local_date(done), practice or "", code, agb or "", name, prestatie, rate, fee)
             for cid, done, practice, code, agb, name, prestatie, rate, fee, declaration in rows
             if done is not None and (declaration or {}).get("kind") == FIRST_LINE_BUDGET]
    return sorted(lines, key=lambda line: (line.service_date, line.agreement, line.consult_id))


@dataclass(frozen=True)
class BudgetTotal:
    agreement: str
    first_line_practice: str
    consults: int
    rate_cents: int
    fee_cents: int


def budget_totals(lines: list[BudgetLine]) -> list[BudgetTotal]:
    """Per agreement and first-line practice: consults, what the budget pays, and the practice's fees in it."""
    grouped: dict[tuple[str, str], list[BudgetLine]] = {}
    for line in lines:
        grouped.setdefault((line.agreement, line.first_line_practice), []).append(line)
    return [BudgetTotal(agreement, practice, len(group), sum(x.rate_cents for x in group),
                        sum(x.fee_cents for x in group)) for (agreement, practice), group in sorted(grouped.items())]


CSV_HEADER = ("consult", "datum", "praktijk_agb", "afspraak", "eerstelijnspraktijk_agb", "eerstelijnspraktijk",
              "code", "tarief_cent", "vergoeding_cent")


def budget_csv(lines: list[BudgetLine]) -> str:
    """The month's budget lines for the zorggroep's budget administration (semicolon separated, as Dutch
    spreadsheets read it; amounts in whole cents like the declaration file)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in lines:
        writer.writerow((line.consult_id, line.service_date.isoformat(), line.practice_agb, line.agreement,
                         line.first_line_practice_agb, line.first_line_practice, line.code, line.rate_cents,
                         line.fee_cents))
    return out.getvalue()
