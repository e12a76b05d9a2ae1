"""An inbox user's own settings: the inbox language and e-mail notices of new assignments.

The language is stored on the user (the session takes it at login, and the e-mail notices are
written in it). The e-mail address is personal data but not patient data; the audit trail
records *that* it changed, never the address itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import N_, FormErrors, NotFound
from triage_service.models import AuditAction, User
from triage_service.notifications.email import is_email_address

LANGUAGES = ("nl", "en")
#: RFC 5321 caps a forward path at 256 octets including the angle brackets; the column holds 254.
MAX_EMAIL = 254
#: What a ticked checkbox sends (the form's ``value``); an unticked one sends nothing.
TICKED = "1"


@dataclass(frozen=True)
class EmailNotices:
    address: str | None
    on_assignment: bool


@dataclass(frozen=True)
class AccountSettings:
    language: str
    #: None: leave the e-mail settings as they are (users who never get consults assigned do not see them).
    notices: EmailNotices | None


def parse_account_settings(form: Mapping[str, str], *, with_notices: bool) -> AccountSettings:
    """The settings form, checked field by field; raises FormErrors with a message per bad field."""
    errors: dict[str, str] = {}
    language = form.get("language", "")
    if language not in LANGUAGES:
        errors["language"] = N_("Choose Nederlands or English")
    notices = None
    if with_notices:
        address = form.get("email", "").strip()
        ticked = form.get("email_on_assignment", "")
        if ticked not in ("", TICKED):
            errors["email_on_assignment"] = N_("Tick the box or leave it empty")
        if len(address) > MAX_EMAIL:
            errors["email"] = N_("An e-mail address has at most 254 characters")
        elif address and not is_email_address(address):
            errors["email"] = N_("This is not an e-mail address; write it as name@domain.nl")
        elif ticked == TICKED and not address:
            errors["email"] = N_("Fill in the e-mail address the notices should go to")
        notices = EmailNotices(address or None, ticked == TICKED)
    if errors:
        raise FormErrors(errors)
    return AccountSettings(language, notices)


def save_account_settings(session: Session, actor: Actor, user_id: str, wanted: AccountSettings,
                          now: datetime) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user")
    changes = []
    if user.language != wanted.language:
        changes.append(f"language={wanted.language}")
        user.language = wanted.language
    if wanted.notices is not None:
        address, on = wanted.notices.address, wanted.notices.on_assignment
        if address != user.email:
            # Whether, not what: the address stays out of the audit trail.
            changes.append("email=" + ("removed" if address is None else "added" if user.email is None
                                       else "changed"))
            user.email = address
        if on != user.email_on_assignment:
            changes.append(f"email_on_assignment={'on' if on else 'off'}")
            user.email_on_assignment = on
    record(session, actor, event="user.settings", action=AuditAction.UPDATE, resource_type="User",
           resource_id=user.id, detail="; ".join(changes) or "no change", at=now)
    return user
