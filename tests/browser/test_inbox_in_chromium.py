"""The inbox in a real browser: a dermatologist logs in with a second factor and answers consults."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from tests.web.test_inbox import smit  # noqa: F401 - the second dermatologist's account fixture
from triage_service.demo import DEMO_PASSWORD, DEMO_USERS

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


def log_in(page: Any, base: str, clock: FrozenClock, username: str = DEMO_USERS[0][0],
           secret: str = DEMO_USERS[0][3]) -> None:
    page.goto(f"{base}/inbox")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now))
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}/inbox")


def photo_consult(gp: GPSystem, consult_request: dict[str, Any]) -> str:
    documents = []
    for _ in range(2):
        binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
        document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()
        documents.append({"reference": f"DocumentReference/{document['id']}"})
    body = new_request(consult_request, supportingInfo=documents, performer=VISSER)
    body["code"]["coding"][0]["code"] = "e-consult"
    return str(gp.post("/fhir/ServiceRequest", body).get_json()["id"])


def consult(gp: GPSystem, consult_request: dict[str, Any]) -> str:
    return str(gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"])


def test_a_dermatologist_logs_in_with_totp_and_opens_a_photo_consult(
        page: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = photo_consult(gp, consult_request)
    log_in(page, live_server, clock)

    expect(page.get_by_role("heading", name="Consultinbox")).to_be_visible()
    screenshot(page, "inbox-list")
    page.locator(f"a[href='/consults/{consult_id}']").click()

    expect(page.get_by_role("heading", name="Vraag van de huisarts")).to_be_visible()
    thumbnails = page.locator("ul.photos img")
    assert thumbnails.count() == 2
    # The image decoded (waited for: on a busy machine the thumbnail may still be loading).
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnails.first.element_handle(),
                           timeout=10_000)
    screenshot(page, "consult-view")
    thumbnails.first.click()  # full size, in the photo viewer (tests/browser/test_photo_viewer_in_chromium.py)
    viewer = page.locator("dialog.photo-viewer")
    expect(viewer).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=viewer.locator("img.pv-image").element_handle(), timeout=10_000)


def test_asking_the_gp_shows_the_question_and_the_consult_waits(
        page: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock)
    page.goto(f"{live_server}/consults/{consult_id}")
    page.get_by_label("Uw vraag").fill("Heeft de laesie gebloed?")
    page.get_by_role("button", name="Vraag versturen").click()

    expect(page.get_by_text("Uw vraag is naar de huisarts gestuurd.")).to_be_visible()
    expect(page.get_by_text("Heeft de laesie gebloed?")).to_be_visible()
    expect(page.get_by_text("Status: Wacht op de huisarts")).to_be_visible()  # on-hold, in the specialist's words
    assert gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]["status"] == "on-hold"


@pytest.mark.parametrize("outcome", ["Behandelen in de eerste lijn met dit advies",
                                     "Eenmalig consult medisch specialist (ECMS)", "Verwijzing geïndiceerd",
                                     "Ander specialisme", "Niet geschikt voor een consult"])
def test_answering_with_each_outcome(page: Any, live_server: str, gp: GPSystem, consult_request: dict,
                                     clock: FrozenClock, outcome: str) -> None:
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock)
    page.goto(f"{live_server}/consults/{consult_id}")
    page.get_by_label("Advies aan de huisarts").fill("Beleid: vervolgen, bij groei opnieuw consulteren.")
    page.get_by_label(outcome).check()
    if outcome == "Verwijzing geïndiceerd":
        page.get_by_label("Verwijzen naar (alleen bij verwijzing)").select_option("0310")
        page.get_by_label("Urgentie van de verwijzing").select_option("urgent")
    page.get_by_label("Bestede tijd (minuten)").fill("5")
    page.get_by_role("button", name="Advies versturen").click()

    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()
    assert page.get_by_role("button", name="Advies versturen").count() == 0
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    assert task["status"] == "completed"


def test_a_second_specialist_cannot_open_the_first_ones_consult(
        page: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock,
        smit: tuple[str, str, str]) -> None:  # noqa: F811
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock, username=smit[0], secret=smit[2])
    response = page.goto(f"{live_server}/consults/{consult_id}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Niet gevonden")).to_be_visible()


def test_a_form_posted_without_its_csrf_token_fails(page: Any, live_server: str, gp: GPSystem,
                                                    consult_request: dict, clock: FrozenClock) -> None:
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock)
    page.goto(f"{live_server}/consults/{consult_id}")
    page.evaluate("() => document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.get_by_label("Uw vraag").fill("Zonder token")
    with page.expect_response(lambda r: r.url.endswith("/ask")) as answer:
        page.get_by_role("button", name="Vraag versturen").click()
    assert answer.value.status == 400
    assert gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]["status"] == "accepted"


def test_triaging_a_referral_by_returning_it_with_advice_and_accepting_another(
        page: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    from tests.test_referral_triage import referral_request

    returned, accepted = (str(gp.post("/fhir/ServiceRequest", referral_request(consult_request)).get_json()["id"])
                          for _ in range(2))
    log_in(page, live_server, clock)
    assert page.locator("strong.badge.referral").count() == 2
    page.locator(f"a[href='/consults/{returned}']").click()

    expect(page.get_by_role("heading", name="Verwijzing ter triage").first).to_be_visible()
    page.get_by_label("Advies aan de huisarts").fill("Eerst lichttherapie via de huisarts.")
    page.get_by_role("button", name="Terugsturen naar de huisarts").click()
    expect(page.get_by_text("De verwijzing is met uw advies teruggestuurd")).to_be_visible()
    expect(page.get_by_text("Status: Met advies teruggestuurd naar de huisarts")).to_be_visible()

    page.goto(f"{live_server}/consults/{accepted}")
    page.get_by_label("Urgentie van de verwijzing").select_option(label="Spoed")
    page.get_by_label("Toelichting voor de huisarts en het ziekenhuis (optioneel)").fill("Graag binnen een week.")
    screenshot(page, "referral-triage")
    page.get_by_role("button", name="Verwijzing accepteren").click()
    expect(page.get_by_text("De verwijzing is geaccepteerd.")).to_be_visible()
    tasks = {consult_id: gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
             for consult_id in (returned, accepted)}
    assert tasks[returned]["businessStatus"]["coding"][0]["code"] == "referral-returned"
    assert tasks[accepted]["businessStatus"]["coding"][0]["code"] == "referral-accepted"
