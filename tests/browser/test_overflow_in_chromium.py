"""The second opinion pool in a real browser, on a phone (390 px) and a desktop (1280 px): a routine dermatology
consult nobody at Rivierenland took overflows to Ziekenhuis Maasstad-Zuid once half its norm has passed; dr. M. de
Wit finds it in her inbox with the reason it came to her, and answers; the GP of De Linde reads on the consult page
who answered and why. No sideways scroll, no CSP trouble, no serious or critical axe violation."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import watch_for_trouble
from tests.browser.test_inbox_in_chromium import log_in
from tests.browser.test_portal_in_chromium import gp_logs_in
from tests.conftest import FrozenClock, GPSystem
from tests.test_first_line import ACCOUNTS
from tests.test_overflow import HALF_NORM, run, submit


def check(page: Any, name: str, trouble: list[str]) -> None:
    assert_no_horizontal_scroll(page)
    assert axe_violations(page) == []
    screenshot(page, name)
    assert trouble == []


def test_the_backup_answers_an_overflowed_consult_and_the_gp_reads_who_and_why(
        on_screen: Any, screen: str, live_server: str, app: Flask, gp: GPSystem, consult_request: dict,
        clock: FrozenClock, chromium: Any) -> None:
    consult_id = submit(gp, clock, consult_request)
    assert run(app, clock, HALF_NORM) == 1
    page = on_screen
    trouble = watch_for_trouble(page)
    username, _, _, secret = ACCOUNTS["dermatoloog-maasstad"]
    log_in(page, live_server, clock, username=username, secret=secret)
    row = page.locator(f"a[href='/consults/{consult_id}']")
    expect(row).to_have_count(1)
    check(page, f"overflow-inbox-{screen}", trouble)

    page.goto(f"{live_server}/consults/{consult_id}")
    expect(page.get_by_text("de achtervang van afspraak MKC-DERM: 50% van de antwoordnorm is verstreken",
                            exact=False)).to_be_visible()
    check(page, f"overflow-consult-{screen}", trouble)
    page.get_by_label("Advies aan de huisarts").fill("Beeld past bij een benigne naevus; vervolgen met foto's.")
    page.get_by_label("Behandelen in de eerste lijn met dit advies").check()
    page.get_by_role("button", name="Advies versturen").click()
    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()

    gp_page = chromium.new_page(viewport=page.viewport_size, locale="nl-NL")
    gp_trouble = watch_for_trouble(gp_page)
    gp_logs_in(gp_page, live_server, clock)
    gp_page.goto(f"{live_server}/huisarts/consults/{consult_id}")
    notice = gp_page.locator("#overflow-notice")
    expect(notice).to_contain_text("Beantwoord door dr. M. de Wit (dermatoloog) van Ziekenhuis Maasstad-Zuid "
                                   "(achtervang: de eigen specialisten konden de norm niet halen)")
    expect(gp_page.get_by_text("Beeld past bij een benigne naevus", exact=False)).to_be_visible()
    check(gp_page, f"overflow-portal-{screen}", gp_trouble)
    gp_page.close()
