"""A back-referral in a real browser, on a phone (390 px) and a desktop (1280 px): the cardiologist fills in the
"Nieuwe terugverwijzing" form (first with a bad BSN and no diagnosis, answered beside the fields), the GP of De
Linde opens it from the practice's list, asks a question, the cardiologist answers in the inbox, and the GP takes
the care over ("Ik neem de zorg over"). No sideways scroll, no CSP trouble, no serious or critical axe violation."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_no_horizontal_scroll, assert_stays_inside, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.browser.test_inbox_in_chromium import log_in
from tests.browser.test_portal_in_chromium import gp_logs_in
from tests.conftest import FrozenClock
from tests.test_back_referral import CARDIOLOGIST_AGB, form
from tests.web.test_back_referral_screens import CARDIOLOGIST
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import back_referrals
from triage_service.database import session_scope
from triage_service.models import Practitioner


def check(page: Any, name: str, trouble: list[str]) -> None:
    assert_no_horizontal_scroll(page)
    assert axe_violations(page) == []
    screenshot(page, name)
    assert trouble == []


def test_a_back_referral_is_sent_questioned_answered_and_taken_over(
        on_screen: Any, screen: str, live_server: str, clock: FrozenClock, chromium: Any) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in(page, live_server, clock, username=CARDIOLOGIST[0], secret=CARDIOLOGIST[-1])
    page.get_by_role("link", name="Terugverwijzingen naar de huisarts").click()
    page.get_by_role("link", name="Nieuwe terugverwijzing").click()
    page.get_by_label("Huisartsenpraktijk").select_option("03012345")
    page.get_by_label("BSN van de patiënt").fill("123456789")
    page.get_by_label("Naam van de patiënt").fill("G. Smit")
    page.get_by_label("Geboortedatum").fill("14-07-1951")
    page.get_by_label("Wat de huisarts vanaf nu doet").fill("CVRM: bloeddruk halfjaarlijks")
    page.get_by_label("Wanneer opnieuw verwijzen").fill("Toename dyspneu")
    page.get_by_role("button", name="Naar de praktijk sturen").click()
    expect(page.locator("#patient_bsn-error")).to_have_text(re.compile("Dit is geen geldig BSN"))
    expect(page.locator("#diagnosis_icpc-error")).to_have_text("Geef de diagnose als ICPC-1-NL-code")
    # The summary above the form links each message to its field: following one lands on the field.
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    summary.get_by_role("link", name="Geef de diagnose als ICPC-1-NL-code").click()
    expect(page.get_by_label("Diagnose: ICPC-1-NL-code")).to_be_in_viewport()
    expect(page.get_by_label("Diagnose: ICPC-1-NL-code")).to_be_visible()
    assert_stays_inside(page, "form")
    assert_stays_inside(page, ".error-summary")
    # The refusal is a 422 page, which the browser's console reports; it is the answer expected here.
    trouble[:] = [t for t in trouble if "422" not in t]
    check(page, f"back-referral-refused-{screen}", trouble)

    page.get_by_label("BSN van de patiënt").fill("999911120")
    page.get_by_label("Diagnose: ICPC-1-NL-code").fill("K77")
    page.get_by_label("Diagnose in woorden").fill("Stabiel hartfalen")
    page.get_by_label("Zorgprogramma (optioneel)").select_option("cvrm")
    page.get_by_role("button", name="Naar de praktijk sturen").click()
    expect(page.get_by_text("De terugverwijzing is naar de praktijk gestuurd.")).to_be_visible()
    specialist_url = page.url
    check(page, f"back-referral-sent-{screen}", trouble)

    gp_page = chromium.new_page(viewport=page.viewport_size)
    gp_trouble = watch_for_trouble(gp_page)
    gp_logs_in(gp_page, live_server, clock)
    gp_page.get_by_role("link", name="Terugverwijzingen").click()
    gp_page.get_by_role("link", name="G. Smit: K77 Stabiel hartfalen").click()
    check(gp_page, f"back-referral-portal-{screen}", gp_trouble)
    gp_page.get_by_label("Uw vraag").fill("Welke streefwaarde voor de bloeddruk?")
    gp_page.get_by_role("button", name="Vraag versturen").click()
    expect(gp_page.get_by_text("Uw vraag is naar de specialist gestuurd.")).to_be_visible()

    # The inbox tells the cardiologist a question waits, in the link to the back-referrals.
    page.goto(f"{live_server}/inbox")
    expect(page.get_by_role("link", name="Terugverwijzingen naar de huisarts 1 vraag wacht")).to_be_visible()
    check(page, f"back-referral-question-waits-{screen}", trouble)
    page.goto(specialist_url)
    page.get_by_label("Uw antwoord").fill("Systolisch onder 130 mmHg.")
    page.get_by_role("button", name="Antwoord versturen").click()
    expect(page.get_by_text("Uw antwoord is naar de praktijk gestuurd.")).to_be_visible()
    check(page, f"back-referral-answered-{screen}", trouble)

    gp_page.reload()
    gp_page.get_by_role("button", name="Ik neem de zorg over").click()
    expect(gp_page.get_by_text("U hebt de zorg overgenomen.")).to_be_visible()
    check(gp_page, f"back-referral-taken-over-{screen}", gp_trouble)
    gp_page.close()


def test_the_dashboard_counts_the_back_referral(on_screen: Any, screen: str, live_server: str, clock: FrozenClock,
                                                app: Flask) -> None:
    with session_scope(app) as session:
        mulder = session.scalars(select(Practitioner).where(Practitioner.agb == CARDIOLOGIST_AGB)).one()
        back_referrals.send(session, mulder, form(), CLI_ACTOR, clock.now)
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    section = page.locator("#back-referrals")
    expect(section.get_by_role("heading", name="Terugverwijzingen naar de huisarts")).to_be_visible()
    assert_stays_inside(page, "#back-referrals table")
    check(page, f"back-referral-dashboard-{screen}", trouble)
