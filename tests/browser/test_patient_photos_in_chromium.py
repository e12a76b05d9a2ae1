"""The patient, with only the link the GP gave them, uploads two photos from a phone; the GP sees them in the draft.
A wrong birth date five times, an expired link and a file that is not a photo are refused in plain Dutch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import screenshot
from tests.browser.test_portal_in_chromium import assert_accessible, phone, sharp
from tests.conftest import FrozenClock
from tests.test_photos import tiny_pdf
from triage_service.consults.drafts import save_draft
from triage_service.consults.patient_photos import create_link
from triage_service.database import session_scope
from triage_service.models import ConsultDraft, User
from triage_service.security.web_auth import inbox_user

__all__ = ["phone"]  # the fixture, from the portal's browser tests


def a_link(app: Flask, clock: FrozenClock) -> str:
    """The GP prepared a draft for a patient born 12 April 1968 and made a link for them."""
    with session_scope(app) as session:
        gp = inbox_user(session, str(session.scalar(select(User.id).where(User.username == "huisarts"))))
        assert gp is not None
        draft = save_draft(session, gp, None, {"family": "Fictief", "birth_date": "1968-04-12"}, clock.now, None)
        _, token = create_link(session, gp, draft.id, clock.now, None)
    return f"/foto/{token}"


def give_birth_date(page: Any, value: str) -> None:
    page.get_by_label("Uw geboortedatum").fill(value)
    page.get_by_role("button", name="Volgende").click()
    page.wait_for_load_state()


def test_the_patient_uploads_two_photos_from_a_phone_with_the_link_alone(
        phone: Any, app: Flask, live_server: str, clock: FrozenClock, tmp_path: Path) -> None:
    link = a_link(app, clock)
    phone.goto(live_server + link)
    assert "Fictief" not in phone.content()
    assert_accessible(phone)
    give_birth_date(phone, "1968-04-12")

    expect(phone.get_by_text("Zo maakt u een goede foto")).to_be_visible()
    assert_accessible(phone)
    # One photo per field, as the phone's camera gives them: the overview, then the close-up.
    phone.get_by_label("Foto 1: van ongeveer 30 cm").set_input_files(str(sharp(tmp_path, "overzicht.jpg")))
    phone.get_by_label("Foto 2: van dichtbij, ongeveer 10 cm").set_input_files(str(sharp(tmp_path, "dichtbij.jpg")))
    phone.wait_for_function("() => document.querySelectorAll('.previews .photo-ok').length === 2", timeout=15_000)
    screenshot(phone, "patient-photos")
    phone.get_by_role("button", name="Foto's naar mijn huisarts sturen").click()
    phone.wait_for_load_state()

    expect(phone.get_by_text("Uw 2 foto's zijn naar uw huisarts verstuurd")).to_be_visible()
    assert_accessible(phone)
    phone.goto(live_server + link)  # the same link again: used
    expect(phone.get_by_text("Met deze link zijn al foto's verstuurd")).to_be_visible()
    assert_accessible(phone)
    with session_scope(app) as session:
        assert len(session.scalars(select(ConsultDraft)).one().files) == 2


def test_a_wrong_birth_date_five_times_closes_the_link(phone: Any, app: Flask, live_server: str,
                                                        clock: FrozenClock) -> None:
    phone.goto(live_server + a_link(app, clock))
    for _ in range(4):
        give_birth_date(phone, "1970-01-01")
        expect(phone.get_by_text("Deze geboortedatum klopt niet")).to_be_visible()
    assert_accessible(phone)
    give_birth_date(phone, "1970-01-01")
    expect(phone.get_by_text("De link is gesloten")).to_be_visible()
    assert_accessible(phone)


def test_an_expired_link_says_so(phone: Any, app: Flask, live_server: str, clock: FrozenClock) -> None:
    link = a_link(app, clock)
    clock.advance(hours=73)
    phone.goto(live_server + link)
    expect(phone.get_by_text("72 uur geldig en is verlopen")).to_be_visible()
    assert_accessible(phone)


def test_a_file_that_is_not_a_photo_is_refused(phone: Any, app: Flask, live_server: str, clock: FrozenClock,
                                               tmp_path: Path) -> None:
    phone.goto(live_server + a_link(app, clock))
    give_birth_date(phone, "1968-04-12")
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(tiny_pdf())
    phone.set_input_files("#photos", str(pdf))  # the file chooser's filter can be bypassed; the server decides
    phone.get_by_role("button", name="Foto's naar mijn huisarts sturen").click()
    phone.wait_for_load_state()
    expect(phone.locator("#photos-error")).to_be_visible()
    assert_accessible(phone)
    with session_scope(app) as session:
        assert session.scalars(select(ConsultDraft)).one().files == []
