"""Delivering queued notifications to the GP systems' endpoints (run by ``triage-service worker``).

- Each event is POSTed once, with any number of workers. A worker *claims* one subscription at a time
  (``claims.py``: a token of its own and an expiry, ``notification_claim_seconds``), and renews the claim
  before every POST. So a pass may last longer than
  a claim (a slow receiver, a long queue) without another worker taking the subscription over; a worker
  that finds its claim gone stops there, and a worker releases only a claim that carries its own token.
  Each delivered notification is marked in its own commit, so a worker that stops half-way does not resend
  what already arrived.
- The signature's timestamp (and the Bundle's) is read just before the POST, not at the start of the pass:
  a receiver's replay window (300 s) holds however long the pass takes.
- Notifications of one subscription go out in event order; the first failure stops the
  run for that subscription and schedules a retry with exponential backoff. After
  ``notification_max_failures`` failures in a row the subscription is set to ``error``
  (R4 ``Subscription.error`` says why); its events keep being queued, and once the GP
  system sets it back to ``requested`` everything owed is delivered.
- A back-referral's Task (issue 23) is announced as a consult's is: the same Bundle, event numbers, retries
  and signature; only the focus names ``Task/terugverwijzing-...``, the id the GP system reads it by.
- Delivery is at least once: if the worker dies between the receiver's 2xx and its own
  commit, that one notification is sent again after the claim ends. The Bundle id and
  event number let a receiver recognise it. (So it would if a worker stalled, e.g. a suspended machine,
  for longer than a whole claim in the middle of one POST; that is logged when the worker wakes.)
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from triage_service.clock import Clock
from triage_service.encryption.envelope import KeyRing
from triage_service.fhir.back_referrals import PREFIX as BACK_REFERRAL_PREFIX
from triage_service.fhir.mapping import instant
from triage_service.models import BackReferral, Notification, Subscription, SubscriptionStatus
from triage_service.notifications import claims
from triage_service.notifications.signature import HEADER, sign
from triage_service.notifications.subscriptions import BACKPORT_NOTIFICATION, BACKPORT_STATUS, TOPIC, open_secrets
from triage_service.settings import Settings

#: Notifications sent per subscription per pass (the rest follow in the next pass).
BATCH = 50
#: Subscriptions one pass takes on, one after another (the rest wait for the next pass).
SUBSCRIPTIONS_PER_PASS = 100
MAX_BACKOFF = timedelta(hours=1)

#: (url, body, headers, timeout seconds) -> HTTP status; raises OSError when nothing answers.
Transport = Callable[[str, bytes, dict[str, str], float], int]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would send a signed notification somewhere the GP system never registered.
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())
logger = logging.getLogger(__name__)


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


def deliver_due(factory: sessionmaker[Session], settings: Settings, ring: KeyRing, clock: Clock,
                transport: Transport = http_post) -> DeliveryRun:
    """One pass: claim a due subscription, deliver what it is owed, release it, claim the next.

    ``clock`` is read at every step (claim, renewal, signature, outcome), not once: a pass can take minutes.
    """
    run = DeliveryRun()
    owner = claims.new_owner()  # this pass's claims
    _stop_ended(factory, clock())
    taken: list[str] = []
    while len(taken) < SUBSCRIPTIONS_PER_PASS:
        subscription_id = _claim_next(factory, settings, owner, clock(), taken)
        if subscription_id is None:
            break
        taken.append(subscription_id)  # once per pass: what is left of its queue waits for the next pass
        try:
            _deliver(factory, settings, ring, subscription_id, owner, clock, transport, run)
        finally:
            with factory() as session, session.begin():
                claims.release(session, Subscription, subscription_id, owner)
    return run


def _stop_ended(factory: sessionmaker[Session], now: datetime) -> None:
    # Subscriptions past their end stop (R4: the server sets them off).
    with factory() as session, session.begin():
        session.execute(update(Subscription).where(Subscription.end_at <= now, Subscription.status.in_(
            (SubscriptionStatus.ACTIVE, SubscriptionStatus.ERROR))).values(status=SubscriptionStatus.OFF))


def _claim_next(factory: sessionmaker[Session], settings: Settings, owner: str, now: datetime,
                taken: list[str]) -> str | None:
    pending = exists().where(Notification.subscription_id == Subscription.id, Notification.delivered_at.is_(None))
    query = select(Subscription.id).where(
        Subscription.status == SubscriptionStatus.ACTIVE, pending,
        or_(Subscription.next_attempt_at.is_(None), Subscription.next_attempt_at <= now))
    if taken:
        query = query.where(Subscription.id.not_in(taken))
    with factory() as session, session.begin():
        return claims.take(session, Subscription, query.order_by(Subscription.next_attempt_at, Subscription.id),
                           settings, owner, now)


def _deliver(factory: sessionmaker[Session], settings: Settings, ring: KeyRing, subscription_id: str, owner: str,
             clock: Clock, transport: Transport, run: DeliveryRun) -> None:
    for _ in range(BATCH):
        # The claim is renewed and the next event read in a short transaction; none is open during the POST
        # (a receiver taking its time must not hold a connection or a lock the API needs).
        with factory() as session, session.begin():
            # False when the claim ran out (another worker may hold it) or the subscription stopped meanwhile.
            if not claims.renew(session, Subscription, subscription_id, settings, owner, clock(),
                                Subscription.status == SubscriptionStatus.ACTIVE):
                return
            subscription = session.get(Subscription, subscription_id)
            notification = session.scalars(select(Notification).where(
                Notification.subscription_id == subscription_id, Notification.delivered_at.is_(None))
                .order_by(Notification.event_number).limit(1)).first()
            if subscription is None or notification is None:
                return
            secret, extra_headers = open_secrets(ring, subscription)
            task_id = focus_task_id(session, notification)
        sent_at = clock()  # the moment of sending, for the signature a receiver checks against its own clock
        body = notification_body(subscription, notification, sent_at, task_id) \
            if subscription.payload_content == "id-only" else b""
        headers = {**extra_headers, "Content-Type": "application/fhir+json; charset=utf-8",
                   HEADER: sign(secret, body, int(sent_at.timestamp())),
                   "X-Triage-Subscription": subscription.id,
                   "X-Triage-Event-Number": str(notification.event_number)}
        failure = _send(transport, subscription.endpoint, body, headers, settings)
        if not _record(factory, settings, notification.id, owner, failure, clock(), run):
            return


def _record(factory: sessionmaker[Session], settings: Settings, notification_id: str, owner: str,
            failure: str | None, now: datetime, run: DeliveryRun) -> bool:
    """Write a delivery's outcome in its own commit; True when the next notification may follow."""
    with factory() as session, session.begin():
        notification = session.get(Notification, notification_id)
        if notification is None:  # the subscription was deleted meanwhile, with what it was owed
            return False
        # Locked: the GP system may change the subscription's status at the same moment.
        subscription = session.get(Subscription, notification.subscription_id, with_for_update=True)
        if subscription is None:
            return False
        if subscription.claimed_by != owner:
            # Our claim ran out during this one POST (a stall longer than the claim) and another worker may
            # have sent the event as well: the receiver sees its event number twice.
            logger.warning("the claim on subscription %s ran out while event %d was being delivered; it may "
                           "arrive twice", subscription.id, notification.event_number)
        notification.attempts += 1
        if failure is None:
            if notification.delivered_at is None:
                notification.delivered_at = now
                run.delivered += 1
            notification.last_error = None
            subscription.failures = 0
            subscription.next_attempt_at = None
            return True
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
            subscription.next_attempt_at = now + backoff(subscription.failures, settings.notification_retry_seconds)
        return False


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


def focus_task_id(session: Session, notification: Notification) -> str:
    """The logical id of the Task the event is about: a consult Task's id, or a back-referral's Task id with
    its prefix (fhir/back_referrals.py). Only that id is read: the worker never decrypts the back-referral."""
    if notification.back_referral_id is None:
        assert notification.task_id is not None  # the table's CHECK: exactly one of the two
        return notification.task_id
    own_id = session.scalar(select(BackReferral.task_id).where(BackReferral.id == notification.back_referral_id))
    assert own_id is not None  # the foreign key: its events go with the back-referral
    return BACK_REFERRAL_PREFIX + own_id


def notification_body(subscription: Subscription, notification: Notification, now: datetime,
                      task_id: str) -> bytes:
    """An id-only notification Bundle (Subscriptions R5 Backport IG, R4 form): what changed, not its content.

    The GP system reads the Task with its own token; patient data never travels in the push. ``task_id`` is
    the Task's logical id (``focus_task_id``).
    """
    base = subscription.server_base
    task_url = f"{base}/Task/{task_id}"
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
             "request": {"method": "PUT", "url": f"Task/{task_id}"},
             "response": {"status": "200", "etag": f'W/"{notification.task_version}"'}},
        ],
    }
    return json.dumps(bundle, separators=(",", ":")).encode()
