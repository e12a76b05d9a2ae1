"""The zorggroep's statements as pages (with CSV and PDF), the registered minutes beside the norm, the
close-month check line by line, corrections on a screen, and Dutch dates (issue 21, points 5 and 7).

The world is the November of tests/reports/test_monitoring.py: four consults answered by dr. Visser under the
dermatology agreement (fee 55,00; 10, 15, none and 20 minutes registered), seen on 1 December 2026.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.conftest import FrozenClock
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_monitoring import month  # noqa: F401 - November, computed by hand
from tests.web.test_dashboard import EURO, close_month
from tests.web.test_inbox import csrf, log_in
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.models import Agreement, AuditEntry, Consult, DeclarationLine, Organisation

NOVEMBER = "2026-11"
NO_FIGURE = "\u2013"  # an en dash, as the pages show a missing figure


@pytest.fixture
def staff(app: Flask, clock: FrozenClock) -> FlaskClient:
    """The demo zorggroep's staff member, logged in (password and code)."""
    browser = app.test_client()
    assert log_in(browser, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3]).status_code == 302
    return browser


@pytest.fixture
def subcontractor(app: Flask, month: World) -> Iterator[str]:  # noqa: F811
    """The AGB of the organisation the November consults were answered under, with a norm of 12 minutes for
    the intercollegial consult (the world's form) in its agreement."""
    with session_scope(app) as session:
        agreement = session.scalars(select(Agreement).join(Consult, Consult.agreement_id == Agreement.id)
                                    .where(Consult.id == month.ids["M1"])).one()
        before = dict(agreement.norm_minutes or {})
        agreement.norm_minutes = {**before, "intercollegial-consult": 12}
        agb = str(session.scalar(select(Organisation.agb).where(Organisation.id == agreement.subcontractor_id)))
        agreement_id = agreement.id
    yield agb
    with session_scope(app) as session:
        found = session.get(Agreement, agreement_id)
        assert found is not None
        found.norm_minutes = before


def text(page: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", page))


def rows(page: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table class="figures" id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table}"
    return [[re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", "", cell)).strip(" ")
             for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def audited(app: Flask, event: str) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.event == event)) or 0)


# -- statements ------------------------------------------------------------------------------------------------


def test_the_dashboard_links_the_months_statements_and_lists_the_organisations(
        month: World, subcontractor: str, staff: FlaskClient) -> None:  # noqa: F811
    dashboard = staff.get("/dashboard?from=01-11-2026&to=30-11-2026").get_data(as_text=True)
    assert f"/dashboard/statements?period={NOVEMBER}" in dashboard and "november 2026" in dashboard

    response = staff.get("/dashboard/statements?period=11-2026")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"/dashboard/statements/{subcontractor}/{NOVEMBER}" in page
    [row] = [r for r in rows(page, "statements") if subcontractor in r[0]]
    assert row[1:] == ["4", f"{EURO}220,00"]


def test_a_statement_lists_its_lines_totals_and_minutes_beside_the_norm(
        app: Flask, month: World, subcontractor: str, staff: FlaskClient) -> None:  # noqa: F811
    response = staff.get(f"/dashboard/statements/{subcontractor}/{NOVEMBER}")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    lines = rows(page, "lines")
    assert [line[0] for line in lines] == [month.ids[name] for name in ("M1", "M2", "M3", "M4")]
    assert lines[0][1:] == ["2 nov 2026", "Intercollegiaal consult", "dr. L. Visser (dermatoloog)", "10",
                            f"{EURO}55,00"]
    assert [line[4] for line in lines] == ["10", "15", NO_FIGURE, "20"]
    assert f"{EURO}220,00" in text(page) and "45" in text(page)
    # per specialist and form: 4 consults, 45 minutes, norm 4 x 12 = 48, difference -3
    [norm] = rows(page, "norms")
    assert norm[2:] == ["4", "45", "48", "-3"]
    assert "Normtijd" in page
    assert audited(app, "web.statement.view") == 1
    assert "BSN" not in page


def test_without_a_norm_the_statement_says_so(app: Flask, month: World, subcontractor: str,  # noqa: F811
                                              staff: FlaskClient) -> None:
    with session_scope(app) as session:
        for agreement in session.scalars(select(Agreement)):
            agreement.norm_minutes = {}
    [norm] = rows(staff.get(f"/dashboard/statements/{subcontractor}/{NOVEMBER}").get_data(as_text=True), "norms")
    assert norm[4:] == ["geen normtijd", NO_FIGURE]


def test_the_statement_downloads_as_dutch_csv(app: Flask, month: World, subcontractor: str,  # noqa: F811
                                              staff: FlaskClient) -> None:
    response = staff.get(f"/dashboard/statements/{subcontractor}/{NOVEMBER}.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="specificatie-{subcontractor}-{NOVEMBER}.csv"')
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("organisatie_agb;periode;consult;datum;consultvorm")
    assert lines[1].split(";") == [subcontractor, NOVEMBER, month.ids["M1"], "02-11-2026", "intercollegial-consult",
                                   "03100001", "dr. L. Visser (dermatoloog)", "10", "12", "55,00"]
    assert len(lines) == 5
    assert audited(app, "web.statement.csv") == 1


def test_the_statement_prints_as_a_real_pdf(app: Flask, month: World, subcontractor: str,  # noqa: F811
                                            staff: FlaskClient) -> None:
    response = staff.get(f"/dashboard/statements/{subcontractor}/{NOVEMBER}.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    content = " ".join(page.extract_text() for page in reader.pages)
    assert "Specificatie" in content and "november 2026" in content
    assert "220,00" in content and "Geregistreerde minuten" in content and "geen normtijd" not in content
    assert month.ids["M1"][:8] in content
    assert audited(app, "web.statement.pdf") == 1


def test_the_statement_speaks_english_on_request(month: World, subcontractor: str,  # noqa: F811
                                                 staff: FlaskClient) -> None:
    staff.post("/language", data={"lang": "en", "next": "/dashboard", "csrf_token": csrf(staff.get("/dashboard"))})
    page = staff.get(f"/dashboard/statements/{subcontractor}/{NOVEMBER}").get_data(as_text=True)
    assert "Registered minutes and the norm" in page and "€220.00" in page
    assert "Credit (crediteren)" in staff.get("/dashboard/corrections").get_data(as_text=True)
    assert "What will be declared, line by line" in staff.get(
        "/dashboard/close?insurer=3311&period=11-2026").get_data(as_text=True)


@pytest.mark.parametrize(("url", "status"), [
    ("/dashboard/statements?period=13-2026", 400),
    ("/dashboard/statements?period=november", 400),
    ("/dashboard/statements/{agb}/2026-13", 400),
    ("/dashboard/statements/{agb}/2026-13.csv", 400),
    ("/dashboard/statements/99999999/2026-11", 404),
    ("/dashboard/statements/99999999/2026-11.pdf", 404),
])
def test_a_bad_month_or_unknown_organisation_is_refused_in_words(subcontractor: str, staff: FlaskClient,
                                                                 url: str, status: int) -> None:
    response = staff.get(url.format(agb=subcontractor))
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert "Dit is geen maand" in page or "geen samenwerkingsafspraak" in page


@pytest.mark.parametrize("url", [
    "/dashboard/statements?period=2026-11", "/dashboard/statements/{agb}/2026-11",
    "/dashboard/statements/{agb}/2026-11.csv", "/dashboard/statements/{agb}/2026-11.pdf",
    "/dashboard/corrections"])
def test_a_specialist_gets_no_statement_nor_corrections(app: Flask, clock: FrozenClock, subcontractor: str,
                                                        url: str) -> None:
    browser = app.test_client()
    log_in(browser, clock)
    assert browser.get(url.format(agb=subcontractor)).status_code == 403
    token = csrf(browser.get("/settings"))
    assert browser.post("/dashboard/corrections", data={"csrf_token": token, "consult": "x", "kind": "credit",
                                                        "reason": "Fout."}).status_code == 403


# -- the close-month check ----------------------------------------------------------------------------------------


def test_the_close_month_check_lists_each_line(month: World, staff: FlaskClient) -> None:  # noqa: F811
    response = staff.get("/dashboard/close?insurer=3311&period=11-2026")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    lines = rows(page, "preview-lines")
    assert [line[0] for line in lines] == [month.ids[name] for name in ("M1", "M2", "M3", "M4")]
    assert all(line[4] == f"{EURO}75,00" for line in lines) and lines[0][1] == "2 nov 2026"
    assert re.search(r"<dt>Te declareren beantwoorde consulten</dt><dd>4</dd>", page)
    assert 'name="period" value="2026-11"' in page  # the confirmation posts the period code


# -- corrections --------------------------------------------------------------------------------------------------


def correct(staff: FlaskClient, **fields: str) -> Any:
    token = csrf(staff.get("/dashboard/corrections"))
    return staff.post("/dashboard/corrections", data={"csrf_token": token, **fields})


def declared_lines(app: Flask, consult: str) -> list[tuple[str, int, str]]:
    with session_scope(app) as session:
        return [(line.kind, line.amount_cents, line.insurer_uzovi) for line in session.scalars(
            select(DeclarationLine).where(DeclarationLine.consult_id == consult).order_by(DeclarationLine.sequence))]


def test_crediting_a_declared_line_on_the_screen(app: Flask, month: World, staff: FlaskClient) -> None:  # noqa: F811
    close_month(staff)
    consult = month.ids["M2"]
    response = correct(staff, consult=consult, kind="credit", reason="Dubbel ingediend.")

    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/corrections")
    page = staff.get("/dashboard/corrections").get_data(as_text=True)
    assert f"Consult {consult} is gecrediteerd: een creditregel van {EURO}-75,00 wacht op de volgende batch" in page
    assert rows(page, "waiting")[0][1:] == ["credit", "3311", f"{EURO}-75,00", "Dubbel ingediend."]
    assert declared_lines(app, consult) == [("debit", 7500, "3311"), ("credit", -7500, "3311")]
    assert audited(app, "report.declaration.correct") == 1
    # the next month's check shows the correction as a line
    preview = staff.get("/dashboard/close?insurer=3311&period=12-2026").get_data(as_text=True)
    assert consult in preview


def test_declaring_again_to_another_insurer(app: Flask, month: World, staff: FlaskClient) -> None:  # noqa: F811
    close_month(staff)
    consult = month.ids["M1"]
    response = correct(staff, consult=consult, kind="redeclare", insurer="3343", reason="Andere verzekeraar.")

    assert response.status_code == 302
    assert "is opnieuw gedeclareerd: 2 regels wachten" in staff.get("/dashboard/corrections").get_data(as_text=True)
    assert declared_lines(app, consult) == [("debit", 7500, "3311"), ("credit", -7500, "3311"),
                                            ("debit", 7500, "3343")]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"kind": "credit", "reason": ""}, "reason", "Geef een reden"),
    ({"kind": "credit", "reason": "ok"}, "reason", "Geef een reden"),
    ({"kind": "", "reason": "Dubbel."}, "kind", "Kies of u de regel crediteert"),
    ({"kind": "redeclare", "reason": "Dubbel.", "insurer": "33"}, "insurer", "Een UZOVI-code is 4 cijfers"),
    ({"kind": "credit", "reason": "Dubbel.", "consult": ""}, "consult", "Vul de id van het consult in"),
    ({"kind": "credit", "reason": "Dubbel.", "consult": "bestaat-niet"}, "consult", "Er is geen consult met deze id"),
    ({"kind": "credit", "reason": "Dubbel.", "consult": "M3"}, "consult", "Dit consult is nog niet gedeclareerd"),
])
def test_a_bad_correction_gets_an_error_beside_its_field_and_stores_nothing(
        app: Flask, month: World, staff: FlaskClient, fields: dict[str, str], field: str,  # noqa: F811
        message: str) -> None:
    data = {"consult": month.ids["M1"], **fields}
    data["consult"] = month.ids.get(data["consult"], data["consult"])  # "M3": the consult named so in the world
    response = correct(staff, **data)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error and error.group(1).startswith(message), page[-3000:]
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(DeclarationLine)) == 0


def test_a_correction_twice_is_refused_and_stores_nothing_more(app: Flask, month: World,  # noqa: F811
                                                               staff: FlaskClient) -> None:
    close_month(staff)
    consult = month.ids["M4"]
    assert correct(staff, consult=consult, kind="credit", reason="Dubbel.").status_code == 302
    again = correct(staff, consult=consult, kind="credit", reason="Nogmaals.")

    assert again.status_code == 400
    assert "Er wacht al een correctie van dit consult op de volgende batch." in again.get_data(as_text=True)
    assert len(declared_lines(app, consult)) == 2


def test_a_correction_needs_the_forms_csrf_token(app: Flask, month: World, staff: FlaskClient) -> None:  # noqa: F811
    close_month(staff)
    response = staff.post("/dashboard/corrections", data={"consult": month.ids["M1"], "kind": "credit",
                                                           "reason": "Dubbel."})
    assert response.status_code in (400, 403)
    assert len(declared_lines(app, month.ids["M1"])) == 1


# -- Dutch dates ---------------------------------------------------------------------------------------------------


def test_the_dashboard_takes_dutch_dates_and_links_the_api_with_iso_dates(month: World,  # noqa: F811
                                                                          staff: FlaskClient) -> None:
    response = staff.get("/dashboard?from=02-11-2026&to=15-11-2026&group_by=week")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert 'value="02-11-2026"' in page and 'type="date"' not in page and 'type="month"' not in page
    assert "/reports/monitoring.csv?from=2026-11-02&amp;to=2026-11-15&amp;group_by=week" in page


def test_a_date_in_us_format_is_refused_beside_its_field(staff: FlaskClient) -> None:
    response = staff.get("/dashboard?from=11/30/2026&to=30-11-2026")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert re.search(r'<p class="error" id="from-error">Dit is geen datum; schrijf hem als dd-mm-jjjj', page)
