"""The dashboard's urgent consults in Chromium, on a phone (390 px) and a desktop: the tables per HAP and
specialism stack on the phone and stand side by side on the desktop, nothing scrolls sideways, and axe-core
finds no serious or critical violation."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.conftest import FrozenClock
from tests.reports.conftest import world  # noqa: F401 - the reports' world fixture
from tests.reports.test_urgent_monitoring import NOVEMBER, UrgentMonth, urgent_month  # noqa: F401


def test_the_urgent_figures_are_readable_on_a_phone_and_a_desktop(
        on_screen: Any, screen: str, live_server: str, urgent_month: UrgentMonth,  # noqa: F811
        clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    page.goto(f"{live_server}/dashboard?{NOVEMBER}")

    section = page.locator("#urgent")
    expect(section.get_by_role("heading", name="Spoedconsulten (HAP)")).to_be_visible()
    dermatology = section.get_by_role("table", name="Huisartsenpost Rijnmond: Dermatologie")
    expect(dermatology.get_by_role("row", name="Tijd tot opgepakt, 90e percentiel 1 u 00 min")).to_be_visible()
    expect(dermatology.get_by_role("row", name="Binnen de norm 50% (2 van 4)")).to_be_visible()
    expect(dermatology.get_by_role("row", name="SEH-beoordeling voorkomen 1")).to_be_visible()
    cardiology = section.get_by_role("table", name="Huisartsenpost Rijnmond: Cardiologie")
    boxes = [cardiology.bounding_box(), dermatology.bounding_box()]
    assert boxes[0] is not None and boxes[1] is not None
    if screen == "telefoon":
        assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1  # stacked, one under the other
    else:
        assert boxes[1]["y"] == boxes[0]["y"] and boxes[1]["x"] > boxes[0]["x"]  # side by side
    section.scroll_into_view_if_needed()
    screenshot(page, f"dashboard-urgent-{screen}")
    found = axe_violations(page)
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in found] == []
    assert_no_horizontal_scroll(page)
    assert trouble == []


def test_a_period_without_urgent_consults_says_so_on_a_phone(
        on_screen: Any, screen: str, live_server: str, urgent_month: UrgentMonth,  # noqa: F811
        clock: FrozenClock) -> None:
    page = on_screen
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    page.goto(f"{live_server}/dashboard?from=2026-12-01&to=2026-12-31")

    expect(page.locator("#urgent").get_by_text("In deze periode zijn geen spoedconsulten ingediend.")).to_be_visible()
    assert axe_violations(page) == []
    assert_no_horizontal_scroll(page)
