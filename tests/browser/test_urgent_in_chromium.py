"""An urgent consult from the out-of-hours post in Chromium, on a phone (390 px) and a desktop: the banner on the
inbox, the urgent row above a flagged routine one with its icon, words and countdown, and "Ik pak hem op" on the
consult's page; axe-core finds no serious or critical violation and nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock, GPSystem, new_request
from tests.urgent.hap import hap_request, hap_system

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


def _accessible(page: Any) -> None:
    assert axe_violations(page) == []
    assert_no_horizontal_scroll(page)


def test_an_urgent_consult_is_unmissable_and_taken_with_one_button(
        on_screen: Any, screen: str, app: Flask, live_server: str, gp: GPSystem,
        consult_request: dict, clock: FrozenClock) -> None:
    page = on_screen
    flagged = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"]
    response = hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(
        consult_request, specialism="0310", icpc="S88", performer=VISSER))
    assert response.status_code == 201, response.get_json()
    urgent_id = response.get_json()["id"]
    # The browser's own clock runs from "now" on the machine; the page counts down from the service's (frozen) time.
    page.clock.install()
    log_in(page, live_server, clock)

    banner = page.get_by_role("alert")
    assert "Spoedconsult wacht: nog niet opgepakt" in banner.inner_text()
    table = page.locator("table.consults")
    rows = table.locator("tbody tr")
    assert rows.nth(0).locator(f"a[href='/consults/{urgent_id}']").count() == 1
    assert rows.nth(1).locator(f"a[href='/consults/{flagged}']").count() == 1
    first = rows.nth(0)
    assert first.locator("svg.icon").count() == 1 and "Spoed" in first.inner_text()
    assert "Nog niet opgepakt" in first.inner_text()
    countdown = first.locator(".countdown")
    assert countdown.inner_text() == "nog 4 u"  # the script wrote the same words as the server
    _accessible(page)
    screenshot(page, f"urgent-inbox-{screen}")

    # Five minutes later by the browser's clock, the countdown has ticked down without a reload.
    page.clock.run_for("05:00")
    assert countdown.inner_text() == "nog 3 u 55 min"

    page.locator(".urgent-banner").get_by_role("link", name="Dermatologie").click()
    take = page.get_by_role("button", name="Ik pak hem op")
    expect(take).to_be_visible()
    assert "Opgeroepen: dr. L. Visser" in page.locator(".callout-steps").inner_text()
    _accessible(page)
    screenshot(page, f"urgent-consult-{screen}")

    take.click()
    expect(page.get_by_text("U heeft dit spoedconsult opgepakt; de huisartsenpost ziet dat.")).to_be_visible()
    assert "Opgepakt door dr. L. Visser" in page.locator("section.callout").inner_text()
    assert page.locator(".urgent-banner").count() == 0
    assert page.get_by_role("button", name="Ik pak hem op").count() == 0
    _accessible(page)
    screenshot(page, f"urgent-taken-{screen}")
