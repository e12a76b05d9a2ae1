"""The GPs' verdicts on the advice, per specialism (issue 22, point 4), over the monitoring's fact table.

Definitions, so the figures can be checked by hand:

- the cohort is the consults *submitted* in [start, end) under an agreement of the zorggroep, as in the
  monitoring (reports/monitoring.py);
- *answered* means answered with advice, the consults a verdict can be given on (consults/verdicts.py): Task
  completed with an outcome other than a referral triage accepted as it stands;
- the *response rate* is verdicts / answered; the *useful* share is useful / verdicts;
- a referral is *prevented by intent* when an answered consult did not become a referral and the GP said before
  it "without this consult I would refer" (a meekijkconsult's intent, as the monitoring counts it); *by verdict*
  when it did not become a referral and the GP said after the advice "without it I would have referred" and "no
  referral is still needed"; *both* when both hold. The monitoring's "prevented referrals" rest on the intent
  alone: these three say how far the verdicts after the advice bear that out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from triage_service.models.monitoring import ConsultFact
from triage_service.reports.periods import local_midnight
from triage_service.routing.service import specialism_label

TOTAL = "total"


@dataclass(frozen=True)
class VerdictFigures:
    """The figures of one specialism (or of all, ``key`` "total")."""

    key: str
    label: str
    answered: int
    verdicts: int
    useful: int
    without_refer: int
    without_not_refer: int
    without_other: int
    referral_still_needed: int
    prevented_by_intent: int
    prevented_by_verdict: int
    prevented_by_both: int

    @property
    def response_rate(self) -> float | None:
        return self.verdicts / self.answered if self.answered else None

    @property
    def useful_share(self) -> float | None:
        return self.useful / self.verdicts if self.verdicts else None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "response_rate": self.response_rate, "useful_share": self.useful_share}


@dataclass(frozen=True)
class VerdictReport:
    rows: list[VerdictFigures]
    total: VerdictFigures

    def as_json(self) -> dict[str, Any]:
        return {"rows": [r.as_json() for r in self.rows], "total": self.total.as_json()}


def _columns() -> dict[str, ColumnElement[Any]]:
    f = ConsultFact
    answered = and_(f.state == "completed", f.outcome.is_not(None), f.outcome != "referral-accepted")
    not_converted = and_(answered, f.converted.is_not(true()))
    intent = and_(not_converted, f.category != "referral", f.gp_intent == "would-refer")
    verdict = and_(not_converted, f.verdict_without == "refer", f.verdict_referral_needed.is_not(true()),
                   f.verdict_referral_needed.is_not(None))
    return {
        "answered": func.count().filter(answered),
        "verdicts": func.count().filter(and_(answered, f.verdict_useful.is_not(None))),
        "useful": func.count().filter(and_(answered, f.verdict_useful.is_(true()))),
        "without_refer": func.count().filter(and_(answered, f.verdict_without == "refer")),
        "without_not_refer": func.count().filter(and_(answered, f.verdict_without == "not-refer")),
        "without_other": func.count().filter(and_(answered, f.verdict_without == "other")),
        "referral_still_needed": func.count().filter(and_(answered, f.verdict_referral_needed.is_(true()))),
        "prevented_by_intent": func.count().filter(intent),
        "prevented_by_verdict": func.count().filter(verdict),
        "prevented_by_both": func.count().filter(and_(intent, verdict)),
    }


def verdict_figures(session: Session, zorggroep_id: str, start: datetime, end: datetime,
                    language: str = "nl") -> VerdictReport:
    """The verdict figures per specialism of the consults submitted in [start, end), with their total; a
    specialism without an answered consult in the period is left out."""
    columns = _columns()
    query = (select(ConsultFact.specialism, *(c.label(name) for name, c in columns.items()))
             .where(ConsultFact.zorggroep_id == zorggroep_id, ConsultFact.created_at >= start,
                    ConsultFact.created_at < end)
             .group_by(ConsultFact.specialism))
    rows = []
    for row in session.execute(query):
        values = {name: int(getattr(row, name)) for name in columns}
        if values["answered"]:
            rows.append(VerdictFigures(row.specialism, specialism_label(row.specialism, language), **values))
    rows.sort(key=lambda r: r.label)
    sums = {name: sum(getattr(r, name) for r in rows) for name in columns}
    return VerdictReport(rows, VerdictFigures(TOTAL, TOTAL, **sums))


def verdicts_for_days(session: Session, zorggroep_id: str, first: date, last: date,
                      language: str = "nl") -> VerdictReport:
    """The figures for the days ``first`` to ``last`` inclusive in Dutch time, as the dashboard's period reads."""
    return verdict_figures(session, zorggroep_id, local_midnight(first), local_midnight(last + timedelta(days=1)),
                           language)
