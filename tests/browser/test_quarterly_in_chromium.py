"""The quarterly report for the insurer in a real browser, on a phone (390 px) and a desktop (1280 px): reached
from the dashboard, a bad quarter refused beside its field, the PDF downloadable; no sideways page scroll, no CSP
trouble, and axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.conftest import FrozenClock
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_monitoring import month  # noqa: F401 - November 2026, computed by hand


def check(page: Any, name: str, trouble: list[str]) -> None:
    assert_no_horizontal_scroll(page)
    assert axe_violations(page) == []
    screenshot(page, name)
    assert trouble == []


def test_staff_choose_a_quarter_and_download_its_report(on_screen: Any, screen: str, live_server: str,
                                                        month: World, clock: FrozenClock) -> None:  # noqa: F811
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")

    page.get_by_role("link", name="Kwartaalrapportage voor de zorgverzekeraar (PDF)").click()
    page.wait_for_url("**/dashboard/kwartaalrapportage")
    assert page.get_by_label("Kwartaal", exact=True).input_value() == "2026-Q3"  # the last full quarter

    page.get_by_label("Kwartaal", exact=True).fill("2026-Q5")
    page.get_by_role("button", name="Tonen").click()
    expect(page.locator("#kwartaal-error")).to_be_visible()
    # The refused form is answered with 400 on purpose (the browser logs it); nothing else may go wrong.
    trouble[:] = [t for t in trouble if "status of 400 (BAD REQUEST)" not in t]
    check(page, f"quarterly-refused-{screen}", trouble)

    page.get_by_label("Kwartaal", exact=True).fill("2026-Q4")
    page.get_by_role("button", name="Tonen").click()
    page.wait_for_url("**/dashboard/kwartaalrapportage?kwartaal=2026-Q4")
    expect(page.get_by_role("heading", name="4e kwartaal 2026")).to_be_visible()
    check(page, f"quarterly-{screen}", trouble)
    href = page.get_by_role("link", name="Kwartaalrapportage downloaden (PDF)").get_attribute("href")
    pdf = page.request.get(f"{live_server}{href}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == 'attachment; filename="kwartaalrapportage-2026-Q4.pdf"'
