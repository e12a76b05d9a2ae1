"""Worker claims on outbox rows (a subscription's webhook queue, an e-mail notice, a push message): one rule.

A claim is a random token of the worker's own (``claimed_by``) and an expiry (``claimed_until``, now plus
``notification_claim_seconds``). A worker takes a row only when no live claim is on it (SKIP LOCKED on
PostgreSQL, so two workers never take the same row; SQLite's write lock does the same), renews its claim
before every send, and releases or renews only a claim that still carries its token: once its claim has run
out another worker may hold the row, and clearing or extending that claim would let a third one in.
So whoever holds the claim is the only one sending, whatever a pass or a send takes, as long as one send
fits in one claim (settings.py requires at least three timeouts: connect, send, answer).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, update
from sqlalchemy.orm import Session

from triage_service.models import EmailNotice, PushNotice, Subscription
from triage_service.settings import Settings

#: The rows workers claim; each has ``id``, ``claimed_by`` (String(32)) and ``claimed_until``.
Claimed = type[Subscription] | type[EmailNotice] | type[PushNotice]


def new_owner() -> str:
    """A worker pass's token: 128 random bits in 32 hex digits, so no two workers ever share one."""
    return secrets.token_hex(16)


def _until(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(seconds=settings.notification_claim_seconds)


def unclaimed(model: Claimed, now: datetime) -> ColumnElement[bool]:
    """Nobody holds the row: never claimed, released, or the claim ran out (its worker died or stalled)."""
    return or_(model.claimed_until.is_(None), model.claimed_until < now)


def take(session: Session, model: Claimed, candidates: Select[Any], settings: Settings, owner: str,
         now: datetime) -> str | None:
    """Claim the first row of ``candidates`` (a select of ids, ordered) that nobody holds; its id, or None.

    Call it in a transaction of its own and commit at once: the claim, not a lock, keeps others off the row
    while it is being sent.
    """
    row_id: str | None = session.scalar(candidates.where(unclaimed(model, now)).limit(1)
                                        .with_for_update(skip_locked=True))
    if row_id is not None:
        session.execute(update(model).where(model.id == row_id)
                        .values(claimed_by=owner, claimed_until=_until(settings, now)),
                        execution_options={"synchronize_session": False})
    return row_id


def renew(session: Session, model: Claimed, row_id: str, settings: Settings, owner: str, now: datetime,
          *also: ColumnElement[bool]) -> bool:
    """Extend this worker's live claim; False when it is no longer ours (it ran out, and perhaps another
    worker holds the row now) or the row no longer meets ``also`` (stopped, deleted, sent)."""
    renewed = session.execute(
        update(model).where(model.id == row_id, model.claimed_by == owner, model.claimed_until >= now, *also)
        .values(claimed_until=_until(settings, now)).returning(model.id),
        execution_options={"synchronize_session": False}).scalar_one_or_none()
    return renewed is not None


def release(session: Session, model: Claimed, row_id: str, owner: str) -> None:
    """Clear the claim if it is still this worker's; someone else's is left alone."""
    session.execute(update(model).where(model.id == row_id, model.claimed_by == owner)
                    .values(claimed_by=None, claimed_until=None), execution_options={"synchronize_session": False})
