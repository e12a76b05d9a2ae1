"""Work that passed from one specialist to another (issue 22, "who did the work"): the figures by specialist
credit the specialist who answered, and count apart what each passed on, so a specialist who forwards half
their consults is neither credited with them nor made to look idle.

- *forwarded away*: consults the specialist forwarded (to a colleague, the group queue or another
  specialism), from the time registrations every forward writes (consults/forwarding.py);
- *escalated away*: consults the answer-norm monitor took from them because they were past their due time
  (routing/deadlines.py, a DeadlineEvent "escalated" naming the previous owner).

Both over the same consults as the rest of the monitoring (submitted in the window, of the zorggroep).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from triage_service.models import ConsultTask, DeadlineEvent, TimeRegistration
from triage_service.models.monitoring import ConsultFact

NONE = {"forwarded_away": 0, "escalated_away": 0}


def by_specialist(session: Session, where: list[Any]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    forwarded = session.execute(
        select(TimeRegistration.practitioner_agb, func.count(distinct(TimeRegistration.consult_id)))
        .join(ConsultFact, ConsultFact.consult_id == TimeRegistration.consult_id)
        .where(*where, TimeRegistration.action == "forward", TimeRegistration.practitioner_agb.is_not(None))
        .group_by(TimeRegistration.practitioner_agb))
    for agb, count in forwarded:
        found.setdefault(str(agb), dict(NONE))["forwarded_away"] = count
    escalated = session.execute(
        select(DeadlineEvent.from_owner_agb, func.count(distinct(DeadlineEvent.task_id)))
        .join(ConsultTask, ConsultTask.id == DeadlineEvent.task_id)
        .join(ConsultFact, ConsultFact.consult_id == ConsultTask.consult_id)
        .where(*where, DeadlineEvent.kind == "escalated", DeadlineEvent.from_owner_agb.is_not(None))
        .group_by(DeadlineEvent.from_owner_agb))
    for agb, count in escalated:
        found.setdefault(str(agb), dict(NONE))["escalated_away"] = count
    return found
