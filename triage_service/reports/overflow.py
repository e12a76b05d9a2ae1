"""The second opinion pool in the zorggroep's figures (issue 23, point 4): who is paid for an overflowed consult,
and how many consults overflowed, why, and how fast they were answered.

Money: a consult that overflowed (routing/overflow.py) was answered by the agreement's backup organisation, so
the subcontractor statements pay that organisation the fee recorded on the Overflow row, not the agreement's
subcontractor its fee, and a declaration line whose payee is the subcontractor names the backup organisation.
The declarant and the tariff stay the agreement's: the zorggroep's contract with the insurer does not change
because another hospital did the work.

Monitoring: of the consults submitted in the period (as the rest of the dashboard counts them), those that
overflowed, per reason; how many of them were answered and their answer times from submission to advice
(median and mean in hours, one decimal), beside the same figures of the period's consults that did not overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.models import OVERFLOW_REASONS, Consult, ConsultTask, Organisation, Overflow, TaskStatus
from triage_service.models.monitoring import ConsultFact


def backup_payees(session: Session, *where: object) -> dict[str, str]:
    """Consult id -> AGB of the backup organisation that answered it, for the overflowed consults among those
    ``where`` selects (conditions on Consult; a join over the same window as the caller, not a list of ids)."""
    rows = session.execute(select(Overflow.consult_id, Organisation.agb)
                           .join(Consult, Consult.id == Overflow.consult_id)
                           .join(Organisation, Organisation.id == Overflow.organisation_id)
                           .where(*where))  # type: ignore[arg-type]
    return {consult_id: agb or "" for consult_id, agb in rows}


@dataclass(frozen=True)
class AnswerTimes:
    consults: int
    answered: int
    median_hours: float | None
    mean_hours: float | None


@dataclass(frozen=True)
class OverflowFigures:
    submitted: int
    overflowed: int
    #: (reason, count) for every reason, in OVERFLOW_REASONS order (zero included, so the table is stable).
    by_reason: list[tuple[str, int]]
    #: (backup organisation, count), by name.
    by_organisation: list[tuple[str, int]]
    overflow_times: AnswerTimes
    other_times: AnswerTimes

    @property
    def share(self) -> float | None:
        return round(self.overflowed / self.submitted, 4) if self.submitted else None


def _times(durations: list[float], consults: int) -> AnswerTimes:
    hours = [d / 3600 for d in durations]
    return AnswerTimes(consults, len(hours), round(median(hours), 1) if hours else None,
                       round(sum(hours) / len(hours), 1) if hours else None)


def overflow_figures(session: Session, zorggroep_id: str, start: datetime, end: datetime) -> OverflowFigures:
    """The period's consults of the zorggroep's agreements, submitted in [start, end), split by overflow."""
    rows = session.execute(
        select(Consult.id, Consult.created_at, Consult.completed_at, ConsultTask.status, Overflow.reason,
               Organisation.name)
        .select_from(ConsultFact)  # the window through the facts' (zorggroep, created_at) index (first_line.py)
        .join(Consult, Consult.id == ConsultFact.consult_id)
        .join(ConsultTask, ConsultTask.consult_id == Consult.id)
        .outerjoin(Overflow, Overflow.consult_id == Consult.id)
        .outerjoin(Organisation, Organisation.id == Overflow.organisation_id)
        .where(ConsultFact.zorggroep_id == zorggroep_id, ConsultFact.created_at >= start,
               ConsultFact.created_at < end)).all()
    reasons = dict.fromkeys(OVERFLOW_REASONS, 0)
    organisations: dict[str, int] = {}
    overflow_durations: list[float] = []
    other_durations: list[float] = []
    overflowed = 0
    for _, authored, completed, status, reason, organisation in rows:
        answered = status is TaskStatus.COMPLETED and completed is not None
        if reason is None:
            if answered and completed is not None:
                other_durations.append((completed - authored).total_seconds())
            continue
        overflowed += 1
        reasons[reason] = reasons.get(reason, 0) + 1
        organisations[organisation or ""] = organisations.get(organisation or "", 0) + 1
        if answered and completed is not None:
            overflow_durations.append((completed - authored).total_seconds())
    return OverflowFigures(len(rows), overflowed, list(reasons.items()), sorted(organisations.items()),
                           _times(overflow_durations, overflowed), _times(other_durations, len(rows) - overflowed))
