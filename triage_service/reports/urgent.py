"""Monitoring of urgent consults (issue 20, point 6): how fast the on-call specialists take and answer the
urgent questions, above all those of the out-of-hours GP posts (HAP), per requester and specialism.

Urgent means priority urgent, asap or stat (routing's URGENT_PRIORITIES). The requester is each HAP
(an organisation of kind out-of-hours post) by name; every GP practice together is one requester,
"huisartspraktijken". Definitions, so the figures can be checked by hand:

- the cohort is the urgent consults *submitted* in [start, end), as in the rest of the monitoring;
- time to taken runs from submission to "Ik pak hem op" (the call-out's taken_at), time to advice from
  submission to the advice (the fact's answer_minutes, answered consults only), both in whole minutes;
- median and 90th percentile are nearest-rank: the value at position ceil(p * n) of the group's sorted
  minutes (n = 4: the median is the 2nd, p90 the 4th), so always a time that really occurred; the same on
  SQLite and PostgreSQL because both only count (minutes, consults) pairs and Python walks them;
- within norm: answered no later than the Task's due time, of the answered consults *and* the open ones
  whose due time has already passed at the moment of the report (those can no longer be in time). An open
  consult not yet due is not counted either way; declined and cancelled ones are not counted;
- outcomes per outcome code, of the answered and declined consults (as the monitoring counts them);
- SEH-beoordeling voorkomen (emergency assessment avoided), for HAP consults only: answered, not become a
  referral, with an outcome that keeps the patient in primary care (primary-care-advice, or a referral
  returned to the GP with advice), where the out-of-hours GP would otherwise have sent the patient on (intent
  would-refer, or sent as a referral). That is monitoring.py's prevented-referral rule narrowed to the
  outcomes that keep the patient with the GP: after an ECMS or another specialism the patient still goes to
  a specialist, so no emergency assessment is known to be avoided.

Cost: two passes over the month's fact rows through the (zorggroep, created_at) index, filtered on priority:
the counts per group (the Task joined only for open consults, for their due time), and (time to taken, time
to advice) pairs counted per group, from which Python folds both nearest-rank histograms. Python sees at most
one row per distinct pair per group, so never more rows than urgent consults (a large region's month: a few
thousand). Measured on SQLite with 300,000 generated consults (24,545 in November, 4,834 urgent): about
0.6x the time of the whole monitoring for that month (benchmarks/reports.py's data).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from triage_service.models import ConsultTask, Organisation, OrganisationKind
from triage_service.models.monitoring import ConsultFact
from triage_service.reports.monitoring import Window, nearest_rank, outcome_codes
from triage_service.routing.assignment import URGENT_PRIORITIES
from triage_service.routing.service import specialism_label

#: The key of the row that holds every GP practice's urgent consults together.
GP_PRACTICES = "gp-practices"
GP_PRACTICES_LABEL = "huisartspraktijken"
#: Outcomes after which the patient stays with the GP (the emergency assessment was avoided).
PRIMARY_CARE_OUTCOMES = ("primary-care-advice", "returned-with-advice")
_COUNTS = ("consults", "taken", "answered", "within_norm", "open", "open_overdue",
           "emergency_assessment_avoided")


def urgent_monitoring(session: Session, zorggroep_id: str, window: Window, now: datetime) -> dict[str, Any]:
    """The urgent figures per requester and specialism, and over all urgent consults (``total``)."""
    f = ConsultFact
    # The HAPs are few: named in the query, rather than joined to every fact row.
    posts = list(session.scalars(select(Organisation.id).where(
        Organisation.kind == OrganisationKind.OUT_OF_HOURS_POST)))
    from_post = f.practice_id.in_(posts) if posts else false()
    requester = case((from_post, f.practice_id), else_=literal(GP_PRACTICES)).label("requester")
    where = [f.zorggroep_id == zorggroep_id, f.created_at >= window.start, f.created_at < window.end,
             f.priority.in_(URGENT_PRIORITIES)]
    outcomes = outcome_codes()
    names = [*_COUNTS, *(f"outcome:{code}" for code in outcomes)]
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    # The Task is joined for the open consults only: it holds the due time they may have passed already.
    query = (select(requester, f.specialism, *_columns(outcomes, from_post, now)).select_from(f)
             .outerjoin(ConsultTask, and_(ConsultTask.consult_id == f.consult_id, f.state == "open"))
             .where(*where).group_by(requester, f.specialism))
    for row in session.execute(query):
        counts[(row[0], row[1])].update(dict(zip(names, (int(v or 0) for v in row[2:]), strict=True)))
    taken, answered = _histograms(session, requester, where)
    labels = _requesters(session, {key for key, _ in counts})
    order = sorted(counts, key=lambda k: (k[0] == GP_PRACTICES, labels[k[0]][1].casefold(),
                                          specialism_label(k[1], "nl").casefold()))
    groups = [_group(labels[k[0]], k[1], counts[k], taken.get(k, Counter()), answered.get(k, Counter()),
                     outcomes) for k in order]
    total = None
    if counts:
        total = _group(("total", "alle spoedconsulten", None), None, sum(counts.values(), Counter()),
                       sum(taken.values(), Counter()), sum(answered.values(), Counter()), outcomes)
    return {"period": {"from": window.start.isoformat(), "to": window.end.isoformat()},
            "as_of": now.isoformat(), "priorities": list(URGENT_PRIORITIES), "groups": groups, "total": total}


def _columns(outcomes: list[str], from_post: ColumnElement[bool], now: datetime) -> list[ColumnElement[Any]]:
    f = ConsultFact
    completed = f.state == "completed"
    would_have_sent_on = or_(f.gp_intent == "would-refer", f.category == "referral")
    avoided = and_(from_post, completed, f.converted.is_not(true()), f.outcome.in_(PRIMARY_CARE_OUTCOMES),
                   would_have_sent_on)
    return [func.count(), func.count().filter(f.taken_minutes.is_not(None)), func.count().filter(completed),
            func.count().filter(and_(completed, f.within_norm.is_(true()))), func.count().filter(f.state == "open"),
            func.count().filter(and_(f.state == "open", ConsultTask.due_at < now)),
            func.count().filter(avoided),
            *(func.count().filter(and_(f.outcome == code, f.state.in_(("completed", "rejected"))))
              for code in outcomes)]


Histograms = dict[tuple[str, str], Counter[int]]


def _histograms(session: Session, requester: Any, where: list[Any]) -> tuple[Histograms, Histograms]:
    """Per group: how many consults were taken after each whole number of minutes, and answered after each.
    One pass for both, counting (time to taken, time to advice) pairs; the pairs are folded here."""
    f = ConsultFact
    advice = case((f.state == "completed", f.answer_minutes), else_=None)
    query = (select(requester, f.specialism, f.taken_minutes, advice, func.count())
             .where(*where, or_(f.taken_minutes.is_not(None), advice.is_not(None)))
             .group_by(requester, f.specialism, f.taken_minutes, advice))
    taken: Histograms = defaultdict(Counter)
    answered: Histograms = defaultdict(Counter)
    for key, specialism, to_taken, to_advice, count in session.execute(query):
        if to_taken is not None:
            taken[(key, specialism)][int(to_taken)] += int(count)
        if to_advice is not None:
            answered[(key, specialism)][int(to_advice)] += int(count)
    return taken, answered


def _requesters(session: Session, keys: set[str]) -> dict[str, tuple[str, str, str | None]]:
    """Per requester key: (the key as reported: the HAP's AGB, its name, the organisation id)."""
    found: dict[str, tuple[str, str, str | None]] = {GP_PRACTICES: (GP_PRACTICES, GP_PRACTICES_LABEL, None)}
    ids = keys - {GP_PRACTICES}
    if ids:
        for org_id, agb, name in session.execute(select(Organisation.id, Organisation.agb, Organisation.name)
                                                 .where(Organisation.id.in_(ids))):
            found[org_id] = (agb or org_id, name, org_id)
    return found


def percentiles(histogram: Counter[int]) -> dict[str, int | None]:
    """Median and 90th percentile, nearest-rank, of minutes counted per value."""
    pairs = sorted(histogram.items())
    return {"median": nearest_rank(pairs, 0.5), "p90": nearest_rank(pairs, 0.9)}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _group(requester: tuple[str, str, str | None], specialism: str | None, v: Counter[str], taken: Counter[int],
           answered: Counter[int], outcomes: list[str]) -> dict[str, Any]:
    judged = v["answered"] + v["open_overdue"]
    hap = requester[0] not in (GP_PRACTICES, "total")
    return {
        "requester": {"key": requester[0], "label": requester[1],
                      "kind": "out-of-hours-post" if hap else requester[0]},
        "specialism": specialism,
        "specialism_label": specialism_label(specialism, "nl") if specialism else None,
        "consults": v["consults"], "taken": v["taken"], "taken_minutes": percentiles(taken),
        "answered": v["answered"], "answer_minutes": percentiles(answered),
        "open": v["open"], "open_overdue": v["open_overdue"],
        "within_norm": v["within_norm"], "judged_for_norm": judged,
        "within_norm_share": _share(v["within_norm"], judged),
        "outcomes": {code: v[f"outcome:{code}"] for code in outcomes},
        # Only a HAP's consults can avoid an emergency assessment; over all requesters, the HAPs' sum.
        "emergency_assessment_avoided": v["emergency_assessment_avoided"] if hap or requester[0] == "total"
        else None,
    }
