"""Targets agreed before the start against the actual figures, and who is credited with the work (issue 22).

The month of tests/reports/test_monitoring.py under MKC-DERM (M1-M6, 1 December): prevented 1 of 2 intended
referrals (50%), within the norm 3 of 4 answered + 1 open and late (60%), referral rate 2 of 4 answered (50%),
saving ratio with its own costs -509.52/185 (-275.42%), median answer time 4 hours.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from tests.reports.conftest import ReportClient, World, ams
from tests.reports.test_business_case import set_terms
from tests.reports.test_monitoring import month  # noqa: F401 - November 2026, computed by hand
from tests.web.test_dashboard import staff  # noqa: F401 - a logged-in zorggroep controller
from triage_service.accounts.registration import create_user
from triage_service.consults import advice, forwarding
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD
from triage_service.models import Organisation, User, UserRole
from triage_service.reports.monitoring import Window
from triage_service.reports.targets import targets_against_actual
from triage_service.security.web_auth import inbox_user

TARGETS = {"prevented_referrals_percent": 50, "within_norm_percent": 90, "referral_rate_baseline_percent": 60,
           "saving_percent": 33.33, "median_answer_hours": 24}


@pytest.fixture
def agreed(month: World) -> Iterator[World]:  # noqa: F811
    before = set_terms(month, "MKC-DERM", monitoring_targets=TARGETS)
    yield month
    set_terms(month, "MKC-DERM", **before)


def test_each_agreed_target_stands_beside_the_actual_figure(agreed: World) -> None:
    with session_scope(agreed.app) as session:
        zorggroep = session.scalars(select(Organisation.id).where(Organisation.agb == "07300001")).one()
        found = targets_against_actual(session, zorggroep, Window(ams("2026-11-01 00:00"), ams("2026-12-01 00:00")),
                                       agreed.clock.now)

    derm = next(a for a in found if a.code == "MKC-DERM")
    assert [(t.name, t.agreed, t.actual, t.met) for t in derm.targets] == [
        ("prevented_referrals_percent", 50.0, 50.0, True),
        ("within_norm_percent", 90.0, 60.0, False),
        ("referral_rate_baseline_percent", 60.0, 50.0, True),  # below the baseline: fewer referrals
        ("saving_percent", 33.33, -275.42, False),  # with the agreement's own costs of November
        ("median_answer_hours", 24.0, 4.0, True),
    ]
    cardiology = next(a for a in found if a.code == "MKC-CARD")
    assert not cardiology.any_agreed
    assert all(t.agreed is None and t.met is None for t in cardiology.targets)


def test_the_dashboard_shows_target_against_actual_and_says_where_none_was_agreed(
        agreed: World, staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get("/dashboard?from=01-11-2026&to=30-11-2026").get_data(as_text=True)

    assert "Doelen afgesproken vóór de start" in page
    assert "doel 90,0%, werkelijk 60,0%" in page and "niet gehaald" in page
    assert "doel 24,0 uur, werkelijk 4,0 uur" in page
    assert "Voor deze afspraak zijn geen monitoringsdoelen afgesproken." in page


@pytest.fixture
def smit(world: World) -> Iterator[str]:
    with session_scope(world.app) as session:
        user = create_user(session, username="smit", display_name="dr. K. Smit", role=UserRole.SPECIALIST,
                           password=DEMO_PASSWORD, practitioner_agb="03100002")
        user_id = user.id
    yield user_id
    with session_scope(world.app) as session:
        session.execute(delete(User).where(User.username == "smit"))


def test_figures_by_specialist_credit_who_answered_and_count_forwards_apart(world: World, smit: str,
                                                                            reports: ReportClient) -> None:
    world.submit("F1", ams("2026-11-02 09:00"))
    world.submit("V1", ams("2026-11-02 10:00"))
    with session_scope(world.app) as session:
        forwarding.forward(session, world._specialist(), world.ids["F1"], "03100002", "Collega doet dit vaker.",
                           ams("2026-11-02 11:00"))
    with session_scope(world.app) as session:
        advice.record_advice(session, inbox_user(session, smit), world.ids["F1"], advice.Advice("Advies.",
                             "primary-care-advice"), ams("2026-11-02 15:00"))
    world.advise("V1", ams("2026-11-03 09:00"))
    world.clock.now = ams("2026-12-01 10:00")

    groups = reports.get("/reports/monitoring?from=2026-11-01&to=2026-11-30&group_by=specialist").get_json()["groups"]

    by_agb = {g["key"]: (g["completed"], g["handovers"]) for g in groups}
    assert by_agb == {"03100001": (1, {"forwarded_away": 1, "escalated_away": 0}),
                      "03100002": (1, {"forwarded_away": 0, "escalated_away": 0})}
    [total] = reports.get("/reports/monitoring?from=2026-11-01&to=2026-11-30").get_json()["groups"]
    assert (total["forwarded"], total["escalated"]) == (1, 0)
