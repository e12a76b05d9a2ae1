"""The zorggroep dashboard in a real browser: staff log in with a second factor, land on the figures,
the vendored Chart.js draws the four charts under the strict CSP, and a month is closed via the page."""

from __future__ import annotations

from typing import Any

import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, assert_stays_inside, screenshot
from tests.conftest import FrozenClock
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_monitoring import month  # noqa: F401 - November 2026, computed by hand
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF

CHARTS = ["chart-volumes", "chart-answer-times", "chart-outcomes", "chart-referrals"]


def watch_for_trouble(page: Any) -> list[str]:
    """Console errors, uncaught exceptions and CSP violations, as they happen."""
    trouble: list[str] = []

    def console(message: Any) -> None:
        # Every page names its icon, so Chromium has no reason to ask for /favicon.ico: any error counts.
        if message.type == "error":
            trouble.append(f"console: {message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda error: trouble.append(f"exception: {error}"))
    # Injected by the browser itself, not by the page, so the CSP does not apply to this listener.
    page.add_init_script("""document.addEventListener("securitypolicyviolation",
        e => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));""")
    return trouble


def log_in_as_staff(page: Any, base: str, clock: FrozenClock) -> None:
    page.goto(f"{base}/")
    page.get_by_label("Gebruikersnaam").fill(DEMO_STAFF[0])
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.get_by_label("Code").fill(pyotp.TOTP(DEMO_STAFF[3]).at(clock.now))
    page.get_by_role("button", name="Inloggen").click()


def drawn_charts(page: Any) -> dict[str, dict[str, Any]]:
    """Per canvas: whether Chart.js owns a chart on it, its type, and the canvas's size on screen."""
    result: dict[str, dict[str, Any]] = page.evaluate("""ids => Object.fromEntries(ids.map(id => {
        const canvas = document.getElementById(id);
        const chart = canvas && window.Chart ? window.Chart.getChart(canvas) : undefined;
        return [id, {chart: Boolean(chart), type: chart ? chart.config.type : null,
                     width: canvas ? canvas.clientWidth : 0, height: canvas ? canvas.clientHeight : 0,
                     points: chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0}];
    }))""", CHARTS)
    return result


def test_staff_land_on_the_dashboard_and_see_four_charts_without_csp_trouble(
        page: Any, live_server: str, month: World, clock: FrozenClock) -> None:  # noqa: F811
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)

    page.wait_for_url(f"{live_server}/dashboard")
    expect(page.get_by_role("heading", name="Rapportages")).to_be_visible()
    expect(page.get_by_role("heading", name="Kerncijfers per specialisme")).to_be_visible()
    assert page.evaluate("() => typeof window.Chart") == "function"
    charts = drawn_charts(page)
    assert {id_: (c["chart"], c["type"]) for id_, c in charts.items()} == {
        "chart-volumes": (True, "bar"), "chart-answer-times": (True, "line"), "chart-outcomes": (True, "doughnut"),
        "chart-referrals": (True, "bar")}
    assert all(c["width"] > 100 and c["height"] > 100 and c["points"] > 0 for c in charts.values()), charts
    screenshot(page, "dashboard")
    assert trouble == []


def test_staff_choose_a_period_per_week_and_close_the_month(
        page: Any, live_server: str, month: World, clock: FrozenClock) -> None:  # noqa: F811
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")

    page.get_by_label("Van", exact=True).fill("02-11-2026")  # Dutch dates in text fields (web/dutch_dates.py)
    page.get_by_label("Tot en met", exact=True).fill("15-11-2026")
    page.get_by_label("Per", exact=True).select_option("week")
    page.get_by_role("button", name="Tonen").click()
    page.wait_for_url("**/dashboard?from=02-11-2026&to=15-11-2026&group_by=week")
    expect(page.get_by_role("heading", name="Kerncijfers per week")).to_be_visible()
    assert page.evaluate("() => Chart.getChart('chart-volumes').data.labels") == ["2026-W45", "2026-W46"]

    page.get_by_label("Verzekeraar", exact=True).select_option("3311")
    page.get_by_role("button", name="Controleren voor het afsluiten").click()
    expect(page.get_by_text("Te declareren beantwoorde consulten")).to_be_visible()
    page.get_by_role("button", name="2026-11 afsluiten voor verzekeraar 3311").click()

    page.wait_for_url(f"{live_server}/dashboard#declarations")
    expect(page.get_by_text("2026-11 is afgesloten voor verzekeraar 3311: batch 1, 4 regels")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#declarations a", has_text="CSV").click()
    assert download.value.suggested_filename == "declaraties-3311-2026-11-batch1.csv"
    screenshot(page, "dashboard-closed-month")
    assert trouble == []


def test_the_agreed_targets_stay_inside_their_cards_on_a_phone_and_a_desktop(
        on_screen: Any, live_server: str, month: World, clock: FrozenClock) -> None:  # noqa: F811
    log_in_as_staff(on_screen, live_server, clock)
    on_screen.wait_for_url(f"{live_server}/dashboard")

    targets = on_screen.locator(".target-card", has_text="MKC-DERM")
    expect(targets.get_by_text("Voorkomen verwijzingen, aandeel van de beoogde verwijzingen")).to_be_visible()
    assert_stays_inside(on_screen, ".target-card")
    assert_no_horizontal_scroll(on_screen)


def test_the_charts_shrink_with_the_window_when_a_desktop_window_narrows_to_a_phone(
        page: Any, live_server: str, month: World, clock: FrozenClock) -> None:  # noqa: F811
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    assert all(c["chart"] and c["width"] > 390 for c in drawn_charts(page).values()), drawn_charts(page)

    page.set_viewport_size({"width": 390, "height": 844})

    # Chart.js resizes on its ResizeObserver's next frame: poll until every canvas fits its card (Playwright's
    # Python API has no expect.poll; wait_for_function polls each animation frame), never a fixed sleep.
    page.wait_for_function("""ids => ids.every(id => {
        const canvas = document.getElementById(id);
        return canvas.getBoundingClientRect().right <= window.innerWidth;
    })""", arg=CHARTS, timeout=5_000)
    assert_no_horizontal_scroll(page)
    charts = drawn_charts(page)
    assert all(c["chart"] and 100 < c["width"] <= 390 for c in charts.values()), charts
    assert_stays_inside(page, ".charts .card")
