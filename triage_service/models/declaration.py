"""S3 meekijkconsult declarations: lines per consult, gathered into immutable batches per insurer and month.

A line that is in a batch never changes (the insurer has it). A correction is a credit
line that cancels the original plus, unless the consult is withdrawn, a new debit line;
both wait for the next batch of their insurer. ``sequence`` numbers a consult's lines
(0 the first debit, then credit, debit, ...): unique per consult, so two people closing
the same month at once cannot both declare a consult.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service.models.base import Base, uuid_pk


class DeclarationBatch(Base):
    __tablename__ = "declaration_batches"
    __table_args__ = (
        UniqueConstraint("zorggroep_id", "insurer_uzovi", "period"),
        # Two batches closed at once cannot get the same number: the second fails and is retried.
        Index("ix_declaration_batches_number", "zorggroep_id", "number", unique=True),
    )

    id: Mapped[str] = uuid_pk()
    #: Sequential per zorggroep: the number the insurer sees.
    number: Mapped[int] = mapped_column(Integer)
    zorggroep_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    insurer_uzovi: Mapped[str] = mapped_column(String(4))
    #: The month closed, "2026-11".
    period: Mapped[str] = mapped_column(String(7))
    closed_at: Mapped[datetime]
    closed_by: Mapped[str] = mapped_column(String(200))
    line_count: Mapped[int] = mapped_column(Integer)
    total_cents: Mapped[int] = mapped_column(BigInteger)

    lines: Mapped[list[DeclarationLine]] = relationship(
        back_populates="batch", order_by="DeclarationLine.position", viewonly=True)


class DeclarationLine(Base):
    __tablename__ = "declaration_lines"
    __table_args__ = (
        UniqueConstraint("consult_id", "sequence"),
        # Only what waits for a batch (a correction) is looked up this way: partial, so the lines a closed month
        # COPYs in, which already have their batch, add nothing to it (migration 0044).
        Index("ix_declaration_lines_pending", "zorggroep_id", "insurer_uzovi",
              postgresql_where=text("batch_id IS NULL"), sqlite_where=text("batch_id IS NULL")),
        # Only credit lines correct another: a partial index, so the hundred thousand debit lines of a closed
        # month add no entry to it (migration 0044).
        Index("ix_declaration_lines_corrects_line_id", "corrects_line_id",
              postgresql_where=text("corrects_line_id IS NOT NULL"), sqlite_where=text("corrects_line_id IS NOT NULL")),
    )

    id: Mapped[str] = uuid_pk()
    #: None while a correction line waits for the next batch.
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("declaration_batches.id"), index=True)
    #: Line number within its batch.
    position: Mapped[int | None] = mapped_column(Integer)
    # Found through the unique (consult_id, sequence) index, which leads with it (migration 0044).
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    zorggroep_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    #: "debit" or "credit".
    kind: Mapped[str] = mapped_column(String(8))
    practice_agb: Mapped[str] = mapped_column(String(8))
    insurer_uzovi: Mapped[str] = mapped_column(String(4))
    #: The consult date: the day the advice was given (Europe/Amsterdam).
    service_date: Mapped[date] = mapped_column(Date)
    prestatie_code: Mapped[str] = mapped_column(String(32))
    #: The contract's declaration terms when the line was made (issue 22): who declares, who is paid, and the
    #: kind of prestatie (S3, M&I, first-line budget). None on lines made before the terms were configurable.
    declarant_agb: Mapped[str | None] = mapped_column(String(8))
    payee_agb: Mapped[str | None] = mapped_column(String(8))
    prestatie_kind: Mapped[str | None] = mapped_column(String(32))
    tariff_cents: Mapped[int] = mapped_column(Integer)
    #: Negative for a credit line.
    amount_cents: Mapped[int] = mapped_column(Integer)
    # Indexed (above): PostgreSQL checks this reference on every deleted line (retention), by a scan otherwise.
    corrects_line_id: Mapped[str | None] = mapped_column(ForeignKey("declaration_lines.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))

    batch: Mapped[DeclarationBatch | None] = relationship(back_populates="lines")
