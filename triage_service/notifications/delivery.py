"""Delivering queued notifications to the GP systems' endpoints (run by ``triage-service worker``).

- A subscription is *claimed* (a lease, taken with SKIP LOCKED on PostgreSQL and under
  SQLite's write lock) before its notifications are sent, so two workers never send the
  same one; each delivered notification is marked in its own commit, so a worker that
  stops half-way does not resend what already arrived.
- Notifications of one subscription go out in event order; the first failure stops the
  run for that subscription and schedules a retry with exponential backoff. After
  ``notification_max_failures`` failures in a row the subscription is set to ``error``
  (R4 ``Subscription.error`` says why); its events keep being queued, and once the GP
  system sets it back to ``requested`` everything owed is delivered.
- Delivery is at least once: if the worker dies between the receiver's 2xx and its own
  commit, that one notification is sent again after the lease ends. The Bundle id and
  event number let a receiver recognise it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from triage_service.fhir.mapping import instant
from triage_service.models import Notification, Subscription, SubscriptionStatus
from triage_service.notifications.signature import HEADER, sign
from triage_service.security.crypto import KeyRing
from triage_service.services.subscriptions import BACKPORT_NOTIFICATION, BACKPORT_STATUS, TOPIC, open_secrets
from triage_service.settings import Settings

#: How long a claim on a subscription holds; longer than a batch of timed-out POSTs takes.
LEASE = timedelta(minutes=5)
#: Notifications sent per subscription per pass (the rest follow in the next pass).
BATCH = 50
MAX_BACKOFF = timedelta(hours=1)

#: (url, body, headers, timeout seconds) -> HTTP status; raises OSError when nothing answers.
Transport = Callable[[str, bytes, dict[str, str], float], int]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would send a signed notification somewhere the GP system never registered.
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    if not url.startswith(("https://", "http://")):  # checked at subscribe time; never file: or ftp:
        raise ValueError("only http(s) endpoints are called")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as refused:
        return refused.code


@dataclass
class DeliveryRun:
    delivered: int = 0
    failed: int = 0
    errored: int = 0


def backoff(failures: int, base_seconds: int) -> timedelta:
    """10 s, 20 s, 40 s ... (with the default base), never more than an hour."""
    return min(timedelta(seconds=base_seconds * 2 ** max(failures - 1, 0)), MAX_BACKOFF)


def deliver_due(factory: sessionmaker[Session], settings: Settings, ring: KeyRing, now: datetime,
                transport: Transport = http_post) -> DeliveryRun:
    run = DeliveryRun()
    for subscription_id in _claim(factory, now):
        _deliver(factory, settings, ring, subscription_id, now, transport, run)
    return run


def _claim(factory: sessionmaker[Session], now: datetime) -> list[str]:
    with factory() as session, session.begin():
        # Subscriptions past their end stop (R4: the server sets them off).
        session.execute(update(Subscription).where(Subscription.end_at <= now, Subscription.status.in_(
            (SubscriptionStatus.ACTIVE, SubscriptionStatus.ERROR))).values(status=SubscriptionStatus.OFF))
        pending = exists().where(Notification.subscription_id == Subscription.id, Notification.delivered_at.is_(None))
        ids = list(session.scalars(
            select(Subscription.id).where(
                Subscription.status == SubscriptionStatus.ACTIVE, pending,
                or_(Subscription.next_attempt_at.is_(None), Subscription.next_attempt_at <= now),
                or_(Subscription.claimed_until.is_(None), Subscription.claimed_until < now))
            .order_by(Subscription.next_attempt_at, Subscription.id).limit(100)
            .with_for_update(skip_locked=True)))
        if ids:
            session.execute(update(Subscription).where(Subscription.id.in_(ids)).values(claimed_until=now + LEASE))
    return ids


def _deliver(factory: sessionmaker[Session], settings: Settings, ring: KeyRing, subscription_id: str,
             now: datetime, transport: Transport, run: DeliveryRun) -> None:
    with factory() as session:
        subscription = session.get(Subscription, subscription_id)
        if subscription is None:
            return
        secret, extra_headers = open_secrets(ring, subscription)
        pending = session.scalars(select(Notification).where(
            Notification.subscription_id == subscription_id, Notification.delivered_at.is_(None))
            .order_by(Notification.event_number).limit(BATCH)).all()
        for notification in pending:
            body = notification_body(subscription, notification, now) \
                if subscription.payload_content == "id-only" else b""
            headers = {**extra_headers, "Content-Type": "application/fhir+json; charset=utf-8",
                       HEADER: sign(secret, body, int(now.timestamp())),
                       "X-Triage-Subscription": subscription.id,
                       "X-Triage-Event-Number": str(notification.event_number)}
            failure = _send(transport, subscription.endpoint, body, headers, settings)
            notification.attempts += 1
            if failure is None:
                notification.delivered_at = now
                notification.last_error = None
                subscription.failures = 0
                subscription.next_attempt_at = None
                run.delivered += 1
                session.commit()
                continue
            notification.last_error = failure
            subscription.failures += 1
            run.failed += 1
            if subscription.failures >= settings.notification_max_failures:
                subscription.status = SubscriptionStatus.ERROR
                subscription.error = (f"{subscription.failures} deliveries failed in a row, the last at "
                                      f"{instant(now)}: {failure}. Repair the endpoint, then update this "
                                      "Subscription with status 'requested' to resume; no event is lost.")
                subscription.version += 1
                subscription.updated_at = now
                run.errored += 1
            else:
                subscription.next_attempt_at = now + backoff(subscription.failures,
                                                             settings.notification_retry_seconds)
            break
        subscription.claimed_until = None
        session.commit()


def _send(transport: Transport, url: str, body: bytes, headers: dict[str, str], settings: Settings) -> str | None:
    """None when the receiver took it (2xx), else why not (no patient data: status or error kind)."""
    try:
        status = transport(url, body, headers, settings.notification_timeout_seconds)
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, TLS failure, malformed URL
        reason = getattr(exc, "reason", None) or exc
        return f"no answer from the endpoint ({type(exc).__name__}: {str(reason)[:200]})"
    if 200 <= status < 300:
        return None
    return f"the endpoint answered HTTP {status}"


def notification_body(subscription: Subscription, notification: Notification, now: datetime) -> bytes:
    """An id-only notification Bundle (Subscriptions R5 Backport IG, R4 form): what changed, not its content.

    The GP system reads the Task with its own token; patient data never travels in the push.
    """
    base = subscription.server_base
    task_url = f"{base}/Task/{notification.task_id}"
    status = {
        "resourceType": "Parameters",
        "id": f"{notification.id}-status",
        "meta": {"profile": [BACKPORT_STATUS]},
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{subscription.id}"}},
            {"name": "topic", "valueCanonical": TOPIC},
            {"name": "status", "valueCode": SubscriptionStatus.ACTIVE.value},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(subscription.events_since_start)},
            {"name": "notification-event", "part": [
                {"name": "event-number", "valueString": str(notification.event_number)},
                {"name": "timestamp", "valueInstant": instant(notification.created_at)},
                # Unversioned: the Task is read as it is now (the service keeps no history to vread);
                # the version the event was about is in the entry's etag.
                {"name": "focus", "valueReference": {"reference": task_url}},
            ]},
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "id": notification.id,
        "meta": {"profile": [BACKPORT_NOTIFICATION]},
        "type": "history",
        "timestamp": instant(now),
        "entry": [
            {"fullUrl": f"urn:uuid:{notification.id}", "resource": status,
             "request": {"method": "GET", "url": f"Subscription/{subscription.id}/$status"},
             "response": {"status": "200"}},
            {"fullUrl": task_url,
             "request": {"method": "PUT", "url": f"Task/{notification.task_id}"},
             "response": {"status": "200", "etag": f'W/"{notification.task_version}"'}},
        ],
    }
    return json.dumps(bundle, separators=(",", ":")).encode()
