"""The push outbox sent to a push service on loopback: what arrives is encrypted for the browser (it decrypts to
the notice), signed for the push service with our VAPID key and our clock, with a TTL and high urgency; a
subscription the push service says has ended is deleted; other failures are retried until the message expires."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from flask import Flask
from sqlalchemy import select

from tests.conftest import START, FrozenClock
from tests.push_endpoint import Browser, PushService, running_push_service, unb64url
from tests.test_push import ACTOR, PAYLOAD, user_id
from triage_service.database import session_scope
from triage_service.models import AuditEntry, PushNotice, PushSubscription
from triage_service.notifications import push
from triage_service.notifications.push_delivery import PushRun, send_push_due
from triage_service.settings import Settings


@pytest.fixture
def push_service() -> Iterator[PushService]:
    with running_push_service() as service:
        yield service


@pytest.fixture
def loopback(settings: Settings) -> Settings:
    """The service's settings, admitting the test push service at http://127.0.0.1:<port>."""
    return dataclasses.replace(settings, push_allow_loopback=True)


def turn_on(app: Flask, settings: Settings, browser: Browser, endpoint: str) -> str:
    uid = user_id(app)
    with session_scope(app) as session:
        return push.subscribe(session, uid, browser.subscription(endpoint), "Chrome op Android", START,
                              settings=settings, actor=ACTOR).id


def queue(app: Flask, clock: FrozenClock, ttl_seconds: int = 300) -> None:
    uid = user_id(app)
    with session_scope(app) as session:
        push.queue_push(session, [uid], PAYLOAD, clock.now, ttl_seconds=ttl_seconds)


def send(app: Flask, settings: Settings, clock: FrozenClock, **kwargs: Any) -> PushRun:
    return send_push_due(app.extensions["triage.sessionmaker"], settings, clock, **kwargs)


def notices(app: Flask) -> list[PushNotice]:
    with session_scope(app) as session:
        found = list(session.scalars(select(PushNotice)))
        for notice in found:
            session.expunge(notice)
        return found


def verified_claims(authorization: str, public_key: str) -> dict[str, Any]:
    """The JWT of ``vapid t=<jwt>, k=<key>`` (RFC 8292, section 3), its ES256 signature checked with our key."""
    scheme, _, parameters = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in parameters.split(","))
    assert fields["k"] == public_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64url(header)) == {"typ": "JWT", "alg": "ES256"}
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
               f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    decoded: dict[str, Any] = json.loads(unb64url(claims))
    return decoded


def test_a_queued_message_reaches_the_push_service_encrypted_for_the_browser_and_signed_by_us(
        app: Flask, loopback: Settings, clock: FrozenClock, push_service: PushService) -> None:
    browser = Browser()
    turn_on(app, loopback, browser, push_service.endpoint())
    queue(app, clock, ttl_seconds=300)
    clock.advance(seconds=20)  # the worker's pass comes a little later

    run = send(app, loopback, clock)

    assert (run.sent, run.failed) == (1, 0)
    [received] = push_service.received
    assert received.path == "/push/device-1"
    assert browser.decrypt(received.body) == {"title": PAYLOAD.title, "body": PAYLOAD.body, "url": PAYLOAD.url,
                                              "tag": "callout-1", "urgent": True}
    headers = {name.lower(): value for name, value in received.headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert headers["ttl"] == "280"  # what is left of the message's 5 minutes
    assert headers["urgency"] == "high"
    claims = verified_claims(headers["authorization"], push.vapid_public_key(loopback))
    # The token's expiry is 12 hours from the service's clock (frozen here), not from the machine's.
    assert claims == {"aud": push_service.base, "exp": int((clock.now + timedelta(hours=12)).timestamp()),
                      "sub": loopback.vapid_subject}
    [notice] = notices(app)
    assert (notice.sent_at, notice.attempts, notice.claimed_by) == (clock.now, 1, None)
    with session_scope(app) as session:
        assert session.scalars(select(PushSubscription.last_success_at)).one() == clock.now


def test_a_signature_by_another_key_does_not_verify(app: Flask, loopback: Settings, clock: FrozenClock,
                                                    push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock)
    send(app, loopback, clock)
    other = dataclasses.replace(loopback, vapid_private_key="KZBlwXpkHEeBPl8CWVwCLil3oKBf9RTofTOVZp-G2FM")
    authorization = {k.lower(): v for k, v in push_service.received[0].headers.items()}["authorization"]
    with pytest.raises(InvalidSignature):
        verified_claims(authorization.replace(push.vapid_public_key(loopback), push.vapid_public_key(other)),
                        push.vapid_public_key(other))


def test_each_message_is_sent_once_and_a_second_pass_sends_nothing(app: Flask, loopback: Settings,
                                                                   clock: FrozenClock,
                                                                   push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint("phone"))
    turn_on(app, loopback, Browser(), push_service.endpoint("laptop"))
    queue(app, clock)
    assert send(app, loopback, clock).sent == 2
    assert send(app, loopback, clock).sent == 0
    assert sorted(r.path for r in push_service.received) == ["/push/laptop", "/push/phone"]


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_says_has_ended_is_deleted_and_audited(
        app: Flask, loopback: Settings, clock: FrozenClock, push_service: PushService, status: int) -> None:
    device = turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock)
    push_service.status = status

    run = send(app, loopback, clock)

    assert (run.sent, run.removed) == (0, 1)
    with session_scope(app) as session:
        assert session.scalars(select(PushSubscription)).all() == []
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "push.subscription.gone")).one()
        assert entry.resource_id == device and entry.on_behalf_of == "Device/triage-service"
    assert notices(app) == []


def test_a_failing_push_service_is_retried_with_backoff_and_given_up_when_the_message_expires(
        app: Flask, loopback: Settings, clock: FrozenClock, push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock, ttl_seconds=100)
    push_service.status = 500

    assert send(app, loopback, clock).failed == 1
    [notice] = notices(app)
    assert (notice.attempts, notice.next_attempt_at, notice.abandoned_at) == (1, clock.now + timedelta(seconds=15),
                                                                              None)
    assert notice.last_error == "push service answered 500"
    assert send(app, loopback, clock).failed == 0  # not before its retry time
    clock.advance(seconds=15)
    assert send(app, loopback, clock).failed == 1  # next try after 30 s
    clock.advance(seconds=30)
    assert send(app, loopback, clock).failed == 1  # the next try would be after 60 s: past the expiry
    [notice] = notices(app)
    assert (notice.attempts, notice.abandoned_at, notice.sent_at) == (3, clock.now, None)
    assert len(push_service.received) == 3
    with session_scope(app) as session:
        assert session.scalars(select(PushSubscription.failures)).one() == 3  # the device stays


def test_a_push_service_that_recovers_gets_the_message_on_the_retry(app: Flask, loopback: Settings,
                                                                    clock: FrozenClock,
                                                                    push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock)
    push_service.answers = [503]
    assert send(app, loopback, clock).failed == 1
    clock.advance(seconds=15)
    assert send(app, loopback, clock).sent == 1
    with session_scope(app) as session:
        assert session.scalars(select(PushSubscription.failures)).one() == 0


def test_a_message_not_sent_before_it_expires_is_dropped_unsent(app: Flask, loopback: Settings, clock: FrozenClock,
                                                                push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock, ttl_seconds=60)
    clock.advance(minutes=2)  # no worker ran in time
    assert send(app, loopback, clock).abandoned == 1
    assert push_service.received == []
    [notice] = notices(app)
    assert notice.last_error == "expired before it could be sent"


def test_no_push_service_answering_is_a_failure_that_does_not_name_the_endpoint(
        app: Flask, loopback: Settings, clock: FrozenClock, push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), "http://127.0.0.1:9/push/secret-capability")  # nothing listens on port 9
    queue(app, clock)
    assert send(app, loopback, clock).failed == 1
    [notice] = notices(app)
    assert notice.last_error is not None and "secret-capability" not in notice.last_error
    assert notice.last_error.startswith("no answer from the push service")


def test_a_redirect_from_the_push_service_is_not_followed(app: Flask, loopback: Settings, clock: FrozenClock,
                                                           push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock)
    push_service.status = 307
    assert send(app, loopback, clock).failed == 1
    assert len(push_service.received) == 1
    assert "TooManyRedirects" in (notices(app)[0].last_error or "")


def test_a_loopback_endpoint_is_not_sent_to_once_the_setting_is_off(
        app: Flask, loopback: Settings, settings: Settings, clock: FrozenClock, push_service: PushService) -> None:
    turn_on(app, loopback, Browser(), push_service.endpoint())
    queue(app, clock)
    run = send(app, settings, clock)  # TRIAGE_PUSH_ALLOW_LOOPBACK off
    assert (run.sent, run.removed) == (0, 1)
    assert push_service.received == []


def test_the_transport_is_called_as_pywebpush_webpush_is(app: Flask, loopback: Settings, clock: FrozenClock) -> None:
    calls: list[dict[str, Any]] = []
    turn_on(app, loopback, Browser(), "https://updates.push.services.mozilla.com/wpush/v2/abc")
    queue(app, clock)
    send(app, loopback, clock, transport=lambda **kwargs: calls.append(kwargs))
    [call] = calls
    assert call["subscription_info"]["endpoint"] == "https://updates.push.services.mozilla.com/wpush/v2/abc"
    assert isinstance(call["requests_session"], requests.Session) and call["requests_session"].max_redirects == 0
    assert call["ttl"] == 300 and call["content_encoding"] == "aes128gcm"
    claims = verified_claims(call["headers"]["Authorization"], push.vapid_public_key(loopback))
    assert claims["aud"] == "https://updates.push.services.mozilla.com"
