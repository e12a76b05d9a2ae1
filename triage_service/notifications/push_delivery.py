"""Sending the push outbox (``push.py`` queues it): encrypted for the browser (RFC 8291, aes128gcm), signed for
the push service with our VAPID key (RFC 8292), through pywebpush.

Claims as the e-mail notices (``claims.py``, ``email.py``): a worker claims one message just before sending it
and records the outcome and releases the claim in one commit, so any number of workers send each message once
(at least once if a worker dies between the push service's acceptance and its commit; the browser shows a
message with the same tag once). No transaction is open while the push service answers.

What the push service says decides what follows (RFC 8030, section 7): 201 sent; 404 or 410 the subscription has
ended (the browser unsubscribed, or the app was removed), so the device is deleted with its messages; anything
else, or no answer, is tried again after 15 s, 30 s, 60 s ... (at most 5 minutes) until the message expires,
then dropped: by then the next alert of a call-out is on its way.

The VAPID token's ``exp`` comes from our clock, not the machine's: pywebpush would put a fresh one from
the machine's wall clock in claims without one, so the claims are signed here and handed over as a header.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from http_ece import ECEException
from py_vapid import Vapid, VapidException
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from triage_service.audit.trail import Actor, record
from triage_service.clock import Clock
from triage_service.models import AuditAction, PushNotice, PushSubscription
from triage_service.notifications import claims
from triage_service.notifications.push import BadSubscription, check_endpoint
from triage_service.settings import Settings

#: Messages one pass sends, one claim each (the rest follow in the next pass).
BATCH = 50
RETRY_FIRST_SECONDS = 15
RETRY_MAX_SECONDS = 300
#: RFC 8292, section 2: at most 24 hours; push services refuse tokens that live longer.
VAPID_LIFETIME = timedelta(hours=12)
#: Sent and dropped messages are kept this long (what was sent when), then removed.
KEEP_DONE = timedelta(days=30)
GONE = frozenset({404, 410})
WORKER_ACTOR = Actor(kind="worker", id="push", organisation_id=None, source_ip="local")
logger = logging.getLogger(__name__)

#: pywebpush.webpush or a stand-in with its keywords: subscription_info, data, headers, ttl, timeout,
#: content_encoding, requests_session. Raises WebPushException (with the response) when the push service
#: answers above 202, requests' exceptions when there is no answer.
PushTransport = Callable[..., Any]


@dataclass
class PushRun:
    sent: int = 0
    failed: int = 0
    abandoned: int = 0
    #: Devices whose subscription the push service said has ended (404, 410): deleted.
    removed: int = 0


@dataclass(frozen=True)
class _Claimed:
    notice_id: str
    subscription_id: str
    endpoint: str
    keys: dict[str, str]
    payload: str
    ttl: int


@dataclass(frozen=True)
class _Outcome:
    sent: bool
    status: int | None = None
    error: str | None = None
    retry_after: int | None = None


def audience(endpoint: str) -> str:
    """The push service's origin (RFC 8292, section 2: the JWT's ``aud``), without a default port."""
    parts = urlsplit(endpoint)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def vapid_headers(settings: Settings, endpoint: str, now: datetime) -> dict[str, str]:
    """``Authorization: vapid t=<ES256 JWT>, k=<our public key>`` for this endpoint's push service."""
    claims_ = {"aud": audience(endpoint), "exp": int((now + VAPID_LIFETIME).timestamp()),
               "sub": settings.vapid_subject}
    signed: dict[str, str] = Vapid.from_raw(settings.vapid_private_key.encode()).sign(claims_)
    return signed


def send_push_due(factory: sessionmaker[Session], settings: Settings, clock: Clock,
                  transport: PushTransport = webpush) -> PushRun:
    """One pass: drop what expired, then claim a due message, send it, record the outcome, claim the next."""
    run = PushRun()
    owner = claims.new_owner()
    run.abandoned += _expire(factory, clock())
    # No redirects: an endpoint was checked where it points, and a redirect could point anywhere.
    with requests.Session() as http:
        http.max_redirects = 0
        for _ in range(BATCH):
            claimed = _claim_next(factory, settings, owner, clock())
            if claimed is None:
                break
            outcome = _send(transport, settings, claimed, http, clock())
            _record(factory, claimed, owner, outcome, clock(), run)
    return run


def _expire(factory: sessionmaker[Session], now: datetime) -> int:
    with factory() as session, session.begin():
        result = session.execute(
            update(PushNotice).where(PushNotice.sent_at.is_(None), PushNotice.abandoned_at.is_(None),
                                     PushNotice.expires_at <= now, claims.unclaimed(PushNotice, now))
            .values(abandoned_at=now, last_error="expired before it could be sent"),
            execution_options={"synchronize_session": False})
        session.execute(delete(PushNotice).where(or_(PushNotice.sent_at < now - KEEP_DONE,
                                                     PushNotice.abandoned_at < now - KEEP_DONE)))
    return int(getattr(result, "rowcount", 0) or 0)


def _claim_next(factory: sessionmaker[Session], settings: Settings, owner: str, now: datetime) -> _Claimed | None:
    due = select(PushNotice.id).where(
        PushNotice.sent_at.is_(None), PushNotice.abandoned_at.is_(None), PushNotice.expires_at > now,
        or_(PushNotice.next_attempt_at.is_(None), PushNotice.next_attempt_at <= now),
    ).order_by(PushNotice.created_at, PushNotice.id)
    with factory() as session, session.begin():
        notice_id = claims.take(session, PushNotice, due, settings, owner, now)
        notice = session.get(PushNotice, notice_id) if notice_id is not None else None
        if notice is None:
            return None
        subscription = session.get(PushSubscription, notice.subscription_id)
        if subscription is None:  # deleted meanwhile; its messages went with it
            return None
        return _Claimed(notice.id, subscription.id, subscription.endpoint,
                        {"p256dh": subscription.p256dh, "auth": subscription.auth}, notice.payload,
                        max(1, int((notice.expires_at - now).total_seconds())))


def _send(transport: PushTransport, settings: Settings, claimed: _Claimed, http: requests.Session,
          now: datetime) -> _Outcome:
    try:
        # Again at sending: the rules (or TRIAGE_PUSH_ALLOW_LOOPBACK) may have changed since it was stored.
        check_endpoint(claimed.endpoint, settings)
    except BadSubscription as refused:
        return _Outcome(False, status=410, error=f"endpoint no longer allowed: {refused.message}")
    try:
        transport(subscription_info={"endpoint": claimed.endpoint, "keys": claimed.keys}, data=claimed.payload,
                  headers={**vapid_headers(settings, claimed.endpoint, now), "Urgency": "high"},
                  ttl=claimed.ttl, timeout=settings.notification_timeout_seconds, content_encoding="aes128gcm",
                  requests_session=http)
    except WebPushException as refused:
        status = refused.status_code
        return _Outcome(False, status=status, error=f"push service answered {status}",
                        retry_after=_seconds(refused.retry_after))
    except requests.RequestException as exc:
        # Not str(exc): it names the endpoint's path, which is a capability to push to this device.
        return _Outcome(False, error=f"no answer from the push service ({type(exc).__name__})")
    except (OSError, ValueError, ECEException, VapidException) as exc:
        return _Outcome(False, error=f"could not send ({type(exc).__name__})")
    return _Outcome(True)


def _seconds(retry_after: str | None) -> int | None:
    """Retry-After in seconds (the HTTP-date form is left to the backoff)."""
    return int(retry_after) if retry_after is not None and retry_after.strip().isdigit() else None


def _record(factory: sessionmaker[Session], claimed: _Claimed, owner: str, outcome: _Outcome, now: datetime,
            run: PushRun) -> None:
    """Write a send's outcome and release the claim in one commit."""
    with factory() as session, session.begin():
        notice = session.get(PushNotice, claimed.notice_id, with_for_update=True)
        subscription = session.get(PushSubscription, claimed.subscription_id)
        if notice is None or subscription is None:  # the device was turned off meanwhile
            return
        if notice.claimed_by != owner:
            logger.warning("the claim on push notice %s ran out while it was being sent; it may arrive twice",
                           notice.id)
        notice.attempts += 1
        if outcome.sent:
            run.sent += 1
            if notice.sent_at is None:
                notice.sent_at, notice.last_error = now, None
            subscription.last_success_at, subscription.failures = now, 0
        elif outcome.status in GONE:
            run.removed += 1
            session.execute(delete(PushNotice).where(PushNotice.subscription_id == subscription.id))
            session.delete(subscription)
            record(session, WORKER_ACTOR, event="push.subscription.gone", action=AuditAction.DELETE,
                   resource_type="PushSubscription", resource_id=subscription.id,
                   detail=f"device={subscription.device}; {outcome.error}", at=now)
            return
        elif notice.sent_at is None:  # else another worker sent it meanwhile: nothing left to retry
            run.failed += 1
            subscription.failures += 1
            notice.last_error = (outcome.error or "failed")[:500]
            delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (notice.attempts - 1))
            if outcome.retry_after is not None:
                delay = max(delay, min(outcome.retry_after, 3600))
            retry_at = now + timedelta(seconds=delay)
            if retry_at >= notice.expires_at:
                notice.abandoned_at = now
                run.abandoned += 1
            else:
                notice.next_attempt_at = retry_at
        claims.release(session, PushNotice, notice.id, owner)
