"""What each specialist organisation (subcontractor) is owed for a month: consults answered, fee, total.

Counted by the month the advice was given, per agreement (the fee is the agreement's) and
per specialist, with the time spent as the specialists registered it. Aggregated in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage_service.models import Agreement, Consult, ConsultTask, Organisation, TaskStatus
from triage_service.reports.periods import Month


def statements(session: Session, zorggroep_id: str, month: Month, subcontractor_agb: str | None = None
               ) -> list[dict[str, Any]]:
    where = [Agreement.zorggroep_id == zorggroep_id, ConsultTask.status == TaskStatus.COMPLETED,
             Consult.completed_at >= month.start, Consult.completed_at < month.end]
    if subcontractor_agb:
        where.append(Organisation.agb == subcontractor_agb)
    base = (select().select_from(Consult).join(ConsultTask, ConsultTask.consult_id == Consult.id)
            .join(Agreement, Agreement.id == Consult.agreement_id)
            .join(Organisation, Organisation.id == Agreement.subcontractor_id).where(*where))
    answered = func.count(Consult.id)
    minutes = func.coalesce(func.sum(Consult.time_spent_minutes), 0)
    registered = func.count(Consult.time_spent_minutes)
    per_agreement = session.execute(base.add_columns(
        Organisation.agb, Organisation.name, Agreement.code, Agreement.subcontractor_fee_cents, answered, minutes,
        registered).group_by(Organisation.agb, Organisation.name, Agreement.code, Agreement.subcontractor_fee_cents)
        .order_by(Organisation.name, Agreement.code)).all()
    per_specialist = session.execute(base.add_columns(
        Organisation.agb, ConsultTask.owner_agb, ConsultTask.owner_name, answered, minutes, registered)
        .group_by(Organisation.agb, ConsultTask.owner_agb, ConsultTask.owner_name)
        .order_by(ConsultTask.owner_name)).all()
    result: dict[str, dict[str, Any]] = {}
    for agb, name, code, fee, count, total_minutes, with_minutes in per_agreement:
        statement = result.setdefault(agb, {"subcontractor_agb": agb, "subcontractor": name, "period": str(month),
                                            "agreements": [], "specialists": [], "consults": 0, "total_cents": 0})
        statement["agreements"].append({"agreement": code, "consults": count, "fee_cents": fee,
                                        "total_cents": count * fee, "minutes_registered": int(total_minutes),
                                        "consults_with_minutes": with_minutes})
        statement["consults"] += count
        statement["total_cents"] += count * fee
    for agb, owner_agb, owner_name, count, total_minutes, with_minutes in per_specialist:
        result[agb]["specialists"].append({"agb": owner_agb, "name": owner_name, "consults": count,
                                           "minutes_registered": int(total_minutes),
                                           "average_minutes": round(int(total_minutes) / with_minutes, 1)
                                           if with_minutes else None})
    return list(result.values())
