"""Web Push to inbox users' devices: the browsers' subscriptions, and the push messages queued for them.

A browser that turns notifications on hands us its PushSubscription (``PushManager.subscribe``, W3C Push API):
an endpoint URL at its push service and the keys the message is encrypted for (RFC 8291). The endpoint is a URL
a user makes the server POST to, so it is checked like any other (https, a push service's name, port 443; never
an address on our own network) before it is stored, and again before each message is sent
(``push_delivery.py``). The same endpoint subscribing again replaces its row: one browser, one row.

A message (``PushPayload``) says *that* there is work and where to look, never about whom: a title, a line, a
relative link into the inbox (which needs a login) and a tag, as the e-mail notices. It is queued in the
caller's transaction, one ``PushNotice`` per device (the outbox, ARCHITECTURE.md principle 4), and sent by the
worker; it expires when the next alert is due, so an undeliverable one is dropped rather than stacked.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from py_vapid import Vapid
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import N_, InvalidInput
from triage_service.models import AuditAction, PushNotice, PushSubscription
from triage_service.settings import Settings

#: Real endpoints (FCM, Mozilla, Apple, Microsoft) are 150 to 400 characters; this leaves room, not a payload.
MAX_ENDPOINT = 1024
#: Devices one user may have with notifications on; the oldest makes way (phones get replaced, not logged out).
MAX_DEVICES = 10
MAX_DEVICE_NAME = 120
#: RFC 8291: the browser's key is an uncompressed P-256 point (65 bytes), its auth secret 16 bytes.
P256DH_BYTES, AUTH_BYTES = 65, 16
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
#: A host name of labels with a letter in its last one: numeric forms such as 2130706433 or 0x7f.1, which
#: resolvers read as IP addresses, are not names.
_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})")
_TAG = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class BadSubscription(InvalidInput):
    """The browser's subscription cannot be used; ``message`` says why (marked for translation)."""


@dataclass(frozen=True)
class PushPayload:
    """What a notification shows. Never patient data: the lock screen shows it to whoever is near."""

    title: str
    body: str
    #: A path in this service ("/consults/<id>"): the click opens it, after a login if need be.
    url: str
    #: Notifications with the same tag replace each other (a repeated alert is one notification, ringing again).
    tag: str
    #: Stays on screen until touched (call-outs); off for anything that may wait.
    urgent: bool = True

    def to_json(self) -> str:
        if not 0 < len(self.title) <= 120 or len(self.body) > 300:
            raise ValueError("a push title has 1 to 120 characters and a body at most 300")
        if not self.url.startswith("/") or self.url.startswith("//") or "\\" in self.url or len(self.url) > 300:
            raise ValueError("a push link is a path in this service, such as /consults/<id>")
        if not _TAG.fullmatch(self.tag):
            raise ValueError("a push tag has 1 to 64 letters, digits or . _ : -")
        return json.dumps({"title": self.title, "body": self.body, "url": self.url, "tag": self.tag,
                           "urgent": self.urgent}, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Device:
    """A device with notifications on, as the settings page lists it."""

    id: str
    name: str
    since: datetime
    last_success_at: datetime | None


def vapid_public_key(settings: Settings) -> str:
    """The server's public key as the browser's ``applicationServerKey`` takes it: the uncompressed P-256 point
    in base64url. A device subscribed under another key gets nothing once the key changes."""
    numbers = Vapid.from_raw(settings.vapid_private_key.encode()).public_key.public_numbers()
    point = b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode("ascii")


def check_endpoint(endpoint: str, settings: Settings) -> str:
    """The endpoint if a push service may have it; raises BadSubscription with the reason otherwise.

    Refused: anything but https on port 443, credentials in the URL, IP addresses that are not public, and
    names that are not a public DNS name (localhost, single labels, numeric forms). With
    ``push_allow_loopback`` (tests and development) http://127.0.0.1:<port> is admitted as well.
    """
    if len(endpoint) > MAX_ENDPOINT:
        raise BadSubscription(N_("The push address is too long (at most 1024 characters)."))
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise BadSubscription(N_("The push address is not a valid web address.")) from exc
    host = (parts.hostname or "").lower()
    if settings.push_allow_loopback and parts.scheme in ("http", "https") and host == "127.0.0.1" and \
            not parts.username and not parts.password:
        return endpoint
    if parts.scheme != "https":
        raise BadSubscription(N_("The push address must start with https://."))
    if parts.username is not None or parts.password is not None or not host:
        raise BadSubscription(N_("The push address is not a valid web address."))
    if port not in (None, 443):
        raise BadSubscription(N_("The push address must use the standard https port."))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_NAME.fullmatch(host) or host.endswith((".localhost", ".local", ".internal", ".arpa")):
            raise BadSubscription(N_("The push address must name a push service on the internet.")) from None
        return endpoint
    if not address.is_global:
        raise BadSubscription(N_("The push address points to a private or local network address."))
    return endpoint


def _key(keys: Mapping[object, object], name: str, size: int, message: str) -> str:
    value = keys.get(name)
    if not isinstance(value, str) or len(value) > 2 * size or not _BASE64URL.fullmatch(value):
        raise BadSubscription(message)
    try:
        raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSubscription(message) from exc
    if len(raw) != size:
        raise BadSubscription(message)
    return value.rstrip("=")


def parse_subscription(subscription: object, settings: Settings) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) of the browser's ``PushSubscription.toJSON()``; raises BadSubscription."""
    if not isinstance(subscription, Mapping):
        raise BadSubscription(N_("Send the browser's push subscription as a JSON object."))
    endpoint = subscription.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise BadSubscription(N_("The push subscription has no address (endpoint)."))
    check_endpoint(endpoint, settings)
    keys = subscription.get("keys")
    if not isinstance(keys, Mapping):
        raise BadSubscription(N_("The push subscription has no keys (p256dh and auth)."))
    p256dh = _key(keys, "p256dh", P256DH_BYTES,
                  N_("The push subscription's key p256dh is not a P-256 public key in base64url."))
    auth = _key(keys, "auth", AUTH_BYTES, N_("The push subscription's key auth is not 16 bytes in base64url."))
    try:  # on the curve: a point that is not cannot be encrypted for, and would fail at every alert
        Vapid.from_raw_public(p256dh.encode())
    except ValueError as exc:
        raise BadSubscription(N_("The push subscription's key p256dh is not a P-256 public key in base64url.")) \
            from exc
    return endpoint, p256dh, auth


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def subscribe(session: Session, user_id: str, subscription: object, device: str, now: datetime, *,
              settings: Settings, actor: Actor) -> PushSubscription:
    """Store (or replace) the browser's subscription for ``user_id``; raises BadSubscription, storing nothing.

    The same endpoint subscribed by another user moves to this one: a browser has one subscription, and its
    alerts go to whoever turned notifications on there last.
    """
    endpoint, p256dh, auth = parse_subscription(subscription, settings)
    digest = endpoint_hash(endpoint)
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    replaced = row is not None
    if row is None:
        row = PushSubscription(endpoint_hash=digest, endpoint=endpoint)
        session.add(row)
    elif row.user_id != user_id:
        # Alerts queued for the previous user stay theirs: they are not sent to the new one.
        session.execute(delete(PushNotice).where(PushNotice.subscription_id == row.id))
    row.user_id, row.p256dh, row.auth = user_id, p256dh, auth
    row.device = " ".join(device.split())[:MAX_DEVICE_NAME]
    row.created_at, row.failures = now, 0
    session.flush()
    _keep_newest(session, user_id)
    record(session, actor, event="web.push.subscribe", action=AuditAction.CREATE if not replaced
           else AuditAction.UPDATE, resource_type="PushSubscription", resource_id=row.id,
           detail=f"device={row.device}", at=now)
    return row


def _keep_newest(session: Session, user_id: str) -> None:
    stale = list(session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == user_id)
                                 .order_by(PushSubscription.created_at.desc(), PushSubscription.id)
                                 .offset(MAX_DEVICES)))
    if stale:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(stale)))


def unsubscribe(session: Session, user_id: str, subscription_id: str, now: datetime, *, actor: Actor) -> bool:
    """Turn one of the user's devices off (its queued messages go with it); False when it was not theirs or
    is already off (the answer does not tell the two apart)."""
    row = session.scalar(select(PushSubscription).where(PushSubscription.id == subscription_id,
                                                        PushSubscription.user_id == user_id))
    if row is None:
        return False
    session.execute(delete(PushNotice).where(PushNotice.subscription_id == row.id))
    session.delete(row)
    record(session, actor, event="web.push.unsubscribe", action=AuditAction.DELETE,
           resource_type="PushSubscription", resource_id=subscription_id, detail=f"device={row.device}", at=now)
    return True


def devices(session: Session, user_id: str) -> list[Device]:
    rows = session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id)
                           .order_by(PushSubscription.created_at, PushSubscription.id))
    return [Device(r.id, r.device, r.created_at, r.last_success_at) for r in rows]


def users_with_push(session: Session, user_ids: Iterable[str]) -> set[str]:
    """Those of ``user_ids`` with at least one device that gets notifications."""
    wanted = list(set(user_ids))
    if not wanted:
        return set()
    return set(session.scalars(select(PushSubscription.user_id).where(PushSubscription.user_id.in_(wanted))
                               .group_by(PushSubscription.user_id)))


def has_push(session: Session, user_id: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(PushSubscription)
                               .where(PushSubscription.user_id == user_id)))


def queue_push(session: Session, user_ids: Iterable[str], payload: PushPayload, now: datetime,
               ttl_seconds: int) -> int:
    """One message per device of each user, sent by the worker until ``now + ttl_seconds`` (then dropped);
    returns how many. Written in the caller's transaction: nothing is sent for work that was rolled back."""
    if ttl_seconds < 1:
        raise ValueError("a push message needs a time to live of at least a second")
    body = payload.to_json()
    wanted = list(set(user_ids))
    if not wanted:
        return 0
    subscriptions = session.scalars(select(PushSubscription.id).where(PushSubscription.user_id.in_(wanted))
                                    .order_by(PushSubscription.id)).all()
    expires = now + timedelta(seconds=ttl_seconds)
    for subscription_id in subscriptions:
        session.add(PushNotice(subscription_id=subscription_id, payload=body, created_at=now, expires_at=expires,
                               attempts=0))
    return len(subscriptions)
