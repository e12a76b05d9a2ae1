"""The zorggroep's dashboard: the monitoring figures of a period with charts, CSV downloads, the
declaration batches, and closing a month, for the zorggroep's staff only.

The world is the hand-calculated November of tests/reports/test_monitoring.py (six dermatology
consults; avoided 185,00, cost 520,00, saving -335,00), seen on 1 December 2026.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.reports.conftest import World, ams, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_monitoring import month  # noqa: F401 - November, computed by hand
from tests.web.test_inbox import csrf, log_in
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.models import AuditEntry, DeclarationBatch

NOVEMBER = "from=2026-11-01&to=2026-11-30"
EURO = "€\xa0"  # Dutch money: "€ 1.234,56" with a no-break space


@pytest.fixture
def staff(app: Flask, clock: FrozenClock) -> FlaskClient:
    """The demo zorggroep's staff member, logged in (password and code)."""
    browser = app.test_client()
    response = log_in(browser, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3])
    assert response.status_code == 302, response.get_data(as_text=True)
    return browser


def chart_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert match, "no chart data on the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def cells(page: str, table: str, group: str) -> list[str]:
    """The figures in a table's row of a group, as shown (tags removed)."""
    body = re.search(rf'<table class="figures" id="{table}">(.*?)</table>', page, re.S)
    assert body, f"no table {table}"
    row = re.search(rf'<tr>\s*<th scope="row">{group}.*?</tr>', body.group(1), re.S)
    assert row, f"no row for {group}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)]


def links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def test_zorggroep_staff_land_on_the_dashboard_and_specialists_in_their_inbox(app: Flask,
                                                                              clock: FrozenClock) -> None:
    staff = log_in(app.test_client(), clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3])
    specialist_browser = app.test_client()
    specialist = log_in(specialist_browser, clock)

    assert staff.headers["Location"].endswith("/dashboard")
    assert specialist.headers["Location"].endswith("/inbox")
    assert "Rapportages" not in specialist_browser.get("/inbox").get_data(as_text=True)


def test_the_dashboard_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_specialist_gets_no_dashboard(app: Flask, clock: FrozenClock) -> None:
    browser = app.test_client()
    log_in(browser, clock)

    response = browser.get("/dashboard")
    assert response.status_code == 403
    assert "Geen toegang" in response.get_data(as_text=True)
    assert browser.get("/dashboard/close?insurer=3311&period=2026-10").status_code == 403


def test_staff_see_last_months_figures_in_dutch(month: World, staff: FlaskClient) -> None:  # noqa: F811
    response = staff.get("/dashboard")  # 1 December: last month (November) and this month so far
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    # Dutch dates in text fields (web/dutch_dates.py), not the browser's own date format.
    assert 'value="01-11-2026"' in page and 'value="01-12-2026"' in page
    assert "Kerncijfers per specialisme" in page and "Dermatologie" in page
    # consults, answered, median h, p90 h, open and late (M6, urgent, weeks past due), within norm (3 of 4 + 1)
    assert cells(page, "volumes", "Dermatologie") == ["6", "4", "4,0", "168,0", "1", "60%"]
    # prevented, by the GP's intent, returned after triage, share of intended, converted, conversion, forwarded,
    # escalated, flag precision and recall
    assert cells(page, "referrals", "Dermatologie") == ["1", "1", "0", "50%", "2", "50%", "0", "0", "50%", "50%"]
    # consult cost (4 x 75,00), subcontractor's share of it (4 x 55,00), tariff / referral cost (300 / 740),
    # avoided (1 x 185,00), own costs (an agreement's, not a specialism's), saving, ratio (-115 / 185)
    case = cells(page, "business-case", "Dermatologie")
    assert case[:7] == [f"{EURO}300,00", f"{EURO}220,00", "40,5%", f"{EURO}185,00", "per afspraak", f"{EURO}-115,00",
                        case[6]]
    # Before the agreement's own costs, so not judged against the target: that is the agreement's (per agreement).
    assert case[6].split() == ["-62,2%", "vóór", "eigen", "kosten"]
    assert "Besparingsratio (doel een derde)" in page
    assert chart_data(page)["referrals"]["labels"] == ["Dermatologie"]


def test_the_charts_get_every_week_of_the_period_and_the_outcome_mix(month: World,  # noqa: F811
                                                                     staff: FlaskClient) -> None:
    data = chart_data(staff.get(f"/dashboard?{NOVEMBER}&group_by=agreement").get_data(as_text=True))

    # Sunday 1 November is in week 44, Monday 30 November in week 49.
    assert data["weeks"]["labels"] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert data["weeks"]["consults"] == [0, 5, 1, 0, 0, 0]  # M1-M5 in week 45, M6 in week 46
    assert data["weeks"]["answered"] == [0, 4, 0, 0, 0, 0]
    assert data["weeks"]["median"][1] == 4.0 and data["weeks"]["median"][0] is None
    assert dict(zip(data["outcomes"]["labels"], data["outcomes"]["values"], strict=True)) == {
        "Behandelen in de eerste lijn met dit advies": 2, "Verwijzing geïndiceerd": 2,
        "Niet geschikt voor een consult": 1}
    assert data["referrals"]["prevented"] == [1] and data["referrals"]["converted"] == [2]
    assert data["locale"] == "nl-NL" and data["text"]["prevented"] == "Voorkomen verwijzingen"


@pytest.mark.parametrize("group_by", ["specialism", "practice", "specialist", "agreement", "week"])
def test_every_grouping_shows_a_table_with_a_total_row(month: World, staff: FlaskClient,  # noqa: F811
                                                       group_by: str) -> None:
    response = staff.get(f"/dashboard?{NOVEMBER}&group_by={group_by}")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "<tfoot>" in page and "Alle consulten" in page
    assert f'<option value="{group_by}" selected>' in page


def test_showing_the_figures_is_audited(month: World, app: Flask, staff: FlaskClient) -> None:  # noqa: F811
    staff.get(f"/dashboard?{NOVEMBER}&group_by=week")
    with session_scope(app) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.event == "web.dashboard.view"))
        assert entry is not None and entry.actor_id == DEMO_STAFF[0]
        assert entry.detail == "from=2026-11-01; to=2026-11-30; group_by=week"


def test_a_period_without_consults_says_so(staff: FlaskClient) -> None:
    page = staff.get("/dashboard?from=2020-01-01&to=2020-01-31").get_data(as_text=True)
    assert "Er zijn in deze periode geen consulten ingediend." in page
    assert "dashboard-data" not in page


@pytest.mark.parametrize(("query", "field", "message"), [
    ("from=2026-11-31&to=2026-11-30", "from", "Dit is geen datum"),
    ("from=&to=2026-11-30", "from", "Vul een datum in."),
    ("from=2026-11-01", "to", "Vul een datum in."),
    ("from=2026-11-30&to=2026-11-01", "to", "De einddatum mag niet voor de begindatum liggen."),
    ("from=2020-01-01&to=2026-11-30", "to", "Een periode is hoogstens 1098 dagen."),
    ("from=2026-11-01&to=2026-11-30&group_by=patient", "group_by", "Kies een van de indelingen uit de lijst."),
])
def test_a_bad_period_gets_an_error_next_to_its_field(staff: FlaskClient, query: str, field: str,
                                                      message: str) -> None:
    response = staff.get(f"/dashboard?{query}")
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error and error.group(1).startswith(message)
    assert "dashboard-data" not in page  # no figures for a period that is not one


def test_the_csv_link_downloads_the_same_figures(month: World, staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get(f"/dashboard?{NOVEMBER}&group_by=specialism").get_data(as_text=True)
    [csv_link] = [link for link in links(page) if link.startswith("/reports/monitoring.csv")]

    response = staff.get(csv_link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("groep;naam;consulten;beantwoord")
    assert lines[1].split(";")[2:4] == ["6", "4"]
    assert "/dashboard/statements?period=2026-11" in links(page)


def test_the_dashboard_may_run_its_own_script_files_but_nothing_inline(staff: FlaskClient) -> None:
    response = staff.get("/dashboard")
    page = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]

    assert "script-src 'self'" in csp and "unsafe" not in csp and "default-src 'none'" in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert all('src="/static/web/' in attributes or 'type="application/json"' in attributes
               for attributes, _ in scripts)
    assert 'style="' not in page
    assert staff.get("/static/web/vendor/chart.umd.min.js").status_code == 200


def close_month(staff: FlaskClient, insurer: str = "3311", period: str = "2026-11") -> Any:
    preview = staff.get(f"/dashboard/close?insurer={insurer}&period={period}")
    token = csrf(staff.get("/dashboard"))
    return preview, staff.post("/dashboard/close", data={"insurer": insurer, "period": period, "csrf_token": token})


def test_closing_a_month_shows_what_it_declares_then_lists_the_batch_with_its_exports(
        month: World, app: Flask, staff: FlaskClient) -> None:  # noqa: F811
    preview, closed = close_month(staff)
    preview_page = preview.get_data(as_text=True)

    assert preview.status_code == 200
    assert re.search(r"<dt>Te declareren beantwoorde consulten</dt><dd>4</dd>", preview_page)
    assert f"{EURO}300,00" in preview_page  # 4 x 75,00
    assert closed.status_code == 302 and closed.headers["Location"].endswith("/dashboard#declarations")
    page = staff.get("/dashboard").get_data(as_text=True)
    assert "2026-11 is afgesloten voor verzekeraar 3311: batch 1, 4 regels," in page
    with session_scope(app) as session:
        batch_id = session.scalar(select(DeclarationBatch.id))
    assert f"/reports/declaration-batches/{batch_id}.csv" in links(page)
    assert staff.get(f"/reports/declaration-batches/{batch_id}.csv").status_code == 200
    assert staff.get(f"/reports/declaration-batches/{batch_id}/claims").get_json()["resourceType"] == "Bundle"


def test_a_month_is_closed_once(month: World, staff: FlaskClient) -> None:  # noqa: F811
    close_month(staff)
    preview, again = close_month(staff)

    assert preview.status_code == 409 and again.status_code == 409
    assert "is al afgesloten voor deze verzekeraar (batch 1)" in again.get_data(as_text=True)


@pytest.mark.parametrize(("insurer", "period", "status", "message"), [
    ("3311", "2026-12", 422, "Deze maand is nog niet voorbij; afsluiten kan vanaf 01-01-2027."),
    ("3343", "2026-11", 422, "Er is voor deze maand niets te declareren bij deze verzekeraar."),
    ("", "2026-11", 400, "Kies een verzekeraar."),
    ("3311", "november", 400, "Dit is geen maand; schrijf hem als mm-jjjj, bijvoorbeeld 11-2026."),
    ("3311", "13-2026", 400, "Dit is geen maand; schrijf hem als mm-jjjj, bijvoorbeeld 11-2026."),
])
def test_a_month_that_cannot_be_closed_gets_the_reason(month: World, staff: FlaskClient,  # noqa: F811
                                                       insurer: str, period: str, status: int, message: str) -> None:
    preview, closed = close_month(staff, insurer, period)

    assert preview.status_code == status and closed.status_code == status
    assert message in closed.get_data(as_text=True)
    assert 'method="post" action="/dashboard/close"' not in preview.get_data(as_text=True)  # no confirm button


def test_closing_a_month_needs_the_forms_csrf_token(month: World, app: Flask, staff: FlaskClient) -> None:  # noqa: F811
    response = staff.post("/dashboard/close", data={"insurer": "3311", "period": "2026-11"})

    assert response.status_code == 400
    with session_scope(app) as session:
        assert session.scalar(select(DeclarationBatch.id)) is None


def test_the_dashboard_speaks_english_on_request(month: World, staff: FlaskClient) -> None:  # noqa: F811
    staff.post("/language", data={"lang": "en", "next": "/dashboard", "csrf_token": csrf(staff.get("/dashboard"))})
    page = staff.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)

    assert "Key figures per specialism" in page and "Dermatology" in page
    assert "€185.00" in page and chart_data(page)["locale"] == "en-GB"
