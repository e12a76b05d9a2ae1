"""The GP portal in a real browser, on a phone and on a desktop: a GP logs in with a second factor, asks a
specialist for advice with photos from the phone, answers the specialist's question and confirms the advice.
Every page is checked with axe-core (no serious or critical violations) and for sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from PIL import ImageFilter
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, open_screen, screenshot
from tests.conftest import FrozenClock
from tests.test_photo_quality import encoded, scene
from tests.web.test_portal import sharp_photo
from triage_service.consults.advice import Advice, ask_gp, record_advice
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS, DEMO_USERS
from triage_service.models import Consult, User
from triage_service.security.web_auth import inbox_user

JANSEN = DEMO_PRACTICE_USERS[0]  # GP of De Linde (03012345)
BAKKER = DEMO_PRACTICE_USERS[1]  # GP of Het Anker, another practice


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    """A page on a phone (390 x 844, touch): where the portal is used most, photos are taken on it."""
    with open_screen(chromium, "telefoon") as page:
        yield page


def gp_logs_in(page: Any, base: str, clock: FrozenClock, user: tuple[Any, ...] = JANSEN) -> None:
    page.goto(f"{base}/huisarts/")
    page.get_by_label("Gebruikersnaam").fill(user[0])
    page.get_by_label("Wachtwoord").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Volgende").click()
    page.get_by_label("Code").fill(pyotp.TOTP(user[4]).at(clock.now))  # the app's frozen clock, not the machine's
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(f"{base}/huisarts/")


def sharp(tmp_path: Path, name: str) -> Path:
    """A photo-like JPEG with edges everywhere, well lit: the browser's check and the server's find it sharp."""
    path = tmp_path / name
    path.write_bytes(sharp_photo())
    return path


def blurred(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(encoded(scene().filter(ImageFilter.GaussianBlur(3))))
    return path


def fill_in_a_consult(page: Any, *, bsn: str = "999990019", icpc: str = "S74") -> None:
    page.get_by_label("Specialisme en consultvorm").select_option(label="Dermatologie: E-consult")
    page.get_by_label("BSN").fill(bsn)
    page.get_by_label("Achternaam").fill("Fictief")
    page.get_by_label("Voornaam of voorletters").fill("Test")
    page.get_by_label("Geboortedatum").fill("1968-04-12")  # the date input takes the ISO date, shows it locally
    page.get_by_role("group", name="Geslacht").get_by_label("Vrouw").check()
    page.get_by_label("Postcode").fill("3011 AB")
    page.get_by_label("Verzekeraar").select_option("3311")
    page.get_by_label("ICPC-code").fill(icpc)
    page.get_by_label("Klacht in uw woorden (niet verplicht)").fill("Schilferende plekken liezen")
    page.get_by_label("Uw vraag aan de specialist").fill("Is dit nog een dermatomycose?")
    page.get_by_role("group", name="Zou u de patiënt zonder dit consult verwijzen?").get_by_label("Ja").check()


def add_photos(page: Any, *files: Path) -> Any:
    """Choose the photos, as from the phone's camera, and wait until each preview has its verdict."""
    page.set_input_files("#photos", [str(file) for file in files])
    page.wait_for_function(
        "count => document.querySelectorAll('#photo-previews .photo-ok, #photo-previews .photo-warning').length "
        "=== count", arg=len(files), timeout=15_000)
    return page.locator("#photo-previews figure")


def send(page: Any) -> None:
    page.get_by_role("button", name="Versturen naar de specialist").click()
    page.wait_for_load_state()


def send_a_consult(page: Any, base: str, tmp_path: Path) -> str:
    page.goto(f"{base}/huisarts/nieuw")
    fill_in_a_consult(page)
    add_photos(page, sharp(tmp_path, "overzicht.jpg"), sharp(tmp_path, "detail.jpg"))
    send(page)
    page.wait_for_url(f"{base}/huisarts/consults/*")
    return str(page.url.rsplit("/", 1)[-1])


def assert_accessible(page: Any) -> None:
    """No serious or critical axe-core violations, and no sideways scrolling."""
    violations = axe_violations(page)
    assert violations == [], [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]])
                              for v in violations]
    assert_no_horizontal_scroll(page)


def consults_sent(app: Flask) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Consult)) or 0)


def test_a_gp_sends_an_e_consult_with_two_photos_on_a_phone_and_on_a_desktop(
        on_screen: Any, screen: str, live_server: str, clock: FrozenClock, tmp_path: Path) -> None:
    page = on_screen
    gp_logs_in(page, live_server, clock)
    expect(page.get_by_role("heading", name="Consulten van de praktijk")).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"portal-list-{screen}")

    page.get_by_role("link", name="Nieuw consult").click()
    expect(page.get_by_role("heading", name="Nieuw consult")).to_be_visible()
    fill_in_a_consult(page)
    previews = add_photos(page, sharp(tmp_path, "overzicht.jpg"), sharp(tmp_path, "detail.jpg"))

    assert previews.count() == 2
    for n, name in enumerate(("overzicht.jpg", "detail.jpg")):
        assert previews.nth(n).get_attribute("data-quality") == "ok"
        assert previews.nth(n).locator(".photo-ok").inner_text() == "Foto is scherp en goed belicht."
        expect(previews.nth(n).get_by_role("img", name=f"Voorbeeld van {name}")).to_be_visible()
    assert_accessible(page)
    screenshot(page, f"portal-new-consult-{screen}")

    send(page)

    page.wait_for_url(f"{live_server}/huisarts/consults/*")
    expect(page.get_by_text("Uw consult is verstuurd")).to_be_visible()
    expect(page.get_by_text("Verstuurd, toegewezen")).to_be_visible()
    assert page.get_by_role("img", name="Foto 1").count() == 1 and page.get_by_role("img", name="Foto 2").count() == 1
    assert_accessible(page)
    screenshot(page, f"portal-consult-sent-{screen}")


def test_a_blurred_photo_is_called_onscherp_under_its_preview_before_sending(
        phone: Any, live_server: str, clock: FrozenClock, tmp_path: Path, app: Flask) -> None:
    gp_logs_in(phone, live_server, clock)
    phone.goto(f"{live_server}/huisarts/nieuw")

    previews = add_photos(phone, sharp(tmp_path, "overzicht.jpg"), blurred(tmp_path, "detail.jpg"))

    assert previews.nth(0).get_attribute("data-quality") == "ok"
    assert previews.nth(1).get_attribute("data-quality") == "blurred"
    warning = previews.nth(1).get_by_role("status")
    assert warning.inner_text().startswith("Deze foto is onscherp. Maak hem opnieuw")
    expect(warning).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "portal-blurred-photo")
    assert consults_sent(app) == 0


def test_the_previews_show_the_chosen_photos(phone: Any, live_server: str, clock: FrozenClock,
                                             tmp_path: Path) -> None:
    gp_logs_in(phone, live_server, clock)
    phone.goto(f"{live_server}/huisarts/nieuw")

    preview = add_photos(phone, sharp(tmp_path, "overzicht.jpg")).first.get_by_role("img")

    phone.wait_for_function("img => img.complete", arg=preview.element_handle(), timeout=10_000)
    assert preview.evaluate("img => img.naturalWidth") > 0


def test_a_bad_bsn_is_shown_beside_its_field_and_nothing_is_sent(
        phone: Any, live_server: str, clock: FrozenClock, tmp_path: Path, app: Flask) -> None:
    gp_logs_in(phone, live_server, clock)
    phone.goto(f"{live_server}/huisarts/nieuw")
    fill_in_a_consult(phone, bsn="123456789")
    add_photos(phone, sharp(tmp_path, "overzicht.jpg"), sharp(tmp_path, "detail.jpg"))

    send(phone)

    bsn = phone.get_by_label("BSN")
    assert bsn.get_attribute("aria-invalid") == "true"
    assert bsn.get_attribute("aria-describedby") == "bsn-error"
    assert phone.locator("#bsn-error").inner_text() == "Dit BSN klopt niet: 9 cijfers die de elfproef doorstaan"
    assert phone.get_by_role("alert").inner_text() == "Nog niet verstuurd: verbeter de gemarkeerde velden hieronder."
    assert bsn.input_value() == "123456789"  # what was typed stays, to be corrected
    assert_accessible(phone)
    screenshot(phone, "portal-bad-bsn")
    assert consults_sent(app) == 0

    phone.get_by_role("link", name="Terug naar de consulten van de praktijk").click()
    drafts = phone.locator("h2:text('Concepten') + ul.portal-list > li")
    assert drafts.count() == 1
    expect(drafts.first.get_by_text("Nog niet verstuurd")).to_be_visible()
    expect(phone.get_by_text("Uw praktijk heeft nog geen consult verstuurd.")).to_be_visible()

    drafts.first.get_by_role("link", name="Schilferende plekken liezen").click()
    assert phone.get_by_label("BSN").input_value() == "123456789"
    # Kept: the stored files are listed once the page's script has drawn them, which a loaded machine delays.
    phone.get_by_text("Bestand 1").wait_for(state="visible")
    expect(phone.get_by_text("Bestand 2")).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "portal-draft")


def test_an_icpc_code_no_agreement_covers_is_refused_and_the_page_says_which_are_covered(
        phone: Any, live_server: str, clock: FrozenClock, tmp_path: Path, app: Flask) -> None:
    gp_logs_in(phone, live_server, clock)
    phone.goto(f"{live_server}/huisarts/nieuw")
    fill_in_a_consult(phone, icpc="K86")  # hypertension, asked of a dermatologist
    add_photos(phone, sharp(tmp_path, "overzicht.jpg"), sharp(tmp_path, "detail.jpg"))

    send(phone)

    expect(phone.get_by_role("alert")).to_be_visible()  # not sent, and said so at the top
    hint = phone.locator("#icpc-hint")
    expect(hint).to_be_visible()
    assert "Gedekt door de afspraken:" in hint.inner_text()
    assert "Dermatologie: S" in hint.inner_text()
    assert phone.get_by_label("ICPC-code").input_value() == "K86"
    assert_accessible(phone)
    screenshot(phone, "portal-icpc-not-covered")
    assert consults_sent(app) == 0


def test_the_gp_answers_the_specialist_s_question_with_a_photo_and_confirms_the_advice(
        phone: Any, live_server: str, clock: FrozenClock, tmp_path: Path, app: Flask) -> None:
    gp_logs_in(phone, live_server, clock)
    consult_id = send_a_consult(phone, live_server, tmp_path)
    with session_scope(app) as session:  # the dermatologist the consult went to asks a question
        owner = session.get(Consult, consult_id).task.owner_agb  # type: ignore[union-attr]
        specialist = next(u for u in DEMO_USERS if u[2] == owner)
        dermatologist = inbox_user(session, session.scalars(select(User.id).where(User.username == specialist[0]))
                                   .one())
        assert dermatologist is not None
        ask_gp(session, dermatologist, consult_id, "Is de rand schilferend?", clock())

    clock.advance(minutes=20)
    phone.goto(f"{live_server}/huisarts/")
    row = phone.locator("ul.portal-list > li.waiting")
    expect(row.get_by_text("Vraag van de specialist")).to_be_visible()
    expect(row.get_by_text("Wacht op u")).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "portal-list-question")
    row.get_by_role("link").click()

    expect(phone.get_by_text("Is de rand schilferend?")).to_be_visible()
    phone.get_by_label("Uw antwoord").fill("Ja, de rand schilfert; zie de extra foto.")
    phone.get_by_label("Extra foto's (niet verplicht)").set_input_files(str(sharp(tmp_path, "rand.jpg")))
    assert_accessible(phone)
    screenshot(phone, "portal-answer-question")
    phone.get_by_role("button", name="Antwoord versturen").click()

    expect(phone.get_by_text("Uw antwoord is naar de specialist verstuurd.")).to_be_visible()
    expect(phone.get_by_text("Ja, de rand schilfert; zie de extra foto.")).to_be_visible()
    assert phone.get_by_role("img", name="Foto 3").count() == 1  # the extra photo is the consult's third
    with session_scope(app) as session:
        record_advice(session, dermatologist, consult_id,
                      Advice("Terbinafine 250 mg, 2 weken; bij geen verbetering opnieuw consulteren.",
                             "primary-care-advice"), clock())

    clock.advance(minutes=25)  # within the 30 idle minutes a login lasts
    phone.reload()
    expect(phone.get_by_text("Advies ontvangen").first).to_be_visible()
    expect(phone.get_by_text("Terbinafine 250 mg, 2 weken")).to_be_visible()
    assert_accessible(phone)
    screenshot(phone, "portal-advice")
    phone.get_by_role("button", name="Ik heb het advies gelezen").click()

    expect(phone.get_by_text("U hebt het advies bevestigd.")).to_be_visible()
    expect(phone.get_by_text("Advies bevestigd").first).to_be_visible()
    assert phone.get_by_role("button", name="Ik heb het advies gelezen").count() == 0
    assert_accessible(phone)
    with session_scope(app) as session:
        assert session.get(Consult, consult_id).task.business_status == "advice-acknowledged"  # type: ignore[union-attr]


def test_another_practice_s_gp_gets_the_dutch_not_found_page_for_the_consult(
        chromium: Any, phone: Any, live_server: str, clock: FrozenClock, tmp_path: Path) -> None:
    gp_logs_in(phone, live_server, clock)
    consult_id = send_a_consult(phone, live_server, tmp_path)

    with open_screen(chromium, "telefoon") as other:  # a browser of its own: Het Anker's GP
        gp_logs_in(other, live_server, clock, BAKKER)
        response = other.goto(f"{live_server}/huisarts/consults/{consult_id}")

        assert response.status == 404
        expect(other.get_by_role("heading", name="Niet gevonden")).to_be_visible()
        expect(other.get_by_text("Dit consult bestaat niet of is niet van uw praktijk.")).to_be_visible()
        expect(other.get_by_role("link", name="Terug naar de consulten van de praktijk")).to_be_visible()
        assert_accessible(other)
        screenshot(other, "portal-not-found")
        other.goto(f"{live_server}/huisarts/")
        assert other.locator(f"a[href='/huisarts/consults/{consult_id}']").count() == 0

