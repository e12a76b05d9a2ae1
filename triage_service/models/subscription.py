"""Subscriptions of GP systems to their Tasks, and the outbox of notifications owed to them.

A notification row is written in the same transaction as the Task change it reports
(the transactional outbox): a change that rolls back announces nothing, and a change
that commits is never lost, even if the receiver is down for a day.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base, uuid_pk


class SubscriptionStatus(enum.StrEnum):
    """FHIR R4 subscription-status."""

    REQUESTED = "requested"
    ACTIVE = "active"
    ERROR = "error"
    OFF = "off"


class Subscription(Base):
    """An R4 rest-hook Subscription on the Tasks of one organisation."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_org_status", "organisation_id", "status"),)

    id: Mapped[str] = uuid_pk()
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    client_pk: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        Enum(SubscriptionStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    #: The R4 criteria as given (``Task?status=completed``); parsed again when a Task changes.
    criteria: Mapped[str] = mapped_column(String(1000))
    reason: Mapped[str] = mapped_column(Text)
    endpoint: Mapped[str] = mapped_column(String(2000))
    #: "id-only" (a notification Bundle naming the Task) or "empty" (R4: no channel.payload).
    payload_content: Mapped[str] = mapped_column(String(16))
    end_at: Mapped[datetime | None]
    #: The FHIR base URL the subscriber used: notifications name resources under it (the worker has no request).
    server_base: Mapped[str] = mapped_column(String(500))
    #: The signing secret and the receiver's own headers (often credentials), as one JSON
    #: document encrypted under the key ring: a database dump reveals neither.
    secrets_kek_id: Mapped[str] = mapped_column(String(64))
    secrets_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    #: Header names only, for showing the subscription back without its credentials.
    header_names: Mapped[list[Any]]
    #: Why the subscription is in error (R4 ``Subscription.error``).
    error: Mapped[str | None] = mapped_column(Text)
    #: Consecutive failed deliveries; backoff grows with it, and at the limit the status becomes error.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    #: The worker delivering this subscription's notifications (a random token per pass) and until when
    #: its claim holds; renewed before every POST, released only by the worker whose token it is.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    #: Notification events created so far: the backport IG's events-since-subscription-start.
    events_since_start: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class Notification(Base):
    """One event owed to one subscription: the Task (by id and version) that changed.

    That Task is a consult's (``task_id``) or a back-referral's (``back_referral_id``, issue 23; the Task's
    logical id is the back-referral's ``task_id`` with its prefix): exactly one of the two is set. Two foreign
    keys rather than one plain Task id, so neither kind of row can be removed while an event still names it
    unnoticed, and the worker reads which kind it is from the row itself (migration 0041).
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_number"),
        Index("ix_notification_outbox_pending", "subscription_id", "delivered_at", "event_number"),
        CheckConstraint("(task_id IS NULL) <> (back_referral_id IS NULL)", name="one_task"),
    )

    id: Mapped[str] = uuid_pk()
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    event_number: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("consult_tasks.id"), index=True)
    #: A back-referral's Task changed; its events go when the back-referral goes.
    back_referral_id: Mapped[str | None] = mapped_column(ForeignKey("back_referrals.id", ondelete="CASCADE"),
                                                         index=True)
    #: The Task's version the event is about (a consult Task's or a back-referral's ``version_id``).
    task_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
