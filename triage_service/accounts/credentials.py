"""A new password or a new second factor for an inbox account (an operator's task, from the CLI).

Either change ends every session of the account at once (security/web_sessions.py): a new password is
set because the old one may be known to someone else, who may be logged in with it already.
"""

from __future__ import annotations

from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import InvalidInput, NotFound
from triage_service.models import AuditAction, User
from triage_service.security.passwords import hash_password
from triage_service.security.web_sessions import end_user_sessions

MIN_PASSWORD = 12


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named {username}")
    return user


def set_password(session: Session, actor: Actor, username: str, password: str, now: datetime) -> User:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"A password needs at least {MIN_PASSWORD} characters")
    user = _user(session, username)
    user.password_hash = hash_password(password)
    ended = end_user_sessions(session, user.id, now, "password")
    record(session, actor, event="user.password", action=AuditAction.UPDATE, resource_type="User",
           resource_id=user.username, detail=f"sessions ended={ended}", at=now)
    return user


def reset_totp(session: Session, actor: Actor, username: str, now: datetime) -> User:
    """A new TOTP secret (a lost or copied authenticator); the user enrols it from the printed URI."""
    user = _user(session, username)
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None  # steps of the old secret say nothing about the new one
    ended = end_user_sessions(session, user.id, now, "totp")
    record(session, actor, event="user.totp", action=AuditAction.UPDATE, resource_type="User",
           resource_id=user.username, detail=f"sessions ended={ended}", at=now)
    return user
