"""The quarterly report for the insurer (issue 22, point 7): the figures of a calendar quarter as one plain data
structure, which web/quarterly.py puts into words and reports/quarterly_pdf.py lays out as a PDF.

Everything comes from the dashboard's own queries, ``monitoring()``, ``targets_against_actual()`` and
``verdict_figures()``: the quarter in total and per agreement, the agreed targets against the actual figures,
the GPs' verdicts on the advice, and the quarter's three months one by one for the charts. No query of its own,
so the report and the dashboard cannot disagree.

Who the figures cover: the fact table records no insurer per consult, so the figures are those of every
consult of the collaboration, whatever the patient's insurer; the report says so on its cover rather than
name one insurer it cannot separate out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from triage_service.models import Organisation
from triage_service.reports.monitoring import GroupBy, Window, monitoring
from triage_service.reports.periods import Month
from triage_service.reports.targets import AgreementTargets, targets_against_actual
from triage_service.reports.verdicts import VerdictReport, verdict_figures

# 2026-Q4 (also 2026-K4, the Dutch kwartaal, and Q4 2026 / K4-2026), case and spaces aside.
_YEAR_FIRST = re.compile(r"^(\d{4})\s*[-/ ]?\s*[QK]([1-4])$")
_QUARTER_FIRST = re.compile(r"^[QK]([1-4])\s*[-/ ]?\s*(\d{4})$")
FIRST_YEAR = 1900


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026-Q4``; raises ValueError when the text is no quarter (a field error on the screen)."""
        typed = text.strip().upper()
        found = _YEAR_FIRST.match(typed)
        parts = (found.group(1), found.group(2)) if found else None
        if parts is None and (other := _QUARTER_FIRST.match(typed)):
            parts = (other.group(2), other.group(1))
        if parts is None or int(parts[0]) < FIRST_YEAR:
            raise ValueError("a quarter is written as YYYY-Qn, e.g. 2026-Q4")
        return cls(int(parts[0]), int(parts[1]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.quarter}"

    @property
    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = 3 * (self.quarter - 1) + 1
        return Month(self.year, first), Month(self.year, first + 1), Month(self.year, first + 2)

    @property
    def first_day(self) -> date:
        return self.months[0].first_day

    @property
    def last_day(self) -> date:
        return self.months[-1].next.first_day - timedelta(days=1)

    @property
    def window(self) -> Window:
        """From the quarter's first moment to the first moment after it, in Dutch time (as UTC)."""
        return Window(self.months[0].start, self.months[-1].end)


@dataclass(frozen=True)
class KeyFigures:
    """One group's figures as the dashboard shows them (reports/monitoring.py defines each)."""

    key: str
    label: str
    consults: int
    completed: int
    median_hours: float | None
    p90_hours: float | None
    within_norm: int
    late_open: int
    within_norm_share: float | None
    prevented: int
    prevented_by_intent: int
    returned: int
    intended: int
    prevented_share_of_intended: float | None
    converted: int
    conversion_rate: float | None
    consult_cost_cents: int
    subcontractor_share_cents: int
    tariff_share_of_referral_cost: float | None
    avoided_cents: int
    returned_cents: int
    #: Structural plus incidental costs of the agreements; None where the group carries none (never here).
    own_costs_cents: int | None
    saving_cents: int
    saving_ratio: float | None
    #: Decided exactly in cents (3 x saving >= avoided); None without any avoided cost.
    meets_target: bool | None
    completed_without_referral_cost: int

    @classmethod
    def of(cls, group: dict[str, Any], label: str | None = None) -> KeyFigures:
        case = group["business_case"]
        structural = case["structural_cost_cents"]
        own = None if structural is None else structural + (case["incidental_cost_cents"] or 0)
        return cls(
            str(group["key"]), str(label if label is not None else group["label"]), group["consults"],
            group["completed"], group["answer_hours"]["median"], group["answer_hours"]["p90"], group["within_norm"],
            group["late_open"], group["within_norm_share"], group["prevented_referrals"],
            group["prevented_by_gp_intent"], group["returned_after_triage"], case["intended_referrals"],
            case["avoided_share_of_intended"], group["converted_to_referral"], group["conversion_rate"],
            case["consult_cost_cents"], case["subcontractor_share_cents"], case["tariff_share_of_referral_cost"],
            case["avoided_cents"], case["returned_after_triage_cents"], own, case["saving_cents"],
            case["saving_ratio"], case["meets_target"], case["completed_without_referral_cost"])


@dataclass(frozen=True)
class MonthFigures:
    """One month of the quarter, for the charts (zero and None where nothing was submitted)."""

    month: Month
    consults: int
    answered: int
    prevented: int
    converted: int
    median_hours: float | None


@dataclass(frozen=True)
class QuarterlyReport:
    zorggroep: str
    quarter: Quarter
    made_at: datetime
    #: False while the quarter runs: the figures then stand as at ``made_at``.
    complete: bool
    #: The whole quarter; None when nothing was submitted and no agreement carried costs.
    total: KeyFigures | None
    agreements: list[KeyFigures]
    targets: list[AgreementTargets]
    months: list[MonthFigures]
    target_saving_ratio: float
    #: The GPs' verdicts on the advice per specialism, as the dashboard shows them (reports/verdicts.py).
    verdicts: VerdictReport


def quarterly_report(session: Session, zorggroep_id: str, quarter: Quarter, now: datetime,
                     language: str = "nl") -> QuarterlyReport:
    """The quarter's figures as at ``now`` (which decides which open consults are late already); ``language``
    names the specialisms."""
    window = quarter.window
    total = monitoring(session, zorggroep_id, window, GroupBy.TOTAL, now)
    per_agreement = monitoring(session, zorggroep_id, window, GroupBy.AGREEMENT, now)
    organisation = session.get(Organisation, zorggroep_id)
    return QuarterlyReport(
        zorggroep=organisation.name if organisation is not None else zorggroep_id,
        quarter=quarter, made_at=now, complete=now >= window.end,
        total=KeyFigures.of(total["groups"][0]) if total["groups"] else None,
        agreements=[KeyFigures.of(group) for group in per_agreement["groups"]],
        targets=targets_against_actual(session, zorggroep_id, window, now),
        months=[_month(session, zorggroep_id, month, now) for month in quarter.months],
        target_saving_ratio=float(total["target_saving_ratio"]),
        verdicts=verdict_figures(session, zorggroep_id, window.start, window.end, language))


def _month(session: Session, zorggroep_id: str, month: Month, now: datetime) -> MonthFigures:
    groups = monitoring(session, zorggroep_id, Window(month.start, month.end), GroupBy.TOTAL, now)["groups"]
    if not groups:
        return MonthFigures(month, 0, 0, 0, 0, None)
    group = groups[0]
    return MonthFigures(month, group["consults"], group["completed"], group["prevented_referrals"],
                        group["converted_to_referral"], group["answer_hours"]["median"])
