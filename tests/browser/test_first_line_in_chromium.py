"""A first-line specialist in a real browser, on a phone (390 px) and a desktop (1280 px): the optometrist J. Hendriks
logs in with password and TOTP, finds the GP's fundus-photo consult in the same inbox the hospital specialists use,
and answers it; the zorggroep's dashboard shows the first-line share and the backup's figures. No sideways scroll,
no CSP trouble, no serious or critical axe violation."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, assert_stays_inside, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock, GPSystem
from tests.test_first_line import ACCOUNTS, optometry_request


def check(page: Any, name: str, trouble: list[str]) -> None:
    assert_no_horizontal_scroll(page)
    assert axe_violations(page) == []
    screenshot(page, name)
    assert trouble == []


def test_the_optometrist_logs_in_and_answers_in_the_inbox(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    consult_id = str(gp.post("/fhir/ServiceRequest", optometry_request(gp, consult_request)).get_json()["id"])
    page = on_screen
    trouble = watch_for_trouble(page)
    username, _, _, secret = ACCOUNTS["optometrist"]
    log_in(page, live_server, clock, username=username, secret=secret)
    assert page.locator(f"a[href='/consults/{consult_id}']").count() == 1
    check(page, f"first-line-inbox-{screen}", trouble)

    page.goto(f"{live_server}/consults/{consult_id}")
    check(page, f"first-line-consult-{screen}", trouble)
    page.get_by_label("Advies aan de huisarts").fill("Beeld past bij een centrale sereuze chorioretinopathie; "
                                                     "binnen een week naar de oogarts.")
    page.get_by_label("Behandelen in de eerste lijn met dit advies").check()
    page.get_by_label("Bestede tijd (minuten)").fill("12")
    page.get_by_role("button", name="Advies versturen").click()
    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()
    check(page, f"first-line-answered-{screen}", trouble)


def test_the_dashboard_shows_the_first_line_and_backup_figures(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    gp.post("/fhir/ServiceRequest", optometry_request(gp, consult_request))
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    section = page.locator("#first-line-overflow")
    expect(section.get_by_role("heading", name="Eerstelijnsspecialisten en achtervang")).to_be_visible()
    assert "Naar een eerstelijnsspecialist" in section.inner_text()
    assert_stays_inside(page, "#first-line-overflow table")
    check(page, f"first-line-dashboard-{screen}", trouble)
