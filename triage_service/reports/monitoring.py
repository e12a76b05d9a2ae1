"""Monitoring: does the meekijkconsult work? Volumes, answer times, outcomes, prevented referrals,
how good the intake's referral flag is, and the business case, per group.

Everything is aggregated in the database (one pass with conditional sums, and one window
query for the percentiles), so a region's year of consults is never loaded into Python.
Definitions, so the figures can be checked by hand:

- the cohort is the consults *submitted* in [start, end);
- answer time runs from submission to advice, in hours; median and 90th percentile are
  nearest-rank (the value at position ceil(p*n) of the sorted answer times), the same on
  SQLite and PostgreSQL; "within norm" means advice no later than the Task's due time;
- a referral is *prevented* when a completed consult did not become a referral and either
  the GP would have referred without it (intent ``would-refer``) or it was a referral that
  triage returned to the GP; the *conversion rate* is converted / completed;
- the intake flag is scored on completed consults: flagged and converted (right), flagged
  and not converted (false alarm), not flagged but converted (missed);
- business case: second-line cost avoided = prevented x the agreement's average referral
  cost; the cost of the consults = completed x (S3 tariff + subcontractor fee); the saving
  ratio (avoided - cost) / avoided is compared with the target of one third. Consults under
  an agreement without an average referral cost are left out of it (and counted).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, case, cast, false, func, literal, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from triage_service.fhir.profiles import registry
from triage_service.models import Agreement, Consult, ConsultTask, Organisation, TaskStatus
from triage_service.routing.working_time import AMSTERDAM

TARGET_SAVING_RATIO = 1 / 3
FORMS = ("e-consult", "intercollegial-consult", "video-consult", "ecms")
PRIORITIES = ("routine", "urgent", "asap", "stat")
INTENTS = ("would-refer", "would-not-refer", "unsure")
_MONDAY = datetime(2001, 1, 1, tzinfo=UTC)  # weeks are counted from a Monday


class GroupBy(enum.StrEnum):
    TOTAL = "total"
    SPECIALISM = "specialism"
    PRACTICE = "practice"
    SPECIALIST = "specialist"
    AGREEMENT = "agreement"
    WEEK = "week"


def outcome_codes() -> list[str]:
    system = registry().resources[("CodeSystem", "triage-consult-outcome")]
    return [c["code"] for c in system["concept"]]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    """Seconds since 1970 of a stored (naive UTC) timestamp, in SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _amsterdam_offset(column: Any, window: Window) -> ColumnElement[Any]:
    """Seconds Amsterdam is ahead of UTC at that moment (summer time from the last Sunday of March to the
    last Sunday of October, 01:00 UTC), as a CASE over the years in the window: SQLite has no time zones."""
    whens = []
    for year in range(window.start.year - 1, window.end.year + 1):
        begins = _last_sunday(year, 3)
        ends = _last_sunday(year, 10)
        whens.append((and_(column >= begins, column < ends), 7200))
    return case(*whens, else_=3600)


def _last_sunday(year: int, month: int) -> datetime:
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    day -= timedelta(days=(day.weekday() + 1) % 7)
    return datetime(day.year, day.month, day.day, 1, tzinfo=UTC)


def _week_index(dialect: str, window: Window) -> ColumnElement[Any]:
    local = _epoch(Consult.created_at, dialect) + _amsterdam_offset(Consult.created_at, window)
    return cast(func.floor((local - _MONDAY.timestamp()) / 604800), Integer)


def week_label(index: int) -> str:
    monday = (_MONDAY + timedelta(weeks=index)).astimezone(AMSTERDAM).date()
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _group_columns(group_by: GroupBy, dialect: str, window: Window) -> list[Any]:
    if group_by is GroupBy.SPECIALISM:
        return [Consult.specialism, Consult.specialism]
    if group_by is GroupBy.PRACTICE:
        return [Organisation.agb, Organisation.name]
    if group_by is GroupBy.SPECIALIST:
        return [ConsultTask.owner_agb, ConsultTask.owner_name]
    if group_by is GroupBy.AGREEMENT:
        return [Agreement.code, Agreement.name]
    if group_by is GroupBy.WEEK:
        week = _week_index(dialect, window)
        return [week, week]
    return [literal("total"), literal("total")]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def monitoring(session: Session, zorggroep_id: str, window: Window, group_by: GroupBy) -> dict[str, Any]:
    dialect = session.get_bind().dialect.name
    key, label = _group_columns(group_by, dialect, window)
    completed = ConsultTask.status == TaskStatus.COMPLETED
    converted = and_(completed, Consult.converted_to_referral.is_(true()))
    not_converted = and_(completed, Consult.converted_to_referral.is_not(true()))
    prevented = and_(not_converted, (Consult.gp_intent == "would-refer") | (Consult.category == "referral"))
    flagged = ConsultTask.likely_referral.is_(true())
    unflagged = ConsultTask.likely_referral.is_(false())
    costed = Agreement.average_referral_cost_cents.is_not(None)
    outcomes = outcome_codes()
    columns: dict[str, ColumnElement[Any]] = {
        "consults": func.count(Consult.id),
        "completed": _count_if(completed),
        "within_norm": _count_if(and_(completed, Consult.completed_at <= ConsultTask.due_at)),
        "converted": _count_if(converted),
        "prevented": _count_if(prevented),
        "flagged_converted": _count_if(and_(flagged, converted)),
        "flagged_not_converted": _count_if(and_(flagged, not_converted)),
        "unflagged_converted": _count_if(and_(unflagged, converted)),
        "unflagged_not_converted": _count_if(and_(unflagged, not_converted)),
        "avoided_cents": func.sum(case((and_(prevented, costed), Agreement.average_referral_cost_cents), else_=0)),
        "cost_cents": func.sum(case((and_(completed, costed),
                                     Agreement.s3_tariff_cents + Agreement.subcontractor_fee_cents), else_=0)),
        "uncosted": _count_if(and_(completed, ~costed)),
        **{f"form:{f}": _count_if(Consult.consult_form == f) for f in FORMS},
        **{f"priority:{p}": _count_if(Consult.priority == p) for p in PRIORITIES},
        **{f"intent:{i}": _count_if(Consult.gp_intent == i) for i in INTENTS},
        **{f"outcome:{o}": _count_if(and_(Consult.outcome == o, ConsultTask.status.in_(
            (TaskStatus.COMPLETED, TaskStatus.REJECTED)))) for o in outcomes},
        "category:referral": _count_if(Consult.category == "referral"),
    }
    where = [Agreement.zorggroep_id == zorggroep_id, Consult.created_at >= window.start,
             Consult.created_at < window.end]
    query = (select(key.label("key"), label.label("label"), *(c.label(f"c{i}") for i, c in enumerate(
        columns.values()))).select_from(Consult).join(ConsultTask, ConsultTask.consult_id == Consult.id)
             .join(Agreement, Agreement.id == Consult.agreement_id)
             .join(Organisation, Organisation.id == Consult.organisation_id)
             .where(*where).group_by(key, label).order_by(key))
    names = list(columns)
    groups: list[dict[str, Any]] = []
    percentiles = _answer_percentiles(session, key, where, dialect)
    for row in session.execute(query):
        values = {name: int(row._mapping[f"c{i}"] or 0) for i, name in enumerate(names)}
        group_key = row.key if group_by is not GroupBy.WEEK else week_label(int(row.key))
        label_text = row.label if group_by is not GroupBy.WEEK else group_key
        groups.append(_group(group_key, label_text, values, percentiles.get(row.key, (None, None)), outcomes))
    return {"period": {"from": window.start.isoformat(), "to": window.end.isoformat()},
            "group_by": group_by.value, "target_saving_ratio": round(TARGET_SAVING_RATIO, 4), "groups": groups}


def _answer_percentiles(session: Session, key: Any, where: list[Any], dialect: str
                        ) -> dict[Any, tuple[float | None, float | None]]:
    """Median and 90th percentile of the answer time per group, nearest-rank, by window functions."""
    seconds = (_epoch(Consult.completed_at, dialect) - _epoch(Consult.created_at, dialect)).label("seconds")
    ranked = (select(key.label("key"), seconds,
                     func.row_number().over(partition_by=key, order_by=seconds).label("rank"),
                     func.count().over(partition_by=key).label("n"))
              .select_from(Consult).join(ConsultTask, ConsultTask.consult_id == Consult.id)
              .join(Agreement, Agreement.id == Consult.agreement_id)
              .join(Organisation, Organisation.id == Consult.organisation_id)
              .where(*where, ConsultTask.status == TaskStatus.COMPLETED, Consult.completed_at.is_not(None))
              .subquery())
    # Nearest rank: position ceil(p*n), written as (p*n*10 + 9) // 10 for p in tenths (integer SQL only).
    median_rank = (ranked.c.n * 5 + 9) // 10
    p90_rank = (ranked.c.n * 9 + 9) // 10
    rows = session.execute(select(
        ranked.c.key,
        func.max(case((ranked.c.rank == cast(median_rank, Integer), ranked.c.seconds))),
        func.max(case((ranked.c.rank == cast(p90_rank, Integer), ranked.c.seconds))))
        .group_by(ranked.c.key))
    return {k: (_hours(m), _hours(p)) for k, m, p in rows}


def _hours(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _group(key: Any, label: Any, v: dict[str, int], percentiles: tuple[float | None, float | None],
           outcomes: list[str]) -> dict[str, Any]:
    avoided, cost = v["avoided_cents"], v["cost_cents"]
    saving_ratio = _ratio(avoided - cost, avoided)
    return {
        "key": key, "label": label, "consults": v["consults"],
        "by_form": {f: v[f"form:{f}"] for f in FORMS},
        "by_priority": {p: v[f"priority:{p}"] for p in PRIORITIES},
        "referral_requests": v["category:referral"],
        "completed": v["completed"],
        "answer_hours": {"median": percentiles[0], "p90": percentiles[1]},
        "within_norm": v["within_norm"], "within_norm_share": _ratio(v["within_norm"], v["completed"]),
        "outcomes": {o: v[f"outcome:{o}"] for o in outcomes},
        "gp_intent": {i: v[f"intent:{i}"] for i in INTENTS},
        "prevented_referrals": v["prevented"], "converted_to_referral": v["converted"],
        "conversion_rate": _ratio(v["converted"], v["completed"]),
        "referral_flag": {
            "flagged_converted": v["flagged_converted"], "flagged_not_converted": v["flagged_not_converted"],
            "unflagged_converted": v["unflagged_converted"], "unflagged_not_converted": v["unflagged_not_converted"],
            "precision": _ratio(v["flagged_converted"], v["flagged_converted"] + v["flagged_not_converted"]),
            "recall": _ratio(v["flagged_converted"], v["flagged_converted"] + v["unflagged_converted"]),
        },
        "business_case": {
            "avoided_cents": avoided, "cost_cents": cost, "saving_cents": avoided - cost,
            "saving_ratio": saving_ratio,
            "meets_target": None if saving_ratio is None else saving_ratio >= TARGET_SAVING_RATIO,
            "completed_without_referral_cost": v["uncosted"],
        },
    }
