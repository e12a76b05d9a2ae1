"""E-mail to a practice's GPs and staff when the specialist asks a question or gives advice, if they asked for it.

Like the specialists' notices (notifications/email.py, which sends them): *that* something waits for the
practice, never about whom. Specialism, consult form and a link to the portal that needs a login; no name,
age, complaint or text, since e-mail is not a secure channel and a subject line shows on a lock screen.
Queued in the transaction that changed the Task, so a rolled-back answer sends nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.fhir.profiles import registry
from triage_service.models import PRACTICE_ROLES, ConsultTask, EmailNotice, TaskStatus, User
from triage_service.notifications.email import VS_CONSULT_FORM
from triage_service.routing.service import specialism_label
from triage_service.settings import Settings

_TEXT = {
    "nl": {"question": ("Vraag van de specialist over een consult ({specialism})",
                        "De specialist heeft een vraag over een consult van uw praktijk."),
           "advice": ("Advies ontvangen op een consult ({specialism})",
                      "De specialist heeft een consult van uw praktijk beantwoord."),
           "specialism": "Specialisme", "form": "Consultvorm", "open": "Openen (na inloggen)",
           "footer": "Dit bericht bevat bewust geen patiëntgegevens. U zet deze e-mails uit onder Instellingen."},
    "en": {"question": ("Question from the specialist about a consult ({specialism})",
                        "The specialist has a question about a consult of your practice."),
           "advice": ("Advice received on a consult ({specialism})",
                      "The specialist has answered a consult of your practice."),
           "specialism": "Specialism", "form": "Consult form", "open": "Open (after logging in)",
           "footer": "This message deliberately holds no patient data. Turn these e-mails off under Settings."},
}


def news_of(task: ConsultTask) -> str | None:
    """What a status change means to the practice: a question to answer, or an answer to read."""
    if task.status is TaskStatus.ON_HOLD and task.business_status == "awaiting-gp-information":
        return "question"
    if task.status is TaskStatus.COMPLETED and task.business_status != "advice-acknowledged":
        return "advice"
    return None


def queue_practice_notices(session: Session, tasks: list[ConsultTask], settings: Settings, now: datetime) -> int:
    """One notice per opted-in account of the consult's practice for each question or advice; how many."""
    if not settings.smtp_host:
        return 0
    queued = 0
    for task in tasks:
        news = news_of(task)
        if news is None:
            continue
        users = session.scalars(select(User).where(User.organisation_id == task.organisation_id,
                                                   User.role.in_(PRACTICE_ROLES), User.email.is_not(None),
                                                   User.email_on_assignment.is_(True))).all()
        for user in users:
            session.add(_notice(user, task, news, settings, now))
            queued += 1
    return queued


def _notice(user: User, task: ConsultTask, news: str, settings: Settings, now: datetime) -> EmailNotice:
    language = user.language if user.language in _TEXT else "nl"
    text = _TEXT[language]
    consult = task.consult
    specialism = specialism_label(consult.specialism, language)
    form = registry().concept_display(VS_CONSULT_FORM, consult.consult_form, language) or consult.consult_form
    subject, intro = text[news]
    lines = [intro, "", f"{text['specialism']}: {specialism}", f"{text['form']}: {form}"]
    if settings.public_base_url:
        lines += ["", f"{text['open']}: {settings.public_base_url.rstrip('/')}/huisarts/consults/{consult.id}"]
    lines += ["", str(text["footer"])]
    assert user.email is not None
    return EmailNotice(user_id=user.id, recipient=user.email, subject=subject.format(specialism=specialism),
                       body="\n".join(lines) + "\n", created_at=now, attempts=0)
