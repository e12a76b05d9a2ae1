"""The audit trail (NEN 7513): who did what to which patient's data, when, from where.

Rows are written in the same transaction as the action they record, so an
action that rolls back leaves no audit row claiming it happened, and an action
that commits always has one. Failed attempts (403, 404) are recorded too, in
their own transaction, because refused access is what an auditor looks for.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.models.base import Base


class AuditAction(enum.StrEnum):
    """FHIR AuditEvent.action codes."""

    CREATE = "C"
    READ = "R"
    UPDATE = "U"
    DELETE = "D"
    EXECUTE = "E"


class AuditOutcome(enum.StrEnum):
    """FHIR AuditEvent.outcome codes: 0 success, 4 minor failure, 8 serious failure."""

    SUCCESS = "0"
    MINOR_FAILURE = "4"
    SERIOUS_FAILURE = "8"


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_patient", "patient_ref"),
        Index("ix_audit_entries_occurred_at", "occurred_at"),
        # One patient's trail finds the entries about their photos and documents by resource (migration 0043).
        Index("ix_audit_entries_resource", "resource_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=clock.now)
    #: What happened, e.g. "fhir.create", "fhir.search", "auth.token".
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[AuditAction] = mapped_column(Enum(AuditAction, native_enum=False, length=1,
                                                     values_callable=lambda e: [m.value for m in e]))
    outcome: Mapped[AuditOutcome] = mapped_column(Enum(AuditOutcome, native_enum=False, length=1,
                                                       values_callable=lambda e: [m.value for m in e]))
    #: "client", "user", "cli", "worker" or "anonymous", and that actor's id.
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    #: The organisation the actor acted for.
    organisation_id: Mapped[str | None] = mapped_column(String(36))
    #: On whose behalf (NEN 7513 "namens"): the party responsible for the act, e.g. "Organization/{id}" for a
    #: GP system acting for its practice, "Practitioner/{id}" for a specialist (audit/trail.py).
    on_behalf_of: Mapped[str | None] = mapped_column(String(80))
    resource_type: Mapped[str | None] = mapped_column(String(40))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    #: Internal id of the Patient resource concerned (never the BSN).
    patient_ref: Mapped[str | None] = mapped_column(String(36))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    #: Query or reason, without patient data (e.g. the search parameter names).
    detail: Mapped[str | None] = mapped_column(Text)
    #: The hash chain (audit/chain.py): position, the previous entry's hash, and this entry's
    #: hash over its content and that previous hash. An edited or removed entry breaks the chain.
    chain_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    #: The id of the audit key the hash is an HMAC under; None for entries written before keyed hashes
    #: (plain SHA-256, still verified as such).
    hash_key: Mapped[str | None] = mapped_column(String(32))
