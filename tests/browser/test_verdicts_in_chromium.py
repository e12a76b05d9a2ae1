"""The GP's verdict on the advice in a real browser (issue 22, point 4), on a phone (390 px) and a desktop
(1280 px): the GP answers the three questions on the consult page by tapping, the page answers in words and shows
the verdict; the zorggroep's dashboard shows it per specialism. No sideways scroll, no CSP trouble, and axe-core
finds no serious or critical accessibility violation."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.browser.test_portal_in_chromium import assert_accessible, gp_logs_in
from tests.conftest import FrozenClock, GPSystem
from tests.reports.conftest import World, ams, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_verdicts import november
from tests.test_gp_verdict import answered


def test_the_gp_gives_the_verdict_by_tapping_and_sees_it_saved(
        on_screen: Any, screen: str, live_server: str, app: Flask, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    consult_id = answered(app, gp, consult_request, clock)
    page = on_screen
    trouble = watch_for_trouble(page)
    gp_logs_in(page, live_server, clock)
    page.goto(f"{live_server}/huisarts/consults/{consult_id}")
    form = page.locator("#oordeel")
    expect(form.get_by_role("heading", name="Uw oordeel over het advies")).to_be_visible()
    assert_accessible(page)

    # Sent with one answer missing: the page says which, in Dutch, beside the question.
    form.get_by_role("group", name="Was het advies bruikbaar?").get_by_label("Ja").check()
    form.get_by_label("Verwezen", exact=True).check()
    page.get_by_role("button", name="Oordeel opslaan").click()
    assert page.locator("#referral-still-needed-error").inner_text() == "Geef aan of een verwijzing nog nodig is"
    assert_accessible(page)

    # Each answer is a tap target of at least 44 px.
    box = page.locator("#oordeel label.choice").first.bounding_box()
    assert box is not None and box["height"] >= 44
    page.locator("#oordeel").get_by_role("group", name="Is een verwijzing nog nodig?").get_by_label("Nee").check()
    page.get_by_role("button", name="Oordeel opslaan").click()
    page.wait_for_url(f"**/huisarts/consults/{consult_id}#oordeel")
    expect(page.get_by_text("Dank u, uw oordeel is opgeslagen.")).to_be_visible()
    assert page.locator("#oordeel form").count() == 0
    assert "Verwezen" in page.locator("#oordeel").inner_text()
    assert_accessible(page)
    # The refused form came back as a 400 page, which Chromium reports in its console; nothing else may be there.
    assert [t for t in trouble if "status of 400" not in t] == []


def test_the_dashboard_shows_the_verdicts_per_specialism(on_screen: Any, screen: str, live_server: str,
                                                         app: Flask, world: World,  # noqa: F811
                                                         clock: FrozenClock) -> None:
    november(world, app)
    clock.now = ams("2026-11-23 10:00")
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    page.goto(f"{live_server}/dashboard?from=01-11-2026&to=30-11-2026")

    section = page.locator("#verdicts")
    expect(section.get_by_role("heading", name="Het oordeel van de huisartsen over het advies")).to_be_visible()
    row = section.locator("#verdict-figures tbody tr").first
    assert row.locator("th").inner_text() == "Dermatologie"
    assert [c.strip() for c in row.locator("td").all_inner_texts()] == ["5", "4", "80%", "75%", "3", "1", "0", "1"]
    # The tables may be wider than a phone: they scroll within their own focusable region, the page does not.
    section.locator("div.scroll").first.focus()
    assert_accessible(page)
    assert trouble == []
