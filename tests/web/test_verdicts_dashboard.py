"""The GPs' verdicts on the zorggroep's dashboard (issue 22, point 4): per specialism with the response rate, and
what the prevented referrals rest on, in Dutch; the figures are tests/reports/test_verdicts.py's, computed by hand."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import START, FrozenClock
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_verdicts import november
from tests.web.test_dashboard import cells, staff  # noqa: F401 - the logged-in staff fixture
from tests.web.test_inbox import log_in
from triage_service import create_app
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF, load_demo
from triage_service.migrate import upgrade_database
from triage_service.settings import Settings

NOVEMBER = "from=2026-11-01&to=2026-11-30"


def test_the_dashboard_shows_the_verdicts_per_specialism_with_the_response_rate(
        app: Flask, world: World, staff: FlaskClient) -> None:  # noqa: F811
    november(world, app)

    page = staff.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)

    assert "Het oordeel van de huisartsen over het advies" in page and "Oordelen per specialisme" in page
    # Answered 5, verdicts 4, response 80%, useful 75%, without the advice: referred 3, not 1, other 0; needed 1.
    assert cells(page, "verdict-figures", "Dermatologie") == ["5", "4", "80%", "75%", "3", "1", "0", "1"]


def test_the_dashboard_says_what_the_prevented_referrals_rest_on(
        app: Flask, world: World, staff: FlaskClient) -> None:  # noqa: F811
    november(world, app)

    page = staff.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)

    assert "Volgens de intentie vooraf" in page and "Volgens het oordeel achteraf" in page
    assert cells(page, "prevented-basis", "Dermatologie") == ["3", "2", "1"]


def test_a_period_without_advice_says_so(staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get("/dashboard?from=2020-01-01&to=2020-01-31").get_data(as_text=True)

    assert "Geen van de consulten uit deze periode is met een advies beantwoord." in page


def test_the_demo_s_dashboard_shows_the_gps_verdicts_and_the_agreed_targets(settings: Settings, app: Flask,
                                                                           tmp_path: Path) -> None:
    """The demo as a newcomer starts it (its own database, loaded once): dr. Visser answered four consults of De
    Linde and the backup's dr. de Wit one (demo/overflow.py), dr. Jansen judged three of Visser's: 5 answered,
    3 verdicts (60%), 2 useful (67%); without the advice referred 2, not referred 1; a referral still needed 1.
    Prevented by intent DEMO-6, -7, -9 and the backup's (would-refer, advice) = 4, by verdict DEMO-6 = 1, by both
    DEMO-6 = 1 (DEMO-8 became a referral)."""
    instance = tmp_path / "instance"
    shutil.copytree(settings.instance_path, instance,
                    ignore=shutil.ignore_patterns("demo-clients", "*.sqlite3*", "translations"))
    own = dataclasses.replace(settings, instance_path=instance, database_url=f"sqlite:///{instance / 'demo.db'}")
    clock = FrozenClock(START)
    demo_app = create_app(own, clock=clock)
    upgrade_database(demo_app.extensions["triage.engine"])
    with session_scope(demo_app) as session:
        load_demo(session, own)
    with session_scope(demo_app) as session:
        load_demo(session, own)  # loading twice changes nothing
    browser = demo_app.test_client()
    log_in(browser, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3])

    page = browser.get("/dashboard").get_data(as_text=True)

    assert cells(page, "verdict-figures", "Dermatologie") == ["5", "3", "60%", "67%", "2", "1", "0", "1"]
    assert cells(page, "prevented-basis", "Dermatologie") == ["4", "1", "1"]
    # dermatologie.yaml agreed its targets before the start; the other demo agreements agreed none.
    assert "Doelen afgesproken vóór de start" in page
    assert "doel 40,0%, werkelijk" in page and "doel 90,0%, werkelijk" in page and "doel 24,0 uur, werkelijk" in page
    assert "Voor deze afspraak zijn geen monitoringsdoelen afgesproken." in page
