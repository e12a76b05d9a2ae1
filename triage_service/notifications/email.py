"""E-mail to specialists when a consult is assigned to them (or their group queue), if they asked for it.

The notice says *that* there is work and by when, never about whom or what: specialism,
consult form, urgency, due time and a link that needs a login. E-mail is not a secure
channel, and a subject line is read on lock screens. The notice is queued in the same
transaction as the assignment (like webhook notifications) and sent by the worker.

Each notice is sent once, with any number of workers: a worker claims one notice at a time, just before
sending it (``claims.py``: a token of its own and an expiry, ``notification_claim_seconds``), and records the
outcome and clears the claim in one commit, clearing only a claim that is still its own. A claim thus covers
one message, not a pass, however slow the mail server and however many notices are due. Sending is at least
once in one case: a worker that dies between the server's acceptance and its own commit (or stalls longer
than a whole claim in the middle of one message) leaves the notice unsent in the database, and another
worker sends it again once the claim has run out. Its ``Message-ID`` is the same both times, and mail
programs show one message per Message-ID.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from triage_service.clock import Clock
from triage_service.fhir.profiles import CANONICAL_BASE, registry
from triage_service.models import (
    ConsultTask,
    EmailNotice,
    ExpertiseTeam,
    ExpertiseTeamMember,
    Organisation,
    Practitioner,
    User,
)
from triage_service.notifications import claims
from triage_service.routing.service import specialism_label
from triage_service.routing.working_time import AMSTERDAM
from triage_service.settings import Settings

#: A notice that cannot be sent after this many tries is dropped: the inbox shows the work anyway.
MAX_ATTEMPTS = 5
#: Notices one pass sends, one claim each (the rest follow in the next pass).
BATCH = 50
VS_CONSULT_FORM = f"{CANONICAL_BASE}/ValueSet/triage-consult-form"
logger = logging.getLogger(__name__)

#: (settings, message) -> None; raises OSError or smtplib.SMTPException when the mail is not accepted.
MailTransport = Callable[[Settings, EmailMessage], None]

_TEXT = {
    "nl": {
        "subject": "Nieuw consult in uw inbox ({specialism})",
        "subject_group": "Nieuw consult in de groepswachtrij ({specialism})",
        "intro": "Er is een consult aan u toegewezen in de triage-inbox.",
        "intro_group": "Er staat een nieuw consult in de groepswachtrij van {group}.",
        "specialism": "Specialisme", "form": "Consultvorm", "urgency": "Urgentie", "due": "Antwoord gewenst vóór",
        "open": "Openen (na inloggen)",
        "footer": "Dit bericht bevat bewust geen patiëntgegevens. U zet deze e-mails uit in de inbox onder "
                  "Instellingen.",
        "urgencies": {"routine": "routine", "urgent": "spoed", "asap": "zo snel mogelijk", "stat": "direct"},
        "days": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    },
    "en": {
        "subject": "New consult in your inbox ({specialism})",
        "subject_group": "New consult in the group queue ({specialism})",
        "intro": "A consult has been assigned to you in the triage inbox.",
        "intro_group": "There is a new consult in the group queue of {group}.",
        "specialism": "Specialism", "form": "Consult form", "urgency": "Urgency", "due": "Answer due by",
        "open": "Open (after logging in)",
        "footer": "This message deliberately holds no patient data. Turn these e-mails off in the inbox under "
                  "Settings.",
        "urgencies": {"routine": "routine", "urgent": "urgent", "asap": "as soon as possible", "stat": "immediate"},
        "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    },
}


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")


def is_email_address(value: str) -> bool:
    """A plausible address (local@domain.tld); deliverability is the mail server's business."""
    return len(value) <= 254 and _ADDRESS.match(value) is not None


def queue_assignment_notices(session: Session, tasks: list[ConsultTask], settings: Settings, now: datetime) -> int:
    """One notice per opted-in user for each Task newly assigned to them or their group; returns how many."""
    if not settings.smtp_host:
        return 0
    queued = 0
    for task in tasks:
        if task.owner_agb is None:
            continue
        for user, group in _recipients(session, task):
            session.add(_notice(user, task, group, settings, now))
            queued += 1
    return queued


def _recipients(session: Session, task: ConsultTask) -> list[tuple[User, str | None]]:
    wanted = (User.email_on_assignment.is_(True), User.email.is_not(None))
    if task.owner_kind == "organisation":
        group = session.scalar(select(Organisation).where(Organisation.agb == task.owner_agb))
        if group is None:
            return []
        # The group's own specialists, and an expertise team's members, who each keep their own organisation.
        members = (select(ExpertiseTeamMember.practitioner_id)
                   .join(ExpertiseTeam, ExpertiseTeam.id == ExpertiseTeamMember.team_id)
                   .where(ExpertiseTeam.organisation_id == group.id))
        users = session.scalars(select(User).where(or_(User.organisation_id == group.id,
                                                       User.practitioner_id.in_(members)), *wanted)).all()
        return [(u, group.name) for u in users]
    users = session.scalars(select(User).join(Practitioner, Practitioner.id == User.practitioner_id)
                            .where(Practitioner.agb == task.owner_agb, *wanted)).all()
    return [(u, None) for u in users]


def _notice(user: User, task: ConsultTask, group: str | None, settings: Settings, now: datetime) -> EmailNotice:
    language = user.language if user.language in _TEXT else "nl"
    text = _TEXT[language]
    consult = task.consult
    specialism = specialism_label(consult.specialism, language)
    form = registry().concept_display(VS_CONSULT_FORM, consult.consult_form, language) or consult.consult_form
    urgencies: dict[str, str] = text["urgencies"]  # type: ignore[assignment]
    lines = [str(text["intro_group"]).format(group=group) if group else str(text["intro"]), "",
             f"{text['specialism']}: {specialism}", f"{text['form']}: {form}",
             f"{text['urgency']}: {urgencies.get(consult.priority, consult.priority)}"]
    if task.due_at is not None:
        due = task.due_at.astimezone(AMSTERDAM)
        days: list[str] = text["days"]  # type: ignore[assignment]
        lines.append(f"{text['due']}: {days[due.weekday()]} {due:%d-%m-%Y %H:%M}")
    if settings.public_base_url:
        lines += ["", f"{text['open']}: {settings.public_base_url.rstrip('/')}/consults/{consult.id}"]
    lines += ["", str(text["footer"])]
    subject = str(text["subject_group" if group else "subject"]).format(specialism=specialism)
    assert user.email is not None
    return EmailNotice(user_id=user.id, recipient=user.email, subject=subject, body="\n".join(lines) + "\n",
                       created_at=now, attempts=0)


def smtp_send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.notification_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


@dataclass
class MailRun:
    sent: int = 0
    failed: int = 0
    abandoned: int = 0


def send_due(factory: sessionmaker[Session], settings: Settings, clock: Clock,
             transport: MailTransport = smtp_send) -> MailRun:
    """One pass: claim a due notice, send it, record the outcome and release it, then claim the next.

    ``clock`` is read at every step (claim, outcome), not once: with a slow mail server a pass takes minutes.
    """
    run = MailRun()
    if not settings.smtp_host:
        return run
    owner = claims.new_owner()  # this pass's claims
    for _ in range(BATCH):
        claimed = _claim_next(factory, settings, owner, clock())
        if claimed is None:
            break
        notice_id, message = claimed
        # No transaction is open while the server takes its time: it must not hold a connection or a lock.
        failure = _send(transport, settings, message)
        _record(factory, notice_id, owner, failure, clock(), run)
    return run


def _claim_next(factory: sessionmaker[Session], settings: Settings, owner: str,
                now: datetime) -> tuple[str, EmailMessage] | None:
    # Claimed immediately before it is sent, so the claim is fresh when the message goes out, whatever the
    # notices before it took; a notice that failed waits for its retry time and is not taken again this pass.
    due = select(EmailNotice.id).where(
        EmailNotice.sent_at.is_(None), EmailNotice.abandoned_at.is_(None),
        or_(EmailNotice.next_attempt_at.is_(None), EmailNotice.next_attempt_at <= now),
    ).order_by(EmailNotice.created_at, EmailNotice.id)
    with factory() as session, session.begin():
        notice_id = claims.take(session, EmailNotice, due, settings, owner, now)
        notice = session.get(EmailNotice, notice_id) if notice_id is not None else None
        if notice is None:
            return None
        return notice.id, _message(settings, notice)


def _message(settings: Settings, notice: EmailNotice) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, notice.recipient, notice.subject
    # The same for every try of this notice: a message that does arrive twice (a worker died before its
    # commit) is shown once by mail programs that recognise the Message-ID.
    message["Message-ID"] = f"<{notice.id}@{settings.mail_from.rpartition('@')[2] or 'localhost'}>"
    message.set_content(notice.body)
    return message


def _send(transport: MailTransport, settings: Settings, message: EmailMessage) -> str | None:
    """None when the server accepted the message, else why not (no addresses, no text)."""
    try:
        transport(settings, message)
    except (OSError, smtplib.SMTPException) as exc:  # refused, unreachable, timed out, TLS or login failure
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def _record(factory: sessionmaker[Session], notice_id: str, owner: str, failure: str | None, now: datetime,
            run: MailRun) -> None:
    """Write a send's outcome and release the claim in one commit."""
    with factory() as session, session.begin():
        # Locked: a worker that took over (our claim ran out) may be recording the same notice.
        notice = session.get(EmailNotice, notice_id, with_for_update=True)
        if notice is None:  # the user was deleted meanwhile, with their notices
            return
        if notice.claimed_by != owner:
            # Our claim ran out during this one message (a stall longer than the claim), and another worker
            # may have sent it as well.
            logger.warning("the claim on e-mail notice %s ran out while it was being sent; it may arrive twice",
                           notice.id)
        if failure is None:
            run.sent += 1
            notice.attempts += 1
            if notice.sent_at is None:
                notice.sent_at, notice.last_error = now, None
        elif notice.sent_at is None:  # else another worker sent it meanwhile: nothing left to retry
            notice.attempts += 1
            notice.last_error = failure
            run.failed += 1
            if notice.attempts >= MAX_ATTEMPTS:
                notice.abandoned_at = now
                run.abandoned += 1
            else:
                notice.next_attempt_at = now + timedelta(minutes=2 ** notice.attempts)
        claims.release(session, EmailNotice, notice.id, owner)
