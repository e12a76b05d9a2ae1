"""What a new user's walkthrough of the zorggroep dashboard found, computed by hand.

- A first-line specialism's code is an English slug ("extended-scope-physiotherapist"): the tables show its Dutch
  label only, while a hospital specialism keeps its AGB code beside the label ("Dermatologie 0310").
- One answer time, one figure: two extended-scope physiotherapy consults answered after 3 and 33 minutes have a
  nearest-rank median of 3 minutes = 0,05 hours, shown as 0,1 (half up, once) both in the key figures and in the
  first-line section (they once read 0,0 and 0,1). The 90th percentile is the 33 minutes: 0,55 hours, 0,6.
- The saving ratio per specialism is before the agreement's own costs; the agreed target is the agreement's,
  after them. Three prevented dermatology referrals in November (tests/reports/test_business_case.py): avoided
  3 x 185,00 = 555,00, consult cost 3 x 75,00 = 225,00. Per specialism the saving is 330,00: 330 / 555 = 59,46%,
  shown as 59,5%. MKC-DERM with structural costs of 1.779,87 a year carries 146,29 of them in November: saving
  183,71, 18371 / 55500 = 33,10%, below one third. The screen says which is which.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_business_case import terms, three_prevented  # noqa: F401 - MKC-DERM's terms per test
from tests.reports.test_targets_and_credit import TARGETS
from tests.test_first_line import ams, answer_as, first_line_request, submit
from tests.web.test_dashboard import cells
from tests.web.test_inbox import log_in
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.reports.monitoring import GroupBy
from triage_service.web.dashboard import _row, hours

NOVEMBER = "from=01-11-2026&to=30-11-2026"
PHYSIO = "Fysiotherapeut met extended scope"


def staff_browser(app: Flask, clock: FrozenClock) -> FlaskClient:
    """The demo zorggroep's staff member, logged in now (after the clock has moved; a code counts once)."""
    browser: FlaskClient = app.test_client()
    assert log_in(browser, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3]).status_code == 302
    return browser


def dashboard(browser: FlaskClient, query: str) -> str:
    response = browser.get(f"/dashboard?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def group_header(page: str, table: str, label: str) -> str:
    """A table row's group cell as shown (tags removed, spaces collapsed)."""
    body = re.search(rf'<table class="figures" id="{table}">(.*?)</table>', page, re.S)
    assert body, f"no table {table}"
    cell = re.search(rf'<th scope="row">({label}.*?)</th>', body.group(1), re.S)
    assert cell, f"no row for {label}"
    return " ".join(re.sub(r"<[^>]+>", " ", cell.group(1)).split())


def test_a_first_line_specialism_is_shown_by_its_label_and_a_hospital_specialism_with_its_agb_code() -> None:
    physio = _row({"key": "extended-scope-physiotherapist", "label": None}, GroupBy.SPECIALISM, "nl")
    nurse = _row({"key": "nurse-specialist", "label": None}, GroupBy.SPECIALISM, "nl")
    dermatology = _row({"key": "0310", "label": None}, GroupBy.SPECIALISM, "nl")

    assert (physio.label, physio.code) == (PHYSIO, "")
    assert (nurse.label, nurse.code) == ("Verpleegkundig specialist", "")
    assert (dermatology.label, dermatology.code) == ("Dermatologie", "0310")


def test_an_answer_time_is_rounded_once_half_up_to_one_decimal(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "nl"}):
        # 3, 87 and 33 minutes: 0,05, 1,45 and 0,55 hours, each a tie that rounds up (Babel alone rounds to even).
        assert [hours(0.05), hours(1.45), hours(0.55), hours(4.0), hours(None)] == [
            "0,1", "1,5", "0,6", "4,0", "\u2013"]


def test_the_key_figures_and_the_first_line_section_show_one_median_answer_time_without_english_codes(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict[str, Any]) -> None:
    quick = submit(gp, clock, first_line_request(consult_request, "extended-scope-physiotherapist", "L15"),
                   ams("2026-11-02 10:00"))
    clock.now = ams("2026-11-02 10:03")
    assert answer_as(app, clock, "fysiotherapeut", quick).status_code == 302
    slower = submit(gp, clock, first_line_request(consult_request, "extended-scope-physiotherapist", "L15"),
                    ams("2026-11-03 10:00"))
    clock.now = ams("2026-11-03 10:33")
    assert answer_as(app, clock, "fysiotherapeut", slower).status_code == 302
    submit(gp, clock, new_request(consult_request), ams("2026-11-04 10:00"))  # dermatology, not answered
    clock.now = ams("2026-12-01 10:00")

    page = dashboard(staff_browser(app, clock), NOVEMBER)

    # consults, answered, median (3 min), 90th percentile (33 min), open and late, within the norm
    assert cells(page, "volumes", PHYSIO)[:4] == ["2", "2", "0,1", "0,6"]
    first_line = re.search(r'<table class="figures pool-table" id="first-line-figures">(.*?)</table>', page, re.S)
    assert first_line
    assert re.search(rf"{PHYSIO}</th>\s*<td[^>]*>2 \(2\), 0,1&nbsp;u</td>", first_line.group(1)), first_line.group(1)
    for table in ("volumes", "referrals", "business-case"):
        assert group_header(page, table, PHYSIO) == PHYSIO
        assert group_header(page, table, "Dermatologie") == "Dermatologie 0310"
    assert "extended-scope-physiotherapist</span>" not in page


def test_the_saving_ratio_per_specialism_says_it_is_before_own_costs_and_the_target_that_it_is_after_them(
        app: Flask, three_prevented: World, terms: Callable[..., None]) -> None:  # noqa: F811
    terms(costs={"structural_cents_per_year": 177987}, monitoring_targets=TARGETS)

    browser = staff_browser(app, three_prevented.clock)
    per_specialism = dashboard(browser, NOVEMBER)
    per_agreement = dashboard(browser, f"{NOVEMBER}&group_by=agreement")

    ratio = cells(per_specialism, "business-case", "Dermatologie")[6]
    assert ratio.split() == ["59,5%", "vóór", "eigen", "kosten"]  # not judged: the target is the agreement's
    agreement = cells(per_agreement, "business-case", "Meekijkconsult dermatologie")[6]
    assert agreement.split() == ["33,1%", "onder", "doel"]
    target = re.search(r"<dt>Besparingsratio</dt>\s*<dd>(.*?)</dd>", per_specialism, re.S)
    assert target
    assert " ".join(re.sub(r"<[^>]+>", " ", target.group(1)).split()) == (
        "doel 33,3%, werkelijk 33,1% de hele afspraak, na eigen kosten niet gehaald")
