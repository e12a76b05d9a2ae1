"""The GP system opens the portal on a phone with the patient filled in, in one step; a bad launch gets a Dutch
page. The GP system's own page (another site) posts the signed launch, as a HIS does."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_portal_in_chromium import add_photos, assert_accessible, consults_sent, phone, send, sharp
from tests.conftest import FrozenClock
from tests.web.test_his_launch import context
from triage_service.accounts.registration import launch_token

__all__ = ["phone"]  # the fixture, from the portal's browser tests

#: The audience the service expects: its configured public base URL (tests/conftest.py), wherever it listens.
AUDIENCE = "http://testserver/huisarts/launch"


def his_posts_the_launch(page: Any, app: Flask, clock: FrozenClock, base: str, key: bytes | None = None,
                         **changes: Any) -> str:
    """The HIS's page with the signed launch in a form, submitted as the GP clicks "Meekijkconsult" there."""
    demo = app.extensions["test.demo_clients"][0]  # De Linde's GP system
    token = launch_token(demo.client_id, key or demo.key_file.read_bytes(), AUDIENCE, clock.now,
                         context(**changes), kid=demo.kid)
    page.set_content(f'<form method="post" action="{base}/huisarts/launch">'
                     f'<input type="hidden" name="launch" value="{html.escape(token)}">'
                     '<button type="submit">Meekijkconsult</button></form>')
    page.get_by_role("button", name="Meekijkconsult").click()
    page.wait_for_load_state()
    return token


def test_a_launch_from_the_his_opens_the_filled_in_form_on_a_phone_and_the_gp_sends_it(
        phone: Any, app: Flask, live_server: str, clock: FrozenClock, tmp_path: Path) -> None:
    his_posts_the_launch(phone, app, clock, live_server)

    assert phone.get_by_label("BSN").input_value() == "999990019"
    assert phone.get_by_label("Achternaam").input_value() == "Fictief"
    assert phone.get_by_label("ICPC-code").input_value() == "S74"
    assert "/huisarts/concepten/" in phone.url  # not the one-time launch: a reload opens the draft again
    phone.reload()
    assert phone.get_by_label("BSN").input_value() == "999990019"
    assert_accessible(phone)
    screenshot(phone, "portal-his-launch")
    phone.get_by_label("Specialisme en consultvorm").select_option(label="Dermatologie: E-consult")
    phone.get_by_label("Ja").first.check()  # would refer without this consult
    add_photos(phone, sharp(tmp_path, "overzicht.jpg"), sharp(tmp_path, "detail.jpg"))
    send(phone)

    phone.wait_for_url(f"{live_server}/huisarts/consults/*")
    expect(phone.get_by_text("Uw consult is verstuurd")).to_be_visible()
    assert consults_sent(app) == 1


def test_a_launch_used_twice_gets_a_dutch_page_and_no_session(
        phone: Any, app: Flask, live_server: str, clock: FrozenClock) -> None:
    token = his_posts_the_launch(phone, app, clock, live_server)
    phone.context.clear_cookies()
    phone.set_content(f'<form method="post" action="{live_server}/huisarts/launch">'
                      f'<input type="hidden" name="launch" value="{html.escape(token)}">'
                      '<button type="submit">Meekijkconsult</button></form>')
    phone.get_by_role("button", name="Meekijkconsult").click()
    phone.wait_for_load_state()

    expect(phone.get_by_text("al gebruikt")).to_be_visible()
    assert "999990019" not in phone.content()
    assert_accessible(phone)
    screenshot(phone, "portal-his-launch-replayed")
    phone.goto(f"{live_server}/huisarts/")
    assert phone.url.endswith("/login")


@pytest.mark.parametrize(("how", "words"), [
    ("forged", "niet ondertekend door een bij de dienst bekend HIS"),
    ("expired", "is verlopen"),
    ("other-practice", "alleen voor de eigen praktijk"),
])
def test_a_forged_expired_or_other_practice_launch_gets_a_dutch_page_and_no_session(
        phone: Any, app: Flask, live_server: str, clock: FrozenClock, how: str, words: str) -> None:
    if how == "forged":
        key = ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        his_posts_the_launch(phone, app, clock, live_server, key=key)
    elif how == "expired":
        clock.advance(minutes=-3)  # signed three minutes ago, valid for two
        demo = app.extensions["test.demo_clients"][0]
        token = launch_token(demo.client_id, demo.key_file.read_bytes(), AUDIENCE, clock.now, context(), kid=demo.kid)
        clock.advance(minutes=3)
        phone.set_content(f'<form method="post" action="{live_server}/huisarts/launch">'
                          f'<input type="hidden" name="launch" value="{html.escape(token)}">'
                          '<button type="submit">Meekijkconsult</button></form>')
        phone.get_by_role("button", name="Meekijkconsult").click()
        phone.wait_for_load_state()
    else:
        his_posts_the_launch(phone, app, clock, live_server, practice_agb="03067890", gp_agb="01034567")

    expect(phone.get_by_text(words)).to_be_visible()
    assert "999990019" not in phone.content()
    assert_accessible(phone)
    phone.goto(f"{live_server}/huisarts/")
    assert phone.url.endswith("/login")
