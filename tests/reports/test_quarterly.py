"""The quarterly report's figures (issue 22, point 7) against a hand calculation, before any PDF is made.

The fourth quarter of 2026 holds the November of tests/reports/test_monitoring.py (M1-M6 under MKC-DERM, seen on
1 December 2026 10:00) and nothing else, so the quarter's totals are November's: 6 consults, 4 answered; answer
times 2, 4, 8 and 168 h, median (rank 2) 4 h, p90 (rank 4) 168 h; within the norm 3 of the 4 answered plus M6,
open and late on 1 December: 3 of 5 = 60%; prevented 1 (M1, on the GP's intent; none returned after triage) of
2 intended referrals (M1, M2) = 50%; converted 2 of 4 = 50%. Business case: 4 x 75,00 = 300,00 consult cost, of
which 4 x 55,00 = 220,00 for the subcontractor; avoided 1 x 185,00 = 185,00. Own costs (dermatologie.yaml):
structural 4.800,00 a year over the quarter's 92 days, 480000 x 92 / 365 = 120986.30 -> 1.209,86 (the one-off
costs fell in January, the agreement's first day). Saving 185,00 - 300,00 - 1.209,86 = -1.324,86; ratio
-132486/18500 = -7.1614: below one third (3 x -1.324,86 < 185,00). Without the own costs the saving would be the
-115,00 of November by specialism.
October and December have no consults: zero, and no median answer time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.reports.conftest import World, ams
from tests.reports.test_business_case import set_terms
from tests.reports.test_monitoring import month  # noqa: F401 - November 2026, computed by hand
from tests.reports.test_verdicts import judge
from triage_service.database import session_scope
from triage_service.models import Organisation
from triage_service.reports.periods import Month
from triage_service.reports.quarterly import KeyFigures, MonthFigures, Quarter, QuarterlyReport, quarterly_report

Q4 = Quarter(2026, 4)
TARGETS = {"within_norm_percent": 90, "saving_percent": 33.33}


def report_of(world: World, quarter: Quarter = Q4) -> QuarterlyReport:
    with session_scope(world.app) as session:
        zorggroep = session.scalars(select(Organisation.id).where(Organisation.agb == "07300001")).one()
        return quarterly_report(session, zorggroep, quarter, world.clock.now)


NOVEMBER_FIGURES = dict(
    consults=6, completed=4, median_hours=4.0, p90_hours=168.0, within_norm=3, late_open=1, within_norm_share=0.6,
    prevented=1, prevented_by_intent=1, returned=0, intended=2, prevented_share_of_intended=0.5, converted=2,
    conversion_rate=0.5, consult_cost_cents=30000, subcontractor_share_cents=22000,
    tariff_share_of_referral_cost=0.4054, avoided_cents=18500, returned_cents=0, own_costs_cents=120986,
    saving_cents=-132486, saving_ratio=-7.1614, meets_target=False, completed_without_referral_cost=0)


def test_the_quarters_totals_are_novembers_hand_calculation(month: World) -> None:  # noqa: F811
    report = report_of(month)

    assert report.total == KeyFigures(key="total", label="total", **NOVEMBER_FIGURES)  # type: ignore[arg-type]
    assert report.quarter == Q4 and report.made_at == ams("2026-12-01 10:00")
    assert report.complete is False  # on 1 December the quarter still runs
    assert report.zorggroep == "Zorggroep Rijnmond Eerstelijn"
    assert report.target_saving_ratio == pytest.approx(1 / 3, abs=1e-4)


def test_each_agreement_carries_its_own_figures(month: World) -> None:  # noqa: F811
    report = report_of(month)

    [dermatology] = report.agreements  # the only agreement with consults or own costs
    assert (dermatology.key, dermatology.consults, dermatology.saving_cents, dermatology.meets_target) == (
        "MKC-DERM", 6, -132486, False)
    assert dermatology == KeyFigures(key="MKC-DERM", label=dermatology.label, **NOVEMBER_FIGURES)  # type: ignore[arg-type]


def test_the_months_of_the_quarter_are_a_series_for_the_charts(month: World) -> None:  # noqa: F811
    assert report_of(month).months == [
        MonthFigures(Month(2026, 10), 0, 0, 0, 0, None),
        MonthFigures(Month(2026, 11), 6, 4, 1, 2, 4.0),
        MonthFigures(Month(2026, 12), 0, 0, 0, 0, None),
    ]


@pytest.fixture
def agreed(month: World) -> Iterator[World]:  # noqa: F811
    before = set_terms(month, "MKC-DERM", monitoring_targets=TARGETS)
    yield month
    set_terms(month, "MKC-DERM", **before)


def test_targets_stand_beside_the_actual_figures_and_the_rest_is_not_agreed(agreed: World) -> None:
    targets = {a.code: a for a in report_of(agreed).targets}

    derm = {t.name: (t.agreed, t.actual, t.met) for t in targets["MKC-DERM"].targets}
    assert derm["within_norm_percent"] == (90.0, 60.0, False)
    assert derm["saving_percent"] == (33.33, -716.14, False)
    assert derm["median_answer_hours"] == (None, 4.0, None)  # measured, but no target agreed
    assert not targets["MKC-CARD"].any_agreed


def test_the_gps_verdicts_are_the_dashboards_for_the_quarter(month: World) -> None:  # noqa: F811
    # M1's GP found the advice useful, would have referred without it and needs no referral any more: prevented
    # by the intent before (would refer) and by the verdict after. Answered with advice: M1-M4 (M5 was declined,
    # M6 is open); one verdict of four answered, 25%.
    judge(month.app, month.ids["M1"], useful=True, without="refer", needed=False)
    verdicts = report_of(month).verdicts

    [dermatology] = verdicts.rows
    assert (dermatology.key, dermatology.label) == ("0310", "Dermatologie")
    total = verdicts.total
    assert (total.answered, total.verdicts, total.response_rate, total.useful_share) == (4, 1, 0.25, 1.0)
    assert (total.without_refer, total.referral_still_needed) == (1, 0)
    assert (total.prevented_by_intent, total.prevented_by_verdict, total.prevented_by_both) == (1, 1, 1)


def test_a_quarter_without_consults_still_carries_the_agreements_own_costs(month: World) -> None:  # noqa: F811
    # The first quarter of 2026 holds the agreement's first day: its one-off 12.000,00 and 90 days of structural
    # costs, 480000 x 90 / 365 = 118356.16 -> 1.183,56: 1.318.356 cents, and no avoided cost to set them against.
    report = report_of(month, Quarter(2026, 1))

    assert report.total is not None
    assert (report.total.consults, report.total.own_costs_cents, report.total.saving_cents) == (0, 1318356, -1318356)
    assert (report.total.saving_ratio, report.total.meets_target) == (None, None)
    assert [m.consults for m in report.months] == [0, 0, 0]
    assert report.complete is True


def test_a_quarter_before_any_agreement_has_no_figures(month: World) -> None:  # noqa: F811
    report = report_of(month, Quarter(2025, 4))

    assert report.total is None and report.agreements == []
    assert [m.median_hours for m in report.months] == [None, None, None]


@pytest.mark.parametrize(("typed", "quarter"), [
    ("2026-Q4", Q4), ("2026-q4", Q4), ("2026-K4", Q4), (" Q4 2026 ", Q4), ("K4-2026", Q4),
    ("2027-Q1", Quarter(2027, 1)),
])
def test_a_quarter_is_read_in_its_usual_forms(typed: str, quarter: Quarter) -> None:
    assert Quarter.parse(typed) == quarter


@pytest.mark.parametrize("typed", ["2026-Q5", "2026-Q0", "abc", "", "26-Q4", "2026-11", "1899-Q4", "2026-Q44"])
def test_anything_else_is_no_quarter(typed: str) -> None:
    with pytest.raises(ValueError, match="YYYY-Qn"):
        Quarter.parse(typed)


def test_a_quarter_runs_from_its_first_dutch_midnight_to_the_next_quarters() -> None:
    assert str(Q4) == "2026-Q4"
    assert [str(m) for m in Q4.months] == ["2026-10", "2026-11", "2026-12"]
    assert (Q4.first_day, Q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    # summer time on 1 October (UTC+2), winter time on 1 January (UTC+1)
    assert Q4.window.start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    assert Q4.window.end == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert Quarter(2027, 1).previous == Q4 and Q4.previous == Quarter(2026, 3)
    assert Quarter.of(date(2026, 12, 1)) == Q4 and Quarter.of(date(2026, 1, 1)) == Quarter(2026, 1)
