"""Back-referrals in the zorggroep's figures (issue 23, point 2): care moved back to the first line.

The insurer's framework names "sooner back from the second line to the first" as one of its aims, so the
dashboard counts what the zorggroep's specialists handed back, per specialism and per month of sending, and
where each stands now: taken over by the practice (accepted), waiting for the practice (pending; also after the
specialist answered a question), or waiting for the specialist's answer (questioned).

The zorggroep's back-referrals are those sent by a specialist its agreements name (or of an organisation that is
one of its subcontractors). Counted by the local day they were sent, as the rest of the dashboard counts by day.
No patient is named in these figures.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.models import Agreement, BackReferral, BackReferralStatus, Practitioner
from triage_service.reports.periods import local_date, local_midnight

#: The three states the dashboard shows; "answered" waits for the practice again, so it counts as pending.
ACCEPTED, PENDING, QUESTIONED = "accepted", "pending", "questioned"
_STATE = {BackReferralStatus.ACCEPTED: ACCEPTED, BackReferralStatus.PENDING: PENDING,
          BackReferralStatus.ANSWERED: PENDING, BackReferralStatus.QUESTIONED: QUESTIONED}


@dataclass(frozen=True)
class BackReferralRow:
    """One month and specialism (``month`` None: the whole period)."""

    month: str | None
    specialism: str
    accepted: int
    pending: int
    questioned: int

    @property
    def total(self) -> int:
        return self.accepted + self.pending + self.questioned


@dataclass(frozen=True)
class BackReferralFigures:
    start: date
    end: date
    #: Per specialism over the whole period, then per month and specialism.
    by_specialism: list[BackReferralRow]
    by_month: list[BackReferralRow]

    @property
    def total(self) -> BackReferralRow:
        return BackReferralRow(None, "", sum(r.accepted for r in self.by_specialism),
                               sum(r.pending for r in self.by_specialism),
                               sum(r.questioned for r in self.by_specialism))


def _zorggroep_specialists(session: Session, zorggroep_id: str) -> list[str]:
    agreements = session.scalars(select(Agreement).where(Agreement.zorggroep_id == zorggroep_id)).all()
    agbs = {agb for a in agreements for agb in (a.specialist_agbs or [])}
    subcontractors = {a.subcontractor_id for a in agreements}
    rows = session.execute(select(Practitioner.id, Practitioner.agb, Practitioner.organisation_id)).all()
    return [pid for pid, agb, organisation in rows if agb in agbs or organisation in subcontractors]


def back_referral_figures(session: Session, zorggroep_id: str, start: date, end: date) -> BackReferralFigures:
    """The counts of back-referrals sent from ``start`` to ``end`` (local days, both included)."""
    specialists = _zorggroep_specialists(session, zorggroep_id)
    rows = session.execute(
        select(BackReferral.specialism, BackReferral.status, BackReferral.sent_at)
        .where(BackReferral.specialist_id.in_(specialists), BackReferral.sent_at >= local_midnight(start),
               BackReferral.sent_at < local_midnight(date.fromordinal(end.toordinal() + 1)))).all()
    per_specialism: Counter[tuple[str, str]] = Counter()
    per_month: Counter[tuple[str, str, str]] = Counter()
    for specialism, status, sent_at in rows:
        state = _STATE[status]
        per_specialism[(specialism, state)] += 1
        per_month[(local_date(sent_at).strftime("%Y-%m"), specialism, state)] += 1
    specialisms = sorted({s for s, _ in per_specialism})
    months = sorted({(m, s) for m, s, _ in per_month})
    return BackReferralFigures(
        start, end,
        [BackReferralRow(None, s, per_specialism[(s, ACCEPTED)], per_specialism[(s, PENDING)],
                         per_specialism[(s, QUESTIONED)]) for s in specialisms],
        [BackReferralRow(m, s, per_month[(m, s, ACCEPTED)], per_month[(m, s, PENDING)],
                         per_month[(m, s, QUESTIONED)]) for m, s in months])


def figures_csv(figures: BackReferralFigures) -> str:
    """The per-month rows as CSV (semicolons, as Dutch spreadsheets read them), with the period's total."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["maand", "specialisme", "overgenomen", "openstaand", "vraag_gesteld", "totaal"])
    for row in figures.by_month:
        writer.writerow([row.month, row.specialism, row.accepted, row.pending, row.questioned, row.total])
    total = figures.total
    writer.writerow([f"{figures.start.isoformat()}/{figures.end.isoformat()}", "totaal", total.accepted,
                     total.pending, total.questioned, total.total])
    return out.getvalue()
