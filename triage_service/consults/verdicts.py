"""The GP's verdict on the advice (issue 22): the one rule below both doors, the portal's form and a GP system's
QuestionnaireResponse (fhir/verdict.py).

- Only the practice that asked the consult gives it: another practice's consult is "not found", as everywhere
  (an out-of-hours post's consult read by the patient's own practice is the post's to judge, not theirs).
- Only on a consult answered with advice: the Task completed with advice (any outcome of the answer form,
  including "referral indicated": the advice may still have been useful) or a referral returned to the GP with
  advice. Not on an open consult, nor on a declined, cancelled or failed one, nor on a referral triage accepted
  as it stands: there was no advice to judge.
- Once: a second verdict is refused (409), not merged, so the figures never count a consult twice.
- All three answers, each valid; audited like every change (NEN 7513: who, for which organisation, which
  patient, when, from where).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.errors import N_, Conflict, FormErrors, NotFound
from triage_service.fhir.verdict import LINK_IDS, STILL_NEEDED, USEFUL, WITHOUT
from triage_service.models import AuditAction, Consult, GpVerdict, TaskStatus
from triage_service.models.verdict import WITHOUT_ADVICE

#: Where a verdict came from (GpVerdict.source).
SOURCES = ("portal", "fhir")
#: The outcome of a referral triage accepted as it stands: it carries no advice to judge.
_NO_ADVICE = "referral-accepted"


@dataclass(frozen=True)
class VerdictAnswers:
    useful: bool
    without_advice: str
    referral_still_needed: bool


def check_answers(values: Mapping[str, object]) -> VerdictAnswers:
    """The three answers by linkId (``useful``, ``without-advice``, ``referral-still-needed``), each required and
    valid; otherwise a FormErrors naming each missing or wrong one."""
    errors: dict[str, str] = {}
    useful, without, needed = values.get(USEFUL), values.get(WITHOUT), values.get(STILL_NEEDED)
    if not isinstance(useful, bool):
        errors[USEFUL] = N_("Say whether the advice was useful")
    if not isinstance(without, str) or without not in WITHOUT_ADVICE:
        errors[WITHOUT] = N_("Say what you would have done without the advice")
    if not isinstance(needed, bool):
        errors[STILL_NEEDED] = N_("Say whether a referral is still needed")
    if errors or not isinstance(useful, bool) or not isinstance(without, str) or not isinstance(needed, bool):
        raise FormErrors({key: errors[key] for key in LINK_IDS if key in errors})
    return VerdictAnswers(useful, without, needed)


def answered_with_advice(consult: Consult) -> bool:
    """Whether the consult has advice the GP can judge (see the module's docstring)."""
    task = consult.task
    return task is not None and task.status is TaskStatus.COMPLETED and consult.outcome is not None \
        and consult.outcome != _NO_ADVICE


def find_verdict(session: Session, consult_id: str) -> GpVerdict | None:
    return session.scalar(select(GpVerdict).where(GpVerdict.consult_id == consult_id))


def may_give_verdict(session: Session, consult: Consult) -> bool:
    """Whether the portal offers the form: answered with advice and no verdict yet."""
    return answered_with_advice(consult) and find_verdict(session, consult.id) is None


def give_verdict(session: Session, actor: Actor, organisation_id: str, consult_id: str,
                 values: Mapping[str, object], *, source: str, answered_by: str, now: datetime,
                 expression: str | None = None) -> GpVerdict:
    """Store the verdict of the requesting practice ``organisation_id`` on its consult; ``expression`` points at
    the consult reference in the request, for the FHIR API's OperationOutcome."""
    assert source in SOURCES
    consult = session.scalar(select(Consult).where(Consult.id == consult_id,
                                                   Consult.organisation_id == organisation_id))
    if consult is None:
        raise NotFound(N_("The consult does not exist or is not one your practice asked"), expression=expression)
    if not answered_with_advice(consult):
        raise Conflict(N_("The consult has not been answered with advice, so there is no advice to give a verdict "
                          "on (yet)"), expression=expression)
    if find_verdict(session, consult.id) is not None:
        raise Conflict(N_("The verdict on this advice has already been given; it is given once"),
                       expression=expression)
    answers = check_answers(values)
    verdict = GpVerdict(consult_id=consult.id, useful=answers.useful, without_advice=answers.without_advice,
                        referral_still_needed=answers.referral_still_needed, source=source,
                        answered_by=answered_by, answered_at=now)
    try:
        with session.begin_nested():  # two answers at once: the unique consult_id keeps one, the other is told
            session.add(verdict)
    except IntegrityError as twice:
        raise Conflict(N_("The verdict on this advice has already been given; it is given once"),
                       expression=expression) from twice
    record(session, actor, event="consult.verdict", action=AuditAction.CREATE, resource_type="QuestionnaireResponse",
           resource_id=verdict.id, patient_ref=consult.patient_resource_id, at=now,
           detail=f"source={source}; useful={answers.useful}; without={answers.without_advice}; "
                  f"referral_still_needed={answers.referral_still_needed}")
    return verdict
