"""The dashboard's section on first-line specialists and the second opinion pool (issue 23, points 1 and 4).

The figures are computed in reports/first_line.py and reports/overflow.py; this module only puts them in the
period the dashboard shows, with the texts the partial template _first_line_overflow.html needs. The first-line
budget's monthly list as CSV is served by web/collaboration.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from triage_service.errors import N_
from triage_service.reports.first_line import (
    BudgetTotal,
    FirstLineFigures,
    budget_lines,
    budget_totals,
    first_line_figures,
)
from triage_service.reports.overflow import OverflowFigures, overflow_figures
from triage_service.reports.periods import Month, local_midnight
from triage_service.routing.service import specialism_label
from triage_service.web.dashboard import statement_months

#: Why consults overflowed, as the dashboard's rows name them (Overflow.reason).
REASON_LABELS = {"nobody-available": N_("Because none of the own specialists was available"),
                 "norm-share-passed": N_("Because the agreed share of the norm passed untaken")}


@dataclass(frozen=True)
class BudgetMonth:
    month: Month
    totals: list[BudgetTotal]


@dataclass(frozen=True)
class CollaborationSection:
    first_line: FirstLineFigures
    overflow: OverflowFigures
    budget: list[BudgetMonth]
    #: The first-line specialisms' names in the reader's language, by code.
    labels: dict[str, str]

    @staticmethod
    def reason_label(reason: str) -> str:
        return str(_(REASON_LABELS[reason])) if reason in REASON_LABELS else reason


def section(session: Session, zorggroep_id: str, start: date, end: date, language: str) -> CollaborationSection:
    """The period's figures (consults submitted from ``start`` to ``end``, both days included) and the first-line
    budget per month the period touches, most recent first."""
    first, after = local_midnight(start), local_midnight(end + timedelta(days=1))
    first_line = first_line_figures(session, zorggroep_id, first, after)
    return CollaborationSection(
        first_line, overflow_figures(session, zorggroep_id, first, after),
        [BudgetMonth(month, budget_totals(budget_lines(session, zorggroep_id, month)))
         for month in statement_months(start, end)],
        {row.specialism: specialism_label(row.specialism, language) for row in first_line.rows})
