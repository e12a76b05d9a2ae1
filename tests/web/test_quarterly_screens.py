"""The quarterly report for the insurer as a page and a PDF for the zorggroep's staff (issue 22, point 7).

The world is the November of tests/reports/test_monitoring.py seen on 1 December 2026; its fourth quarter's
figures are computed by hand in tests/reports/test_quarterly.py: 6 consults, 4 answered, within the norm 60%,
1 referral prevented, avoided 185,00, consult cost 300,00, own costs 1.209,86, saving -1.324,86, ratio -716,1%:
below one third.
"""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from tests.conftest import FrozenClock
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_monitoring import month  # noqa: F401 - November, computed by hand
from tests.web.test_dashboard import EURO
from tests.web.test_inbox import csrf, log_in
from tests.web.test_statements_screens import audited, staff, text  # noqa: F401 - a logged-in controller

PAGE = "/dashboard/kwartaalrapportage"
PDF = "/dashboard/kwartaalrapportage/pdf"


def pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def test_the_dashboard_links_the_quarterly_report(month: World, staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get("/dashboard").get_data(as_text=True)
    assert f'href="{PAGE}"' in page and "Kwartaalrapportage voor de zorgverzekeraar (PDF)" in page


def test_the_page_shows_the_quarters_key_figures_and_the_download(
        app: Flask, month: World, staff: FlaskClient) -> None:  # noqa: F811
    response = staff.get(f"{PAGE}?kwartaal=2026-Q4")
    page = text(response.get_data(as_text=True))

    assert response.status_code == 200
    assert "4e kwartaal 2026" in page and "1 oktober 2026 tot en met 31 december 2026" in page
    assert "Het kwartaal is nog niet voorbij" in page  # 1 December: the figures will still change
    assert "Consulten 6 Beantwoord 4 Binnen de norm 60% Voorkomen verwijzingen 1" in page
    assert f"Besparing {EURO}-1.324,86" in page
    assert "besparingsratio -716,1%, onder de doelstelling van een derde" in page
    assert f"{PDF}?kwartaal=2026-Q4" in response.get_data(as_text=True)
    assert audited(app, "web.quarterly.view") == 1


def test_without_a_quarter_the_page_shows_the_last_full_one(month: World, staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get(PAGE).get_data(as_text=True)
    assert 'value="2026-Q3"' in page and "3e kwartaal 2026" in page


@pytest.mark.parametrize("typed", ["2026-Q5", "abc", "", "2026-11"])
def test_a_bad_quarter_is_refused_beside_its_field(app: Flask, staff: FlaskClient, typed: str) -> None:  # noqa: F811
    response = staff.get(PAGE, query_string={"kwartaal": typed})
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert re.search(r'<p class="error" id="kwartaal-error">Dit is geen kwartaal; schrijf het als jjjj-Qn', page)
    assert 'aria-invalid="true"' in page
    assert audited(app, "web.quarterly.view") == 0


@pytest.mark.parametrize("query", [{"kwartaal": "2026-Q5"}, {"kwartaal": "abc"}, {"kwartaal": ""}, {}])
def test_a_bad_quarter_gets_no_pdf(app: Flask, staff: FlaskClient, query: dict[str, str]) -> None:  # noqa: F811
    response = staff.get(PDF, query_string=query)

    assert response.status_code == 400
    assert "Dit is geen kwartaal" in response.get_data(as_text=True)
    assert audited(app, "web.quarterly.pdf") == 0


def test_the_report_downloads_as_a_pdf_with_the_hand_calculated_figures(
        app: Flask, month: World, staff: FlaskClient) -> None:  # noqa: F811
    response = staff.get(f"{PDF}?kwartaal=2026-Q4")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"] == 'attachment; filename="kwartaalrapportage-2026-Q4.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert audited(app, "web.quarterly.pdf") == 1
    content = pdf_text(response.data)
    # the cover
    assert "Kwartaalrapportage meekijkconsult, 4e kwartaal 2026" in content
    assert "Zorggroep Rijnmond Eerstelijn" in content and "Verzekerden: alle verzekerden" in content
    assert "legt per consult geen verzekeraar vast" in content and "Zorgverzekeraar Zuid (3311)" in content
    assert "Gemaakt op: 1 december 2026 10:00" in content
    # key figures, referrals and the business case: the agreement's row, then all consults
    assert "Alle consulten 6 4 4,0 168,0 1 60%" in content
    assert "Alle consulten 1 1 0 50% 2 50%" in content
    # the consult cost, its subcontractor share, avoided, of which returned, own costs, saving, ratio
    assert "Alle consulten € 300,00 € 220,00 € 185,00 € 0,00 € 1.209,86 € -1.324,86 -716,1% (onder doel)" in content
    assert "Alle consulten: besparingsratio -716,1%, onder de doelstelling van een derde" in content
    # targets: the dermatology file agrees some, cardiology none
    assert "Beantwoord binnen de norm 90,0% 60,0% niet gehaald" in content
    assert "Mediane antwoordtijd (hoogstens) 24,0 uur 4,0 uur gehaald" in content
    assert ("Meekijkconsult cardiologie Rijnmond 2026 (MKC-CARD) Voor deze afspraak zijn geen monitoringsdoelen "
            "afgesproken. niet afgesproken") in content
    # the GPs' verdicts: four consults answered with advice, none judged yet (no useful share: an en dash)
    assert "Oordelen per specialisme" in content and "Alle specialismen 4 0 0% \u2013 0 0 0 0" in content
    assert "Alle specialismen 1 0 0" in content  # prevented by the intent before, the verdict after, both
    # per month, with the charts' titles
    assert "november 2026 6 4 1 2 4,0" in content and "oktober 2026 0 0 0 0 \u2013" in content
    assert "Consulten per maand" in content and "Mediane antwoordtijd per maand (uren)" in content
    assert "BSN" not in content


def test_the_report_speaks_english_on_request(month: World, staff: FlaskClient) -> None:  # noqa: F811
    staff.post("/language", data={"lang": "en", "next": "/dashboard", "csrf_token": csrf(staff.get("/dashboard"))})
    content = pdf_text(staff.get(f"{PDF}?kwartaal=2026-Q4").data)
    assert "Quarterly report meekijkconsult, Q4 2026" in content and "all insured people" in content
    assert "below the target of one third" in content and "€1,209.86" in content
    assert "Q4 2026" in staff.get(f"{PAGE}?kwartaal=2026-Q4").get_data(as_text=True)


@pytest.mark.parametrize("url", [f"{PAGE}?kwartaal=2026-Q4", f"{PDF}?kwartaal=2026-Q4"])
def test_a_specialist_gets_no_quarterly_report(app: Flask, clock: FrozenClock, url: str) -> None:
    browser = app.test_client()
    log_in(browser, clock)
    assert browser.get(url).status_code == 403
