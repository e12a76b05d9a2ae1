"""The statements, the close-month check and a correction in a real browser, on a phone (390 px) and a desktop
(1280 px): reachable from the dashboard, no sideways page scroll, no CSP trouble, and axe-core finds no serious
or critical accessibility violation."""

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


def test_staff_open_a_statement_from_the_dashboard(on_screen: Any, screen: str, live_server: str, month: World,  # noqa: F811
                                                   clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")

    page.get_by_role("link", name="november 2026", exact=True).click()
    page.wait_for_url("**/dashboard/statements?period=2026-11")
    assert page.get_by_label("Maand").input_value() == "11-2026"
    check(page, f"statements-{screen}", trouble)

    page.locator("#statements a").first.click()
    expect(page.get_by_role("heading", name="Geregistreerde minuten en de normtijd")).to_be_visible()
    assert page.locator("#lines tbody tr").count() == 4
    check(page, f"statement-{screen}", trouble)
    href = page.get_by_role("link", name="Afdrukken (PDF)").get_attribute("href")
    pdf = page.request.get(f"{live_server}{href}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_the_close_month_check_lists_the_lines(on_screen: Any, screen: str, live_server: str, month: World,  # noqa: F811
                                               clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")

    page.get_by_label("Verzekeraar", exact=True).select_option("3311")
    assert page.locator("#close-period").input_value() == "11-2026"
    page.get_by_role("button", name="Controleren voor het afsluiten").click()
    assert page.locator("#preview-lines tbody tr").count() == 4
    check(page, f"close-month-lines-{screen}", trouble)


def test_staff_credit_a_declared_line(on_screen: Any, screen: str, live_server: str, month: World,  # noqa: F811
                                      clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    page.get_by_label("Verzekeraar", exact=True).select_option("3311")
    page.get_by_role("button", name="Controleren voor het afsluiten").click()
    page.get_by_role("button", name="2026-11 afsluiten voor verzekeraar 3311").click()
    page.wait_for_url(f"{live_server}/dashboard#declarations")

    page.get_by_role("link", name="Een gedeclareerde regel crediteren of opnieuw declareren").click()
    page.get_by_label("Consult", exact=True).fill(month.ids["M1"])
    page.get_by_role("button", name="Correctie maken").click()  # without a reason
    expect(page.locator("#reason-error")).to_be_visible()
    # The refused form is answered with 400 on purpose (the browser logs it); nothing else may go wrong.
    trouble[:] = [t for t in trouble if "status of 400 (BAD REQUEST)" not in t]
    check(page, f"correction-refused-{screen}", trouble)

    page.get_by_label("Reden", exact=True).fill("Dubbel ingediend.")
    page.get_by_role("button", name="Correctie maken").click()
    expect(page.get_by_text(f"Consult {month.ids['M1']} is gecrediteerd")).to_be_visible()
    assert page.locator("#waiting tbody tr").count() == 1
    check(page, f"correction-done-{screen}", trouble)
