"""Web Push subscriptions: a browser's subscription is checked before it is stored (a URL the server will POST to,
keys of the right kind and size), the same browser again replaces its row, and messages are queued per device
without patient data."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import START
from tests.push_endpoint import Browser, b64url
from triage_service.audit.trail import Actor
from triage_service.database import session_scope
from triage_service.demo import DEMO_USERS
from triage_service.errors import ConfigurationError
from triage_service.models import AuditEntry, PushNotice, PushSubscription, User
from triage_service.notifications import push
from triage_service.notifications.push import BadSubscription, PushPayload
from triage_service.settings import Settings, load_settings

ACTOR = Actor(kind="user", id=DEMO_USERS[0][0], organisation_id=None, source_ip="127.0.0.1")
FCM = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH-example-token"
PAYLOAD = PushPayload(title="Spoedconsult wacht: Cardiologie", body="Spoed, antwoord vóór 22:30.",
                      url="/consults/5b0e7c52-0000-4000-8000-000000000001", tag="callout-1")


def user_id(app: Flask, username: str = DEMO_USERS[0][0]) -> str:
    with session_scope(app) as session:
        return str(session.scalar(select(User.id).where(User.username == username)))


def subscribe(app: Flask, settings: Settings, subscription: Any, username: str = DEMO_USERS[0][0]) -> str:
    uid = user_id(app, username)
    with session_scope(app) as session:
        return push.subscribe(session, uid, subscription, "Chrome op Android", START, settings=settings,
                              actor=ACTOR).id


def rows(app: Flask) -> list[PushSubscription]:
    with session_scope(app) as session:
        found = list(session.scalars(select(PushSubscription)))
        for row in found:
            session.expunge(row)
        return found


def test_a_browsers_subscription_is_stored_sealed_and_audited_without_its_address(app: Flask,
                                                                                  settings: Settings) -> None:
    browser = Browser()
    subscribe(app, settings, browser.subscription(FCM))

    [row] = rows(app)
    assert (row.endpoint, row.p256dh, row.auth, row.device) == (FCM, browser.p256dh, b64url(browser.auth),
                                                                 "Chrome op Android")
    with app.extensions["triage.engine"].connect() as connection:
        stored = " ".join(str(v) for v in connection.exec_driver_sql("SELECT * FROM push_subscriptions").one())
    assert "fcm.googleapis" not in stored and browser.p256dh not in stored  # sealed at rest
    with session_scope(app) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "web.push.subscribe")).one()
        assert entry.resource_id == row.id and "fcm" not in (entry.detail or "")


def test_the_same_browser_subscribing_again_replaces_its_row(app: Flask, settings: Settings) -> None:
    first, again = Browser(), Browser()
    subscribe(app, settings, first.subscription(FCM))
    subscribe(app, settings, again.subscription(FCM))
    [row] = rows(app)
    assert row.p256dh == again.p256dh


def test_a_browser_another_user_turns_on_moves_to_that_user_without_the_first_users_messages(
        app: Flask, settings: Settings) -> None:
    subscribe(app, settings, Browser().subscription(FCM))
    visser = user_id(app)
    with session_scope(app) as session:
        assert push.queue_push(session, [visser], PAYLOAD, START, ttl_seconds=300) == 1
    subscribe(app, settings, Browser().subscription(FCM), username="cardioloog")
    [row] = rows(app)
    assert row.user_id == user_id(app, "cardioloog")
    with session_scope(app) as session:
        assert session.scalars(select(PushNotice)).all() == []


def test_a_user_keeps_at_most_ten_devices_and_the_oldest_makes_way(app: Flask, settings: Settings,
                                                                   clock: Any) -> None:
    uid = user_id(app)
    for number in range(push.MAX_DEVICES + 1):
        with session_scope(app) as session:
            push.subscribe(session, uid, Browser().subscription(f"{FCM}-{number}"), "", clock.now,
                           settings=settings, actor=ACTOR)
        clock.advance(minutes=1)
    assert sorted(r.endpoint for r in rows(app)) == sorted(f"{FCM}-{n}" for n in range(1, push.MAX_DEVICES + 1))


def _without(subscription: dict[str, Any], *path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(subscription))
    if len(path) == 1:
        del copy[path[0]]
    else:
        del copy[path[0]][path[1]]
    return copy


BROWSER = Browser()
GOOD = BROWSER.subscription(FCM)


@pytest.mark.parametrize(("subscription", "words"), [
    ("not an object", "JSON object"),
    (_without(GOOD, "endpoint"), "no address"),
    (_without(GOOD, "keys"), "no keys"),
    (_without(GOOD, "keys", "p256dh"), "p256dh"),
    (_without(GOOD, "keys", "auth"), "auth"),
    ({**GOOD, "endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "https://"),
    ({**GOOD, "endpoint": "ftp://fcm.googleapis.com/x"}, "https://"),
    ({**GOOD, "endpoint": "https://10.0.0.7/push"}, "private or local"),
    ({**GOOD, "endpoint": "https://192.168.1.1/push"}, "private or local"),
    ({**GOOD, "endpoint": "https://127.0.0.1/push"}, "private or local"),
    ({**GOOD, "endpoint": "https://[::1]/push"}, "private or local"),
    ({**GOOD, "endpoint": "https://169.254.169.254/latest/meta-data"}, "private or local"),
    ({**GOOD, "endpoint": "https://localhost/push"}, "on the internet"),
    ({**GOOD, "endpoint": "https://db.internal/push"}, "on the internet"),
    ({**GOOD, "endpoint": "https://2130706433/push"}, "on the internet"),
    ({**GOOD, "endpoint": "https://0x7f.1/push"}, "on the internet"),
    ({**GOOD, "endpoint": "https://fcm.googleapis.com:8443/push"}, "standard https port"),
    ({**GOOD, "endpoint": "https://user:pw@fcm.googleapis.com/push"}, "not a valid web address"),
    ({**GOOD, "endpoint": "https://fcm.googleapis.com:99999/push"}, "not a valid web address"),
    ({**GOOD, "endpoint": FCM + "x" * 1024}, "too long"),
    ({**GOOD, "keys": {**GOOD["keys"], "p256dh": b64url(b"\x04" + b"\x01" * 64)}}, "P-256"),
    ({**GOOD, "keys": {**GOOD["keys"], "p256dh": GOOD["keys"]["p256dh"][:-4]}}, "P-256"),
    ({**GOOD, "keys": {**GOOD["keys"], "p256dh": "not base64!"}}, "P-256"),
    ({**GOOD, "keys": {**GOOD["keys"], "auth": b64url(b"x" * 15)}}, "16 bytes"),
    ({**GOOD, "keys": {**GOOD["keys"], "auth": 16}}, "16 bytes"),
])
def test_a_bad_subscription_is_refused_in_words_and_nothing_is_stored(app: Flask, settings: Settings,
                                                                      subscription: Any, words: str) -> None:
    with pytest.raises(BadSubscription, match=words):
        subscribe(app, settings, subscription)
    assert rows(app) == []


def test_a_loopback_push_service_is_admitted_only_when_the_setting_says_so(app: Flask, settings: Settings) -> None:
    local = Browser().subscription("http://127.0.0.1:8123/push/1")
    with pytest.raises(BadSubscription, match="https://"):
        subscribe(app, settings, local)
    subscribe(app, dataclasses.replace(settings, push_allow_loopback=True), local)
    assert len(rows(app)) == 1
    with pytest.raises(BadSubscription, match="private or local"):  # other local addresses stay refused
        subscribe(app, dataclasses.replace(settings, push_allow_loopback=True),
                  Browser().subscription("https://10.1.2.3/push"))


def test_a_message_is_queued_once_per_device_of_each_user_and_expires_with_its_ttl(app: Flask,
                                                                                   settings: Settings) -> None:
    subscribe(app, settings, Browser().subscription(FCM + "-phone"))
    subscribe(app, settings, Browser().subscription(FCM + "-laptop"))
    visser, mulder, smit = user_id(app), user_id(app, "cardioloog"), user_id(app, "dermatoloog2")
    subscribe(app, settings, Browser().subscription(FCM + "-mulder"), username="cardioloog")
    with session_scope(app) as session:
        assert push.users_with_push(session, [visser, mulder, smit]) == {visser, mulder}
        assert push.queue_push(session, [visser, mulder, smit, visser], PAYLOAD, START, ttl_seconds=300) == 3
    with session_scope(app) as session:
        notices = session.scalars(select(PushNotice)).all()
        assert {n.expires_at for n in notices} == {START.replace(minute=5)}
        assert json.loads(notices[0].payload) == {"title": PAYLOAD.title, "body": PAYLOAD.body, "url": PAYLOAD.url,
                                                  "tag": "callout-1", "urgent": True}


@pytest.mark.parametrize("payload", [
    dataclasses.replace(PAYLOAD, url="https://elsewhere.example/phish"),
    dataclasses.replace(PAYLOAD, url="//elsewhere.example/phish"),
    dataclasses.replace(PAYLOAD, title=""),
    dataclasses.replace(PAYLOAD, body="x" * 301),
    dataclasses.replace(PAYLOAD, tag="a tag with spaces"),
])
def test_a_payload_that_is_not_a_short_notice_with_a_link_into_the_service_is_refused(
        app: Flask, payload: PushPayload) -> None:
    visser = user_id(app)
    with session_scope(app) as session, pytest.raises(ValueError, match="push"):
        push.queue_push(session, [visser], payload, START, ttl_seconds=60)


def test_unsubscribing_removes_only_the_users_own_device(app: Flask, settings: Settings) -> None:
    device = subscribe(app, settings, Browser().subscription(FCM))
    visser, mulder = user_id(app), user_id(app, "cardioloog")
    with session_scope(app) as session:
        assert not push.unsubscribe(session, mulder, device, START, actor=ACTOR)
    with session_scope(app) as session:
        assert push.unsubscribe(session, visser, device, START, actor=ACTOR)
        assert push.devices(session, visser) == []


def test_the_vapid_public_key_is_an_uncompressed_p256_point(settings: Settings) -> None:
    raw = push_key_bytes(push.vapid_public_key(settings))
    assert len(raw) == 65 and raw[0] == 4


def push_key_bytes(text: str) -> bytes:
    from tests.push_endpoint import unb64url

    return unb64url(text)


def test_development_keeps_one_generated_vapid_key_in_the_instance_folder(tmp_path: Any) -> None:
    first = load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path)})
    second = load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path)})
    assert first.vapid_private_key == second.vapid_private_key
    assert (tmp_path / "vapid-private-key").stat().st_mode & 0o777 == 0o600
    assert first.vapid_subject == "mailto:triage-service@localhost"


@pytest.mark.parametrize(("environment", "words"), [
    ({"TRIAGE_VAPID_PRIVATE_KEY": "too-short"}, "TRIAGE_VAPID_PRIVATE_KEY must be a P-256 private key"),
    ({"TRIAGE_VAPID_PRIVATE_KEY": b64url(b"\xff" * 32)}, "TRIAGE_VAPID_PRIVATE_KEY must be a P-256 private key"),
    ({"TRIAGE_VAPID_SUBJECT": "beheer@zorggroep.nl"}, "TRIAGE_VAPID_SUBJECT"),
    ({"TRIAGE_VAPID_SUBJECT": "https://zorggroep.example.nl/contact"}, "TRIAGE_VAPID_SUBJECT"),
])
def test_a_malformed_vapid_setting_is_refused_by_name(tmp_path: Any, environment: dict[str, str],
                                                      words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path), **environment})


def _production(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from click.testing import CliRunner

    from tests.test_settings import GOOD_KEY, PUSH_KEYS
    from triage_service.cli import main

    environment = {"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY, **PUSH_KEYS,
                   "TRIAGE_INSTANCE_PATH": str(tmp_path / "server"),
                   "TRIAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
                   "TRIAGE_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert CliRunner().invoke(main, ["rotate-keys", "--new-keyring"]).exit_code == 0
    return environment


@pytest.mark.parametrize(("change", "words"), [
    ({"TRIAGE_VAPID_PRIVATE_KEY": ""}, "TRIAGE_VAPID_PRIVATE_KEY is required in production"),
    ({"TRIAGE_VAPID_SUBJECT": ""}, "TRIAGE_VAPID_SUBJECT is required in production"),
    ({"TRIAGE_PUSH_ALLOW_LOOPBACK": "true"}, "TRIAGE_PUSH_ALLOW_LOOPBACK is for tests and development only"),
])
def test_production_refuses_to_start_without_its_own_push_keys_or_with_loopback_endpoints(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, change: dict[str, str], words: str) -> None:
    environment = _production(tmp_path, monkeypatch)
    load_settings(environment)  # with them: starts
    with pytest.raises(ConfigurationError, match=words):
        load_settings({**environment, **change})


def test_push_keys_prints_a_private_key_production_accepts_and_its_public_key(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from triage_service.cli import main

    result = CliRunner().invoke(main, ["push-keys"])
    assert result.exit_code == 0, result.output
    private = re.search(r"TRIAGE_VAPID_PRIVATE_KEY=(\S+)", result.output)
    public = re.search(r"public key: (\S+)", result.output)
    assert private and public
    settings = load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path), "TRIAGE_VAPID_PRIVATE_KEY": private.group(1)})
    assert push.vapid_public_key(settings) == public.group(1)
