"""The business case as the insurer's framework defines it, computed by hand (issue 22).

Dermatology under MKC-DERM: integral tariff 75,00 per answered consult, of which 55,00 is the subcontractor's;
a referral costs the second line 185,00 on average. November 2026 has 30 days.

Three consults the GP would have referred, each answered with advice: avoided 3 x 185,00 = 555,00; consult cost
3 x 75,00 = 225,00. With structural costs of 1.779,87 a year, November's share is 177987 x 30 / 365 = 14629.07,
146,29: total cost 371,29, saving 183,71, ratio 18371 / 55500 = 0.33101 - shown as 33,1% and below one third,
since 3 x 183,71 = 551,13 < 555,00. With 1.764,17 a year the share is 145,00 and the saving 185,00: exactly one
third, which meets the target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.reports.conftest import ReportClient, World, ams
from tests.test_referral_triage import referral_request
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.models import Agreement

NOVEMBER = "from=2026-11-01&to=2026-11-30"


def set_terms(world: World, code: str, **columns: Any) -> dict[str, Any]:
    """Change an agreement's stored terms (the agreements are loaded once per test session); returns what they
    were, for the test to put back."""
    with session_scope(world.app) as session:
        agreement = session.scalars(select(Agreement).where(Agreement.code == code)).one()
        before = {name: getattr(agreement, name) for name in columns}
        for name, value in columns.items():
            setattr(agreement, name, value)
    return before


@pytest.fixture
def terms(world: World) -> Iterator[Callable[..., None]]:
    """Set MKC-DERM's terms for one test; the file's own terms are back afterwards."""
    originals: dict[str, Any] = {}

    def change(**columns: Any) -> None:
        for name, value in set_terms(world, "MKC-DERM", **columns).items():
            originals.setdefault(name, value)

    yield change
    set_terms(world, "MKC-DERM", **originals)


@pytest.fixture
def three_prevented(world: World, terms: Callable[..., None]) -> World:
    terms(costs={})  # dermatologie.yaml's own costs are set per test below
    for number, day in enumerate(("02", "03", "04"), start=1):
        world.submit(f"P{number}", ams(f"2026-11-{day} 09:00"))
        world.advise(f"P{number}", ams(f"2026-11-{day} 12:00"))
    world.clock.now = ams("2026-12-01 10:00")
    return world


def total_case(reports: ReportClient, grouping: str = "total") -> dict[str, Any]:
    response = reports.get(f"/reports/monitoring?{NOVEMBER}&group_by={grouping}")
    assert response.status_code == 200, response.get_json()
    case: dict[str, Any] = response.get_json()["groups"][0]["business_case"]
    return case


def test_a_saving_of_33_1_percent_is_below_the_one_third_target(three_prevented: World, reports: ReportClient,
                                                                 terms: Callable[..., None]) -> None:
    terms(costs={"structural_cents_per_year": 177987})

    case = total_case(reports)

    assert (case["avoided_cents"], case["consult_cost_cents"]) == (55500, 22500)
    assert (case["structural_cost_cents"], case["incidental_cost_cents"]) == (14629, 0)
    assert (case["cost_cents"], case["saving_cents"]) == (37129, 18371)
    assert case["saving_ratio"] == 0.331
    assert case["meets_target"] is False


def test_a_saving_of_exactly_one_third_meets_the_target(three_prevented: World, reports: ReportClient,
                                                        terms: Callable[..., None]) -> None:
    terms(costs={"structural_cents_per_year": 176417})

    case = total_case(reports)

    assert (case["structural_cost_cents"], case["saving_cents"], case["avoided_cents"]) == (14500, 18500, 55500)
    assert case["meets_target"] is True


def test_the_subcontractors_fee_is_a_split_of_the_tariff_not_a_cost_on_top(three_prevented: World,
                                                                          reports: ReportClient) -> None:
    case = total_case(reports)

    assert (case["consult_cost_cents"], case["subcontractor_share_cents"], case["zorggroep_share_cents"]) == (
        22500, 16500, 6000)
    assert case["cost_cents"] == 22500  # no own costs agreed: 0, and nothing added for the fee
    assert case["tariff_share_of_referral_cost"] == round(7500 / 18500, 4)


def test_incidental_costs_count_in_the_period_that_holds_the_agreements_first_day(
        three_prevented: World, reports: ReportClient, terms: Callable[..., None]) -> None:
    terms(costs={"incidental_cents": 50000})

    assert total_case(reports)["incidental_cost_cents"] == 0  # MKC-DERM began on 1 January 2026
    [january] = reports.get("/reports/monitoring?from=2026-01-01&to=2026-01-31").get_json()["groups"]
    # No consults in January, yet the one-off costs ran: the whole zorggroep's case shows them.
    assert (january["consults"], january["business_case"]["incidental_cost_cents"]) == (0, 50000)
    by_agreement = reports.get("/reports/monitoring?from=2026-01-01&to=2026-01-31&group_by=agreement").get_json()
    derm = next(g for g in by_agreement["groups"] if g["key"] == "MKC-DERM")
    assert (derm["consults"], derm["business_case"]["incidental_cost_cents"]) == (0, 50000)
    # 1 January to 31 January: 31 days of a year without structural costs, and the one-off 500,00.
    assert derm["business_case"]["cost_cents"] == 50000


def test_own_costs_belong_to_agreements_not_to_a_specialism(three_prevented: World, reports: ReportClient,
                                                           terms: Callable[..., None]) -> None:
    terms(costs={"structural_cents_per_year": 177987})

    case = total_case(reports, "specialism")

    assert case["structural_cost_cents"] is None and case["cost_cents"] == 22500


def test_a_referral_returned_after_triage_is_avoided_cost_shown_apart(world: World, reports: ReportClient,
                                                                     consult_request: dict,
                                                                     terms: Callable[..., None]) -> None:
    terms(costs={})
    world.submit("P1", ams("2026-11-02 09:00"))
    world.advise("P1", ams("2026-11-02 12:00"))
    world.clock.now = ams("2026-11-03 09:00")
    world.gp._tokens.clear()
    response = world.gp.post("/fhir/ServiceRequest", referral_request(consult_request,
                                                                      authoredOn=world.clock.now.isoformat()))
    assert response.status_code == 201, response.get_json()
    with session_scope(world.app) as session:
        advice.return_referral(session, world._specialist(), response.get_json()["id"],
                               advice.ReferralReturn("Lokale therapie; geen verwijzing nodig.", 5),
                               ams("2026-11-03 11:00"))
    world.clock.now = ams("2026-12-01 10:00")

    [total] = reports.get(f"/reports/monitoring?{NOVEMBER}").get_json()["groups"]

    assert (total["prevented_referrals"], total["prevented_by_gp_intent"], total["returned_after_triage"]) == (
        2, 1, 1)
    case = total["business_case"]
    # Both avoid a referral of 185,00; the triage agreement's tariff is 25,00.
    assert (case["avoided_by_gp_intent_cents"], case["returned_after_triage_cents"]) == (18500, 18500)
    assert (case["avoided_cents"], case["consult_cost_cents"]) == (37000, 7500 + 2500)
    # Intended referrals: the would-refer consult and the referral itself; both avoided.
    assert (case["intended_referrals"], case["avoided_share_of_intended"]) == (2, 1.0)
