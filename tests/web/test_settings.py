"""Instellingen: an inbox user chooses the inbox language and whether new assignments are announced by
e-mail (never with patient data); every choice is checked, saved and audited without the address."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.test_email_notices import Mailbox, _send, _submit, mail_settings, mailbox  # noqa: F401
from tests.web.test_inbox import VISSER, csrf, log_in
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF
from triage_service.models import AuditEntry, User
from triage_service.settings import Settings

ADDRESS = "l.visser@ziekenhuis.example.nl"


@pytest.fixture
def visser(app: Flask, clock: FrozenClock) -> FlaskClient:
    browser = app.test_client()
    log_in(browser, clock)
    return browser


def save(browser: FlaskClient, **fields: str) -> Any:
    data = {"language": "nl", **fields, "csrf_token": csrf(browser.get("/settings"))}
    return browser.post("/settings", data=data)


def account(app: Flask, username: str = VISSER[0]) -> User:
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        session.expunge(user)
        return user


def settings_audit(app: Flask) -> list[str | None]:
    with session_scope(app) as session:
        return list(session.scalars(select(AuditEntry.detail).where(AuditEntry.event == "user.settings")
                                    .order_by(AuditEntry.chain_index)))  # same time: the order written


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert match, f"no error next to {field}"
    return match.group(1)


def test_the_header_links_to_the_settings_which_show_the_current_choices(visser: FlaskClient) -> None:
    assert '<a href="/settings">Instellingen</a>' in visser.get("/inbox").get_data(as_text=True)
    page = visser.get("/settings").get_data(as_text=True)

    assert re.search(r'value="nl"\s+checked', page)
    assert "E-mail mij bij een nieuw consult (zonder patiëntgegevens)" in page
    assert not re.search(r'name="email_on_assignment" value="1"\s+checked', page)


def test_turning_on_notices_saves_the_address_and_audits_the_change_without_it(app: Flask,
                                                                             visser: FlaskClient) -> None:
    response = save(visser, email=f"  {ADDRESS} ", email_on_assignment="1")

    assert response.status_code == 302 and response.headers["Location"].endswith("/settings")
    assert "Opgeslagen." in visser.get("/settings").get_data(as_text=True)
    user = account(app)
    assert (user.email, user.email_on_assignment) == (ADDRESS, True)
    assert settings_audit(app) == ["email=added; email_on_assignment=on"]
    with session_scope(app) as session:
        details = " ".join(d or "" for d in session.scalars(select(AuditEntry.detail)))
    assert "ziekenhuis" not in details


def test_turning_notices_off_and_clearing_the_address_saves_both(app: Flask, visser: FlaskClient) -> None:
    save(visser, email=ADDRESS, email_on_assignment="1")
    assert save(visser, email="").status_code == 302

    user = account(app)
    assert (user.email, user.email_on_assignment) == (None, False)
    assert settings_audit(app)[-1] == "email=removed; email_on_assignment=off"


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"email": "", "email_on_assignment": "1"}, "email", "Vul het e-mailadres in waar de berichten heen moeten"),
    ({"email": "l.visser@", "email_on_assignment": "1"}, "email", "Dit is geen e-mailadres"),
    ({"email": "l visser@ziekenhuis.nl"}, "email", "Dit is geen e-mailadres"),
    ({"email": "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "example.nl"}, "email",
     "Een e-mailadres heeft hoogstens 254 tekens"),  # 258 characters
    ({"email": ADDRESS, "email_on_assignment": "yes"}, "email_on_assignment", "Vink het vakje aan of laat het leeg"),
    ({"language": "de"}, "language", "Kies Nederlands of English"),
    ({"language": ""}, "language", "Kies Nederlands of English"),
])
def test_a_bad_choice_gets_an_error_next_to_its_field_and_nothing_is_saved(
        app: Flask, visser: FlaskClient, fields: dict[str, str], field: str, message: str) -> None:
    response = save(visser, **fields)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    assert field_error(page, field).startswith(message)
    if "email" in fields:
        assert f'value="{fields["email"].strip()}"' in page  # what was typed stays, to be corrected
    user = account(app)
    assert (user.email, user.email_on_assignment, user.language) == (None, False, "nl")
    assert settings_audit(app) == []


def test_an_address_of_254_characters_is_accepted(app: Flask, visser: FlaskClient) -> None:
    address = "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "abc.nl"
    assert len(address) == 254

    assert save(visser, email=address, email_on_assignment="1").status_code == 302
    assert account(app).email == address


def test_without_a_mail_server_the_page_says_notices_cannot_be_sent_yet(
        app: Flask, visser: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "geen mailserver ingesteld" in visser.get("/settings").get_data(as_text=True)

    configured = dataclasses.replace(app.extensions["triage.settings"], smtp_host="smtp.zorggroep.example.nl")
    monkeypatch.setitem(app.extensions, "triage.settings", configured)
    assert "geen mailserver ingesteld" not in visser.get("/settings").get_data(as_text=True)


def test_choosing_english_switches_the_inbox_now_and_at_the_next_login(app: Flask, visser: FlaskClient,
                                                                        clock: FrozenClock) -> None:
    save(visser, language="en")

    assert "Saved." in visser.get("/settings").get_data(as_text=True)
    assert '<html lang="en">' in visser.get("/inbox").get_data(as_text=True)
    assert account(app).language == "en"
    assert settings_audit(app) == ["language=en"]
    clock.advance(seconds=60)  # a fresh TOTP code
    later = app.test_client()
    log_in(later, clock)
    assert '<html lang="en">' in later.get("/inbox").get_data(as_text=True)


def test_saving_the_settings_needs_the_forms_csrf_token(app: Flask, visser: FlaskClient) -> None:
    response = visser.post("/settings", data={"language": "en", "email": ADDRESS, "email_on_assignment": "1"})

    assert response.status_code == 400
    assert account(app).email is None


def test_the_settings_need_a_login(client: FlaskClient) -> None:
    assert client.get("/settings").headers["Location"].endswith("/login")
    assert client.post("/settings", data={"language": "en"}).status_code == 401


def test_zorggroep_staff_choose_only_the_language(app: Flask, clock: FrozenClock) -> None:
    """Staff never get consults assigned, so an e-mail option would promise what never comes."""
    browser = app.test_client()
    log_in(browser, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3])
    assert 'name="email"' not in browser.get("/settings").get_data(as_text=True)

    assert save(browser, language="en", email=ADDRESS, email_on_assignment="1").status_code == 302
    staff = account(app, DEMO_STAFF[0])
    assert (staff.language, staff.email, staff.email_on_assignment) == ("en", None, False)


def test_a_specialist_who_opts_in_on_the_page_gets_the_next_assignment_by_email(
        app: Flask, visser: FlaskClient, gp: GPSystem, clock: FrozenClock, consult_request: dict,
        mailbox: tuple[Mailbox, int], mail_settings: Settings) -> None:  # noqa: F811
    save(visser, email=ADDRESS, email_on_assignment="1")
    _submit(gp, consult_request)

    assert _send(app, mail_settings, clock).sent == 1
    [message] = mailbox[0].messages
    assert message["To"] == ADDRESS and message["Subject"] == "Nieuw consult in uw inbox (Dermatologie)"
