"""The contract's declaration terms on each declaration line, and what the close-month check warns about
(issue 22): consults held back because a required attestation is missing, and a prestatiecode that carries
two tariffs in one batch.

The terms are stored per agreement in ``Agreement.declaration`` (agreements/declaration_terms.py validates
the file); an empty dict is the default: the zorggroep declares an S3 prestatie and is paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from triage_service.models import Agreement, DeclarationLine, Organisation

DEFAULT_KIND = "S3"
#: Paid from the zorggroep's first-line budget: never a line of the insurer's declaration (reports/first_line.py).
FIRST_LINE_BUDGET = "first-line-budget"
#: Why a consult is held back: the attestation its agreement requires was not ticked.
MISSING_ATTESTATION = "missing-attestation"


@dataclass(frozen=True)
class Terms:
    """One agreement's terms, with the parties' AGB codes looked up (the practice's is per consult)."""

    declarant: str  # zorggroep or practice
    payee: str  # zorggroep, practice or subcontractor
    kind: str  # S3, M&I or first-line-budget
    attestations: tuple[str, ...]
    zorggroep_agb: str
    subcontractor_agb: str

    def party_agb(self, party: str, practice_agb: str) -> str:
        return {"zorggroep": self.zorggroep_agb, "practice": practice_agb,
                "subcontractor": self.subcontractor_agb}[party]

    def declarant_agb(self, practice_agb: str) -> str:
        return self.party_agb(self.declarant, practice_agb)

    def payee_agb(self, practice_agb: str) -> str:
        return self.party_agb(self.payee, practice_agb)

    def missing(self, attested: Iterable[Any]) -> tuple[str, ...]:
        """The required attestations the specialist did not tick."""
        given = set(attested or ())
        return tuple(code for code in self.attestations if code not in given)


def terms_of(declaration: dict[str, Any] | None, zorggroep_agb: str, subcontractor_agb: str) -> Terms:
    stored = declaration or {}
    declarant = str(stored.get("declarant", "zorggroep"))
    return Terms(declarant, str(stored.get("payee", declarant)), str(stored.get("kind", DEFAULT_KIND)),
                 tuple(str(code) for code in stored.get("attestations", [])), zorggroep_agb, subcontractor_agb)


def agreement_terms(session: Session, agreement_ids: Iterable[str]) -> dict[str, Terms]:
    """The terms of these agreements, in one query (a zorggroep has a handful of agreements)."""
    ids = sorted(set(agreement_ids))
    if not ids:
        return {}
    zorggroep, subcontractor = aliased(Organisation), aliased(Organisation)
    rows = session.execute(
        select(Agreement.id, Agreement.declaration, zorggroep.agb, subcontractor.agb)
        .join(zorggroep, zorggroep.id == Agreement.zorggroep_id)
        .join(subcontractor, subcontractor.id == Agreement.subcontractor_id)
        .where(Agreement.id.in_(ids))).all()
    return {agreement_id: terms_of(declaration, zorggroep_agb or "", subcontractor_agb or "")
            for agreement_id, declaration, zorggroep_agb, subcontractor_agb in rows}


@dataclass(frozen=True)
class HeldBack:
    """A consult answered in the period that is not declared, and why."""

    consult_id: str
    service_date: date
    reason: str
    #: The attestations that were required but not given (for the reason's text).
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class TariffWarning:
    """One prestatiecode at more than one tariff in the same batch: usually an agreement's mistake."""

    prestatie_code: str
    #: The tariffs in cents, lowest first, and how many lines carry each.
    tariffs: tuple[tuple[int, int], ...]


def tariff_warnings(lines: Iterable[tuple[str, int]]) -> list[TariffWarning]:
    """(prestatiecode, tariff in cents) of the batch's lines: the codes that carry two or more tariffs.

    A credit line carries the tariff of the line it corrects, so it counts too: a credit at 75,00 beside new
    lines at 80,00 under the same code is exactly what the insurer will ask about."""
    counts: dict[str, dict[int, int]] = {}
    for code, tariff in lines:
        per_tariff = counts.setdefault(code, {})
        per_tariff[tariff] = per_tariff.get(tariff, 0) + 1
    return [TariffWarning(code, tuple(sorted(per_tariff.items())))
            for code, per_tariff in sorted(counts.items()) if len(per_tariff) > 1]


def batch_tariff_warnings(session: Session, batch_id: str) -> list[TariffWarning]:
    """The warnings of a batch already closed, from its stored lines (the close's answer and the batch list)."""
    rows = session.execute(select(DeclarationLine.prestatie_code, DeclarationLine.tariff_cents)
                           .where(DeclarationLine.batch_id == batch_id)).all()
    return tariff_warnings((code, tariff) for code, tariff in rows)
