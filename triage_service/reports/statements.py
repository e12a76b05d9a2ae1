"""What each specialist organisation (subcontractor) is owed for a month: consults answered, fee, total.

Counted by the month the advice was given, per agreement (the fee is the agreement's) and
per specialist, with the time spent as the specialists registered it. Aggregated in SQL.

A consult that overflowed to the agreement's backup organisation (issue 23, routing/overflow.py) is on the
backup's statement at the fee recorded when it overflowed: the organisation that did the work is paid, and the
agreement's own subcontractor is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage_service.errors import NotFound
from triage_service.models import Agreement, Consult, ConsultTask, Organisation, Overflow, TaskStatus
from triage_service.reports.periods import Month, local_date

#: Who is paid for a consult and how much: the backup organisation at its fee when it overflowed, else the
#: agreement's subcontractor at the agreement's fee (with Overflow outer-joined on the consult).
PAID_ORGANISATION = func.coalesce(Overflow.organisation_id, Agreement.subcontractor_id)
FEE = func.coalesce(Overflow.fee_cents, Agreement.subcontractor_fee_cents)


def statements(session: Session, zorggroep_id: str, month: Month, subcontractor_agb: str | None = None
               ) -> list[dict[str, Any]]:
    where = [Agreement.zorggroep_id == zorggroep_id, ConsultTask.status == TaskStatus.COMPLETED,
             Consult.completed_at >= month.start, Consult.completed_at < month.end]
    if subcontractor_agb:
        where.append(Organisation.agb == subcontractor_agb)
    base = (select().select_from(Consult).join(ConsultTask, ConsultTask.consult_id == Consult.id)
            .join(Agreement, Agreement.id == Consult.agreement_id)
            .outerjoin(Overflow, Overflow.consult_id == Consult.id)
            .join(Organisation, Organisation.id == PAID_ORGANISATION).where(*where))
    answered = func.count(Consult.id)
    minutes = func.coalesce(func.sum(Consult.time_spent_minutes), 0)
    registered = func.count(Consult.time_spent_minutes)
    per_agreement = session.execute(base.add_columns(
        Organisation.agb, Organisation.name, Agreement.code, FEE, answered, minutes,
        registered).group_by(Organisation.agb, Organisation.name, Agreement.code, FEE)
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


# -- one organisation's statement, line by line (the dashboard's statement page, its CSV and PDF) -------------


@dataclass(frozen=True)
class StatementLine:
    """A consult the organisation is paid for. No patient data: the consult id is the reference."""

    consult_id: str
    service_date: date
    consult_form: str
    specialist_agb: str
    specialist: str
    #: What the specialist registered on the consult in total; None when nothing was registered.
    minutes: int | None
    fee_cents: int
    #: The agreement's normtijd for this consult's form; None when the agreement has none for it.
    norm_minutes: int | None


@dataclass(frozen=True)
class NormRow:
    """Registered minutes beside the norm, for one specialist and consult form."""

    specialist_agb: str
    specialist: str
    consult_form: str
    consults: int
    minutes: int
    #: count x norm; None as soon as one consult's agreement has no norm for the form (no partial sum).
    norm_minutes: int | None

    @property
    def difference(self) -> int | None:
        return None if self.norm_minutes is None else self.minutes - self.norm_minutes


@dataclass(frozen=True)
class Statement:
    subcontractor_agb: str
    subcontractor: str
    month: Month
    lines: list[StatementLine]

    @property
    def total_cents(self) -> int:
        return sum(line.fee_cents for line in self.lines)

    @property
    def minutes(self) -> int:
        return sum(line.minutes or 0 for line in self.lines)

    @property
    def norms(self) -> list[NormRow]:
        return norm_rows(self.lines)


def subcontractors(session: Session, zorggroep_id: str) -> list[tuple[str, str]]:
    """(AGB, name) of the organisations the zorggroep has agreements with, by name."""
    rows: list[tuple[str | None, str]] = [(agb, name) for agb, name in session.execute(select(
        Organisation.agb, Organisation.name).join(
        Agreement, Agreement.subcontractor_id == Organisation.id).where(
        Agreement.zorggroep_id == zorggroep_id, Organisation.agb.is_not(None)).distinct())]
    # And the backup organisations that answered overflowed consults: they are owed their fee too.
    rows += [(agb, name) for agb, name in session.execute(select(Organisation.agb, Organisation.name).join(
        Overflow, Overflow.organisation_id == Organisation.id).join(Agreement, Agreement.id == Overflow.agreement_id)
        .where(Agreement.zorggroep_id == zorggroep_id, Organisation.agb.is_not(None)).distinct())]
    return sorted({(str(agb), str(name)) for agb, name in rows}, key=lambda item: item[1])


def statement(session: Session, zorggroep_id: str, month: Month, subcontractor_agb: str) -> Statement:
    """The lines of one subcontractor's statement; the same consults and fees as ``statements`` counts."""
    name = dict(subcontractors(session, zorggroep_id)).get(subcontractor_agb)
    if name is None:
        raise NotFound("No subcontractor with this AGB code under this zorggroep's agreements",
                       expression="subcontractor")
    rows = session.execute(
        select(Consult.id, Consult.completed_at, Consult.consult_form, ConsultTask.owner_agb, ConsultTask.owner_name,
               Consult.time_spent_minutes, FEE, Agreement.norm_minutes)
        .join(ConsultTask, ConsultTask.consult_id == Consult.id)
        .join(Agreement, Agreement.id == Consult.agreement_id)
        .outerjoin(Overflow, Overflow.consult_id == Consult.id)
        .join(Organisation, Organisation.id == PAID_ORGANISATION)
        .where(Agreement.zorggroep_id == zorggroep_id, ConsultTask.status == TaskStatus.COMPLETED,
               Consult.completed_at >= month.start, Consult.completed_at < month.end,
               Organisation.agb == subcontractor_agb)).all()
    lines = [StatementLine(cid, local_date(done), form, owner_agb or "", owner_name or owner_agb or "", minutes,
                           fee, _norm(norms, form))
             for cid, done, form, owner_agb, owner_name, minutes, fee, norms in rows if done is not None]
    lines.sort(key=lambda line: (line.service_date, line.specialist, line.consult_id))
    return Statement(subcontractor_agb, name, month, lines)


def _norm(norms: dict[str, Any] | None, form: str) -> int | None:
    value = (norms or {}).get(form)
    # The agreement files are typed by people: a norm that is not a whole positive number is no norm.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def norm_rows(lines: list[StatementLine]) -> list[NormRow]:
    grouped: dict[tuple[str, str], list[StatementLine]] = {}
    for line in lines:
        grouped.setdefault((line.specialist_agb, line.consult_form), []).append(line)
    rows = []
    for (agb, form), group in grouped.items():
        norms = [line.norm_minutes for line in group]
        rows.append(NormRow(agb, group[0].specialist, form, len(group), sum(line.minutes or 0 for line in group),
                            None if None in norms else sum(n or 0 for n in norms)))
    return sorted(rows, key=lambda row: (row.specialist, row.consult_form))
