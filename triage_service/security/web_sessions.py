"""Server-side inbox sessions: started at login, checked on every request, ended at logout, after idling,
at the end of their lifetime however active (``TRIAGE_SESSION_MAX_HOURS``), and whenever the user's password or
second factor changes.

The signed cookie keeps only a random id (``sid``); whether that session is still on is decided here,
from the database (models/web_session.py), so an ended session is ended on every worker and instance.
``security/policy.py`` calls ``resume_session`` for every session-authenticated request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.models import AuditAction, AuditOutcome, User, WebSession

#: last_seen_at is written at most this often: every page view writing a row would only add load, and
#: the idle limit (minutes) does not need second precision.
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, user_id: str, now: datetime, idle: timedelta) -> str:
    """A new session for a user who has just passed both factors; returns the id for the cookie."""
    # Sessions of this user that are over serve nothing any more (the audit trail has the logins and
    # logouts): removing them here keeps the table at a few rows per user without a cleaning job. One past its
    # lifetime but not idle is kept until it is refused (and that refusal audited) or idles.
    db.execute(delete(WebSession).where(WebSession.user_id == user_id,
                                        or_(WebSession.ended_at.is_not(None), WebSession.last_seen_at < now - idle)))
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen_at=now))
    return token


def resume_session(db: Session, token: str, now: datetime, idle: timedelta,
                   lifetime: timedelta) -> WebSession | None:
    """The session a cookie's id names (None when unknown). It is on only while ``ended_at`` is None;
    a session idle for longer than ``idle``, or begun longer than ``lifetime`` ago, is ended here."""
    found = db.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if found is None or found.ended_at is not None:
        return found
    if now - found.last_seen_at > idle:
        found.ended_at, found.end_reason = now, "idle"
    elif now - found.created_at > lifetime:
        found.ended_at, found.end_reason = now, "lifetime"
    elif now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
    return found


def end_session(db: Session, token: object, now: datetime, reason: str) -> None:
    """End the session a cookie names (logout, or a new login in the same browser)."""
    if isinstance(token, str):
        db.execute(update(WebSession).where(WebSession.token_hash == _hash(token), WebSession.ended_at.is_(None))
                   .values(ended_at=now, end_reason=reason))


def end_user_sessions(db: Session, user_id: str, now: datetime, reason: str) -> int:
    """End every session of a user, on every device (a new password or second factor: whoever had the
    old one may have a session too). Returns how many were on."""
    result = db.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                        .values(ended_at=now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def audit_refused(db: Session, ended: WebSession, source_ip: str | None, now: datetime) -> None:
    """A cookie of a session that is over came back: a second tab after logout, or a copied cookie."""
    user = db.get(User, ended.user_id)
    actor = Actor(kind="user", id=user.username if user else None,
                  organisation_id=user.organisation_id if user else None, source_ip=source_ip)
    record(db, actor, event="web.session.refused", action=AuditAction.EXECUTE, outcome=AuditOutcome.MINOR_FAILURE,
           detail=f"ended={ended.end_reason}", at=now)
