"""The patient's context in a real browser (issue 23, point 5), on a phone (390 px) and a desktop (1280 px): the
GP fills in the section "Medicatie, allergieën en metingen" and is told in Dutch what is wrong; the cardiologist
reads what a GP system sent as tables, the pasted medication list as it was printed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, assert_stays_inside, axe_violations, screenshot
from tests.browser.test_inbox_in_chromium import log_in
from tests.browser.test_portal_in_chromium import consults_sent, fill_in_a_consult, gp_logs_in, send
from tests.conftest import FrozenClock, GPSystem, example
from triage_service.consults.context_form import medication_list
from triage_service.demo import DEMO_USERS

CARDIOLOGIST = next(u for u in DEMO_USERS if u[0] == "cardioloog")
#: A HIS's medication overview with a long line, as pasted: it must wrap on a phone, not scroll sideways.
PASTED = ("Medicatieoverzicht De Linde, afgedrukt 23-11-2026\n"
          "Amlodipine tablet 10 mg            1 x per dag 1 tablet\n"
          "Metformine tablet 500 mg           2 x per dag 1 tablet, bij de maaltijd, niet bij een eGFR onder 30 "
          "(nierfunctie controleren)\n"
          "Simvastatine tablet 40 mg          1 x per dag 1 tablet 's avonds")


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]])
                              for v in violations]
    assert_no_horizontal_scroll(page)


def context_consult(gp: GPSystem) -> str:
    """The example cardiology e-consult, with the HIS's medication overview as text beside its statements."""
    bundle = example("Bundle-example-cardiology-context.json")
    patient = bundle["entry"][0]["fullUrl"]
    listed = medication_list("x", PASTED, datetime.fromisoformat("2026-11-23T08:00:00+01:00"), subject=patient)
    listed.pop("id")
    url = "urn:uuid:5c0f0a52-7d1e-4b8e-9d7a-000000000099"
    bundle["entry"].insert(-1, {"fullUrl": url, "resource": listed,
                                "request": {"method": "POST", "url": "DocumentReference"}})
    bundle["entry"][-1]["resource"]["supportingInfo"].append({"reference": url, "display": "Medicatieoverzicht"})
    response = gp.post("/fhir", bundle)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["entry"][-1]["response"]["location"].split("/")[1])


def test_the_cardiologist_reads_the_context_as_tables_on_a_phone_and_a_desktop(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, clock: FrozenClock) -> None:
    page = on_screen
    consult_id = context_consult(gp)
    log_in(page, live_server, clock, CARDIOLOGIST[0], CARDIOLOGIST[3])
    page.goto(f"{live_server}/consults/{consult_id}")
    section = page.get_by_role("region", name="Medicatie, allergieën en metingen")
    expect(section).to_be_visible()
    measurements = section.get_by_role("table", name="Metingen")
    expect(measurements.get_by_role("row", name="Bloeddruk 158/94 mmHg")).to_be_visible()
    assert measurements.get_by_role("row", name="eGFR 52 ml/min/1,73 m²").count() == 1
    expect(section.get_by_role("table", name="Medicatie").get_by_text("Amlodipine tablet 10 mg")).to_be_visible()
    expect(section.get_by_role("table", name="Allergieën en intoleranties").get_by_text("Prikkelhoest")).to_be_visible()
    listed = section.locator("pre.medication-list")
    assert listed.inner_text() == PASTED
    expect(section.get_by_text("Er is een ECG meegestuurd")).to_be_visible()
    assert_accessible(page)
    assert_stays_inside(page, "table.context")
    assert_stays_inside(page, "section[aria-labelledby=patient-context]")  # the tables fit the card, too
    assert_stays_inside(page, "pre.medication-list")
    # The long line wraps inside the card: the list is taller than its lines, not wider than the screen.
    height = listed.evaluate("e => e.getBoundingClientRect().height")
    line = listed.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert height > (PASTED.count("\n") + 1) * line or screen == "desktop"
    screenshot(page, f"patient-context-inbox-{screen}")


def test_the_gp_is_told_in_dutch_about_an_implausible_pressure_and_sends_it_corrected(
        on_screen: Any, screen: str, app: Flask, live_server: str, clock: FrozenClock) -> None:
    page = on_screen
    gp_logs_in(page, live_server, clock)
    page.goto(f"{live_server}/huisarts/nieuw")
    fill_in_a_consult(page, icpc="K86")
    page.get_by_label("Specialisme en consultvorm").select_option("0320|video-consult")
    section = page.get_by_role("group", name="Medicatie, allergieën en metingen")
    expect(section).to_be_visible()
    page.locator("#ctx_bp_systolic").fill("900")
    page.locator("#ctx_bp_diastolic").fill("95")
    page.locator("#ctx_bp_date").fill("2026-11-20")
    page.locator("#ctx_medication").fill(PASTED)
    page.locator("#ctx_allergy_1").fill("Penicilline")
    page.locator("#ctx_reaction_1").fill("Urticaria")
    assert_accessible(page)
    screenshot(page, f"patient-context-portal-{screen}")

    send(page)
    error = page.locator("#ctx_bp_systolic-error")
    assert error.inner_text() == "Deze waarde is niet plausibel: verwacht 50 tot 300 mmHg"
    assert page.locator("#ctx_bp_systolic").get_attribute("aria-invalid") == "true"
    assert page.locator("#ctx_medication").input_value() == PASTED  # kept for the correction
    assert consults_sent(app) == 0
    assert_accessible(page)
    screenshot(page, f"patient-context-portal-error-{screen}")

    page.locator("#ctx_bp_systolic").fill("165")
    send(page)
    page.wait_for_url(f"{live_server}/huisarts/consults/*")
    assert consults_sent(app) == 1
    # The GP's own page of the consult shows what was sent, as the specialist sees it.
    section = page.get_by_role("region", name="Medicatie, allergieën en metingen")
    expect(section.get_by_role("row", name="Bloeddruk 165/95 mmHg")).to_be_visible()
    assert section.locator("pre.medication-list").inner_text() == PASTED
    assert_accessible(page)
    assert_stays_inside(page, "section[aria-labelledby=patient-context]")
    screenshot(page, f"patient-context-portal-sent-{screen}")
