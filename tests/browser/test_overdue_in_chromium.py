"""The overdue list and the paused norm in a real browser, on a phone (390 px) and a desktop (1280 px): the
dashboard's "Te laat en niet op te pakken", the inbox notice of the group queue's overdue consults and a
paused norm in the waiting view; no sideways scroll, no CSP trouble, no serious or critical axe violation."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock
from tests.reports.conftest import World, ams, world  # noqa: F401 - the reports' world fixture
from triage_service.agreements.absences import add_absence
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.routing.deadlines import run_deadline_jobs


@pytest.fixture
def late(world: World, clock: FrozenClock, without_backup: None) -> World:  # noqa: F811
    """Without dermatology's backup (it would take the untaken consult at half its norm). Thursday 26 November
    12:30: one consult overdue in the hospital's group queue (Smit is away, so the
    monitor moved it from Visser), and one waiting on the GP with its norm paused."""
    world.submit("late", ams("2026-11-23 10:00"))
    world.submit("waiting", ams("2026-11-23 10:00"))
    visser = world._specialist()
    with session_scope(world.app) as session:
        advice.ask_gp(session, visser, world.ids["waiting"], "Heeft het gebloed?", ams("2026-11-24 15:00"))
        add_absence(session, CLI_ACTOR, agb="03100002", starts_at=ams("2026-11-23 00:00"), ends_at=None)
        run_deadline_jobs(session, ams("2026-11-26 12:00"))
    clock.now = ams("2026-11-26 12:30")
    return world


def check(page: Any, name: str, trouble: list[str]) -> None:
    assert_no_horizontal_scroll(page)
    assert axe_violations(page) == []
    screenshot(page, name)
    assert trouble == []


def test_the_dashboard_lists_the_overdue_consult_readably(on_screen: Any, screen: str, live_server: str,
                                                         late: World, clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    section = page.locator("#overdue")
    expect(section.get_by_role("heading", name="Te laat en niet op te pakken")).to_be_visible()
    assert section.locator("li").count() == 1
    assert "1 d 2 u te laat" in section.inner_text()
    check(page, f"dashboard-overdue-{screen}", trouble)


def test_the_inbox_shows_the_group_queues_overdue_consult_and_the_paused_norm(
        on_screen: Any, screen: str, live_server: str, late: World, clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in(page, live_server, clock)
    notice = page.locator("#group-overdue")
    expect(notice.get_by_role("heading", name="Te laat in de wachtrij van uw groep")).to_be_visible()
    assert notice.get_by_role("link").first.get_attribute("href") == f"/consults/{late.ids['late']}"
    check(page, f"inbox-overdue-{screen}", trouble)

    page.goto(f"{live_server}/inbox?view=waiting")
    expect(page.get_by_text("Norm gepauzeerd: wacht op de huisarts").first).to_be_visible()
    expect(page.get_by_text("nog 4 u werktijd").first).to_be_visible()
    check(page, f"inbox-paused-{screen}", trouble)
