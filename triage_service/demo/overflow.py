"""The demo's second opinion pool (issue 23, point 4): a dermatology meekijkconsult of De Linde that nobody at
Rivierenland took, which overflowed to the agreement's backup (Ziekenhuis Maasstad-Zuid) once half its answer
norm had passed, and which dr. M. de Wit (``dermatoloog-maasstad``) answered. The GP (``huisarts``) reads on the
consult page who answered and why; dr. de Wit finds it under "Beantwoord"; the dashboard counts it as overflowed
and the statements pay Maasstad-Zuid for it.

Everything goes through the code the service runs: the normal intake, the monitor's own test of the norm share
(:func:`routing.overflow.norm_share_passed`) and its :func:`routing.overflow.overflow`, and the normal answer. The
story is set in the past so it is already told when the demo starts, on any day: submitted ten days before the
demo's clock at 09:00 Dutch time, overflowed at the first whole hour the monitor would have moved it (the norm
is in working days, so that hour depends on the weekday, which is why it is found rather than fixed), and
answered two hours later. Loading twice changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.models import Agreement, ApiClient, Organisation, TaskStatus, User
from triage_service.routing.working_time import AMSTERDAM
from triage_service.settings import PROJECT_ROOT

DEMO_EXAMPLE = PROJECT_ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"
NUMBER = "HIS-DEMO-ACHTERVANG"
BACKUP_USER = "dermatoloog-maasstad"
QUESTION = ("Vrouw van 58 met sinds twee maanden een schilferende, rode plek op het scheenbeen, 3 cm, niet jeukend. "
            "Twee weken hydrocortison 1% zonder effect, geen psoriasis in de familie. Vraag: past dit bij "
            "nummulair eczeem of bij een oppervlakkig basaalcelcarcinoom, en moet ik een biopt nemen?")
ADVICE = ("Beeld past het best bij nummulair eczeem: scherp begrensde, schilferende plek zonder parelmoerglans of "
          "teleangiëctastieën. Advies: twee weken triamcinolon 0,1% crème eenmaal daags, daarna afbouwen, en "
          "dagelijks een indifferente crème. Geen biopt nodig; bij onvoldoende effect na zes weken opnieuw "
          "consulteren met een nieuwe foto.")
#: How long the monitor is searched for the moment the share passed: past any norm in working days we use.
SEARCH = timedelta(days=9)


def load_overflowed_consult(session: Session, practice: Organisation) -> None:
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.consults.advice import Advice, record_advice
    from triage_service.consults.intake import submit_consult
    from triage_service.records.resolution import Resolver
    from triage_service.routing.overflow import norm_share_passed, overflow
    from triage_service.security.web_auth import inbox_user

    client = session.scalar(select(ApiClient).where(ApiClient.organisation_id == practice.id))
    backup_id = session.scalar(select(User.id).where(User.username == BACKUP_USER))
    backup_user = inbox_user(session, backup_id) if backup_id else None
    if client is None or backup_user is None:
        return
    day = (clock.now().astimezone(AMSTERDAM) - timedelta(days=10)).date()
    submitted = datetime.combine(day, time(9), AMSTERDAM).astimezone(UTC)
    resource = json.loads(DEMO_EXAMPLE.read_text(encoding="utf-8"))
    resource.pop("id")
    resource["identifier"][0]["value"] = NUMBER
    resource["authoredOn"] = submitted.isoformat()
    resource["reasonCode"][0]["coding"][0].update(code="S88", display="Contacteczeem/ander eczeem")
    resource["reasonCode"][0]["text"] = "Schilferende plek scheenbeen, niet over op hydrocortison"
    resource["note"] = [{"text": QUESTION}]
    resource.pop("performer", None)  # for the agreement's specialists, whoever is free: nobody took it
    consult = submit_consult(session, CLI_ACTOR, practice, client.id, resource,
                             Resolver(session, practice.id, resource), submitted,
                             if_none_exist=(resource["identifier"][0]["system"], NUMBER)).consult
    task = consult.task
    agreement = session.get(Agreement, consult.agreement_id) if consult.agreement_id else None
    if task is None or agreement is None or not agreement.backup or task.overflowed_at is not None:
        return  # loaded before (or an agreement without backup): nothing to tell
    at = submitted + timedelta(hours=1)
    while at < submitted + SEARCH and (reason := norm_share_passed(task, agreement, at)) is None:
        at += timedelta(hours=1)
    if reason is None or task.status is not TaskStatus.ACCEPTED:
        return
    overflow(session, task, agreement, reason, at)
    session.flush()
    record_advice(session, backup_user, consult.id, Advice(ADVICE, "primary-care-advice", minutes=10),
                  at + timedelta(hours=2))
