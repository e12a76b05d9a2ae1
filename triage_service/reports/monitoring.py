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
  Task's due time, which moves on while the consult waits on the GP (consults/norm_clock.py); the share
  is of the answered consults *and* the open ones already past their due time at ``now`` (late,
  however long they stay open), so nine consults weeks overdue cannot leave it at 100%;
- a referral is *prevented* when a completed consult did not become a referral and either
  the GP would have referred without it (intent ``would-refer``) or it was a referral that
  triage returned to the GP; the *conversion rate* is converted / completed;
- the intake flag is scored on completed consults: flagged and converted (right), flagged
  and not converted (false alarm), not flagged but converted (missed);
- the business case is reports/business_case.py's, as the insurer's framework defines it: the
  integral tariff as cost with the subcontractor's fee a split of it, avoided referrals including
  referrals returned after triage (shown separately), the agreement's own costs, and the saving
  ratio against one third decided exactly. Consults under an agreement without an average
  referral cost are left out of it (and counted);
- by specialist, a consult counts for the specialist who answered it (or declined it); an open one
  for whoever holds it. Forwarding and escalation are counted apart: per group the consults that
  were forwarded or escalated, and by specialist the consults each forwarded away or had escalated
  away from them (reports/handovers.py).
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from triage_service.fhir.profiles import registry
from triage_service.models import (
    APPOINTMENT_FORMS,
    Agreement,
    Appointment,
    AppointmentStatus,
    Organisation,
    Overflow,
    Practitioner,
)
from triage_service.models.monitoring import ConsultFact
from triage_service.reports import business_case, handovers
from triage_service.reports.business_case import TARGET_SAVING_RATIO, Money, ratio
from triage_service.reports.facts import FIRST_MONDAY
from triage_service.routing.service import specialism_label

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
    # Who answered, not who holds the consult now (a forward or escalation after the answer moves nothing).
    GroupBy.SPECIALIST: func.coalesce(ConsultFact.answered_by_agb, ConsultFact.owner_agb),
    GroupBy.AGREEMENT: ConsultFact.agreement_id,
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


def late_open(now: datetime) -> ColumnElement[bool]:
    """Open and past its due time at ``now``: not paused, or paused only after it was already late."""
    f = ConsultFact
    return and_(f.state == "open", f.due_at.is_not(None), f.due_at < now,
                or_(f.paused_at.is_(None), f.paused_at > f.due_at))


def _columns(outcomes: list[str], now: datetime) -> dict[str, ColumnElement[Any]]:
    f = ConsultFact
    completed = f.state == "completed"
    converted = and_(completed, f.converted.is_(true()))
    not_converted = and_(completed, f.converted.is_not(true()))
    flagged = f.flagged.is_(true())
    referral = f.category == "referral"
    would_refer = and_(f.gp_intent == "would-refer", ~referral)
    return {
        "consults": func.count(),
        "completed": _count_if(completed),
        "within_norm": _count_if(and_(completed, f.within_norm.is_(true()))),
        "late_open": _count_if(late_open(now)),
        "paused": _count_if(and_(f.state == "open", f.paused_at.is_not(None))),
        "converted": _count_if(converted),
        "prevented_by_intent": _count_if(and_(not_converted, would_refer)),
        "returned": _count_if(and_(not_converted, referral)),
        "intended": _count_if(and_(completed, or_(would_refer, referral))),
        "forwarded": _count_if(f.forwarded > 0),
        "escalated": _count_if(f.escalated.is_(true())),
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
        # Answered by the agreement's backup, and its fees (the query joins Overflow): the business case pays
        # those at the backup's rate (reports/business_case.py).
        "overflowed": _count_if(Overflow.id.is_not(None)),
        "overflowed_completed": _count_if(and_(completed, Overflow.id.is_not(None))),
        "overflow_fees": func.coalesce(func.sum(Overflow.fee_cents).filter(completed), 0),
    }


def monitoring(session: Session, zorggroep_id: str, window: Window, group_by: GroupBy,
               now: datetime) -> dict[str, Any]:
    """The figures per group of the consults submitted in the window; ``now`` decides which open consults
    are late already."""
    key = _KEYS[group_by]
    where = [ConsultFact.zorggroep_id == zorggroep_id, ConsultFact.created_at >= window.start,
             ConsultFact.created_at < window.end]
    outcomes = outcome_codes()
    columns = _columns(outcomes, now)
    names = list(columns)
    # Grouped by agreement as well: the business case needs each agreement's tariff, fee and referral cost.
    query = (select(key.label("key"), ConsultFact.agreement_id, *(c.label(f"c{i}") for i, c in enumerate(
        columns.values()))).outerjoin(Overflow, Overflow.consult_id == ConsultFact.consult_id)
        .where(*where).group_by(key, ConsultFact.agreement_id))
    totals: dict[Any, dict[str, int]] = {}
    money: dict[Any, Money] = defaultdict(Money)
    prices = business_case.prices(session)
    for row in session.execute(query):
        values = {name: int(row._mapping[f"c{i}"] or 0) for i, name in enumerate(names)}
        group = totals.setdefault(row.key, dict.fromkeys(names, 0))
        for name, value in values.items():
            group[name] += value
        money[row.key].add(prices.get(row.agreement_id), values["completed"], values["prevented_by_intent"],
                           values["returned"], values["overflowed_completed"], values["overflow_fees"])
    if group_by in (GroupBy.TOTAL, GroupBy.AGREEMENT):
        for group_money in money.values():
            group_money.add_own_costs(0, 0)  # carried here, even where none were agreed (0, not "not applicable")
        # An agreement's own costs run whether or not it had consults in the period.
        for agreement_id, (structural, incidental) in business_case.own_costs(
                session, zorggroep_id, window.start, window.end).items():
            group_key = "total" if group_by is GroupBy.TOTAL else agreement_id
            totals.setdefault(group_key, dict.fromkeys(names, 0))
            money[group_key].add_own_costs(structural, incidental)
    percentiles = _answer_percentiles(session, key, where)
    visits = _appointments(session, key, where)
    passed_on = handovers.by_specialist(session, where) if group_by is GroupBy.SPECIALIST else {}
    shown = _names(session, group_by, set(totals) | set(passed_on))
    for agb in passed_on:
        totals.setdefault(agb, dict.fromkeys(names, 0))
    ordered = sorted(totals, key=lambda k: _sort_key(k if group_by is GroupBy.WEEK else shown.get(k, (k,))[0]))
    groups: list[dict[str, Any]] = [
        {**_group(*shown.get(k, (k, k)), totals[k], money[k], percentiles.get(k, (None, None)), outcomes),
         "appointments": _appointment_figures(visits.get(k, {}))} for k in ordered]
    if group_by is GroupBy.SPECIALIST:
        for figures in groups:
            figures["handovers"] = passed_on.get(str(figures["key"]), handovers.NONE)
    return {"period": {"from": window.start.isoformat(), "to": window.end.isoformat()}, "as_of": now.isoformat(),
            "group_by": group_by.value, "target_saving_ratio": round(TARGET_SAVING_RATIO, 4), "groups": groups}


def _sort_key(key: Any) -> tuple[int, str]:
    return (0, f"{key:012d}") if isinstance(key, int) else (1, str(key))


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
        return {k: (answer_hours(m), answer_hours(p)) for k, m, p in rows}
    histograms: dict[Any, list[tuple[int, int]]] = defaultdict(list)
    for k, minutes, count in session.execute(select(key, ConsultFact.answer_minutes, func.count())
                                             .where(*answered).group_by(key, ConsultFact.answer_minutes)
                                             .order_by(key, ConsultFact.answer_minutes)):
        histograms[k].append((minutes, count))
    return {k: (answer_hours(nearest_rank(h, 0.5)), answer_hours(nearest_rank(h, 0.9)))
            for k, h in histograms.items()}


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
        figures[form] = {"held": held, "no_show": missed, "no_show_share": ratio(missed, held + missed),
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


def answer_hours(minutes: Any) -> float | None:
    """Whole answer minutes in hours with two decimals. Every answer time on the screens is this, of the fact
    rows' minutes (reports/first_line.py too), shown with one decimal rounded half up: m / 60 rounded to two
    decimals never crosses a tie of the first decimal (100m / 60 mod 10 is never in [4.5, 5)), so that is the
    minutes rounded once."""
    return None if minutes is None else round(float(minutes) / 60, 2)


def _group(key: Any, label: Any, v: dict[str, int], money: Money,
           percentiles: tuple[float | None, float | None], outcomes: list[str]) -> dict[str, Any]:
    return {
        "key": key, "label": label, "consults": v["consults"],
        "by_form": {f: v[f"form:{f}"] for f in FORMS},
        "by_priority": {p: v[f"priority:{p}"] for p in PRIORITIES},
        "referral_requests": v["category:referral"],
        "completed": v["completed"],
        "answer_hours": {"median": percentiles[0], "p90": percentiles[1]},
        "within_norm": v["within_norm"], "late_open": v["late_open"], "paused": v["paused"],
        "within_norm_share": ratio(v["within_norm"], v["completed"] + v["late_open"]),
        "outcomes": {o: v[f"outcome:{o}"] for o in outcomes},
        "gp_intent": {i: v[f"intent:{i}"] for i in INTENTS},
        "prevented_referrals": v["prevented_by_intent"] + v["returned"],
        "prevented_by_gp_intent": v["prevented_by_intent"], "returned_after_triage": v["returned"],
        "converted_to_referral": v["converted"],
        "forwarded": v["forwarded"], "escalated": v["escalated"], "overflowed": v["overflowed"],
        "conversion_rate": ratio(v["converted"], v["completed"]),
        "referral_flag": {
            "flagged_converted": v["flagged_converted"], "flagged_not_converted": v["flagged_not_converted"],
            "unflagged_converted": v["unflagged_converted"], "unflagged_not_converted": v["unflagged_not_converted"],
            "precision": ratio(v["flagged_converted"], v["flagged_converted"] + v["flagged_not_converted"]),
            "recall": ratio(v["flagged_converted"], v["flagged_converted"] + v["unflagged_converted"]),
        },
        "business_case": business_case.figures(money, v["prevented_by_intent"], v["returned"], v["intended"]),
    }


