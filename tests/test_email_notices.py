"""E-mail notices of new assignments: sent through a real SMTP server on loopback to the specialists who asked
for them, telling that there is work and by when, and nothing about the patient."""

from __future__ import annotations

import dataclasses
import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, update

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service import cli
from triage_service.database import session_scope
from triage_service.models import EmailNotice, User
from triage_service.notifications.email import MAX_ATTEMPTS, MailRun, send_due
from triage_service.settings import Settings

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:  # a free loopback port (the controller checks its port by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_settings(app: Flask, mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The service with an SMTP server configured (sessions carry the settings the outbox reads)."""
    settings = dataclasses.replace(app.extensions["triage.settings"], smtp_host="127.0.0.1", smtp_port=mailbox[1],
                                   mail_from="triage@zorggroep.example.nl",
                                   public_base_url="https://triage.zorggroep.example.nl")
    monkeypatch.setitem(app.extensions["triage.sessionmaker"].kw["info"], "triage.settings", settings)
    return settings


def _wants_mail(app: Flask, username: str = "dermatoloog", address: str | None = "l.visser@ziekenhuis.example.nl",
                wanted: bool = True) -> None:
    with session_scope(app) as session:
        session.execute(update(User).where(User.username == username).values(email=address,
                                                                               email_on_assignment=wanted))


def _send(app: Flask, settings: Settings, clock: FrozenClock, **kwargs: Any) -> MailRun:
    return send_due(app.extensions["triage.sessionmaker"], settings, clock, **kwargs)


def _submit(gp: GPSystem, consult_request: dict) -> str:
    response = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def test_a_specialist_who_asked_for_it_gets_an_email_about_a_new_consult(
        app: Flask, gp: GPSystem, mailbox: tuple[Mailbox, int], mail_settings: Settings, clock: FrozenClock,
        consult_request: dict) -> None:
    _wants_mail(app)
    consult_id = _submit(gp, consult_request)
    run = _send(app, mail_settings, clock)

    assert run.sent == 1
    [message] = mailbox[0].messages
    assert message["To"] == "l.visser@ziekenhuis.example.nl"
    assert message["From"] == "triage@zorggroep.example.nl"
    assert message["Subject"] == "Nieuw consult in uw inbox (Dermatologie)"
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Consultvorm: Intercollegiaal consult" in body
    assert "Antwoord gewenst vóór: " in body
    assert f"https://triage.zorggroep.example.nl/consults/{consult_id}" in body


def test_the_email_holds_no_patient_data(
        app: Flask, gp: GPSystem, mailbox: tuple[Mailbox, int], mail_settings: Settings, clock: FrozenClock,
        consult_request: dict) -> None:
    _wants_mail(app)
    _submit(gp, consult_request)
    _send(app, mail_settings, clock)

    text = mailbox[0].messages[0].as_string()
    for patient_data in ("999990019", "Fictief", "1968", "3011", "laesie", "S82", "58 jr", "female", "vrouw"):
        assert patient_data not in text


def test_a_specialist_who_did_not_ask_gets_no_email(
        app: Flask, gp: GPSystem, mailbox: tuple[Mailbox, int], mail_settings: Settings, clock: FrozenClock,
        consult_request: dict) -> None:
    _wants_mail(app, wanted=False)
    _submit(gp, consult_request)

    assert _send(app, mail_settings, clock).sent == 0
    assert mailbox[0].messages == []


def test_without_a_mail_server_nothing_is_queued(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    _wants_mail(app)
    _submit(gp, consult_request)

    with session_scope(app) as session:
        assert session.scalars(select(EmailNotice)).all() == []


def test_the_email_is_in_english_for_a_specialist_who_works_in_english(
        app: Flask, gp: GPSystem, mailbox: tuple[Mailbox, int], mail_settings: Settings, clock: FrozenClock,
        consult_request: dict) -> None:
    _wants_mail(app)
    with session_scope(app) as session:
        session.execute(update(User).where(User.username == "dermatoloog").values(language="en"))
    try:
        _submit(gp, consult_request)
        _send(app, mail_settings, clock)
    finally:
        with session_scope(app) as session:
            session.execute(update(User).where(User.username == "dermatoloog").values(language="nl"))

    assert mailbox[0].messages[0]["Subject"] == "New consult in your inbox (Dermatology)"


def test_a_mail_server_that_is_down_is_retried_and_then_given_up(
        app: Flask, gp: GPSystem, mail_settings: Settings, clock: FrozenClock, consult_request: dict) -> None:
    _wants_mail(app)
    _submit(gp, consult_request)
    down = dataclasses.replace(mail_settings, smtp_port=1)  # nothing listens there

    assert _send(app, down, clock).failed == 1
    assert _send(app, down, clock).failed == 0  # waiting for the retry time
    runs = []
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(hours=1)
        runs.append(_send(app, down, clock))
    assert runs[-1].abandoned == 1
    clock.advance(hours=1)
    assert _send(app, mail_settings, clock).sent == 0  # given up: the inbox shows the work anyway


def test_a_refused_request_sends_no_email(
        app: Flask, gp: GPSystem, mail_settings: Settings, clock: FrozenClock, consult_request: dict) -> None:
    _wants_mail(app)
    bad = new_request(consult_request, performer=VISSER)
    bad["reasonCode"][0]["coding"][0]["code"] = "X99"
    assert gp.post("/fhir/ServiceRequest", bad).status_code == 422

    with session_scope(app) as session:
        assert session.scalars(select(EmailNotice)).all() == []


def test_an_account_is_created_with_an_email_address_or_refused_with_a_bad_one(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_app", lambda: app)
    runner = CliRunner()
    bad = runner.invoke(cli.main, ["create-user", "--username", "visser2", "--name", "dr. L. Visser",
                                   "--practitioner-agb", "03100001", "--email", "l.visser at ziekenhuis",
                                   "--password", "een-lang-wachtwoord"])
    assert bad.exit_code != 0
    assert "e-mail address is not valid" in bad.output
    good = runner.invoke(cli.main, ["create-user", "--username", "visser2", "--name", "dr. L. Visser",
                                    "--practitioner-agb", "03100001", "--email", "l.visser@ziekenhuis.example.nl",
                                    "--password", "een-lang-wachtwoord"])
    assert good.exit_code == 0, good.output
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == "visser2"))
        assert user is not None and user.email_on_assignment
        session.delete(user)


def test_the_practice_s_gp_who_asked_for_it_gets_an_email_about_a_question_and_the_advice_without_patient_data(
        app: Flask, gp: GPSystem, mailbox: tuple[Mailbox, int], mail_settings: Settings, clock: FrozenClock,
        consult_request: dict) -> None:
    from triage_service.consults.advice import Advice, ask_gp, record_advice
    from triage_service.security.web_auth import inbox_user

    _wants_mail(app, "huisarts", "a.jansen@delinde.example.nl")
    _wants_mail(app, "huisarts-anker", "s.bakker@hetanker.example.nl")  # another practice: hears nothing
    consult_id = _submit(gp, consult_request)
    with session_scope(app) as session:
        visser = inbox_user(session, session.scalars(select(User.id).where(User.username == "dermatoloog")).one())
        assert visser is not None
        ask_gp(session, visser, consult_id, "Is de rand schilferend?", clock())
    with session_scope(app) as session:
        record_advice(session, visser, consult_id, Advice("Terbinafine twee weken.", "primary-care-advice"), clock())
    _send(app, mail_settings, clock)

    to_practice = [m for m in mailbox[0].messages if m["To"] == "a.jansen@delinde.example.nl"]
    assert sorted(m["Subject"] for m in to_practice) == ["Advies ontvangen op een consult (Dermatologie)",
                                                         "Vraag van de specialist over een consult (Dermatologie)"]
    assert not [m for m in mailbox[0].messages if m["To"] == "s.bakker@hetanker.example.nl"]
    text = "".join(m["Subject"] + m.get_payload(decode=True).decode() for m in to_practice)  # type: ignore[union-attr]
    assert f"https://triage.zorggroep.example.nl/huisarts/consults/{consult_id}" in text
    for patient_data in ("999990019", "Fictief", "1968", "3011", "schilferend", "Terbinafine", "S82"):
        assert patient_data not in text
