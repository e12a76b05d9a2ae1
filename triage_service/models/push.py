"""Web Push subscriptions of inbox users' browsers and the push messages owed to them (the push outbox).

A subscription's endpoint is a bearer capability (whoever knows it can push to that browser) and its keys
are the browser's: both are sealed at rest like other secrets. A message's payload never holds patient data
(specialism, urgency, due time and a link that needs a login), like the e-mail notices.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.encryption.columns import EncryptedText
from triage_service.models.base import Base, uuid_pk


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[str] = uuid_pk()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the endpoint: the same browser subscribing again replaces its row instead of adding one.
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(EncryptedText("push_subscriptions.endpoint"))
    #: The browser's P-256 public key and auth secret (base64url), which the payload is encrypted for.
    p256dh: Mapped[str] = mapped_column(EncryptedText("push_subscriptions.p256dh"))
    auth: Mapped[str] = mapped_column(EncryptedText("push_subscriptions.auth"))
    #: Shown in the inbox so a user can tell their devices apart ("Chrome op Android").
    device: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_success_at: Mapped[datetime | None]
    #: Failed deliveries in a row; the push service's 404/410 ends the subscription at once.
    failures: Mapped[int] = mapped_column(Integer, default=0)


class PushNotice(Base):
    """A push message owed to one subscription, sent by the worker (claims as in notifications/claims.py)."""

    __tablename__ = "push_outbox"

    id: Mapped[str] = uuid_pk()
    subscription_id: Mapped[str] = mapped_column(ForeignKey("push_subscriptions.id", ondelete="CASCADE"),
                                                 index=True)
    #: JSON {"title", "body", "url", "tag"}: no patient data by construction.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: An alert is pointless after this (the next repetition is on its way): it is dropped, not retried.
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
