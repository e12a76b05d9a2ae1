"""The dashboard's urgent consults (Spoedconsulten (HAP)): the hand-computed November of
tests/reports/test_urgent_monitoring.py as the zorggroep's staff see it, per HAP and specialism."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient

from tests.reports.conftest import world  # noqa: F401 - the reports' world fixture
from tests.reports.test_urgent_monitoring import NOVEMBER, UrgentMonth, urgent_month  # noqa: F401
from tests.web.test_dashboard import staff  # noqa: F401 - the zorggroep's staff member, logged in
from tests.web.test_inbox import csrf
from triage_service.web.dashboard import NO_VALUE


def urgent_tables(page: str) -> dict[str, dict[str, str]]:
    """Per table of the urgent section, by its caption (requester: specialism): each row's figure as shown."""
    section = re.search(r'<section class="card" id="urgent".*?</section>', page, re.S)
    assert section, "no urgent section on the page"
    tables = {}
    for table in re.findall(r'<table class="figures urgent-table">(.*?)</table>', section.group(0), re.S):
        caption = re.search(r"<caption[^>]*>(.*?)</caption>", table, re.S)
        assert caption
        rows = re.findall(r'<tr><th scope="row">(.*?)</th><td class="number">(.*?)</td></tr>', table, re.S)
        tables[_text(caption.group(1))] = {_text(label): _text(value) for label, value in rows}
    return tables


def _text(fragment: str) -> str:
    """As read: tags removed, and the no-break spaces that keep "1 u 00 min" on one line as spaces."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\xa0", " ").strip()


def test_staff_see_the_urgent_figures_per_hap_and_specialism_as_computed_by_hand(
        urgent_month: UrgentMonth, staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)
    tables = urgent_tables(page)

    assert "<h2 id=\"urgent-title\">Spoedconsulten (HAP)</h2>" in page
    assert re.search(r"<h3>Huisartsenpost Rijnmond <span class=\"note\">AGB 04010001</span></h3>", page)
    assert list(tables) == ["Huisartsenpost Rijnmond: Cardiologie", "Huisartsenpost Rijnmond: Dermatologie",
                            "Huisartspraktijken: Dermatologie", "Alle spoedconsulten"]
    assert tables["Huisartsenpost Rijnmond: Dermatologie"] == {
        "Spoedconsulten": "4", "Opgepakt (Ik pak hem op)": "4 van 4",
        "Tijd tot opgepakt, mediaan": "10 min", "Tijd tot opgepakt, 90e percentiel": "1 u 00 min",
        "Beantwoord": "3 van 4",
        "Tijd tot advies, mediaan": "40 min", "Tijd tot advies, 90e percentiel": "2 u 30 min",
        "Binnen de norm": "50% (2 van 4)", "Nog open": "1 (waarvan 1 over tijd)", "SEH-beoordeling voorkomen": "1",
        "Behandelen in de eerste lijn met dit advies": "2", "Verwijzing geïndiceerd": "1"}
    cardiology = tables["Huisartsenpost Rijnmond: Cardiologie"]
    assert (cardiology["Tijd tot opgepakt, mediaan"], cardiology["Tijd tot opgepakt, 90e percentiel"]) == (
        "3 min", "12 min")
    assert (cardiology["Tijd tot advies, mediaan"], cardiology["Tijd tot advies, 90e percentiel"]) == (
        "25 min", "28 min")
    assert (cardiology["Binnen de norm"], cardiology["Nog open"]) == ("100% (2 van 2)", "1 (waarvan 0 over tijd)")
    assert (cardiology["SEH-beoordeling voorkomen"], cardiology["Niet geschikt voor een consult"]) == ("2", "1")
    practices = tables["Huisartspraktijken: Dermatologie"]
    assert (practices["Opgepakt (Ik pak hem op)"], practices["Tijd tot opgepakt, mediaan"]) == ("0 van 1", NO_VALUE)
    assert practices["Tijd tot advies, mediaan"] == "1 u 30 min"
    assert "SEH-beoordeling voorkomen" not in practices  # a GP practice's consult spares no emergency assessment
    total = tables["Alle spoedconsulten"]
    assert (total["Spoedconsulten"], total["Tijd tot advies, mediaan"], total["Binnen de norm"],
            total["SEH-beoordeling voorkomen"]) == ("9", "28 min", "71% (5 van 7)", "3")


def test_the_urgent_csv_link_carries_the_period(urgent_month: UrgentMonth, staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True)
    link = re.search(r'<a href="([^"]*urgent\.csv[^"]*)" download>Spoedcijfers downloaden \(CSV\)</a>', page)
    assert link

    response = staff.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    assert "Huisartsenpost Rijnmond;0320" in response.get_data(as_text=True)


def test_a_period_without_urgent_consults_says_so_in_words(urgent_month: UrgentMonth,  # noqa: F811
                                                             staff: FlaskClient) -> None:  # noqa: F811
    page = staff.get("/dashboard?from=2026-12-01&to=2026-12-31").get_data(as_text=True)

    assert "In deze periode zijn geen spoedconsulten ingediend." in page
    assert "urgent-table" not in page


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-11-31&to=2026-11-30", "from"),
    ("from=2026-11-30&to=2026-11-01", "to"),
    ("from=2020-01-01&to=2026-11-30", "to"),
])
def test_a_bad_period_shows_the_field_error_and_no_urgent_figures(urgent_month: UrgentMonth,  # noqa: F811
                                                                  staff: FlaskClient,  # noqa: F811
                                                                  query: str, field: str) -> None:
    response = staff.get(f"/dashboard?{query}")
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert f'id="{field}-error"' in page
    assert 'id="urgent"' not in page


def test_the_urgent_figures_speak_english_on_request(urgent_month: UrgentMonth,  # noqa: F811
                                                     staff: FlaskClient) -> None:  # noqa: F811
    staff.post("/language", data={"lang": "en", "next": "/dashboard", "csrf_token": csrf(staff.get("/dashboard"))})
    tables = urgent_tables(staff.get(f"/dashboard?{NOVEMBER}").get_data(as_text=True))

    dermatology = tables["Huisartsenpost Rijnmond: Dermatology"]
    assert (dermatology["Time to taken, 90th percentile"], dermatology["Within the norm"],
            dermatology["Emergency assessment avoided"]) == ("1 h 00 min", "50% (2 of 4)", "1")
    assert "GP practices: Dermatology" in tables
