"""Monitoring: does the meekijkconsult work? Volumes, answer times, outcomes, prevented referrals,
how good the intake's referral flag is, and the business case, per group.

Everything is aggregated in the database over the narrow fact table (models/monitoring.py):
one pass with conditional sums per group and agreement, and the answer-time percentiles
(PostgreSQL's percentile_disc; on SQLite, which has none, a GROUP BY histogram of answer
minutes that gives the same nearest-rank value). A region's year is never loaded into Python;
Python only folds the few rows per group and agreement and adds names.
Definitions, so the figures can be checked by hand:

- the cohort is the consults *submitted* in [start, end);
- answer time runs from submission to advice in whole minutes, reported in hours; median and
  90th percentile are nearest-rank (the value at position ceil(p*n) of the sorted answer
  times), the same on SQLite and PostgreSQL; "within norm" means advice no later than the
  Task's due time;
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
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from triage_service.fhir.profiles import registry
from triage_service.models import (
    APPOINTMENT_FORMS,
    Agreement,
    Appointment,
    AppointmentStatus,
    Organisation,
    Practitioner,
)
from triage_service.models.monitoring import ConsultFact
from triage_service.reports.facts import FIRST_MONDAY
from triage_service.routing.service import specialism_label

TARGET_SAVING_RATIO = 1 / 3
FORMS = ("e-consult", "intercollegial-consult", "video-consult", "ecms")
PRIORITIES = ("routine", "urgent", "asap", "stat")
INTENTS = ("would-refer", "would-not-refer", "unsure")


class GroupBy(enum.StrEnum):
    TOTAL = "total"
    SPECIALISM = "specialism"
    PRACTICE = "practice"
    SPECIALIST = "specialist"
    AGREEMENT = "agreement"
    WEEK = "week"


_KEYS: dict[GroupBy, Any] = {
    GroupBy.SPECIALISM: ConsultFact.specialism, GroupBy.PRACTICE: ConsultFact.practice_id,
    GroupBy.SPECIALIST: ConsultFact.owner_agb, GroupBy.AGREEMENT: ConsultFact.agreement_id,
    GroupBy.WEEK: ConsultFact.week, GroupBy.TOTAL: literal("total"),
}


def outcome_codes() -> list[str]:
    system = registry().resources[("CodeSystem", "triage-consult-outcome")]
    return [c["code"] for c in system["concept"]]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def week_label(index: int) -> str:
    year, week, _ = (FIRST_MONDAY + timedelta(weeks=index)).isocalendar()
    return f"{year}-W{week:02d}"


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    # COUNT(*) FILTER (WHERE ...): both engines have it (SQLite since 3.30), and on SQLite it costs a
    # third less per row than SUM(CASE ...), which matters over a region's month of consults.
    return func.count().filter(condition)


def _columns(outcomes: list[str]) -> dict[str, ColumnElement[Any]]:
    f = ConsultFact
    completed = f.state == "completed"
    converted = and_(completed, f.converted.is_(true()))
    not_converted = and_(completed, f.converted.is_not(true()))
    flagged = f.flagged.is_(true())
    return {
        "consults": func.count(),
        "completed": _count_if(completed),
        "within_norm": _count_if(and_(completed, f.within_norm.is_(true()))),
        "converted": _count_if(converted),
        "prevented": _count_if(and_(not_converted, (f.gp_intent == "would-refer") | (f.category == "referral"))),
        "flagged_converted": _count_if(and_(flagged, converted)),
        "flagged_not_converted": _count_if(and_(flagged, not_converted)),
        "unflagged_converted": _count_if(and_(~flagged, converted)),
        "unflagged_not_converted": _count_if(and_(~flagged, not_converted)),
        **{f"form:{v}": _count_if(f.consult_form == v) for v in FORMS},
        **{f"priority:{v}": _count_if(f.priority == v) for v in PRIORITIES},
        **{f"intent:{v}": _count_if(f.gp_intent == v) for v in INTENTS},
        **{f"outcome:{v}": _count_if(and_(f.outcome == v, f.state.in_(("completed", "rejected"))))
           for v in outcomes},
        "category:referral": _count_if(f.category == "referral"),
    }


def monitoring(session: Session, zorggroep_id: str, window: Window, group_by: GroupBy) -> dict[str, Any]:
    key = _KEYS[group_by]
    where = [ConsultFact.zorggroep_id == zorggroep_id, ConsultFact.created_at >= window.start,
             ConsultFact.created_at < window.end]
    outcomes = outcome_codes()
    columns = _columns(outcomes)
    names = list(columns)
    # Grouped by agreement as well: the business case needs each agreement's tariff, fee and referral cost.
    query = (select(key.label("key"), ConsultFact.agreement_id, *(c.label(f"c{i}") for i, c in enumerate(
        columns.values()))).where(*where).group_by(key, ConsultFact.agreement_id))
    totals: dict[Any, dict[str, int]] = {}
    money: dict[Any, dict[str, int]] = defaultdict(lambda: {"avoided": 0, "cost": 0, "uncosted": 0})
    prices = _prices(session)
    for row in session.execute(query):
        values = {name: int(row._mapping[f"c{i}"] or 0) for i, name in enumerate(names)}
        group = totals.setdefault(row.key, dict.fromkeys(names, 0))
        for name, value in values.items():
            group[name] += value
        price = prices.get(row.agreement_id)
        if price is None or price[2] is None:
            money[row.key]["uncosted"] += values["completed"]
        else:
            money[row.key]["avoided"] += values["prevented"] * price[2]
            money[row.key]["cost"] += values["completed"] * (price[0] + price[1])
    percentiles = _answer_percentiles(session, key, where)
    visits = _appointments(session, key, where)
    shown = _names(session, group_by, set(totals))
    ordered = sorted(totals, key=lambda k: _sort_key(k if group_by is GroupBy.WEEK else shown.get(k, (k,))[0]))
    groups = [{**_group(*shown.get(k, (k, k)), totals[k], money[k], percentiles.get(k, (None, None)), outcomes),
               "appointments": _appointment_figures(visits.get(k, {}))} for k in ordered]
    return {"period": {"from": window.start.isoformat(), "to": window.end.isoformat()},
            "group_by": group_by.value, "target_saving_ratio": round(TARGET_SAVING_RATIO, 4), "groups": groups}


def _sort_key(key: Any) -> tuple[int, str]:
    return (0, f"{key:012d}") if isinstance(key, int) else (1, str(key))


def _prices(session: Session) -> dict[str, tuple[int, int, int | None]]:
    return {a: (t, f, c) for a, t, f, c in session.execute(select(
        Agreement.id, Agreement.s3_tariff_cents, Agreement.subcontractor_fee_cents,
        Agreement.average_referral_cost_cents))}


def _names(session: Session, group_by: GroupBy, keys: set[Any]) -> dict[Any, tuple[Any, Any]]:
    """Per stored group key: the key as reported (an AGB, agreement code or ISO week) and a readable name."""
    if group_by is GroupBy.WEEK:
        return {k: (week_label(int(k)), week_label(int(k))) for k in keys}
    if group_by is GroupBy.SPECIALISM:
        return {k: (k, specialism_label(k, "nl")) for k in keys}
    if group_by is GroupBy.PRACTICE:
        return {i: (agb, name) for i, agb, name in session.execute(
            select(Organisation.id, Organisation.agb, Organisation.name).where(Organisation.id.in_(keys)))}
    if group_by is GroupBy.AGREEMENT:
        return {i: (code, name) for i, code, name in session.execute(
            select(Agreement.id, Agreement.code, Agreement.name).where(Agreement.id.in_(keys)))}
    if group_by is GroupBy.SPECIALIST:
        names = dict(session.execute(select(Practitioner.agb, Practitioner.name).where(Practitioner.agb.in_(keys)))
                     .all())
        names.update((agb, name) for agb, name in session.execute(
            select(Organisation.agb, Organisation.name).where(Organisation.agb.in_(keys))) if agb)
        return {k: (k, names.get(k, k)) for k in keys}
    return {k: (k, k) for k in keys}


def _answer_percentiles(session: Session, key: Any, where: list[Any]) -> dict[Any, tuple[float | None, float | None]]:
    """Median and 90th percentile of the answer minutes per group, nearest-rank."""
    answered = [*where, ConsultFact.state == "completed", ConsultFact.answer_minutes.is_not(None)]
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(select(
            key, func.percentile_disc(0.5).within_group(ConsultFact.answer_minutes),
            func.percentile_disc(0.9).within_group(ConsultFact.answer_minutes)).where(*answered).group_by(key))
        return {k: (_hours(m), _hours(p)) for k, m, p in rows}
    histograms: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for k, minutes, count in session.execute(select(key, ConsultFact.answer_minutes, func.count())
                                             .where(*answered).group_by(key, ConsultFact.answer_minutes)
                                             .order_by(key, ConsultFact.answer_minutes)):
        histograms[k].append((minutes, count))
    return {k: (_hours(nearest_rank(h, 0.5)), _hours(nearest_rank(h, 0.9))) for k, h in histograms.items()}


def _appointments(session: Session, key: Any, where: list[Any]) -> dict[Any, dict[tuple[str, str], int]]:
    """Appointments of the window's video consults and ECMS visits, per group, consult form and status.
    Read from the appointments themselves (few beside the consults) through the fact table's window."""
    rows = session.execute(select(key, ConsultFact.consult_form, Appointment.status, func.count())
                           .join(Appointment, Appointment.consult_id == ConsultFact.consult_id)
                           .where(*where).group_by(key, ConsultFact.consult_form, Appointment.status))
    found: dict[Any, dict[tuple[str, str], int]] = defaultdict(dict)
    for k, form, status, count in rows:
        found[k][(form, AppointmentStatus(status).value)] = count
    return found


def _appointment_figures(counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Per appointment form: held, missed and the no-show share (missed of those that were due)."""
    figures: dict[str, Any] = {}
    for form in sorted(APPOINTMENT_FORMS):
        held, missed = counts.get((form, "fulfilled"), 0), counts.get((form, "noshow"), 0)
        figures[form] = {"held": held, "no_show": missed, "no_show_share": _ratio(missed, held + missed),
                         "cancelled": counts.get((form, "cancelled"), 0),
                         "open": counts.get((form, "proposed"), 0) + counts.get((form, "booked"), 0)}
    return figures


def nearest_rank(histogram: list[tuple[int, int]], p: float) -> int | None:
    """The value at position ceil(p*n) of the sorted values, from (value, count) pairs in value order."""
    n = sum(count for _, count in histogram)
    wanted, seen = max(math.ceil(p * n), 1), 0
    for value, count in histogram:
        seen += count
        if seen >= wanted:
            return value
    return None


def _hours(minutes: Any) -> float | None:
    return None if minutes is None else round(float(minutes) / 60, 2)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _group(key: Any, label: Any, v: dict[str, int], money: dict[str, int],
           percentiles: tuple[float | None, float | None], outcomes: list[str]) -> dict[str, Any]:
    avoided, cost = money["avoided"], money["cost"]
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
            "completed_without_referral_cost": money["uncosted"],
        },
    }


