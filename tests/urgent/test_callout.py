"""The call-out of an urgent HAP consult at night: the cardiologist on call is alerted on every device and by
e-mail, again every five minutes; without a take the backup is called after fifteen; "Ik pak hem op" stops it;
every step is in the audit trail and in the GP's Task."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select, update

from tests.conftest import FrozenClock
from tests.push_endpoint import Browser, PushService, running_push_service
from tests.test_email_notices import Mailbox, mail_settings, mailbox  # noqa: F401 - fixtures
from tests.test_push_delivery import verified_claims
from tests.urgent.hap import KOK, MULDER, hap_request, hap_system, put_on_call
from tests.web.test_inbox import log_in
from triage_service.audit.trail import Actor
from triage_service.consults.advice import Advice, record_advice
from triage_service.consults.callouts import run_callout_jobs, take_consult
from triage_service.database import session_scope
from triage_service.errors import Conflict, NotFound
from triage_service.models import (
    AuditEntry,
    CalloutStage,
    ConsultTask,
    EmailNotice,
    PushNotice,
    UrgentCallout,
    User,
)
from triage_service.notifications import push
from triage_service.notifications.email import send_due
from triage_service.notifications.push_delivery import send_push_due
from triage_service.security.web_auth import inbox_user
from triage_service.settings import Settings

FRIDAY_22 = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)  # 22:00 in the Netherlands


def _device(app: Flask, settings: Settings, username: str, browser: Browser, endpoint: str) -> str:
    """The user turned notifications on on their phone, and has an e-mail address."""
    with session_scope(app) as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        session.execute(update(User).where(User.id == user.id).values(email=f"{username}@ziekenhuis.example.nl"))
        return push.subscribe(session, user.id, browser.subscription(endpoint), "telefoon", FRIDAY_22,
                              settings=settings, actor=Actor(kind="user", id=username, organisation_id=None,
                                                             source_ip="127.0.0.1")).id


def _pushes(app: Flask, subscription_id: str) -> list[str]:
    with session_scope(app) as session:
        return list(session.scalars(select(PushNotice.payload).where(PushNotice.subscription_id == subscription_id)
                                    .order_by(PushNotice.created_at)))


def _pass(app: Flask, clock: FrozenClock) -> None:
    with session_scope(app) as session:
        run_callout_jobs(session, clock.now)


@dataclass
class Night:
    mulder_phone: str
    kok_phone: str
    mulder_browser: Browser
    service: PushService
    settings: Settings


@pytest.fixture
def night(app: Flask, clock: FrozenClock, mail_settings: Settings) -> Iterator[Night]:  # noqa: F811
    """Friday 22:00: Mulder on call, Kok the backup; both have notifications on their phones (a push service on
    loopback, which the settings admit here only)."""
    clock.now = FRIDAY_22
    put_on_call(app, FRIDAY_22 - timedelta(hours=14), FRIDAY_22 + timedelta(hours=10), on_call=MULDER, backup=KOK)
    settings = dataclasses.replace(mail_settings, push_allow_loopback=True)
    mulder = Browser()
    with running_push_service() as service:
        yield Night(_device(app, settings, "cardioloog", mulder, service.endpoint("mulder")),
                    _device(app, settings, "cardioloog2", Browser(), service.endpoint("kok")), mulder, service,
                    settings)


def test_the_cardiologist_on_call_is_alerted_until_the_backup_is_called_who_takes_it_and_advises(
        app: Flask, clock: FrozenClock, consult_request: dict, night: Night, mail_settings: Settings,  # noqa: F811
        mailbox: tuple[Mailbox, int]) -> None:  # noqa: F811
    mulder_phone, kok_phone = night.mulder_phone, night.kok_phone
    hap = hap_system(app, clock)
    response = hap.post("/fhir/ServiceRequest", hap_request(consult_request))
    assert response.status_code == 201, response.get_json()
    consult_id = response.get_json()["id"]

    # At once: Mulder (on call) gets a push and an e-mail, Kok nothing yet; neither says anything about the patient.
    assert len(_pushes(app, mulder_phone)) == 1 and _pushes(app, kok_phone) == []
    assert send_due(app.extensions["triage.sessionmaker"], mail_settings, clock).sent == 1
    mail = mailbox[0].messages[0]
    assert mail["To"] == "cardioloog@ziekenhuis.example.nl" and "Spoedconsult wacht" in mail["Subject"]
    assert "Fictief" not in mail.as_string() and "999990019" not in mail.as_string()
    # The worker sends the push: it reaches Mulder's phone encrypted for it, signed with our VAPID key, and says
    # that an urgent consult waits and by when, with a link to the consult in the inbox, and nothing more.
    sent = send_push_due(app.extensions["triage.sessionmaker"], night.settings, clock)
    assert (sent.sent, sent.failed) == (1, 0)
    [received] = night.service.received
    assert received.path == "/push/mulder"
    alert = night.mulder_browser.decrypt(received.body)
    assert alert == {"title": "Spoedconsult wacht: Cardiologie",
                     "body": "Spoed, antwoord vóór 00:00. Open de inbox en kies 'Ik pak hem op'.",
                     "url": f"/consults/{consult_id}", "tag": f"callout-{consult_id}", "urgent": True}
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert verified_claims(headers["authorization"], push.vapid_public_key(night.settings))["aud"] == \
        night.service.base
    inbox = app.test_client()
    log_in(inbox, clock, username="cardioloog", secret="KRSXG5DSNFXGOIDUMVZXIZLSMFWWKIDB")
    assert inbox.get(alert["url"]).status_code == 200  # the link opens the consult

    # Every five minutes again, to Mulder only; no second e-mail.
    for _ in range(2):
        clock.advance(minutes=5)
        _pass(app, clock)
    assert len(_pushes(app, mulder_phone)) == 3 and _pushes(app, kok_phone) == []
    with session_scope(app) as session:
        assert session.scalar(select(EmailNotice.id).where(EmailNotice.sent_at.is_(None))) is None

    # Fifteen minutes without a take: the backup is called, and the consult is now Kok's.
    clock.advance(minutes=5)
    _pass(app, clock)
    assert len(_pushes(app, kok_phone)) == 1 and "achterwacht" in _pushes(app, kok_phone)[0]
    with session_scope(app) as session:
        task = session.scalar(select(ConsultTask).where(ConsultTask.consult_id == consult_id))
        callout = session.scalar(select(UrgentCallout))
        assert task is not None and callout is not None
        assert (task.owner_agb, callout.stage) == (KOK, CalloutStage.BACKUP)
        kok = inbox_user(session, session.scalar(select(User.id).where(User.username == "cardioloog2")) or "")
        assert kok is not None
        actor = Actor(kind="user", id="cardioloog2", organisation_id=None, source_ip="127.0.0.1")
        take_consult(session, actor, kok, consult_id, clock.now + timedelta(minutes=2))

    # Taken: no more alerts, and a second take is refused with who took it.
    clock.advance(minutes=10)
    _pass(app, clock)
    assert len(_pushes(app, kok_phone)) == 1 + 0 and len(_pushes(app, mulder_phone)) == 4
    with session_scope(app) as session:
        mulder = inbox_user(session, session.scalar(select(User.id).where(User.username == "cardioloog")) or "")
        assert mulder is not None
        with pytest.raises(Conflict, match=r"dr\. E\. Kok already took"):
            take_consult(session, actor, mulder, consult_id, clock.now)
        record_advice(session, kok, consult_id, Advice("Geen aanwijzingen voor een acuut coronair syndroom; "
                                                       "morgen ECG herhalen bij de eigen huisarts.",
                                                       "treat-in-primary-care"), clock.now)

    # The GP's Task: completed well within the two hours, with each step of the call-out as a note.
    hap = hap_system(app, clock)  # a fresh token: half an hour has passed
    hap.language = None  # the notes in the GP system's default language, Dutch
    found = hap.get(f"/fhir/Task?focus=ServiceRequest/{consult_id}").get_json()
    assert "entry" in found, found
    task_json = found["entry"][0]["resource"]
    assert task_json["status"] == "completed"
    assert task_json["restriction"]["period"]["end"] == "2026-11-27T23:00:00Z"
    notes = [(n["time"], n["text"]) for n in task_json["note"]]
    assert notes == [("2026-11-27T21:00:00Z", "Spoedconsult opgeroepen: dr. P. Mulder (cardioloog)"),
                     ("2026-11-27T21:15:00Z", "Niet op tijd opgepakt; nu opgeroepen: dr. E. Kok (cardioloog)"),
                     ("2026-11-27T21:17:00Z", "Opgepakt door dr. E. Kok")]
    with session_scope(app) as session:
        events = set(session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("callout.%"))))
    assert events == {"callout.alert", "callout.escalate", "callout.take"}
    # Answered: the consult page no longer counts down to a due time that no longer matters.
    kok_inbox = app.test_client()
    log_in(kok_inbox, clock, username="cardioloog2", secret="GYO5276NTENTUFTSJTWGJYZDPRZPNR7E")
    answered = kok_inbox.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert "Opgepakt door dr. E. Kok" in answered and 'class="countdown' not in answered


def test_nobody_taking_it_calls_the_whole_group_of_that_specialism(
        app: Flask, clock: FrozenClock, consult_request: dict, night: Night) -> None:
    hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request))
    clock.advance(minutes=15)
    _pass(app, clock)
    clock.advance(minutes=15)
    _pass(app, clock)
    with session_scope(app) as session:
        task = session.scalar(select(ConsultTask))
        callout = session.scalar(select(UrgentCallout))
        assert task is not None and callout is not None
        assert (task.owner_kind, task.owner_agb, callout.stage) == ("organisation", "06010001", CalloutStage.GROUP)
        dermatologist = inbox_user(session, session.scalar(select(User.id).where(User.username == "dermatoloog"))
                                   or "")
        assert dermatologist is not None
        # A dermatologist of the same hospital is not called for a cardiology question, and may not take it.
        with pytest.raises(NotFound):
            take_consult(session, Actor(kind="user", id="dermatoloog", organisation_id=None, source_ip=None),
                         dermatologist, task.consult_id, clock.now)


def test_a_consult_answered_without_pressing_take_stops_its_call_out(
        app: Flask, clock: FrozenClock, consult_request: dict, night: Night) -> None:
    response = hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request))
    clock.advance(minutes=3)
    with session_scope(app) as session:
        mulder = inbox_user(session, session.scalar(select(User.id).where(User.username == "cardioloog")) or "")
        assert mulder is not None
        record_advice(session, mulder, response.get_json()["id"], Advice("Advies.", "treat-in-primary-care"),
                      clock.now)
    clock.advance(minutes=2)
    _pass(app, clock)
    with session_scope(app) as session:
        callout = session.scalar(select(UrgentCallout))
        assert callout is not None and callout.next_alert_at is None
        assert (callout.taken_by_agb, callout.taken_at) == (MULDER, FRIDAY_22 + timedelta(minutes=3))


def test_the_worker_command_repeats_the_alert_and_calls_the_backup_after_fifteen_minutes(
        app: Flask, clock: FrozenClock, consult_request: dict, night: Night, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from triage_service import cli

    hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request))
    monkeypatch.setattr(cli, "_app", lambda: app)
    clock.advance(minutes=5)
    first = CliRunner().invoke(cli.main, ["worker", "--once"])
    assert first.exit_code == 0, first.output
    assert "urgent call-outs: 1 alerted, 0 passed on" in first.output
    clock.advance(minutes=10)
    second = CliRunner().invoke(cli.main, ["worker", "--once"])
    assert "urgent call-outs: 1 alerted, 1 passed on to the backup or the group" in second.output
    with session_scope(app) as session:
        task = session.scalar(select(ConsultTask))
        callout = session.scalar(select(UrgentCallout))
        assert task is not None and callout is not None
        assert (task.owner_agb, callout.stage, callout.alerts_sent) == (KOK, CalloutStage.BACKUP, 3)
