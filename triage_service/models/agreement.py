"""Collaboration agreements (samenwerkingsafspraken) and their patient profiles.

An agreement is imported from a declarative file in ``config/agreements/`` and
versioned by its validity period: a new version of the same ``code`` is a new
row, so consults keep pointing at the terms that held when they were routed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service import clock
from triage_service.models.base import Base, uuid_pk
from triage_service.models.organisation import Organisation


class Agreement(Base):
    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: Mapped[str] = uuid_pk()
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    zorggroep_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    subcontractor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    #: UZOVI codes of the insurers whose patients the agreement covers.
    insurers: Mapped[list[Any]]
    #: Consult form codes (triage-consult-form) the agreement allows.
    consult_forms: Mapped[list[Any]]
    #: Answer norm per FHIR priority: {"routine": {"working_days": 2}, "urgent": {"hours": 2}}; "hours" and
    #: "minutes" run day and night (routing/working_time.py).
    answer_norms: Mapped[dict[str, Any]]
    #: AGB codes of the out-of-hours posts (HAP) whose GPs may ask under this agreement.
    out_of_hours_posts: Mapped[list[Any]] = mapped_column(default=list)
    #: How an urgent consult with a clock-time norm is called out: {"repeat_minutes", "escalate_after_minutes"}.
    callout: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The agreed time per consult form in minutes (normtijd: {"e-consult": 15}); the screens offer it as the
    #: default registration and the statements set the registered minutes beside it.
    norm_minutes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    s3_prestatie_code: Mapped[str] = mapped_column(String(32))
    #: Money is integer cents everywhere: declarations must be right to the cent.
    s3_tariff_cents: Mapped[int] = mapped_column(Integer)
    subcontractor_fee_cents: Mapped[int] = mapped_column(Integer)
    #: Average second-line cost of a referral this agreement aims to prevent (the business case).
    average_referral_cost_cents: Mapped[int | None] = mapped_column(Integer)
    group_queue: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who books an appointment (video consult, ECMS): "gp" (the specialist proposes times, the GP system
    #: books one with the patient) or "specialist" (the specialist books one time directly).
    appointment_booking: Mapped[str] = mapped_column(String(16), default="gp")
    #: AGB codes of the subcontractor's specialists who answer under this agreement.
    specialist_agbs: Mapped[list[Any]]
    #: When a request should rather be a referral: [{"name", "kind", "icpc": [...], "reason"}] plus the optional
    #: English "name_en" and "reason_en" (agreements/schema.py).
    referral_flags: Mapped[list[Any]] = mapped_column(default=list)
    #: Monitoring targets and baselines agreed before the start (issue 22): {"prevented_share": 0.3,
    #: "within_norm_share": 0.9, "baseline_referral_rate": 0.25, "saving_ratio": 0.3333, ...}; empty when none.
    monitoring_targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The business case's own costs beside the tariff: {"incidental_cents": .., "structural_cents_per_year": ..}.
    costs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: How this contract is declared (issue 22): {"declarant": "zorggroep"|"practice", "payee": ..,
    #: "kind": "S3"|"M&I"|"first-line-budget", "attestations": ["no-open-dbc"]}; empty is the S3 default.
    declaration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The backup organisation a routine consult overflows to (issue 23, agreements/backup_terms.py): {"agb",
    #: "name", "specialists": [{"agb", "name", "specialism"}], "fee_cents", "when_nobody_available",
    #: "after_norm_share_percent"}; empty when the agreement has none.
    backup: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The patient's context a consult must carry, per consult form (agreements/context_terms.py):
    #: {"e-consult": ["blood-pressure", "ecg"]}; empty requires none.
    context_required: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_file: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the validated file content: re-importing an unchanged file changes nothing.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[datetime] = mapped_column(default=clock.now)

    subcontractor: Mapped[Organisation] = relationship(foreign_keys=[subcontractor_id])
    profiles: Mapped[list[PatientProfile]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="PatientProfile.position"
    )

    def referral_flag(self, name: str) -> dict[str, Any] | None:
        """The referral flag named ``name`` as stored from the file, with its optional English (``name_en``,
        ``reason_en``). Here rather than in agreements/ so the FHIR mapping, a lower layer, can read it too."""
        return next((f for f in self.referral_flags or [] if f.get("name") == name), None)


class PatientProfile(Base):
    """Which patients an agreement admits (patiëntenprofiel)."""

    __tablename__ = "patient_profiles"

    id: Mapped[str] = uuid_pk()
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    specialism: Mapped[str] = mapped_column(String(64))
    #: ICPC-1-NL codes ("S82") or whole chapters ("S"); empty list admits all.
    icpc: Mapped[list[Any]]
    min_age: Mapped[int | None] = mapped_column(Integer)
    max_age: Mapped[int | None] = mapped_column(Integer)
    #: FHIR administrative gender, or None for any.
    sex: Mapped[str | None] = mapped_column(String(16))
    #: Inclusive ranges of the 4-digit postcode, [[3000, 3199], ...]; empty admits all.
    postcode_ranges: Mapped[list[Any]]
    consult_forms: Mapped[list[Any]]
    #: Request categories admitted: "meekijkconsult" and/or "referral" (referral triage).
    categories: Mapped[list[Any]] = mapped_column(default=lambda: ["meekijkconsult"])
    min_photos: Mapped[int] = mapped_column(Integer, default=0)
    physical_contact_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Who may ask: "gp-practice" and/or "out-of-hours-post" (OrganisationKind values).
    requesters: Mapped[list[Any]] = mapped_column(default=lambda: ["gp-practice"])
    #: The FHIR priorities admitted; empty admits all.
    priorities: Mapped[list[Any]] = mapped_column(default=list)
    #: The hours of the day (Dutch time) in which requests are admitted, {"from": "17:00", "until": "08:00"}
    #: (may run past midnight); None admits every hour.
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    agreement: Mapped[Agreement] = relationship(back_populates="profiles")
