"""Monitoring and subcontractor statements against a hand calculation.

November 2026, dermatology (S3 75,00 + fee 55,00 per answered consult; a referral costs 185,00):
  M1 S82 (flagged) would refer, answered in 4 h, advice              -> prevented; flag wrong
  M2 S82 (flagged) would refer, answered in 2 h, referral indicated  -> converted; flag right
  M3 S88 would not refer,  answered in 8 h, advice                   -> neither
  M4 S88 unsure,           answered after 168 h (late), referral     -> converted; flag missed
  M5 S82 would refer, declined (not suitable)                        -> not answered
  M6 S82 would refer, urgent, not answered yet (week 46)
Answered: 4; answer times 2, 4, 8, 168 h: median (rank 2) 4 h, p90 (rank 4) 168 h; within norm 3 of 4 answered,
and M6 is open and long past its due time on 1 December (late): 3 of 5 = 60%.
Conversion 2/4; prevented 1 (on the GP's intent, none returned after triage) of 2 intended referrals (M1, M2);
flag precision 1/2, recall 1/2.
Business case (issue 22): the integral tariff is the cost, the fee a split of it: 4 x 75,00 = 300,00 of which
4 x 55,00 = 220,00 for the subcontractor and 80,00 for the zorggroep; the tariff is 300/740 = 40.54% of the
referrals it replaces (4 x 185,00); avoided 1 x 185,00 = 185,00. Own costs (dermatologie.yaml): structural
4.800,00 a year, November's 30 days 480000 x 30 / 365 = 39452.05 -> 394,52; the one-off costs fell in January.
Cost 300,00 + 394,52 = 694,52; saving -509,52, ratio -50952/18500 = -2.7542. By specialism (own costs belong to
agreements): cost 300,00, saving -115,00, ratio -0.6216.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from tests.reports.conftest import ZORGGROEP_AGB, ReportClient, World, ams
from tests.web.test_inbox import log_in
from triage_service.accounts.registration import create_user
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD
from triage_service.models import User, UserRole

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def month(world: World) -> World:
    world.submit("M1", ams("2026-11-02 09:00"))
    world.advise("M1", ams("2026-11-02 13:00"), minutes=10)
    world.submit("M2", ams("2026-11-03 09:00"))
    world.advise("M2", ams("2026-11-03 11:00"), "referral-indicated", minutes=15)
    world.submit("M3", ams("2026-11-04 09:00"), icpc="S88", intent="would-not-refer")
    world.advise("M3", ams("2026-11-04 17:00"))
    world.submit("M4", ams("2026-11-05 09:00"), icpc="S88", intent="unsure")
    world.advise("M4", ams("2026-11-12 09:00"), "referral-indicated", minutes=20)
    world.submit("M5", ams("2026-11-06 09:00"))
    world.decline("M5", ams("2026-11-06 10:00"))
    world.submit("M6", ams("2026-11-09 09:00"), priority="urgent")
    world.clock.now = ams("2026-12-01 10:00")
    return world


def test_the_monitoring_matches_the_hand_calculation(month: World, reports: ReportClient) -> None:
    response = reports.get(f"/reports/monitoring?{NOVEMBER}")
    assert response.status_code == 200, response.get_json()
    [total] = response.get_json()["groups"]

    assert total["consults"] == 6
    assert total["by_priority"] == {"routine": 5, "urgent": 1, "asap": 0, "stat": 0}
    assert total["by_form"]["intercollegial-consult"] == 6
    assert total["completed"] == 4
    assert total["answer_hours"] == {"median": 4.0, "p90": 168.0}
    assert (total["within_norm"], total["late_open"], total["within_norm_share"]) == (3, 1, 0.6)
    assert total["outcomes"]["primary-care-advice"] == 2
    assert total["outcomes"]["referral-indicated"] == 2
    assert total["outcomes"]["not-suitable"] == 1
    assert total["gp_intent"] == {"would-refer": 4, "would-not-refer": 1, "unsure": 1}
    assert (total["prevented_referrals"], total["converted_to_referral"], total["conversion_rate"]) == (1, 2, 0.5)
    assert total["referral_flag"] == {"flagged_converted": 1, "flagged_not_converted": 1, "unflagged_converted": 1,
                                      "unflagged_not_converted": 1, "precision": 0.5, "recall": 0.5}
    case = total["business_case"]
    assert (case["consult_cost_cents"], case["subcontractor_share_cents"], case["zorggroep_share_cents"]) == (
        30000, 22000, 8000)
    assert case["tariff_share_of_referral_cost"] == 0.4054
    assert (case["avoided_referrals"], case["avoided_by_gp_intent"], case["returned_after_triage"]) == (1, 1, 0)
    assert (case["intended_referrals"], case["avoided_share_of_intended"]) == (2, 0.5)
    assert (case["structural_cost_cents"], case["incidental_cost_cents"]) == (39452, 0)
    assert (case["avoided_cents"], case["cost_cents"], case["saving_cents"]) == (18500, 69452, -50952)
    assert case["saving_ratio"] == -2.7542
    assert case["meets_target"] is False


def test_monitoring_by_week_splits_on_dutch_iso_weeks(month: World, reports: ReportClient) -> None:
    groups = reports.get(f"/reports/monitoring?{NOVEMBER}&group_by=week").get_json()["groups"]

    assert [(g["key"], g["consults"], g["completed"]) for g in groups] == [("2026-W45", 5, 4), ("2026-W46", 1, 0)]


@pytest.mark.parametrize(("group_by", "key"), [("specialism", "0310"), ("practice", "03012345"),
                                               ("specialist", "03100001"), ("agreement", "MKC-DERM")])
def test_monitoring_groups_by_specialism_practice_specialist_and_agreement(
        month: World, reports: ReportClient, group_by: str, key: str) -> None:
    groups = reports.get(f"/reports/monitoring?{NOVEMBER}&group_by={group_by}").get_json()["groups"]

    assert [(g["key"], g["consults"]) for g in groups] == [(key, 6)]


def test_a_period_without_consults_has_no_groups(month: World, reports: ReportClient) -> None:
    assert reports.get("/reports/monitoring?from=2025-01-01&to=2025-01-31").get_json()["groups"] == []


def test_the_monitoring_downloads_as_dutch_csv(month: World, reports: ReportClient) -> None:
    response = reports.get(f"/reports/monitoring.csv?{NOVEMBER}")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff")), delimiter=";"))

    assert [(r["consulten"], r["mediaan_uren"], r["binnen_norm_aandeel"], r["besparing"]) for r in rows] == [
        ("6", "4,0", "0,6", "-509,52")]


@pytest.mark.parametrize(("query", "field"), [
    ("to=2026-11-30", "from"),
    ("from=2026-11-31&to=2026-12-01", "from"),
    ("from=2026-11-10&to=2026-11-01", "to"),
    ("from=2020-01-01&to=2026-01-01", "to"),
    (f"{NOVEMBER}&group_by=insurer", "group_by"),
    (f"{NOVEMBER}&colour=blue", "colour"),
])
def test_bad_monitoring_parameters_get_field_errors(reports: ReportClient, query: str, field: str) -> None:
    response = reports.get(f"/reports/monitoring?{query}")

    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_the_statement_shows_what_the_hospital_is_owed(month: World, reports: ReportClient) -> None:
    response = reports.get("/reports/statements?period=2026-11")
    assert response.status_code == 200
    [statement] = response.get_json()["statements"]

    assert (statement["subcontractor_agb"], statement["consults"], statement["total_cents"]) == ("06010001", 4, 22000)
    assert statement["agreements"] == [{"agreement": "MKC-DERM", "consults": 4, "fee_cents": 5500,
                                        "total_cents": 22000, "minutes_registered": 45, "consults_with_minutes": 3}]
    [specialist] = statement["specialists"]
    assert (specialist["agb"], specialist["consults"], specialist["average_minutes"]) == ("03100001", 4, 15.0)


@pytest.mark.parametrize("query", ["", "period=2026", "period=2026-11&subcontractor=12"])
def test_bad_statement_parameters_get_field_errors(reports: ReportClient, query: str) -> None:
    assert reports.get(f"/reports/statements?{query}").status_code == 400


@pytest.fixture
def staff(app: Flask) -> Any:
    secret = pyotp.random_base32()
    with session_scope(app) as session:
        create_user(session, username="controller", display_name="M. de Boer", role=UserRole.ZORGGROEP_STAFF,
                    password=DEMO_PASSWORD, organisation_agb=ZORGGROEP_AGB, totp_secret=secret)
    yield "controller", secret
    with session_scope(app) as session:
        session.execute(delete(User).where(User.username == "controller"))


def test_zorggroep_staff_see_the_reports_after_logging_in(month: World, app: Flask, staff: Any) -> None:
    browser: FlaskClient = app.test_client()
    log_in(browser, month.clock, staff[0], DEMO_PASSWORD, staff[1])

    assert browser.get(f"/reports/monitoring?{NOVEMBER}").get_json()["groups"][0]["consults"] == 6
    # A change from the browser needs the page's CSRF token.
    refused = browser.post("/reports/declaration-batches", json={"insurer": "3311", "period": "2026-11"})
    assert refused.status_code == 403


def test_a_specialist_gets_no_reports(month: World, app: Flask) -> None:
    browser: FlaskClient = app.test_client()
    log_in(browser, month.clock)

    assert browser.get(f"/reports/monitoring?{NOVEMBER}").status_code == 403


def test_figures_are_the_same_whoever_asks_twice(month: World, reports: ReportClient) -> Any:
    first = reports.get(f"/reports/monitoring?{NOVEMBER}&group_by=week").get_json()
    assert reports.get(f"/reports/monitoring?{NOVEMBER}&group_by=week").get_json() == first


def test_the_fact_rows_kept_in_step_equal_a_rebuild_from_the_consults(month: World, app: Flask) -> None:
    from sqlalchemy import select

    from triage_service.models import ConsultFact
    from triage_service.reports.facts import rebuild_facts

    def snapshot() -> list[tuple[Any, ...]]:
        with session_scope(app) as session:
            return sorted(tuple(getattr(f, c.key) for c in ConsultFact.__table__.columns)
                          for f in session.scalars(select(ConsultFact)))

    kept = snapshot()
    with session_scope(app) as session:
        assert rebuild_facts(session) == 6
    assert snapshot() == kept
