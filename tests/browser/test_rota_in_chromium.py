"""The on-call rota in Chromium, on a phone (390 px) and a desktop: the demo's rota maker lands on it, sees who is
on call now in words, adds a shift (a wrong one first: the reasons beside the fields) and uploads a wrong file
(every problem by line); nothing scrolls sideways and axe-core finds no serious or critical violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import watch_for_trouble
from tests.conftest import FrozenClock
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_ROTA_MAKER, demo_rota
from triage_service.models import Agreement


@pytest.fixture
def demo_rotas(app: Flask, clock: FrozenClock) -> None:
    """The demo's rotas as `load-demo` makes them (the tests start without shifts)."""
    with session_scope(app) as session:
        demo_rota(session, session.scalars(select(Agreement)), clock.now)


def checked(page: Any, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], [(v["id"], v["help"], [n["html"] for n in v["nodes"]]) for v in violations]
    assert_no_horizontal_scroll(page)
    screenshot(page, name)


def test_the_rota_maker_keeps_the_rota_on_a_phone_and_a_desktop(
        on_screen: Any, screen: str, live_server: str, demo_rotas: None, clock: FrozenClock,
        tmp_path: Path) -> None:
    page = on_screen
    trouble = watch_for_trouble(page)
    page.goto(f"{live_server}/")
    page.get_by_label("Gebruikersnaam").fill(DEMO_ROTA_MAKER[0])
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.get_by_label("Code").fill(pyotp.TOTP(DEMO_ROTA_MAKER[3]).at(clock.now))
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{live_server}/inbox/rooster")

    expect(page.get_by_role("heading", name="Dienstrooster Ziekenhuis Rivierenland")).to_be_visible()
    cardiology = page.locator("#rooster-0320")
    now_line = cardiology.locator(".on-call-now").inner_text()
    assert "Nu van dienst: dr. P. Mulder (cardioloog), tot di 24 nov 08:00." in now_line
    current = cardiology.locator("li.current")
    assert current.count() == 1
    assert "Nu" in current.inner_text()  # said in words, not by colour alone
    checked(page, f"rota-{screen}")

    # A wrong shift: the reasons beside the fields, the form kept open with what was typed.
    cardiology.get_by_text("Dienst toevoegen", exact=True).first.click()
    cardiology.get_by_label("Dienst", exact=True).select_option(label="dr. E. Kok (cardioloog)")
    cardiology.get_by_label("Achterwacht").select_option(label="dr. E. Kok (cardioloog)")
    cardiology.get_by_role("button", name="Dienst toevoegen").click()
    cardiology = page.locator("#rooster-0320")
    expect(cardiology.get_by_text("De achterwacht moet iemand anders zijn dan wie dienst heeft")).to_be_visible()
    checked(page, f"rota-shift-refused-{screen}")

    cardiology.get_by_label("Achterwacht").select_option(label="dr. P. Mulder (cardioloog)")
    cardiology.get_by_role("button", name="Dienst toevoegen").click()
    page.wait_for_url(f"{live_server}/inbox/rooster#rooster-0320")
    expect(page.get_by_text("Dienst toegevoegd: dr. E. Kok (cardioloog) is van dienst van ma 7 dec 08:00 tot "
                            "di 8 dec 08:00.")).to_be_visible()

    # A wrong file: nothing is read, and every problem is listed with its line.
    rota_file = tmp_path / "rooster.csv"
    rota_file.write_text("begin;einde;dienst;achterwacht\n2026-12-08 08:00;2026-12-09 08:00;03200001;03200001\n"
                         "2026-12-09 10:00;2026-12-08 08:00;03200002;03200001\n", encoding="utf-8")
    cardiology = page.locator("#rooster-0320")
    cardiology.get_by_text("Rooster uploaden (CSV of iCalendar)").click()
    cardiology.get_by_label("Bestand").set_input_files(str(rota_file))
    cardiology.get_by_role("button", name="Rooster uploaden").click()
    errors = page.locator("#rooster-0320 .error-list")
    assert "Regel 2, achterwacht: De achterwacht moet iemand anders zijn dan wie dienst heeft" in errors.inner_text()
    assert "Regel 3, einde: De dienst moet eindigen na het begin" in errors.inner_text()
    checked(page, f"rota-upload-refused-{screen}")

    # The shift's own page: change or delete, with who takes over the hours.
    page.goto(f"{live_server}/inbox/rooster")
    page.locator("#rooster-0320 li.current").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Dienst wijzigen")).to_be_visible()
    checked(page, f"rota-shift-{screen}")
    # The refused forms answer 400 on purpose (the page with the reasons); Chromium logs that as a failed load.
    assert [t for t in trouble if "status of 400" not in t] == []
