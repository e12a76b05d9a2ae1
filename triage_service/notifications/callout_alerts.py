"""The alerts of an urgent consult's call-out: a Web Push to every device of each specialist alerted, and an
e-mail at the start of each stage.

Like the assignment e-mails, an alert says *that* an urgent consult waits and by when, never about whom or
what: specialism, urgency, due time, who is being called (the backup, the group) and a link that needs a login.
A phone's lock screen shows it to whoever is near. Push repeats at every alert (a pager that keeps ringing);
e-mail only once per stage, because a mailbox filling with the same message every five minutes is read less.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from triage_service.models import Consult, EmailNotice, Organisation, Practitioner, User, UserRole
from triage_service.notifications.push import PushPayload, queue_push
from triage_service.routing.service import specialism_label
from triage_service.routing.working_time import AMSTERDAM
from triage_service.settings import Settings

_TEXT = {
    "nl": {
        "title": "Spoedconsult wacht: {specialism}",
        "title_backup": "Spoedconsult niet opgepakt: u bent achterwacht ({specialism})",
        "title_group": "Spoedconsult niet opgepakt: {specialism}, de groep wordt opgeroepen",
        "body": "{urgency}, antwoord vóór {due}. Open de inbox en kies 'Ik pak hem op'.",
        # The inbox's words for the FHIR priorities (web/labels.py), so the phone and the screen agree.
        "urgencies": {"urgent": "Spoed", "asap": "Zo snel mogelijk", "stat": "Direct"},
        "footer": "Dit bericht bevat bewust geen patiëntgegevens. U ontvangt het omdat u dienst of achterwacht "
                  "heeft, of omdat niemand het consult heeft opgepakt.",
        "open": "Openen (na inloggen)",
    },
    "en": {
        "title": "Urgent consult waiting: {specialism}",
        "title_backup": "Urgent consult not taken: you are the backup ({specialism})",
        "title_group": "Urgent consult not taken: {specialism}, the group is being called",
        "body": "{urgency}, answer due by {due}. Open the inbox and choose 'I'll take it'.",
        "urgencies": {"urgent": "Urgent", "asap": "As soon as possible", "stat": "Immediately"},
        "footer": "This message deliberately holds no patient data. You receive it because you are on call or "
                  "the backup, or because nobody has taken the consult.",
        "open": "Open (after logging in)",
    },
}


@dataclass(frozen=True)
class Alert:
    """One round of alerts: the consult, by when, which stage, and whether it is the stage's first round."""

    consult: Consult
    due_at: datetime | None
    stage: str  # CalloutStage value
    first_of_stage: bool
    #: The next round follows after this long: a push still undelivered by then is dropped, not stacked.
    ttl_seconds: int


def specialists_called(session: Session, agbs: list[str], group_agb: str | None, specialism: str) -> list[User]:
    """The inbox users of the named specialists, and (for the group stage) every specialist of the group's
    organisation with the consult's specialism: a dermatologist is not woken for a cardiology question."""
    conditions: list[ColumnElement[bool]] = [Practitioner.agb.in_(agbs)] if agbs else []
    if group_agb is not None:
        group = select(Organisation.id).where(Organisation.agb == group_agb).scalar_subquery()
        conditions.append((Practitioner.organisation_id == group) & (Practitioner.specialism == specialism))
    if not conditions:
        return []
    return list(session.scalars(select(User).join(Practitioner, Practitioner.id == User.practitioner_id)
                                .where(User.role == UserRole.SPECIALIST, or_(*conditions)).order_by(User.id)))


def queue_alerts(session: Session, settings: Settings, users: list[User], alert: Alert, now: datetime) -> int:
    """Queue the push messages (and, at a stage's first round, the e-mails) of one round; how many users."""
    consult = alert.consult
    for user in users:
        language = user.language if user.language in _TEXT else "nl"
        text = _TEXT[language]
        specialism = specialism_label(consult.specialism, language)
        title = str(text[{"on-call": "title", "backup": "title_backup"}.get(alert.stage, "title_group")]).format(
            specialism=specialism)
        urgencies: dict[str, str] = text["urgencies"]  # type: ignore[assignment]
        due = f"{alert.due_at.astimezone(AMSTERDAM):%H:%M}" if alert.due_at is not None else "-"
        body = str(text["body"]).format(urgency=urgencies.get(consult.priority, consult.priority), due=due)
        link = f"/consults/{consult.id}"  # the inbox's consult page (web/views.py)
        queue_push(session, [user.id], PushPayload(title=title, body=body, url=link, tag=f"callout-{consult.id}"),
                   now, ttl_seconds=alert.ttl_seconds)
        if alert.first_of_stage and settings.smtp_host and user.email:
            lines = [body, ""]
            if settings.public_base_url:
                lines += [f"{text['open']}: {settings.public_base_url.rstrip('/')}{link}", ""]
            session.add(EmailNotice(user_id=user.id, recipient=user.email, subject=title[:200],
                                    body="\n".join([*lines, str(text["footer"])]) + "\n", created_at=now, attempts=0))
    return len(users)
