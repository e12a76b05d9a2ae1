"""Every screen of the inbox and the dashboard at 390 px (a phone) and 1280 px (a desktop), as each role sees it
with data on it: axe-core finds no serious or critical violation and nothing scrolls sideways (issue 21).

The pages' own flows are tested beside them (test_daily_work_, test_rota_, test_push_, test_photo_viewer_,
test_statements_in_chromium.py); this sweep keeps the rule for the pages no flow ends on."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import log_in_as_staff, watch_for_trouble
from tests.browser.test_inbox_in_chromium import consult, log_in, photo_consult
from tests.conftest import FrozenClock, GPSystem
from tests.reports.conftest import World, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_monitoring import month  # noqa: F401 - November 2026, computed by hand


def _checked(page: Any, url: str, name: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert axe_violations(page) == [], url
    assert_no_horizontal_scroll(page)
    screenshot(page, name)


def test_the_specialists_pages(on_screen: Any, screen: str, live_server: str, gp: GPSystem,
                               consult_request: dict, clock: FrozenClock) -> None:
    page = on_screen
    photos, plain = photo_consult(gp, consult_request), consult(gp, consult_request)
    log_in(page, live_server, clock)
    for path, name in ((f"/consults/{photos}", "consult-photos"), (f"/consults/{plain}", "consult"),
                       ("/settings", "settings"), ("/inbox/tekstblokken", "snippets"), ("/inbox/rooster", "rota")):
        _checked(page, f"{live_server}{path}", f"screens-{name}-{screen}")


@pytest.mark.usefixtures("month")
def test_the_zorggroeps_dashboard(on_screen: Any, screen: str, live_server: str, clock: FrozenClock) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in_as_staff(page, live_server, clock)
    page.wait_for_url(f"{live_server}/dashboard")
    assert axe_violations(page) == []
    assert_no_horizontal_scroll(page)
    assert page.locator("table.figures").count() > 0  # with figures on it, not an empty period
    screenshot(page, f"screens-dashboard-{screen}")
    assert trouble == []
