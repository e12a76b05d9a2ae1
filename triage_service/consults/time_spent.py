"""Time registration on every action a specialist takes on a consult (issue 21).

Each action (ask, answer, referral triage, forward, decline, an appointment) may carry the minutes it took;
the screens offer the agreement's norm time for the consult form (agreements/norms.py, "normtijd")
as the default, so a specialist who agrees with it registers with one click. The minutes are optional:
a specialist who leaves the field empty registers nothing rather than a made-up figure, and the statement
shows which consults carry no registration.

Every action writes a :class:`TimeRegistration` row, with or without minutes: the inbox's "closed
otherwise" tab finds the consults a specialist forwarded away through them (after forwarding the Task is
someone else's, so its owner no longer leads back).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from triage_service.errors import N_
from triage_service.models import Consult, TimeRegistration
from triage_service.security.web_auth import InboxUser

MAX_MINUTES = 600
#: The actions a registration belongs to; the statement names them.
ACTIONS = ("ask", "answer", "accept-referral", "return-referral", "forward", "decline", "appointment")


def parse_minutes(raw: str | None, errors: dict[str, str], field: str = "minutes") -> int | None:
    """The optional time spent: empty is "not registered"; anything else a whole number 1-600."""
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_MINUTES:
        errors[field] = N_("Time spent is a whole number of minutes between 1 and 600")
        return None
    return int(text)


def register(session: Session, consult: Consult, user: InboxUser, action: str, minutes: int | None,
             now: datetime) -> None:
    """Record the action and its minutes; the consult's total is what the statements and declarations read."""
    session.add(TimeRegistration(consult_id=consult.id, action=action, minutes=minutes,
                                 practitioner_agb=user.practitioner_agb, user_id=user.id, registered_at=now))
    if minutes is not None:
        consult.time_spent_minutes = (consult.time_spent_minutes or 0) + minutes
