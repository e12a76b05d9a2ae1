"""Inbox login: password (argon2) and a TOTP second factor (NEN 7510 asks for two factors for patient data).

Two steps: the password step only remembers *who* is logging in (for five minutes);
the session is authenticated after the TOTP code. Wrong passwords and wrong codes
both count towards a lockout; a TOTP code is accepted once. Messages never say
whether the username exists. In production the demo's published credentials never log in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.models import (
    PRACTICE_ROLES,
    AuditAction,
    AuditOutcome,
    ExpertiseTeam,
    ExpertiseTeamMember,
    Organisation,
    Practitioner,
    User,
    UserRole,
)
from triage_service.security.demo_credentials import uses_published_credentials
from triage_service.security.passwords import hash_password, verify_password
from triage_service.settings import Settings

PENDING_SECONDS = 300


class LoginRefused(Exception):
    """A login step failed; ``message`` is safe to show (it reveals nothing about the account)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InboxUser:
    """Who is using the inbox, and which owners' consults they may see."""

    id: str
    username: str
    display_name: str
    practitioner_agb: str | None
    organisation_agb: str | None
    language: str
    #: The account's role (models.UserRole value): the policy keeps practice accounts in the portal and
    #: the others in the inbox.
    role: str = "specialist"
    #: The organisation the account acts for (for a GP, their practice): a practice sees only its own.
    organisation_id: str | None = None
    practitioner_id: str | None = None
    #: The AGB codes of the expertise teams the specialist is a member of: their queues are the specialist's
    #: group queues beside their own organisation's (models/team.py).
    team_agbs: tuple[str, ...] = ()

    @property
    def in_practice(self) -> bool:
        return self.role in PRACTICE_ROLES

    @property
    def may_send(self) -> bool:
        """Only a GP sends a consult: the GP asks and stays hoofdbehandelaar; staff prepare."""
        return self.role == UserRole.GP.value

    @property
    def keeps_rota(self) -> bool:
        """A rota maker (roostermaker) keeps their organisation's on-call rota and sees no consults."""
        return self.role == UserRole.ROTA_MAKER.value

    @property
    def sees_rota(self) -> bool:
        """Rota makers edit the on-call rota; specialists see their organisation's, read-only."""
        return self.role in (UserRole.ROTA_MAKER.value, UserRole.SPECIALIST.value)

    @property
    def owner_agbs(self) -> tuple[str, ...]:
        return tuple(a for a in (self.practitioner_agb, self.organisation_agb, *self.team_agbs) if a)

    @property
    def group_agbs(self) -> tuple[str, ...]:
        """The group queues the specialist works from: their organisation's and their teams'."""
        return tuple(a for a in (self.organisation_agb, *self.team_agbs) if a)


def inbox_user(session: Session, user_id: str) -> InboxUser | None:
    user = session.get(User, user_id)
    if user is None:
        return None
    practitioner = session.get(Practitioner, user.practitioner_id) if user.practitioner_id else None
    organisation = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return InboxUser(user.id, user.username, user.display_name, practitioner.agb if practitioner else None,
                     organisation.agb if organisation else None, user.language, user.role.value,
                     user.organisation_id or (practitioner.organisation_id if practitioner else None),
                     practitioner.id if practitioner else None, _team_agbs(session, practitioner))


def _team_agbs(session: Session, practitioner: Practitioner | None) -> tuple[str, ...]:
    if practitioner is None:
        return ()
    return tuple(agb for agb in session.scalars(
        select(Organisation.agb).join(ExpertiseTeam, ExpertiseTeam.organisation_id == Organisation.id)
        .join(ExpertiseTeamMember, ExpertiseTeamMember.team_id == ExpertiseTeam.id)
        .where(ExpertiseTeamMember.practitioner_id == practitioner.id).order_by(Organisation.agb)) if agb)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _actor(user: User | None, source_ip: str | None) -> Actor:
    return Actor(kind="user", id=user.username if user else None,
                 organisation_id=user.organisation_id if user else None, source_ip=source_ip)


def _fail(session: Session, user: User | None, settings: Settings, now: datetime, source_ip: str | None,
          step: str) -> LoginRefused:
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
    record(session, _actor(user, source_ip), event=f"web.login.{step}", action=AuditAction.EXECUTE,
           outcome=AuditOutcome.MINOR_FAILURE, at=now)
    return LoginRefused("The username, password or code is not right.")


def _published(session: Session, user: User, now: datetime, source_ip: str | None) -> LoginRefused:
    """A demo account, or the README's password or TOTP secret, in production: refused with the usual
    message (it says nothing about the account), and audited under its own event so the operator finds it."""
    record(session, _actor(user, source_ip), event="web.login.demo-account", action=AuditAction.EXECUTE,
           outcome=AuditOutcome.SERIOUS_FAILURE, at=now)
    return LoginRefused("The username, password or code is not right.")


def _locked(user: User | None, now: datetime) -> bool:
    return user is not None and user.locked_until is not None and user.locked_until > now


def check_password(session: Session, settings: Settings, username: str, password: str, now: datetime,
                   source_ip: str | None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if _locked(user, now):
        record(session, _actor(user, source_ip), event="web.login.locked", action=AuditAction.EXECUTE,
               outcome=AuditOutcome.MINOR_FAILURE, at=now)
        raise LoginRefused("This account is locked for a while after too many failed attempts. Try again later.")
    # Verify against a real hash even for unknown users, so timing does not reveal which usernames exist.
    stored = user.password_hash if user else _dummy_hash()
    if not verify_password(stored, password) or user is None:
        raise _fail(session, user, settings, now, source_ip, "password")
    if settings.is_production and uses_published_credentials(user.username, password=password):
        raise _published(session, user, now, source_ip)
    return user


def check_totp(session: Session, settings: Settings, user_id: str, code: str, now: datetime,
               source_ip: str | None) -> User:
    user = session.get(User, user_id)
    if user is None or _locked(user, now):
        raise LoginRefused("Please log in again.")
    if settings.is_production and uses_published_credentials(user.username, totp_secret=user.totp_secret):
        raise _published(session, user, now, source_ip)
    totp = pyotp.TOTP(user.totp_secret)
    step = int(now.timestamp()) // totp.interval
    accepted = None
    for offset in (0, -1, 1):  # one step of clock drift either way
        if code.strip() == totp.at(now + timedelta(seconds=offset * totp.interval)):
            accepted = step + offset
    if accepted is None or (user.totp_last_step is not None and accepted <= user.totp_last_step):
        raise _fail(session, user, settings, now, source_ip, "totp")
    user.totp_last_step = accepted
    user.failed_logins = 0
    record(session, _actor(user, source_ip), event="web.login", action=AuditAction.EXECUTE, at=now)
    return user
