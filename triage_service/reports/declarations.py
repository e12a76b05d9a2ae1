"""S3 declarations: what the zorggroep may declare per insurer and month, closed into immutable batches.

- A consult is declarable once its Task is completed (advice given, or a referral triaged);
  never when rejected, cancelled or still open. It is declared in the first batch of its
  insurer whose month ends after the advice, and only once (``sequence`` 0 is unique).
- A month can be closed only after it has ended, once per insurer.
- A correction adds a credit line for the last declared line and, unless the consult is
  withdrawn, a new debit line with the corrected insurer and the agreement's tariff. Both
  wait for the next batch of their insurer; the lines already sent stay as they are.
- Each line carries the contract's declaration terms (issue 22, reports/declaration_terms.py): who
  declares, who is paid, the kind of prestatie. A consult whose agreement requires an attestation the
  specialist did not tick is held back: the GP had the advice, the insurer gets no line, and the
  close-month check lists it with the reason.
- A consult of an agreement paid from the zorggroep's first-line budget (soort eerstelijnsbudget: a kaderhuisarts,
  an extended-scope physiotherapist) is never a line here: see reports/first_line.py. One that overflowed to the
  agreement's backup organisation names that organisation where the payee is the subcontractor
  (reports/overflow.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, Text, cast, event, func, inspect, select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.database import append_rows
from triage_service.errors import Conflict, NotFound, UnprocessableInput
from triage_service.models import (
    Agreement,
    AuditAction,
    Consult,
    DeclarationBatch,
    DeclarationLine,
    Organisation,
)
from triage_service.models.base import new_id, new_ids
from triage_service.reports.declaration_terms import FIRST_LINE_BUDGET, MISSING_ATTESTATION, HeldBack, agreement_terms
from triage_service.reports.overflow import backup_payees
from triage_service.reports.periods import Month, local_date


class ImmutableDeclaration(Conflict):
    """A declaration line or batch that the insurer already has may not change."""


@event.listens_for(Session, "before_flush")
def _guard_batched_lines(session: Session, _context: Any, _instances: Any) -> None:
    # The database has a trigger for updates as well (migration 0012); this catches it earlier
    # and also covers deletes through the ORM.
    for obj in list(session.dirty) + list(session.deleted):
        guarded = isinstance(obj, DeclarationBatch) or (isinstance(obj, DeclarationLine) and _was_batched(obj))
        if guarded and (obj in session.deleted or session.is_modified(obj)):
            raise ImmutableDeclaration("A declaration batch and its lines never change; correct with a "
                                           "credit and a new debit line instead")


def _was_batched(line: DeclarationLine) -> bool:
    """In a batch before this change (a pending correction line may still be put into one)."""
    history = inspect(line).attrs.batch_id.history
    return any(value is not None for value in (*history.unchanged, *history.deleted))


class Candidate(NamedTuple):
    """A consult that closing the month would declare (a named tuple: a month of a large region makes a hundred
    thousand of them, and a frozen dataclass took three times as long to build)."""

    consult_id: str
    practice_agb: str
    service_date: date
    prestatie_code: str
    tariff_cents: int
    #: Shown on the close-month check (a line per consult); not part of the declaration line itself.
    consult_form: str = ""
    #: The contract's terms (reports/declaration_terms.py): who declares, who is paid, the kind of prestatie.
    declarant_agb: str = ""
    payee_agb: str = ""
    prestatie_kind: str = ""


@dataclass(frozen=True)
class Selection:
    """What closing the month would declare, and the consults it holds back (with the reason)."""

    candidates: list[Candidate]
    held_back: list[HeldBack]


def declarable(session: Session, zorggroep_id: str, insurer: str, month: Month) -> list[Candidate]:
    """What closing the month would declare (see :func:`selection`)."""
    return selection(session, zorggroep_id, insurer, month).candidates


def selection(session: Session, zorggroep_id: str, insurer: str, month: Month) -> Selection:
    """Completed consults of this insurer, answered before the month's end, not declared before; those whose
    agreement requires an attestation the specialist did not give are held back.

    ``completed_at`` is set only when the specialist concludes the consult (consults/advice.py
    ``_conclude``), so it stands for "Task completed" without joining a million Tasks.
    """
    window = [Consult.completed_at < month.end]
    # Closing a month declares everything answered before its end, so nothing answered before the end of
    # the last closed month can still be undeclared: the search starts there instead of at the first consult.
    last_closed = session.scalar(select(func.max(DeclarationBatch.period)).where(
        DeclarationBatch.zorggroep_id == zorggroep_id, DeclarationBatch.insurer_uzovi == insurer))
    if last_closed:
        window.append(Consult.completed_at >= Month.parse(last_closed).end)
    session.flush()  # the Core connection below does not autoflush as session.execute does
    # Through the Core connection: the ORM's row handling of a hundred thousand plain rows took a second.
    rows = session.connection().execute(
        select(Consult.id, Organisation.agb, Consult.completed_at, Agreement.s3_prestatie_code,
               Agreement.s3_tariff_cents, Consult.consult_form, Consult.agreement_id,
               # As text, read only where the agreement asks for attestations: a month of a large region is
               # a hundred thousand rows, and the driver decoding every one's JSON took most of a second.
               cast(Consult.attestations, Text))
        .join(Agreement, Agreement.id == Consult.agreement_id)
        .join(Organisation, Organisation.id == Consult.organisation_id)
        .where(Agreement.zorggroep_id == zorggroep_id, Consult.insurer_uzovi == insurer, *window)).all()
    # Never twice: the window already excludes what was declared; this check makes sure of it. A join over
    # the same window, not an anti-join (PostgreSQL hashed every declaration line for that: 1.8 s) nor IN
    # lists of ids (10 s on a million consults).
    declared = set(session.scalars(select(DeclarationLine.consult_id).join(
        Consult, Consult.id == DeclarationLine.consult_id).where(Consult.insurer_uzovi == insurer, *window)))
    terms = agreement_terms(session, (row.agreement_id for row in rows))
    # An overflowed consult was answered by the agreement's backup organisation: a payee "subcontractor" is it.
    backups = backup_payees(session, Consult.insurer_uzovi == insurer, *window)
    candidates, held_back = [], []
    # Who declares and who is paid depend only on the agreement, the practice and an overflow's backup: worked
    # out once per combination, not per consult.
    parties: dict[tuple[str, str, str | None], tuple[str, str]] = {}
    for cid, agb, done, code, tariff, form, agreement_id, attested in rows:
        if done is None or cid in declared:
            continue
        agreed, practice = terms[str(agreement_id)], agb or ""
        if agreed.kind == FIRST_LINE_BUDGET:
            # Paid from the zorggroep's first-line budget, which the insurer has already funded as a whole: a
            # line per consult would have the insurer pay it twice. reports/first_line.py lists these consults
            # for the budget (the dashboard's first-line section and its CSV).
            continue
        if agreed.attestations:
            missing = agreed.missing(json.loads(attested) if attested else ())
            if missing:
                held_back.append(HeldBack(cid, local_date(done), MISSING_ATTESTATION, missing))
                continue
        backup = backups.get(cid)
        party = parties.get((str(agreement_id), practice, backup))
        if party is None:
            payer = replace(agreed, subcontractor_agb=backup) if backup is not None else agreed
            party = parties[(str(agreement_id), practice, backup)] = (payer.declarant_agb(practice),
                                                                       payer.payee_agb(practice))
        candidates.append(Candidate(cid, practice, local_date(done), code, tariff, form, *party, agreed.kind))
    return Selection(sorted(candidates, key=lambda c: (c.service_date, c.practice_agb, c.consult_id)),
                     sorted(held_back, key=lambda h: (h.service_date, h.consult_id)))


def pending_corrections(session: Session, zorggroep_id: str, insurer: str) -> list[DeclarationLine]:
    return list(session.scalars(select(DeclarationLine).where(
        DeclarationLine.zorggroep_id == zorggroep_id, DeclarationLine.insurer_uzovi == insurer,
        DeclarationLine.batch_id.is_(None)).order_by(DeclarationLine.created_at, DeclarationLine.sequence)))


def close_month(session: Session, actor: Actor, actor_name: str, zorggroep_id: str, insurer: str, month: Month,
                now: datetime) -> DeclarationBatch:
    """Create the numbered, immutable batch of this insurer's declarations for the month."""
    if now < month.end:
        raise UnprocessableInput(f"{month} has not ended yet; it can be closed from {local_date(month.end)}",
                                 expression="period")
    existing = session.scalar(select(DeclarationBatch).where(
        DeclarationBatch.zorggroep_id == zorggroep_id, DeclarationBatch.insurer_uzovi == insurer,
        DeclarationBatch.period == str(month)))
    if existing is not None:
        raise Conflict(f"{month} is already closed for insurer {insurer}: batch {existing.number}")
    selected = selection(session, zorggroep_id, insurer, month)
    candidates = selected.candidates
    corrections = pending_corrections(session, zorggroep_id, insurer)
    if not candidates and not corrections:
        raise UnprocessableInput(f"Nothing to declare to insurer {insurer} for {month}", expression="insurer")
    number = (session.scalar(select(func.max(DeclarationBatch.number)).where(
        DeclarationBatch.zorggroep_id == zorggroep_id)) or 0) + 1
    batch_id = new_id()
    total = sum(c.tariff_cents for c in candidates) + sum(line.amount_cents for line in corrections)
    session.add(DeclarationBatch(id=batch_id, number=number, zorggroep_id=zorggroep_id, insurer_uzovi=insurer,
                                 period=str(month), closed_at=now, closed_by=actor_name,
                                 line_count=len(candidates) + len(corrections), total_cents=total))
    session.flush()
    if candidates:
        ids = new_ids(len(candidates))
        lines = [
            {"id": ids[position - 1], "batch_id": batch_id, "position": position, "consult_id": c.consult_id,
             "sequence": 0, "zorggroep_id": zorggroep_id, "kind": "debit", "practice_agb": c.practice_agb,
             "insurer_uzovi": insurer, "service_date": c.service_date, "prestatie_code": c.prestatie_code,
             "declarant_agb": c.declarant_agb, "payee_agb": c.payee_agb, "prestatie_kind": c.prestatie_kind,
             "tariff_cents": c.tariff_cents, "amount_cents": c.tariff_cents, "created_at": now,
             "created_by": actor_name}
            for position, c in enumerate(candidates, start=1)]
        # COPY on PostgreSQL: a month of a large region is a hundred thousand lines, and the ORM's bulk insert
        # sent them as that many single-row statements (4 s for 74,000).
        table = DeclarationLine.__table__
        assert isinstance(table, Table)
        append_rows(session, table, lines)
    for position, line in enumerate(corrections, start=len(candidates) + 1):
        line.batch_id, line.position = batch_id, position
    session.flush()
    batch = session.get(DeclarationBatch, batch_id)
    assert batch is not None
    record(session, actor, event="report.declaration.close", action=AuditAction.CREATE,
           resource_type="DeclarationBatch", resource_id=batch_id, at=now,
           detail=f"insurer={insurer}; period={month}; lines={batch.line_count}; total_cents={total}; "
                  f"held_back={len(selected.held_back)}")
    return batch


def correct(session: Session, actor: Actor, actor_name: str, zorggroep_id: str, consult_id: str, reason: str,
            now: datetime, insurer: str | None = None, withdraw: bool = False) -> list[DeclarationLine]:
    """Credit the consult's last declared line and (unless withdrawn) declare it again, corrected."""
    consult = session.scalar(select(Consult).join(Agreement, Agreement.id == Consult.agreement_id).where(
        Consult.id == consult_id, Agreement.zorggroep_id == zorggroep_id))
    if consult is None:
        raise NotFound("No consult with this id under this zorggroep's agreements", expression="consult")
    lines = list(session.scalars(select(DeclarationLine).where(DeclarationLine.consult_id == consult_id)
                                 .order_by(DeclarationLine.sequence)))
    if not lines:
        raise UnprocessableInput("This consult has not been declared yet: the next batch declares it as it is now",
                                 expression="consult")
    last = lines[-1]
    if last.batch_id is None:
        raise Conflict("A correction of this consult is already waiting for the next batch")
    if withdraw and insurer:
        raise UnprocessableInput("Either withdraw the declaration or correct the insurer, not both",
                                 expression="withdraw")
    added: list[DeclarationLine] = []
    sequence = last.sequence
    if last.kind == "debit":
        sequence += 1
        added.append(DeclarationLine(
            consult_id=consult_id, sequence=sequence, zorggroep_id=zorggroep_id, kind="credit",
            practice_agb=last.practice_agb, insurer_uzovi=last.insurer_uzovi, service_date=last.service_date,
            prestatie_code=last.prestatie_code, declarant_agb=last.declarant_agb, payee_agb=last.payee_agb,
            prestatie_kind=last.prestatie_kind, tariff_cents=last.tariff_cents, amount_cents=-last.amount_cents,
            corrects_line_id=last.id, reason=reason, created_at=now, created_by=actor_name))
    elif withdraw:
        raise Conflict("This consult's declaration is already withdrawn")
    if not withdraw:
        agreement = session.get(Agreement, consult.agreement_id)
        practice = session.get(Organisation, consult.organisation_id)
        assert agreement is not None
        assert practice is not None
        agreed = agreement_terms(session, [agreement.id])[agreement.id]
        backups = backup_payees(session, Consult.id == consult_id)
        if consult_id in backups:
            agreed = replace(agreed, subcontractor_agb=backups[consult_id])
        added.append(DeclarationLine(
            consult_id=consult_id, sequence=sequence + 1, zorggroep_id=zorggroep_id, kind="debit",
            practice_agb=practice.agb or "", insurer_uzovi=insurer or last.insurer_uzovi,
            service_date=last.service_date, prestatie_code=agreement.s3_prestatie_code,
            declarant_agb=agreed.declarant_agb(practice.agb or ""), payee_agb=agreed.payee_agb(practice.agb or ""),
            prestatie_kind=agreed.kind,
            tariff_cents=agreement.s3_tariff_cents, amount_cents=agreement.s3_tariff_cents,
            corrects_line_id=last.id if last.kind == "debit" else None, reason=reason, created_at=now,
            created_by=actor_name))
    session.add_all(added)
    session.flush()
    record(session, actor, event="report.declaration.correct", action=AuditAction.CREATE,
           resource_type="DeclarationLine", resource_id=added[0].id, patient_ref=consult.patient_resource_id,
           at=now, detail=f"consult={consult_id}; lines={len(added)}; withdraw={withdraw}")
    return added


def batches(session: Session, zorggroep_id: str, insurer: str | None = None,
            period: str | None = None) -> list[DeclarationBatch]:
    query = select(DeclarationBatch).where(DeclarationBatch.zorggroep_id == zorggroep_id)
    if insurer:
        query = query.where(DeclarationBatch.insurer_uzovi == insurer)
    if period:
        query = query.where(DeclarationBatch.period == period)
    return list(session.scalars(query.order_by(DeclarationBatch.number)))


def batch(session: Session, zorggroep_id: str, batch_id: str) -> DeclarationBatch:
    found = session.scalar(select(DeclarationBatch).where(DeclarationBatch.id == batch_id,
                                                          DeclarationBatch.zorggroep_id == zorggroep_id))
    if found is None:
        raise NotFound("No declaration batch with this id for this zorggroep")
    return found


def waiting_corrections(session: Session, zorggroep_id: str) -> list[DeclarationLine]:
    """Every correction line of the zorggroep not yet in a batch, of any insurer (the corrections screen)."""
    return list(session.scalars(select(DeclarationLine).where(
        DeclarationLine.zorggroep_id == zorggroep_id, DeclarationLine.batch_id.is_(None))
        .order_by(DeclarationLine.created_at, DeclarationLine.consult_id, DeclarationLine.sequence)))
